// Facebook Login for Facebook Pages and Instagram (platform-apis.md 1.0, 1.1, 4.1): the code gives a
// short-lived user token, exchanged at once for a long-lived one (fb_exchange_token, ~60 days);
// debug_token says which scopes the user granted; me/accounts lists the Pages with their Page tokens
// (which never expire when fetched with a long-lived user token) and each Page's Instagram business
// account. The user token itself is not kept: the jobs use the Page token of the chosen account.
// URLs here carry tokens in their query: an error never quotes them.
#include "platforms/oauth/connectors.hpp"

namespace schedulo::platforms::oauth {
namespace {

using json = nlohmann::json;

std::string graph_message(const CallAnswer& answer) {
  if (answer.body.is_object() && answer.body.contains("error") && answer.body["error"].is_object()) {
    const auto& e = answer.body["error"];
    std::string text = e.value("message", std::string());
    if (e.contains("code") && e["code"].is_number_integer())
      text += " (code " + std::to_string(e["code"].get<int>()) + ")";
    return text;
  }
  return "HTTP " + std::to_string(answer.status);
}

bool graph_transient(const CallAnswer& answer) {
  if (!answer.reached || answer.status >= 500 || answer.status == 429) return true;
  if (answer.body.is_object() && answer.body.contains("error") && answer.body["error"].is_object()) {
    const auto& e = answer.body["error"];
    if (e.value("is_transient", false)) return true;
    const int code = e.contains("code") && e["code"].is_number_integer() ? e["code"].get<int>() : 0;
    return code == 1 || code == 2 || code == 4 || code == 17 || code == 32 || code == 613;
  }
  return false;
}

class MetaConnector final : public Connector {
 public:
  MetaConnector(std::string platform, http::HttpClient& http, ConnectSettings settings)
      : platform_(std::move(platform)), http_(http), settings_(std::move(settings)) {}

  std::string_view platform() const override { return platform_; }
  bool uses_pkce() const override { return false; }
  const std::vector<std::string>& scopes() const override {
    // Instagram with Facebook Login (1.1): read, publish, insights, and the Pages to find the account.
    static const std::vector<std::string> kInstagram{"instagram_basic", "instagram_content_publish",
                                                     "instagram_manage_insights", "pages_show_list",
                                                     "pages_read_engagement"};
    // Facebook Pages (4): list, read, publish, insights.
    static const std::vector<std::string> kFacebook{"pages_show_list", "pages_read_engagement", "pages_manage_posts",
                                                    "read_insights"};
    return platform_ == "instagram" ? kInstagram : kFacebook;
  }

  std::string authorize_url(const AuthorizeRequest& r) const override {
    std::string scope;
    for (const auto& s : scopes()) scope += (scope.empty() ? "" : ",") + s;
    const std::vector<std::pair<std::string, std::string>> query{{"client_id", settings_.client_id},
                                                                 {"redirect_uri", r.redirect_uri},
                                                                 {"state", r.state},
                                                                 {"response_type", "code"},
                                                                 {"scope", scope}};
    return with_query(settings_.auth_url, form_encode(query));
  }

  net::awaitable<Exchange> exchange(const std::string& code, const std::string& redirect_uri,
                                    const std::string& /*verifier*/) override {
    Exchange out;
    // 1. The code for a short-lived user token.
    const std::vector<std::pair<std::string, std::string>> code_query{{"client_id", settings_.client_id},
                                                                      {"client_secret", settings_.client_secret},
                                                                      {"redirect_uri", redirect_uri},
                                                                      {"code", code}};
    auto answer =
        co_await get(with_query(join_url(settings_.base_url, "/oauth/access_token"), form_encode(code_query)));
    const auto short_token = token_of(answer);
    if (short_token.empty()) co_return failure(answer, "refused the authorization code");

    // 2. The long-lived user token (Page tokens fetched with it never expire).
    const std::vector<std::pair<std::string, std::string>> long_query{{"grant_type", "fb_exchange_token"},
                                                                      {"client_id", settings_.client_id},
                                                                      {"client_secret", settings_.client_secret},
                                                                      {"fb_exchange_token", short_token}};
    answer = co_await get(with_query(join_url(settings_.base_url, "/oauth/access_token"), form_encode(long_query)));
    const auto long_token = token_of(answer);
    if (long_token.empty()) co_return failure(answer, "did not exchange the login for a long-lived token");

    // 3. What the user granted (the dialog lets them untick permissions).
    const std::vector<std::pair<std::string, std::string>> debug_query{
        {"input_token", long_token}, {"access_token", settings_.client_id + "|" + settings_.client_secret}};
    answer = co_await get(with_query(join_url(settings_.base_url, "/debug_token"), form_encode(debug_query)));
    if (!answer.reached || answer.status != 200 || !answer.body.is_object() || !answer.body.contains("data") ||
        !answer.body["data"].is_object())
      co_return failure(answer, "did not say which permissions were granted");
    const auto& data = answer.body["data"];
    if (data.contains("scopes") && data["scopes"].is_array())
      for (const auto& s : data["scopes"])
        if (s.is_string()) out.granted.push_back(s.get<std::string>());
    if (data.contains("user_id") && data["user_id"].is_string()) out.user_id = data["user_id"].get<std::string>();
    out.status = ExchangeStatus::ok;
    if (!missing_scopes(scopes(), out.granted).empty()) co_return out;  // the caller reports what is missing

    // 4. The Pages (and their Instagram accounts) this login reaches, with their Page tokens.
    const std::vector<std::pair<std::string, std::string>> pages_query{
        {"fields", "id,name,access_token,instagram_business_account"}, {"limit", "100"}, {"access_token", long_token}};
    answer = co_await get(with_query(join_url(settings_.base_url, "/me/accounts"), form_encode(pages_query)));
    if (!answer.reached || answer.status != 200 || !answer.body.is_object() || !answer.body.contains("data") ||
        !answer.body["data"].is_array())
      co_return failure(answer, "did not list the Pages of the login");
    std::string granted;
    for (const auto& s : out.granted) granted += (granted.empty() ? "" : ",") + s;
    for (const auto& page : answer.body["data"]) {
      if (!page.is_object() || !page.contains("id") || !page["id"].is_string() || !page.contains("access_token") ||
          !page["access_token"].is_string())
        continue;
      Candidate c;
      c.page_id = page["id"].get<std::string>();
      c.name = page.contains("name") && page["name"].is_string() ? page["name"].get<std::string>() : c.page_id;
      c.tokens.access_token = Secret(page["access_token"].get<std::string>());
      c.tokens.scopes = granted;
      if (platform_ == "instagram") {
        if (!page.contains("instagram_business_account") || !page["instagram_business_account"].is_object()) continue;
        const auto& ig = page["instagram_business_account"];
        if (!ig.contains("id") || !ig["id"].is_string()) continue;
        c.id = ig["id"].get<std::string>();
        c.name = "Instagram account of " + c.name;
      } else {
        c.id = c.page_id;
      }
      out.candidates.push_back(std::move(c));
    }
    co_return out;
  }

 private:
  net::awaitable<CallAnswer> get(std::string url) {
    http::Request request;
    request.url = std::move(url);
    auto answer = co_await call_json(http_, std::move(request), settings_.timeout);
    if (!answer.reached) answer.error = "Facebook could not be reached";  // the client's text may quote the URL
    co_return answer;
  }

  static std::string token_of(const CallAnswer& answer) {
    if (!answer.reached || answer.status != 200 || !answer.body.is_object()) return {};
    const auto it = answer.body.find("access_token");
    return it != answer.body.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  static Exchange failure(const CallAnswer& answer, const std::string& what) {
    Exchange out;
    out.status = graph_transient(answer) ? ExchangeStatus::transient : ExchangeStatus::refused;
    out.code = answer.reached ? "graph_error" : "unreachable";
    out.message = "Facebook " + what + ": " + (answer.reached ? graph_message(answer) : answer.error);
    return out;
  }

  std::string platform_;
  http::HttpClient& http_;
  ConnectSettings settings_;
};

}  // namespace

std::unique_ptr<Connector> make_meta_connector(std::string platform, http::HttpClient& http, ConnectSettings settings) {
  return std::make_unique<MetaConnector>(std::move(platform), http, std::move(settings));
}

}  // namespace schedulo::platforms::oauth
