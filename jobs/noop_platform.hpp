#pragma once
// A platform adapter whose every call succeeds at once without leaving the process: selected by
// `workers.mode: "noop"` for tests, benchmarks and trying the queue without platform accounts.
// `delay` (workers.noop_delay_ms, 0 by default) makes each job take that long (the publish upload
// step, or the one call of the other job types), so tests can catch jobs in flight; a cancelled
// wait (shutdown hand-back, lost lease) ends the attempt at once.
#include <chrono>
#include <memory>

#include "jobs/platform.hpp"

namespace schedulo::jobs {

std::unique_ptr<PlatformAdapter> make_noop_platform(std::string name, std::chrono::milliseconds delay = {});

}  // namespace schedulo::jobs
