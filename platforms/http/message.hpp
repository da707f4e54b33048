#pragma once
// What a caller hands the HTTP client and gets back. Beast-free on purpose: platform code builds
// requests without paying for Beast's headers.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "platforms/http/headers.hpp"

namespace schedulo::http {

using Clock = std::chrono::steady_clock;

// Each step has its own limit, and the request as a whole has `total`; a step ends at whichever
// comes first. `send` covers writing the request (an upload's body); `headers` runs from the end of
// the send to the response's status line and headers; `body` covers reading the response body.
struct Timeouts {
  std::chrono::milliseconds connect{10'000};  // resolve, TCP connect, TLS handshake
  std::chrono::milliseconds send{120'000};
  std::chrono::milliseconds headers{30'000};
  std::chrono::milliseconds body{120'000};
  std::chrono::milliseconds total{300'000};
};

// `length` bytes of the file at `path` from `offset`, streamed (never loaded into memory).
struct FileRange {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Request {
  std::string method = "GET";
  std::string url;  // absolute http(s) URL; Bubble's //host/path form means https
  Headers headers;  // Host, Content-Length and User-Agent are set by the client
  std::variant<std::monostate, std::string, FileRange> body;
  Timeouts timeouts;
  std::uint64_t max_response_bytes = 16 << 20;  // memory responses only; too_large past it
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;                 // empty for downloads (the body went to the file)
  std::uint64_t body_bytes = 0;     // bytes of body received
  std::string url;                  // the URL that answered (after redirects, for downloads)
  bool reused_connection = false;   // served on a kept-alive connection

  bool ok() const { return status >= 200 && status < 300; }
};

}  // namespace schedulo::http
