#pragma once
// Facebook Pages (platform-apis.md section 4, with the Graph facts of 1.0): what a publish job becomes
// on a Page, the request parameters of each call, and the answers read back. Pure functions, no I/O:
// the publish steps (publish_steps.cpp) send them through the Graph client.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schedulo::facebook {

using Params = std::vector<std::pair<std::string, std::string>>;

// How a post goes out (4.2):
//   text   POST /{page}/feed message                       link   POST /{page}/feed message, link
//   photo  POST /{page}/photos url, message (published)    album  POST /{page}/photos published=false
//                                                                 per image, then /feed attached_media
//   video  graph-video /{page}/videos: file_url, or the    reel   /{page}/video_reels start, rupload,
//          start/transfer/finish phases                           finish; status polled
enum class PostKind { text, link, photo, album, video, reel };
std::string_view to_string(PostKind kind);
std::optional<PostKind> post_kind_from_string(std::string_view text);

struct MediaItem {
  std::string url;
  bool video = false;
};

// A job's post as Facebook publishes it: `as` is post.options.facebook.as ("post" or "reel"), `link`
// its link. Intake validated the combinations (a reel is one video; a video is alone).
struct PostPlan {
  PostKind kind = PostKind::text;
  std::string message;
  std::string link;
  std::vector<std::string> urls;  // photos (photo, album) or the one video
};
PostPlan plan_post(const std::string& text, const std::vector<MediaItem>& media, std::string_view as,
                   const std::string& link);

// ---- request parameters -------------------------------------------------------------------------

Params feed_params(const PostPlan& plan, const std::vector<std::string>& photo_ids);
Params photo_params(const std::string& url, const std::string& message, bool published);
Params video_file_url_params(const std::string& url, const std::string& description);
Params video_start_params(std::uint64_t file_size);
Params video_finish_params(const std::string& session_id, const std::string& description);
Params reel_start_params();
Params reel_finish_params(const std::string& video_id, const std::string& description);

// ---- answers ------------------------------------------------------------------------------------

// The `id` of an answer ({"id":"..."}); "" when absent.
std::string id_of(const nlohmann::json& answer);

// Legacy chunked upload (4.2): offsets are strings in the answers; numbers are accepted too.
struct TransferWindow {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  bool done() const { return start >= end; }
};
struct VideoSession {
  std::string video_id;
  std::string session_id;
  TransferWindow window;
};
std::optional<VideoSession> parse_video_start(const nlohmann::json& answer);
std::optional<TransferWindow> parse_transfer(const nlohmann::json& answer);
// error_data {"start_offset","end_offset"} of subcode 1363037 (resend from there); nullopt otherwise.
std::optional<TransferWindow> parse_resume_window(std::string_view error_body);

struct ReelSession {
  std::string video_id;
  std::string upload_url;
};
std::optional<ReelSession> parse_reel_start(const nlohmann::json& answer);

// GET /{video-id}?fields=status,post_id,permalink_url (4.2 step 4).
struct VideoState {
  enum class Phase { uploading, processing, ready, failed };
  Phase phase = Phase::processing;
  bool finish_received = false;  // the finish phase (or a one-shot upload) reached Facebook
  std::string post_id;
  std::string permalink_url;
  std::string error;  // failed: processing_phase.error.message
};
VideoState parse_video_state(const nlohmann::json& answer);

// A rupload status (GET upload_url): the bytes Facebook holds.
std::uint64_t parse_rupload_offset(const nlohmann::json& answer);

// ---- reconciliation by the Page's recent posts --------------------------------------------------

// GET /{page}/posts?fields=id,message,created_time,permalink_url,attachments{type,url,unshimmed_url}
struct RecentPost {
  std::string id;
  std::string message;
  std::int64_t created_ms = 0;
  std::string permalink_url;
  std::string link;  // the link attachment's target, if any
};
std::vector<RecentPost> parse_recent_posts(const nlohmann::json& answer);
// Whether the answer is the whole list (no paging.next): then it covers any window.
bool recent_posts_complete(const nlohmann::json& answer);

enum class Match { found, absent, undecided };
// Whether the post of `plan`, sent at or after `since_ms`, is among `posts` (newest first). A match is
// the same message (and link) created in the window; `absent` only when the list reaches back before
// the window, or is `complete`, and nothing matches (feed posts are created synchronously); `undecided`
// for several matches, or a list that does not cover the window.
Match match_recent(const PostPlan& plan, std::int64_t since_ms, const std::vector<RecentPost>& posts, bool complete,
                   std::string& post_id);

// ---- insights (4.3) -----------------------------------------------------------------------------

// The post metrics asked for: current ones only (the post_impressions* family is deprecated and
// answers code 100).
std::string_view post_metrics();
// Engagement counts without insights: the fields of GET /{post-id}.
std::string_view engagement_fields();

struct PostInsights {
  std::int64_t views = 0;                               // post_total_media_view_unique
  std::int64_t media_views = 0;                         // post_media_view
  nlohmann::json reactions = nlohmann::json::object();  // post_reactions_by_type_total
  std::int64_t reactions_total = 0;
  std::int64_t clicks = 0;  // post_clicks
  nlohmann::json clicks_by_type = nlohmann::json::object();
  std::int64_t comments = 0;
  std::int64_t shares = 0;
  std::int64_t engagement() const { return reactions_total + comments + shares + clicks; }
  nlohmann::json to_json(const std::string& post_id) const;
};
// Reads the insights answer (values[0].value, object-valued metrics summed) into `out`.
void read_insights(const nlohmann::json& answer, PostInsights& out);
// Reads shares{count}, comments.summary.total_count and reactions.summary.total_count (when the
// insights gave no reactions) into `out`.
void read_engagement(const nlohmann::json& answer, PostInsights& out);

// ---- tokens (4.1, 1.0) --------------------------------------------------------------------------

struct PageAccount {
  std::string id;
  std::string name;
  std::string access_token;  // plaintext: the caller seals it
  std::vector<std::string> tasks;
};
// GET /me/accounts: the Pages and their tokens; `after` gets paging.cursors.after when there is a next page.
std::vector<PageAccount> parse_accounts(const nlohmann::json& answer, std::string& after);

struct DebugToken {
  bool valid = false;
  std::string type;  // USER, PAGE, APP
  std::int64_t expires_at_s = 0;
  std::int64_t data_access_expires_at_s = 0;
  std::string user_id;
  std::string profile_id;  // PAGE tokens: the Page
  std::string scopes;      // comma-separated
  long long error_code = 0;
  long long error_subcode = 0;
  std::string error_message;
};
std::optional<DebugToken> parse_debug_token(const nlohmann::json& answer);

// 190 subcodes (1.0): 463 expired (and 190 alone) is auth-expired; 458, 459, 460, 464, 467, 492 are
// the user's doing and only reconnecting helps.
bool subcode_means_revoked(long long subcode);

}  // namespace schedulo::facebook
