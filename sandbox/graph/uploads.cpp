// Binary uploads: rupload.facebook.com (Instagram resumable containers, Page reels) and the Resumable
// Upload API (POST /{app-id}/uploads, POST /upload:{id}). Both resume: the server keeps the bytes it
// received, a client asks where it stands and sends the rest from there.
//
// rupload (platform-apis.md 1.1 step 2, 4.2 reels step 2):
//   POST  headers Authorization: OAuth {token}, offset, file_size; body = bytes from offset
//         or header file_url (fetched for real) and an empty body
//   200   {"success":true,"message":"Upload successful."} once the last byte is in (reels: {"success":true})
//   400   {"debug_info":{"retriable","type","message"}} otherwise. EMU-CHOICE: a body that stops short of
//         file_size is kept and answered retriable PartialRequestError naming the new offset; an offset
//         past what was received is OffsetMismatchError; bytes before the received offset are skipped.
//   GET   {"offset":N,"file_size":M} (EMU-CHOICE: the reference leaves the offset query UNCONFIRMED)
#include <algorithm>

#include "sandbox/core/media_probe.hpp"
#include "sandbox/graph/emulator.hpp"

namespace schedulo::sandbox::graph {
namespace {

Response debug_info(int status, bool retriable, const std::string& type, const std::string& message,
                    const std::string& trace_id) {
  auto r = json_response(status, {{"debug_info", {{"retriable", retriable}, {"type", type}, {"message", message}}}});
  r.set_header("x-fb-trace-id", trace_id);
  return r;
}

std::optional<std::int64_t> header_number(const Request& r, const char* name) {
  auto v = r.header(name);
  if (!v || v->empty() || v->size() > 15 || v->find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::stoll(std::string(*v));
}

}  // namespace

json Emulator::facts_of(const std::string& bytes, std::int64_t total) {
  const auto f = probe_media(bytes);
  return {{"format", f.format},       {"width", f.width},       {"height", f.height}, {"duration_s", f.duration_s},
          {"has_video", f.has_video}, {"complete", f.complete}, {"bytes", total}};
}

std::string Emulator::receive(Upload& u, std::int64_t offset, std::int64_t file_size, const std::string& body) {
  if (file_size <= 0) return "file_size must be a positive number of bytes";
  if (u.file_size >= 0 && u.file_size != file_size)
    return "file_size " + std::to_string(file_size) + " differs from the " + std::to_string(u.file_size) +
           " declared before";
  if (offset > u.offset)
    return "offset " + std::to_string(offset) + " is past the " + std::to_string(u.offset) + " bytes received";
  const auto body_size = static_cast<std::int64_t>(body.size());
  if (offset + body_size > file_size) return "the body runs past file_size";
  u.file_size = file_size;
  // Bytes the server already has (a client resending from an older offset) are skipped.
  const auto skip = u.offset - offset;
  if (skip < body_size) {
    u.bytes.append(body, static_cast<std::size_t>(skip), std::string::npos);
    u.offset = offset + body_size;
  }
  if (u.offset == u.file_size) {
    u.complete = true;
    u.facts = facts_of(u.bytes, u.offset);
    std::string().swap(u.bytes);  // what the bytes are is all that is needed from here on
  }
  return {};
}

void Emulator::upload_complete(const std::string& target_id) {
  auto it = containers_.find(target_id);
  if (it != containers_.end()) {
    it->second.ready_ms = now();
    ig_media_arrived(it->second, it->second.upload.facts, "");
  }
  // A reel's upload completing changes nothing until its finish phase.
}

net::awaitable<Response> Emulator::rupload(Call& c) {
  const bool ig = c.segments[0] == "ig-api-upload";
  const std::string target = c.segments[2];
  const std::string token_text = call_token(c);
  auto token = tokens_.find(token_text);
  if (token_text.empty() || token == tokens_.end() || token->second.login != "facebook")
    co_return debug_info(401, false, "OAuthException", "Invalid OAuth access token - Cannot parse access token",
                         c.trace_id);
  if (auto problem = token_problem(token->second))
    co_return debug_info(401, false, "OAuthException", problem->message, c.trace_id);
  const Token& t = token->second;
  // The target, and whether this token may upload to it.
  bool allowed = false;
  bool found = false;
  if (ig) {
    auto it = containers_.find(target);
    if (it != containers_.end() && it->second.resumable) {
      found = true;
      const auto& owner = ig_users_.at(it->second.owner);
      auto user = users_.find(t.user_id);
      allowed = (t.kind == "page" && t.page_id == owner.page_id) ||
                (t.kind == "user" && user != users_.end() && user->second.page_tasks.count(owner.page_id));
    }
  } else {
    auto it = videos_.find(target);
    if (it != videos_.end() && it->second.kind == "reel") {
      found = true;
      allowed = t.kind == "page" && t.page_id == it->second.page_id;
    }
  }
  if (!found || !allowed)
    co_return debug_info(404, false, "ProcessingFailedError", "No upload session for " + target, c.trace_id);
  auto upload_of = [&]() -> Upload* {
    if (ig) {
      auto it = containers_.find(target);
      return it == containers_.end() ? nullptr : &it->second.upload;
    }
    auto it = videos_.find(target);
    return it == videos_.end() ? nullptr : &it->second.upload;
  };
  const json success = ig ? json{{"success", true}, {"message", "Upload successful."}} : json{{"success", true}};
  if (upload_of()->complete) co_return json_response(200, success);

  if (auto file_url = c.request->header("file_url")) {
    const std::string url(*file_url);
    FetchResult fetched = co_await fetch_url(url, fetch_options());
    // Other requests ran during the fetch: look the target up again.
    Upload* u = upload_of();
    if (!u) co_return debug_info(404, false, "ProcessingFailedError", "No upload session for " + target, c.trace_id);
    if (!fetched.ok())
      co_return debug_info(400, false, "ProcessingFailedError",
                           "Failed to download the file at file_url: " +
                               (fetched.error.empty() ? "HTTP " + std::to_string(fetched.status) : fetched.detail),
                           c.trace_id);
    if (!u->complete) {
      u->file_url = url;
      u->offset = static_cast<std::int64_t>(fetched.total_bytes);
      u->file_size = u->offset;
      u->complete = true;
      u->facts = facts_of(fetched.body, u->offset);
      upload_complete(target);
    }
    co_return json_response(200, success);
  }

  const auto offset = header_number(*c.request, "offset");
  const auto file_size = header_number(*c.request, "file_size");
  if (!offset || !file_size)
    co_return debug_info(400, false, "ProcessingFailedError",
                         "The offset and file_size headers (whole numbers) are required, or file_url", c.trace_id);
  Upload* u = upload_of();
  const auto before = u->offset;
  const auto error = receive(*u, *offset, *file_size, c.request->body);
  if (!error.empty()) {
    const bool mismatch = *offset > before;
    co_return debug_info(400, mismatch, mismatch ? "OffsetMismatchError" : "ProcessingFailedError",
                         error + "; resume from offset " + std::to_string(u->offset), c.trace_id);
  }
  if (!u->complete)
    co_return debug_info(400, true, "PartialRequestError",
                         "Received " + std::to_string(u->offset) + " of " + std::to_string(u->file_size) +
                             " bytes; resume from offset " + std::to_string(u->offset),
                         c.trace_id);
  upload_complete(target);
  co_return json_response(200, success);
}

Response Emulator::rupload_status(Call& c) {
  const bool ig = c.segments[0] == "ig-api-upload";
  const std::string& target = c.segments[2];
  auto token = tokens_.find(call_token(c));
  if (token == tokens_.end() || token->second.login != "facebook" || token_problem(token->second))
    return debug_info(401, false, "OAuthException", "Invalid OAuth access token - Cannot parse access token",
                      c.trace_id);
  const Upload* u = nullptr;
  if (ig && containers_.count(target) && containers_.at(target).resumable) u = &containers_.at(target).upload;
  if (!ig && videos_.count(target) && videos_.at(target).kind == "reel") u = &videos_.at(target).upload;
  if (!u) return debug_info(404, false, "ProcessingFailedError", "No upload session for " + target, c.trace_id);
  return json_response(200, {{"offset", u->offset}, {"file_size", u->file_size < 0 ? 0 : u->file_size}});
}

// ---- the Resumable Upload API (4.2, "current resumable") -------------------------------------------

Response Emulator::upload_start(Call& c) {
  if (auto e = authenticate(c)) return fail(c, *e);
  if (c.token->kind != "user") return fail(c, errors::invalid_parameter("Uploads need a user access token"));
  const std::string user_id = c.token->user_id;
  if (auto e = meter_user_call(c, user_id, "")) return fail(c, *e);
  const auto length = c.params.integer("file_length");
  if (!length || *length <= 0) return fail(c, errors::missing_parameter("file_length"));
  static const std::vector<std::string> kTypes{"application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4"};
  const auto type = c.params.str("file_type");
  if (!contains(kTypes, type))
    return fail(c, errors::invalid_parameter("file_type must be one of application/pdf, image/jpeg, image/jpg, "
                                             "image/png, video/mp4"));
  UploadSession s;
  s.id = "upload:" + new_token("MTpm");
  s.user_id = user_id;
  s.file_name = c.params.str("file_name");
  s.file_type = type;
  s.upload.file_size = *length;
  sessions_[s.id] = s;
  return ok(c, {{"id", s.id}});
}

Response Emulator::upload_transfer(Call& c) {
  auto& s = sessions_.at(c.segments[0]);
  if (auto e = authenticate(c)) return fail(c, *e);
  if (c.token->kind != "user" || c.token->user_id != s.user_id) return fail(c, errors::unknown_object(s.id, "POST"));
  if (auto e = meter_user_call(c, s.user_id, "")) return fail(c, *e);
  const auto offset = header_number(*c.request, "file_offset");
  if (!offset) return fail(c, errors::missing_parameter("file_offset"));
  if (!s.upload.complete) {
    const auto error = receive(s.upload, *offset, s.upload.file_size, c.request->body);
    if (!error.empty()) {
      auto e = errors::invalid_parameter(error);
      e.error_data = {{"file_offset", s.upload.offset}};
      return fail(c, e);
    }
  }
  if (!s.upload.complete) return ok(c, {{"id", s.id}, {"file_offset", s.upload.offset}});  // EMU-CHOICE
  if (s.handle.empty()) s.handle = "4:" + new_token("aGFuZGxl");
  return ok(c, {{"h", s.handle}});
}

Response Emulator::upload_status(Call& c) {
  const auto& s = sessions_.at(c.segments[0]);
  if (auto e = authenticate(c)) return fail(c, *e);
  if (c.token->kind != "user" || c.token->user_id != s.user_id) return fail(c, errors::unknown_object(s.id, "GET"));
  return ok(c, {{"id", s.id}, {"file_offset", s.upload.offset}});
}

}  // namespace schedulo::sandbox::graph
