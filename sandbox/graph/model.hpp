#pragma once
// The Graph emulator's state: the app, Facebook users with their Pages, Instagram professional
// accounts (reached through Facebook Login via a Page, or through Instagram Login), the tokens each
// login hands out, and what was published. Plain structs, persisted as JSON (--state) except upload
// bytes, which live only in memory.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace schedulo::sandbox::graph {

using json = nlohmann::json;

inline constexpr std::int64_t kSecondMs = 1000;
inline constexpr std::int64_t kMinuteMs = 60 * kSecondMs;
inline constexpr std::int64_t kHourMs = 60 * kMinuteMs;
inline constexpr std::int64_t kDayMs = 24 * kHourMs;

// What the emulator enforces; every number can be changed with POST /_sandbox/graph/limits.
struct Limits {
  // Instagram (1.1)
  std::int64_t ig_quota_total = 100;  // API-published posts per quota_duration (content_publishing_limit)
  std::int64_t ig_quota_duration_s = 86400;
  std::int64_t ig_containers_per_day = 400;  // containers created per account per rolling 24 h
  std::int64_t ig_image_polls = 0;           // status reads answered IN_PROGRESS before FINISHED
  std::int64_t ig_video_polls = 2;
  std::int64_t ig_processing_ms = 0;                 // and this much sandbox time after the media arrived
  std::int64_t ig_container_ttl_ms = kDayMs;         // then EXPIRED
  std::int64_t ig_insights_delay_ms = 48 * kHourMs;  // media insights answer empty data before this age
  std::int64_t ig_image_max_bytes = 8LL * 1024 * 1024;
  bool ig_login_wrap_data = false;  // api.instagram.com code exchange answers {"data":[{...}]}
  // Facebook Pages (4)
  std::int64_t fb_reels_per_day = 30;
  std::int64_t fb_video_polls = 2;    // status reads answered processing before ready
  std::int64_t fb_reel_polls = 2;     // reels: processing_phase in_progress reads
  std::int64_t fb_publish_polls = 1;  // reels: publishing_phase in_progress reads
  std::int64_t fb_processing_ms = 0;
  std::int64_t fb_chunk_bytes = 1024 * 1024;  // the legacy transfer phase asks for chunks of this size
  std::int64_t fb_insights_delay_ms = 0;
  // Graph (1.0)
  std::int64_t app_calls_per_hour = 20000;            // X-App-Usage 100 % (code 4)
  std::int64_t user_calls_per_hour = 20000;           // code 17
  std::int64_t page_user_calls_per_hour = 4800;       // Pages API with a user token (code 32)
  std::int64_t pages_buc_calls_per_day = 480000;      // Page token BUC (code 80001)
  std::int64_t instagram_buc_calls_per_day = 480000;  // Instagram BUC (code 80002)
  int throttle_http_status = 400;                     // the reference leaves it UNCONFIRMED (commonly 400/403)
  bool require_appsecret_proof = false;
  std::int64_t fetch_timeout_ms = 20000;      // fetching image_url / video_url / file_url
  std::int64_t short_user_token_s = 5400;     // FB Login code exchange (~1-2 h)
  std::int64_t long_token_s = 5183944;        // fb_exchange_token / ig_exchange_token (~60 d)
  std::int64_t ig_short_token_s = 3600;       // IG Login code exchange (1 h)
  std::int64_t ig_refresh_token_s = 5184000;  // ig_refresh_token: 60 d from the refresh
  std::int64_t data_access_days = 90;
};

struct Token {
  std::string token;
  std::string kind;     // user | page | ig_user | app
  std::string login;    // facebook | instagram
  std::string user_id;  // the Facebook user (user, page) or the Instagram user (ig_user)
  std::string page_id;  // page tokens
  bool long_lived = false;
  std::int64_t issued_ms = 0;
  std::uint64_t serial = 0;     // issue order (session events invalidate tokens issued before them)
  std::int64_t expires_ms = 0;  // 0: never
  std::vector<std::string> scopes;
  int invalid_subcode = 0;  // set by a test (POST /_sandbox/graph/tokens): 190 with this subcode
};

struct FbUser {
  std::string id;
  std::string name;
  std::vector<std::string> scopes;                             // granted to the app
  std::map<std::string, std::vector<std::string>> page_tasks;  // page id -> tasks (CREATE_CONTENT, ANALYZE, ...)
  std::int64_t data_access_expires_ms = 0;
  // A session event (password change 460, logout or revocation 467, app removed 458, checkpoint 459):
  // tokens issued before it answer 190 with this subcode; a new login issues working tokens.
  int invalid_subcode = 0;
  std::uint64_t invalid_before_serial = 0;
};

struct Page {
  std::string id;
  std::string name;
  std::string category = "Media";
  std::string ig_user_id;  // the linked Instagram professional account, if any
  std::int64_t followers = 1200;
  std::int64_t video_polls = -1;  // -1: Limits
  std::int64_t reel_polls = -1;
  std::vector<std::int64_t> reels_published_ms;  // for the 30 a day cap
  std::string next_video_error;                  // the next video or reel fails processing with this message
};

struct IgUser {
  std::string id;
  std::string username;
  std::string name;
  std::string login;  // facebook (through page_id) | instagram
  std::string page_id;
  std::int64_t followers = 1500;
  std::int64_t quota_total = -1;  // -1: Limits
  std::int64_t image_polls = -1;
  std::int64_t video_polls = -1;
  std::vector<std::int64_t> containers_created_ms;
  std::vector<std::int64_t> published_ms;
  json next_container_error;  // {"code","subcode","message"}: the next video container goes ERROR with it
  int invalid_subcode = 0;    // Instagram Login session event (see FbUser)
  std::uint64_t invalid_before_serial = 0;
};

// What an upload or a fetch brought: its size, what it is (probed once the last byte is in) and,
// while it is in progress, the bytes so far (memory only; dropped once probed).
struct Upload {
  std::int64_t file_size = -1;  // -1: not declared yet
  std::int64_t offset = 0;
  bool complete = false;
  std::string file_url;
  json facts;         // {"format","width","height","duration_s","has_video","bytes"} once complete
  std::string bytes;  // not persisted
};

struct Container {
  std::string id;
  std::string owner;       // IG user id
  std::string media_type;  // IMAGE | VIDEO | REELS | STORIES | CAROUSEL
  bool is_carousel_item = false;
  bool resumable = false;
  std::string caption;
  std::string image_url;
  std::string video_url;
  std::string cover_url;
  std::string alt_text;
  bool share_to_feed = true;
  std::int64_t thumb_offset_ms = -1;
  std::vector<std::string> children;
  json extra = json::object();  // location_id, user_tags, collaborators, ... as sent
  std::int64_t created_ms = 0;
  std::int64_t ready_ms = -1;  // when the media arrived (create, or the upload's last byte)
  std::int64_t polls_left = 0;
  std::string status = "IN_PROGRESS";  // IN_PROGRESS | FINISHED | ERROR | EXPIRED | PUBLISHED
  json error;                          // {"code","subcode","message"} when ERROR
  std::string media_id;                // when PUBLISHED
  std::string parent;                  // carousel children: the carousel that took them
  Upload upload;
};

struct Media {
  std::string id;
  std::string owner;
  std::string container_id;
  std::string media_type;    // IMAGE | VIDEO | CAROUSEL_ALBUM
  std::string product_type;  // FEED | STORY | REELS
  std::string caption;
  std::string shortcode;
  std::string media_url;
  std::string alt_text;
  bool share_to_feed = true;
  bool is_child = false;
  std::vector<std::string> children;
  std::int64_t created_ms = 0;
  double duration_s = 0;
  json metrics = json::object();  // overrides set by tests
};

struct Photo {
  std::string id;
  std::string page_id;
  std::string caption;
  std::string url;
  bool published = true;
  std::string post_id;  // the Page post that shows it (its own, or the one that attached it)
  std::int64_t created_ms = 0;
  std::int64_t width = 0;
  std::int64_t height = 0;
};

struct Video {
  std::string id;
  std::string page_id;
  std::string kind;  // video | reel
  std::string title;
  std::string description;
  std::string session_id;  // legacy start/transfer/finish
  std::int64_t created_ms = 0;
  bool finished = false;  // finish phase (or a one-shot /videos upload) done
  std::int64_t finished_ms = 0;
  bool published = true;
  std::string video_state = "PUBLISHED";  // reels: PUBLISHED | DRAFT | SCHEDULED
  std::int64_t scheduled_ms = 0;
  std::int64_t processing_polls_left = 0;
  std::int64_t publishing_polls_left = 0;
  std::string phase = "uploading";  // uploading | processing | publishing | ready | error
  std::string error_message;
  std::string post_id;
  std::int64_t published_ms = 0;
  Upload upload;
};

struct Post {
  std::string id;  // {page-id}_{story-id}
  std::string page_id;
  std::string kind;  // status | link | photo | album | video | reel
  std::string message;
  std::string link;
  std::int64_t created_ms = 0;
  bool published = true;
  std::int64_t scheduled_ms = 0;
  std::vector<std::string> photo_ids;
  std::string video_id;
  bool deleted = false;
  json metrics = json::object();
};

// The Resumable Upload API's session (POST /{app-id}/uploads, then POST /upload:{id}).
struct UploadSession {
  std::string id;  // "upload:..."
  std::string user_id;
  std::string file_name;
  std::string file_type;
  std::string handle;  // set when the last byte arrives
  Upload upload;
};

// An authorization code from a dialog, waiting for its exchange.
struct AuthCode {
  std::string code;
  std::string login;  // facebook | instagram
  std::string user_id;
  std::string redirect_uri;
  std::vector<std::string> scopes;
  std::int64_t created_ms = 0;
  bool used = false;
};

// Missing keys keep their defaults, so a state file from an older sandbox still loads.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    Limits, ig_quota_total, ig_quota_duration_s, ig_containers_per_day, ig_image_polls, ig_video_polls,
    ig_processing_ms, ig_container_ttl_ms, ig_insights_delay_ms, ig_image_max_bytes, ig_login_wrap_data,
    fb_reels_per_day, fb_video_polls, fb_reel_polls, fb_publish_polls, fb_processing_ms, fb_chunk_bytes,
    fb_insights_delay_ms, app_calls_per_hour, user_calls_per_hour, page_user_calls_per_hour, pages_buc_calls_per_day,
    instagram_buc_calls_per_day, throttle_http_status, require_appsecret_proof, fetch_timeout_ms, short_user_token_s,
    long_token_s, ig_short_token_s, ig_refresh_token_s, data_access_days)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Token, token, kind, login, user_id, page_id, long_lived, issued_ms,
                                                serial, expires_ms, scopes, invalid_subcode)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FbUser, id, name, scopes, page_tasks, data_access_expires_ms,
                                                invalid_subcode, invalid_before_serial)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Page, id, name, category, ig_user_id, followers, video_polls,
                                                reel_polls, reels_published_ms, next_video_error)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(IgUser, id, username, name, login, page_id, followers, quota_total,
                                                image_polls, video_polls, containers_created_ms, published_ms,
                                                next_container_error, invalid_subcode, invalid_before_serial)
// Upload bytes are not persisted: an upload restored from --state keeps its offset but not its bytes.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Upload, file_size, offset, complete, file_url, facts)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Container, id, owner, media_type, is_carousel_item, resumable, caption,
                                                image_url, video_url, cover_url, alt_text, share_to_feed,
                                                thumb_offset_ms, children, extra, created_ms, ready_ms, polls_left,
                                                status, error, media_id, parent, upload)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Media, id, owner, container_id, media_type, product_type, caption,
                                                shortcode, media_url, alt_text, share_to_feed, is_child, children,
                                                created_ms, duration_s, metrics)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Photo, id, page_id, caption, url, published, post_id, created_ms, width,
                                                height)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Video, id, page_id, kind, title, description, session_id, created_ms,
                                                finished, finished_ms, published, video_state, scheduled_ms,
                                                processing_polls_left, publishing_polls_left, phase, error_message,
                                                post_id, published_ms, upload)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Post, id, page_id, kind, message, link, created_ms, published,
                                                scheduled_ms, photo_ids, video_id, deleted, metrics)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(UploadSession, id, user_id, file_name, file_type, handle, upload)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AuthCode, code, login, user_id, redirect_uri, scopes, created_ms, used)

}  // namespace schedulo::sandbox::graph
