#include "sandbox/tiktok/emulator.hpp"

#include <algorithm>

#include "common/rfc3339.hpp"
#include "sandbox/tiktok/pull.hpp"
#include "sandbox/tiktok/rules.hpp"

namespace schedulo::sandbox::tiktok {

Emulator::Emulator(Core& core, net::Executor executor, std::function<std::string()> self_url)
    : core_(core), executor_(std::move(executor)), self_url_(std::move(self_url)) {
  reset();
}

void Emulator::install() {
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

std::string Emulator::next_log_id() {
  // 14 digits of date and time, then hex, like TikTok's "202210112248442CB9319E1FB30C1073F3".
  const auto text = format_rfc3339_ms(core_.clock().now_ms());
  std::string digits;
  for (char c : text.substr(0, 19))
    if (c >= '0' && c <= '9') digits += c;
  const auto n = ++log_counter_;
  return digits + hex(mix(n ^ 0x10C1D00000000000ULL), 16, true) + hex(n & 0xFFFF, 4, true);
}

Response Emulator::envelope(int status, const json& data, const std::string& code, const std::string& message) {
  return json_response(status,
                       {{"data", data}, {"error", {{"code", code}, {"message", message}, {"log_id", next_log_id()}}}});
}

Response Emulator::ok(const json& data) {
  return envelope(200, data);
}

Response Emulator::api_error(int status, const std::string& code, const std::string& message) {
  return envelope(status, json::object(), code, message);
}

Response Emulator::invalid(const std::string& message) {
  return api_error(400, "invalid_params", message);
}

Response Emulator::token_invalid() {
  return api_error(401, "access_token_invalid",
                   "The access token is invalid or not found in the request. Refresh the token and retry.");
}

Response Emulator::shaped(int status) {
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

Response Emulator::oauth_error(int status, const std::string& error, const std::string& description) {
  return json_response(status, {{"error", error}, {"error_description", description}, {"log_id", next_log_id()}});
}

// OAuth refusals come with HTTP 200 by default (limits.oauth_error_status): clients must read the body.
Response Emulator::oauth_refusal(const std::string& error, const std::string& description) {
  return oauth_error(limits_.oauth_error_status, error, description);
}

Response Emulator::shaped_oauth(int status) {
  if (status == 429) return oauth_error(429, "rate_limit_exceeded", "Too many requests");
  if (status >= 500) return oauth_error(status, "server_error", "Internal server error");
  if (status == 401) return oauth_error(status, "invalid_client", "Client authentication failed");
  return oauth_error(status, "invalid_request", "The request is invalid");
}

Response Emulator::unknown(Request&) {
  return api_error(404, "not_found", "No such endpoint.");
}

void Emulator::reset() {
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

Token& Emulator::add_token(const std::string& value, const std::string& kind, const std::string& client_key,
                           const std::string& open_id, const std::vector<std::string>& scopes,
                           std::int64_t expires_ms) {
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

std::string Emulator::new_secret(const char* prefix) {
  const auto a = mix(++id_counter_ ^ 0x5EC4E70000000000ULL);
  const auto b = mix(a ^ 0x5DEECE66DULL);
  return std::string(prefix) + hex(a, 16, false) + hex(b, 16, false);
}

// A fresh access + refresh pair; mirrored into the core's account record (tests and the token issue
// read it there).
json Emulator::issue_pair(const App& app, const std::string& open_id, const std::vector<std::string>& scopes) {
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

void Emulator::mirror_account(const std::string& open_id, const Token& access, const Token& refresh) {
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

// 401 unless the Bearer token is a live access token holding one of `scopes` (none: any token).
std::optional<Response> Emulator::authenticate(const Request& r, Caller& caller,
                                               const std::vector<std::string>& scopes) {
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

bool Emulator::has_scope(const Token& t, const std::string& scope) {
  return std::find(t.scopes.begin(), t.scopes.end(), scope) != t.scopes.end();
}

// Sliding one-minute window per key; false (and nothing counted) when `limit` is reached.
bool Emulator::admit(const std::string& key, std::int64_t limit) {
  if (limit <= 0) return true;
  const auto now = core_.clock().now_ms();
  auto& window = windows_[key];
  while (!window.empty() && window.front() <= now - kMinuteMs) window.pop_front();
  if (static_cast<std::int64_t>(window.size()) >= limit) return false;
  window.push_back(now);
  return true;
}

Response Emulator::throttled() {
  return api_error(429, "rate_limit_exceeded",
                   "The API rate limit was exceeded. Please try again after the rate limit window resets.");
}

std::string Emulator::base_url(const Request& r) const {
  auto self = self_url_ ? self_url_() : std::string();
  const auto host = r.header("Host");
  const auto scheme = self.compare(0, 8, "https://") == 0 ? std::string("https") : std::string("http");
  // A Host with a port names the sandbox as the client reached it; without one fall back on ours.
  if (host && host->find(':') != std::string_view::npos && host->back() != ']')
    return scheme + "://" + std::string(*host);
  return self;
}

// "{self}" stands for the sandbox as this request reached it and as it listens (localhost or 127.0.0.1).
bool Emulator::verified(const App& app, const Request& r, const std::string& url) const {
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

std::vector<std::string> Emulator::privacy_options(const User& u) const {
  if (u.private_account) return {"FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"};
  return {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"};
}

json Emulator::save() const {
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

void Emulator::load(const json& j) {
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

}  // namespace schedulo::sandbox::tiktok
