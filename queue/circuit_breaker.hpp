#pragma once
// A circuit breaker per platform, shared by the fleet through Redis (queue/lua/breaker_*.lua). While
// a platform is down its jobs are deferred (no attempt used) instead of each failing its way through
// its retries; half-open probes find out when it is back.
//
//   closed     calls go; consecutive failures or the error rate over a window open it
//   open       no calls until open_until; the jobs that would have called are deferred to it
//   half_open  one caller at a time probes; success closes, failure opens again for twice as long
//
// A daemon keeps a local view of each platform's state: check() asks Redis only when the view is
// not a fresh "closed" (so a healthy platform costs no Redis call per request; another daemon's
// opening is seen within `cache`), and blocked_for() answers from the view alone (the dispatcher
// uses it to defer a job before running it).
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"

namespace schedulo::queue {

struct BreakerOptions {
  int failure_threshold = 5;                  // consecutive failures that open it
  std::chrono::milliseconds window{60000};    // error-rate window
  int min_calls = 20;                         // calls in the window before the rate counts
  int failure_rate_percent = 50;              // error rate that opens it
  std::chrono::milliseconds open_for{30000};  // first opening; doubles per failed probe
  std::chrono::milliseconds max_open{300000};
  std::chrono::milliseconds probe_timeout{60000};     // a probe's hold (a caller that died frees it then)
  std::chrono::milliseconds half_open_recheck{1000};  // how soon others look again while a probe is out
  std::chrono::milliseconds cache{1000};              // how long a local "closed" is trusted
  // Successes while the local view is a fresh "closed" are counted here and sent together, at most
  // this late (with the next failure at once): one Redis call per call saved on a healthy platform.
  // Zero: every result is sent at once.
  std::chrono::milliseconds success_batch{0};
  std::string open_message = "The platform is having an outage, so requests to it are paused.";
  std::string open_action = "Nothing to do: waiting posts go out when it recovers.";
};

struct BreakerDecision {
  bool allowed = true;
  bool probe = false;                 // this call is the half-open probe: record() its result
  std::int64_t probe_until = 0;       // a probe: its hold, for release_probe()
  std::chrono::milliseconds wait{0};  // refused: how long until it is worth asking again
  std::string state = "closed";       // closed, probe, open, half_open
};

enum class BreakerOutcome { success, failure };

template <typename T>
using BreakerResult = boost::system::result<T>;

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  CircuitBreaker(redis::Client& client, Keys keys, BreakerOptions options = {});

  // May a call to `platform` go now? `now_ms` replaces the server's clock (tests).
  net::awaitable<BreakerResult<BreakerDecision>> check(const std::string& platform,
                                                       std::optional<std::int64_t> now_ms = {});
  // The call's result; returns the state after it ("closed"/"open"), and whether it just opened or
  // closed ("opened"/"closed"/"").
  net::awaitable<BreakerResult<std::pair<std::string, std::string>>> record(const std::string& platform,
                                                                            BreakerOutcome result,
                                                                            std::optional<std::int64_t> now_ms = {});
  // A probe that learned nothing about the platform (its job was cancelled) hands it back: the next
  // caller probes at once. `probe_until` is the decision's. 1 when it was still this probe's, else 0.
  net::awaitable<BreakerResult<long long>> release_probe(const std::string& platform, std::int64_t probe_until);
  // From the local view only: how long the platform is known to stay open, if it is.
  std::optional<std::chrono::milliseconds> blocked_for(std::string_view platform) const;

  const BreakerOptions& options() const { return options_; }

 private:
  struct View {
    std::string state = "closed";
    Clock::time_point seen{};        // when Redis last told us
    Clock::time_point open_until{};  // open: until when (local clock)
  };
  void remember(const std::string& platform, const std::string& state, std::chrono::milliseconds open_left);

  redis::Client& client_;
  Keys keys_;
  BreakerOptions options_;
  std::map<std::string, View, std::less<>> views_;
  struct Unsent {
    long long successes = 0;
    Clock::time_point since{};
  };
  std::map<std::string, Unsent, std::less<>> unsent_;  // successes not yet sent (success_batch)
};

}  // namespace schedulo::queue
