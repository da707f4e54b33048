#pragma once
// Inside the X emulator: its state and the handlers, split over emulator.cpp (routing, auth, limits,
// errors, test controls, persistence), oauth.cpp, posts.cpp and media.cpp.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "sandbox/core/core.hpp"

namespace schedulo::sandbox::x {

inline constexpr std::int64_t kSecondMs = 1000;
inline constexpr std::int64_t kWindowMs = 15 * 60 * kSecondMs;
inline constexpr std::int64_t kDayMs = 24 * 3600 * kSecondMs;
inline constexpr std::int64_t kAccessTokenSecs = 7200;

struct App {
  std::string client_id;
  std::string client_secret;               // empty: a public client (no Basic auth)
  std::vector<std::string> callback_urls;  // empty: any redirect_uri is accepted
  std::string bearer_token;                // app-only token (public reads), may be empty
  // The monthly usage cap (X's "Monthly product cap"): posts read and posts created this month.
  std::int64_t read_cap = 2000000;  // 0: none
  std::int64_t write_cap = 0;       // 0: none
  std::int64_t reads_used = 0;
  std::int64_t writes_used = 0;
  std::int64_t usage_month = 0;  // year * 12 + month the counters belong to
};

struct User {
  std::string id;
  std::string username;
  std::string name;
  std::int64_t created_ms = 0;
};

struct AccessToken {
  std::string user_id;
  std::string client_id;
  std::set<std::string> scopes;
  std::int64_t expires_ms = 0;
  std::string grant;  // tokens of one authorization share a grant (revoking its refresh token ends it)
  bool revoked = false;
};

struct RefreshToken {
  std::string user_id;
  std::string client_id;
  std::set<std::string> scopes;
  std::string grant;
  std::int64_t issued_ms = 0;
  bool used = false;  // single use: a refresh consumes it
  bool revoked = false;
};

struct AuthCode {
  std::string client_id;
  std::string redirect_uri;
  std::string challenge;
  std::string method;  // S256 | plain
  std::set<std::string> scopes;
  std::string user_id;
  std::int64_t expires_ms = 0;
  bool used = false;
};

struct Metrics {
  nlohmann::json public_metrics = nlohmann::json::object();
  nlohmann::json non_public_metrics = nlohmann::json::object();
  nlohmann::json organic_metrics = nlohmann::json::object();
};

struct Post {
  std::string id;
  std::string author_id;
  std::string text;
  std::int64_t created_ms = 0;
  bool deleted = false;
  std::string in_reply_to_id;
  std::string in_reply_to_user_id;
  std::string conversation_id;
  std::vector<std::string> media_ids;
  std::vector<std::string> media_keys;
  std::string client_id;  // the app that created it
  Metrics metrics;
};

// How one media's processing goes: `polls` status answers that honour check_after_secs before it
// ends, in `outcome` (succeeded | failed). `require_wait`: a poll earlier than check_after_secs after
// the previous answer makes no progress.
struct ProcessingPlan {
  int polls = 3;
  int check_after_secs = 5;
  std::string outcome = "succeeded";
  bool require_wait = true;
};

struct Segment {
  std::size_t size = 0;
  std::string sha256;
};

struct Media {
  std::string id;
  std::string media_key;
  std::string owner_id;
  std::string client_id;
  std::string media_type;
  std::string category;
  std::int64_t total_bytes = 0;
  std::vector<std::string> additional_owners;
  std::map<int, Segment> segments;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  bool finalized = false;
  std::string state;  // "" (no processing: ready at finalize), pending, in_progress, succeeded, failed
  int polls_done = 0;
  std::int64_t next_poll_ms = 0;
  ProcessingPlan plan;
  bool plan_set = false;
  std::string
      alt_text;  // POST /2/media/metadata  // set per media by a test (else the category's plan applies at finalize)
};

// Per endpoint: 15-minute windows (per user token; per app for app-only tokens) and 24-hour caps
// (per user and per app, whoever the caller). 0 means no limit.
struct Limit {
  std::int64_t user_15min = 0;
  std::int64_t app_15min = 0;
  std::int64_t user_24h = 0;
  std::int64_t app_24h = 0;
};

struct Window {
  std::int64_t start_ms = -1;
  std::int64_t count = 0;
};

// Who is calling: a user token (user set) or an app-only bearer token.
struct Caller {
  App* app = nullptr;
  User* user = nullptr;
  const AccessToken* token = nullptr;
  bool app_only() const { return user == nullptr; }
};

struct RouteSpec {
  std::string name;  // route name for faults and the log, and the key of its limits
  bool user_only = true;
  std::vector<std::string> scopes;  // needed on user tokens
  bool usage_read = false;          // counted against the monthly read cap
  bool usage_write = false;
  bool daily_headers = false;  // answers carry the x-user/app-limit-24hour-* headers (POST /2/tweets)
};

using json = nlohmann::json;

class Emulator {
 public:
  explicit Emulator(Core& core);
  void install();

 private:
  using Handler = Response (Emulator::*)(Request&, Caller&);

  // ---- emulator.cpp ----
  void reset();
  void api(const RouteSpec& spec, const std::string& method, const std::string& pattern, Handler handler);
  Response guarded(const RouteSpec& spec, Handler handler, Request& request);
  std::optional<Response> authenticate(const RouteSpec& spec, Request& request, Caller& caller);
  Window& window(const std::string& key, std::int64_t length_ms);
  void limit_headers(Response& response, const RouteSpec& spec, const Caller& caller, bool counted_daily);
  void roll_usage(App& app);
  void add_admin_routes();
  json save() const;
  void load(const json& state);
  json summary() const;
  std::string new_snowflake();
  std::string new_secret(const char* prefix);
  App* find_app(const std::string& client_id);
  User* find_user(const std::string& id_or_username);
  ProcessingPlan plan_for(const std::string& category) const;
  json issue_tokens(const std::string& user_id, const std::string& client_id, const std::set<std::string>& scopes,
                    const std::string& grant);

  // ---- oauth.cpp ----
  Response authorize(Request& request);
  Response token(Request& request);
  Response revoke(Request& request);
  std::optional<Response> client_auth(Request& request, const std::map<std::string, std::string>& form, App*& app);

  // ---- posts.cpp ----
  Response create_post(Request& request, Caller& caller);
  Response delete_post(Request& request, Caller& caller);
  Response lookup_posts(Request& request, Caller& caller);
  Response get_post(Request& request, Caller& caller);
  Response users_me(Request& request, Caller& caller);
  Response user_posts(Request& request, Caller& caller);
  json render_post(const Post& post, const std::set<std::string>& fields, const Caller& caller, json& errors) const;
  json render_user(const User& user, const std::set<std::string>& fields) const;
  Post* find_post(const std::string& id);

  // ---- media.cpp ----
  Response media_initialize(Request& request, Caller& caller);
  Response media_append(Request& request, Caller& caller);
  Response media_finalize(Request& request, Caller& caller);
  Response media_status(Request& request, Caller& caller);
  Response media_upload(Request& request, Caller& caller);  // one-shot, and the command= form
  Response media_metadata(Request& request, Caller& caller);
  Response media_upload_v1(Request& request);  // upload.twitter.com/1.1 (errors[] shape)
  Response media_v1(Request& request, Caller& caller);
  std::optional<Response> init_media(const json& fields, Caller& caller, Media*& created);
  std::optional<Response> append_segment(Media& media, const std::string& index_text, const std::string& bytes);
  std::optional<Response> finalize(Media& media);
  void poll(Media& media);
  json processing_info(const Media& media) const;
  Media* media_of(const std::string& id, const Caller& caller);

  Core& core_;
  std::vector<App> apps_;
  std::vector<User> users_;
  std::map<std::string, AccessToken> access_tokens_;
  std::map<std::string, RefreshToken> refresh_tokens_;
  std::map<std::string, AuthCode> codes_;
  std::vector<Post> posts_;  // creation order
  // The duplicate-content check's index: author and text -> positions in posts_ (indexed lazily up to
  // indexed_posts_; deleted posts are skipped when read). A scan of every post per create made the
  // emulator, not the daemon, the bottleneck of long benchmark runs.
  std::unordered_map<std::string, std::vector<std::size_t>> text_index_;
  std::size_t indexed_posts_ = 0;
  bool duplicate_text(const std::string& author, const std::string& text);
  std::map<std::string, Media> media_;
  std::map<std::string, Limit> limits_;
  std::map<std::string, Window> windows_;
  std::map<std::string, ProcessingPlan> plans_;  // by media_category
  std::int64_t code_ttl_secs_ = 30;
  std::int64_t refresh_ttl_secs_ = 0;  // 0: refresh tokens do not expire (their lifetime is UNCONFIRMED)
  std::int64_t last_snowflake_ = 0;
  std::uint64_t secret_counter_ = 0;
};

// ---- answers in X's shapes (emulator.cpp) ----
Response problem(int status, const json& body);
Response unauthorized();
Response forbidden(const std::string& detail);
Response too_many_requests();
Response usage_capped();
Response invalid_request(const std::string& parameter, const json& value, const std::string& message);
Response not_found(const std::string& resource_type, const std::string& parameter, const std::string& value);
Response oauth_error(int status, const std::string& error, const std::string& description);
// The v1.1 shape: {"errors":[{"code":..,"message":..}]}.
Response v1_error(int status, int code, const std::string& message);
// The problem for an injected status (faults): X's body for each status.
Response x_error(int status);
std::int64_t month_of(std::int64_t ms);

}  // namespace schedulo::sandbox::x
