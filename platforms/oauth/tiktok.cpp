// TikTok's authorization code (platform-apis.md 2.1), with PKCE S256.
#include "platforms/oauth/call.hpp"
#include "platforms/oauth/connectors.hpp"

namespace schedulo::platforms::oauth {
namespace {

class TikTokConnector final : public Connector {
 public:
  TikTokConnector(http::HttpClient& http, ConnectSettings settings) : http_(http), settings_(std::move(settings)) {}

  std::string_view platform() const override { return "tiktok"; }
  bool uses_pkce() const override { return true; }
  const std::vector<std::string>& scopes() const override {
    // Profile and creator info, direct and inbox posting, the video list for analytics (2.1, 2.8).
    static const std::vector<std::string> kScopes{"user.info.basic", "video.publish", "video.upload", "video.list"};
    return kScopes;
  }

  std::string authorize_url(const AuthorizeRequest& r) const override {
    std::string scope;
    for (const auto& s : scopes()) scope += (scope.empty() ? "" : ",") + s;
    const std::vector<std::pair<std::string, std::string>> query{
        {"client_key", settings_.client_id}, {"response_type", "code"}, {"scope", scope},
        {"redirect_uri", r.redirect_uri},    {"state", r.state},        {"code_challenge", r.code_challenge},
        {"code_challenge_method", "S256"}};
    return with_query(settings_.auth_url, form_encode(query));
  }

  net::awaitable<Exchange> exchange(const std::string& code, const std::string& redirect_uri,
                                    const std::string& verifier) override {
    http::Request request;
    request.method = "POST";
    request.url = join_url(settings_.base_url, "/v2/oauth/token/");
    const std::vector<std::pair<std::string, std::string>> form{{"client_key", settings_.client_id},
                                                                {"client_secret", settings_.client_secret},
                                                                {"code", code},
                                                                {"grant_type", "authorization_code"},
                                                                {"redirect_uri", redirect_uri},
                                                                {"code_verifier", verifier}};
    request.body = form_encode(form);
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    const auto answer = co_await call_json(http_, std::move(request), settings_.timeout);
    auto out = token_exchange(answer, "TikTok");
    if (out.status == ExchangeStatus::ok && answer.body.contains("open_id") && answer.body["open_id"].is_string())
      out.user_id = answer.body["open_id"].get<std::string>();
    co_return out;
  }

 private:
  http::HttpClient& http_;
  ConnectSettings settings_;
};

}  // namespace

std::unique_ptr<Connector> make_tiktok_connector(http::HttpClient& http, ConnectSettings settings) {
  return std::make_unique<TikTokConnector>(http, std::move(settings));
}

}  // namespace schedulo::platforms::oauth
