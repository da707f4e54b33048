// The X emulator's frame: routes, the checks every API call passes (token, scopes, 15-minute window,
// 24-hour caps, monthly usage cap) with X's headers, X's error bodies, the test controls under
// /_sandbox/x and the persisted state.
#include "sandbox/x/emulator.hpp"

#include "sandbox/x/wire.hpp"
#include "sandbox/x/x.hpp"

namespace schedulo::sandbox::x {

// ---- persistence (every field, with defaults, so older state files still load) ---------------------
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(App, client_id, client_secret, callback_urls, bearer_token, read_cap,
                                                write_cap, reads_used, writes_used, usage_month)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(User, id, username, name, created_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AccessToken, user_id, client_id, scopes, expires_ms, grant, revoked)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RefreshToken, user_id, client_id, scopes, grant, issued_ms, used,
                                                revoked)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Metrics, public_metrics, non_public_metrics, organic_metrics)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Post, id, author_id, text, created_ms, deleted, in_reply_to_id,
                                                in_reply_to_user_id, conversation_id, media_ids, media_keys, client_id,
                                                metrics)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProcessingPlan, polls, check_after_secs, outcome, require_wait)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Segment, size, sha256)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Media, id, media_key, owner_id, client_id, media_type, category,
                                                total_bytes, additional_owners, segments, created_ms, expires_ms,
                                                finalized, state, polls_done, next_poll_ms, plan, plan_set, alt_text)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Limit, user_15min, app_15min, user_24h, app_24h)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Window, start_ms, count)

// ---- X's answers -----------------------------------------------------------------------------------

Response problem(int status, const json& body) {
  auto r = Response::typed(status, body.dump(), "application/problem+json");
  return r;
}
Response unauthorized() {
  return problem(401,
                 {{"title", "Unauthorized"}, {"type", "about:blank"}, {"status", 401}, {"detail", "Unauthorized"}});
}
Response forbidden(const std::string& detail) {
  return problem(403, {{"detail", detail}, {"type", "about:blank"}, {"title", "Forbidden"}, {"status", 403}});
}
Response too_many_requests() {
  return problem(
      429, {{"title", "Too Many Requests"}, {"detail", "Too Many Requests"}, {"type", "about:blank"}, {"status", 429}});
}
Response usage_capped() {
  return problem(429, {{"title", "UsageCapExceeded"},
                       {"detail", "Usage cap exceeded: Monthly product cap"},
                       {"type", "https://api.twitter.com/2/problems/usage-capped"},
                       {"period", "Monthly"},
                       {"scope", "Product"}});
}
Response invalid_request(const std::string& parameter, const json& value, const std::string& message) {
  json parameters = json::object();
  parameters[parameter] = json::array({value});
  return problem(400, {{"errors", json::array({{{"parameters", parameters}, {"message", message}}})},
                       {"title", "Invalid Request"},
                       {"detail", "One or more parameters to your request was invalid."},
                       {"type", "https://api.twitter.com/2/problems/invalid-request"}});
}
Response not_found(const std::string& resource_type, const std::string& parameter, const std::string& value) {
  return problem(404, {{"title", "Not Found Error"},
                       {"detail", "Could not find " + resource_type + " with " + parameter + ": [" + value + "]."},
                       {"type", "https://api.twitter.com/2/problems/resource-not-found"},
                       {"resource_type", resource_type},
                       {"parameter", parameter},
                       {"value", value},
                       {"resource_id", value}});
}
Response oauth_error(int status, const std::string& error, const std::string& description) {
  return json_response(status, {{"error", error}, {"error_description", description}});
}
Response v1_error(int status, int code, const std::string& message) {
  return json_response(status, {{"errors", json::array({{{"code", code}, {"message", message}}})}});
}

Response x_error(int status) {
  switch (status) {
    case 400:
    case 422:
      return invalid_request("body", nullptr, "The request body is not valid for this endpoint");
    case 401:
      return unauthorized();
    case 403:
      return forbidden("You are not permitted to perform this action.");
    case 404:
      return problem(404,
                     {{"title", "Not Found Error"}, {"detail", "Not Found"}, {"type", "about:blank"}, {"status", 404}});
    case 429:
      return too_many_requests();
    case 503:
      return problem(503, {{"title", "Service Unavailable"},
                           {"detail", "Service Unavailable"},
                           {"type", "about:blank"},
                           {"status", 503}});
    default: {
      const std::string title = status >= 500 ? "Internal Server Error" : "Error";
      return problem(status, {{"title", title}, {"detail", title}, {"type", "about:blank"}, {"status", status}});
    }
  }
}

std::int64_t month_of(std::int64_t ms) {
  const auto text = format_rfc3339_ms(ms);  // YYYY-MM-...
  return std::stoll(text.substr(0, 4)) * 12 + std::stoll(text.substr(5, 2));
}

namespace {

std::string epoch_seconds_ceil(std::int64_t ms) {
  return std::to_string((ms + kSecondMs - 1) / kSecondMs);
}

std::map<std::string, Limit> default_limits() {
  // platform-apis.md 3.6 (per 15 minutes unless "24h"). The per-user 24-hour cap on posts is the
  // Basic tier's 100 (legacy numbers; X says: read the headers, which is what clients must do).
  return {{"x.tweets.create", {100, 0, 100, 10000}},
          {"x.tweets.delete", {50, 0, 0, 0}},
          {"x.tweets.lookup", {5000, 3500, 0, 0}},
          {"x.tweets.get", {900, 450, 0, 0}},
          {"x.users.me", {75, 0, 0, 0}},
          {"x.users.tweets", {900, 10000, 0, 0}},
          {"x.media.upload", {500, 0, 0, 50000}},
          {"x.media.status", {1000, 0, 0, 100000}},
          {"x.media.metadata", {500, 0, 0, 50000}},
          {"x.media.initialize", {1875, 0, 0, 180000}},
          {"x.media.append", {1875, 0, 0, 180000}},
          {"x.media.finalize", {1875, 0, 0, 180000}}};
}

std::map<std::string, ProcessingPlan> default_plans() {
  // Images are ready at finalize (no processing_info); GIFs and videos are processed.
  return {{"tweet_gif", {2, 1, "succeeded", true}},
          {"dm_gif", {2, 1, "succeeded", true}},
          {"tweet_video", {3, 5, "succeeded", true}},
          {"amplify_video", {3, 5, "succeeded", true}},
          {"dm_video", {3, 5, "succeeded", true}}};
}

std::set<std::string> to_set(const json& list) {
  std::set<std::string> out;
  for (const auto& s : list) out.insert(s.get<std::string>());
  return out;
}

// The fields given replace the plan's; the others stay.
void merge_plan(const json& body, ProcessingPlan& plan) {
  plan.polls = body.value("polls", plan.polls);
  plan.check_after_secs = body.value("check_after_secs", plan.check_after_secs);
  plan.outcome = body.value("outcome", plan.outcome);
  plan.require_wait = body.value("require_wait", plan.require_wait);
}

json body_object(const Request& request) {
  auto body = parse_body(request);
  if (!body || !body->is_object()) return json::object();
  return *body;
}

}  // namespace

// ---- setup -------------------------------------------------------------------------------------------

Emulator::Emulator(Core& core) : core_(core) {
  reset();
}

void Emulator::reset() {
  apps_.clear();
  users_.clear();
  access_tokens_.clear();
  refresh_tokens_.clear();
  codes_.clear();
  posts_.clear();
  text_index_.clear();
  indexed_posts_ = 0;
  media_.clear();
  windows_.clear();
  limits_ = default_limits();
  plans_ = default_plans();
  code_ttl_secs_ = 30;
  refresh_ttl_secs_ = 0;
  const auto now = core_.clock().now_ms();
  App app;
  app.client_id = kClientId;
  app.client_secret = kClientSecret;
  app.bearer_token = "sbx-x-app-bearer-0001";
  app.usage_month = month_of(now);
  apps_.push_back(app);
  // The core's connected X accounts (demo-x) are users of this app with the tokens the core lists.
  for (const auto& [key, account] : core_.accounts().items()) {
    if (account.value("platform", "") != "x") continue;
    User user{account.value("platform_account_id", ""), account.value("username", key), "Schedulo Demo", now};
    users_.push_back(user);
    const auto scopes = to_set(account.value("scopes", json::array()));
    std::int64_t expires = now + kAccessTokenSecs * kSecondMs;
    if (account.contains("access_token_expires_at") && account["access_token_expires_at"].is_string())
      expires = parse_rfc3339_ms(account["access_token_expires_at"].get<std::string>()).value_or(expires);
    const std::string grant = "grant-" + key;
    if (account.value("access_token", json()).is_string())
      access_tokens_[account["access_token"].get<std::string>()] = {user.id, kClientId, scopes, expires, grant, false};
    if (account.value("refresh_token", json()).is_string())
      refresh_tokens_[account["refresh_token"].get<std::string>()] = {user.id, kClientId, scopes, grant,
                                                                      now,     false,     false};
  }
}

App* Emulator::find_app(const std::string& client_id) {
  for (auto& a : apps_)
    if (a.client_id == client_id) return &a;
  return nullptr;
}

User* Emulator::find_user(const std::string& id_or_username) {
  for (auto& u : users_)
    if (u.id == id_or_username || u.username == id_or_username) return &u;
  return nullptr;
}

ProcessingPlan Emulator::plan_for(const std::string& category) const {
  auto it = plans_.find(category);
  if (it == plans_.end()) return ProcessingPlan{0, 0, "succeeded", false};
  return it->second;
}

// Post and media ids are snowflakes, as X's: milliseconds since X's epoch shifted left 22 bits, made
// strictly increasing so two ids of one (frozen) millisecond still differ and sort by creation.
std::string Emulator::new_snowflake() {
  constexpr std::int64_t kTwitterEpochMs = 1288834974657;
  std::int64_t id = (std::max<std::int64_t>(core_.clock().now_ms() - kTwitterEpochMs, 0)) << 22;
  if (id <= last_snowflake_) id = last_snowflake_ + 1;
  last_snowflake_ = id;
  return std::to_string(id);
}

std::string Emulator::new_secret(const char* prefix) {
  // splitmix64 finaliser: distinct counters give distinct, unremarkable-looking tokens.
  auto mix = [](std::uint64_t v) {
    v ^= v >> 30;
    v *= 0xBF58476D1CE4E5B9ULL;
    v ^= v >> 27;
    v *= 0x94D049BB133111EBULL;
    v ^= v >> 31;
    return v;
  };
  std::string raw;
  std::uint64_t v = ++secret_counter_;
  for (int i = 0; i < 4; ++i) {
    v = mix(v + static_cast<std::uint64_t>(i));
    for (int b = 0; b < 8; ++b) raw.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
  }
  return prefix + base64url_encode(raw);
}

json Emulator::issue_tokens(const std::string& user_id, const std::string& client_id,
                            const std::set<std::string>& scopes, const std::string& grant) {
  const auto now = core_.clock().now_ms();
  const auto access = new_secret("sbx-x-at-");
  access_tokens_[access] = {user_id, client_id, scopes, now + kAccessTokenSecs * kSecondMs, grant, false};
  std::string scope_text;
  for (const auto& s : scopes) scope_text += (scope_text.empty() ? "" : " ") + s;
  json answer{
      {"token_type", "bearer"}, {"expires_in", kAccessTokenSecs}, {"access_token", access}, {"scope", scope_text}};
  if (scopes.contains("offline.access")) {
    const auto refresh = new_secret("sbx-x-rt-");
    refresh_tokens_[refresh] = {user_id, client_id, scopes, grant, now, false, false};
    answer["refresh_token"] = refresh;
  }
  return answer;
}

void Emulator::install() {
  core_.add_api({"x", x_error,
                 [this] {
                   // An injected rate_limit fault: the window is spent until 15 minutes from now.
                   auto r = too_many_requests();
                   r.set_header("x-rate-limit-limit", "100");
                   r.set_header("x-rate-limit-remaining", "0");
                   r.set_header("x-rate-limit-reset", epoch_seconds_ceil(core_.clock().now_ms() + kWindowMs));
                   return r;
                 },
                 [this] { return save(); }, [this](const json& j) { load(j); }});

  core_.route("x", "x.oauth2.authorize", "GET", "/x/i/oauth2/authorize", [this](Request& r) { return authorize(r); });
  core_.route("x", "x.oauth2.token", "POST", "/x/2/oauth2/token", [this](Request& r) { return token(r); });
  core_.route("x", "x.oauth2.revoke", "POST", "/x/2/oauth2/revoke", [this](Request& r) { return revoke(r); });

  const std::vector<std::string> write{"tweet.read", "tweet.write", "users.read"};
  const std::vector<std::string> read{"tweet.read", "users.read"};
  const std::vector<std::string> media{"media.write"};
  api({"x.tweets.create", true, write, false, true, true}, "POST", "/x/2/tweets", &Emulator::create_post);
  api({"x.tweets.lookup", false, read, true, false, false}, "GET", "/x/2/tweets", &Emulator::lookup_posts);
  api({"x.tweets.delete", true, write, false, false, false}, "DELETE", "/x/2/tweets/{id}", &Emulator::delete_post);
  api({"x.tweets.get", false, read, true, false, false}, "GET", "/x/2/tweets/{id}", &Emulator::get_post);
  api({"x.users.me", true, read, false, false, false}, "GET", "/x/2/users/me", &Emulator::users_me);
  api({"x.users.tweets", false, read, true, false, false}, "GET", "/x/2/users/{id}/tweets", &Emulator::user_posts);
  api({"x.media.initialize", true, media, false, false, false}, "POST", "/x/2/media/upload/initialize",
      &Emulator::media_initialize);
  api({"x.media.append", true, media, false, false, false}, "POST", "/x/2/media/upload/{id}/append",
      &Emulator::media_append);
  api({"x.media.finalize", true, media, false, false, false}, "POST", "/x/2/media/upload/{id}/finalize",
      &Emulator::media_finalize);
  api({"x.media.status", true, media, false, false, false}, "GET", "/x/2/media/upload", &Emulator::media_status);
  api({"x.media.upload", true, media, false, false, false}, "POST", "/x/2/media/upload", &Emulator::media_upload);
  api({"x.media.metadata", true, media, false, false, false}, "POST", "/x/2/media/metadata", &Emulator::media_metadata);
  for (const char* method : {"GET", "POST"})
    core_.route("x", "x.media.upload_v1", method, "/x/1.1/media/upload.json",
                [this](Request& r) { return media_upload_v1(r); });
  // Anything else under /x: X's answer for a page that does not exist (the older errors[] shape).
  core_.route("x", "x.unknown", "*", "/x/*",
              [](Request&) { return v1_error(404, 34, "Sorry, that page does not exist"); });
  add_admin_routes();
}

void Emulator::api(const RouteSpec& spec, const std::string& method, const std::string& pattern, Handler handler) {
  core_.route("x", spec.name, method, pattern, [this, spec, handler](Request& r) { return guarded(spec, handler, r); });
}

// ---- the checks every API call passes ------------------------------------------------------------------

std::optional<Response> Emulator::authenticate(const RouteSpec& spec, Request& request, Caller& caller) {
  const auto presented = bearer_token(request);
  if (presented.empty()) return unauthorized();
  if (auto it = access_tokens_.find(presented); it != access_tokens_.end()) {
    const AccessToken& t = it->second;
    if (t.revoked || core_.clock().now_ms() >= t.expires_ms) return unauthorized();
    caller.user = find_user(t.user_id);
    caller.app = find_app(t.client_id);
    caller.token = &t;
    if (!caller.user || !caller.app) return unauthorized();
    for (const auto& scope : spec.scopes)
      if (!t.scopes.contains(scope)) return forbidden("You are not permitted to perform this action.");
    return std::nullopt;
  }
  for (auto& app : apps_) {
    if (app.bearer_token.empty() || app.bearer_token != presented) continue;
    if (spec.user_only)
      return problem(403, {{"title", "Unsupported Authentication"},
                           {"detail",
                            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
                            "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."},
                           {"type", "https://api.twitter.com/2/problems/unsupported-authentication"},
                           {"status", 403}});
    caller.app = &app;
    return std::nullopt;
  }
  return unauthorized();
}

Window& Emulator::window(const std::string& key, std::int64_t length_ms) {
  Window& w = windows_[key];
  const auto now = core_.clock().now_ms();
  if (w.start_ms < 0 || now >= w.start_ms + length_ms) {
    w.start_ms = now;
    w.count = 0;
  }
  return w;
}

namespace {
std::string who(const Caller& caller) {
  return caller.app_only() ? "app:" + caller.app->client_id : "user:" + caller.user->id;
}
}  // namespace

void Emulator::limit_headers(Response& response, const RouteSpec& spec, const Caller& caller, bool show_daily) {
  const Limit limit = limits_.contains(spec.name) ? limits_[spec.name] : Limit{};
  const auto per_window = caller.app_only() ? limit.app_15min : limit.user_15min;
  if (per_window > 0) {
    const Window& w = window(spec.name + "|15m|" + who(caller), kWindowMs);
    response.set_header("x-rate-limit-limit", std::to_string(per_window));
    response.set_header("x-rate-limit-remaining", std::to_string(std::max<std::int64_t>(per_window - w.count, 0)));
    response.set_header("x-rate-limit-reset", epoch_seconds_ceil(w.start_ms + kWindowMs));
  }
  if (!spec.daily_headers && !show_daily) return;
  if (limit.user_24h > 0 && !caller.app_only()) {
    const Window& w = window(spec.name + "|24h|user:" + caller.user->id, kDayMs);
    response.set_header("x-user-limit-24hour-limit", std::to_string(limit.user_24h));
    response.set_header("x-user-limit-24hour-remaining",
                        std::to_string(std::max<std::int64_t>(limit.user_24h - w.count, 0)));
    response.set_header("x-user-limit-24hour-reset", epoch_seconds_ceil(w.start_ms + kDayMs));
  }
  if (limit.app_24h > 0) {
    const Window& w = window(spec.name + "|24h|app:" + caller.app->client_id, kDayMs);
    response.set_header("x-app-limit-24hour-limit", std::to_string(limit.app_24h));
    response.set_header("x-app-limit-24hour-remaining",
                        std::to_string(std::max<std::int64_t>(limit.app_24h - w.count, 0)));
    response.set_header("x-app-limit-24hour-reset", epoch_seconds_ceil(w.start_ms + kDayMs));
  }
}

void Emulator::roll_usage(App& app) {
  const auto month = month_of(core_.clock().now_ms());
  if (app.usage_month == month) return;
  app.usage_month = month;
  app.reads_used = 0;
  app.writes_used = 0;
}

// Auth, then the 15-minute window (429 with remaining 0), then the 24-hour caps and the monthly usage
// cap (429s whose x-rate-limit-remaining is not 0: a client must read the other headers and the body),
// then the endpoint. Every request that passes the window counts in it; the 24-hour caps count what
// succeeded (posts made, media accepted).
Response Emulator::guarded(const RouteSpec& spec, Handler handler, Request& request) {
  Caller caller;
  if (auto denied = authenticate(spec, request, caller)) return std::move(*denied);
  App& app = *caller.app;
  roll_usage(app);
  const Limit limit = limits_.contains(spec.name) ? limits_[spec.name] : Limit{};
  const auto per_window = caller.app_only() ? limit.app_15min : limit.user_15min;
  Window& w15 = window(spec.name + "|15m|" + who(caller), kWindowMs);
  if (per_window > 0 && w15.count >= per_window) {
    auto r = too_many_requests();
    limit_headers(r, spec, caller, false);
    return r;
  }
  ++w15.count;
  const bool user_day_spent = limit.user_24h > 0 && !caller.app_only() &&
                              window(spec.name + "|24h|user:" + caller.user->id, kDayMs).count >= limit.user_24h;
  const bool app_day_spent =
      limit.app_24h > 0 && window(spec.name + "|24h|app:" + app.client_id, kDayMs).count >= limit.app_24h;
  if (user_day_spent || app_day_spent) {
    auto r = too_many_requests();
    limit_headers(r, spec, caller, true);
    return r;
  }
  if ((spec.usage_read && app.read_cap > 0 && app.reads_used >= app.read_cap) ||
      (spec.usage_write && app.write_cap > 0 && app.writes_used >= app.write_cap)) {
    auto r = usage_capped();
    limit_headers(r, spec, caller, false);
    return r;
  }
  Response r = (this->*handler)(request, caller);
  if (r.status < 400) {
    if (limit.user_24h > 0 && !caller.app_only()) ++window(spec.name + "|24h|user:" + caller.user->id, kDayMs).count;
    if (limit.app_24h > 0) ++window(spec.name + "|24h|app:" + app.client_id, kDayMs).count;
  }
  limit_headers(r, spec, caller, false);
  return r;
}

// ---- test controls (/_sandbox/x/...) ---------------------------------------------------------------------

json Emulator::summary() const {
  json apps = json::array();
  for (const auto& a : apps_)
    apps.push_back({{"client_id", a.client_id},
                    {"confidential", !a.client_secret.empty()},
                    {"callback_urls", a.callback_urls},
                    {"read_cap", a.read_cap},
                    {"reads_used", a.reads_used},
                    {"write_cap", a.write_cap},
                    {"writes_used", a.writes_used}});
  json users = json::array();
  for (const auto& u : users_) users.push_back({{"id", u.id}, {"username", u.username}, {"name", u.name}});
  std::size_t live = 0;
  for (const auto& p : posts_) live += p.deleted ? 0 : 1;
  return {{"apps", apps},
          {"users", users},
          {"posts", live},
          {"media", media_.size()},
          {"code_ttl_secs", code_ttl_secs_},
          {"refresh_token_ttl_secs", refresh_ttl_secs_}};
}

void Emulator::add_admin_routes() {
  core_.admin_route("GET", "/x", [this](Request&) { return json_response(200, summary()); });
  core_.admin_route("POST", "/x/reset", [this](Request&) {
    reset();
    core_.save_state();
    return json_response(200, summary());
  });
  // {"code_ttl_secs": N, "refresh_token_ttl_secs": N (0: never)}
  core_.admin_route("POST", "/x/settings", [this](Request& r) {
    const auto body = body_object(r);
    code_ttl_secs_ = body.value("code_ttl_secs", code_ttl_secs_);
    refresh_ttl_secs_ = body.value("refresh_token_ttl_secs", refresh_ttl_secs_);
    core_.save_state();
    return json_response(200, summary());
  });

  // {"client_id", "client_secret" (absent: public client), "callback_urls": [..], "bearer_token"}
  core_.admin_route("POST", "/x/apps", [this](Request& r) {
    const auto body = body_object(r);
    if (!body.contains("client_id")) return json_response(400, {{"error", "client_id is required"}});
    App app;
    app.client_id = body["client_id"].get<std::string>();
    app.client_secret = body.value("client_secret", "");
    app.callback_urls = body.value("callback_urls", std::vector<std::string>{});
    app.bearer_token = body.value("bearer_token", "");
    app.usage_month = month_of(core_.clock().now_ms());
    if (App* old = find_app(app.client_id))
      *old = app;
    else
      apps_.push_back(app);
    core_.save_state();
    return json_response(201, {{"client_id", app.client_id}, {"confidential", !app.client_secret.empty()}});
  });

  // A user (made when new) with tokens issued for an app: {"id"?, "username", "name"?, "client_id"?,
  // "scopes"?: [..], "access_token"?, "refresh_token"?, "expires_in"?}. Answers the token response.
  core_.admin_route("POST", "/x/users", [this](Request& r) {
    const auto body = body_object(r);
    const auto username = body.value("username", "");
    if (username.empty()) return json_response(400, {{"error", "username is required"}});
    User* user = find_user(body.value("id", username));
    if (!user) user = find_user(username);
    if (!user) {
      users_.push_back(
          {body.value("id", new_snowflake()), username, body.value("name", username), core_.clock().now_ms()});
      user = &users_.back();
    }
    const auto client_id = body.value("client_id", std::string(kClientId));
    if (!find_app(client_id)) return json_response(400, {{"error", "no such app " + client_id}});
    std::set<std::string> scopes{"tweet.read", "tweet.write", "users.read", "offline.access", "media.write"};
    if (body.contains("scopes")) scopes = to_set(body["scopes"]);
    const auto grant = new_secret("grant-");
    json tokens = issue_tokens(user->id, client_id, scopes, grant);
    // Chosen token strings replace the generated ones (tests that want to know them in advance).
    if (body.contains("access_token")) {
      auto node = access_tokens_.extract(tokens["access_token"].get<std::string>());
      node.key() = body["access_token"].get<std::string>();
      access_tokens_.erase(node.key());  // a chosen token seeded again moves to this user
      access_tokens_.insert(std::move(node));
      tokens["access_token"] = body["access_token"];
    }
    if (body.contains("refresh_token") && tokens.contains("refresh_token")) {
      auto node = refresh_tokens_.extract(tokens["refresh_token"].get<std::string>());
      node.key() = body["refresh_token"].get<std::string>();
      refresh_tokens_.erase(node.key());
      refresh_tokens_.insert(std::move(node));
      tokens["refresh_token"] = body["refresh_token"];
    }
    if (body.contains("expires_in")) {
      const auto secs = body["expires_in"].get<std::int64_t>();
      access_tokens_[tokens["access_token"].get<std::string>()].expires_ms = core_.clock().now_ms() + secs * kSecondMs;
      tokens["expires_in"] = secs;
    }
    core_.save_state();
    return json_response(201, {{"user", render_user(*user, {"created_at"})}, {"tokens", tokens}});
  });

  // Expire access tokens now: {"access_token": ".."} or {"user_id": ".."} (all of that user's).
  core_.admin_route("POST", "/x/tokens/expire", [this](Request& r) {
    const auto body = body_object(r);
    const auto now = core_.clock().now_ms();
    int expired = 0;
    for (auto& [value, t] : access_tokens_) {
      if (value == body.value("access_token", "") || t.user_id == body.value("user_id", "")) {
        t.expires_ms = std::min(t.expires_ms, now);
        ++expired;
      }
    }
    core_.save_state();
    return json_response(200, {{"expired", expired}});
  });
  // What became of a token (tests of rotation and revocation): {"token": ".."}.
  core_.admin_route("POST", "/x/tokens/inspect", [this](Request& r) {
    const auto value = body_object(r).value("token", "");
    if (auto it = access_tokens_.find(value); it != access_tokens_.end())
      return json_response(200, {{"kind", "access_token"},
                                 {"user_id", it->second.user_id},
                                 {"revoked", it->second.revoked},
                                 {"expired", core_.clock().now_ms() >= it->second.expires_ms},
                                 {"expires_at", format_rfc3339_ms(it->second.expires_ms)}});
    if (auto it = refresh_tokens_.find(value); it != refresh_tokens_.end())
      return json_response(200, {{"kind", "refresh_token"},
                                 {"user_id", it->second.user_id},
                                 {"used", it->second.used},
                                 {"revoked", it->second.revoked}});
    return json_response(404, {{"error", "no such token"}});
  });

  core_.admin_route("GET", "/x/limits", [this](Request&) { return json_response(200, {{"limits", limits_}}); });
  // {"route": "x.tweets.create", "user_15min"?, "app_15min"?, "user_24h"?, "app_24h"?} (0: no limit)
  core_.admin_route("POST", "/x/limits", [this](Request& r) {
    const auto body = body_object(r);
    const auto route = body.value("route", "");
    if (!limits_.contains(route))
      return json_response(400, {{"error", "route: one of the names in GET /_sandbox/x/limits"}});
    Limit& l = limits_[route];
    l.user_15min = body.value("user_15min", l.user_15min);
    l.app_15min = body.value("app_15min", l.app_15min);
    l.user_24h = body.value("user_24h", l.user_24h);
    l.app_24h = body.value("app_24h", l.app_24h);
    core_.save_state();
    return json_response(200, {{"route", route}, {"limit", l}});
  });
  // Spend a window now: {"route", "scope": "user_15min"|"app_15min"|"user_24h"|"app_24h", "user_id"?
  // (default the demo user), "client_id"? (default the demo app), "remaining"? (default 0)}.
  core_.admin_route("POST", "/x/rate_limits/exhaust", [this](Request& r) {
    const auto body = body_object(r);
    const auto route = body.value("route", "");
    const auto scope = body.value("scope", "user_15min");
    if (!limits_.contains(route)) return json_response(400, {{"error", "route: unknown"}});
    const Limit& l = limits_[route];
    const auto user_id = body.value("user_id", std::string(kDemoUserId));
    const auto client_id = body.value("client_id", std::string(kClientId));
    std::string key;
    std::int64_t length = kWindowMs;
    std::int64_t limit = 0;
    if (scope == "user_15min") {
      key = route + "|15m|user:" + user_id;
      limit = l.user_15min;
    } else if (scope == "app_15min") {
      key = route + "|15m|app:" + client_id;
      limit = l.app_15min;
    } else if (scope == "user_24h") {
      key = route + "|24h|user:" + user_id;
      length = kDayMs;
      limit = l.user_24h;
    } else if (scope == "app_24h") {
      key = route + "|24h|app:" + client_id;
      length = kDayMs;
      limit = l.app_24h;
    } else {
      return json_response(400, {{"error", "scope: user_15min, app_15min, user_24h or app_24h"}});
    }
    if (limit <= 0) return json_response(400, {{"error", "that route has no such limit"}});
    Window& w = window(key, length);
    w.count = std::max<std::int64_t>(limit - body.value("remaining", std::int64_t{0}), 0);
    core_.save_state();
    return json_response(200, {{"key", key},
                               {"count", w.count},
                               {"limit", limit},
                               {"reset", (w.start_ms + length + kSecondMs - 1) / kSecondMs}});
  });
  core_.admin_route("GET", "/x/rate_limits", [this](Request&) { return json_response(200, {{"windows", windows_}}); });
  core_.admin_route("DELETE", "/x/rate_limits", [this](Request&) {
    windows_.clear();
    core_.save_state();
    return json_response(200, {{"windows", json::object()}});
  });

  // The monthly usage cap: {"client_id"?, "read_cap"?, "reads_used"?, "write_cap"?, "writes_used"?}.
  core_.admin_route("POST", "/x/usage", [this](Request& r) {
    const auto body = body_object(r);
    App* app = find_app(body.value("client_id", std::string(kClientId)));
    if (!app) return json_response(404, {{"error", "no such app"}});
    roll_usage(*app);
    app->read_cap = body.value("read_cap", app->read_cap);
    app->reads_used = body.value("reads_used", app->reads_used);
    app->write_cap = body.value("write_cap", app->write_cap);
    app->writes_used = body.value("writes_used", app->writes_used);
    core_.save_state();
    return json_response(200, {{"client_id", app->client_id},
                               {"read_cap", app->read_cap},
                               {"reads_used", app->reads_used},
                               {"write_cap", app->write_cap},
                               {"writes_used", app->writes_used}});
  });

  // Processing of media finalized from now on, per category: {"category": "tweet_video", "polls": N,
  // "check_after_secs": N, "outcome": "succeeded"|"failed", "require_wait": bool}.
  core_.admin_route("POST", "/x/processing", [this](Request& r) {
    const auto body = body_object(r);
    const auto category = body.value("category", "tweet_video");
    ProcessingPlan plan = plans_.contains(category) ? plans_[category] : ProcessingPlan{};
    merge_plan(body, plan);
    if (plan.outcome != "succeeded" && plan.outcome != "failed")
      return json_response(400, {{"error", "outcome: succeeded or failed"}});
    plans_[category] = plan;
    core_.save_state();
    return json_response(200, {{"category", category}, {"plan", plan}});
  });
  core_.admin_route("GET", "/x/media/{id}", [this](Request& r) {
    auto it = media_.find(r.params["id"]);
    if (it == media_.end()) return json_response(404, {{"error", "no such media"}});
    json j = it->second;
    j["processing_info"] = processing_info(it->second);
    return json_response(200, j);
  });
  // One media's processing (before or after finalize), same fields as /x/processing.
  core_.admin_route("POST", "/x/media/{id}/processing", [this](Request& r) {
    auto it = media_.find(r.params["id"]);
    if (it == media_.end()) return json_response(404, {{"error", "no such media"}});
    Media& m = it->second;
    if (!m.plan_set && !m.finalized) m.plan = plan_for(m.category);
    merge_plan(body_object(r), m.plan);
    m.plan_set = true;
    core_.save_state();
    return json_response(200, {{"id", m.id}, {"plan", m.plan}});
  });

  // Every post (deleted ones too, marked), oldest first: ?user_id=
  core_.admin_route("GET", "/x/posts", [this](Request& r) {
    const auto user_id = r.query_param("user_id").value_or("");
    json out = json::array();
    for (const auto& p : posts_) {
      if (!user_id.empty() && p.author_id != user_id) continue;
      json j = p;
      j["created_at"] = format_rfc3339_ms(p.created_ms);
      out.push_back(std::move(j));
    }
    return json_response(200, {{"posts", out}});
  });
  // A post made behind the daemon's back (an old post, a duplicate to be): {"author_id"?, "text",
  // "created_at"? (RFC 3339), "in_reply_to_tweet_id"?}.
  core_.admin_route("POST", "/x/posts", [this](Request& r) {
    const auto body = body_object(r);
    Post p;
    p.id = new_snowflake();
    p.author_id = body.value("author_id", std::string(kDemoUserId));
    if (!find_user(p.author_id)) return json_response(400, {{"error", "no such user"}});
    p.text = body.value("text", "");
    p.created_ms = core_.clock().now_ms();
    if (body.contains("created_at"))
      p.created_ms = parse_rfc3339_ms(body["created_at"].get<std::string>()).value_or(p.created_ms);
    p.conversation_id = p.id;
    if (const Post* parent = find_post(body.value("in_reply_to_tweet_id", ""))) {
      p.in_reply_to_id = parent->id;
      p.in_reply_to_user_id = parent->author_id;
      p.conversation_id = parent->conversation_id;
    }
    p.client_id = kClientId;
    posts_.push_back(p);
    core_.save_state();
    return json_response(201, {{"id", p.id}});
  });
  // {"public_metrics": {..}, "non_public_metrics": {..}, "organic_metrics": {..}} merged into the post's.
  core_.admin_route("POST", "/x/posts/{id}/metrics", [this](Request& r) {
    Post* p = find_post(r.params["id"]);
    if (!p) return json_response(404, {{"error", "no such post"}});
    const auto body = body_object(r);
    for (const auto& [name, target] : {std::pair<const char*, json*>{"public_metrics", &p->metrics.public_metrics},
                                       {"non_public_metrics", &p->metrics.non_public_metrics},
                                       {"organic_metrics", &p->metrics.organic_metrics}})
      if (body.contains(name)) target->merge_patch(body[name]);
    core_.save_state();
    return json_response(200, {{"id", p->id}, {"metrics", p->metrics}});
  });
}

// ---- persisted state -------------------------------------------------------------------------------------

json Emulator::save() const {
  json access = json::object();
  for (const auto& [k, v] : access_tokens_) access[k] = v;
  json refresh = json::object();
  for (const auto& [k, v] : refresh_tokens_) refresh[k] = v;
  return {{"apps", apps_},
          {"users", users_},
          {"access_tokens", access},
          {"refresh_tokens", refresh},
          {"posts", posts_},
          {"media", media_},
          {"limits", limits_},
          {"windows", windows_},
          {"plans", plans_},
          {"code_ttl_secs", code_ttl_secs_},
          {"refresh_token_ttl_secs", refresh_ttl_secs_},
          {"last_snowflake", last_snowflake_},
          {"secret_counter", secret_counter_}};
}

void Emulator::load(const json& state) {
  apps_ = state.value("apps", apps_);
  users_ = state.value("users", users_);
  // Named copies: a range-for over items() of a temporary would outlive it.
  const json access = state.value("access_tokens", json::object());
  const json refresh = state.value("refresh_tokens", json::object());
  access_tokens_.clear();
  for (const auto& [k, v] : access.items()) access_tokens_[k] = v.get<AccessToken>();
  refresh_tokens_.clear();
  for (const auto& [k, v] : refresh.items()) refresh_tokens_[k] = v.get<RefreshToken>();
  posts_ = state.value("posts", posts_);
  text_index_.clear();
  indexed_posts_ = 0;
  media_ = state.value("media", media_);
  limits_ = state.value("limits", limits_);
  windows_ = state.value("windows", windows_);
  plans_ = state.value("plans", plans_);
  code_ttl_secs_ = state.value("code_ttl_secs", code_ttl_secs_);
  refresh_ttl_secs_ = state.value("refresh_token_ttl_secs", refresh_ttl_secs_);
  last_snowflake_ = state.value("last_snowflake", last_snowflake_);
  secret_counter_ = state.value("secret_counter", secret_counter_);
}

std::shared_ptr<void> install(Core& core) {
  return install_emulator<Emulator>(core);
}

}  // namespace schedulo::sandbox::x
