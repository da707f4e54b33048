// Instagram publishing (platform-apis.md 1.1/1.2): containers and their state machine on the sandbox
// clock, media_publish with its quota, the media and recent-media reads.
//
// Container: created IN_PROGRESS; each read of it (a poll) while its media is there counts down
// `polls` (images: ig_image_polls, videos: ig_video_polls, per account or per container overridable);
// then, once ig_processing_ms have passed since the media arrived, FINISHED or ERROR (what the media
// check found). Never published within 24 h: EXPIRED. Published: PUBLISHED. A carousel is FINISHED
// when its own polls are done and every child is; reading it polls its children too.
//
// EMU-CHOICE codes (the reference gives the subcode but not the code, or neither): media that cannot
// be fetched 9004/2207052; an image that is not JPEG 36001/2207005; a video in the wrong format or of
// the wrong length 352/2207026; a cut video -1/2207053; caption limits 100/2207010; carousel rules
// 100/2207028; an unknown creation_id 100/2207006; more than 400 containers a day 9 (no subcode);
// publishing an already published container 100.
#include <algorithm>
#include <cctype>

#include "common/rfc3339.hpp"
#include "sandbox/graph/emulator.hpp"

namespace schedulo::sandbox::graph {
namespace {

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool is_video_kind(const Container& c) {
  return c.media_type == "REELS" || c.media_type == "VIDEO" || (c.media_type == "STORIES" && !c.video_url.empty()) ||
         (c.resumable && c.media_type != "IMAGE");
}

// Counts "#word" or "@word" occurrences.
std::size_t count_tags(const std::string& text, char mark) {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    const auto next = static_cast<unsigned char>(text[i + 1]);
    if (text[i] == mark && (std::isalnum(next) || next == '_' || next >= 0x80)) ++n;
  }
  return n;
}

// Caption limits (1.1 media limits): 2200 characters, 30 hashtags, 20 @mentions.
std::optional<GraphError> caption_problem(const std::string& caption) {
  std::size_t chars = 0;
  for (unsigned char c : caption) chars += (c & 0xC0) != 0x80;  // UTF-8 code points
  std::string why;
  if (chars > 2200) why = "The caption is longer than 2200 characters";
  if (count_tags(caption, '#') > 30) why = "The caption has more than 30 hashtags";
  if (count_tags(caption, '@') > 20) why = "The caption mentions more than 20 accounts";
  if (why.empty()) return std::nullopt;
  return GraphError{400,       100,   2207010, "(#100) " + why + ".", "OAuthException", "Caption not accepted",
                    why + ".", false, nullptr};
}

GraphError media_error(int code, int subcode, const std::string& message, const std::string& title) {
  return GraphError{400, code, subcode, message, "OAuthException", title, message, false, nullptr};
}

json error_json(int code, int subcode, const std::string& message) {
  return {{"code", code}, {"subcode", subcode}, {"message", message}};
}

GraphError from_json_error(const json& e) {
  return media_error(e.value("code", -1), e.value("subcode", 0), e.value("message", std::string("Media upload failed")),
                     "Media upload failed");
}

constexpr std::string_view kIgMediaFields[] = {
    "id",        "caption",           "media_type",        "media_product_type", "permalink",
    "timestamp", "like_count",        "comments_count",    "username",           "shortcode",
    "media_url", "thumbnail_url",     "is_shared_to_feed", "children",           "owner",
    "alt_text",  "is_comment_enabled"};

}  // namespace

// ---- state machine ----------------------------------------------------------------------------------

std::int64_t Emulator::ig_quota_total(const IgUser& ig) const {
  return ig.quota_total >= 0 ? ig.quota_total : limits_.ig_quota_total;
}

std::int64_t Emulator::ig_quota_usage(const IgUser& ig, std::int64_t since_ms) const {
  const auto window_start = std::max(since_ms, now() - limits_.ig_quota_duration_s * kSecondMs);
  return std::count_if(ig.published_ms.begin(), ig.published_ms.end(),
                       [&](std::int64_t at) { return at > window_start && at <= now(); });
}

// Brings a container up to the sandbox clock without counting a poll: EXPIRED after 24 h; FINISHED or
// ERROR once its polls are used up and the processing time has passed (a carousel also waits for
// every child).
void Emulator::ig_settle(Container& ct, bool settle_children) {
  if ((ct.status == "IN_PROGRESS" || ct.status == "FINISHED") && now() >= ct.created_ms + limits_.ig_container_ttl_ms) {
    ct.status = "EXPIRED";
    return;
  }
  if (ct.media_type == "CAROUSEL" && settle_children) {
    for (const auto& id : ct.children) {
      auto it = containers_.find(id);
      if (it != containers_.end()) ig_settle(it->second);
    }
  }
  if (ct.status != "IN_PROGRESS" || ct.ready_ms < 0 || ct.polls_left > 0) return;
  if (now() < ct.ready_ms + limits_.ig_processing_ms) return;
  if (ct.media_type == "CAROUSEL") {
    for (const auto& id : ct.children) {
      auto it = containers_.find(id);
      const std::string child = it == containers_.end() ? "ERROR" : it->second.status;
      if (child == "ERROR" || child == "EXPIRED") {
        ct.status = "ERROR";
        ct.error = error_json(100, 2207028, "Carousel item " + id + " failed: " += child);
        return;
      }
      if (child != "FINISHED") return;
    }
  }
  ct.status = ct.error.is_object() ? "ERROR" : "FINISHED";
}

// What processing will conclude about the container's media (applied when its polls are done).
void Emulator::ig_media_arrived(Container& ct, const json& facts, const std::string& fetch_error) {
  ct.ready_ms = now();
  auto& owner = ig_users_.at(ct.owner);
  if (owner.next_container_error.is_object()) {
    ct.error =
        error_json(owner.next_container_error.value("code", -1), owner.next_container_error.value("subcode", 2207001),
                   owner.next_container_error.value("message", std::string("Instagram server error")));
    owner.next_container_error = nullptr;
    return;
  }
  if (fetch_error == "timeout") {
    ct.error = error_json(-2, 2207003, "Timeout while downloading the media");
    return;
  }
  if (!fetch_error.empty()) {
    ct.error = error_json(9004, 2207052, "The media could not be fetched from the URI: " + fetch_error);
    return;
  }
  if (!is_video_kind(ct) || facts.is_null()) return;
  const auto format = facts.value("format", std::string());
  const double duration = facts.value("duration_s", 0.0);
  if (format == "mp4" && !facts.value("complete", true)) {
    ct.error = error_json(-1, 2207053, "An unknown error occurred while uploading the video");
    return;
  }
  if (format != "mp4" || !facts.value("has_video", false)) {
    ct.error = error_json(352, 2207026, "The video format is not supported. Please check spec for supported formats");
    return;
  }
  const double max_s = ct.media_type == "REELS" ? 900 : 60;  // reels up to 15 min; stories and carousel videos 60 s
  if (duration < 3 || duration > max_s) {
    ct.error = error_json(352, 2207026,
                          "The video is " + std::to_string(static_cast<int>(duration)) + " s long; it must be 3 to " +
                              std::to_string(static_cast<int>(max_s)) + " s");
    return;
  }
  if (ct.thumb_offset_ms > duration * 1000) {
    ct.error = error_json(1, 2207057, "The thumb_offset is past the end of the video");
  }
}

// A read of the container: while its media is there and polls are left, it uses one and answers
// IN_PROGRESS; otherwise it settles. Reading a carousel polls its children too.
void Emulator::ig_poll(Container& ct) {
  if (ct.media_type == "CAROUSEL") {
    for (const auto& id : ct.children) {
      auto it = containers_.find(id);
      if (it != containers_.end()) ig_poll(it->second);
    }
  }
  if (ct.status == "IN_PROGRESS" && ct.ready_ms >= 0 && ct.polls_left > 0 &&
      now() < ct.created_ms + limits_.ig_container_ttl_ms) {
    --ct.polls_left;
    return;
  }
  // The children were just read: a child that used its last poll shows IN_PROGRESS this time.
  ig_settle(ct, false);
}

// ---- endpoints ----------------------------------------------------------------------------------------

Response Emulator::ig_user(Call& c) {
  const auto& ig = ig_users_.at(c.segments[0]);
  if (auto e = access_ig(c, ig, "instagram_basic", "instagram_business_basic")) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, c.host == Host::instagram_graph ? "id,user_id,username" : "id", fields)) return fail(c, *e);
  json out{{"id", ig.id}};
  for (const auto& f : fields) {
    if (f.name == "id") continue;
    if (f.name == "username") {
      out["username"] = ig.username;
    } else if (f.name == "name") {
      out["name"] = ig.name;
    } else if (f.name == "user_id" || f.name == "ig_id") {
      out[f.name] = ig.id;
    } else if (f.name == "followers_count") {
      out["followers_count"] = ig.followers;
    } else if (f.name == "follows_count") {
      out["follows_count"] = 180;
    } else if (f.name == "media_count") {
      out["media_count"] = std::count_if(media_.begin(), media_.end(), [&](const auto& m) {
        return m.second.owner == ig.id && !m.second.is_child && m.second.product_type != "STORY";
      });
    } else if (f.name == "profile_picture_url") {
      out["profile_picture_url"] = "https://scontent.cdninstagram.com/v/sandbox/" + ig.id + ".jpg";
    } else if (f.name == "account_type") {
      out["account_type"] = "BUSINESS";
    } else if (f.name == "biography" || f.name == "website") {
      out[f.name] = "";
    } else {
      return fail(c, errors::unknown_field(f.name, "IGUser"));
    }
  }
  return ok(c, out);
}

net::awaitable<Response> Emulator::ig_media_create(Call& c) {
  const std::string ig_id = c.segments[0];
  {
    const auto& ig = ig_users_.at(ig_id);
    if (auto e = access_ig(c, ig, "instagram_content_publish", "instagram_business_content_publish"))
      co_return fail(c, *e);
  }
  const auto& p = c.params;
  if (!p.body_error.empty()) co_return fail(c, errors::invalid_parameter(p.body_error));
  Container ct;
  ct.owner = ig_id;
  ct.image_url = p.str("image_url");
  ct.video_url = p.str("video_url");
  ct.media_type = upper(p.str("media_type"));
  if (ct.media_type.empty() && !ct.image_url.empty()) ct.media_type = "IMAGE";
  ct.is_carousel_item = p.boolean("is_carousel_item").value_or(false);
  ct.resumable = p.str("upload_type") == "resumable";
  ct.caption = p.str("caption");
  ct.cover_url = p.str("cover_url");
  ct.alt_text = p.str("alt_text");
  ct.share_to_feed = p.boolean("share_to_feed").value_or(true);
  for (const char* key : {"location_id", "user_tags", "product_tags", "collaborators", "audio_name", "trial_params"})
    if (p.has(key)) ct.extra[key] = p.str(key);
  static const std::vector<std::string> kTypes{"IMAGE", "VIDEO", "REELS", "STORIES", "CAROUSEL"};
  if (ct.media_type.empty() && ct.video_url.empty() && !ct.resumable)
    co_return fail(c, errors::missing_parameter("image_url"));
  if (!contains(kTypes, ct.media_type))
    co_return fail(c, errors::invalid_parameter("Param media_type must be one of {IMAGE, VIDEO, REELS, STORIES, "
                                                "CAROUSEL}"));
  if (ct.media_type == "VIDEO" && !ct.is_carousel_item)
    co_return fail(c, errors::invalid_parameter("The VIDEO media type is only for carousel items; publish single "
                                                "videos as REELS"));
  if (ct.resumable) {
    if (c.host == Host::instagram_graph)
      co_return fail(c, errors::invalid_parameter("upload_type=resumable is available only with Facebook Login"));
    if (ct.media_type == "IMAGE" || ct.media_type == "CAROUSEL")
      co_return fail(c, errors::invalid_parameter("upload_type=resumable is only for video media types"));
    ct.video_url.clear();
  } else if (ct.media_type == "IMAGE" && ct.image_url.empty()) {
    co_return fail(c, errors::missing_parameter("image_url"));
  } else if ((ct.media_type == "REELS" || ct.media_type == "VIDEO") && ct.video_url.empty()) {
    co_return fail(c, errors::missing_parameter("video_url"));
  } else if (ct.media_type == "STORIES" && ct.image_url.empty() && ct.video_url.empty()) {
    co_return fail(c, errors::missing_parameter("image_url or video_url"));
  }
  if (!ct.alt_text.empty() && (ct.media_type != "IMAGE" || ct.resumable))
    co_return fail(c, errors::invalid_parameter("alt_text is supported for images only"));
  if (p.has("thumb_offset")) {
    auto offset = p.integer("thumb_offset");
    if (!offset || *offset < 0) co_return fail(c, errors::invalid_parameter("thumb_offset must be milliseconds"));
    ct.thumb_offset_ms = *offset;
  }
  if (ct.media_type == "STORIES") ct.caption.clear();  // stories carry no caption
  if (auto e = caption_problem(ct.caption)) co_return fail(c, *e);

  // Carousel: the children, already created as carousel items of this account.
  if (ct.media_type == "CAROUSEL") {
    auto text = p.str("children");
    std::vector<std::string> children;
    auto as_json = json::parse(text, nullptr, false);
    if (as_json.is_array()) {
      for (const auto& v : as_json) children.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    } else {
      children = split_list(text);
    }
    if (children.size() < 2 || children.size() > 10)
      co_return fail(c, GraphError{400, 100, 2207028,
                                   "(#100) A carousel needs 2 to 10 children; got " + std::to_string(children.size()),
                                   "OAuthException", "Carousel not accepted", "", false, nullptr});
    for (const auto& id : children) {
      auto it = containers_.find(id);
      std::string why;
      if (it == containers_.end() || it->second.owner != ig_id) {
        why = "is not a container of this account";
      } else {
        ig_settle(it->second);
        if (!it->second.is_carousel_item)
          why = "was not created with is_carousel_item=true";
        else if (!it->second.parent.empty())
          why = "already belongs to carousel " + it->second.parent;
        else if (it->second.status == "ERROR" || it->second.status == "EXPIRED")
          why = "is " + it->second.status;
      }
      if (!why.empty())
        co_return fail(c, GraphError{400, 100, 2207028, ("(#100) Carousel child " + id + " ").append(why),
                                     "OAuthException", "Carousel not accepted", "", false, nullptr});
    }
    ct.children = children;
  }

  auto over_daily_cap = [&]() -> std::optional<GraphError> {
    auto& ig = ig_users_.at(ig_id);
    std::erase_if(ig.containers_created_ms, [&](std::int64_t at) { return at <= now() - kDayMs; });
    if (static_cast<std::int64_t>(ig.containers_created_ms.size()) < limits_.ig_containers_per_day) return std::nullopt;
    return GraphError{400,
                      9,
                      0,
                      "(#9) This account created " + std::to_string(ig.containers_created_ms.size()) +
                          " media containers in the last 24 hours; the limit is " +
                          std::to_string(limits_.ig_containers_per_day),
                      "OAuthException",
                      "Too many containers",
                      "",
                      false,
                      nullptr};
  };
  if (auto e = over_daily_cap()) co_return fail(c, *e);

  // The media, fetched the way Meta's servers fetch image_url / video_url.
  json facts;
  std::string fetch_error;
  const std::string url =
      ct.resumable || ct.media_type == "CAROUSEL" ? "" : (ct.image_url.empty() ? ct.video_url : ct.image_url);
  const bool image = !ct.image_url.empty() && !ct.resumable;
  if (!url.empty()) {
    FetchResult fetched = co_await fetch_url(url, fetch_options());
    if (!fetched.ok()) {
      fetch_error = fetched.error == "timeout" ? "timeout"
                    : fetched.error.empty()    ? "HTTP " + std::to_string(fetched.status)
                                               : fetched.detail;
    } else {
      facts = facts_of(fetched.body, static_cast<std::int64_t>(fetched.total_bytes));
    }
    // Other requests ran during the fetch.
    if (!ig_users_.count(ig_id)) co_return fail(c, errors::unknown_object(ig_id, "POST"));
    for (const auto& id : ct.children)
      if (!containers_.count(id)) co_return fail(c, errors::unknown_object(id, "POST"));
    if (auto e = over_daily_cap()) co_return fail(c, *e);
    if (image) {
      // Images are judged at once: the create call answers the error.
      if (fetch_error == "timeout")
        co_return fail(c, media_error(-2, 2207003, "Timeout while downloading the media", "Media download timed out"));
      if (!fetch_error.empty())
        co_return fail(c, media_error(9004, 2207052, "The media could not be fetched from the URI: " + fetch_error,
                                      "Media download failed"));
      if (facts.value("bytes", std::int64_t{0}) > limits_.ig_image_max_bytes)
        co_return fail(c,
                       media_error(36000, 2207004, "The image is too large: the maximum is 8 MiB", "Image too large"));
      const auto width = facts.value("width", 0);
      const auto height = facts.value("height", 0);
      if (facts.value("format", std::string()) != "jpeg" || width == 0 || height == 0)
        co_return fail(
            c, media_error(36001, 2207005, "The image format is not supported: use JPEG", "Unsupported image format"));
      const double ratio = static_cast<double>(width) / height;
      if (ct.media_type != "STORIES" && (ratio < 0.8 - 1e-9 || ratio > 1.91 + 1e-9))
        co_return fail(c, media_error(36003, 2207009,
                                      "The aspect ratio " + std::to_string(width) + "x" + std::to_string(height) +
                                          " is not supported: it must be between 4:5 and 1.91:1",
                                      "Unsupported aspect ratio"));
    }
  }

  auto& ig = ig_users_.at(ig_id);
  ct.id = new_id(17880000000000000ULL);
  ct.created_ms = now();
  const bool video = is_video_kind(ct);
  ct.polls_left = video ? (ig.video_polls >= 0 ? ig.video_polls : limits_.ig_video_polls)
                        : (ig.image_polls >= 0 ? ig.image_polls : limits_.ig_image_polls);
  ig.containers_created_ms.push_back(now());
  for (const auto& id : ct.children) containers_.at(id).parent = ct.id;
  auto& stored = containers_[ct.id];
  stored = ct;
  if (facts.is_object()) stored.upload.facts = facts;
  if (!ct.resumable) ig_media_arrived(stored, facts, fetch_error);
  json out{{"id", stored.id}};
  if (ct.resumable)
    out["uri"] = public_base(c) + "/rupload/ig-api-upload/v" + std::to_string(c.served) + ".0/" + stored.id;
  co_return ok(c, out);
}

json Emulator::ig_container_json(const Container& ct, const std::vector<FieldSel>& fields) {
  json out{{"id", ct.id}};
  for (const auto& f : fields) {
    if (f.name == "status_code") {
      out["status_code"] = ct.status;
    } else if (f.name == "status") {
      if (ct.status == "IN_PROGRESS") out["status"] = "In Progress: Media is still being processed.";
      if (ct.status == "FINISHED") out["status"] = "Finished: Media has been uploaded and it is ready to be published.";
      if (ct.status == "PUBLISHED") out["status"] = "Published: Media has been successfully published.";
      if (ct.status == "EXPIRED") out["status"] = "Expired: Media was not published within 24 hours.";
      if (ct.status == "ERROR")
        out["status"] = "Error: " + ct.error.value("message", std::string("Media upload failed")) + " (error subcode " +
                        std::to_string(ct.error.value("subcode", 0)) + ")";
    } else if (f.name == "copyright_check_status") {
      std::string s = "not_started";
      if (is_video_kind(ct)) {
        s = ct.status == "IN_PROGRESS" ? "in_progress" : ct.status == "ERROR" ? "error" : "completed";
      }
      out["copyright_check_status"] = {{"matches_found", false}, {"status", s}};
    }
  }
  return out;
}

Response Emulator::ig_container(Call& c) {
  auto& ct = containers_.at(c.segments[0]);
  const auto& ig = ig_users_.at(ct.owner);
  if (auto e = access_ig(c, ig, "instagram_basic", "instagram_business_basic")) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id", fields)) return fail(c, *e);
  for (const auto& f : fields) {
    if (f.name != "id" && f.name != "status_code" && f.name != "status" && f.name != "copyright_check_status")
      return fail(c, errors::unknown_field(f.name, "ShadowIGMediaBuilder"));
  }
  ig_poll(ct);  // every read of a container is a poll
  return ok(c, ig_container_json(ct, fields));
}

Response Emulator::ig_media_publish(Call& c) {
  const std::string ig_id = c.segments[0];
  auto& ig = ig_users_.at(ig_id);
  if (auto e = access_ig(c, ig, "instagram_content_publish", "instagram_business_content_publish")) return fail(c, *e);
  if (!c.params.has("creation_id")) return fail(c, errors::missing_parameter("creation_id"));
  const auto creation_id = c.params.str("creation_id");
  auto it = containers_.find(creation_id);
  if (it == containers_.end() || it->second.owner != ig_id)
    return fail(c, GraphError{400, 100, 2207006,
                              "(#100) Media not found: " + creation_id + " is not a media container of this account",
                              "OAuthException", "Media not found", "", false, nullptr});
  auto& ct = it->second;
  if (ct.is_carousel_item)
    return fail(c, GraphError{400, 100, 2207028, "(#100) A carousel item is published with its carousel, not alone",
                              "OAuthException", "", "", false, nullptr});
  ig_settle(ct);
  if (ct.status != "PUBLISHED" && ig_quota_usage(ig, 0) >= ig_quota_total(ig))
    return fail(c, GraphError{400, 9, 2207042,
                              "(#9) You reached maximum number of posts that is allowed to be published by Instagram "
                              "API in a 24 hour period.",
                              "OAuthException", "Publishing limit reached",
                              "You reached the maximum number of posts for this account in 24 hours.", false, nullptr});
  if (ct.status == "EXPIRED")
    return fail(c,
                media_error(-2, 2207020, "The media you are trying to access has expired. Please try to upload again.",
                            "Media expired"));
  if (ct.status == "ERROR") return fail(c, from_json_error(ct.error));
  if (ct.status == "IN_PROGRESS")
    return fail(c, GraphError{400, 9007, 2207027, "Media ID is not available", "OAuthException", "Cannot Publish",
                              "The media is not ready for publishing, please wait for a moment", false, nullptr});
  if (ct.status == "PUBLISHED") return fail(c, errors::invalid_parameter("This media has already been published."));

  auto make_media = [&](const Container& from, bool child) {
    Media m;
    m.id = new_id(17920000000000000ULL);
    m.owner = ig_id;
    m.container_id = from.id;
    m.is_child = child;
    m.created_ms = now();
    m.alt_text = from.alt_text;
    m.share_to_feed = from.share_to_feed;
    const bool video = is_video_kind(from);
    m.media_type = video ? "VIDEO" : "IMAGE";
    m.product_type = from.media_type == "REELS" ? "REELS" : from.media_type == "STORIES" ? "STORY" : "FEED";
    m.duration_s = from.upload.facts.is_object() ? from.upload.facts.value("duration_s", 0.0) : 0.0;
    m.media_url = !from.image_url.empty()   ? from.image_url
                  : !from.video_url.empty() ? from.video_url
                                            : "https://scontent.cdninstagram.com/v/sandbox/" + m.id + ".mp4";
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    auto h = stable_hash(m.id);
    for (int i = 0; i < 11; ++i, h >>= 6) m.shortcode += kAlphabet[h & 63];
    return m;
  };
  Media published = make_media(ct, false);
  published.caption = ct.caption;
  if (ct.media_type == "CAROUSEL") {
    published.media_type = "CAROUSEL_ALBUM";
    published.media_url.clear();
    for (const auto& child_id : ct.children) {
      auto& child = containers_.at(child_id);
      Media m = make_media(child, true);
      child.status = "PUBLISHED";
      child.media_id = m.id;
      published.children.push_back(m.id);
      media_[m.id] = m;
    }
  }
  ct.status = "PUBLISHED";
  ct.media_id = published.id;
  ig.published_ms.push_back(now());
  media_[published.id] = published;
  return ok(c, {{"id", published.id}});
}

Response Emulator::ig_publishing_limit(Call& c) {
  const auto& ig = ig_users_.at(c.segments[0]);
  if (auto e = access_ig(c, ig, "instagram_basic", "instagram_business_basic")) return fail(c, *e);
  std::int64_t since_ms = 0;
  if (c.params.has("since")) {
    auto since = c.params.integer("since");
    if (!since) return fail(c, errors::invalid_parameter("since must be a Unix timestamp"));
    since_ms = *since * kSecondMs;
    if (since_ms < now() - kDayMs)
      return fail(c, errors::invalid_parameter("since must be a time within the last 24 hours"));
  }
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "quota_usage", fields)) return fail(c, *e);
  json item = json::object();
  for (const auto& f : fields) {
    if (f.name == "quota_usage") {
      item["quota_usage"] = ig_quota_usage(ig, since_ms);
    } else if (f.name == "config") {
      item["config"] = {{"quota_total", ig_quota_total(ig)}, {"quota_duration", limits_.ig_quota_duration_s}};
    } else {
      return fail(c, errors::unknown_field(f.name, "ContentPublishingLimitResponse"));
    }
  }
  return ok(c, {{"data", json::array({item})}});
}

std::string Emulator::ig_permalink(const Media& m) const {
  if (m.product_type == "STORY") {
    const auto owner = ig_users_.find(m.owner);
    return "https://www.instagram.com/stories/" + (owner == ig_users_.end() ? m.owner : owner->second.username) + "/" +
           m.id + "/";
  }
  return "https://www.instagram.com/" + std::string(m.product_type == "REELS" ? "reel" : "p") + "/" + m.shortcode + "/";
}

std::optional<GraphError> Emulator::ig_media_fields(const Media& m, const std::vector<FieldSel>& fields,
                                                    json& out) const {
  out["id"] = m.id;
  for (const auto& f : fields) {
    if (!listed(kIgMediaFields, f.name)) return errors::unknown_field(f.name, "IGMedia");
    if (f.name == "caption" && !m.is_child) out["caption"] = m.caption;
    if (f.name == "media_type") out["media_type"] = m.media_type;
    if (f.name == "media_product_type") out["media_product_type"] = m.product_type;
    if (f.name == "permalink") out["permalink"] = ig_permalink(m);
    if (f.name == "timestamp") out["timestamp"] = graph_time(m.created_ms);
    if (f.name == "like_count") out["like_count"] = ig_metric(m, "likes");
    if (f.name == "comments_count") out["comments_count"] = ig_metric(m, "comments");
    if (f.name == "username") {
      auto owner = ig_users_.find(m.owner);
      out["username"] = owner == ig_users_.end() ? "" : owner->second.username;
    }
    if (f.name == "shortcode") out["shortcode"] = m.shortcode;
    if (f.name == "media_url" && !m.media_url.empty()) out["media_url"] = m.media_url;
    if (f.name == "thumbnail_url" && m.media_type == "VIDEO")
      out["thumbnail_url"] = "https://scontent.cdninstagram.com/v/sandbox/" + m.id + "_thumb.jpg";
    if (f.name == "is_shared_to_feed" && m.product_type == "REELS") out["is_shared_to_feed"] = m.share_to_feed;
    if (f.name == "owner") out["owner"] = {{"id", m.owner}};
    if (f.name == "alt_text" && !m.alt_text.empty()) out["alt_text"] = m.alt_text;
    if (f.name == "is_comment_enabled") out["is_comment_enabled"] = true;
    if (f.name == "children" && m.media_type == "CAROUSEL_ALBUM") {
      std::vector<FieldSel> sub = f.subfields;
      if (sub.empty()) sub.push_back(FieldSel{"id", {}, {}});
      json data = json::array();
      for (const auto& id : m.children) {
        json child = json::object();
        if (auto e = ig_media_fields(media_.at(id), sub, child)) return e;
        data.push_back(child);
      }
      out["children"] = {{"data", data}};
    }
  }
  return std::nullopt;
}

Response Emulator::ig_media(Call& c) {
  const auto& m = media_.at(c.segments[0]);
  if (auto e = access_ig(c, ig_users_.at(m.owner), "instagram_basic", "instagram_business_basic")) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id", fields)) return fail(c, *e);
  json out = json::object();
  if (auto e = ig_media_fields(m, fields, out)) return fail(c, *e);
  return ok(c, out);
}

Response Emulator::ig_media_children(Call& c) {
  const auto& m = media_.at(c.segments[0]);
  if (auto e = access_ig(c, ig_users_.at(m.owner), "instagram_basic", "instagram_business_basic")) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id", fields)) return fail(c, *e);
  json data = json::array();
  for (const auto& id : m.children) {
    json child = json::object();
    if (auto e = ig_media_fields(media_.at(id), fields, child)) return fail(c, *e);
    data.push_back(child);
  }
  return ok(c, {{"data", data}});
}

// The account's recent media, newest first (feed posts and reels; stories have their own edge).
Response Emulator::ig_media_list(Call& c) {
  const std::string ig_id = c.segments[0];
  if (auto e = access_ig(c, ig_users_.at(ig_id), "instagram_basic", "instagram_business_basic")) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id", fields)) return fail(c, *e);
  std::vector<const Media*> list;
  for (const auto& [id, m] : media_)
    if (m.owner == ig_id && !m.is_child && m.product_type != "STORY") list.push_back(&m);
  std::sort(list.begin(), list.end(), [](const Media* a, const Media* b) {
    return a->created_ms != b->created_ms ? a->created_ms > b->created_ms : a->id > b->id;
  });
  std::vector<std::string> ids;
  ids.reserve(list.size());
  for (const auto* m : list) ids.push_back(m->id);
  return paginate(
      c, ids, [&](const std::string& id, json& out) { return ig_media_fields(media_.at(id), fields, out); }, 25);
}

// Stories of the last 24 hours.
Response Emulator::ig_stories(Call& c) {
  const std::string ig_id = c.segments[0];
  if (auto e = access_ig(c, ig_users_.at(ig_id), "instagram_basic", "instagram_business_basic")) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id", fields)) return fail(c, *e);
  std::vector<std::string> ids;
  for (auto it = media_.rbegin(); it != media_.rend(); ++it) {
    const auto& m = it->second;
    if (m.owner == ig_id && m.product_type == "STORY" && now() - m.created_ms < kDayMs) ids.push_back(m.id);
  }
  return paginate(
      c, ids, [&](const std::string& id, json& out) { return ig_media_fields(media_.at(id), fields, out); }, 25);
}

}  // namespace schedulo::sandbox::graph
