#include "sandbox/cdn/cdn.hpp"

#include <cstdlib>

#include "sandbox/cdn/media.hpp"

namespace schedulo::sandbox::cdn {
namespace {

Response bad(const std::string& message) { return Response::text(400, message + "\n"); }

// A non-negative number from the query, or `fallback` when absent; false when malformed.
bool number_param(const Request& r, const char* name, double fallback, double& out) {
  auto v = r.query_param(name);
  if (!v) {
    out = fallback;
    return true;
  }
  char* end = nullptr;
  out = std::strtod(v->c_str(), &end);
  return !v->empty() && *end == '\0' && out >= 0;
}

Response serve(Request& r) {
  MediaSpec spec;
  spec.kind = r.params["kind"];
  const bool video = spec.kind == "mp4";
  double bytes = 0;
  double width = 0;
  double height = 0;
  double slow_ms = 0;
  double chunk = 0;
  double truncate = -1;
  if (!number_param(r, "bytes", video ? 2'000'000 : 200'000, bytes) ||
      !number_param(r, "width", 1080, width) || !number_param(r, "height", video ? 1920 : 1080, height) ||
      !number_param(r, "duration", 5, spec.duration_s) || !number_param(r, "fps", 30, spec.fps) ||
      !number_param(r, "slow_ms", 0, slow_ms) || !number_param(r, "chunk", 64 * 1024, chunk) ||
      !number_param(r, "truncate", -1, truncate) || chunk < 1)
    return bad("bytes, width, height, duration, fps, slow_ms, chunk and truncate must be non-negative numbers");
  spec.bytes = static_cast<std::uint64_t>(bytes);
  spec.width = static_cast<std::uint32_t>(std::min(width, 1e6));
  spec.height = static_cast<std::uint32_t>(std::min(height, 1e6));
  std::string error;
  auto file = make_media(spec, error);
  if (!file) return bad(error);
  Response response;
  response.status = 200;
  std::string type = file->content_type;
  if (auto lie = r.query_param("type")) type = *lie;
  if (r.query_param("wrong_type").value_or("0") == "1") type = "text/html; charset=utf-8";
  response.set_header("Content-Type", type);
  response.set_header("Cache-Control", "public, max-age=86400");
  response.set_header("Accept-Ranges", "none");
  response.stream = std::move(file->body);
  response.stream_length = file->length;
  response.chunk_size = static_cast<std::size_t>(chunk);
  response.chunk_delay = std::chrono::milliseconds(static_cast<std::int64_t>(slow_ms));
  if (truncate >= 0) response.cut_after = static_cast<std::uint64_t>(truncate);
  return response;
}

}  // namespace

std::shared_ptr<void> install(Core& core) {
  core.add_api({"cdn",
                [](int status) { return Response::text(status, "error " + std::to_string(status) + "\n"); },
                [] {
                  auto r = Response::text(429, "slow down\n");
                  r.set_header("Retry-After", "5");
                  return r;
                },
                {}, {}});
  core.route("cdn", "cdn.media", "GET", "/cdn/{kind}", serve);
  core.route("cdn", "cdn.media", "GET", "/cdn/{kind}/*", serve);
  return nullptr;
}

}  // namespace schedulo::sandbox::cdn
