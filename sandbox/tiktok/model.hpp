#pragma once
// The TikTok emulator's state: apps (client key and secret, verified URL prefixes), users (creator
// settings, posting caps, how publishes end), tokens and codes, publishes. Plain structs with their
// JSON form, which is both the --state file and what the test-control routes show and accept.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace schedulo::sandbox::tiktok {

using json = nlohmann::json;

constexpr std::int64_t kMinuteMs = 60 * 1000;
constexpr std::int64_t kHourMs = 60 * kMinuteMs;
constexpr std::int64_t kDayMs = 24 * kHourMs;

struct App {
  std::string client_key;
  std::string client_secret;
  std::string name = "Schedulo (sandbox)";
  // PULL_FROM_URL and photo URLs must start with one of these; "{self}" is the sandbox's own base URL.
  std::vector<std::string> verified_prefixes{"{self}/cdn/"};
  std::vector<std::string> redirect_uris;        // empty: any redirect_uri is accepted
  bool audited = true;                           // unaudited: only private accounts may post (403 unaudited_client_...)
  std::int64_t access_ttl_s = 2 * 3600;          // November 2026 docs: 2 h
  std::int64_t refresh_ttl_s = 180 * 24 * 3600;  // and 180 days
  std::string default_open_id;                   // who approves at /v2/auth/authorize/
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(App, client_key, client_secret, name, verified_prefixes, redirect_uris,
                                                audited, access_ttl_s, refresh_ttl_s, default_open_id)

struct User {
  std::string open_id;
  std::string union_id;
  std::string username = "schedulo.demo";
  std::string display_name = "Schedulo Demo";
  std::string bio_description = "Posts from the sandbox";
  std::string account_key;  // the core's account record mirrored on every token change ("" = none)
  bool is_verified = false;
  bool private_account = false;
  bool comment_disabled = false;
  bool duet_disabled = false;
  bool stitch_disabled = true;
  std::int64_t max_video_post_duration_sec = 300;
  // "" or spam_risk_too_many_posts | spam_risk_user_banned_from_posting | reached_active_user_cap:
  // creator_info answers it with HTTP 200, the inits with 403.
  std::string posting_error;
  std::int64_t daily_post_cap = 15;    // direct posts completed in 24 h (spam_risk_too_many_posts)
  std::int64_t pending_share_cap = 5;  // inbox drafts pending in 24 h (spam_risk_too_many_pending_share)
  std::int64_t processing_polls = 1;   // status fetches answered PROCESSING_* after the transfer ended
  std::int64_t public_polls = 1;       // PUBLISH_COMPLETE fetches before the public post id appears
  std::vector<std::string> fail_next;  // fail_reasons for this user's next publishes, in order
  std::int64_t follower_count = 1200;
  std::int64_t following_count = 80;
  std::int64_t likes_count = 34000;
  std::int64_t video_count = 12;  // before the sandbox's own posts
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(User, open_id, union_id, username, display_name, bio_description,
                                                account_key, is_verified, private_account, comment_disabled,
                                                duet_disabled, stitch_disabled, max_video_post_duration_sec,
                                                posting_error, daily_post_cap, pending_share_cap, processing_polls,
                                                public_polls, fail_next, follower_count, following_count, likes_count,
                                                video_count)

struct Token {
  std::string token;
  std::string kind;  // access | refresh
  std::string client_key;
  std::string open_id;
  std::vector<std::string> scopes;
  std::int64_t issued_ms = 0;
  std::int64_t expires_ms = 0;
  bool used = false;  // a refresh token that was already exchanged (rotation)
  bool revoked = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Token, token, kind, client_key, open_id, scopes, issued_ms, expires_ms,
                                                used, revoked)

struct Code {
  std::string code;
  std::string client_key;
  std::string open_id;
  std::string redirect_uri;
  std::vector<std::string> scopes;
  std::string code_challenge;  // PKCE: SHA-256 of the verifier, hex (TikTok desktop) or base64url
  std::int64_t expires_ms = 0;
  bool used = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Code, code, client_key, open_id, redirect_uri, scopes, code_challenge,
                                                expires_ms, used)

struct VideoStats {
  std::int64_t view_count = 0;
  std::int64_t like_count = 0;
  std::int64_t comment_count = 0;
  std::int64_t share_count = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(VideoStats, view_count, like_count, comment_count, share_count)

struct Publish {
  std::string publish_id;
  std::string media;   // video | photo
  std::string mode;    // DIRECT_POST | MEDIA_UPLOAD (inbox)
  std::string source;  // FILE_UPLOAD | PULL_FROM_URL
  std::string client_key;
  std::string open_id;
  json post_info = json::object();
  std::int64_t created_ms = 0;
  // FILE_UPLOAD
  std::string upload_id;
  std::string upload_token;
  std::int64_t upload_expires_ms = 0;
  std::int64_t video_size = 0;
  std::int64_t chunk_size = 0;
  std::int64_t total_chunk_count = 0;
  std::int64_t uploaded_bytes = 0;
  std::int64_t chunks_received = 0;
  // PULL_FROM_URL
  std::vector<std::string> urls;
  std::int64_t downloaded_bytes = 0;
  std::string pull_content_type;
  // Progress
  std::string status;  // PROCESSING_UPLOAD | PROCESSING_DOWNLOAD | SEND_TO_USER_INBOX | PUBLISH_COMPLETE | FAILED
  bool transfer_done = false;
  std::int64_t polls_left = 0;
  std::int64_t public_polls_left = 0;
  std::string fail_reason;
  std::string post_id;  // int64 as decimal text (the answer sends a JSON number)
  std::int64_t completed_ms = 0;
  VideoStats stats;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Publish, publish_id, media, mode, source, client_key, open_id,
                                                post_info, created_ms, upload_id, upload_token, upload_expires_ms,
                                                video_size, chunk_size, total_chunk_count, uploaded_bytes,
                                                chunks_received, urls, downloaded_bytes, pull_content_type, status,
                                                transfer_done, polls_left, public_polls_left, fail_reason, post_id,
                                                completed_ms, stats)

// Requests per minute (sliding window on the sandbox clock); 0 = unlimited.
struct Limits {
  std::int64_t creator_info_per_min = 20;  // per access token
  std::int64_t init_per_min = 6;           // per access token, each init endpoint
  std::int64_t status_per_min = 30;        // per access token
  std::int64_t display_per_min = 600;      // per app, each Display API endpoint
  int oauth_error_status = 200;            // TikTok answers OAuth errors with HTTP 200 (as observed)
  std::int64_t upload_url_ttl_s = 3600;    // upload_url valid 1 h
  std::int64_t code_ttl_s = 600;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Limits, creator_info_per_min, init_per_min, status_per_min,
                                                display_per_min, oauth_error_status, upload_url_ttl_s, code_ttl_s)

}  // namespace schedulo::sandbox::tiktok
