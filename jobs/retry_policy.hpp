#pragma once
// Capped exponential back-off with full jitter (a fleet retrying after an outage spreads out instead
// of returning in step): the delay before attempt n+1 is uniform in [0, min(cap, base * 2^(n-1))],
// and never shorter than what the platform asked for (Retry-After and its kin).
#include <algorithm>
#include <chrono>
#include <random>

namespace schedulo::jobs {

struct RetryPolicy {
  std::chrono::milliseconds base{5000};
  std::chrono::milliseconds cap{std::chrono::hours(1)};

  // The exponential ceiling for the given failed attempt (1-based).
  std::chrono::milliseconds ceiling(int attempt) const {
    const int shift = std::clamp(attempt - 1, 0, 30);
    const auto grown = base.count() * (1LL << shift);
    return std::chrono::milliseconds(std::min<long long>(grown, cap.count()));
  }

  template <typename Rng>
  std::chrono::milliseconds delay(int attempt, std::chrono::milliseconds at_least, Rng& rng) const {
    std::uniform_int_distribution<long long> pick(0, ceiling(attempt).count());
    return std::max(std::chrono::milliseconds(pick(rng)), at_least);
  }
};

}  // namespace schedulo::jobs
