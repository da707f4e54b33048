// Instagram API with Instagram Login (platform-apis.md 1.2): no Facebook Page. The consent page on
// www.instagram.com; the code exchanged on api.instagram.com for a short-lived token (1 h) with the
// account's user_id and the granted permissions (top level, or wrapped in data[0]: both accepted);
// that token exchanged at once on graph.instagram.com for a long-lived one (ig_exchange_token, 60
// days), which the sweep renews with ig_refresh_token inside its window; GET /me names the account.
// URLs and forms here carry tokens and the app secret: an error never quotes them.
#include "platforms/oauth/connectors.hpp"

namespace schedulo::platforms::oauth {
namespace {

using json = nlohmann::json;

// Graph's envelope {"error":{"message","code"}}, or api.instagram.com's flat
// {"error_type","code","error_message"}.
std::string instagram_message(const CallAnswer& answer) {
  const auto& b = answer.body;
  if (b.is_object() && b.contains("error") && b["error"].is_object()) {
    const auto& e = b["error"];
    std::string text = e.value("message", std::string());
    if (e.contains("code") && e["code"].is_number_integer())
      text += " (code " + std::to_string(e["code"].get<int>()) + ")";
    return text;
  }
  if (b.is_object() && b.contains("error_message") && b["error_message"].is_string())
    return b["error_message"].get<std::string>();
  return "HTTP " + std::to_string(answer.status);
}

bool instagram_transient(const CallAnswer& answer) {
  if (!answer.reached || answer.status >= 500 || answer.status == 429) return true;
  const auto& b = answer.body;
  if (b.is_object() && b.contains("error") && b["error"].is_object()) {
    const auto& e = b["error"];
    if (e.value("is_transient", false)) return true;
    const int code = e.contains("code") && e["code"].is_number_integer() ? e["code"].get<int>() : 0;
    return code == 1 || code == 2 || code == 4 || code == 17 || code == 613;
  }
  return false;
}

// A JSON id as text: api.instagram.com sends user_id as a number beyond 2^53 (read as an integer,
// never through a double), or as a string.
std::string id_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return {};
}

class InstagramLoginConnector final : public Connector {
 public:
  InstagramLoginConnector(http::HttpClient& http, ConnectSettings settings)
      : http_(http), settings_(std::move(settings)) {}

  std::string_view platform() const override { return "instagram-login"; }
  std::string_view account_platform() const override { return "instagram"; }
  bool uses_pkce() const override { return false; }
  const std::vector<std::string>& scopes() const override {
    // Read the account, publish, read insights (the analytics job).
    static const std::vector<std::string> kScopes{"instagram_business_basic", "instagram_business_content_publish",
                                                  "instagram_business_manage_insights"};
    return kScopes;
  }

  std::string authorize_url(const AuthorizeRequest& r) const override {
    std::string scope;
    for (const auto& s : scopes()) scope += (scope.empty() ? "" : ",") + s;
    const std::vector<std::pair<std::string, std::string>> query{{"client_id", settings_.client_id},
                                                                 {"redirect_uri", r.redirect_uri},
                                                                 {"response_type", "code"},
                                                                 {"scope", scope},
                                                                 {"state", r.state}};
    return with_query(settings_.auth_url, form_encode(query));
  }

  net::awaitable<Exchange> exchange(const std::string& code, const std::string& redirect_uri,
                                    const std::string& /*verifier*/) override {
    Exchange out;
    // 1. The code for a short-lived token, the account's id and what was granted.
    http::Request request;
    request.method = "POST";
    request.url = settings_.token_url;
    const std::vector<std::pair<std::string, std::string>> form{{"client_id", settings_.client_id},
                                                                {"client_secret", settings_.client_secret},
                                                                {"grant_type", "authorization_code"},
                                                                {"redirect_uri", redirect_uri},
                                                                {"code", code}};
    request.body = form_encode(form);
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    auto answer = co_await call(std::move(request));
    json data = answer.body;
    if (data.is_object() && data.contains("data") && data["data"].is_array() && !data["data"].empty())
      data = data["data"][0];
    if (!answer.reached || answer.status != 200 || !data.is_object() || !data.contains("access_token") ||
        !data["access_token"].is_string())
      co_return failure(answer, "refused the authorization code");
    const std::string short_token = data["access_token"].get<std::string>();
    if (data.contains("user_id")) out.user_id = id_text(data["user_id"]);
    // Granted permissions: "a,b" or ["a","b"]. None listed: nothing can be confirmed, so every scope
    // is reported missing (never accepted silently).
    if (data.contains("permissions")) {
      const auto& p = data["permissions"];
      if (p.is_string()) out.granted = split_scopes(p.get<std::string>());
      if (p.is_array())
        for (const auto& s : p)
          if (s.is_string()) out.granted.push_back(s.get<std::string>());
    }
    out.status = ExchangeStatus::ok;
    if (!missing_scopes(scopes(), out.granted).empty()) co_return out;  // the caller reports what is missing

    // 2. The long-lived token (60 days).
    const std::string graph_root = unversioned_root(settings_.base_url);
    const std::vector<std::pair<std::string, std::string>> long_query{
        {"grant_type", "ig_exchange_token"}, {"client_secret", settings_.client_secret}, {"access_token", short_token}};
    answer = co_await get(with_query(join_url(graph_root, "/access_token"), form_encode(long_query)));
    if (!answer.reached || answer.status != 200 || !answer.body.is_object() || !answer.body.contains("access_token") ||
        !answer.body["access_token"].is_string())
      co_return failure(answer, "did not exchange the login for a long-lived token");
    const std::string long_token = answer.body["access_token"].get<std::string>();
    out.expires_in_s = answer.body.contains("expires_in") && answer.body["expires_in"].is_number_integer()
                           ? answer.body["expires_in"].get<std::int64_t>()
                           : 0;

    // 3. The account the login connected (its id and username), with the new token.
    const std::vector<std::pair<std::string, std::string>> me_query{{"fields", "user_id,username"},
                                                                    {"access_token", long_token}};
    answer = co_await get(with_query(join_url(settings_.base_url, "/me"), form_encode(me_query)));
    if (!answer.reached || answer.status != 200 || !answer.body.is_object())
      co_return failure(answer, "did not say which account was connected");
    const auto& me = answer.body;
    if (me.contains("user_id")) out.account_id = id_text(me["user_id"]);
    if (out.account_id.empty() && me.contains("id")) out.account_id = id_text(me["id"]);
    if (out.account_id.empty()) out.account_id = out.user_id;
    out.account_name = me.value("username", std::string());

    std::string granted;
    for (const auto& s : out.granted) granted += (granted.empty() ? "" : ",") + s;
    out.tokens.access_token = Secret(long_token);
    out.tokens.scopes = granted;
    co_return out;
  }

 private:
  // "https://graph.instagram.com/v25.0" -> "https://graph.instagram.com": the token endpoints are
  // not versioned (1.2).
  static std::string unversioned_root(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    const auto slash = url.find_last_of('/');
    if (slash != std::string::npos && slash + 2 < url.size() && url[slash + 1] == 'v' &&
        url.substr(slash + 2).find_first_not_of("0123456789.") == std::string::npos)
      url.erase(slash);
    return url;
  }

  net::awaitable<CallAnswer> call(http::Request request) {
    auto answer = co_await call_json(http_, std::move(request), settings_.timeout);
    if (!answer.reached) answer.error = "Instagram could not be reached";  // the client's text may quote the URL
    co_return answer;
  }
  net::awaitable<CallAnswer> get(std::string url) {
    http::Request request;
    request.url = std::move(url);
    co_return co_await call(std::move(request));
  }

  static Exchange failure(const CallAnswer& answer, const std::string& what) {
    Exchange out;
    out.status = instagram_transient(answer) ? ExchangeStatus::transient : ExchangeStatus::refused;
    out.code = answer.reached ? "instagram_error" : "unreachable";
    out.message = "Instagram " + what + ": " + (answer.reached ? instagram_message(answer) : answer.error);
    return out;
  }

  http::HttpClient& http_;
  ConnectSettings settings_;
};

}  // namespace

std::unique_ptr<Connector> make_instagram_login_connector(http::HttpClient& http, ConnectSettings settings) {
  return std::make_unique<InstagramLoginConnector>(http, std::move(settings));
}

}  // namespace schedulo::platforms::oauth
