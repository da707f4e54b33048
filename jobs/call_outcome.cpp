#include "jobs/call_outcome.hpp"

#include "platforms/errors/messages.hpp"

namespace schedulo::jobs {

using errors::ErrorClass;
using std::chrono::milliseconds;

Outcome outcome_of(const errors::Deferral& deferral) {
  const auto friendly = errors::friendly_message("", deferral.code, "", ErrorClass::rate_limited);
  return Outcome::defer(friendly.text(), deferral.code, deferral.wait);
}

Outcome outcome_of(const errors::Classified& c, std::string_view platform, const OutcomeRules& rules,
                   errors::SystemClock::time_point now) {
  std::string text;
  if (!c.user_message.empty() && !c.action.empty()) {
    text = c.user_message + " " + c.action;
  } else {
    const auto friendly = errors::friendly_message(platform, c);
    text = (c.user_message.empty() ? friendly.message : c.user_message) + " " +
           (c.action.empty() ? friendly.action : c.action);
  }
  const std::string code = c.error_code().empty() ? std::string(errors::to_string(c.kind)) : c.error_code();
  switch (c.kind) {
    case ErrorClass::ok:
      return Outcome::success(nlohmann::json::object());
    case ErrorClass::transient:
      return Outcome::retry(text, code, c.clears_in(now));
    case ErrorClass::rate_limited: {
      const auto wait = c.clears_at ? c.clears_in(now) : rules.default_rate_wait;
      return Outcome::defer(text, code, wait);
    }
    case ErrorClass::auth_expired:
      return Outcome::retry(text, code, c.clears_in(now));
    case ErrorClass::auth_revoked:
    case ErrorClass::permanent:
      return Outcome::fail(text, code);
    case ErrorClass::outcome_unknown:
      return rules.can_reconcile ? Outcome::retry(text, "outcome_unknown") : Outcome::review(text, "outcome_unknown");
  }
  return Outcome::fail(text, code);
}

Outcome outcome_of(const errors::GuardedCall& call, std::string_view platform, const OutcomeRules& rules) {
  if (call.deferred) return outcome_of(*call.deferred);
  return outcome_of(call.classified, platform, rules);
}

}  // namespace schedulo::jobs
