#include "daemon/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace schedulo::daemon {

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& jobs =
      prometheus::BuildCounter()
          .Name("schedulo_job_attempts_total")
          .Help("Job attempts settled by this daemon, by job type, platform and outcome")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& durations = prometheus::BuildHistogram()
                                                             .Name("schedulo_job_attempt_duration_seconds")
                                                             .Help("How long one attempt ran, by job type and platform")
                                                             .Register(*registry);
  prometheus::Family<prometheus::Gauge>& depth =
      prometheus::BuildGauge()
          .Name("schedulo_queue_depth")
          .Help("Jobs waiting or running in the queue (fleet-wide), by state and platform")
          .Register(*registry);
  prometheus::Gauge& due_lag = prometheus::BuildGauge()
                                   .Name("schedulo_due_lag_seconds")
                                   .Help("How late the oldest due, not started job is")
                                   .Register(*registry)
                                   .Add({});
  prometheus::Family<prometheus::Gauge>& outbox =
      prometheus::BuildGauge()
          .Name("schedulo_outbox_depth")
          .Help("Outbox items pending delivery, by destination (dead: rejected for good)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& callbacks = prometheus::BuildCounter()
                                                           .Name("schedulo_callbacks_total")
                                                           .Help("Bubble callback deliveries by result")
                                                           .Register(*registry);
  prometheus::Family<prometheus::Counter>& requests = prometheus::BuildCounter()
                                                          .Name("schedulo_http_requests_total")
                                                          .Help("HTTP API requests by route and status")
                                                          .Register(*registry);
  prometheus::Family<prometheus::Counter>& limit_waits =
      prometheus::BuildCounter()
          .Name("schedulo_rate_limit_waits_total")
          .Help("Platform calls held back by the limits, by platform and kind (slept, rate_limited, circuit_open, "
                "limiter_unavailable)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& limit_wait_seconds =
      prometheus::BuildCounter()
          .Name("schedulo_rate_limit_wait_seconds_total")
          .Help("Time platform calls slept or were deferred for by the limits, by platform and kind")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& circuits = prometheus::BuildGauge()
                                                        .Name("schedulo_circuit_open")
                                                        .Help("1 while the platform's circuit breaker is open")
                                                        .Register(*registry);
  prometheus::Gauge& airtable_month_calls = prometheus::BuildGauge()
                                                .Name("schedulo_airtable_calls_month")
                                                .Help("Airtable API calls the fleet made this month")
                                                .Register(*registry)
                                                .Add({});
  prometheus::Gauge& airtable_budget = prometheus::BuildGauge()
                                           .Name("schedulo_airtable_call_budget")
                                           .Help("airtable.monthly_call_budget (0: none)")
                                           .Register(*registry)
                                           .Add({});
  prometheus::Family<prometheus::Gauge>& accounts = prometheus::BuildGauge()
                                                        .Name("schedulo_token_accounts")
                                                        .Help("Connected accounts by platform and token status")
                                                        .Register(*registry);
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

prometheus::Registry& Metrics::registry() {
  return *impl_->registry;
}

void Metrics::job_settled(const std::string& type, const std::string& platform, const std::string& outcome,
                          std::chrono::steady_clock::duration elapsed) {
  impl_->jobs.Add({{"type", type}, {"platform", platform}, {"outcome", outcome}}).Increment();
  // Attempts range from a noop's microseconds to a long video upload's many minutes.
  static const prometheus::Histogram::BucketBoundaries kBuckets{0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                                5,    10,   30,  60,   120, 300, 900};
  impl_->durations.Add({{"type", type}, {"platform", platform}}, kBuckets)
      .Observe(std::chrono::duration<double>(elapsed).count());
}

void Metrics::queue_figures(const QueueFigures& f) {
  for (const auto& [platform, n] : f.ready_by_platform)
    impl_->depth.Add({{"state", "queued"}, {"platform", platform}}).Set(static_cast<double>(n));
  impl_->depth.Add({{"state", "scheduled"}, {"platform", "all"}}).Set(static_cast<double>(f.scheduled));
  impl_->depth.Add({{"state", "running"}, {"platform", "all"}}).Set(static_cast<double>(f.running));
  impl_->depth.Add({{"state", "dead"}, {"platform", "all"}}).Set(static_cast<double>(f.dead));
  impl_->depth.Add({{"state", "inbox"}, {"platform", "all"}}).Set(static_cast<double>(f.inbox));
  impl_->depth.Add({{"state", "control"}, {"platform", "all"}}).Set(static_cast<double>(f.control));
  impl_->due_lag.Set(static_cast<double>(f.oldest_due_age_ms) / 1000.0);
  for (const auto& [dest, n] : f.outbox_pending) impl_->outbox.Add({{"dest", dest}}).Set(static_cast<double>(n));
  impl_->outbox.Add({{"dest", "dead"}}).Set(static_cast<double>(f.outbox_dead));
}

void Metrics::callback_sent(const std::string& result) {
  impl_->callbacks.Add({{"result", result}}).Increment();
}

void Metrics::api_request(const std::string& route, int status) {
  impl_->requests.Add({{"route", route}, {"status", std::to_string(status)}}).Increment();
}

void Metrics::rate_limit_wait(std::string_view platform, std::string_view kind, std::chrono::milliseconds wait) {
  const std::map<std::string, std::string> labels{{"platform", std::string(platform)}, {"kind", std::string(kind)}};
  impl_->limit_waits.Add(labels).Increment();
  impl_->limit_wait_seconds.Add(labels).Increment(std::chrono::duration<double>(wait).count());
}

void Metrics::circuit_open(const std::string& platform, bool open) {
  impl_->circuits.Add({{"platform", platform}}).Set(open ? 1 : 0);
}

void Metrics::airtable_calls(long long calls, long long budget) {
  impl_->airtable_month_calls.Set(static_cast<double>(calls));
  impl_->airtable_budget.Set(static_cast<double>(budget));
}

void Metrics::token_accounts(const std::map<std::pair<std::string, std::string>, long long>& counts) {
  for (const auto& [key, n] : counts)
    impl_->accounts.Add({{"platform", key.first}, {"status", key.second}}).Set(static_cast<double>(n));
}

std::string Metrics::text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->registry->Collect());
  return out.str();
}

}  // namespace schedulo::daemon
