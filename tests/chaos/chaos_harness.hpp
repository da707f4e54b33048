#pragma once
// The chaos harness (label `chaos`): one sandbox on the real clock, a Redis of the test's own (AOF on,
// or a primary, a replica and a sentinel), three live `schedulo run` daemons pointed at the sandbox,
// two accounts on each of the four platforms imported with `schedulo account add`, and a mixed load
// (publishes of several kinds, fetch_analytics, refresh_token) enqueued with `schedulo enqueue -`.
// A scenario breaks something while the load runs; then account() checks, from the sandbox's state
// and Redis only:
//   - every job is final (succeeded, or needs_review where the scenario allows an unknown outcome);
//   - no post is published twice (each publish job's marker, counted in each emulator's posts);
//   - every publish outcome is in the sandbox Airtable's Posts table exactly once, with the job's state;
//   - no refresh token is lost (a last refresh_token job per rotating account succeeds; no account
//     needs_reauth);
//   - the limiter is never exceeded (from the request log: per token per window, and Airtable's base)
//     and, where the scenario injected 5xx, the breaker held calls back while open.
// Outage lengths are given in units of the configured timeouts (kLeaseMs, kOpenMs, ...).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace schedulo::test {
class Child;
class RedisProcess;
class SandboxProcess;
}  // namespace schedulo::test

namespace schedulo::chaos {

using json = nlohmann::json;

// The configured timeouts the outages are scaled to.
inline constexpr int kLeaseMs = 3000;         // workers.lease_ms
inline constexpr int kReaperGraceMs = 1000;   // workers.reaper_grace_ms
inline constexpr int kRedisCommandMs = 1000;  // redis.command_timeout_ms
inline constexpr int kOpenMs = 1000;          // breaker.open_ms
inline constexpr int kFailureThreshold = 3;   // breaker.failure_threshold
inline constexpr int kBreakerCacheMs = 1000;  // how long a daemon trusts its local "closed" (fixed)
inline constexpr int kDaemons = 3;
inline constexpr int kConcurrency = 6;  // workers.concurrency of each daemon
// limits.rules for X posts: 3 per 2 s per account; X buckets are windows (burst = limit - 1), so any
// 2 s holds at most 3 + 2 of them.
inline constexpr int kXPostLimit = 3, kXPostPeriodMs = 2000, kXPostBurst = 2;
// The default TikTok rule, tiktok:account:video_init=6/1m+1.
inline constexpr int kTikTokInitLimit = 6, kTikTokInitPeriodMs = 60000, kTikTokInitBurst = 1;
// Airtable's own limit per base (the daemons share 3/s of it).
inline constexpr int kAirtableBasePerSecond = 5;

struct Account {
  std::string platform, key;
  std::string platform_id;  // X user id, Facebook Page id, Instagram user id, TikTok open_id
};

struct JobSpec {
  std::string id, type, platform, account;
  json doc;
};

struct Options {
  bool sentinel = false;            // a primary, a replica and a sentinel instead of one server
  bool allow_needs_review = false;  // publishes may end needs_review (an unknown outcome nobody can settle)
  int rounds = 1;                   // how many times the base load is enqueued
  json config_patch = json::object();
};

class Harness {
 public:
  explicit Harness(Options options = {});
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // ---- parts ----
  void start_daemons();
  void start_daemon(int i);
  void kill_daemon(int i);
  bool daemon_running(int i);
  // SIGTERM to all; true when each exited 0 within its grace.
  bool stop_daemons();
  std::string daemon_logs_tail(std::size_t bytes = 4000) const;

  test::RedisProcess& redis();  // the current primary
  void redis_kill9_and_restart();
  void redis_pause();
  void redis_resume();
  // Sentinel setups: SIGKILL the primary; returns once the sentinel names the replica as primary.
  bool fail_over(std::chrono::milliseconds limit);

  // The sandbox's admin API (paths under /_sandbox).
  json admin(const std::string& method, const std::string& path, const json& body = nullptr);
  std::vector<std::uint64_t> fault(const json& spec);
  void clear_faults();
  std::string base_url() const;

  // ---- load ----
  // The base load, round `round` (ids carry it): publishes of several kinds, analytics and refreshes.
  std::vector<JobSpec> mixed_load(int round, const std::string& media_query = "");
  void enqueue(const std::vector<JobSpec>& jobs);
  std::vector<JobSpec> enqueue_mixed_load();  // Options::rounds rounds

  // ---- reading ----
  std::map<std::string, json> job_states(const std::vector<std::string>& ids);  // id -> {state,...}
  std::size_t final_count(const std::vector<std::string>& ids);
  // Polls until every job is final, failing (false) at the limit.
  bool wait_final(const std::vector<JobSpec>& jobs, std::chrono::seconds limit);
  // Polls until fewer than `left` jobs are not final (e.g. to kill something mid-load).
  bool wait_progress(const std::vector<JobSpec>& jobs, std::size_t final_at_least, std::chrono::seconds limit);
  long long outbox_pending();
  json request_log(const std::string& query);  // GET /_sandbox/log?<query>, every page

  // ---- the accounting (gtest assertions); false when something failed ----
  void account(const std::vector<JobSpec>& jobs);
  // The breaker: calls answered with an injected fault (of the one platform the faults name, `what`)
  // after the circuit must have opened, until `until_seq` (0: all), are at most one probe per open
  // period.
  void expect_breaker_held(const std::string& what, std::uint64_t from_seq, std::uint64_t until_seq,
                           std::int64_t outage_ms);
  std::uint64_t log_seq();  // the request log's last sequence number now

  // 429 storms (issue 16): every injected throttle of a publish on `routes` (route -> how long the
  // daemon must wait when the answer names no time: Graph's limits.graph_throttle_wait_ms), and the
  // next request of the same job (its marker) on that route: never before the time the answer said
  // (x-rate-limit-reset, Retry-After, or that wait). Prints the figures; returns the throttles seen.
  std::size_t expect_throttles_honoured(const std::map<std::string, std::int64_t>& routes);

  const std::vector<Account>& accounts() const { return accounts_; }
  const std::string& dir() const { return dir_; }
  const std::string& prefix() const { return prefix_; }

 private:
  void write_config();
  void create_accounts();
  std::string redis_cli_json(const std::vector<std::string>& args);
  void expect_no_duplicate_posts(const std::vector<JobSpec>& jobs, const std::map<std::string, json>& states);
  void expect_airtable_rows(const std::vector<JobSpec>& jobs, const std::map<std::string, json>& states);
  void expect_refresh_tokens_kept();
  void expect_limits_held();

  Options options_;
  std::string dir_, prefix_ = "chaos", key_file_, config_path_;
  std::unique_ptr<test::SandboxProcess> sandbox_;
  std::unique_ptr<test::RedisProcess> primary_, replica_, sentinel_;
  bool failed_over_ = false;
  std::vector<std::unique_ptr<test::Child>> daemons_;
  std::vector<Account> accounts_;
  json config_;
  int serial_ = 0;
};

}  // namespace schedulo::chaos
