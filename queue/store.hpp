#pragma once
// The job queue's state in Redis, one atomic Lua script per state change (queue/lua). This layer
// moves opaque job payloads; what a job means is jobs/'s business.
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"

namespace schedulo::queue {

template <typename T>
using Result = boost::system::result<T>;

struct QueueSettings {
  std::chrono::seconds retention{7 * 24 * 3600};             // finished jobs kept this long
  std::chrono::seconds idempotency_window{30 * 24 * 3600};   // an id stays a duplicate this long
  std::chrono::milliseconds lease{30000};                    // lease length, renewed by heartbeats
  int per_account_limit = 3;                                 // running jobs per account, fleet-wide
  std::chrono::milliseconds pause_recheck{2000};             // a paused account's job looks again
};

struct NewJob {
  std::string id, type, platform, account, payload;
  std::int64_t run_at_ms = 0;  // 0 = now
  int max_attempts = 5;
  // Outbox entries recorded when the job is created or replaced (queue/outbox.hpp's encode_outbox,
  // e.g. its Posts row); '' = none.
  std::string outbox = {};
};

enum class EnqueueResult { created, duplicate, cancelled };

// An inbox entry that is not a valid job: stored as a dead job whose error says why.
struct RefusedEntry {
  std::string id, type, platform, account, raw, error, error_code;
};

struct IntakeItem {
  bool valid = true;
  NewJob job;
  RefusedEntry refused;
};

struct ControlOp {
  enum class Kind { cancel, replace, skip };
  Kind kind = Kind::skip;
  std::string id;
  NewJob job;  // replace
};

struct Lease {
  std::string id;
  std::uint64_t token = 0;
  int attempt = 0;
  int max_attempts = 0;
  std::string payload;
  std::string checkpoint;  // "" when none
};

struct LeaseBatch {
  bool control_pending = false;
  long long inbox_length = 0;
  std::vector<Lease> jobs;
};

enum class Settlement { succeeded, failed, dead, needs_review, retry, defer, wait, release };
std::string_view to_string(Settlement s);

struct Settle {
  std::string id;
  std::uint64_t token = 0;
  Settlement outcome = Settlement::succeeded;
  std::int64_t due_ms = 0;  // retry, defer, wait
  std::string error, error_code, result, checkpoint;
  // Outbox entries recorded with this outcome (encode_outbox in queue/outbox.hpp); '' = none. Only
  // appended when the lease still holds.
  std::string outbox = {};
};

struct JobRecord {
  std::map<std::string, std::string> fields;  // the job hash
  std::vector<std::string> attempt_log;       // JSON lines, oldest first
};

// What dead_retry did with one id (the values are the script's answers).
enum class DeadRetry { not_retryable = 0, queued = 1, other_platform = 2 };

struct QueueStats {
  std::map<std::string, long long> ready_by_platform;
  long long scheduled = 0, running = 0, dead = 0, inbox = 0, control = 0;
  std::map<std::string, long long> totals;  // final states since the start of the deployment
  long long oldest_due_age_ms = 0;          // how late the oldest due, not started job is
};

class Store {
 public:
  Store(redis::Client& client, Keys keys, QueueSettings settings);
  const Keys& keys() const { return keys_; }
  const QueueSettings& settings() const { return settings_; }
  redis::Client& client() { return client_; }

  net::awaitable<Result<std::vector<EnqueueResult>>> enqueue(const std::vector<NewJob>& jobs, std::int64_t now);
  net::awaitable<Result<std::vector<std::string>>> claim(const std::string& source, const std::string& work, int max);
  net::awaitable<Result<std::vector<long long>>> commit_intake(const std::string& worker, std::size_t handled,
                                                              const std::vector<IntakeItem>& items, std::int64_t now);
  net::awaitable<Result<std::vector<std::string>>> commit_control(const std::string& worker, std::size_t handled,
                                                                 const std::vector<ControlOp>& ops, std::int64_t now);
  net::awaitable<Result<std::string>> cancel(const std::string& id, std::int64_t now);
  net::awaitable<Result<std::string>> replace(const NewJob& job, std::int64_t now);
  // {promoted, earliest remaining due ms or -1}
  net::awaitable<Result<std::pair<long long, std::int64_t>>> promote(std::int64_t now, int max);
  // Up to `total` jobs, round robin over the platforms, at most the given number of each.
  net::awaitable<Result<LeaseBatch>> lease(std::int64_t now, const std::string& worker, int total,
                                           const std::vector<std::pair<std::string, int>>& per_platform);
  // Per item: the resulting state, or "lost" when the lease was no longer this attempt's.
  net::awaitable<Result<std::vector<std::string>>> settle(const std::vector<Settle>& items, std::int64_t now);
  // The ids whose lease is no longer held. `length` overrides the lease length (a step longer than
  // the usual lease asks for more before it starts).
  net::awaitable<Result<std::vector<std::string>>> heartbeat(
      std::int64_t now, const std::vector<std::pair<std::string, std::uint64_t>>& leases,
      std::chrono::milliseconds length = {});
  // Records a driver's progress and extends the lease to `length` from now (the usual lease when
  // zero); a longer lease the job already holds is kept.
  net::awaitable<Result<bool>> checkpoint(const std::string& id, std::uint64_t token, const std::string& json,
                                          std::int64_t now, std::chrono::milliseconds length = {});
  // `dead_records`: how the records of a job that runs out of attempts here are written (reap.lua
  // ARGV[6], jobs/records_rewrite.hpp); empty: none are.
  net::awaitable<Result<long long>> reap(std::int64_t now, int max, std::string dead_records = {});
  net::awaitable<Result<long long>> reclaim_own(std::int64_t now, const std::string& worker,
                                                std::string dead_records = {});
  // This worker is alive for `ttl`; its claimed entries stay its own meanwhile.
  net::awaitable<Result<bool>> worker_beat(const std::string& worker, std::chrono::milliseconds ttl);
  // Entries claimed by workers that stopped beating go back to the inbox and control list.
  net::awaitable<Result<long long>> rescue_work();

  net::awaitable<Result<JobRecord>> status(const std::string& id);  // error no_such_job
  net::awaitable<Result<std::vector<std::map<std::string, std::string>>>> list(
      const std::string& platform, const std::string& account, const std::string& state, int limit);
  net::awaitable<Result<QueueStats>> stats(const std::vector<std::string>& platforms, std::int64_t now);
  net::awaitable<Result<std::vector<std::map<std::string, std::string>>>> dead_list(int limit);
  net::awaitable<Result<bool>> dead_retry(const std::string& id, std::int64_t now);
  // Many at once (one script call); `platform` non-empty leaves other platforms' jobs alone.
  net::awaitable<Result<std::vector<DeadRetry>>> dead_retry(const std::vector<std::string>& ids, std::int64_t now,
                                                            const std::string& platform = {});
  // Ids of dead and needs_review jobs finished before a time, oldest first, and how many there are.
  net::awaitable<Result<std::vector<std::string>>> dead_ids(std::int64_t finished_before, long long limit);
  net::awaitable<Result<long long>> dead_count(std::int64_t finished_before);
  net::awaitable<Result<long long>> dead_purge(std::int64_t finished_before, int max);
  net::awaitable<Result<bool>> set_paused(const std::string& target, bool paused);

 private:
  net::awaitable<redis::Reply> run(std::string_view script, redis::Args args);

  redis::Client& client_;
  Keys keys_;
  QueueSettings settings_;
};

enum class QueueErrc { script_failed = 1, no_such_job, bad_reply };
const boost::system::error_category& queue_category();
inline boost::system::error_code make_error_code(QueueErrc e) { return {static_cast<int>(e), queue_category()}; }

}  // namespace schedulo::queue

template <>
struct boost::system::is_error_code_enum<schedulo::queue::QueueErrc> : std::true_type {};
