#pragma once
// A platform adapter whose every call succeeds at once without leaving the process: selected by
// `workers.mode: "noop"` for tests, benchmarks and trying the queue without platform accounts.
#include <memory>

#include "jobs/platform.hpp"

namespace schedulo::jobs {

std::unique_ptr<PlatformAdapter> make_noop_platform(std::string name);

}  // namespace schedulo::jobs
