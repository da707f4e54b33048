// The publish state machine: steps in order, each recorded before the next; resumption from the
// checkpoint; an unknown publish outcome settled by asking the platform, never by posting again.
#include <gtest/gtest.h>

#include <utility>

#include <boost/asio/io_context.hpp>

#include "common/event.hpp"
#include "common/rfc3339.hpp"
#include "jobs/drivers.hpp"
#include "jobs/retry_policy.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::jobs {
namespace {

using namespace std::chrono_literals;
using test::run_for;
using json = nlohmann::json;

// A platform's steps as a script: records every call; the publish call can hang (its answer lost).
class ScriptedSteps final : public PublishSteps {
 public:
  std::vector<std::string> calls;
  int publish_hangs = 0;  // this many publish calls never answer
  Existence existence = Existence::not_found;
  StepResult before;           // what before_publish answers (the token not ready, ...)
  StepResult publish_ends;     // what the publish step answers instead of publishing
  bool local = false;          // validate, stage, create, upload and confirm make no call
  json stored_before_publish;  // the job's recorded checkpoint when before_publish ran
  StepResult confirm_ends;     // what the confirm step answers instead of confirming
  json stored_before_confirm;  // the job's recorded checkpoint when confirm ran

  net::awaitable<StepResult> run(PublishStep step, JobContext& job, json& ids) override {
    calls.emplace_back(to_string(step));
    if (step == PublishStep::confirm) {
      stored_before_confirm = job.checkpoint();
      if (confirm_ends) co_return std::exchange(confirm_ends, std::nullopt);
    }
    if (step == PublishStep::create) ids["container"] = "c-1";
    if (step == PublishStep::publish) {
      if (publish_ends) co_return std::exchange(publish_ends, std::nullopt);
      if (publish_hangs > 0) {
        --publish_hangs;
        net::Event never(co_await boost::asio::this_coro::executor);
        co_await never.wait();  // cancelled by the step deadline
      }
      ids["published_id"] = "p-1";
    }
    co_return std::nullopt;
  }
  net::awaitable<StepResult> before_publish(JobContext& job) override {
    calls.emplace_back("before_publish");
    stored_before_publish = job.checkpoint();
    co_return before;
  }
  net::awaitable<Existence> find_existing(JobContext&, json& ids) override {
    calls.emplace_back("find_existing");
    if (existence == Existence::found) ids["published_id"] = "p-1";
    co_return existence;
  }
  std::chrono::milliseconds deadline(PublishStep) const override { return 200ms; }
  bool calls_out(PublishStep step, const JobContext&, const json&) const override {
    return !local || step == PublishStep::publish;
  }
};

class PublishDriverTest : public ::testing::Test {
 protected:
  PublishDriverTest() {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    store = std::make_unique<queue::Store>(*client, queue::Keys(test::unique_prefix()), queue::QueueSettings{});
  }

  // Enqueues and leases the job, as the dispatcher would, and returns its context.
  std::unique_ptr<JobContext> leased(const std::string& id) {
    queue::NewJob j{id, "publish", "x", "acct", "{}", 0, 3};
    run_for(io, store->enqueue({j}, now_epoch_ms()));
    return next_attempt();
  }
  std::unique_ptr<JobContext> next_attempt() {
    run_for(io, store->promote(now_epoch_ms() + 1, 10));
    auto b = run_for(io, store->lease(now_epoch_ms(), "w1", 1, {{"x", 1}}));
    EXPECT_EQ(b->jobs.size(), 1u);
    Job job;
    job.id = b->jobs.at(0).id;
    return std::make_unique<JobContext>(*store, job, b->jobs.at(0), JobContext::Clock::now() + store->settings().lease);
  }
  // Ends the attempt the way the dispatcher would record it.
  void settle(JobContext& ctx, const Outcome& out, queue::Settlement how) {
    queue::Settle s{ctx.lease().id, ctx.lease().token, how, 0, out.error, out.error_code, "",
                    out.checkpoint.is_null() ? "" : out.checkpoint.dump()};
    run_for(io, store->settle({s}, now_epoch_ms()));
  }

  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<queue::Store> store;
};

TEST_F(PublishDriverTest, RunsEveryStepInOrderAndRecordsTheIds) {
  auto ctx = leased("p1");
  ScriptedSteps steps;
  auto out = run_for(io, run_publish(*ctx, steps));
  EXPECT_EQ(out.kind, Outcome::Kind::succeeded);
  EXPECT_EQ(steps.calls, (std::vector<std::string>{"validate", "stage", "create", "upload", "before_publish", "publish",
                                                   "confirm"}));
  EXPECT_EQ(out.result["published_id"], "p-1");
  // Each step that may call out was recorded before the next call; the last one's progress goes
  // with the outcome (the settlement records it).
  EXPECT_EQ(steps.stored_before_publish["done"], "upload");
  EXPECT_EQ(ctx->checkpoint()["done"], "publish");
  EXPECT_EQ(out.checkpoint["done"], "confirm");
  EXPECT_EQ(out.checkpoint["ids"]["container"], "c-1");
}

TEST_F(PublishDriverTest, StepsThatMakeNoCallAreRecordedWithThePublishMark) {
  auto ctx = leased("p11");
  ScriptedSteps steps;
  steps.local = true;
  auto out = run_for(io, run_publish(*ctx, steps));
  EXPECT_EQ(out.kind, Outcome::Kind::succeeded);
  EXPECT_TRUE(steps.stored_before_publish.is_null()) << steps.stored_before_publish.dump();
  // Marked sent with the local steps' progress in one write before the call ...
  EXPECT_EQ(ctx->checkpoint()["done"], "upload");
  EXPECT_EQ(ctx->checkpoint()["ids"]["container"], "c-1");
  EXPECT_EQ(ctx->checkpoint()["publish_sent"], true);
  // ... and, no step after it calling out, the publish's answer goes with the outcome.
  EXPECT_EQ(out.checkpoint["done"], "confirm");
  EXPECT_EQ(out.checkpoint["published"], true);
  EXPECT_EQ(out.checkpoint["ids"]["published_id"], "p-1");
}

TEST_F(PublishDriverTest, APublishFollowedByACallIsRecordedBeforeThatCall) {
  auto ctx = leased("p12");
  ScriptedSteps steps;  // confirm calls out
  steps.confirm_ends = Outcome::retry("the platform did not answer", "timeout");
  auto out = run_for(io, run_publish(*ctx, steps));
  EXPECT_EQ(out.kind, Outcome::Kind::retry);
  EXPECT_EQ(steps.stored_before_confirm["done"], "publish");
  EXPECT_EQ(steps.stored_before_confirm["published"], true);
  EXPECT_EQ(steps.stored_before_confirm["ids"]["published_id"], "p-1");
}

TEST_F(PublishDriverTest, AStepAfterThePublishThatEndsTheAttemptKeepsThePublishsAnswer) {
  auto ctx = leased("p13");
  ScriptedSteps steps;
  steps.local = true;
  steps.confirm_ends = Outcome::fail("the post's link could not be made", "bad_answer");
  auto out = run_for(io, run_publish(*ctx, steps));
  EXPECT_EQ(out.kind, Outcome::Kind::failed);
  EXPECT_EQ(out.checkpoint["done"], "publish");
  EXPECT_EQ(out.checkpoint["published"], true);
  EXPECT_EQ(out.checkpoint["ids"]["published_id"], "p-1");
  // Settled, the next attempt resumes after the publish: it is never sent again.
  settle(*ctx, out, queue::Settlement::retry);
  auto again = next_attempt();
  ScriptedSteps next;
  next.local = true;
  auto second = run_for(io, run_publish(*again, next));
  EXPECT_EQ(second.kind, Outcome::Kind::succeeded);
  EXPECT_EQ(next.calls, (std::vector<std::string>{"confirm"}));
}

TEST_F(PublishDriverTest, ResumesAfterTheLastRecordedStep) {
  auto ctx = leased("p2");
  ASSERT_TRUE(run_for(io, ctx->save_checkpoint({{"done", "upload"}, {"ids", {{"container", "c-9"}}}})));
  settle(*ctx, Outcome::retry("x", "x"), queue::Settlement::release);
  auto again = next_attempt();
  ScriptedSteps steps;
  auto out = run_for(io, run_publish(*again, steps));
  EXPECT_EQ(out.kind, Outcome::Kind::succeeded);
  EXPECT_EQ(steps.calls, (std::vector<std::string>{"before_publish", "publish", "confirm"}));
  EXPECT_EQ(out.result["container"], "c-9");
}

TEST_F(PublishDriverTest, AnUnansweredPublishIsLookedUpAndNeverSentTwice) {
  auto ctx = leased("p3");
  ScriptedSteps first;
  first.publish_hangs = 1;
  auto out = run_for(io, run_publish(*ctx, first));
  EXPECT_EQ(out.kind, Outcome::Kind::retry);
  EXPECT_EQ(out.error_code, "outcome_unknown");
  EXPECT_EQ(out.checkpoint["publish_sent"], true);
  settle(*ctx, out, queue::Settlement::retry);

  auto again = next_attempt();
  ScriptedSteps second;
  second.existence = Existence::found;
  auto done = run_for(io, run_publish(*again, second));
  EXPECT_EQ(done.kind, Outcome::Kind::succeeded);
  EXPECT_EQ(second.calls, (std::vector<std::string>{"find_existing", "confirm"}));
  EXPECT_EQ(done.result["published_id"], "p-1");
}

TEST_F(PublishDriverTest, AnUnansweredPublishThatDidNotLandIsSentAgain) {
  auto ctx = leased("p4");
  ScriptedSteps first;
  first.publish_hangs = 1;
  auto out = run_for(io, run_publish(*ctx, first));
  settle(*ctx, out, queue::Settlement::retry);
  auto again = next_attempt();
  ScriptedSteps second;
  second.existence = Existence::not_found;
  auto done = run_for(io, run_publish(*again, second));
  EXPECT_EQ(done.kind, Outcome::Kind::succeeded);
  EXPECT_EQ(second.calls, (std::vector<std::string>{"find_existing", "before_publish", "publish", "confirm"}));
}

TEST_F(PublishDriverTest, WhenThePlatformCannotTellTheJobNeedsReview) {
  auto ctx = leased("p5");
  ScriptedSteps first;
  first.publish_hangs = 1;
  settle(*ctx, run_for(io, run_publish(*ctx, first)), queue::Settlement::retry);
  auto again = next_attempt();
  ScriptedSteps second;
  second.existence = Existence::unknown;
  auto out = run_for(io, run_publish(*again, second));
  EXPECT_EQ(out.kind, Outcome::Kind::needs_review);
  EXPECT_EQ(out.error_code, "outcome_unknown");
  EXPECT_EQ(second.calls, (std::vector<std::string>{"find_existing"}));
}

TEST_F(PublishDriverTest, AnAttemptEndedBeforePublishingIsNotMarkedSent) {
  auto ctx = leased("p7");
  ScriptedSteps steps;
  steps.before = Outcome::defer("another daemon is renewing the token", "token_refreshing", 100ms);
  auto out = run_for(io, run_publish(*ctx, steps));
  EXPECT_EQ(out.kind, Outcome::Kind::defer);
  EXPECT_EQ(steps.calls, (std::vector<std::string>{"validate", "stage", "create", "upload", "before_publish"}));
  EXPECT_EQ(out.checkpoint["done"], "upload");
  EXPECT_FALSE(out.checkpoint.value("publish_sent", false));
}

TEST_F(PublishDriverTest, APublishCallTheLimitsHeldBackIsNotMarkedSent) {
  auto ctx = leased("p9");
  ScriptedSteps first;
  first.publish_ends = Outcome::defer("rate limit x:account:tweets_create", "rate_limited", 100ms);
  auto out = run_for(io, run_publish(*ctx, first));
  EXPECT_EQ(out.kind, Outcome::Kind::defer);
  EXPECT_FALSE(out.checkpoint.value("publish_sent", true));
  settle(*ctx, out, queue::Settlement::defer);
  // The next attempt publishes without asking the platform first.
  auto again = next_attempt();
  ScriptedSteps second;
  auto done = run_for(io, run_publish(*again, second));
  EXPECT_EQ(done.kind, Outcome::Kind::succeeded);
  EXPECT_EQ(std::count(second.calls.begin(), second.calls.end(), "find_existing"), 0);
  EXPECT_EQ(std::count(second.calls.begin(), second.calls.end(), "publish"), 1);
}

TEST_F(PublishDriverTest, APublishThatEndedOtherwiseStaysMarkedSent) {
  auto ctx = leased("p10");
  ScriptedSteps steps;
  steps.publish_ends = Outcome::retry("the platform answered 503", "transient");
  auto out = run_for(io, run_publish(*ctx, steps));
  EXPECT_EQ(out.kind, Outcome::Kind::retry);
  EXPECT_EQ(out.checkpoint["publish_sent"], true);
}

TEST_F(PublishDriverTest, AnEarlierPublishThatCannotBeCheckedYetDefersWithoutDeciding) {
  auto ctx = leased("p8");
  ScriptedSteps first;
  first.publish_hangs = 1;
  settle(*ctx, run_for(io, run_publish(*ctx, first)), queue::Settlement::retry);
  auto again = next_attempt();
  ScriptedSteps second;
  second.existence = Existence::not_now;
  auto out = run_for(io, run_publish(*again, second));
  EXPECT_EQ(out.kind, Outcome::Kind::defer);
  EXPECT_EQ(out.checkpoint["publish_sent"], true);
  EXPECT_EQ(second.calls, (std::vector<std::string>{"find_existing"}));
}

TEST_F(PublishDriverTest, NothingIsPublishedOnALostLease) {
  auto ctx = leased("p6");
  // Another worker takes the job over (the lease expired and was reaped).
  run_for(io, store->reap(now_epoch_ms() + store->settings().lease.count() + 1, 10));
  run_for(io, store->promote(now_epoch_ms() + 1, 10));
  auto other = run_for(io, store->lease(now_epoch_ms(), "w2", 1, {{"x", 1}}));
  ASSERT_EQ(other->jobs.size(), 1u);
  ScriptedSteps steps;
  auto out = run_for(io, run_publish(*ctx, steps));
  EXPECT_TRUE(ctx->lost());
  EXPECT_EQ(out.kind, Outcome::Kind::defer);
  EXPECT_EQ(std::count(steps.calls.begin(), steps.calls.end(), "publish"), 0);
}

TEST_F(PublishDriverTest, LeaseCoversOnlyStepsThatEndBeforeItWithAMargin) {
  auto ctx = leased("p7");
  const auto left = ctx->lease_deadline() - JobContext::Clock::now();
  EXPECT_TRUE(ctx->lease_covers(std::chrono::duration_cast<std::chrono::milliseconds>(left) - 3s));
  EXPECT_FALSE(ctx->lease_covers(std::chrono::duration_cast<std::chrono::milliseconds>(left) - 1s));
  // A step longer than the lease gets a longer lease before it starts.
  EXPECT_TRUE(run_for(io, ctx->ensure_lease_covers(store->settings().lease * 2)));
  EXPECT_TRUE(ctx->lease_covers(store->settings().lease * 2));
}

TEST(RetryPolicyTest, DelayStaysWithinTheDoublingCeilingAndTheCap) {
  RetryPolicy p{100ms, 5000ms};
  std::mt19937_64 rng(7);
  EXPECT_EQ(p.ceiling(1), 100ms);
  EXPECT_EQ(p.ceiling(2), 200ms);
  EXPECT_EQ(p.ceiling(6), 3200ms);
  EXPECT_EQ(p.ceiling(7), 5000ms);
  EXPECT_EQ(p.ceiling(60), 5000ms);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    std::chrono::milliseconds lo{1'000'000}, hi{0};
    for (int i = 0; i < 2000; ++i) {
      const auto d = p.delay(attempt, 0ms, rng);
      ASSERT_GE(d, 0ms);
      ASSERT_LE(d, p.ceiling(attempt));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter: the draws spread over the whole range, not around the ceiling.
    EXPECT_LT(lo, p.ceiling(attempt) / 10) << attempt;
    EXPECT_GT(hi, p.ceiling(attempt) * 9 / 10) << attempt;
  }
}

TEST(RetryPolicyTest, ThePlatformsWaitIsAFloor) {
  RetryPolicy p{100ms, 5000ms};
  std::mt19937_64 rng(9);
  for (int i = 0; i < 1000; ++i) ASSERT_GE(p.delay(1, 60000ms, rng), 60000ms);
}

}  // namespace
}  // namespace schedulo::jobs
