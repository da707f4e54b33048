// The chaos suite (label `chaos`, tests/chaos/chaos_harness.hpp): three live daemons, a mixed load on
// all four platforms, one kind of trouble per test, then the exact accounting from the sandbox's state
// and Redis. Outages are sized in units of the configured timeouts; every wait polls a condition with
// an overall limit that fails the test.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/chaos/chaos_harness.hpp"
#include "tests/support/redis_process.hpp"

namespace schedulo::chaos {
namespace {

using namespace std::chrono_literals;

constexpr auto kDrain = 240s;  // the longest a scenario's load may take to end

// Waits out an outage the sandbox or a signal holds for `ms`: the trouble lasts that long whatever
// the daemons do (this is the length of the fault, not a guess at when something happened).
[[maybe_unused]] void hold_for(std::int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Step 1: the harness itself, nothing broken: the accounting holds on a quiet run.
TEST(Chaos, MixedLoadOnAllFourPlatformsIsAccountedExactly) {
  Options options;
  options.rounds = 2;
  Harness h(options);
  h.start_daemons();
  const auto jobs = h.enqueue_mixed_load();
  ASSERT_TRUE(h.wait_final(jobs, kDrain));
  h.account(jobs);
}

}  // namespace
}  // namespace schedulo::chaos
