#include "tokens/connect_store.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "common/log.hpp"

namespace schedulo::tokens {
namespace {

using json = nlohmann::json;

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("the system's random source failed");
  return hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

bool is_hex(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

constexpr std::size_t kNonceBytes = 24;

}  // namespace

ConnectStore::ConnectStore(redis::Client& client, queue::Keys keys, const Vault& vault, std::string signing_key,
                           std::chrono::seconds state_ttl, std::chrono::seconds pending_ttl)
    : client_(client),
      keys_(std::move(keys)),
      vault_(vault),
      signing_key_(std::move(signing_key)),
      state_ttl_(state_ttl),
      pending_ttl_(pending_ttl) {}

std::string ConnectStore::sign(std::string_view nonce, std::string_view platform) const {
  const std::string message = std::string(nonce) + "|" + std::string(platform);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), signing_key_.data(), static_cast<int>(signing_key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
  return hex(mac, length);
}

net::awaitable<std::optional<std::string>> ConnectStore::create_state(const ConnectState& state) {
  const std::string nonce = random_hex(kNonceBytes);
  const json body{{"platform", state.platform},
                  {"account", state.account},
                  {"return_to", state.return_to},
                  {"verifier", state.verifier}};
  const std::string sealed = vault_.seal(body.dump(), "oauth-state:" + nonce);
  const std::string ttl_ms = std::to_string(std::chrono::milliseconds(state_ttl_).count());
  auto reply = co_await client_.exec("SET", keys_.oauth_state(nonce), sealed, "NX", "PX", ttl_ms);
  if (!reply || reply->is_error() || reply->is_nil()) {
    log::warn("oauth: could not keep a connect state in Redis");
    co_return std::nullopt;
  }
  co_return nonce + "." + sign(nonce, state.platform);
}

net::awaitable<TakenState> ConnectStore::take_state(std::string_view platform, const std::string& text) {
  TakenState out;
  const auto dot = text.find('.');
  if (dot == std::string::npos || text.size() > 256) {
    out.check = StateCheck::forged;
    co_return out;
  }
  const std::string nonce = text.substr(0, dot);
  const std::string signature = text.substr(dot + 1);
  if (nonce.size() != 2 * kNonceBytes || !is_hex(nonce) || !is_hex(signature)) {
    out.check = StateCheck::forged;
    co_return out;
  }
  const std::string expected = sign(nonce, platform);
  if (expected.size() != signature.size() || CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) != 0) {
    // Signed for another platform's flow is still ours, but not this callback's.
    out.check = StateCheck::forged;
    co_return out;
  }
  auto reply = co_await client_.exec("GETDEL", keys_.oauth_state(nonce));
  if (!reply || reply->is_error()) {
    out.check = StateCheck::error;
    co_return out;
  }
  if (reply->is_nil()) {
    out.check = StateCheck::unknown;
    co_return out;
  }
  auto opened = vault_.open(reply->str, "oauth-state:" + nonce);
  if (!opened.value) {
    log::warn("oauth: a connect state does not open: {}", opened.error);
    out.check = StateCheck::unknown;
    co_return out;
  }
  const auto body = json::parse(opened.value->reveal(), nullptr, false);
  if (!body.is_object()) {
    out.check = StateCheck::unknown;
    co_return out;
  }
  out.state.platform = body.value("platform", std::string());
  out.state.account = body.value("account", std::string());
  out.state.return_to = body.value("return_to", std::string());
  out.state.verifier = body.value("verifier", std::string());
  out.check = out.state.platform == platform ? StateCheck::ok : StateCheck::mismatch;
  co_return out;
}

net::awaitable<std::optional<std::string>> ConnectStore::put_pending(const json& pending) {
  const std::string id = random_hex(kNonceBytes);
  const std::string sealed = vault_.seal(pending.dump(), "oauth-pending:" + id);
  const std::string ttl_ms = std::to_string(std::chrono::milliseconds(pending_ttl_).count());
  auto reply = co_await client_.exec("SET", keys_.oauth_pending(id), sealed, "NX", "PX", ttl_ms);
  if (!reply || reply->is_error() || reply->is_nil()) co_return std::nullopt;
  co_return id;
}

net::awaitable<boost::system::result<std::optional<json>>> ConnectStore::get_pending(const std::string& id, bool take) {
  using R = boost::system::result<std::optional<json>>;
  if (id.size() != 2 * kNonceBytes || !is_hex(id)) co_return R(std::optional<json>());
  const std::string key = keys_.oauth_pending(id);
  const char* command = take ? "GETDEL" : "GET";
  auto reply = co_await client_.exec(command, key);
  if (!reply) co_return R(boost::system::in_place_error, reply.error());
  if (reply->is_error())
    co_return R(boost::system::in_place_error, boost::system::errc::make_error_code(boost::system::errc::io_error));
  if (reply->is_nil()) co_return R(std::optional<json>());
  auto opened = vault_.open(reply->str, "oauth-pending:" + id);
  if (!opened.value) co_return R(std::optional<json>());
  auto body = json::parse(opened.value->reveal(), nullptr, false);
  if (!body.is_object()) co_return R(std::optional<json>());
  co_return R(std::optional<json>(std::move(body)));
}

}  // namespace schedulo::tokens
