#pragma once
// From an external call that did not succeed to how the job's attempt ends (architecture rules 4, 11,
// 12). The classes of platforms/errors map one to one:
//
//   deferred (limiter, breaker)  defer for the wait given: no attempt used, no worker held
//   rate_limited                 defer until the limit clears (Retry-After, x-rate-limit-reset,
//                                estimated_time_to_regain_access): the attempt is given back
//   transient                    retry: capped exponential back-off with full jitter (RetryPolicy),
//                                never sooner than the platform asked
//   auth_expired                 retry (the token provider refreshes before the next attempt)
//   auth_revoked, permanent      failed, with the catalogue's sentence and the platform's code
//   outcome_unknown              retry whose next attempt settles the question by id first (the
//                                publish driver's find-existing); needs_review when the caller has
//                                no way to settle it. Never a blind second call.
//
// The job's `error` is the friendly sentence and action (messages.json); `error_code` the raw code.
#include <chrono>

#include "jobs/outcome.hpp"
#include "platforms/errors/call_guard.hpp"

namespace schedulo::jobs {

struct OutcomeRules {
  // Whether the next attempt can find out what an unknown outcome did (publish: find_existing).
  bool can_reconcile = true;
  // A rate limit that says nothing of when it clears defers this long.
  std::chrono::milliseconds default_rate_wait{60000};
};

Outcome outcome_of(const errors::Deferral& deferral);
Outcome outcome_of(const errors::Classified& classified, std::string_view platform, const OutcomeRules& rules = {},
                   errors::SystemClock::time_point now = errors::SystemClock::now());
// The call's outcome: its deferral, or its classification (the call must not be ok).
Outcome outcome_of(const errors::GuardedCall& call, std::string_view platform, const OutcomeRules& rules = {});

}  // namespace schedulo::jobs
