// Facebook Pages publishing (platform-apis.md 4.2): feed posts (text, link, several photos by
// attached_media, scheduled), photos (published, or unpublished to attach), videos (file_url, source,
// a Resumable Upload API handle, or the start/transfer/finish phases with string offsets), reels
// (video_reels start, rupload, finish; 30 a day per Page), the video status phases on the sandbox
// clock, the Page's recent posts, post reads and deletes.
//
// Video status: after the upload (finish phase, or a one-shot upload) a video is `processing` for
// fb_video_polls reads of it (reels: fb_reel_polls, then `publishing` for fb_publish_polls reads) and
// fb_processing_ms of sandbox time, then `ready` with its Page post, or `error` with the reason the
// media check found (not a video; a reel not 3-90 s, not 9:16, under 540x960).
//
// EMU-CHOICE codes: a transfer at the wrong offset 6001/1363037 with error_data {start_offset,
// end_offset} (strings); an incomplete upload at finish 6000; the reels cap code 4 (transient); a
// photo that cannot be read 324; a bad link 1609005; an identical status twice 506.
#include <algorithm>
#include <cmath>

#include "sandbox/graph/emulator.hpp"

namespace schedulo::sandbox::graph {
namespace {

bool http_url(const std::string& url) {
  const auto rest = url.starts_with("https://") ? url.substr(8) : url.starts_with("http://") ? url.substr(7) : "";
  const auto host = rest.substr(0, rest.find_first_of("/?#"));
  return !host.empty() && host.find(' ') == std::string::npos;
}

GraphError video_upload_error(const std::string& message) {
  return GraphError{400,
                    6000,
                    0,
                    "(#6000) There was a problem uploading your video file: " + message,
                    "OAuthException",
                    "Video upload failed",
                    message,
                    false,
                    nullptr};
}

constexpr std::string_view kPostFields[] = {"id",
                                            "message",
                                            "created_time",
                                            "updated_time",
                                            "permalink_url",
                                            "is_published",
                                            "status_type",
                                            "full_picture",
                                            "attachments",
                                            "shares",
                                            "reactions",
                                            "comments",
                                            "likes",
                                            "scheduled_publish_time",
                                            "from",
                                            "object_id",
                                            "story",
                                            "is_hidden"};

}  // namespace

// ---- posts --------------------------------------------------------------------------------------------

Post& Emulator::fb_new_post(const std::string& page_id, const std::string& kind) {
  Post p;
  p.id = page_id + "_" + new_id(400000000000000ULL);
  p.page_id = page_id;
  p.kind = kind;
  p.created_ms = now();
  auto& slot = posts_[p.id];
  slot = p;
  return slot;
}

void Emulator::fb_index_status(const Post& post) {
  if (status_index_posts_ + 1 == posts_.size()) {  // the index was complete before this post
    status_index_[post.page_id + '\n' + post.message].push_back(post.id);
    status_index_posts_ = posts_.size();
  }
}

bool Emulator::fb_duplicate_status(const std::string& page_id, const std::string& message) {
  if (status_index_posts_ != posts_.size()) {  // posts came another way (photos, videos, state): rebuild
    status_index_.clear();
    for (const auto& [id, post] : posts_)
      if (post.kind == "status") status_index_[post.page_id + '\n' + post.message].push_back(id);
    status_index_posts_ = posts_.size();
  }
  const auto it = status_index_.find(page_id + '\n' + message);
  if (it == status_index_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const std::string& id) {
    const auto p = posts_.find(id);
    return p != posts_.end() && p->second.page_id == page_id && !p->second.deleted && p->second.kind == "status" &&
           p->second.message == message && now() - p->second.created_ms < kDayMs;
  });
}

std::string Emulator::fb_permalink(const Post& post) const {
  const auto story = post.id.substr(post.id.find('_') + 1);
  if (post.kind == "reel") return "https://www.facebook.com/reel/" + post.video_id;
  return "https://www.facebook.com/" + post.page_id + "/posts/" + story;
}

std::optional<GraphError> Emulator::fb_post_fields(const Post& post, const std::vector<FieldSel>& fields, json& out) {
  const bool visible = post.published || (post.scheduled_ms > 0 && now() >= post.scheduled_ms);
  const auto created = post.scheduled_ms > 0 && visible ? post.scheduled_ms : post.created_ms;
  out["id"] = post.id;
  for (const auto& f : fields) {
    if (!listed(kPostFields, f.name)) return errors::unknown_field(f.name, "Post");
    if (f.name == "message" && !post.message.empty()) out["message"] = post.message;
    if (f.name == "created_time") out["created_time"] = graph_time(created);
    if (f.name == "updated_time") out["updated_time"] = graph_time(created);
    if (f.name == "permalink_url") out["permalink_url"] = fb_permalink(post);
    if (f.name == "is_published") out["is_published"] = visible;
    if (f.name == "is_hidden") out["is_hidden"] = false;
    if (f.name == "scheduled_publish_time" && post.scheduled_ms > 0)
      out["scheduled_publish_time"] = post.scheduled_ms / kSecondMs;
    if (f.name == "from") out["from"] = {{"id", post.page_id}, {"name", pages_.at(post.page_id).name}};
    if (f.name == "status_type") {
      static const std::map<std::string, std::string> kTypes{
          {"status", "mobile_status_update"}, {"link", "shared_story"}, {"photo", "added_photos"},
          {"album", "added_photos"},          {"video", "added_video"}, {"reel", "added_video"}};
      out["status_type"] = kTypes.at(post.kind);
    }
    if (f.name == "object_id" && (post.kind == "photo" || post.kind == "video" || post.kind == "reel"))
      out["object_id"] = post.kind == "photo" ? post.photo_ids.front() : post.video_id;
    if (f.name == "full_picture" && !post.photo_ids.empty())
      out["full_picture"] = photos_.at(post.photo_ids.front()).url.empty()
                                ? "https://scontent.xx.fbcdn.net/v/sandbox/" + post.photo_ids.front() + ".jpg"
                                : photos_.at(post.photo_ids.front()).url;
    if (f.name == "attachments") {
      json a;
      if (post.kind == "album") {
        json subs = json::array();
        for (const auto& id : post.photo_ids)
          subs.push_back({{"type", "photo"}, {"target", {{"id", id}}}, {"media_type", "photo"}});
        a = {{"type", "album"}, {"media_type", "album"}, {"subattachments", {{"data", subs}}}};
      } else if (post.kind == "photo") {
        a = {{"type", "photo"}, {"media_type", "photo"}, {"target", {{"id", post.photo_ids.front()}}}};
      } else if (post.kind == "video" || post.kind == "reel") {
        a = {{"type", post.kind == "reel" ? "video_autoplay" : "video_inline"},
             {"media_type", "video"},
             {"target", {{"id", post.video_id}}}};
      } else if (post.kind == "link") {
        a = {{"type", "share"}, {"media_type", "link"}, {"unshimmed_url", post.link}, {"url", post.link}};
      }
      out["attachments"] = {{"data", a.is_null() ? json::array() : json::array({a})}};
    }
    if (f.name == "shares") out["shares"] = {{"count", fb_metric(post.id, "shares", post.metrics)}};
    if (f.name == "reactions" || f.name == "likes" || f.name == "comments") {
      // Edge summaries: reactions.summary(total_count), comments.summary(true), likes.limit(0).summary(true).
      std::int64_t count = 0;
      if (f.name == "comments") {
        count = fb_metric(post.id, "comments", post.metrics);
      } else if (f.name == "likes") {
        count = fb_metric(post.id, "post_reactions_like_total", post.metrics);
      } else {
        for (const char* t : {"like", "love", "wow", "haha", "sorry", "anger"})
          count += fb_metric(post.id, std::string("post_reactions_") + t + "_total", post.metrics);
      }
      json edge{{"data", json::array()}};
      if (f.modifiers.count("summary")) {
        json summary{{"total_count", count}};
        if (f.name == "reactions") summary["viewer_reaction"] = "NONE";
        if (f.name == "comments") {
          summary["order"] = "ranked";
          summary["can_comment"] = true;
        }
        if (f.name == "likes") {
          summary["can_like"] = true;
          summary["has_liked"] = false;
        }
        edge["summary"] = summary;
      }
      out[f.name] = edge;
    }
  }
  return std::nullopt;
}

Response Emulator::fb_feed_create(Call& c) {
  const std::string page_id = c.segments[0];
  if (auto e = access_page(c, pages_.at(page_id), PageNeed::publish)) return fail(c, *e);
  const auto& p = c.params;
  if (!p.body_error.empty()) return fail(c, errors::invalid_parameter(p.body_error));
  const auto message = p.str("message");
  const auto link = p.str("link");
  // attached_media as one JSON array, or as attached_media[0]={"media_fbid":..} fields (the SDKs' form).
  std::vector<std::string> photo_ids;
  std::vector<json> attached;
  if (p.has("attached_media")) {
    auto list = json::parse(p.str("attached_media"), nullptr, false);
    if (!list.is_array()) return fail(c, errors::invalid_parameter("param attached_media must be a JSON array"));
    for (const auto& item : list) attached.push_back(item);
  }
  for (int i = 0; p.has("attached_media[" + std::to_string(i) + "]"); ++i)
    attached.push_back(json::parse(p.str("attached_media[" + std::to_string(i) + "]"), nullptr, false));
  for (std::size_t i = 0; i < attached.size(); ++i) {
    const auto& item = attached[i];
    const std::string id =
        item.is_object() && item.contains("media_fbid")
            ? (item["media_fbid"].is_string() ? item["media_fbid"].get<std::string>() : item["media_fbid"].dump())
            : "";
    auto photo = photos_.find(id);
    if (photo == photos_.end() || photo->second.page_id != page_id || photo->second.published ||
        !photo->second.post_id.empty())
      return fail(c, errors::invalid_parameter("param attached_media[" + std::to_string(i) +
                                               "] must name an unpublished, unattached photo of this Page"));
    photo_ids.push_back(id);
  }
  if (message.empty() && link.empty() && photo_ids.empty())
    return fail(c, errors::invalid_parameter("Missing message or attachment"));
  if (!link.empty() && !http_url(link))
    return fail(c, GraphError{400, 1609005, 0, "(#1609005) Error posting link: the URL is not valid", "OAuthException",
                              "Error posting link", "", false, nullptr});
  const auto published = p.boolean("published");
  std::int64_t scheduled_ms = 0;
  if (p.has("scheduled_publish_time")) {
    auto when = p.integer("scheduled_publish_time");
    if (!when) return fail(c, errors::invalid_parameter("scheduled_publish_time must be a Unix time"));
    if (published.value_or(true))
      return fail(c, errors::invalid_parameter("You cannot specify a scheduled publish time on a published post"));
    scheduled_ms = *when * kSecondMs;
    // 10 minutes to 30 days ahead (4.2, UNCONFIRMED window).
    if (scheduled_ms < now() + 10 * kMinuteMs || scheduled_ms > now() + 30 * kDayMs)
      return fail(c, errors::invalid_parameter("The specified scheduled publish time is invalid."));
  }
  // The same status text again on this Page within a day is refused.
  if (!message.empty() && link.empty() && photo_ids.empty()) {
    if (fb_duplicate_status(page_id, message))
      return fail(c, GraphError{400, 506, 0, "(#506) Duplicate status message", "OAuthException", "Duplicate post", "",
                                false, nullptr});
  }
  auto& post = fb_new_post(page_id, !photo_ids.empty() ? "album" : !link.empty() ? "link" : "status");
  post.message = message;
  post.link = link;
  post.photo_ids = photo_ids;
  post.published = published.value_or(true);
  post.scheduled_ms = scheduled_ms;
  if (post.kind == "status") fb_index_status(post);
  for (const auto& id : photo_ids) photos_.at(id).post_id = post.id;
  json out{{"id", post.id}};
  // Read-after-write: fields= on the create answers them with the id.
  if (p.has("fields")) {
    std::vector<FieldSel> fields;
    if (auto e = fields_of(c, "id", fields)) return fail(c, *e);
    if (auto e = fb_post_fields(post, fields, out)) return fail(c, *e);
  }
  return ok(c, out);
}

Response Emulator::fb_posts(Call& c) {
  const std::string page_id = c.segments[0];
  if (auto e = access_page(c, pages_.at(page_id), PageNeed::read)) return fail(c, *e);
  fb_settle_page(page_id);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id,message,created_time", fields)) return fail(c, *e);
  std::vector<const Post*> list;
  for (const auto& [id, post] : posts_) {
    const bool visible = post.published || (post.scheduled_ms > 0 && now() >= post.scheduled_ms);
    if (post.page_id == page_id && !post.deleted && visible) list.push_back(&post);
  }
  auto when = [](const Post* p) { return p->scheduled_ms > 0 ? p->scheduled_ms : p->created_ms; };
  std::sort(list.begin(), list.end(),
            [&](const Post* a, const Post* b) { return when(a) != when(b) ? when(a) > when(b) : a->id > b->id; });
  std::vector<std::string> ids;
  ids.reserve(list.size());
  for (const auto* post : list) ids.push_back(post->id);
  return paginate(
      c, ids, [&](const std::string& id, json& out) { return fb_post_fields(posts_.at(id), fields, out); }, 25);
}

Response Emulator::fb_post(Call& c) {
  const auto& post = posts_.at(c.segments[0]);
  if (auto e = access_page(c, pages_.at(post.page_id), PageNeed::read)) return fail(c, *e);
  if (post.deleted) return fail(c, errors::unknown_object(post.id, "GET"));
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id,message,created_time", fields)) return fail(c, *e);
  json out = json::object();
  if (auto e = fb_post_fields(post, fields, out)) return fail(c, *e);
  return ok(c, out);
}

Response Emulator::fb_post_delete(Call& c) {
  auto& post = posts_.at(c.segments[0]);
  if (auto e = access_page(c, pages_.at(post.page_id), PageNeed::publish)) return fail(c, *e);
  if (post.deleted) return fail(c, errors::unknown_object(post.id, "DELETE"));
  post.deleted = true;
  return ok(c, {{"success", true}});
}

// ---- photos -------------------------------------------------------------------------------------------

net::awaitable<Response> Emulator::fb_photo_create(Call& c) {
  const std::string page_id = c.segments[0];
  if (auto e = access_page(c, pages_.at(page_id), PageNeed::publish)) co_return fail(c, *e);
  const auto& p = c.params;
  if (!p.body_error.empty()) co_return fail(c, errors::invalid_parameter(p.body_error));
  const auto url = p.str("url");
  std::string bytes;
  if (p.files.count("source")) {
    bytes = p.files.at("source").data;
  } else if (!url.empty()) {
    if (!http_url(url)) co_return fail(c, errors::invalid_parameter("url should represent a valid URL"));
    FetchResult fetched = co_await fetch_url(url, fetch_options());
    if (!fetched.ok())
      co_return fail(c, GraphError{400, 324, 0, "(#324) Missing or invalid image file: the url could not be fetched",
                                   "OAuthException", "", "", false, nullptr});
    bytes = std::move(fetched.body);
    if (!pages_.count(page_id)) co_return fail(c, errors::unknown_object(page_id, "POST"));
  } else {
    co_return fail(c, GraphError{400, 324, 0, "(#324) Requires upload file", "OAuthException", "", "", false, nullptr});
  }
  const auto facts = facts_of(bytes, static_cast<std::int64_t>(bytes.size()));
  static const std::vector<std::string> kImages{"jpeg", "png", "gif", "webp"};
  if (!contains(kImages, facts.value("format", std::string())) || facts.value("width", 0) == 0)
    co_return fail(
        c, GraphError{400, 324, 0, "(#324) Missing or invalid image file", "OAuthException", "", "", false, nullptr});
  Photo photo;
  photo.id = new_id(300000000000000ULL);
  photo.page_id = page_id;
  photo.caption = p.has("caption") ? p.str("caption") : p.str("message");
  photo.url = url;
  photo.published = p.boolean("published").value_or(true);
  photo.created_ms = now();
  photo.width = facts.value("width", 0);
  photo.height = facts.value("height", 0);
  json out{{"id", photo.id}};
  if (photo.published) {
    auto& post = fb_new_post(page_id, "photo");
    post.message = photo.caption;
    post.photo_ids = {photo.id};
    photo.post_id = post.id;
    out["post_id"] = post.id;
  }
  photos_[photo.id] = photo;
  co_return ok(c, out);
}

Response Emulator::fb_photo(Call& c) {
  const auto& photo = photos_.at(c.segments[0]);
  if (auto e = access_page(c, pages_.at(photo.page_id), PageNeed::read)) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id,created_time,name", fields)) return fail(c, *e);
  json out{{"id", photo.id}};
  for (const auto& f : fields) {
    if (f.name == "id") continue;
    if (f.name == "created_time") {
      out["created_time"] = graph_time(photo.created_ms);
    } else if (f.name == "name") {
      if (!photo.caption.empty()) out["name"] = photo.caption;
    } else if (f.name == "link") {
      out["link"] = "https://www.facebook.com/photo.php?fbid=" + photo.id;
    } else if (f.name == "page_story_id") {
      if (!photo.post_id.empty()) out["page_story_id"] = photo.post_id;
    } else if (f.name == "width" || f.name == "height") {
      out[f.name] = f.name == "width" ? photo.width : photo.height;
    } else if (f.name == "images") {
      out["images"] = json::array({{{"width", photo.width},
                                    {"height", photo.height},
                                    {"source", "https://scontent.xx.fbcdn.net/v/sandbox/" + photo.id + ".jpg"}}});
    } else if (f.name == "from") {
      out["from"] = {{"id", photo.page_id}, {"name", pages_.at(photo.page_id).name}};
    } else {
      return fail(c, errors::unknown_field(f.name, "Photo"));
    }
  }
  return ok(c, out);
}

// ---- videos and reels ---------------------------------------------------------------------------------

std::int64_t Emulator::fb_reels_last_day(const Page& page) const {
  return std::count_if(page.reels_published_ms.begin(), page.reels_published_ms.end(),
                       [&](std::int64_t at) { return at > now() - kDayMs; });
}

void Emulator::fb_start_processing(Video& v) {
  auto& page = pages_.at(v.page_id);
  v.finished = true;
  v.finished_ms = now();
  v.phase = "processing";
  const bool reel = v.kind == "reel";
  const auto polls = reel ? page.reel_polls : page.video_polls;
  v.processing_polls_left = polls >= 0 ? polls : (reel ? limits_.fb_reel_polls : limits_.fb_video_polls);
  v.publishing_polls_left = limits_.fb_publish_polls;
  // What processing will find (applied when it ends).
  const auto& f = v.upload.facts;
  const auto format = f.is_object() ? f.value("format", std::string()) : std::string();
  if (!page.next_video_error.empty()) {
    v.error_message = page.next_video_error;
    page.next_video_error.clear();
  } else if (format != "mp4" || !f.value("has_video", false)) {
    v.error_message = "The video file you selected is in a format that we don't support.";
  } else if (!f.value("complete", true)) {
    v.error_message = "The video file is incomplete or corrupted.";
  } else if (reel) {
    const double duration = f.value("duration_s", 0.0);
    const double width = f.value("width", 0);
    const double height = f.value("height", 0);
    if (duration < 3 || duration > 90)
      v.error_message =
          "Reels must be 3 to 90 seconds long; this video is " + std::to_string(static_cast<int>(duration)) + " s.";
    else if (height <= 0 || std::abs(width / height - 9.0 / 16.0) > 0.01)
      v.error_message = "Reels must have a 9:16 aspect ratio.";
    else if (width < 540 || height < 960)
      v.error_message = "Reels must be at least 540x960 pixels.";
  }
}

void Emulator::fb_advance(Video& v, bool counts_as_poll) {
  if (v.phase == "processing") {
    if (v.processing_polls_left > 0) {
      if (counts_as_poll) --v.processing_polls_left;
      return;
    }
    if (now() < v.finished_ms + limits_.fb_processing_ms) return;
    if (!v.error_message.empty()) {
      v.phase = "error";
      return;
    }
    if (v.kind == "video") {
      if (v.published) {
        auto& post = fb_new_post(v.page_id, "video");
        post.message = v.description;
        post.video_id = v.id;
        v.post_id = post.id;
        v.published_ms = now();
      }
      v.phase = "ready";
      return;
    }
    v.phase = v.video_state == "DRAFT" ? "ready" : "publishing";
    return;
  }
  if (v.phase == "publishing") {
    if (v.publishing_polls_left > 0) {
      if (counts_as_poll) --v.publishing_polls_left;
      return;
    }
    if (v.video_state == "SCHEDULED" && now() < v.scheduled_ms) return;
    auto& post = fb_new_post(v.page_id, "reel");
    post.message = v.description;
    post.video_id = v.id;
    v.post_id = post.id;
    v.published_ms = now();
    v.phase = "ready";
  }
}

void Emulator::fb_settle_page(const std::string& page_id) {
  for (auto& [id, v] : videos_)
    if (v.page_id == page_id) fb_advance(v, false);
}

json Emulator::fb_video_status(const Video& v) const {
  const auto complete = json{{"status", "complete"}};
  const auto not_started = json{{"status", "not_started"}};
  json uploading{{"status", v.upload.complete ? "complete" : (v.upload.offset > 0 ? "in_progress" : "not_started")},
                 {"bytes_transferred", v.upload.offset}};
  if (v.phase == "uploading")
    return {{"video_status", "processing"},
            {"uploading_phase", uploading},
            {"processing_phase", not_started},
            {"publishing_phase", not_started}};
  if (v.phase == "processing")
    return {{"video_status", "processing"},
            {"uploading_phase", complete},
            {"processing_phase", {{"status", "in_progress"}}},
            {"publishing_phase", not_started}};
  if (v.phase == "error")
    return {{"video_status", "error"},
            {"uploading_phase", complete},
            {"processing_phase", {{"status", "error"}, {"error", {{"message", v.error_message}}}}},
            {"publishing_phase", not_started}};
  if (v.phase == "publishing") {
    json publishing{{"status", "in_progress"}};
    if (v.video_state == "SCHEDULED") {
      publishing = {
          {"status", "not_started"}, {"publish_status", "scheduled"}, {"publish_time", v.scheduled_ms / kSecondMs}};
    }
    return {{"video_status", "processing"},
            {"uploading_phase", complete},
            {"processing_phase", complete},
            {"publishing_phase", publishing}};
  }
  json publishing = not_started;
  if (!v.post_id.empty())
    publishing = {
        {"status", "complete"}, {"publish_status", "published"}, {"publish_time", v.published_ms / kSecondMs}};
  else if (v.video_state == "DRAFT")
    publishing = {{"status", "not_started"}, {"publish_status", "draft"}};
  return {{"video_status", "ready"},
          {"uploading_phase", complete},
          {"processing_phase", complete},
          {"publishing_phase", publishing}};
}

net::awaitable<Response> Emulator::fb_video_create(Call& c) {
  const std::string page_id = c.segments[0];
  if (auto e = access_page(c, pages_.at(page_id), PageNeed::publish)) co_return fail(c, *e);
  const auto& p = c.params;
  if (!p.body_error.empty()) co_return fail(c, errors::invalid_parameter(p.body_error));
  Video v;
  v.kind = "video";
  v.page_id = page_id;
  v.title = p.str("title");
  v.description = p.str("description");
  v.published = p.boolean("published").value_or(true);
  // The file's size and what it is (the bytes themselves are not kept).
  std::int64_t size = 0;
  json facts;
  if (p.files.count("source")) {
    const auto& data = p.files.at("source").data;
    size = static_cast<std::int64_t>(data.size());
    facts = facts_of(data, size);
  } else if (p.has("fbuploader_video_file_chunk")) {
    const auto handle = p.str("fbuploader_video_file_chunk");
    const UploadSession* session = nullptr;
    for (const auto& [id, s] : sessions_)
      if (!s.handle.empty() && s.handle == handle) session = &s;
    if (!session || session->user_id != c.token->user_id)
      co_return fail(c, errors::invalid_parameter("fbuploader_video_file_chunk is not a handle of a finished upload"));
    size = session->upload.file_size;
    facts = session->upload.facts;
  } else if (p.has("file_url")) {
    const auto url = p.str("file_url");
    if (!http_url(url)) co_return fail(c, errors::invalid_parameter("file_url should represent a valid URL"));
    FetchResult fetched = co_await fetch_url(url, fetch_options());
    if (!fetched.ok())
      co_return fail(c, video_upload_error(
                            "the file at file_url could not be downloaded (" +
                            (fetched.error.empty() ? "HTTP " + std::to_string(fetched.status) : fetched.detail) + ")"));
    if (!pages_.count(page_id)) co_return fail(c, errors::unknown_object(page_id, "POST"));
    size = static_cast<std::int64_t>(fetched.total_bytes);
    facts = facts_of(fetched.body, size);
    v.upload.file_url = url;
  } else {
    co_return fail(c, video_upload_error("file_url, source or fbuploader_video_file_chunk is required"));
  }
  v.id = new_id(300000000000000ULL);
  v.created_ms = now();
  v.upload.file_size = size;
  v.upload.offset = size;
  v.upload.complete = true;
  v.upload.facts = facts;
  auto& stored = videos_[v.id];
  stored = v;
  fb_start_processing(stored);
  co_return ok(c, {{"id", stored.id}});
}

// The legacy chunked phases on graph-video (4.2): offsets travel as strings.
Response Emulator::fb_video_start(Call& c) {
  const std::string page_id = c.segments[0];
  if (auto e = access_page(c, pages_.at(page_id), PageNeed::publish)) return fail(c, *e);
  const auto size = c.params.integer("file_size");
  if (!size || *size <= 0) return fail(c, errors::missing_parameter("file_size"));
  Video v;
  v.id = new_id(300000000000000ULL);
  v.kind = "video";
  v.page_id = page_id;
  v.session_id = new_id(500000000000000ULL);
  v.created_ms = now();
  v.upload.file_size = *size;
  videos_[v.id] = v;
  const auto end = std::min(*size, limits_.fb_chunk_bytes);
  return ok(c, {{"video_id", v.id},
                {"upload_session_id", v.session_id},
                {"start_offset", "0"},
                {"end_offset", std::to_string(end)}});
}

Response Emulator::fb_video_transfer(Call& c) {
  const std::string page_id = c.segments[0];
  if (auto e = access_page(c, pages_.at(page_id), PageNeed::publish)) return fail(c, *e);
  const auto& p = c.params;
  Video* v = nullptr;
  for (auto& [id, candidate] : videos_)
    if (!candidate.session_id.empty() && candidate.session_id == p.str("upload_session_id") &&
        candidate.page_id == page_id)
      v = &candidate;
  if (!v) return fail(c, errors::invalid_parameter("Invalid upload_session_id"));
  if (!p.body_error.empty() || !p.files.count("video_file_chunk"))
    return fail(c, errors::missing_parameter("video_file_chunk"));
  const auto start = p.integer("start_offset");
  if (!start) return fail(c, errors::missing_parameter("start_offset"));
  auto& u = v->upload;
  auto expected = [&] {
    return json{{"start_offset", std::to_string(u.offset)},
                {"end_offset", std::to_string(std::min(u.file_size, u.offset + limits_.fb_chunk_bytes))}};
  };
  if (*start != u.offset || v->finished) {
    // What a client resuming after a lost answer meets: where to go on from, in error_data.
    auto e = GraphError{400,
                        6001,
                        1363037,
                        "(#6001) There was a problem uploading your video file. Please try again.",
                        "OAuthException",
                        "Upload failed",
                        "The upload resumes from start_offset " + std::to_string(u.offset) + ".",
                        false,
                        expected()};
    return fail(c, e);
  }
  const auto& chunk = p.files.at("video_file_chunk").data;
  if (chunk.empty()) return fail(c, errors::missing_parameter("video_file_chunk"));
  const auto error = receive(u, *start, u.file_size, chunk);
  if (!error.empty()) return fail(c, video_upload_error(error));
  return ok(c, expected());
}

Response Emulator::fb_video_finish(Call& c) {
  const std::string page_id = c.segments[0];
  if (auto e = access_page(c, pages_.at(page_id), PageNeed::publish)) return fail(c, *e);
  const auto& p = c.params;
  Video* v = nullptr;
  for (auto& [id, candidate] : videos_)
    if (!candidate.session_id.empty() && candidate.session_id == p.str("upload_session_id") &&
        candidate.page_id == page_id)
      v = &candidate;
  if (!v) return fail(c, errors::invalid_parameter("Invalid upload_session_id"));
  if (v->finished) return ok(c, {{"success", true}});  // a finish repeated after a lost answer
  if (!v->upload.complete) {
    auto e = video_upload_error("the upload is incomplete: " + std::to_string(v->upload.offset) + " of " +
                                std::to_string(v->upload.file_size) + " bytes received");
    e.error_data = {
        {"start_offset", std::to_string(v->upload.offset)},
        {"end_offset", std::to_string(std::min(v->upload.file_size, v->upload.offset + limits_.fb_chunk_bytes))}};
    return fail(c, e);
  }
  v->title = p.str("title");
  v->description = p.str("description");
  v->published = p.boolean("published").value_or(true);
  fb_start_processing(*v);
  return ok(c, {{"success", true}});
}

Response Emulator::fb_video(Call& c) {
  auto& v = videos_.at(c.segments[0]);
  if (auto e = access_page(c, pages_.at(v.page_id), PageNeed::read)) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id", fields)) return fail(c, *e);
  fb_advance(v, true);  // every read of a video is a poll
  json out{{"id", v.id}};
  for (const auto& f : fields) {
    if (f.name == "id") continue;
    if (f.name == "status") {
      out["status"] = fb_video_status(v);
    } else if (f.name == "title") {
      if (!v.title.empty()) out["title"] = v.title;
    } else if (f.name == "description") {
      if (!v.description.empty()) out["description"] = v.description;
    } else if (f.name == "created_time" || f.name == "updated_time") {
      out[f.name] = graph_time(v.created_ms);
    } else if (f.name == "permalink_url") {
      out["permalink_url"] = v.kind == "reel" ? "/reel/" + v.id + "/" : "/" + v.page_id + "/videos/" + v.id + "/";
    } else if (f.name == "length") {
      out["length"] = v.upload.facts.is_object() ? v.upload.facts.value("duration_s", 0.0) : 0.0;
    } else if (f.name == "published") {
      out["published"] = !v.post_id.empty();
    } else if (f.name == "post_id") {
      if (!v.post_id.empty()) out["post_id"] = v.post_id;
    } else if (f.name == "from") {
      out["from"] = {{"id", v.page_id}, {"name", pages_.at(v.page_id).name}};
    } else {
      return fail(c, errors::unknown_field(f.name, "Video"));
    }
  }
  return ok(c, out);
}

Response Emulator::fb_reel_start(Call& c) {
  const std::string page_id = c.segments[0];
  const auto& page = pages_.at(page_id);
  if (auto e = access_page(c, page, PageNeed::publish)) return fail(c, *e);
  if (c.params.str("upload_phase") != "start")
    return fail(c, errors::invalid_parameter("upload_phase must be start or finish"));
  if (fb_reels_last_day(page) >= limits_.fb_reels_per_day)
    return fail(c, GraphError{400, 4, 0,
                              "(#4) This Page has published " + std::to_string(limits_.fb_reels_per_day) +
                                  " reels through the API in the last 24 hours, the most allowed",
                              "OAuthException", "Reels limit reached", "", true, nullptr});
  Video v;
  v.id = new_id(300000000000000ULL);
  v.kind = "reel";
  v.page_id = page_id;
  v.created_ms = now();
  videos_[v.id] = v;
  return ok(c, {{"video_id", v.id},
                {"upload_url", public_base(c) + "/rupload/video-upload/v" + std::to_string(c.served) + ".0/" + v.id}});
}

Response Emulator::fb_reel_finish(Call& c) {
  const std::string page_id = c.segments[0];
  auto& page = pages_.at(page_id);
  if (auto e = access_page(c, page, PageNeed::publish)) return fail(c, *e);
  const auto& p = c.params;
  auto it = videos_.find(p.str("video_id"));
  if (it == videos_.end() || it->second.kind != "reel" || it->second.page_id != page_id)
    return fail(c, errors::invalid_parameter("video_id must name a reel started on this Page"));
  auto& v = it->second;
  if (v.finished) return ok(c, {{"success", true}});  // a finish repeated after a lost answer
  if (!p.has("video_state")) return fail(c, errors::missing_parameter("video_state"));
  const auto state = p.str("video_state");
  if (state != "PUBLISHED" && state != "DRAFT" && state != "SCHEDULED")
    return fail(c, errors::invalid_parameter("video_state must be one of PUBLISHED, DRAFT, SCHEDULED"));
  if (!v.upload.complete)
    return fail(c, video_upload_error("the reel's upload is incomplete: " + std::to_string(v.upload.offset) +
                                      " bytes received"));
  std::int64_t scheduled_ms = 0;
  if (state == "SCHEDULED") {
    auto when = p.integer("scheduled_publish_time");
    if (!when) return fail(c, errors::missing_parameter("scheduled_publish_time"));
    scheduled_ms = *when * kSecondMs;
    if (scheduled_ms < now() + 10 * kMinuteMs || scheduled_ms > now() + 30 * kDayMs)
      return fail(c, errors::invalid_parameter("The specified scheduled publish time is invalid."));
  }
  if (state != "DRAFT" && fb_reels_last_day(page) >= limits_.fb_reels_per_day)
    return fail(c, GraphError{400, 4, 0,
                              "(#4) This Page has published " + std::to_string(limits_.fb_reels_per_day) +
                                  " reels through the API in the last 24 hours, the most allowed",
                              "OAuthException", "Reels limit reached", "", true, nullptr});
  v.video_state = state;
  v.scheduled_ms = scheduled_ms;
  v.description = p.str("description");
  v.title = p.str("title");
  if (state != "DRAFT") page.reels_published_ms.push_back(now());
  fb_start_processing(v);
  return ok(c, {{"success", true}});
}

Response Emulator::fb_reels(Call& c) {
  const std::string page_id = c.segments[0];
  if (auto e = access_page(c, pages_.at(page_id), PageNeed::read)) return fail(c, *e);
  fb_settle_page(page_id);
  std::vector<std::string> ids;
  for (auto it = videos_.rbegin(); it != videos_.rend(); ++it)
    if (it->second.page_id == page_id && it->second.kind == "reel") ids.push_back(it->first);
  return paginate(
      c, ids,
      [&](const std::string& id, json& out) -> std::optional<GraphError> {
        const auto& v = videos_.at(id);
        out["id"] = id;
        if (!v.description.empty()) out["description"] = v.description;
        out["created_time"] = graph_time(v.created_ms);
        out["status"] = fb_video_status(v);
        if (!v.post_id.empty()) out["post_id"] = v.post_id;
        return std::nullopt;
      },
      25);
}

Response Emulator::fb_page(Call& c) {
  const auto& page = pages_.at(c.segments[0]);
  if (auto e = access_page(c, page, PageNeed::read)) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id,name", fields)) return fail(c, *e);
  const Token token = *c.token;
  json out{{"id", page.id}};
  for (const auto& f : fields) {
    if (f.name == "id") continue;
    if (f.name == "name") {
      out["name"] = page.name;
    } else if (f.name == "category") {
      out["category"] = page.category;
    } else if (f.name == "access_token") {
      out["access_token"] = token.kind == "page" ? token.token : page_token_for(token, page.id);
    } else if (f.name == "instagram_business_account") {
      if (!page.ig_user_id.empty()) out["instagram_business_account"] = {{"id", page.ig_user_id}};
    } else if (f.name == "followers_count" || f.name == "fan_count") {
      out[f.name] = page.followers;
    } else if (f.name == "link") {
      out["link"] = "https://www.facebook.com/" + page.id;
    } else {
      return fail(c, errors::unknown_field(f.name, "Page"));
    }
  }
  return ok(c, out);
}

}  // namespace schedulo::sandbox::graph
