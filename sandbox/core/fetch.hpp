#pragma once
// The sandbox's own HTTP(S) GET, for emulators that fetch a media URL the way the platform does (Meta
// cURLs `image_url`, `video_url`, `file_url`): a real request over a real socket, usually to the
// sandbox's own CDN on loopback. Deliberately not the daemon's client (architecture.md: the sandbox
// shares no code with platforms/). Beast stays inside fetch.cpp.
#include <chrono>
#include <cstdint>
#include <string>

#include "common/net.hpp"

namespace schedulo::sandbox {

struct FetchOptions {
  std::chrono::milliseconds timeout{30000};         // the whole fetch, connect to last byte
  std::uint64_t keep_bytes = 64ULL * 1024 * 1024;   // body bytes kept in `body` (the rest only counted)
  std::uint64_t max_bytes = 1024ULL * 1024 * 1024;  // a longer body is abandoned (error "too_large")
  std::string ca_file;                              // extra trust anchor for https (PEM)
};

struct FetchResult {
  // "" when the body arrived whole; else one of: bad_url, resolve, connect, tls, timeout, http
  // (a malformed answer or a connection lost mid-body), too_large.
  std::string error;
  std::string detail;  // a human sentence about the error
  int status = 0;      // the HTTP status, when an answer arrived
  std::string content_type;
  std::uint64_t content_length = 0;  // announced (0 when the answer did not say)
  std::uint64_t total_bytes = 0;     // body bytes received
  std::string body;                  // the first keep_bytes of them

  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

// GET `url` (http or https). Redirects are not followed: a 3xx is an answer like any other.
net::awaitable<FetchResult> fetch_url(std::string url, FetchOptions options);

}  // namespace schedulo::sandbox
