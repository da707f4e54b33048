// TikTok's OAuth v2 calls for the token core (section 2.1): refresh with rotation, revoke, and the
// user/info probe that stands in for the introspection TikTok does not have.
#include "platforms/errors/rate_headers.hpp"
#include "platforms/oauth/token_answer.hpp"
#include "platforms/tiktok/api.hpp"

namespace schedulo::tiktok {
namespace {

using platforms::TokenCallResult;
using platforms::TokenCallStatus;

using platforms::oauth::wipe;

http::Timeouts oauth_timeouts() {
  http::Timeouts t;
  t.connect = std::chrono::seconds(5);
  t.send = std::chrono::seconds(10);
  t.headers = std::chrono::seconds(30);
  t.body = std::chrono::seconds(10);
  t.total = std::chrono::seconds(45);  // the provider cancels at tokens.refresh_timeout_ms first
  return t;
}

// The request may have reached TikTok: a rotating refresh token may be spent.
bool maybe_sent(const http::Error& error) {
  return error.kind == http::ErrorKind::network || error.kind == http::ErrorKind::timeout ||
         error.kind == http::ErrorKind::cancelled;
}

// An answer without tokens. TikTok answers OAuth refusals with HTTP 200 too: the body decides.
void classify_refusal(const http::Response& response, const json& doc, TokenCallResult& result) {
  // The body was parsed (and wiped) already: read the code from the document. OAuth errors are flat
  // ({"error":"invalid_grant"}); a v2 envelope may come from a gateway.
  std::string code;
  if (doc.is_object() && doc.contains("error")) {
    const auto& e = doc["error"];
    if (e.is_string()) code = e.get<std::string>();
    if (e.is_object() && e.contains("code") && e["code"].is_string()) code = e["code"].get<std::string>();
  }
  result.code = code.empty() ? "http_" + std::to_string(response.status) : code;
  if (code == "invalid_grant") {
    result.status = TokenCallStatus::rejected;
    result.message = "TikTok refused the refresh token (invalid_grant: expired, revoked or already used)";
  } else if (code == "access_denied") {
    result.status = TokenCallStatus::revoked;
    result.message = "TikTok says the user removed the app's access";
  } else if (code == "rate_limit_exceeded" || response.status == 429 || response.status == 503 ||
             code == "temporarily_unavailable" || code == "invalid_client" || code == "unauthorized_client" ||
             code == "invalid_request" || code == "unsupported_grant_type") {
    // Refused before anything changed (or our app's own configuration): the token is still good.
    result.status = TokenCallStatus::transient;
    result.message = "TikTok refused the refresh (" + result.code + ")";
    if (code == "rate_limit_exceeded" || response.status == 429) result.retry_after = std::chrono::seconds(60);
  } else if (response.status >= 500 || code == "server_error" || code.empty()) {
    // A failure or an unreadable answer after the request arrived: it may have rotated.
    result.status = TokenCallStatus::unknown;
    result.message = "TikTok's token endpoint failed (" + result.code + ")";
  } else {
    result.status = TokenCallStatus::transient;
    result.message = "TikTok refused the refresh (" + result.code + ")";
  }
}

class TikTokTokenCalls final : public platforms::TokenCalls {
 public:
  TikTokTokenCalls(const Settings& settings, http::HttpClient& http) : settings_(settings), http_(http) {}

  // Access tokens last 2 h (November 2026): renewed when under 10 minutes are left. Uploads use the
  // upload_url, not the token, so no call needs the token for longer.
  std::chrono::milliseconds refresh_margin() const override { return std::chrono::minutes(10); }
  bool can_refresh(const platforms::TokenSet& current) const override { return !current.refresh_token.empty(); }

  net::awaitable<TokenCallResult> refresh(const platforms::TokenSet& current) override {
    std::string body = "client_key=" + form_encode(settings_.client_key) +
                       "&client_secret=" + form_encode(settings_.client_secret) +
                       "&grant_type=refresh_token&refresh_token=" + form_encode(current.refresh_token.reveal());
    auto response = co_await post_form("/v2/oauth/token/", body);
    wipe(body);
    TokenCallResult result;
    if (!response) {
      result.status = maybe_sent(response.error()) ? TokenCallStatus::unknown : TokenCallStatus::transient;
      result.code = std::string(http::to_string(response.error().kind));
      result.message = "TikTok's token endpoint did not answer (" + result.code + ")";
      co_return result;
    }
    co_return read_refresh_answer(*response);
  }

  net::awaitable<TokenCallResult> revoke(const platforms::TokenSet& current) override {
    TokenCallResult result;
    if (current.access_token.empty()) {
      result.status = TokenCallStatus::ok;  // nothing to revoke
      co_return result;
    }
    std::string body = "client_key=" + form_encode(settings_.client_key) +
                       "&client_secret=" + form_encode(settings_.client_secret) +
                       "&token=" + form_encode(current.access_token.reveal());
    auto response = co_await post_form("/v2/oauth/revoke/", body);
    wipe(body);
    if (!response) {
      result.status = TokenCallStatus::transient;
      result.code = std::string(http::to_string(response.error().kind));
      result.message = "TikTok's revoke endpoint did not answer (" + result.code + ")";
      co_return result;
    }
    const auto error = errors::parse_tiktok_error(response->body);
    if (response->ok() && (!error || error->ok())) {
      result.status = TokenCallStatus::ok;
    } else if (error && (error->code == "invalid_grant" || error->code == "access_token_invalid")) {
      result.status = TokenCallStatus::ok;  // the token was dead already: nothing is connected
      result.code = error->code;
    } else {
      result.status = TokenCallStatus::transient;
      result.code = error ? error->code : "http_" + std::to_string(response->status);
      result.message = "TikTok refused to revoke the token (" + result.code + ")";
    }
    co_return result;
  }

  net::awaitable<platforms::Introspection> introspect(const platforms::TokenSet& current) override {
    http::Request request;
    request.url = settings_.base_url + "/v2/user/info/?fields=open_id";
    request.headers.set("Authorization", "Bearer " + current.access_token.reveal());
    request.timeouts = oauth_timeouts();
    auto response = co_await http_.request(request);
    platforms::Introspection out;
    if (!response) {
      out.message = "TikTok did not answer (" + std::string(http::to_string(response.error().kind)) + ")";
      co_return out;
    }
    const auto error = errors::parse_tiktok_error(response->body);
    if (response->ok() && error && error->ok()) {
      out.status = TokenCallStatus::ok;
      out.valid = true;
    } else if (error && (error->code == "access_token_invalid" || error->code == "scope_not_authorized")) {
      out.status = TokenCallStatus::ok;
      out.valid = false;
      out.message = error->code;
    } else {
      out.message = "TikTok answered HTTP " + std::to_string(response->status);
    }
    co_return out;
  }

 private:
  net::awaitable<http::Result<http::Response>> post_form(const std::string& path, const std::string& body) {
    http::Request request;
    request.method = "POST";
    request.url = settings_.base_url + path;
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.body = body;
    request.timeouts = oauth_timeouts();
    auto response = co_await http_.request(request);
    wipe(std::get<std::string>(request.body));
    co_return response;
  }

  Settings settings_;
  http::HttpClient& http_;
};

}  // namespace

TokenCallResult read_refresh_answer(http::Response& response) {
  // Always the answer's lifetimes (2 h / 180 d since November 2026; older apps 24 h / 365 d).
  auto answer = platforms::oauth::read_token_answer(response.body);  // parses, then wipes
  if (answer.tokens) return std::move(*answer.tokens);
  TokenCallResult result;
  classify_refusal(response, answer.doc, result);
  return result;
}

std::unique_ptr<platforms::TokenCalls> make_token_calls(const Settings& settings, http::HttpClient& http) {
  return std::make_unique<TikTokTokenCalls>(settings, http);
}

}  // namespace schedulo::tiktok
