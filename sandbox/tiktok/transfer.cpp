#include "sandbox/tiktok/emulator.hpp"

#include <algorithm>

#include "sandbox/tiktok/pull.hpp"
#include "sandbox/tiktok/rules.hpp"

namespace schedulo::sandbox::tiktok {

bool Emulator::terminal(const Publish& p) {
  return p.status == "FAILED" || p.status == "PUBLISH_COMPLETE" || p.status == "SEND_TO_USER_INBOX";
}

void Emulator::fail(Publish& p, const std::string& reason) {
  p.status = "FAILED";
  p.fail_reason = reason;
  p.completed_ms = core_.clock().now_ms();
}

// The bytes are all there: processing starts, for the user's number of status polls.
void Emulator::transfer_done(Publish& p) {
  p.transfer_done = true;
  auto u = users_.find(p.open_id);
  p.polls_left = u == users_.end() ? 0 : u->second.processing_polls;
  if (p.polls_left <= 0) finish_processing(p);
}

void Emulator::finish_processing(Publish& p) {
  auto u = users_.find(p.open_id);
  if (u != users_.end() && !u->second.fail_next.empty()) {
    const auto reason = u->second.fail_next.front();
    u->second.fail_next.erase(u->second.fail_next.begin());
    fail(p, reason);
    return;
  }
  p.completed_ms = core_.clock().now_ms();
  if (p.mode == "MEDIA_UPLOAD") {
    p.status = "SEND_TO_USER_INBOX";
    return;
  }
  complete(p);
}

void Emulator::complete(Publish& p) {
  p.status = "PUBLISH_COMPLETE";
  p.completed_ms = core_.clock().now_ms();
  auto u = users_.find(p.open_id);
  p.public_polls_left = u == users_.end() ? 0 : u->second.public_polls;
  if (p.public_polls_left <= 0) make_public(p);
}

void Emulator::make_public(Publish& p) {
  if (!p.post_id.empty()) return;
  ++post_counter_;
  p.post_id = std::to_string(kFirstPostId + static_cast<std::int64_t>(post_counter_) * 1000003);
  p.stats = {static_cast<std::int64_t>(1000 * post_counter_), static_cast<std::int64_t>(100 * post_counter_),
             static_cast<std::int64_t>(10 * post_counter_), static_cast<std::int64_t>(post_counter_)};
}

// One status fetch has been answered: processing moves on.
void Emulator::step_after_poll(Publish& p) {
  if (p.transfer_done && (p.status == "PROCESSING_UPLOAD" || p.status == "PROCESSING_DOWNLOAD")) {
    if (--p.polls_left <= 0) finish_processing(p);
  } else if (p.status == "PUBLISH_COMPLETE" && p.post_id.empty()) {
    if (--p.public_polls_left <= 0) make_public(p);
  }
}

// Pulls the publish's URLs one after another for real; a failure fails the publish.
void Emulator::pull_next(const std::string& publish_id, std::size_t index) {
  auto it = publishes_.find(publish_id);
  if (it == publishes_.end()) return;
  const auto generation = generation_;
  const auto base = it->second.downloaded_bytes;
  start_pull(
      executor_, it->second.urls[index],
      [this, publish_id, generation, base](std::uint64_t bytes) {
        auto p = live(publish_id, generation);
        if (!p || p->status != "PROCESSING_DOWNLOAD") return false;  // cancelled, failed or gone
        p->downloaded_bytes = base + static_cast<std::int64_t>(bytes);
        return true;
      },
      [this, publish_id, generation, index](const PullOutcome& out) {
        auto p = live(publish_id, generation);
        if (!p || p->status != "PROCESSING_DOWNLOAD" || p->transfer_done) return;
        const bool photo = p->media == "photo";
        if (!out.ok) {
          fail(*p, photo ? "photo_pull_failed" : "video_pull_failed");
          return;
        }
        p->pull_content_type = out.content_type;
        const auto type = lower(out.content_type);
        const bool format_ok = photo ? (type.rfind("image/jpeg", 0) == 0 || type.rfind("image/webp", 0) == 0)
                                     : (type.rfind("video/mp4", 0) == 0 || type.rfind("video/quicktime", 0) == 0 ||
                                        type.rfind("video/webm", 0) == 0);
        if (!format_ok) {
          fail(*p, "file_format_check_failed");
          return;
        }
        if (index + 1 < p->urls.size()) {
          pull_next(publish_id, index + 1);
          return;
        }
        transfer_done(*p);
      });
}

Publish* Emulator::live(const std::string& publish_id, std::uint64_t generation) {
  if (generation != generation_) return nullptr;
  auto it = publishes_.find(publish_id);
  return it == publishes_.end() ? nullptr : &it->second;
}

// PUT {upload_url}: one chunk, in order, with the exact size the init announced.
Response Emulator::upload_chunk(Request& r) {
  const auto upload_id = r.query_param("upload_id").value_or("");
  const auto upload_token = r.query_param("upload_token").value_or("");
  Publish* p = nullptr;
  for (auto& [id, candidate] : publishes_)
    if (!upload_id.empty() && candidate.upload_id == upload_id && candidate.upload_token == upload_token)
      p = &candidate;
  if (!p) return api_error(404, "not_found", "No upload task for this upload_url.");
  if (core_.clock().now_ms() >= p->upload_expires_ms)
    return api_error(403, "upload_url_expired", "The upload_url has expired; initialize the upload again.");
  const auto type = lower(std::string(r.header("Content-Type").value_or("")));
  if (type != "video/mp4" && type != "video/quicktime" && type != "video/webm")
    return with_range(invalid("Content-Type must be video/mp4, video/quicktime or video/webm."), *p);
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::int64_t total = 0;
  if (!parse_content_range(std::string(r.header("Content-Range").value_or("")), first, last, total) ||
      total != p->video_size || last < first || last >= total)
    return with_range(invalid("Content-Range must be bytes FIRST-LAST/" + std::to_string(p->video_size) + "."), *p);
  if (last - first + 1 != static_cast<std::int64_t>(r.body.size()))
    return with_range(invalid("Content-Length does not match Content-Range."), *p);
  if (first != p->uploaded_bytes || p->transfer_done)
    return with_range(api_error(416, "range_not_satisfiable", "Content-Range does not continue the upload."), *p);
  const auto index = p->chunk_size > 0 ? first / p->chunk_size : 0;
  const bool last_chunk = index == p->total_chunk_count - 1;
  const auto expected = last_chunk ? p->video_size - index * p->chunk_size : p->chunk_size;
  if (last - first + 1 != expected)
    return with_range(
        invalid("Chunk " + std::to_string(index + 1) + " must be " + std::to_string(expected) + " bytes."), *p);
  p->uploaded_bytes = last + 1;
  p->chunks_received += 1;
  if (p->uploaded_bytes < p->video_size) return with_range(envelope(206, json::object()), *p);
  transfer_done(*p);
  return with_range(envelope(201, json::object()), *p);
}

// Every upload answer says how far the upload got: "bytes 0-{LAST}/{TOTAL}" (nothing yet: "bytes */TOTAL").
Response Emulator::with_range(Response response, const Publish& p) {
  response.set_header("Content-Range", p.uploaded_bytes > 0 ? "bytes 0-" + std::to_string(p.uploaded_bytes - 1) + "/" +
                                                                  std::to_string(p.video_size)
                                                            : "bytes */" + std::to_string(p.video_size));
  return response;
}

// The publish named by the body, owned by the caller; or the answer refusing it.
std::optional<Response> Emulator::owned_publish(const Request& r, const Caller& c, Publish*& p) {
  auto body = parse_body(r);
  if (!body || !body->is_object() || !body->contains("publish_id") || !(*body)["publish_id"].is_string())
    return invalid("publish_id is required.");
  auto it = publishes_.find((*body)["publish_id"].get<std::string>());
  if (it == publishes_.end()) return api_error(400, "invalid_publish_id", "The publish_id does not exist.");
  if (it->second.open_id != c.user->open_id || it->second.client_key != c.token->client_key)
    return api_error(400, "token_not_authorized_for_specified_publish_id",
                     "The access token is not authorized for this publish_id.");
  p = &it->second;
  return std::nullopt;
}

Response Emulator::status_fetch(Request& r) {
  Caller c;
  if (auto e = authenticate(r, c, {"video.upload", "video.publish"})) return std::move(*e);
  if (!admit("status|" + c.token->token, limits_.status_per_min)) return throttled();
  Publish* p = nullptr;
  if (auto e = owned_publish(r, c, p)) return std::move(*e);
  json data{{"status", p->status}, {"publicaly_available_post_id", json::array()}};
  if (p->status == "FAILED") data["fail_reason"] = p->fail_reason;
  if (!p->post_id.empty()) data["publicaly_available_post_id"].push_back(std::stoll(p->post_id));
  if (p->source == "FILE_UPLOAD")
    data["uploaded_bytes"] = p->uploaded_bytes;
  else
    data["downloaded_bytes"] = p->downloaded_bytes;
  auto answer = ok(data);
  step_after_poll(*p);
  return answer;
}

Response Emulator::cancel(Request& r) {
  Caller c;
  if (auto e = authenticate(r, c, {"video.upload", "video.publish"})) return std::move(*e);
  Publish* p = nullptr;
  if (auto e = owned_publish(r, c, p)) return std::move(*e);
  if (p->source != "PULL_FROM_URL" || p->status != "PROCESSING_DOWNLOAD" || p->transfer_done)
    return api_error(400, "publish_not_cancellable", "Only a PULL_FROM_URL download in progress can be cancelled.");
  fail(*p, "publish_cancelled");
  return ok(json::object());
}

}  // namespace schedulo::sandbox::tiktok
