#pragma once
// Every external call a job makes goes through a CallGuard (architecture rules 4 and 12):
//
//   1. the fleet's rate limiter, all of the call's buckets at once: a slot now, or within
//      limits.max_wait_ms (slept here), or a deferral;
//   2. the platform's circuit breaker: open -> a deferral until it may be probed;
//   3. the HTTP request, timed;
//   4. classification: the platform's mapping, else the HTTP fallback; the friendly message from the
//      catalogue;
//   5. what the answer says about limits goes back to the limiter (a 429's reset blocks the call's
//      first bucket; the platform's header parsing adds usage readings and more);
//   6. the result goes to the breaker (transient and unknown outcomes count as failures; any other
//      answer shows the platform is up);
//   7. a failed call is logged once (call_log.hpp), secrets redacted; an account whose access was
//      revoked becomes a needs_reconnect notification.
//
// A deferral means the call was not made: the job ends its attempt with Outcome::defer (no attempt
// used; jobs/call_outcome.hpp does the conversion) instead of holding a worker.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "platforms/errors/classification.hpp"
#include "platforms/http/client.hpp"
#include "queue/circuit_breaker.hpp"
#include "queue/notifier.hpp"
#include "queue/rate_limiter.hpp"

namespace schedulo::errors {

// A platform's mapping of its own signals; call classify_http() for what it does not recognise.
using Classifier = std::function<Classified(const http::Result<http::Response>&, Safety, SystemClock::time_point)>;
// What a platform's answer says about its limits, as limiter observations (see platform_feedback.hpp).
using Feedback = std::function<std::vector<queue::RateObservation>(const http::Response&, SystemClock::time_point)>;

struct CallSpec {
  std::string platform;  // "x", "tiktok", "instagram", "facebook", "airtable", "bubble"
  std::string endpoint;  // a stable name for the log ("POST /2/tweets"); "" = from the URL
  std::string job_id;
  std::string account;  // notifications and their dedup
  Safety safety = Safety::idempotent;
  std::vector<queue::Bucket> buckets;  // all must allow the call; a 429's reset blocks the first
  std::vector<std::string> secrets;    // credentials in this request: never logged, in any spelling
  Classifier classify;                 // empty: classify_http with the platform's default 429 wait
  Feedback feedback;                   // empty: only the 429 block
  bool breaker = true;                 // false for calls that must not trip the platform's circuit
};

struct Deferral {
  std::chrono::milliseconds wait{0};
  std::string reason;  // for the job's error: why it waits
  std::string code;    // "rate_limited", "circuit_open" or "limiter_unavailable"
};

struct GuardedCall {
  std::optional<Deferral> deferred;  // set: the call was not made
  // The answer when the call was made (default: a cancelled error, for deferred calls).
  http::Result<http::Response> answer{http::Error{http::ErrorKind::cancelled, "not sent", 0}};
  Classified classified;
  std::chrono::milliseconds latency{0};
  bool probe = false;  // this call was the circuit's half-open probe

  bool ok() const { return !deferred && classified.ok(); }
  const http::Response* response() const { return answer ? &*answer : nullptr; }
};

struct GuardOptions {
  std::chrono::milliseconds max_wait{5000};       // limits.max_wait_ms
  std::chrono::milliseconds limiter_retry{1000};  // deferral when Redis cannot answer
  std::string reconnect_message = "This account's connection was removed or is no longer valid.";
  std::string reconnect_action = "Reconnect the account, then retry the post.";
  // Told of every wait the limits impose on a call: kind "slept" (granted after `wait`), or the
  // deferral's code ("rate_limited", "circuit_open", "limiter_unavailable"). For the metrics.
  std::function<void(std::string_view platform, std::string_view kind, std::chrono::milliseconds wait)> on_wait{};
};

class CallGuard {
 public:
  CallGuard(http::HttpClient& http, queue::RateLimiter& limiter, queue::CircuitBreaker& breaker,
            queue::Notifier& notifier, GuardOptions options = {});

  net::awaitable<GuardedCall> call(const http::Request& request, const CallSpec& spec);

  http::HttpClient& http() { return http_; }
  queue::RateLimiter& limiter() { return limiter_; }
  queue::CircuitBreaker& breaker() { return breaker_; }
  queue::Notifier& notifier() { return notifier_; }
  const GuardOptions& options() const { return options_; }

 private:
  void note_wait(std::string_view platform, std::string_view kind, std::chrono::milliseconds wait) const;

  http::HttpClient& http_;
  queue::RateLimiter& limiter_;
  queue::CircuitBreaker& breaker_;
  queue::Notifier& notifier_;
  GuardOptions options_;
};

}  // namespace schedulo::errors
