#include "sandbox/tiktok/emulator.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "sandbox/tiktok/rules.hpp"

namespace schedulo::sandbox::tiktok {

Response Emulator::creator_info(Request& r) {
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

std::string Emulator::posting_error_message(const std::string& code) {
  if (code == "spam_risk_too_many_posts") return "The daily post cap for this user has been reached.";
  if (code == "spam_risk_user_banned_from_posting") return "The user is banned from making new posts.";
  if (code == "reached_active_user_cap") return "The daily quota of active publishing users has been reached.";
  if (code == "spam_risk_too_many_pending_share") return "The user has too many pending shares in the inbox.";
  return code;
}

// The checks every init shares after authentication: limits, posting refusals, caps.
std::optional<Response> Emulator::may_post(const Caller& c, const std::string& bucket, const std::string& mode) {
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
    if (p.mode == "MEDIA_UPLOAD" && (p.status == "SEND_TO_USER_INBOX" || (!terminal(p) && p.transfer_done))) ++pending;
  }
  if (mode == "DIRECT_POST" && c.user->daily_post_cap > 0 && direct >= c.user->daily_post_cap)
    return api_error(403, "spam_risk_too_many_posts", posting_error_message("spam_risk_too_many_posts"));
  if (mode == "MEDIA_UPLOAD" && c.user->pending_share_cap > 0 && pending >= c.user->pending_share_cap)
    return api_error(403, "spam_risk_too_many_pending_share",
                     posting_error_message("spam_risk_too_many_pending_share"));
  return std::nullopt;
}

// post_info of a Direct Post: privacy level among the creator's options, title length.
std::optional<Response> Emulator::check_post_info(const User& u, const json& info, std::size_t max_title) {
  if (!info.is_object()) return invalid("post_info is required for a direct post.");
  if (!info.contains("privacy_level") || !info["privacy_level"].is_string())
    return invalid("post_info.privacy_level is required.");
  const auto options = privacy_options(u);
  const auto level = info["privacy_level"].get<std::string>();
  if (std::find(options.begin(), options.end(), level) == options.end())
    return api_error(403, "privacy_level_option_mismatch",
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
std::optional<Response> Emulator::check_video_source(const Request& r, const App& app, const json& source, Publish& p) {
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

std::string Emulator::new_publish_id(const char* prefix) {
  ++publish_counter_;
  return std::string(prefix) + std::to_string(123456789000 + publish_counter_);
}

Publish& Emulator::start_publish(Publish p) {
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

std::string Emulator::upload_url(const Request& r, const Publish& p) const {
  return base_url(r) + "/tiktok-upload/video/?upload_id=" + p.upload_id + "&upload_token=" + p.upload_token;
}

Response Emulator::video_init(Request& r) {
  return video_init_common(r, "DIRECT_POST");
}

Response Emulator::inbox_init(Request& r) {
  return video_init_common(r, "MEDIA_UPLOAD");
}

Response Emulator::video_init_common(Request& r, const std::string& mode) {
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
  if (auto e = check_video_source(r, apps_[p.client_key], body->value("source_info", json()), p)) return std::move(*e);
  const bool file = p.source == "FILE_UPLOAD";
  p.publish_id = new_publish_id(direct ? (file ? "v_pub_file~v2-1." : "v_pub_url~v2.")
                                       : (file ? "v_inbox_file~v2." : "v_inbox_url~v2."));
  const auto& stored = start_publish(std::move(p));
  json data{{"publish_id", stored.publish_id}};
  if (file) data["upload_url"] = upload_url(r, stored);
  return ok(data);
}

Response Emulator::photo_init(Request& r) {
  auto body = parse_body(r);
  const std::string mode = body && body->is_object() ? body->value("post_mode", "") : "";
  Caller c;
  const bool direct = mode == "DIRECT_POST";
  if (auto e = authenticate(r, c, {direct ? "video.publish" : "video.upload"})) return std::move(*e);
  if (auto e = may_post(c, "photo_init", mode)) return std::move(*e);
  if (!body || !body->is_object()) return invalid("The request body must be a JSON object.");
  if (mode != "DIRECT_POST" && mode != "MEDIA_UPLOAD") return invalid("post_mode must be DIRECT_POST or MEDIA_UPLOAD.");
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

}  // namespace schedulo::sandbox::tiktok
