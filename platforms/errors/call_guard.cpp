#include "platforms/errors/call_guard.hpp"

#include "common/log.hpp"
#include "platforms/errors/call_log.hpp"
#include "platforms/errors/messages.hpp"

namespace schedulo::errors {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// Whether the answer says the platform is down (the breaker counts it) or up (any real answer).
std::optional<queue::BreakerOutcome> breaker_outcome(const Classified& c) {
  if (c.code == "cancelled") return std::nullopt;  // our own cancellation says nothing about the platform
  if (c.kind == ErrorClass::transient || c.kind == ErrorClass::outcome_unknown) return queue::BreakerOutcome::failure;
  return queue::BreakerOutcome::success;
}

// Parameters by value: it runs after the call that held the probe is gone.
net::awaitable<void> release_probe_detached(queue::CircuitBreaker& breaker, std::string platform,
                                            std::int64_t probe_until) {
  auto released = co_await breaker.release_probe(platform, probe_until);
  if (!released) log::warn("could not hand back {}'s circuit probe: {}", platform, released.error().message());
}

// Hands a half-open probe back when its call ends with nothing recorded (cancelled, or left by an
// exception at the job's cancellation): otherwise every daemon's calls to the platform wait out the
// probe's hold (probe_timeout) while the platform may be healthy again.
class ProbeHandBack {
 public:
  ProbeHandBack(queue::CircuitBreaker& breaker, std::string platform, std::int64_t probe_until, net::Executor ex)
      : breaker_(breaker), platform_(std::move(platform)), probe_until_(probe_until), ex_(std::move(ex)) {}
  ProbeHandBack(const ProbeHandBack&) = delete;
  ProbeHandBack& operator=(const ProbeHandBack&) = delete;
  ProbeHandBack(ProbeHandBack&&) = delete;
  ProbeHandBack& operator=(ProbeHandBack&&) = delete;
  ~ProbeHandBack() {
    if (probe_until_ > 0)
      net::asio::co_spawn(ex_, release_probe_detached(breaker_, platform_, probe_until_), net::asio::detached);
  }
  void recorded() { probe_until_ = 0; }

 private:
  queue::CircuitBreaker& breaker_;
  std::string platform_;
  std::int64_t probe_until_;
  net::Executor ex_;
};

}  // namespace

CallGuard::CallGuard(http::HttpClient& http, queue::RateLimiter& limiter, queue::CircuitBreaker& breaker,
                     queue::Notifier& notifier, GuardOptions options)
    : http_(http), limiter_(limiter), breaker_(breaker), notifier_(notifier), options_(std::move(options)) {}

void CallGuard::note_wait(std::string_view platform, std::string_view kind, milliseconds wait) const {
  if (options_.on_wait) options_.on_wait(platform, kind, wait);
}

net::awaitable<GuardedCall> CallGuard::call(const http::Request& request, const CallSpec& spec) {
  GuardedCall out;
  const std::string endpoint = spec.endpoint.empty() ? endpoint_of(request) : spec.endpoint;

  // 1. The fleet's budget. Refusals and an unreachable Redis defer: never a free pass past a limit.
  if (!spec.buckets.empty()) {
    auto permit = co_await limiter_.acquire(spec.buckets, options_.max_wait);
    if (!permit) {
      out.deferred = Deferral{options_.limiter_retry, "the rate limiter could not be reached", "limiter_unavailable"};
      note_wait(spec.platform, out.deferred->code, out.deferred->wait);
      co_return out;
    }
    if (!permit->granted) {
      out.deferred =
          Deferral{permit->wait, "rate limit " + permit->blocked_by + " (" + permit->reason + ")", "rate_limited"};
      note_wait(spec.platform, out.deferred->code, out.deferred->wait);
      co_return out;
    }
    if (permit->wait.count() > 0) note_wait(spec.platform, "slept", permit->wait);
  }

  // 2. The platform's circuit. Redis trouble here does not stop a call the limiter already allowed.
  std::int64_t decision_probe_until = 0;
  if (spec.breaker) {
    auto decision = co_await breaker_.check(spec.platform);
    if (decision && !decision->allowed) {
      out.deferred =
          Deferral{decision->wait, "the circuit for " + spec.platform + " is " + decision->state, "circuit_open"};
      note_wait(spec.platform, out.deferred->code, out.deferred->wait);
      co_return out;
    }
    out.probe = decision && decision->probe;
    if (out.probe) decision_probe_until = decision->probe_until;
  }
  const auto ex = co_await net::asio::this_coro::executor;
  ProbeHandBack probe(breaker_, spec.platform, out.probe ? decision_probe_until : 0, ex);

  // 3. The call.
  const auto started = Steady::now();
  out.answer = co_await http_.request(request);
  out.latency = std::chrono::duration_cast<milliseconds>(Steady::now() - started);
  const auto now = SystemClock::now();

  // 4. Classification.
  out.classified = spec.classify ? spec.classify(out.answer, spec.safety, now)
                                 : classify_http(out.answer, spec.safety, now, default_429_wait(spec.platform));
  if (out.answer && out.classified.trace_id.empty()) out.classified.trace_id = find_trace_id(*out.answer);
  if (!out.classified.ok() && (out.classified.user_message.empty() || out.classified.action.empty())) {
    const auto friendly = friendly_message(spec.platform, out.classified);
    if (out.classified.user_message.empty()) out.classified.user_message = friendly.message;
    if (out.classified.action.empty()) out.classified.action = friendly.action;
  }

  // 5. What the answer says about the limits, for every daemon.
  std::vector<queue::RateObservation> observations;
  if (out.answer && spec.feedback) observations = spec.feedback(*out.answer, now);
  if (out.classified.kind == ErrorClass::rate_limited && !spec.buckets.empty()) {
    const auto wait = out.classified.clears_in(now);
    if (wait.count() > 0)
      observations.push_back(queue::RateObservation{spec.buckets.front(), wait, std::nullopt, "rate_limited"});
  }
  if (!observations.empty()) {
    auto recorded = co_await limiter_.observe(observations);
    if (!recorded) log::warn("could not record {}'s rate-limit signals: {}", spec.platform, recorded.error().message());
  }

  // 6. The breaker learns whether the platform answers.
  if (spec.breaker) {
    if (const auto result = breaker_outcome(out.classified)) {
      auto state = co_await breaker_.record(spec.platform, *result);
      probe.recorded();  // a probe's result ends its hold
      if (!state)
        log::warn("could not record a call's result for {}'s circuit: {}", spec.platform, state.error().message());
    }
  }

  // 7. One log line per failed call; a revoked account needs its owner.
  if (!out.classified.ok()) {
    log_call_failure(CallRecord{spec.job_id, spec.platform, endpoint, out.latency, &out.classified}, spec.secrets);
    if (out.classified.kind == ErrorClass::auth_revoked && !spec.account.empty()) {
      queue::Notification n;
      n.kind = queue::notification_kind::needs_reconnect;
      n.subject = spec.account;
      n.platform = spec.platform;
      n.account = spec.account;
      n.job_id = spec.job_id;
      n.message = out.classified.user_message.empty() ? options_.reconnect_message : out.classified.user_message;
      n.action = out.classified.action.empty() ? options_.reconnect_action : out.classified.action;
      n.error_code = out.classified.error_code();
      auto noted = co_await notifier_.notify(n);
      if (!noted) log::warn("could not record a reconnect notification: {}", noted.error().message());
    }
  }
  co_return out;
}

}  // namespace schedulo::errors
