// Helpers shared by the connectors: encoding, PKCE, scopes, the deadline-bound JSON call.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

#include "platforms/oauth/call.hpp"
#include "platforms/oauth/connectors.hpp"

namespace schedulo::platforms::oauth {

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += percent_encode(k);
    out += '=';
    out += percent_encode(v);
  }
  return out;
}

std::string base64url(std::string_view bytes) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
  } else if (left == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
  }
  return out;
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("the system's random source failed");
  return base64url(raw);
}

std::string pkce_challenge(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return base64url(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::vector<std::string> split_scopes(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find_first_of(" ,", at);
    const auto stop = end == std::string_view::npos ? text.size() : end;
    if (stop > at) out.emplace_back(text.substr(at, stop - at));
    at = stop + 1;
  }
  return out;
}

std::vector<std::string> missing_scopes(const std::vector<std::string>& wanted,
                                        const std::vector<std::string>& granted) {
  std::vector<std::string> out;
  for (const auto& w : wanted)
    if (std::find(granted.begin(), granted.end(), w) == granted.end()) out.push_back(w);
  return out;
}

std::string join_url(const std::string& base, std::string_view path) {
  std::string out = base;
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (!path.empty() && path.front() != '/') out += '/';
  out += path;
  return out;
}

net::awaitable<CallAnswer> call_json(http::HttpClient& client, http::Request request,
                                     std::chrono::milliseconds timeout) {
  request.timeouts.connect = timeout;
  request.timeouts.send = timeout;
  request.timeouts.headers = timeout;
  request.timeouts.body = timeout;
  request.timeouts.total = timeout;
  request.max_response_bytes = 1 << 20;
  request.headers.set("Accept", "application/json");
  CallAnswer out;
  auto response = co_await client.request(request);
  if (!response) {
    out.error = response.error().message;
    co_return out;
  }
  out.reached = true;
  out.status = response->status;
  out.body = nlohmann::json::parse(response->body, nullptr, false);
  co_return out;
}

}  // namespace schedulo::platforms::oauth

namespace schedulo::platforms::oauth {

std::string with_query(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? '?' : '&') + query;
}

std::string base64(std::string_view bytes) {
  std::string out = base64url(bytes);
  for (auto& c : out) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (out.size() % 4 != 0) out += '=';
  return out;
}

namespace {
std::string text_of(const nlohmann::json& body, const char* key) {
  if (!body.is_object() || !body.contains(key)) return {};
  const auto& v = body[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("code") && v["code"].is_string()) return v["code"].get<std::string>();
  return {};
}
std::int64_t raw_seconds_of(const nlohmann::json& body, const char* key) {
  if (!body.is_object() || !body.contains(key)) return 0;
  const auto& v = body[key];
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) {
    try {
      return std::stoll(v.get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}
// A lifetime in seconds; 0 (unknown) when absent, unreadable, not positive or past kMaxTokenLifetimeS
// (callers turn it into epoch milliseconds).
std::int64_t seconds_of(const nlohmann::json& body, const char* key) {
  const std::int64_t s = raw_seconds_of(body, key);
  return s > 0 && s <= kMaxTokenLifetimeS ? s : 0;
}
}  // namespace

Exchange token_exchange(const CallAnswer& answer, const std::string& who) {
  Exchange out;
  if (!answer.reached) {
    out.code = "unreachable";
    out.message = who + " could not be reached to finish connecting: " + answer.error;
    return out;
  }
  const auto& body = answer.body;
  const auto access = text_of(body, "access_token");
  if (answer.status >= 200 && answer.status < 300 && !access.empty()) {
    out.status = ExchangeStatus::ok;
    out.tokens.access_token = Secret(access);
    out.tokens.refresh_token = Secret(text_of(body, "refresh_token"));
    out.expires_in_s = seconds_of(body, "expires_in");
    out.refresh_expires_in_s = seconds_of(body, "refresh_expires_in");
    out.granted = split_scopes(text_of(body, "scope"));
    std::string joined;
    for (const auto& s : out.granted) joined += (joined.empty() ? "" : " ") + s;
    out.tokens.scopes = joined;
    return out;
  }
  out.code = text_of(body, "error");
  const auto description = text_of(body, "error_description");
  if (answer.status >= 500 || answer.status == 429 || out.code == "server_error" ||
      out.code == "temporarily_unavailable") {
    out.status = ExchangeStatus::transient;
    out.message = who + " is unavailable (HTTP " + std::to_string(answer.status) + "); try connecting again later";
  } else {
    out.status = ExchangeStatus::refused;
    out.message = who + " refused the authorization code" + (description.empty() ? "" : ": " + description);
  }
  if (out.code.empty()) out.code = "http_" + std::to_string(answer.status);
  return out;
}

std::unique_ptr<Connector> make_connector(std::string_view platform, http::HttpClient& http, ConnectSettings settings) {
  if (platform == "x") return make_x_connector(http, std::move(settings));
  if (platform == "tiktok") return make_tiktok_connector(http, std::move(settings));
  if (platform == "facebook" || platform == "instagram")
    return make_meta_connector(std::string(platform), http, std::move(settings));
  if (platform == "instagram-login") return make_instagram_login_connector(http, std::move(settings));
  return nullptr;
}

}  // namespace schedulo::platforms::oauth
