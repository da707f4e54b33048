#include "jobs/drivers.hpp"

#include <array>

#include "common/deadline.hpp"

namespace schedulo::jobs {
namespace {

using json = nlohmann::json;
constexpr std::chrono::seconds kRefreshDeadline{15};
constexpr std::chrono::seconds kCallDeadline{60};
constexpr std::array kSteps{PublishStep::validate, PublishStep::stage, PublishStep::create,
                            PublishStep::upload,   PublishStep::publish, PublishStep::confirm};

// The checkpoint of a publish job: {"done": "<last completed step>", "ids": {...},
// "publish_sent": true once the irreversible call may have reached the platform}.
std::size_t next_step_index(const json& checkpoint) {
  if (!checkpoint.is_object() || !checkpoint.contains("done")) return 0;
  const auto done = checkpoint["done"].get<std::string>();
  for (std::size_t i = 0; i < kSteps.size(); ++i)
    if (to_string(kSteps[i]) == done) return i + 1;
  return 0;
}

}  // namespace

std::string_view to_string(PublishStep step) {
  switch (step) {
    case PublishStep::validate: return "validate";
    case PublishStep::stage: return "stage";
    case PublishStep::create: return "create";
    case PublishStep::upload: return "upload";
    case PublishStep::publish: return "publish";
    case PublishStep::confirm: return "confirm";
  }
  return "?";
}

namespace {

bool publish_not_made(const Outcome& stop) {
  if (stop.kind != Outcome::Kind::defer) return false;
  return stop.error_code == "rate_limited" || stop.error_code == "circuit_open" ||
         stop.error_code == "limiter_unavailable";
}

}  // namespace

net::awaitable<Outcome> run_publish(JobContext& job, PublishSteps& steps) {
  json checkpoint = job.checkpoint().is_object() ? job.checkpoint() : json::object();
  json ids = checkpoint.value("ids", json::object());
  std::size_t next = next_step_index(checkpoint);

  // Rule 11: the last attempt sent the publish call and never learned its outcome. Settle it by the
  // recorded ids before anything else; never post blindly a second time.
  if (checkpoint.value("publish_sent", false) && next <= 4) {
    switch (co_await steps.find_existing(job, ids)) {
      case Existence::found:
        job.log().info("publish of an earlier attempt found on the platform; confirming it");
        next = 5;
        break;
      case Existence::not_found:
        job.log().info("publish of an earlier attempt did not reach the platform; publishing again");
        checkpoint["publish_sent"] = false;
        break;
      case Existence::not_now: {
        Outcome later = Outcome::defer(
            "checking whether the earlier publish went out must wait (the account's token is being "
            "renewed, or the platform or our rate limit asked us to slow down)",
            "existence_check_deferred", std::chrono::seconds(1));
        later.checkpoint = checkpoint;
        co_return later;
      }
      case Existence::unknown:
        co_return Outcome::review(
            "The post may or may not have been published (the platform's answer was lost) and the platform "
            "cannot tell yet. Check the account; nothing will be posted again without you.",
            "outcome_unknown");
    }
  }

  // Progress of steps that made no external call is recorded with the next save, not in a round trip
  // of its own (a text post's validate, stage, create and upload): `pending` until then. Once a step
  // that may have called out is among it (`unsaved_call`), it is saved before anything else may call
  // out (rule 3: a side effect is recorded before the next external call).
  bool pending = false;
  bool unsaved_call = false;
  for (std::size_t i = next; i < kSteps.size(); ++i) {
    const PublishStep step = kSteps[i];
    const auto limit = steps.deadline(step);
    const bool calls = step == PublishStep::publish || steps.calls_out(step, job, ids);
    if (step == PublishStep::publish) {
      if (unsaved_call) {  // the token step below may call out
        checkpoint["ids"] = ids;
        const bool saved = co_await job.save_checkpoint(checkpoint);
        if (!saved) co_return Outcome::defer("could not record progress", "checkpoint", std::chrono::seconds(1));
      }
      // The token first (renewing it is not the irreversible call): an attempt that ends or dies here
      // has not sent anything.
      if (auto stop = co_await steps.before_publish(job)) {
        Outcome early = std::move(*stop);
        checkpoint["ids"] = ids;
        if (early.checkpoint.is_null()) early.checkpoint = checkpoint;
        co_return early;
      }
      // Marked sent, and (rule 10) the lease extended to outlive the irreversible call, in one save.
      checkpoint["publish_sent"] = true;
      checkpoint["ids"] = ids;
      const bool marked = co_await job.save_checkpoint(checkpoint, limit);
      if (!marked)
        co_return Outcome::defer("could not record progress before publishing", "checkpoint", std::chrono::seconds(1));
      if (!job.lease_covers(limit))
        co_return Outcome::defer("the job's lease could not be extended before publishing", "lease", std::chrono::seconds(1));
      unsaved_call = false;  // `pending` is set again once the step below completes
    } else if (pending && calls) {
      checkpoint["ids"] = ids;
      const bool saved = co_await job.save_checkpoint(checkpoint);
      if (!saved) {
        // The settlement records the progress instead (a publish's answer among it), once Redis takes it.
        Outcome later = Outcome::defer("could not record progress", "checkpoint", std::chrono::seconds(1));
        later.checkpoint = checkpoint;
        co_return later;
      }
      unsaved_call = false;  // `pending` is set again once the step below completes
    }
    auto result = co_await net::with_timeout(steps.run(step, job, ids), limit);
    if (!result) {
      Outcome late = step == PublishStep::publish
                         // Sent, no answer: the next attempt asks the platform before anything else.
                         ? Outcome::retry("the platform did not answer the publish call in time; checking before any retry",
                                          "outcome_unknown")
                         : Outcome::retry(std::string("the ") + std::string(to_string(step)) + " step timed out", "timeout");
      late.checkpoint = checkpoint;
      co_return late;
    }
    if (*result) {
      Outcome stop = std::move(**result);
      // A publish call the limits held back (jobs/call_outcome.hpp: the limiter or the circuit, or a
      // 429 refused before processing) never published anything: the next attempt need not ask.
      if (step == PublishStep::publish && publish_not_made(stop)) checkpoint["publish_sent"] = false;
      checkpoint["ids"] = ids;
      if (stop.checkpoint.is_null()) stop.checkpoint = checkpoint;
      co_return stop;
    }
    checkpoint["done"] = std::string(to_string(step));
    checkpoint["ids"] = ids;
    // The irreversible call's answer, like any step's progress, is recorded before the next step that
    // calls out, or else with the outcome: every way out of this loop carries the checkpoint. For a
    // text post on X (confirm only computes) that is one write instead of two; a crash before the
    // settlement leaves `publish_sent`, and the next attempt asks the platform, as after a lost answer.
    if (step == PublishStep::publish) checkpoint["published"] = true;
    pending = true;
    unsaved_call = unsaved_call || calls;
  }
  Outcome done = Outcome::success(ids);
  // The last steps' progress goes with the outcome: the settlement records both at once.
  if (pending) done.checkpoint = checkpoint;
  co_return done;
}

net::awaitable<Outcome> run_driver(JobContext& job, PlatformAdapter& platform) {
  switch (job.job().type) {
    case JobType::publish: {
      auto steps = platform.publish_steps();
      co_return co_await run_publish(job, *steps);
    }
    case JobType::refresh_token: {
      // A rotating refresh token is spent by the call: start it only on a lease that covers it.
      if (!co_await job.ensure_lease_covers(kRefreshDeadline))
        co_return Outcome::defer("the job's lease could not be extended before refreshing", "lease", std::chrono::seconds(1));
      auto out = co_await net::with_timeout(platform.refresh_token(job), kRefreshDeadline);
      // The platform may have rotated the token without us hearing it: the token issue's provider
      // settles that from the stored versions; here it is an unknown outcome, retried with care.
      co_return out ? std::move(*out) : Outcome::retry("the token refresh did not answer in time", "outcome_unknown");
    }
    case JobType::fetch_analytics: {
      auto out = co_await net::with_timeout(platform.fetch_analytics(job), kCallDeadline);
      co_return out ? std::move(*out) : Outcome::retry("fetching analytics timed out", "timeout");
    }
    case JobType::revoke_token: {
      auto out = co_await net::with_timeout(platform.revoke_token(job), kCallDeadline);
      co_return out ? std::move(*out) : Outcome::retry("revoking the token timed out", "timeout");
    }
  }
  co_return Outcome::fail("unknown job type", "bad_job");
}

}  // namespace schedulo::jobs
