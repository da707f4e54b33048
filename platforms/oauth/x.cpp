// X's authorization code with PKCE (platform-apis.md 3.1).
#include "platforms/oauth/call.hpp"
#include "platforms/oauth/connectors.hpp"

namespace schedulo::platforms::oauth {
namespace {

class XConnector final : public Connector {
 public:
  XConnector(http::HttpClient& http, ConnectSettings settings) : http_(http), settings_(std::move(settings)) {}

  std::string_view platform() const override { return "x"; }
  bool uses_pkce() const override { return true; }
  const std::vector<std::string>& scopes() const override {
    // Posting with media, reading metrics and staying connected (offline.access: a refresh token).
    static const std::vector<std::string> kScopes{"tweet.read", "tweet.write", "users.read", "offline.access",
                                                  "media.write"};
    return kScopes;
  }

  std::string authorize_url(const AuthorizeRequest& r) const override {
    std::string scope;
    for (const auto& s : scopes()) scope += (scope.empty() ? "" : " ") + s;
    const std::vector<std::pair<std::string, std::string>> query{{"response_type", "code"},
                                                                 {"client_id", settings_.client_id},
                                                                 {"redirect_uri", r.redirect_uri},
                                                                 {"scope", scope},
                                                                 {"state", r.state},
                                                                 {"code_challenge", r.code_challenge},
                                                                 {"code_challenge_method", "S256"}};
    return with_query(settings_.auth_url, form_encode(query));
  }

  net::awaitable<Exchange> exchange(const std::string& code, const std::string& redirect_uri,
                                    const std::string& verifier) override {
    http::Request request;
    request.method = "POST";
    request.url = join_url(settings_.base_url, "/2/oauth2/token");
    const std::vector<std::pair<std::string, std::string>> form{{"code", code},
                                                                {"grant_type", "authorization_code"},
                                                                {"redirect_uri", redirect_uri},
                                                                {"code_verifier", verifier},
                                                                {"client_id", settings_.client_id}};
    request.body = form_encode(form);
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    // Confidential clients authenticate with Basic credentials (3.1); public clients have no secret.
    if (!settings_.client_secret.empty())
      request.headers.set("Authorization", "Basic " + base64(percent_encode(settings_.client_id) + ":" +
                                                             percent_encode(settings_.client_secret)));
    const auto answer = co_await call_json(http_, std::move(request), settings_.timeout);
    co_return token_exchange(answer, "X");
  }

 private:
  http::HttpClient& http_;
  ConnectSettings settings_;
};

}  // namespace

std::unique_ptr<Connector> make_x_connector(http::HttpClient& http, ConnectSettings settings) {
  return std::make_unique<XConnector>(http, std::move(settings));
}

}  // namespace schedulo::platforms::oauth
