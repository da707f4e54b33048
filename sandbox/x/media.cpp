// X media upload (platform-apis.md 3.4 and 3.5): initialize, append segments, finalize and status,
// with processing that moves pending -> in_progress -> succeeded|failed one status poll at a time, a
// poll counting only when it comes check_after_secs (sandbox clock) after the previous answer. Also the
// one-shot upload, the deprecated command= form on /2/media/upload and the v1.1 endpoint (errors[]).
#include <algorithm>

#include "sandbox/x/emulator.hpp"
#include "sandbox/x/wire.hpp"

namespace schedulo::sandbox::x {

namespace {

constexpr std::int64_t kMediaLifetimeSecs = 86400;
constexpr std::int64_t kV1MediaLifetimeSecs = 3599;
constexpr int kMaxSegmentIndex = 9999;
constexpr std::size_t kMaxSegmentBytes = 5 * 1024 * 1024;
constexpr std::int64_t kMb = 1024 * 1024;

const std::vector<std::string>& categories() {
  static const std::vector<std::string> list{"tweet_image", "tweet_gif", "tweet_video", "amplify_video",
                                             "dm_image",    "dm_gif",    "dm_video",    "subtitles"};
  return list;
}

bool category_fits(const std::string& category, const std::string& type) {
  if (category == "subtitles") return type.starts_with("text/");
  if (category.ends_with("_gif")) return type == "image/gif";
  if (category.ends_with("_video")) return type.starts_with("video/");
  return type.starts_with("image/");
}

std::int64_t size_limit(const std::string& category) {
  if (category.ends_with("_gif")) return 15 * kMb;
  if (category.ends_with("_video")) return 512 * kMb;
  if (category == "subtitles") return 1 * kMb;
  return 5 * kMb;
}

std::string key_prefix(const std::string& category) {
  if (category == "amplify_video") return "13_";
  if (category.ends_with("_gif")) return "16_";
  if (category.ends_with("_video")) return "7_";
  return "3_";
}

// Every parameter of an upload call, wherever it came: query, form body or multipart parts.
struct UploadParams {
  std::map<std::string, std::string> fields;
  std::optional<std::string> media;  // the binary part (or decoded media_data / base64 `media`)
  std::string media_content_type;
  bool malformed = false;
};

UploadParams upload_params(const Request& request) {
  UploadParams p;
  for (const auto& [k, v] : request.query_params()) p.fields.emplace(k, v);
  const auto content_type = std::string(request.header("Content-Type").value_or(""));
  auto type = content_type;  // lower case for the checks; the boundary keeps its case
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  if (type.starts_with("multipart/")) {
    auto parts = parse_multipart(content_type, request.body);
    if (!parts) {
      p.malformed = true;
      return p;
    }
    for (auto& part : *parts) {
      if (part.name == "media") {
        p.media = std::move(part.data);
        p.media_content_type = part.content_type;
      } else {
        p.fields[part.name] = std::move(part.data);
      }
    }
  } else if (type.starts_with("application/json")) {
    auto body = parse_body(request);
    if (!body || !body->is_object()) {
      p.malformed = true;
      return p;
    }
    for (const auto& [k, v] : body->items()) p.fields[k] = v.is_string() ? v.get<std::string>() : v.dump();
    if (auto it = p.fields.find("media"); it != p.fields.end()) {
      p.media = base64_decode(it->second);
      if (!p.media) p.malformed = true;
      p.fields.erase(it);
    }
  } else if (!request.body.empty()) {
    for (auto& [k, v] : parse_form(request.body)) p.fields[k] = v;
  }
  if (auto it = p.fields.find("media_data"); it != p.fields.end() && !p.media) {
    p.media = base64_decode(it->second);
    if (!p.media) p.malformed = true;
  }
  return p;
}

std::string field(const UploadParams& p, const char* name) {
  auto it = p.fields.find(name);
  return it == p.fields.end() ? std::string() : it->second;
}

// The message of an answer in X's v2 shapes (for the v1.1 endpoint, which says it as errors[]).
std::string message_of(const Response& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return "Internal error";
  if (j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() && j["errors"][0].contains("message"))
    return j["errors"][0]["message"].get<std::string>();
  return j.value("detail", j.value("error_description", "Internal error"));
}

}  // namespace

Media* Emulator::media_of(const std::string& id, const Caller& caller) {
  auto it = media_.find(id);
  if (it == media_.end() || caller.app_only()) return nullptr;
  Media& m = it->second;
  const auto& owners = m.additional_owners;
  if (m.owner_id != caller.user->id && std::find(owners.begin(), owners.end(), caller.user->id) == owners.end())
    return nullptr;
  return &m;
}

std::optional<Response> Emulator::init_media(const json& f, Caller& caller, Media*& created) {
  if (!f.contains("media_type") || !f["media_type"].is_string())
    return invalid_request("media_type", nullptr, "media_type is required");
  const auto type = f["media_type"].get<std::string>();
  static const std::set<std::string> kTypes{"image/jpeg", "image/png",   "image/webp", "image/bmp",
                                            "image/gif",  "image/pjpeg", "video/mp4",  "video/quicktime",
                                            "video/webm", "text/srt",    "text/vtt"};
  if (!kTypes.contains(type)) return invalid_request("media_type", type, "media_type " + type + " is not supported");
  std::string category = type == "image/gif"          ? "tweet_gif"
                         : type.starts_with("video/") ? "tweet_video"
                         : type.starts_with("text/")  ? "subtitles"
                                                      : "tweet_image";
  if (f.contains("media_category")) {
    if (!f["media_category"].is_string()) return invalid_request("media_category", f["media_category"], "not a string");
    category = f["media_category"].get<std::string>();
    if (std::find(categories().begin(), categories().end(), category) == categories().end())
      return invalid_request("media_category", category, "media_category " + category + " is not valid");
  }
  if (!category_fits(category, type))
    return invalid_request("media_category", category, "media_category " + category + " does not fit " + type);
  std::int64_t total = 0;
  if (f.contains("total_bytes")) {
    const auto& t = f["total_bytes"];
    if (t.is_number_integer()) total = t.get<std::int64_t>();
    if (t.is_string()) total = std::strtoll(t.get<std::string>().c_str(), nullptr, 10);
  }
  if (total <= 0) return invalid_request("total_bytes", f.value("total_bytes", json()), "total_bytes must be positive");
  if (total > size_limit(category))
    return invalid_request("total_bytes", total,
                           "File size exceeds " + std::to_string(size_limit(category)) + " bytes.");
  Media m;
  m.id = new_snowflake();
  m.media_key = key_prefix(category) + m.id;
  m.owner_id = caller.user->id;
  m.client_id = caller.app->client_id;
  m.media_type = type;
  m.category = category;
  m.total_bytes = total;
  if (f.contains("additional_owners") && f["additional_owners"].is_array())
    for (const auto& o : f["additional_owners"])
      if (o.is_string()) m.additional_owners.push_back(o.get<std::string>());
  m.created_ms = core_.clock().now_ms();
  m.expires_ms = m.created_ms + kMediaLifetimeSecs * kSecondMs;
  created = &(media_[m.id] = m);
  return std::nullopt;
}

std::optional<Response> Emulator::append_segment(Media& media, const std::string& index_text,
                                                 const std::string& bytes) {
  if (media.finalized) return invalid_request("media_id", media.id, "The media was already finalized");
  if (core_.clock().now_ms() >= media.expires_ms) return invalid_request("media_id", media.id, "The media has expired");
  char* end = nullptr;
  const long index = std::strtol(index_text.c_str(), &end, 10);
  if (index_text.empty() || *end != '\0' || index < 0 || index > kMaxSegmentIndex)
    return invalid_request("segment_index", index_text, "segment_index must be an integer from 0 to 9999");
  if (bytes.empty()) return invalid_request("media", nullptr, "media is required");
  if (bytes.size() > kMaxSegmentBytes) return invalid_request("media", nullptr, "A segment may hold at most 5 MB");
  std::int64_t others = 0;
  for (const auto& [i, s] : media.segments)
    if (i != index) others += static_cast<std::int64_t>(s.size);
  if (others + static_cast<std::int64_t>(bytes.size()) > media.total_bytes)
    return invalid_request("media", nullptr, "Segments exceed the total_bytes given at initialize");
  // The same index again replaces the segment: a client repeating an append whose answer it lost.
  media.segments[static_cast<int>(index)] = {bytes.size(), sha256_hex(bytes)};
  return std::nullopt;
}

std::optional<Response> Emulator::finalize(Media& media) {
  if (media.finalized) return std::nullopt;  // finalizing again answers the current state
  std::int64_t total = 0;
  int expected = 0;
  for (const auto& [i, s] : media.segments) {
    if (i != expected++)
      return invalid_request("media_id", media.id, "Segments are missing: segment_index must run 0, 1, 2, ...");
    total += static_cast<std::int64_t>(s.size);
  }
  if (total != media.total_bytes)
    return invalid_request("media_id", media.id, "Segments do not add up to provided total file size.");
  media.finalized = true;
  if (!media.plan_set) media.plan = plan_for(media.category);
  if (media.plan.polls > 0) {
    media.state = "pending";
    media.next_poll_ms = core_.clock().now_ms() + media.plan.check_after_secs * kSecondMs;
  }
  return std::nullopt;
}

void Emulator::poll(Media& media) {
  if (media.state != "pending" && media.state != "in_progress") return;
  const auto now = core_.clock().now_ms();
  if (media.plan.require_wait && now < media.next_poll_ms) return;  // too early: no progress
  ++media.polls_done;
  media.state = media.polls_done >= media.plan.polls ? media.plan.outcome : "in_progress";
  media.next_poll_ms = now + media.plan.check_after_secs * kSecondMs;
}

json Emulator::processing_info(const Media& media) const {
  if (media.state.empty()) return nullptr;
  const int percent = media.plan.polls > 0 ? std::min(100, media.polls_done * 100 / media.plan.polls) : 100;
  json info{{"state", media.state}};
  if (media.state == "pending" || media.state == "in_progress") {
    const auto wait_ms = std::max<std::int64_t>(media.next_poll_ms - core_.clock().now_ms(), 0);
    info["check_after_secs"] = std::max<std::int64_t>((wait_ms + kSecondMs - 1) / kSecondMs, 1);
    if (media.state == "in_progress") info["progress_percent"] = percent;
  } else if (media.state == "succeeded") {
    info["progress_percent"] = 100;
  } else {
    info["progress_percent"] = percent;
    info["error"] = {{"code", 1}, {"name", "InvalidMedia"}, {"message", "Unsupported video format"}};
  }
  return info;
}

namespace {

json finalize_answer(const Media& m, std::int64_t now_ms, const json& info) {
  json data{{"id", m.id},
            {"media_key", m.media_key},
            {"size", m.total_bytes},
            {"expires_after_secs", std::max<std::int64_t>((m.expires_ms - now_ms) / kSecondMs, 0)}};
  if (!info.is_null()) data["processing_info"] = info;
  return {{"data", data}};
}

}  // namespace

// POST /x/2/media/upload/initialize (JSON)
Response Emulator::media_initialize(Request& request, Caller& caller) {
  auto body = parse_body(request);
  if (!body || !body->is_object()) return invalid_request("body", nullptr, "The request body is not a JSON object");
  Media* m = nullptr;
  if (auto e = init_media(*body, caller, m)) return std::move(*e);
  return json_response(
      200, {{"data", {{"id", m->id}, {"media_key", m->media_key}, {"expires_after_secs", kMediaLifetimeSecs}}}});
}

// POST /x/2/media/upload/{id}/append (multipart segment_index + media, or JSON with base64 media)
Response Emulator::media_append(Request& request, Caller& caller) {
  Media* m = media_of(request.params["id"], caller);
  if (!m) return invalid_request("id", request.params["id"], "Invalid media id");
  const auto params = upload_params(request);
  if (params.malformed) return invalid_request("media", nullptr, "The body is not valid multipart/form-data or JSON");
  if (auto e = append_segment(*m, field(params, "segment_index"), params.media.value_or(""))) return std::move(*e);
  return json_response(200, {{"data", {{"expires_at", m->expires_ms / kSecondMs}}}});
}

// POST /x/2/media/upload/{id}/finalize
Response Emulator::media_finalize(Request& request, Caller& caller) {
  Media* m = media_of(request.params["id"], caller);
  if (!m) return invalid_request("id", request.params["id"], "Invalid media id");
  if (auto e = finalize(*m)) return std::move(*e);
  return json_response(200, finalize_answer(*m, core_.clock().now_ms(), processing_info(*m)));
}

// GET /x/2/media/upload?command=STATUS&media_id=..
Response Emulator::media_status(Request& request, Caller& caller) {
  auto command = request.query_param("command").value_or("");
  std::transform(command.begin(), command.end(), command.begin(), [](unsigned char c) { return std::toupper(c); });
  if (command != "STATUS") return invalid_request("command", command, "command must be STATUS");
  const auto id = request.query_param("media_id").value_or("");
  Media* m = media_of(id, caller);
  if (!m) return invalid_request("media_id", id, "Invalid media id");
  if (!m->finalized) return invalid_request("media_id", id, "The media is not finalized");
  poll(*m);
  json data{{"id", m->id}, {"media_key", m->media_key}};
  if (auto info = processing_info(*m); !info.is_null()) data["processing_info"] = info;
  return json_response(200, {{"data", data}});
}

// POST /x/2/media/upload: the one-shot upload of a small image (multipart `media`, `media_category`),
// or the deprecated command=INIT|APPEND|FINALIZE form (answered in v2 shapes).
Response Emulator::media_upload(Request& request, Caller& caller) {
  const auto params = upload_params(request);
  if (params.malformed) return invalid_request("media", nullptr, "The body is not valid multipart/form-data");
  auto command = field(params, "command");
  std::transform(command.begin(), command.end(), command.begin(), [](unsigned char c) { return std::toupper(c); });
  const auto now = core_.clock().now_ms();
  if (command.empty()) {
    if (!params.media) return invalid_request("media", nullptr, "media is required");
    json f{{"media_type", field(params, "media_type").empty()
                              ? (params.media_content_type.empty() ? "image/jpeg" : params.media_content_type)
                              : field(params, "media_type")},
           {"total_bytes", static_cast<std::int64_t>(params.media->size())}};
    if (!field(params, "media_category").empty()) f["media_category"] = field(params, "media_category");
    Media* m = nullptr;
    if (auto e = init_media(f, caller, m)) return std::move(*e);
    if (auto e = append_segment(*m, "0", *params.media)) return std::move(*e);
    if (auto e = finalize(*m)) return std::move(*e);
    return json_response(200, finalize_answer(*m, now, processing_info(*m)));
  }
  if (command == "INIT") {
    json f{{"media_type", field(params, "media_type")}, {"total_bytes", field(params, "total_bytes")}};
    if (!field(params, "media_category").empty()) f["media_category"] = field(params, "media_category");
    Media* m = nullptr;
    if (auto e = init_media(f, caller, m)) return std::move(*e);
    return json_response(
        200, {{"data", {{"id", m->id}, {"media_key", m->media_key}, {"expires_after_secs", kMediaLifetimeSecs}}}});
  }
  Media* m = media_of(field(params, "media_id"), caller);
  if (!m) return invalid_request("media_id", field(params, "media_id"), "Invalid media id");
  if (command == "APPEND") {
    if (auto e = append_segment(*m, field(params, "segment_index"), params.media.value_or(""))) return std::move(*e);
    return json_response(200, {{"data", {{"expires_at", m->expires_ms / kSecondMs}}}});
  }
  if (command == "FINALIZE") {
    if (auto e = finalize(*m)) return std::move(*e);
    return json_response(200, finalize_answer(*m, now, processing_info(*m)));
  }
  return invalid_request("command", command, "command must be INIT, APPEND or FINALIZE");
}

// POST /x/2/media/metadata {"id","metadata":{"alt_text":{"text"}}}: alt text of the caller's media, up to
// 1000 characters. The answer's shape is UNCONFIRMED in platform-apis.md: the sandbox echoes the id and
// the metadata it kept.
Response Emulator::media_metadata(Request& request, Caller& caller) {
  constexpr std::size_t kMaxAltText = 1000;
  auto body = parse_body(request);
  if (!body || !body->is_object() || !body->contains("id") || !(*body)["id"].is_string())
    return invalid_request("id", nullptr, "id is required");
  const auto id = (*body)["id"].get<std::string>();
  Media* m = media_of(id, caller);
  if (!m) return invalid_request("id", id, "Invalid media id");
  const json text = body->value("/metadata/alt_text/text"_json_pointer, json());
  if (!text.is_string()) return invalid_request("metadata.alt_text.text", text, "metadata.alt_text.text is required");
  const auto& alt = text.get_ref<const std::string&>();
  std::size_t characters = 0;
  for (unsigned char c : alt) characters += (c & 0xC0) != 0x80 ? 1 : 0;  // code points: UTF-8 lead bytes
  if (!weighted_length(alt) || characters > kMaxAltText)
    return invalid_request("metadata.alt_text.text", nullptr, "alt text is valid UTF-8 of at most 1000 characters");
  m->alt_text = text.get<std::string>();
  return json_response(200,
                       {{"data", {{"id", m->id}, {"associated_metadata", {{"alt_text", {{"text", m->alt_text}}}}}}}});
}

// upload.twitter.com/1.1/media/upload.json, in the v1.1 shapes: numeric media_id beside
// media_id_string, APPEND answered 204, every error as {"errors":[{"code","message"}]} (88 rate limit,
// 89 bad token, 324 media problems).
Response Emulator::media_upload_v1(Request& request) {
  static const RouteSpec spec{"x.media.upload", true, {"media.write"}, false, false, false};
  Response r = guarded(spec, &Emulator::media_v1, request);
  if (r.status < 400) return r;
  Response v1;
  switch (r.status) {
    case 401:
      v1 = v1_error(401, 89, "Invalid or expired token.");
      break;
    case 429:
      v1 = v1_error(429, 88, "Rate limit exceeded");
      break;
    case 403:
      v1 = v1_error(403, 220, "Your credentials do not allow access to this resource.");
      break;
    default:
      v1 = v1_error(r.status, 324, message_of(r));
      break;
  }
  for (const auto& h : r.headers)
    if (h.name.starts_with("x-")) v1.set_header(h.name, h.value);
  return v1;
}

Response Emulator::media_v1(Request& request, Caller& caller) {
  const auto params = upload_params(request);
  if (params.malformed) return invalid_request("media", nullptr, "The body is not valid multipart/form-data");
  auto command = field(params, "command");
  std::transform(command.begin(), command.end(), command.begin(), [](unsigned char c) { return std::toupper(c); });
  const auto now = core_.clock().now_ms();
  auto ids = [](const Media& m) { return json{{"media_id", std::stoll(m.id)}, {"media_id_string", m.id}}; };
  if (command == "INIT") {
    json f{{"media_type", field(params, "media_type")}, {"total_bytes", field(params, "total_bytes")}};
    if (!field(params, "media_category").empty()) f["media_category"] = field(params, "media_category");
    Media* m = nullptr;
    if (auto e = init_media(f, caller, m)) return std::move(*e);
    json answer = ids(*m);
    answer["expires_after_secs"] = kV1MediaLifetimeSecs;
    return json_response(200, answer);
  }
  Media* m = media_of(field(params, "media_id"), caller);
  if (!m) return invalid_request("media_id", field(params, "media_id"), "Invalid media id");
  if (command == "APPEND") {
    if (auto e = append_segment(*m, field(params, "segment_index"), params.media.value_or(""))) return std::move(*e);
    return Response::text(204, "");
  }
  if (command == "FINALIZE" || command == "STATUS") {
    if (command == "FINALIZE") {
      if (auto e = finalize(*m)) return std::move(*e);
    } else {
      if (!m->finalized) return invalid_request("media_id", m->id, "The media is not finalized");
      poll(*m);
    }
    json answer = ids(*m);
    if (command == "FINALIZE") {
      answer["size"] = m->total_bytes;
      answer["expires_after_secs"] = std::max<std::int64_t>((m->expires_ms - now) / kSecondMs, 0);
      if (m->media_type.starts_with("video/")) answer["video"] = {{"video_type", m->media_type}};
    }
    if (auto info = processing_info(*m); !info.is_null()) answer["processing_info"] = info;
    return json_response(200, answer);
  }
  return invalid_request("command", command, "command must be INIT, APPEND, FINALIZE or STATUS");
}

}  // namespace schedulo::sandbox::x
