#pragma once
// The dispatcher: drains control entries and the inbox, promotes due jobs, leases jobs within the
// concurrency bounds (in total and per platform; per account is enforced fleet-wide by the lease
// script), runs each with its driver, and settles the outcomes in batches. Alongside: heartbeats
// renew the leases it holds, the reaper returns expired leases of dead daemons, and shutdown hands
// unfinished jobs back (architecture rule 8).
//
// Every loop is a coroutine on one executor; stop() cancels them in order.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/event.hpp"
#include "common/net.hpp"
#include "jobs/job_context.hpp"
#include "jobs/job_validation.hpp"
#include "jobs/platform.hpp"
#include "jobs/retry_policy.hpp"
#include "queue/store.hpp"

namespace schedulo::jobs {

struct DispatcherOptions {
  std::string worker_id;
  int concurrency = 32;
  int per_platform = 32;
  int intake_batch = 256;
  int promote_batch = 1000;
  // Longest sleep when idle: jobs that other daemons queue are seen within this time (the inbox
  // wakes a sleeping daemon at once; so do due times it knows of).
  std::chrono::milliseconds idle_wait{250};
  std::chrono::milliseconds shutdown_grace{25000};
  std::chrono::milliseconds reaper_interval{1000};
  // The reaper waits for Redis to have been reachable this long, so daemons that were cut off as
  // well have renewed their leases first (architecture rule 10).
  std::chrono::milliseconds reaper_grace{30000};
  int default_max_attempts = 5;
  RetryPolicy retry;
  ValidationContext validation;
  std::vector<std::string> platforms{"instagram", "facebook", "tiktok", "x"};
  // Sees each attempt's settlement before it is recorded, with the attempt's run time: metrics count
  // it, and callbacks add their outbox entry (settle.outbox) so it is appended with the outcome.
  std::function<void(const Job& job, const queue::Lease& lease, queue::Settle& settle,
                     std::chrono::steady_clock::duration elapsed)>
      on_settle;
  // What an ended attempt records in the outbox with its outcome, atomically (queue::encode_outbox
  // text; outbox/records.hpp builds the Airtable rows and follow-up jobs); unset = nothing.
  std::function<std::string(const Job&, const Outcome&, queue::Settlement, int attempt)> record_outcome;
  // Runs before a job's driver; an outcome ends the attempt without it (e.g. the account must be
  // reconnected, outbox/account_cache.hpp). Unset = every job runs.
  std::function<net::awaitable<std::optional<Outcome>>(const Job&)> preflight;
  // How long a platform is known to refuse calls (its circuit is open: queue::CircuitBreaker::
  // blocked_for); its jobs are then deferred that long without running, using no attempt. Empty: never.
  std::function<std::optional<std::chrono::milliseconds>(std::string_view platform)> platform_blocked;
};

struct DispatcherCounters {
  std::uint64_t leased = 0, settled = 0, lost = 0, intake = 0, refused = 0, reaped = 0, reclaimed = 0;
  int in_flight = 0;
};

// Finds the adapter for a platform name; null when this build has none.
using AdapterLookup = std::function<PlatformAdapter*(std::string_view platform)>;

class Dispatcher {
 public:
  // `blocking` is a second Redis connection for the idle wait on the inbox (a blocking command would
  // stall every other command on a shared connection).
  Dispatcher(queue::Store& store, redis::Client& blocking, AdapterLookup adapters, DispatcherOptions options);
  ~Dispatcher();

  // Runs until stop(), then shuts down gracefully; returns when everything is handed back.
  net::awaitable<void> run();
  void stop();
  const DispatcherCounters& counters() const;
  bool consuming() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace schedulo::jobs
