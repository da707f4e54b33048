#pragma once
// A platform adapter whose every call succeeds at once without leaving the process: selected by
// `workers.mode: "noop"` for tests, benchmarks and trying the queue without platform accounts.
// `delay` (workers.noop_delay_ms, 0 by default) makes each job take that long (the publish upload
// step, or the one call of the other job types), so tests can catch jobs in flight; a cancelled
// wait (shutdown hand-back, lost lease) ends the attempt at once.
// `call` (workers.noop_call_url, issue 16) makes that same step one real HTTP GET through the daemon's
// HTTP client instead, so a benchmark measures jobs that each make one platform call; a failed call
// (an error or a non-2xx status) is a retry outcome like a platform's transient failure.
#include <chrono>
#include <memory>
#include <string>

#include "jobs/platform.hpp"

namespace schedulo::http {
class HttpClient;
}

namespace schedulo::jobs {

struct NoopCall {
  http::HttpClient* client = nullptr;  // none: no call (the delay alone)
  std::string url;
};

std::unique_ptr<PlatformAdapter> make_noop_platform(std::string name, std::chrono::milliseconds delay = {},
                                                    NoopCall call = {});

}  // namespace schedulo::jobs
