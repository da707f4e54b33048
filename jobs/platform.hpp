#pragma once
// What a platform plugs into the drivers: its publish steps and its token and analytics calls.
// Each platform issue (instagram, facebook, tiktok, x) supplies one; `noop` serves tests and benches.
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.hpp"
#include "jobs/job_context.hpp"
#include "jobs/outcome.hpp"

namespace schedulo::jobs {

enum class PublishStep { validate, stage, create, upload, publish, confirm };
std::string_view to_string(PublishStep step);

// A step either completes (nullopt: the driver records `ids` and goes on) or ends the attempt.
using StepResult = std::optional<Outcome>;

// not_now: the platform cannot be asked yet (the account's token is being renewed, or the check was
// throttled or held back by the limiter or breaker): the attempt defers and asks again, deciding nothing.
enum class Existence { found, not_found, unknown, not_now };

// The publish state machine's platform half. Every step may add the ids it created to `ids`; the
// driver records them on the job before the next step, so a later attempt resumes rather than
// starting over.
class PublishSteps {
 public:
  virtual ~PublishSteps() = default;
  virtual net::awaitable<StepResult> run(PublishStep step, JobContext& job, nlohmann::json& ids) = 0;
  // Runs before the publish step is marked sent: what must be ready for the irreversible call and
  // may take time or fail on its own, above all the account's token (jobs/token_use.hpp,
  // prepare_token), so that a crash while it is renewed does not leave the job "publish_sent".
  virtual net::awaitable<StepResult> before_publish(JobContext& job) {
    (void)job;
    co_return std::nullopt;
  }
  // After an attempt whose publish call had no known outcome: does the post exist? Ask by the ids
  // recorded first. On `found`, put the post's id in ids["published_id"].
  virtual net::awaitable<Existence> find_existing(JobContext& job, nlohmann::json& ids) = 0;
  // The longest a step may take; a step starts only when the lease covers it.
  virtual std::chrono::milliseconds deadline(PublishStep step) const = 0;
  // False when the step, for this job, makes no external call and takes no time (it only checks or
  // computes, so running it again is harmless). The driver records such a step's progress with the
  // next save instead of one round trip of its own; progress is always recorded before a step or
  // token renewal that may call out, and after the publish call.
  virtual bool calls_out(PublishStep step, const JobContext& job, const nlohmann::json& ids) const {
    (void)step;
    (void)job;
    (void)ids;
    return true;
  }
};

class PlatformAdapter {
 public:
  virtual ~PlatformAdapter() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<PublishSteps> publish_steps() = 0;
  virtual net::awaitable<Outcome> refresh_token(JobContext& job) = 0;
  virtual net::awaitable<Outcome> fetch_analytics(JobContext& job) = 0;
  virtual net::awaitable<Outcome> revoke_token(JobContext& job) = 0;
};

}  // namespace schedulo::jobs
