#include "platforms/oauth/token_answer.hpp"

#include <openssl/crypto.h>

namespace schedulo::platforms::oauth {
namespace {

using json = nlohmann::json;

std::optional<std::string> text_field(const json& doc, const char* key) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::chrono::seconds> seconds_field(const json& doc, const char* key) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer() || it->get<long long>() <= 0 ||
      it->get<long long>() > kMaxTokenLifetimeS)  // beyond it, epoch milliseconds would overflow
    return std::nullopt;
  return std::chrono::seconds(it->get<long long>());
}

}  // namespace

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

TokenAnswer read_token_answer(std::string& body) {
  TokenAnswer answer;
  answer.doc = json::parse(body, nullptr, false);
  wipe(body);
  json& doc = answer.doc;
  if (!doc.is_object()) return answer;
  if (auto access = text_field(doc, "access_token"); access && !access->empty()) {
    TokenCallResult& result = answer.tokens.emplace();
    result.status = TokenCallStatus::ok;
    result.access_token = Secret(std::move(*access));
    if (auto refresh = text_field(doc, "refresh_token")) result.refresh_token = Secret(std::move(*refresh));
    result.expires_in = seconds_field(doc, "expires_in");
    result.refresh_expires_in = seconds_field(doc, "refresh_expires_in");
    result.scopes = text_field(doc, "scope");
  }
  for (const char* name : {"access_token", "refresh_token"})
    if (auto it = doc.find(name); it != doc.end() && it->is_string()) wipe(it->get_ref<std::string&>());
  return answer;
}

}  // namespace schedulo::platforms::oauth
