#include "sandbox/tiktok/tiktok.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "common/rfc3339.hpp"
#include "common/text.hpp"
#include "sandbox/tiktok/model.hpp"
#include "sandbox/tiktok/pull.hpp"
#include "sandbox/tiktok/rules.hpp"

namespace schedulo::sandbox::tiktok {
namespace {

class Emulator {
 public:
  Emulator(Core& core, net::Executor executor, std::function<std::string()> self_url)
      : core_(core), executor_(std::move(executor)), self_url_(std::move(self_url)) {
    reset();
  }

  void install() {
    core_.add_api({"tiktok", [this](int status) { return shaped(status); },
                   [this] { return api_error(429, "rate_limit_exceeded", "Too many requests. Please retry later."); },
                   [this] { return save(); }, [this](const json& j) { load(j); }});
    core_.add_api({"tiktok_oauth",
                   [this](int status) { return shaped_oauth(status); },
                   [this] { return oauth_error(429, "rate_limit_exceeded", "Too many requests"); },
                   {},
                   {}});
    auto on = [this](const char* api, std::string name, std::string method, std::string pattern,
                     Response (Emulator::*fn)(Request&)) {
      core_.route(api, std::move(name), std::move(method), std::move(pattern),
                  [this, fn](Request& r) { return (this->*fn)(r); });
    };
    on("tiktok_oauth", "tiktok_oauth.authorize", "GET", "/tiktok/v2/auth/authorize/", &Emulator::authorize_page);
    on("tiktok_oauth", "tiktok_oauth.token", "POST", "/tiktok/v2/oauth/token/", &Emulator::oauth_token);
    on("tiktok_oauth", "tiktok_oauth.revoke", "POST", "/tiktok/v2/oauth/revoke/", &Emulator::oauth_revoke);
    on("tiktok", "tiktok.creator_info", "POST", "/tiktok/v2/post/publish/creator_info/query/", &Emulator::creator_info);
    on("tiktok", "tiktok.video_init", "POST", "/tiktok/v2/post/publish/video/init/", &Emulator::video_init);
    on("tiktok", "tiktok.inbox_init", "POST", "/tiktok/v2/post/publish/inbox/video/init/", &Emulator::inbox_init);
    on("tiktok", "tiktok.photo_init", "POST", "/tiktok/v2/post/publish/content/init/", &Emulator::photo_init);
    on("tiktok", "tiktok.status", "POST", "/tiktok/v2/post/publish/status/fetch/", &Emulator::status_fetch);
    on("tiktok", "tiktok.cancel", "POST", "/tiktok/v2/post/publish/cancel/", &Emulator::cancel);
    on("tiktok", "tiktok.user_info", "GET", "/tiktok/v2/user/info/", &Emulator::user_info);
    on("tiktok", "tiktok.video_query", "POST", "/tiktok/v2/video/query/", &Emulator::video_query);
    on("tiktok", "tiktok.video_list", "POST", "/tiktok/v2/video/list/", &Emulator::video_list);
    on("tiktok", "tiktok.upload", "PUT", "/tiktok-upload/video/", &Emulator::upload_chunk);
    on("tiktok", "tiktok.unknown", "*", "/tiktok/*", &Emulator::unknown);
    on("tiktok", "tiktok.unknown", "*", "/tiktok-upload/*", &Emulator::unknown);
    install_admin();
  }

 private:
  // ---- answers ----------------------------------------------------------------------------------------

  std::string next_log_id() {
    // 14 digits of date and time, then hex, like TikTok's "202210112248442CB9319E1FB30C1073F3".
    const auto text = format_rfc3339_ms(core_.clock().now_ms());
    std::string digits;
    for (char c : text.substr(0, 19))
      if (c >= '0' && c <= '9') digits += c;
    const auto n = ++log_counter_;
    return digits + hex(mix(n ^ 0x10C1D00000000000ULL), 16, true) + hex(n & 0xFFFF, 4, true);
  }
  Response envelope(int status, const json& data, const std::string& code = "ok", const std::string& message = "") {
    return json_response(
        status, {{"data", data}, {"error", {{"code", code}, {"message", message}, {"log_id", next_log_id()}}}});
  }
  Response ok(const json& data) { return envelope(200, data); }
  Response api_error(int status, const std::string& code, const std::string& message) {
    return envelope(status, json::object(), code, message);
  }
  Response invalid(const std::string& message) { return api_error(400, "invalid_params", message); }
  Response token_invalid() {
    return api_error(401, "access_token_invalid",
                     "The access token is invalid or not found in the request. Refresh the token and retry.");
  }
  Response shaped(int status) {
    switch (status) {
      case 400:
        return invalid("The request parameters are invalid.");
      case 401:
        return token_invalid();
      case 403:
        return api_error(403, "forbidden", "The request is not allowed.");
      case 404:
        return api_error(404, "not_found", "Not found.");
      case 416:
        return api_error(416, "range_not_satisfiable", "Content-Range does not match the upload progress.");
      case 429:
        return api_error(429, "rate_limit_exceeded", "Too many requests. Please retry later.");
      default:
        if (status >= 500) return api_error(status, "internal_error", "Something went wrong. Please retry.");
        return api_error(status, "invalid_params", "The request is invalid.");
    }
  }
  Response oauth_error(int status, const std::string& error, const std::string& description) {
    return json_response(status, {{"error", error}, {"error_description", description}, {"log_id", next_log_id()}});
  }
  // OAuth refusals come with HTTP 200 by default (limits.oauth_error_status): clients must read the body.
  Response oauth_refusal(const std::string& error, const std::string& description) {
    return oauth_error(limits_.oauth_error_status, error, description);
  }
  Response shaped_oauth(int status) {
    if (status == 429) return oauth_error(429, "rate_limit_exceeded", "Too many requests");
    if (status >= 500) return oauth_error(status, "server_error", "Internal server error");
    if (status == 401) return oauth_error(status, "invalid_client", "Client authentication failed");
    return oauth_error(status, "invalid_request", "The request is invalid");
  }
  Response unknown(Request&) { return api_error(404, "not_found", "No such endpoint."); }

  // ---- the model --------------------------------------------------------------------------------------

  void reset() {
    apps_.clear();
    users_.clear();
    tokens_.clear();
    codes_.clear();
    publishes_.clear();
    windows_.clear();
    limits_ = Limits{};
    App app;
    app.client_key = kClientKey;
    app.client_secret = kClientSecret;
    apps_[app.client_key] = app;
    // The core's connected TikTok accounts (demo-tiktok) are this app's users, with their tokens.
    for (auto it = core_.accounts().begin(); it != core_.accounts().end(); ++it) {
      const json& a = it.value();
      if (a.value("platform", "") != "tiktok") continue;
      User u;
      u.open_id = a.value("platform_account_id", "");
      u.union_id = "union-" + u.open_id;
      u.username = a.value("username", u.username);
      u.account_key = it.key();
      users_[u.open_id] = u;
      if (apps_[kClientKey].default_open_id.empty()) apps_[kClientKey].default_open_id = u.open_id;
      std::vector<std::string> scopes = a.value("scopes", std::vector<std::string>{});
      auto expiry = [&](const char* field, std::int64_t fallback) {
        const auto& v = a.contains(field) ? a[field] : json();
        if (!v.is_string()) return fallback;
        return parse_rfc3339_ms(v.get<std::string>()).value_or(fallback);
      };
      const auto now = core_.clock().now_ms();
      if (a.value("access_token", json()).is_string())
        add_token(a["access_token"].get<std::string>(), "access", kClientKey, u.open_id, scopes,
                  expiry("access_token_expires_at", now + 2 * kHourMs));
      if (a.value("refresh_token", json()).is_string())
        add_token(a["refresh_token"].get<std::string>(), "refresh", kClientKey, u.open_id, scopes,
                  expiry("refresh_token_expires_at", now + 180 * kDayMs));
    }
  }

  Token& add_token(const std::string& value, const std::string& kind, const std::string& client_key,
                   const std::string& open_id, const std::vector<std::string>& scopes, std::int64_t expires_ms) {
    Token t;
    t.token = value;
    t.kind = kind;
    t.client_key = client_key;
    t.open_id = open_id;
    t.scopes = scopes;
    t.issued_ms = core_.clock().now_ms();
    t.expires_ms = expires_ms;
    tokens_[value] = t;
    return tokens_[value];
  }

  std::string new_secret(const char* prefix) {
    const auto a = mix(++id_counter_ ^ 0x5EC4E70000000000ULL);
    const auto b = mix(a ^ 0x5DEECE66DULL);
    return std::string(prefix) + hex(a, 16, false) + hex(b, 16, false);
  }

  // A fresh access + refresh pair; mirrored into the core's account record (tests and the token issue
  // read it there).
  json issue_pair(const App& app, const std::string& open_id, const std::vector<std::string>& scopes) {
    const auto now = core_.clock().now_ms();
    const auto& access =
        add_token(new_secret("act.sbx"), "access", app.client_key, open_id, scopes, now + app.access_ttl_s * 1000);
    const auto& refresh =
        add_token(new_secret("rft.sbx"), "refresh", app.client_key, open_id, scopes, now + app.refresh_ttl_s * 1000);
    mirror_account(open_id, access, refresh);
    return {{"access_token", access.token},
            {"expires_in", app.access_ttl_s},
            {"open_id", open_id},
            {"refresh_expires_in", app.refresh_ttl_s},
            {"refresh_token", refresh.token},
            {"scope", join_commas(scopes)},
            {"token_type", "Bearer"}};
  }

  void mirror_account(const std::string& open_id, const Token& access, const Token& refresh) {
    auto u = users_.find(open_id);
    if (u == users_.end() || u->second.account_key.empty() || !core_.accounts().contains(u->second.account_key)) return;
    auto& record = core_.accounts()[u->second.account_key];
    record["status"] = "connected";
    record["access_token"] = access.token;
    record["access_token_expires_at"] = format_rfc3339_ms(access.expires_ms);
    record["refresh_token"] = refresh.token;
    record["refresh_token_expires_at"] = format_rfc3339_ms(refresh.expires_ms);
    record["scopes"] = access.scopes;
  }

  // The caller of an access-token API: its token, user and app.
  struct Caller {
    Token* token = nullptr;
    User* user = nullptr;
  };

  // 401 unless the Bearer token is a live access token holding one of `scopes` (none: any token).
  std::optional<Response> authenticate(const Request& r, Caller& caller, const std::vector<std::string>& scopes) {
    const auto value = bearer_token(r);
    auto it = tokens_.find(value);
    if (value.empty() || it == tokens_.end() || it->second.kind != "access" || it->second.revoked ||
        it->second.expires_ms <= core_.clock().now_ms())
      return token_invalid();
    auto u = users_.find(it->second.open_id);
    if (u == users_.end()) return token_invalid();
    caller.token = &it->second;
    caller.user = &u->second;
    if (scopes.empty()) return std::nullopt;
    for (const auto& s : scopes)
      if (has_scope(*caller.token, s)) return std::nullopt;
    return api_error(401, "scope_not_authorized",
                     "The user did not authorize the scope required for completing this request.");
  }
  static bool has_scope(const Token& t, const std::string& scope) {
    return std::find(t.scopes.begin(), t.scopes.end(), scope) != t.scopes.end();
  }

  // Sliding one-minute window per key; false (and nothing counted) when `limit` is reached.
  bool admit(const std::string& key, std::int64_t limit) {
    if (limit <= 0) return true;
    const auto now = core_.clock().now_ms();
    auto& window = windows_[key];
    while (!window.empty() && window.front() <= now - kMinuteMs) window.pop_front();
    if (static_cast<std::int64_t>(window.size()) >= limit) return false;
    window.push_back(now);
    return true;
  }
  Response throttled() {
    return api_error(429, "rate_limit_exceeded",
                     "The API rate limit was exceeded. Please try again after the rate limit window resets.");
  }

  std::string base_url(const Request& r) const {
    auto self = self_url_ ? self_url_() : std::string();
    const auto host = r.header("Host");
    const auto scheme = self.compare(0, 8, "https://") == 0 ? std::string("https") : std::string("http");
    // A Host with a port names the sandbox as the client reached it; without one fall back on ours.
    if (host && host->find(':') != std::string_view::npos && host->back() != ']')
      return scheme + "://" + std::string(*host);
    return self;
  }
  // "{self}" stands for the sandbox as this request reached it and as it listens (localhost or 127.0.0.1).
  bool verified(const App& app, const Request& r, const std::string& url) const {
    const std::vector<std::string> selves{base_url(r), self_url_ ? self_url_() : std::string()};
    for (const auto& pattern : app.verified_prefixes) {
      for (const auto& self : selves) {
        auto prefix = pattern;
        if (auto at = prefix.find("{self}"); at != std::string::npos) prefix.replace(at, 6, self);
        if (!prefix.empty() && url.compare(0, prefix.size(), prefix) == 0) return true;
      }
    }
    return false;
  }

  std::vector<std::string> privacy_options(const User& u) const {
    if (u.private_account) return {"FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"};
    return {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"};
  }

  // ---- OAuth ------------------------------------------------------------------------------------------

  // Approves at once as the app's default user (or ?sandbox_open_id=) and redirects with a code.
  Response authorize_page(Request& r) {
    const auto client_key = r.query_param("client_key").value_or("");
    const auto redirect_uri = r.query_param("redirect_uri").value_or("");
    const auto state = r.query_param("state").value_or("");
    auto app = apps_.find(client_key);
    if (app == apps_.end() || redirect_uri.empty() || !redirect_allowed(app->second, redirect_uri))
      return json_response(400,
                           {{"error", "invalid_request"}, {"error_description", "unknown client_key or redirect_uri"}});
    const auto sep = redirect_uri.find('?') == std::string::npos ? "?" : "&";
    auto redirect = [&](const std::string& query) {
      Response out = Response::text(302, "");
      out.set_header("Location", redirect_uri + sep + query + "&state=" + state);
      return out;
    };
    if (r.query_param("response_type").value_or("") != "code")
      return redirect("error=unsupported_response_type&error_description=response_type+must+be+code");
    const auto open_id = r.query_param("sandbox_open_id").value_or(app->second.default_open_id);
    if (r.query_param("sandbox_deny").value_or("0") == "1" || !users_.count(open_id))
      return redirect("error=access_denied&error_description=the+user+denied+access");
    const auto scopes = split_commas(r.query_param("scope").value_or(""));
    Code c;
    c.code = new_secret("sbxcode");
    c.client_key = client_key;
    c.open_id = open_id;
    c.redirect_uri = redirect_uri;
    c.scopes = scopes;
    c.code_challenge = r.query_param("code_challenge").value_or("");
    c.expires_ms = core_.clock().now_ms() + limits_.code_ttl_s * 1000;
    codes_[c.code] = c;
    return redirect("code=" + c.code + "&scopes=" + join_commas(scopes));
  }

  bool redirect_allowed(const App& app, const std::string& uri) const {
    return app.redirect_uris.empty() ||
           std::find(app.redirect_uris.begin(), app.redirect_uris.end(), uri) != app.redirect_uris.end();
  }

  // The form body, or nullopt when it is not application/x-www-form-urlencoded.
  static std::optional<std::map<std::string, std::string>> form(const Request& r) {
    const auto type = r.header("Content-Type");
    if (!type || lower(std::string(*type)).rfind("application/x-www-form-urlencoded", 0) != 0) return std::nullopt;
    std::map<std::string, std::string> out;
    for (auto& [k, v] : server::parse_query(r.body)) out.emplace(k, v);
    return out;
  }

  App* client(const std::map<std::string, std::string>& f) {
    auto key = f.find("client_key");
    auto secret = f.find("client_secret");
    if (key == f.end() || secret == f.end()) return nullptr;
    auto app = apps_.find(key->second);
    if (app == apps_.end() || app->second.client_secret != secret->second) return nullptr;
    return &app->second;
  }

  Response oauth_token(Request& r) {
    auto f = form(r);
    if (!f) return oauth_refusal("invalid_request", "Content-Type must be application/x-www-form-urlencoded");
    App* app = client(*f);
    if (!app) return oauth_refusal("invalid_client", "Client key or secret is invalid");
    const auto grant = (*f)["grant_type"];
    const auto now = core_.clock().now_ms();
    if (grant == "authorization_code") {
      auto c = codes_.find((*f)["code"]);
      if (c == codes_.end() || c->second.used || c->second.expires_ms <= now || c->second.client_key != app->client_key)
        return oauth_refusal("invalid_grant", "Authorization code is expired or invalid");
      if (c->second.redirect_uri != (*f)["redirect_uri"])
        return oauth_refusal("invalid_grant", "redirect_uri does not match the authorization request");
      if (!c->second.code_challenge.empty() && !pkce_matches((*f)["code_verifier"], c->second.code_challenge))
        return oauth_refusal("invalid_grant", "code_verifier does not match the code_challenge");
      c->second.used = true;
      return json_response(200, issue_pair(*app, c->second.open_id, c->second.scopes));
    }
    if (grant == "refresh_token") {
      auto t = tokens_.find((*f)["refresh_token"]);
      if (t == tokens_.end() || t->second.kind != "refresh" || t->second.client_key != app->client_key)
        return oauth_refusal("invalid_grant", "Refresh token is invalid or expired");
      if (t->second.used) return oauth_refusal("invalid_grant", "Refresh token was already used; use the newest one");
      if (t->second.revoked) return oauth_refusal("invalid_grant", "The user revoked access");
      if (t->second.expires_ms <= now) return oauth_refusal("invalid_grant", "Refresh token is expired");
      t->second.used = true;  // rotation: this one is spent, the answer carries its successor
      const auto open_id = t->second.open_id;
      const auto scopes = t->second.scopes;
      return json_response(200, issue_pair(*app, open_id, scopes));
    }
    if (grant == "client_credentials") return oauth_refusal("unauthorized_client", "client_credentials is not enabled");
    return oauth_refusal("unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
  }

  // Revoking the access token disconnects the app from the user: every token of theirs dies, and
  // publishes still in progress fail with auth_removed. An unknown token is answered {} (RFC 7009).
  Response oauth_revoke(Request& r) {
    auto f = form(r);
    if (!f) return oauth_refusal("invalid_request", "Content-Type must be application/x-www-form-urlencoded");
    App* app = client(*f);
    if (!app) return oauth_refusal("invalid_client", "Client key or secret is invalid");
    auto t = tokens_.find((*f)["token"]);
    if (t == tokens_.end() || t->second.client_key != app->client_key) return json_response(200, json::object());
    const auto open_id = t->second.open_id;
    for (auto& [value, token] : tokens_)
      if (token.open_id == open_id && token.client_key == app->client_key) token.revoked = true;
    for (auto& [id, p] : publishes_)
      if (p.open_id == open_id && p.client_key == app->client_key && !terminal(p)) fail(p, "auth_removed");
    auto u = users_.find(open_id);
    if (u != users_.end() && !u->second.account_key.empty() && core_.accounts().contains(u->second.account_key))
      core_.accounts()[u->second.account_key]["status"] = "revoked";
    return json_response(200, json::object());
  }

  // ---- creator_info -----------------------------------------------------------------------------------

  Response creator_info(Request& r) {
    Caller c;
    if (auto e = authenticate(r, c, {"video.publish"})) return std::move(*e);
    if (!admit("creator_info|" + c.token->token, limits_.creator_info_per_min)) return throttled();
    // Posting refusals come with HTTP 200 on purpose (section 2.2).
    if (!c.user->posting_error.empty())
      return envelope(200, json::object(), c.user->posting_error, posting_error_message(c.user->posting_error));
    return ok({{"creator_avatar_url", "https://p16-sign.tiktokcdn-us.com/sandbox/" + c.user->open_id + ".jpeg"},
               {"creator_username", c.user->username},
               {"creator_nickname", c.user->display_name},
               {"privacy_level_options", privacy_options(*c.user)},
               {"comment_disabled", c.user->comment_disabled},
               {"duet_disabled", c.user->duet_disabled},
               {"stitch_disabled", c.user->stitch_disabled},
               {"max_video_post_duration_sec", c.user->max_video_post_duration_sec}});
  }

  static std::string posting_error_message(const std::string& code) {
    if (code == "spam_risk_too_many_posts") return "The daily post cap for this user has been reached.";
    if (code == "spam_risk_user_banned_from_posting") return "The user is banned from making new posts.";
    if (code == "reached_active_user_cap") return "The daily quota of active publishing users has been reached.";
    if (code == "spam_risk_too_many_pending_share") return "The user has too many pending shares in the inbox.";
    return code;
  }

  // ---- init -------------------------------------------------------------------------------------------

  // The checks every init shares after authentication: limits, posting refusals, caps.
  std::optional<Response> may_post(const Caller& c, const std::string& bucket, const std::string& mode) {
    if (!admit(bucket + "|" + c.token->token, limits_.init_per_min)) return throttled();
    if (!c.user->posting_error.empty())
      return api_error(403, c.user->posting_error, posting_error_message(c.user->posting_error));
    const auto& app = apps_[c.token->client_key];
    if (!app.audited && !c.user->private_account)
      return api_error(403, "unaudited_client_can_only_post_to_private_accounts",
                       "Unaudited clients can only post to private accounts.");
    const auto since = core_.clock().now_ms() - kDayMs;
    std::int64_t direct = 0;
    std::int64_t pending = 0;
    for (const auto& [id, p] : publishes_) {
      if (p.open_id != c.user->open_id || p.created_ms <= since) continue;
      if (p.mode == "DIRECT_POST" && p.status == "PUBLISH_COMPLETE") ++direct;
      if (p.mode == "MEDIA_UPLOAD" && (p.status == "SEND_TO_USER_INBOX" || (!terminal(p) && p.transfer_done)))
        ++pending;
    }
    if (mode == "DIRECT_POST" && c.user->daily_post_cap > 0 && direct >= c.user->daily_post_cap)
      return api_error(403, "spam_risk_too_many_posts", posting_error_message("spam_risk_too_many_posts"));
    if (mode == "MEDIA_UPLOAD" && c.user->pending_share_cap > 0 && pending >= c.user->pending_share_cap)
      return api_error(403, "spam_risk_too_many_pending_share",
                       posting_error_message("spam_risk_too_many_pending_share"));
    return std::nullopt;
  }

  // post_info of a Direct Post: privacy level among the creator's options, title length.
  std::optional<Response> check_post_info(const User& u, const json& info, std::size_t max_title) {
    if (!info.is_object()) return invalid("post_info is required for a direct post.");
    if (!info.contains("privacy_level") || !info["privacy_level"].is_string())
      return invalid("post_info.privacy_level is required.");
    const auto options = privacy_options(u);
    const auto level = info["privacy_level"].get<std::string>();
    if (std::find(options.begin(), options.end(), level) == options.end())
      return api_error(
          403, "privacy_level_option_mismatch",
          "privacy_level must be one of the creator's privacy_level_options: " + join_commas(options) + ".");
    if (info.contains("title")) {
      if (!info["title"].is_string() || !valid_utf8(info["title"].get<std::string>()))
        return invalid("post_info.title must be a UTF-8 string.");
      if (utf16_length(info["title"].get<std::string>()) > max_title)
        return invalid("post_info.title is longer than " + std::to_string(max_title) + " characters.");
    }
    for (const char* flag : {"disable_duet", "disable_comment", "disable_stitch", "brand_content_toggle",
                             "brand_organic_toggle", "is_aigc", "auto_add_music"})
      if (info.contains(flag) && !info[flag].is_boolean())
        return invalid(std::string("post_info.") + flag + " must be a boolean.");
    return std::nullopt;
  }

  // source_info of a video: FILE_UPLOAD with the exact chunk arithmetic, or PULL_FROM_URL from a
  // verified prefix. Fills the publish's transfer fields.
  std::optional<Response> check_video_source(const Request& r, const App& app, const json& source, Publish& p) {
    if (!source.is_object() || !source.contains("source") || !source["source"].is_string())
      return invalid("source_info.source is required.");
    p.source = source["source"].get<std::string>();
    if (p.source == "PULL_FROM_URL") {
      if (!source.contains("video_url") || !source["video_url"].is_string() ||
          source["video_url"].get<std::string>().empty())
        return invalid("source_info.video_url is required for PULL_FROM_URL.");
      const auto url = source["video_url"].get<std::string>();
      if (!verified(app, r, url))
        return api_error(403, "url_ownership_unverified",
                         "The domain or URL prefix of video_url is not verified for this app.");
      p.urls = {url};
      return std::nullopt;
    }
    if (p.source != "FILE_UPLOAD") return invalid("source_info.source must be FILE_UPLOAD or PULL_FROM_URL.");
    for (const char* field : {"video_size", "chunk_size", "total_chunk_count"})
      if (!source.contains(field) || !source[field].is_number_integer())
        return invalid(std::string("source_info.") + field + " is required for FILE_UPLOAD.");
    p.video_size = source["video_size"].get<std::int64_t>();
    p.chunk_size = source["chunk_size"].get<std::int64_t>();
    p.total_chunk_count = source["total_chunk_count"].get<std::int64_t>();
    if (auto problem = chunk_problem(p.video_size, p.chunk_size, p.total_chunk_count)) return invalid(*problem);
    return std::nullopt;
  }

  std::string new_publish_id(const char* prefix) {
    ++publish_counter_;
    return std::string(prefix) + std::to_string(123456789000 + publish_counter_);
  }

  Publish& start_publish(Publish p) {
    p.created_ms = core_.clock().now_ms();
    p.status = p.source == "FILE_UPLOAD" ? "PROCESSING_UPLOAD" : "PROCESSING_DOWNLOAD";
    if (p.source == "FILE_UPLOAD") {
      p.upload_id = std::to_string(67890000 + publish_counter_);
      p.upload_token = new_secret("upl");
      p.upload_expires_ms = p.created_ms + limits_.upload_url_ttl_s * 1000;
    }
    const auto id = p.publish_id;
    auto& stored = publishes_[id];
    stored = std::move(p);
    if (stored.source == "PULL_FROM_URL") pull_next(id, 0);
    return stored;
  }

  std::string upload_url(const Request& r, const Publish& p) const {
    return base_url(r) + "/tiktok-upload/video/?upload_id=" + p.upload_id + "&upload_token=" + p.upload_token;
  }

  Response video_init(Request& r) { return video_init_common(r, "DIRECT_POST"); }
  Response inbox_init(Request& r) { return video_init_common(r, "MEDIA_UPLOAD"); }

  Response video_init_common(Request& r, const std::string& mode) {
    const bool direct = mode == "DIRECT_POST";
    Caller c;
    if (auto e = authenticate(r, c, {direct ? "video.publish" : "video.upload"})) return std::move(*e);
    if (auto e = may_post(c, direct ? "video_init" : "inbox_init", mode)) return std::move(*e);
    auto body = parse_body(r);
    if (!body || !body->is_object()) return invalid("The request body must be a JSON object.");
    Publish p;
    p.media = "video";
    p.mode = mode;
    p.client_key = c.token->client_key;
    p.open_id = c.user->open_id;
    if (direct) {
      if (auto e = check_post_info(*c.user, body->value("post_info", json()), 2200)) return std::move(*e);
      p.post_info = (*body)["post_info"];
    }
    if (auto e = check_video_source(r, apps_[p.client_key], body->value("source_info", json()), p))
      return std::move(*e);
    const bool file = p.source == "FILE_UPLOAD";
    p.publish_id = new_publish_id(direct ? (file ? "v_pub_file~v2-1." : "v_pub_url~v2.")
                                         : (file ? "v_inbox_file~v2." : "v_inbox_url~v2."));
    const auto& stored = start_publish(std::move(p));
    json data{{"publish_id", stored.publish_id}};
    if (file) data["upload_url"] = upload_url(r, stored);
    return ok(data);
  }

  Response photo_init(Request& r) {
    auto body = parse_body(r);
    const std::string mode = body && body->is_object() ? body->value("post_mode", "") : "";
    Caller c;
    const bool direct = mode == "DIRECT_POST";
    if (auto e = authenticate(r, c, {direct ? "video.publish" : "video.upload"})) return std::move(*e);
    if (auto e = may_post(c, "photo_init", mode)) return std::move(*e);
    if (!body || !body->is_object()) return invalid("The request body must be a JSON object.");
    if (mode != "DIRECT_POST" && mode != "MEDIA_UPLOAD")
      return invalid("post_mode must be DIRECT_POST or MEDIA_UPLOAD.");
    if (body->value("media_type", "") != "PHOTO") return invalid("media_type must be PHOTO.");
    Publish p;
    p.media = "photo";
    p.mode = mode;
    p.client_key = c.token->client_key;
    p.open_id = c.user->open_id;
    const json info = body->value("post_info", json::object());
    if (direct) {
      if (auto e = check_post_info(*c.user, info, 90)) return std::move(*e);
    } else if (info.contains("title") && info["title"].is_string() &&
               utf16_length(info["title"].get<std::string>()) > 90) {
      return invalid("post_info.title is longer than 90 characters.");
    }
    if (info.contains("description") &&
        (!info["description"].is_string() || utf16_length(info["description"].get<std::string>()) > 4000))
      return invalid("post_info.description must be a string of at most 4000 characters.");
    p.post_info = info;
    const json source = body->value("source_info", json());
    if (!source.is_object() || source.value("source", "") != "PULL_FROM_URL")
      return invalid("Photos are posted with source_info.source = PULL_FROM_URL only.");
    const json images = source.value("photo_images", json());
    if (!images.is_array() || images.empty() || images.size() > kMaxPhotos)
      return invalid("source_info.photo_images must hold 1 to 35 URLs.");
    for (const auto& url : images) {
      if (!url.is_string()) return invalid("source_info.photo_images must hold URLs.");
      if (!verified(apps_[p.client_key], r, url.get<std::string>()))
        return api_error(403, "url_ownership_unverified",
                         "The domain or URL prefix of a photo is not verified for this app.");
      p.urls.push_back(url.get<std::string>());
    }
    const json cover = source.value("photo_cover_index", json(0));
    if (!cover.is_number_integer() || cover.get<std::int64_t>() < 0 ||
        cover.get<std::int64_t>() >= static_cast<std::int64_t>(p.urls.size()))
      return invalid("source_info.photo_cover_index must index photo_images.");
    p.source = "PULL_FROM_URL";
    p.publish_id = new_publish_id(direct ? "p_pub_url~v2." : "p_inbox_url~v2.");
    const auto& stored = start_publish(std::move(p));
    return ok({{"publish_id", stored.publish_id}});
  }

  // ---- transfer and processing -----------------------------------------------------------------------

  static bool terminal(const Publish& p) {
    return p.status == "FAILED" || p.status == "PUBLISH_COMPLETE" || p.status == "SEND_TO_USER_INBOX";
  }

  void fail(Publish& p, const std::string& reason) {
    p.status = "FAILED";
    p.fail_reason = reason;
    p.completed_ms = core_.clock().now_ms();
  }

  // The bytes are all there: processing starts, for the user's number of status polls.
  void transfer_done(Publish& p) {
    p.transfer_done = true;
    auto u = users_.find(p.open_id);
    p.polls_left = u == users_.end() ? 0 : u->second.processing_polls;
    if (p.polls_left <= 0) finish_processing(p);
  }

  void finish_processing(Publish& p) {
    auto u = users_.find(p.open_id);
    if (u != users_.end() && !u->second.fail_next.empty()) {
      const auto reason = u->second.fail_next.front();
      u->second.fail_next.erase(u->second.fail_next.begin());
      fail(p, reason);
      return;
    }
    p.completed_ms = core_.clock().now_ms();
    if (p.mode == "MEDIA_UPLOAD") {
      p.status = "SEND_TO_USER_INBOX";
      return;
    }
    complete(p);
  }

  void complete(Publish& p) {
    p.status = "PUBLISH_COMPLETE";
    p.completed_ms = core_.clock().now_ms();
    auto u = users_.find(p.open_id);
    p.public_polls_left = u == users_.end() ? 0 : u->second.public_polls;
    if (p.public_polls_left <= 0) make_public(p);
  }

  void make_public(Publish& p) {
    if (!p.post_id.empty()) return;
    ++post_counter_;
    p.post_id = std::to_string(kFirstPostId + static_cast<std::int64_t>(post_counter_) * 1000003);
    p.stats = {static_cast<std::int64_t>(1000 * post_counter_), static_cast<std::int64_t>(100 * post_counter_),
               static_cast<std::int64_t>(10 * post_counter_), static_cast<std::int64_t>(post_counter_)};
  }

  // One status fetch has been answered: processing moves on.
  void step_after_poll(Publish& p) {
    if (p.transfer_done && (p.status == "PROCESSING_UPLOAD" || p.status == "PROCESSING_DOWNLOAD")) {
      if (--p.polls_left <= 0) finish_processing(p);
    } else if (p.status == "PUBLISH_COMPLETE" && p.post_id.empty()) {
      if (--p.public_polls_left <= 0) make_public(p);
    }
  }

  // Pulls the publish's URLs one after another for real; a failure fails the publish.
  void pull_next(const std::string& publish_id, std::size_t index) {
    auto it = publishes_.find(publish_id);
    if (it == publishes_.end()) return;
    const auto generation = generation_;
    const auto base = it->second.downloaded_bytes;
    start_pull(
        executor_, it->second.urls[index],
        [this, publish_id, generation, base](std::uint64_t bytes) {
          auto p = live(publish_id, generation);
          if (!p || p->status != "PROCESSING_DOWNLOAD") return false;  // cancelled, failed or gone
          p->downloaded_bytes = base + static_cast<std::int64_t>(bytes);
          return true;
        },
        [this, publish_id, generation, index](const PullOutcome& out) {
          auto p = live(publish_id, generation);
          if (!p || p->status != "PROCESSING_DOWNLOAD" || p->transfer_done) return;
          const bool photo = p->media == "photo";
          if (!out.ok) {
            fail(*p, photo ? "photo_pull_failed" : "video_pull_failed");
            return;
          }
          p->pull_content_type = out.content_type;
          const auto type = lower(out.content_type);
          const bool format_ok = photo ? (type.rfind("image/jpeg", 0) == 0 || type.rfind("image/webp", 0) == 0)
                                       : (type.rfind("video/mp4", 0) == 0 || type.rfind("video/quicktime", 0) == 0 ||
                                          type.rfind("video/webm", 0) == 0);
          if (!format_ok) {
            fail(*p, "file_format_check_failed");
            return;
          }
          if (index + 1 < p->urls.size()) {
            pull_next(publish_id, index + 1);
            return;
          }
          transfer_done(*p);
        });
  }

  Publish* live(const std::string& publish_id, std::uint64_t generation) {
    if (generation != generation_) return nullptr;
    auto it = publishes_.find(publish_id);
    return it == publishes_.end() ? nullptr : &it->second;
  }

  // PUT {upload_url}: one chunk, in order, with the exact size the init announced.
  Response upload_chunk(Request& r) {
    const auto upload_id = r.query_param("upload_id").value_or("");
    const auto upload_token = r.query_param("upload_token").value_or("");
    Publish* p = nullptr;
    for (auto& [id, candidate] : publishes_)
      if (!upload_id.empty() && candidate.upload_id == upload_id && candidate.upload_token == upload_token)
        p = &candidate;
    if (!p) return api_error(404, "not_found", "No upload task for this upload_url.");
    if (core_.clock().now_ms() >= p->upload_expires_ms)
      return api_error(403, "upload_url_expired", "The upload_url has expired; initialize the upload again.");
    const auto type = lower(std::string(r.header("Content-Type").value_or("")));
    if (type != "video/mp4" && type != "video/quicktime" && type != "video/webm")
      return with_range(invalid("Content-Type must be video/mp4, video/quicktime or video/webm."), *p);
    std::int64_t first = 0;
    std::int64_t last = 0;
    std::int64_t total = 0;
    if (!parse_content_range(std::string(r.header("Content-Range").value_or("")), first, last, total) ||
        total != p->video_size || last < first || last >= total)
      return with_range(invalid("Content-Range must be bytes FIRST-LAST/" + std::to_string(p->video_size) + "."), *p);
    if (last - first + 1 != static_cast<std::int64_t>(r.body.size()))
      return with_range(invalid("Content-Length does not match Content-Range."), *p);
    if (first != p->uploaded_bytes || p->transfer_done)
      return with_range(api_error(416, "range_not_satisfiable", "Content-Range does not continue the upload."), *p);
    const auto index = p->chunk_size > 0 ? first / p->chunk_size : 0;
    const bool last_chunk = index == p->total_chunk_count - 1;
    const auto expected = last_chunk ? p->video_size - index * p->chunk_size : p->chunk_size;
    if (last - first + 1 != expected)
      return with_range(
          invalid("Chunk " + std::to_string(index + 1) + " must be " + std::to_string(expected) + " bytes."), *p);
    p->uploaded_bytes = last + 1;
    p->chunks_received += 1;
    if (p->uploaded_bytes < p->video_size) return with_range(envelope(206, json::object()), *p);
    transfer_done(*p);
    return with_range(envelope(201, json::object()), *p);
  }

  // Every upload answer says how far the upload got: "bytes 0-{LAST}/{TOTAL}" (nothing yet: "bytes */TOTAL").
  static Response with_range(Response response, const Publish& p) {
    response.set_header("Content-Range", p.uploaded_bytes > 0 ? "bytes 0-" + std::to_string(p.uploaded_bytes - 1) +
                                                                    "/" + std::to_string(p.video_size)
                                                              : "bytes */" + std::to_string(p.video_size));
    return response;
  }

  // ---- status, cancel --------------------------------------------------------------------------------

  // The publish named by the body, owned by the caller; or the answer refusing it.
  std::optional<Response> owned_publish(const Request& r, const Caller& c, Publish*& p) {
    auto body = parse_body(r);
    if (!body || !body->is_object() || !body->contains("publish_id") || !(*body)["publish_id"].is_string())
      return invalid("publish_id is required.");
    auto it = publishes_.find((*body)["publish_id"].get<std::string>());
    if (it == publishes_.end()) return api_error(400, "invalid_publish_id", "The publish_id does not exist.");
    if (it->second.open_id != c.user->open_id || it->second.client_key != c.token->client_key)
      return api_error(400, "token_not_authorized_for_specified_publish_id",
                       "The access token is not authorized for this publish_id.");
    p = &it->second;
    return std::nullopt;
  }

  Response status_fetch(Request& r) {
    Caller c;
    if (auto e = authenticate(r, c, {"video.upload", "video.publish"})) return std::move(*e);
    if (!admit("status|" + c.token->token, limits_.status_per_min)) return throttled();
    Publish* p = nullptr;
    if (auto e = owned_publish(r, c, p)) return std::move(*e);
    json data{{"status", p->status}, {"publicaly_available_post_id", json::array()}};
    if (p->status == "FAILED") data["fail_reason"] = p->fail_reason;
    if (!p->post_id.empty()) data["publicaly_available_post_id"].push_back(std::stoll(p->post_id));
    if (p->source == "FILE_UPLOAD")
      data["uploaded_bytes"] = p->uploaded_bytes;
    else
      data["downloaded_bytes"] = p->downloaded_bytes;
    auto answer = ok(data);
    step_after_poll(*p);
    return answer;
  }

  Response cancel(Request& r) {
    Caller c;
    if (auto e = authenticate(r, c, {"video.upload", "video.publish"})) return std::move(*e);
    Publish* p = nullptr;
    if (auto e = owned_publish(r, c, p)) return std::move(*e);
    if (p->source != "PULL_FROM_URL" || p->status != "PROCESSING_DOWNLOAD" || p->transfer_done)
      return api_error(400, "publish_not_cancellable", "Only a PULL_FROM_URL download in progress can be cancelled.");
    fail(*p, "publish_cancelled");
    return ok(json::object());
  }

  // ---- Display API ------------------------------------------------------------------------------------

  Response user_info(Request& r) {
    Caller c;
    if (auto e = authenticate(r, c, {})) return std::move(*e);
    if (!admit("user_info|" + c.token->client_key, limits_.display_per_min)) return throttled();
    const auto fields = split_commas(r.query_param("fields").value_or(""));
    if (fields.empty()) return invalid("fields is required.");
    const User& u = *c.user;
    std::int64_t own_posts = 0;
    for (const auto& [id, p] : publishes_)
      if (p.open_id == u.open_id && !p.post_id.empty()) ++own_posts;
    const json all{{"open_id", u.open_id},
                   {"union_id", u.union_id},
                   {"avatar_url", "https://p16-sign.tiktokcdn-us.com/sandbox/" + u.open_id + ".jpeg"},
                   {"avatar_url_100", "https://p16-sign.tiktokcdn-us.com/sandbox/" + u.open_id + "~100.jpeg"},
                   {"avatar_large_url", "https://p16-sign.tiktokcdn-us.com/sandbox/" + u.open_id + "~1080.jpeg"},
                   {"display_name", u.display_name},
                   {"bio_description", u.bio_description},
                   {"profile_deep_link", "https://vm.tiktok.com/sandbox-" + u.username},
                   {"is_verified", u.is_verified},
                   {"username", u.username},
                   {"follower_count", u.follower_count},
                   {"following_count", u.following_count},
                   {"likes_count", u.likes_count},
                   {"video_count", u.video_count + own_posts}};
    static const std::map<std::string, std::string> kScopeOf{
        {"open_id", "user.info.basic"},           {"union_id", "user.info.basic"},
        {"avatar_url", "user.info.basic"},        {"avatar_url_100", "user.info.basic"},
        {"avatar_large_url", "user.info.basic"},  {"display_name", "user.info.basic"},
        {"bio_description", "user.info.profile"}, {"profile_deep_link", "user.info.profile"},
        {"is_verified", "user.info.profile"},     {"username", "user.info.profile"},
        {"follower_count", "user.info.stats"},    {"following_count", "user.info.stats"},
        {"likes_count", "user.info.stats"},       {"video_count", "user.info.stats"}};
    json user = json::object();
    for (const auto& f : fields) {
      auto scope = kScopeOf.find(f);
      if (scope == kScopeOf.end()) return invalid("Unknown field: " + excerpt(f, 40) + ".");
      if (!has_scope(*c.token, scope->second))
        return api_error(401, "scope_permission_missed",
                         "The field " + f + " needs the scope " + scope->second + ", which the user did not grant.");
      user[f] = all[f];
    }
    return ok({{"user", user}});
  }

  std::optional<Response> video_fields(const Request& r, std::vector<std::string>& fields) {
    fields = split_commas(r.query_param("fields").value_or(""));
    if (fields.empty()) return invalid("fields is required.");
    for (const auto& f : fields)
      if (!is_video_field(f)) return invalid("Unknown field: " + excerpt(f, 40) + ".");
    return std::nullopt;
  }

  json video_object(const Publish& p, const std::vector<std::string>& fields) const {
    const auto title = p.post_info.value("title", std::string());
    const auto share = "https://www.tiktok.com/@sandbox/video/" + p.post_id;
    const json all{{"id", p.post_id},
                   {"create_time", p.completed_ms / 1000},
                   {"cover_image_url", "https://p16-sign.tiktokcdn-us.com/sandbox/cover-" + p.post_id + ".jpeg"},
                   {"share_url", share},
                   {"video_description", title.substr(0, std::min<std::size_t>(title.size(), 150))},
                   {"duration", 5},
                   {"height", 1920},
                   {"width", 1080},
                   {"title", title.substr(0, std::min<std::size_t>(title.size(), 150))},
                   {"embed_html", "<blockquote class=\"tiktok-embed\" cite=\"" + share + "\"></blockquote>"},
                   {"embed_link", "https://www.tiktok.com/embed/v2/" + p.post_id},
                   {"like_count", p.stats.like_count},
                   {"comment_count", p.stats.comment_count},
                   {"share_count", p.stats.share_count},
                   {"view_count", p.stats.view_count},
                   {"is_aigc", p.post_info.value("is_aigc", false)}};
    json out = json::object();
    for (const auto& f : fields) out[f] = all[f];
    return out;
  }

  Response video_query(Request& r) {
    Caller c;
    if (auto e = authenticate(r, c, {"video.list"})) return std::move(*e);
    if (!admit("video_query|" + c.token->client_key, limits_.display_per_min)) return throttled();
    std::vector<std::string> fields;
    if (auto e = video_fields(r, fields)) return std::move(*e);
    auto body = parse_body(r);
    if (!body || !body->is_object()) return invalid("The request body must be a JSON object.");
    const json ids = body->value("filters", json::object()).value("video_ids", json());
    if (!ids.is_array() || ids.empty()) return invalid("filters.video_ids is required.");
    if (ids.size() > kMaxVideoIds) return invalid("At most 20 video_ids per request.");
    json videos = json::array();
    for (const auto& id : ids) {
      if (!id.is_string()) return invalid("filters.video_ids must be strings.");
      for (const auto& [key, p] : publishes_)
        if (p.post_id == id.get<std::string>() && p.open_id == c.user->open_id)
          videos.push_back(video_object(p, fields));
    }
    return ok({{"videos", videos}});
  }

  Response video_list(Request& r) {
    Caller c;
    if (auto e = authenticate(r, c, {"video.list"})) return std::move(*e);
    if (!admit("video_list|" + c.token->client_key, limits_.display_per_min)) return throttled();
    std::vector<std::string> fields;
    if (auto e = video_fields(r, fields)) return std::move(*e);
    auto body = parse_body(r);
    const json request = body && body->is_object() ? *body : json::object();
    const auto max_count = std::clamp<std::int64_t>(request.value("max_count", 20), 1, 20);
    const auto cursor = request.value("cursor", std::int64_t{0});
    std::vector<const Publish*> mine;
    for (const auto& [key, p] : publishes_)
      if (p.open_id == c.user->open_id && !p.post_id.empty()) mine.push_back(&p);
    std::sort(mine.begin(), mine.end(), [](const Publish* a, const Publish* b) { return a->post_id > b->post_id; });
    json videos = json::array();
    std::int64_t i = cursor;
    for (; i < static_cast<std::int64_t>(mine.size()) && i < cursor + max_count; ++i)
      videos.push_back(video_object(*mine[static_cast<std::size_t>(i)], fields));
    return ok({{"videos", videos}, {"cursor", i}, {"has_more", i < static_cast<std::int64_t>(mine.size())}});
  }

  // ---- test controls (/_sandbox/tiktok/...) ------------------------------------------------------------

  json publish_json(const Publish& p) const {
    json j = p;
    j.erase("upload_token");
    return j;
  }

  json summary() const {
    json apps = json::object();
    for (const auto& [k, a] : apps_) apps[k] = a;
    json users = json::object();
    for (const auto& [k, u] : users_) users[k] = u;
    json publishes = json::array();
    for (const auto& [k, p] : publishes_) publishes.push_back(publish_json(p));
    return {
        {"limits", limits_}, {"apps", apps}, {"users", users}, {"tokens", tokens_.size()}, {"publishes", publishes}};
  }

  static Response bad(const std::string& message) { return json_response(400, {{"error", message}}); }

  // Merges a JSON patch into a struct through its JSON form.
  template <typename T>
  static bool patch(T& target, const json& body, std::string& error) {
    json merged = target;
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (!merged.contains(it.key())) {
        error = "unknown field " + it.key();
        return false;
      }
      merged[it.key()] = it.value();
    }
    try {
      target = merged.get<T>();
    } catch (const json::exception&) {
      error = "a field has the wrong type";
      return false;
    }
    return true;
  }

  std::optional<json> object_body(const Request& r) {
    auto body = parse_body(r);
    if (!body || !body->is_object()) return std::nullopt;
    return body;
  }

  void install_admin() {
    core_.admin_route("GET", "/tiktok", [this](Request&) { return json_response(200, summary()); });
    core_.admin_route("POST", "/tiktok/reset", [this](Request&) {
      ++generation_;
      reset();
      return json_response(200, summary());
    });
    core_.admin_route("POST", "/tiktok/limits", [this](Request& r) {
      auto body = object_body(r);
      std::string error;
      if (!body || !patch(limits_, *body, error)) return bad(body ? error : "body must be a JSON object");
      return json_response(200, limits_);
    });
    // Creates or changes an app: {client_secret, verified_prefixes, redirect_uris, audited, ttls...}.
    core_.admin_route("PUT", "/tiktok/apps/{key}", [this](Request& r) {
      auto body = object_body(r);
      if (!body) return bad("body must be a JSON object");
      App app = apps_.count(r.params["key"]) ? apps_[r.params["key"]] : App{};
      app.client_key = r.params["key"];
      std::string error;
      if (!patch(app, *body, error)) return bad(error);
      if (app.client_secret.empty()) return bad("client_secret is required");
      apps_[app.client_key] = app;
      return json_response(200, app);
    });
    // Creates or changes a user (a TikTok account): creator settings, caps, how publishes end.
    core_.admin_route("PUT", "/tiktok/users/{open_id}", [this](Request& r) {
      auto body = object_body(r);
      if (!body) return bad("body must be a JSON object");
      const auto open_id = r.params["open_id"];
      User u = users_.count(open_id) ? users_[open_id] : User{};
      u.open_id = open_id;
      if (u.union_id.empty()) u.union_id = "union-" + open_id;
      std::string error;
      if (!patch(u, *body, error)) return bad(error);
      if (!u.posting_error.empty() && !is_posting_error(u.posting_error))
        return bad(
            "posting_error must be empty or one of spam_risk_too_many_posts, "
            "spam_risk_user_banned_from_posting, reached_active_user_cap");
      for (const auto& reason : u.fail_next)
        if (!is_fail_reason(reason)) return bad("fail_next: unknown fail_reason " + reason);
      users_[open_id] = u;
      return json_response(200, u);
    });
    // Issues a token pair as a code exchange would: {client_key?, open_id, scopes?: [...]}.
    core_.admin_route("POST", "/tiktok/tokens", [this](Request& r) {
      auto body = object_body(r);
      if (!body) return bad("body must be a JSON object");
      const auto app = apps_.find(body->value("client_key", std::string(kClientKey)));
      if (app == apps_.end()) return bad("no such app");
      const auto open_id = body->value("open_id", std::string());
      if (!users_.count(open_id)) return bad("no such user (PUT /_sandbox/tiktok/users/{open_id} first)");
      const auto scopes =
          body->value("scopes", std::vector<std::string>{"user.info.basic", "user.info.profile", "user.info.stats",
                                                         "video.publish", "video.upload", "video.list"});
      return json_response(201, issue_pair(app->second, open_id, scopes));
    });
    // Seeds an authorization code: {client_key?, open_id, redirect_uri, scopes?, code?, code_challenge?}.
    core_.admin_route("POST", "/tiktok/codes", [this](Request& r) {
      auto body = object_body(r);
      if (!body) return bad("body must be a JSON object");
      Code c;
      c.client_key = body->value("client_key", std::string(kClientKey));
      c.open_id = body->value("open_id", std::string());
      c.redirect_uri = body->value("redirect_uri", std::string());
      c.scopes = body->value(
          "scopes", std::vector<std::string>{"user.info.basic", "video.publish", "video.upload", "video.list"});
      c.code = body->value("code", new_secret("sbxcode"));
      c.code_challenge = body->value("code_challenge", std::string());
      c.expires_ms = core_.clock().now_ms() + limits_.code_ttl_s * 1000;
      if (!apps_.count(c.client_key) || !users_.count(c.open_id)) return bad("no such app or user");
      codes_[c.code] = c;
      return json_response(201, {{"code", c.code}, {"expires_at", format_rfc3339_ms(c.expires_ms)}});
    });
    // Ends a token now: {token}. (Letting time pass on /_sandbox/clock works too.)
    core_.admin_route("POST", "/tiktok/tokens/expire", [this](Request& r) {
      auto body = object_body(r);
      if (!body) return bad("body must be a JSON object");
      auto t = tokens_.find(body->value("token", std::string()));
      if (t == tokens_.end()) return json_response(404, {{"error", "no such token"}});
      t->second.expires_ms = core_.clock().now_ms();
      return json_response(200, {{"kind", t->second.kind}, {"expires_at", format_rfc3339_ms(t->second.expires_ms)}});
    });
    // What a token is now (tests check rotation without reading secrets out of logs).
    core_.admin_route("POST", "/tiktok/tokens/inspect", [this](Request& r) {
      auto body = object_body(r);
      if (!body) return bad("body must be a JSON object");
      auto t = tokens_.find(body->value("token", std::string()));
      if (t == tokens_.end()) return json_response(404, {{"error", "no such token"}});
      json j = t->second;
      j.erase("token");
      j["live"] = !t->second.used && !t->second.revoked && t->second.expires_ms > core_.clock().now_ms();
      return json_response(200, j);
    });
    core_.admin_route("GET", "/tiktok/publishes", [this](Request&) {
      json out = json::array();
      for (const auto& [k, p] : publishes_) out.push_back(publish_json(p));
      return json_response(200, {{"publishes", out}});
    });
    core_.admin_route("GET", "/tiktok/publishes/{id}", [this](Request& r) {
      auto it = publishes_.find(r.params["id"]);
      if (it == publishes_.end()) return json_response(404, {{"error", "no such publish"}});
      return json_response(200, publish_json(it->second));
    });
    // Moves a publish on without status polls: {"to": "processed" | "inbox_posted" | "public" | "failed",
    // "fail_reason"}. processed = processing ends now (FAILED/inbox/complete as planned); inbox_posted
    // = the user finished a draft in the app; public = the public post id appears now.
    core_.admin_route("POST", "/tiktok/publishes/{id}/advance", [this](Request& r) {
      auto it = publishes_.find(r.params["id"]);
      if (it == publishes_.end()) return json_response(404, {{"error", "no such publish"}});
      auto body = object_body(r);
      if (!body) return bad("body must be a JSON object");
      Publish& p = it->second;
      const auto to = body->value("to", std::string());
      if (to == "processed") {
        if (!p.transfer_done || terminal(p))
          return json_response(409, {{"error", "not processing (transfer not done, or ended)"}});
        finish_processing(p);
      } else if (to == "inbox_posted") {
        if (p.status != "SEND_TO_USER_INBOX") return json_response(409, {{"error", "not in the user's inbox"}});
        complete(p);
      } else if (to == "public") {
        if (p.status != "PUBLISH_COMPLETE") return json_response(409, {{"error", "not PUBLISH_COMPLETE"}});
        make_public(p);
      } else if (to == "failed") {
        const auto reason = body->value("fail_reason", std::string("internal"));
        if (!is_fail_reason(reason)) return bad("unknown fail_reason");
        fail(p, reason);
      } else {
        return bad("to must be processed, inbox_posted, public or failed");
      }
      return json_response(200, publish_json(p));
    });
    // The posts on TikTok: publishes that reached PUBLISH_COMPLETE.
    core_.admin_route("GET", "/tiktok/posts", [this](Request&) {
      json out = json::array();
      for (const auto& [k, p] : publishes_) {
        if (p.status != "PUBLISH_COMPLETE") continue;
        out.push_back({{"publish_id", p.publish_id},
                       {"post_id", p.post_id.empty() ? json(nullptr) : json(p.post_id)},
                       {"open_id", p.open_id},
                       {"media", p.media},
                       {"mode", p.mode},
                       {"source", p.source},
                       {"title", p.post_info.value("title", std::string())},
                       {"privacy_level", p.post_info.value("privacy_level", std::string())},
                       {"bytes", p.source == "FILE_UPLOAD" ? p.uploaded_bytes : p.downloaded_bytes},
                       {"completed_at", format_rfc3339_ms(p.completed_ms)}});
      }
      return json_response(200, {{"posts", out}});
    });
    // Sets a public video's counters: {view_count, like_count, comment_count, share_count}.
    core_.admin_route("POST", "/tiktok/videos/{id}/stats", [this](Request& r) {
      auto body = object_body(r);
      if (!body) return bad("body must be a JSON object");
      for (auto& [k, p] : publishes_) {
        if (p.post_id != r.params["id"]) continue;
        std::string error;
        if (!patch(p.stats, *body, error)) return bad(error);
        return json_response(200, p.stats);
      }
      return json_response(404, {{"error", "no such video"}});
    });
  }

  // ---- persistence -----------------------------------------------------------------------------------

  json save() const {
    json out = summary();
    json tokens = json::array();
    for (const auto& [k, t] : tokens_) tokens.push_back(t);
    json codes = json::array();
    for (const auto& [k, c] : codes_) codes.push_back(c);
    json publishes = json::array();
    for (const auto& [k, p] : publishes_) publishes.push_back(p);
    out["tokens"] = tokens;
    out["codes"] = codes;
    out["publishes"] = publishes;
    out["counters"] = {
        {"id", id_counter_}, {"publish", publish_counter_}, {"post", post_counter_}, {"log", log_counter_}};
    return out;
  }

  void load(const json& j) {
    ++generation_;
    limits_ = j.value("limits", json::object()).get<Limits>();
    // Named locals: a range-for over items() of a temporary would outlive it.
    const json apps = j.value("apps", json::object());
    const json users = j.value("users", json::object());
    const json tokens = j.value("tokens", json::array());
    const json codes = j.value("codes", json::array());
    const json publishes = j.value("publishes", json::array());
    apps_.clear();
    for (const auto& [k, a] : apps.items()) apps_[k] = a.get<App>();
    users_.clear();
    for (const auto& [k, u] : users.items()) users_[k] = u.get<User>();
    tokens_.clear();
    for (const auto& t : tokens) tokens_[t.at("token").get<std::string>()] = t.get<Token>();
    codes_.clear();
    for (const auto& c : codes) codes_[c.at("code").get<std::string>()] = c.get<Code>();
    publishes_.clear();
    for (const auto& p : publishes) publishes_[p.at("publish_id").get<std::string>()] = p.get<Publish>();
    const json counters = j.value("counters", json::object());
    id_counter_ = counters.value("id", id_counter_);
    publish_counter_ = counters.value("publish", publish_counter_);
    post_counter_ = counters.value("post", post_counter_);
    log_counter_ = counters.value("log", log_counter_);
    // A download cut by the restart starts again.
    for (auto& [id, p] : publishes_)
      if (p.status == "PROCESSING_DOWNLOAD" && !p.transfer_done) {
        p.downloaded_bytes = 0;
        pull_next(id, 0);
      }
  }

  Core& core_;
  net::Executor executor_;
  std::function<std::string()> self_url_;
  Limits limits_;
  std::map<std::string, App> apps_;
  std::map<std::string, User> users_;
  std::map<std::string, Token> tokens_;
  std::map<std::string, Code> codes_;
  std::map<std::string, Publish> publishes_;
  std::map<std::string, std::deque<std::int64_t>> windows_;
  std::uint64_t id_counter_ = 0;
  std::uint64_t publish_counter_ = 0;
  std::uint64_t post_counter_ = 0;
  std::uint64_t log_counter_ = 0;
  std::uint64_t generation_ = 0;  // bumped by reset/load: pulls of an older generation are ignored
};

}  // namespace

std::shared_ptr<void> install(Core& core, net::Executor executor, std::function<std::string()> self_url) {
  auto emulator = std::make_shared<Emulator>(core, std::move(executor), std::move(self_url));
  emulator->install();
  return emulator;
}

}  // namespace schedulo::sandbox::tiktok
