#pragma once
// The daemon's Prometheus metrics: one registry that /metrics serialises, with the families this
// daemon fills (jobs by type, platform and outcome; attempt durations; queue depths; due lag; outbox
// depth; callbacks; API requests; rate-limit waits; circuit states; Airtable calls and budget; token
// states). Other parts may add their own families to registry() and they appear on /metrics with no
// change here. prometheus-cpp is thread-safe; this header keeps its templates out
// of files that only count.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace schedulo::daemon {

struct QueueFigures {
  std::map<std::string, long long> ready_by_platform;
  long long scheduled = 0, running = 0, dead = 0, inbox = 0, control = 0;
  long long oldest_due_age_ms = 0;
  std::map<std::string, long long> outbox_pending;  // per dest
  long long outbox_dead = 0;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Where other components register their families.
  prometheus::Registry& registry();

  // One attempt settled: its job's type and platform, the settlement ("succeeded", "retry", ...)
  // and how long the attempt ran.
  void job_settled(const std::string& type, const std::string& platform, const std::string& outcome,
                   std::chrono::steady_clock::duration elapsed);
  void queue_figures(const QueueFigures& figures);
  void callback_sent(const std::string& result);  // "ok", "retry", "dead", "refused_host"
  void api_request(const std::string& route, int status);
  // A wait the limits imposed on a platform call (errors::GuardOptions::on_wait).
  void rate_limit_wait(std::string_view platform, std::string_view kind, std::chrono::milliseconds wait);
  // Read at scrape time (ApiRuntime::gather_with): whether each platform's circuit is open, the
  // month's Airtable calls against the budget (0 = none), connected accounts by platform and status.
  void circuit_open(const std::string& platform, bool open);
  void airtable_calls(long long calls, long long budget);
  void token_accounts(const std::map<std::pair<std::string, std::string>, long long>& by_platform_and_status);

  // Everything in the Prometheus text exposition format (version 0.0.4).
  std::string text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace schedulo::daemon
