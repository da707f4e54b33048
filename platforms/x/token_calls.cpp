// X's OAuth 2.0 token calls (platform-apis.md 3.1): refresh with single-use, rotating refresh tokens,
// revoke, and users/me as the validity probe (X has no introspection endpoint).
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <array>

#include "platforms/errors/rate_feedback.hpp"
#include "platforms/oauth/token_answer.hpp"
#include "platforms/x/api.hpp"
#include "platforms/x/x.hpp"

namespace schedulo::x {
namespace {

using json = nlohmann::json;
using platforms::TokenCallResult;
using platforms::TokenCallStatus;

using platforms::oauth::wipe;

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Whether a request that got no answer may have been processed: once it may have left, a rotating
// refresh token may be spent.
bool maybe_sent(http::ErrorKind kind) {
  return kind == http::ErrorKind::network || kind == http::ErrorKind::timeout || kind == http::ErrorKind::protocol ||
         kind == http::ErrorKind::cancelled;
}

class XTokenCalls final : public platforms::TokenCalls {
 public:
  XTokenCalls(const XSettings& settings, http::HttpClient& http) : settings_(settings), http_(http) {}

  // Access tokens live 2 h; renewing 5 minutes early covers any call made with them.
  std::chrono::milliseconds refresh_margin() const override { return std::chrono::minutes(5); }
  bool can_refresh(const platforms::TokenSet& current) const override { return !current.refresh_token.empty(); }

  net::awaitable<TokenCallResult> refresh(const platforms::TokenSet& current) override {
    std::string form = "grant_type=refresh_token&refresh_token=" + url_encode(current.refresh_token.reveal());
    auto answer = co_await post_form("/2/oauth2/token", form);
    wipe(form);
    TokenCallResult result;
    if (!answer) {
      result.status = maybe_sent(answer.error().kind) ? TokenCallStatus::unknown : TokenCallStatus::transient;
      result.code = std::string(http::to_string(answer.error().kind));
      result.message = "X's token endpoint did not answer (" + result.code + ")";
      co_return result;
    }
    co_return read_refresh_answer(*answer, errors::SystemClock::now());
  }

  net::awaitable<TokenCallResult> revoke(const platforms::TokenSet& current) override {
    TokenCallResult result;
    result.status = TokenCallStatus::ok;
    // Revoking the refresh token ends the whole grant; the access token is revoked as well for
    // servers that end only what they are given.
    const std::array<const Secret*, 2> tokens{&current.refresh_token, &current.access_token};
    for (const Secret* which : tokens) {
      if (which->empty()) continue;
      const char* hint = which == &current.refresh_token ? "refresh_token" : "access_token";
      std::string form = "token=" + url_encode(which->reveal()) + "&token_type_hint=" + hint;
      auto answer = co_await post_form("/2/oauth2/revoke", form);
      wipe(form);
      if (!answer) {
        result.status = TokenCallStatus::transient;
        result.code = std::string(http::to_string(answer.error().kind));
        result.message = "X's revoke endpoint did not answer (" + result.code + ")";
        co_return result;
      }
      wipe(answer->body);
      if (!answer->ok()) {
        result.status =
            answer->status >= 500 || answer->status == 429 ? TokenCallStatus::transient : TokenCallStatus::rejected;
        result.code = "http_" + std::to_string(answer->status);
        result.message = "X's revoke endpoint answered HTTP " + std::to_string(answer->status);
        co_return result;
      }
    }
    co_return result;
  }

  net::awaitable<platforms::Introspection> introspect(const platforms::TokenSet& current) override {
    http::Request request;
    request.url = settings_.base_url + "/2/users/me";
    request.headers.set("Authorization", "Bearer " + current.access_token.reveal());
    request.timeouts = api_timeouts();
    auto answer = co_await http_.request(request);
    platforms::Introspection out;
    if (!answer) {
      out.message = "X did not answer users/me";
      co_return out;
    }
    if (answer->ok() || answer->status == 401) {
      out.status = TokenCallStatus::ok;
      out.valid = answer->ok();
    } else {
      out.message = "X answered users/me with HTTP " + std::to_string(answer->status);
    }
    co_return out;
  }

 private:
  // A form POST to X's OAuth endpoints with the client's authentication: Basic for confidential
  // clients, client_id in the form for public ones.
  net::awaitable<http::Result<http::Response>> post_form(const char* path, const std::string& form) {
    http::Request request;
    request.method = "POST";
    request.url = settings_.base_url + path;
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    std::string body = form + "&client_id=" + url_encode(settings_.client_id);
    std::string basic;
    if (!settings_.client_secret.empty()) {
      basic = "Basic " + base64(url_encode(settings_.client_id) + ":" + url_encode(settings_.client_secret));
      request.headers.set("Authorization", basic);
    }
    request.body = body;
    wipe(body);
    wipe(basic);
    request.timeouts = api_timeouts();
    auto answer = co_await http_.request(request);
    wipe(std::get<std::string>(request.body));
    co_return answer;
  }

  XSettings settings_;
  http::HttpClient& http_;
};

}  // namespace

TokenCallResult read_refresh_answer(http::Response& r, errors::SystemClock::time_point now) {
  auto answer = platforms::oauth::read_token_answer(r.body);  // parses, then wipes the body and tokens
  if (r.ok() && answer.tokens) return std::move(*answer.tokens);
  TokenCallResult result;
  const json& doc = answer.doc;
  // Only a text error is X's OAuth code; a gateway's {"error":{...}} made value() throw (found by
  // tests/fuzz/oauth_answers_fuzz.cpp on a sandbox answer).
  const auto error_it = doc.is_object() ? doc.find("error") : doc.end();
  const std::string error =
      doc.is_object() && error_it != doc.end() && error_it->is_string() ? error_it->get<std::string>() : "";
  result.code = error.empty() ? "http_" + std::to_string(r.status) : error;
  if (r.ok()) {
    result.status = TokenCallStatus::unknown;  // answered without tokens: it may have rotated
    result.message = "X's token endpoint answered without an access token";
  } else if (r.status == 400 && (error == "invalid_request" || error == "invalid_grant")) {
    // A reused, revoked or expired refresh token (X says invalid_request, "Value passed for the
    // token was invalid."; RFC 6749 says invalid_grant): only connecting again helps.
    result.status = TokenCallStatus::rejected;
    result.message = "X refused the refresh token (" + error + ")";
  } else if (r.status == 401) {
    // unauthorized_client: the app's credentials, not the user's grant; fixing the configuration helps.
    result.status = TokenCallStatus::transient;
    result.message = "X refused the app's client credentials (platforms.x.client_id / client_secret)";
  } else if (r.status == 503 || r.status == 429 || r.status == 408) {
    result.status = TokenCallStatus::transient;
    result.message = "X's token endpoint answered HTTP " + std::to_string(r.status);
    if (auto reset = errors::x_rate_limit_clears_at(r, now); reset && r.status == 429)
      result.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(*reset - now);
  } else if (r.status >= 500) {
    result.status = TokenCallStatus::unknown;  // a gateway may have passed it on
    result.message = "X's token endpoint answered HTTP " + std::to_string(r.status);
  } else {
    result.status = TokenCallStatus::rejected;
    result.message = "X's token endpoint refused the refresh (HTTP " + std::to_string(r.status) + ")";
  }
  return result;
}

std::unique_ptr<platforms::TokenCalls> make_token_calls(const XSettings& settings, http::HttpClient& http) {
  return std::make_unique<XTokenCalls>(settings, http);
}

}  // namespace schedulo::x
