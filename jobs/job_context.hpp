#pragma once
// What a driver sees of the job it runs: the job, its lease, its checkpoint, and the means to record
// progress. The lease is fenced: once another worker took the job over, save_checkpoint() fails and
// lost() is true, and the driver must stop without touching the platform again.
#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/net.hpp"
#include "jobs/job.hpp"
#include "queue/store.hpp"

namespace schedulo::jobs {

class JobContext {
 public:
  using Clock = std::chrono::steady_clock;

  JobContext(queue::Store& store, Job job, queue::Lease lease, Clock::time_point lease_deadline);

  const Job& job() const { return job_; }
  const queue::Lease& lease() const { return lease_; }
  int attempt() const { return lease_.attempt; }
  const log::JobLog& log() const { return log_; }
  const nlohmann::json& checkpoint() const { return checkpoint_; }

  // Records progress on the job and extends the lease; with `covering`, far enough to cover a step of
  // that length (one round trip instead of ensure_lease_covers and a save). False when the lease
  // was lost or Redis could not be reached.
  net::awaitable<bool> save_checkpoint(nlohmann::json checkpoint, std::chrono::milliseconds covering = {});
  // True when the lease outlives a step of this length with a safety margin (architecture rule 10).
  bool lease_covers(std::chrono::milliseconds step) const;
  // Extends the lease when it would not cover the step; false when it still does not (lost lease or
  // Redis unreachable): the driver must not start the step.
  net::awaitable<bool> ensure_lease_covers(std::chrono::milliseconds step);

  bool lost() const { return lost_; }
  void mark_lost() { lost_ = true; }
  void extend_lease(Clock::time_point deadline) { lease_deadline_ = std::max(lease_deadline_, deadline); }
  Clock::time_point lease_deadline() const { return lease_deadline_; }

  // What the attempt keeps for its own next step (jobs/token_use.cpp: the token before_publish just
  // read, taken by the publish call instead of reading and decrypting it again). Empty when none.
  std::any& attempt_memo() { return memo_; }

  static constexpr std::chrono::milliseconds kLeaseMargin{2000};

 private:
  queue::Store& store_;
  Job job_;
  queue::Lease lease_;
  Clock::time_point lease_deadline_;
  nlohmann::json checkpoint_;
  log::JobLog log_;
  bool lost_ = false;
  std::any memo_;
};

}  // namespace schedulo::jobs
