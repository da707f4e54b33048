#pragma once
// The TikTok emulator's media puller: PULL_FROM_URL makes TikTok download the file itself, so the
// emulator really fetches it (over loopback, from the sandbox's CDN or any http:// server), counting
// the bytes without keeping them. Plain HTTP/1.1 GET, no redirects followed (TikTok follows none), a
// deadline on every step. Beast stays in pull.cpp.
#include <cstdint>
#include <functional>
#include <string>

#include "common/net.hpp"

namespace schedulo::sandbox::tiktok {

struct PullOutcome {
  bool ok = false;           // a 200 answer, read to its end
  int status = 0;            // the HTTP status, 0 when none arrived
  std::string content_type;  // as the server announced it
  std::uint64_t bytes = 0;   // body bytes received
  std::string error;         // why it failed (no secrets: URLs here are media URLs)
};

// Returns false to stop the download (a cancelled publish): `done` then reports "stopped".
using PullProgress = std::function<bool(std::uint64_t bytes)>;
using PullDone = std::function<void(const PullOutcome&)>;

// Starts fetching `url` on the executor; `progress` is called as bytes arrive, `done` once at the end.
void start_pull(const net::Executor& executor, std::string url, PullProgress progress, PullDone done);

}  // namespace schedulo::sandbox::tiktok
