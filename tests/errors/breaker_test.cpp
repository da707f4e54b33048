// The circuit breaker and the notifications in Redis (label `errors`), on a clock the test sets:
// opening on consecutive failures and on the error rate, half-open probes, closing; dedup of
// notifications per kind and subject; dead and needs_review jobs and opened circuits recorded with
// their own state change.
#include "queue/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "queue/notifier.hpp"
#include "queue/store.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::queue {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using test::run_for;
using json = nlohmann::json;

constexpr std::int64_t kT0 = 1'800'000'000'000;

class BreakerTest : public ::testing::Test {
 protected:
  BreakerTest() {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    options.failure_threshold = 3;
    options.min_calls = 10;
    options.failure_rate_percent = 50;
    options.window = 60000ms;
    options.open_for = 1000ms;
    options.max_open = 3000ms;
    options.probe_timeout = 5000ms;
    options.half_open_recheck = 200ms;
    keys = std::make_unique<Keys>(test::unique_prefix());
    breaker = std::make_unique<CircuitBreaker>(*client, *keys, options);
    notifier = std::make_unique<Notifier>(*client, *keys);
  }
  ~BreakerTest() override {
    run_for(io, [&]() -> net::awaitable<int> {
      auto all = co_await client->exec("KEYS", keys->prefix() + ":*");
      for (const auto& k : all->elements) co_await client->exec("DEL", k.str);
      co_return 0;
    }());
  }

  BreakerDecision check(std::int64_t now) {
    auto r = run_for(io, breaker->check("x", now));
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : BreakerDecision{};
  }
  std::pair<std::string, std::string> record(BreakerOutcome outcome, std::int64_t now) {
    auto r = run_for(io, breaker->record("x", outcome, now));
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : std::pair<std::string, std::string>{};
  }
  std::vector<json> notifications() {
    auto r = run_for(io, client->exec("LRANGE", keys->notifications(), "0", "-1"));
    std::vector<json> out;
    for (const auto& e : r->elements) out.push_back(json::parse(e.str));
    return out;
  }

  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client;
  BreakerOptions options;
  std::unique_ptr<Keys> keys;
  std::unique_ptr<CircuitBreaker> breaker;
  std::unique_ptr<Notifier> notifier;
};

TEST_F(BreakerTest, ConsecutiveFailuresOpenItAndASuccessBetweenThemResetsTheCount) {
  EXPECT_TRUE(check(kT0).allowed);
  record(BreakerOutcome::failure, kT0);
  record(BreakerOutcome::failure, kT0);
  record(BreakerOutcome::success, kT0);
  record(BreakerOutcome::failure, kT0);
  EXPECT_EQ(record(BreakerOutcome::failure, kT0).second, "");
  EXPECT_EQ(record(BreakerOutcome::failure, kT0 + 5), (std::pair<std::string, std::string>{"open", "opened"}));
  auto refused = check(kT0 + 105);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.state, "open");
  EXPECT_EQ(refused.wait, 900ms);
}

// success_batch: on a platform the local view knows healthy, successes wait and go with the next
// result; they still count for the error rate and still end a run of failures.
TEST_F(BreakerTest, BatchedSuccessesGoWithTheNextFailureAndStillEndAFailureRun) {
  options.success_batch = 60s;
  CircuitBreaker batched(*client, *keys, options);
  auto server_clock_record = [&](BreakerOutcome outcome) {
    auto r = run_for(io, batched.record("x", outcome));
    EXPECT_TRUE(r) << r.error().message();
    return r ? r->first : std::string();
  };
  auto field = [&](const char* name) {
    auto r = run_for(io, client->exec("HGET", keys->breaker("x"), name));
    return r && r->is_string() ? r->str : std::string();
  };
  ASSERT_TRUE(run_for(io, batched.check("x")));  // the view: closed, fresh
  for (int i = 0; i < 5; ++i) EXPECT_EQ(server_clock_record(BreakerOutcome::success), "closed");
  EXPECT_EQ(field("win_total"), "") << "the successes wait";
  EXPECT_EQ(server_clock_record(BreakerOutcome::failure), "closed");
  EXPECT_EQ(field("win_total"), "6");
  EXPECT_EQ(field("failures"), "1");
  // failure, success (waiting), failure: the success between them ends the run (threshold 3).
  EXPECT_EQ(server_clock_record(BreakerOutcome::success), "closed");
  EXPECT_EQ(server_clock_record(BreakerOutcome::failure), "closed");
  EXPECT_EQ(field("failures"), "1");
  EXPECT_EQ(field("win_total"), "8");
  EXPECT_EQ(field("win_failed"), "2");
}

TEST_F(BreakerTest, BatchedSuccessesARecordFailedToWriteGoWithTheNextOne) {
  options.success_batch = 60s;
  CircuitBreaker batched(*client, *keys, options);
  ASSERT_TRUE(run_for(io, batched.check("x")));  // the view: closed, fresh
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(run_for(io, batched.record("x", BreakerOutcome::success)));
  // The record script fails (the breaker's key holds a string: WRONGTYPE).
  const std::string key = keys->breaker("x");
  ASSERT_TRUE(run_for(io, client->exec("SET", key, "not a hash")));
  EXPECT_FALSE(run_for(io, batched.record("x", BreakerOutcome::failure)));
  ASSERT_TRUE(run_for(io, client->exec("DEL", key)));
  // The next result carries the four successes the failed one could not write.
  ASSERT_TRUE(run_for(io, batched.record("x", BreakerOutcome::failure)));
  auto total = run_for(io, client->exec("HGET", key, "win_total"));
  ASSERT_TRUE(total && total->is_string());
  EXPECT_EQ(total->str, "5") << "four successes and this failure";
}

TEST_F(BreakerTest, HalfOpenLetsOneProbeThroughAndItsSuccessCloses) {
  for (int i = 0; i < 3; ++i) record(BreakerOutcome::failure, kT0);
  auto probe = check(kT0 + 1000);
  EXPECT_TRUE(probe.allowed);
  EXPECT_TRUE(probe.probe);
  auto other = check(kT0 + 1001);
  EXPECT_FALSE(other.allowed) << "one probe at a time";
  EXPECT_EQ(other.state, "half_open");
  EXPECT_EQ(other.wait, 200ms) << "look again soon: the probe may succeed at once";
  EXPECT_EQ(record(BreakerOutcome::success, kT0 + 1050), (std::pair<std::string, std::string>{"closed", "closed"}));
  EXPECT_TRUE(check(kT0 + 1051).allowed);
  EXPECT_FALSE(check(kT0 + 1051).probe);
  // Closed anew: it takes the full threshold again to open.
  record(BreakerOutcome::failure, kT0 + 1100);
  record(BreakerOutcome::failure, kT0 + 1100);
  EXPECT_TRUE(check(kT0 + 1100).allowed);
}

TEST_F(BreakerTest, AFailedProbeOpensItAgainForTwiceAsLongUpToTheMaximum) {
  for (int i = 0; i < 3; ++i) record(BreakerOutcome::failure, kT0);
  ASSERT_TRUE(check(kT0 + 1000).probe);
  EXPECT_EQ(record(BreakerOutcome::failure, kT0 + 1000).second, "opened");
  EXPECT_EQ(check(kT0 + 1000).wait, 2000ms);
  ASSERT_TRUE(check(kT0 + 3000).probe);
  record(BreakerOutcome::failure, kT0 + 3000);
  EXPECT_EQ(check(kT0 + 3000).wait, 3000ms) << "4 s capped at max_open";
}

TEST_F(BreakerTest, AProbeThatNeverReportsIsReplacedAfterItsTimeout) {
  for (int i = 0; i < 3; ++i) record(BreakerOutcome::failure, kT0);
  ASSERT_TRUE(check(kT0 + 1000).probe);
  EXPECT_FALSE(check(kT0 + 5999).allowed);
  EXPECT_TRUE(check(kT0 + 6000).probe) << "the first probe's daemon died";
}

TEST_F(BreakerTest, TheErrorRateOpensItWithoutConsecutiveFailures) {
  // failure, success, failure, success ...: never 3 in a row, but half of the calls fail.
  std::string transition;
  int calls = 0;
  while (transition.empty() && calls < 40) {
    transition = record(calls % 2 == 0 ? BreakerOutcome::failure : BreakerOutcome::success, kT0 + calls).second;
    ++calls;
  }
  EXPECT_EQ(transition, "opened");
  EXPECT_EQ(calls, 11) << "at min_calls (10) the rate is 5/10; the 11th call (a failure) makes 6/11";
}

TEST_F(BreakerTest, TheLocalViewDefersWithoutAskingRedis) {
  EXPECT_FALSE(breaker->blocked_for("x"));
  for (int i = 0; i < 3; ++i) run_for(io, breaker->record("x", BreakerOutcome::failure));  // the server's clock
  auto left = breaker->blocked_for("x");
  ASSERT_TRUE(left);
  EXPECT_GT(*left, 0ms);
  EXPECT_LE(*left, 1000ms);
  EXPECT_FALSE(breaker->blocked_for("tiktok")) << "per platform";
}

TEST_F(BreakerTest, OpeningRecordsOneCircuitOpenNotificationPerWindow) {
  for (int i = 0; i < 3; ++i) record(BreakerOutcome::failure, kT0);
  ASSERT_TRUE(check(kT0 + 1000).probe);
  record(BreakerOutcome::failure, kT0 + 1000);  // opened again within the window: no second record
  auto list = notifications();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["kind"], "circuit_open");
  EXPECT_EQ(list[0]["subject"], "x");
  EXPECT_EQ(list[0]["platform"], "x");
  EXPECT_EQ(list[0]["error_code"], "circuit_open");
  EXPECT_EQ(list[0]["message"], options.open_message);
  EXPECT_EQ(list[0]["at"], kT0);
  EXPECT_EQ(list[0]["id"], "circuit_open:x:" + std::to_string(kT0));
}

TEST_F(BreakerTest, NotificationsAreDeduplicatedPerKindAndSubjectWithinTheWindow) {
  ASSERT_TRUE(run_for(io, notifier->set_window(120s)));
  Notification n{"needs_reconnect", "acct-1", "x", "acct-1", "job-1", "Reconnect.", "Do it.", "89"};
  EXPECT_TRUE(*run_for(io, notifier->notify(n, kT0)));
  n.job_id = "job-2";
  EXPECT_FALSE(*run_for(io, notifier->notify(n, kT0 + 10))) << "same account and kind";
  n.kind = "job_dead";
  EXPECT_TRUE(*run_for(io, notifier->notify(n, kT0 + 20))) << "another kind";
  n.kind = "needs_reconnect";
  n.subject = n.account = "acct-2";
  EXPECT_TRUE(*run_for(io, notifier->notify(n, kT0 + 30))) << "another account";
  auto ttl = run_for(io, client->exec("TTL", keys->notified("needs_reconnect", "acct-1")));
  EXPECT_GT(ttl->integer, 110);
  EXPECT_LE(ttl->integer, 120);
  run_for(io, client->exec("DEL", keys->notified("needs_reconnect", "acct-1")));  // what the expiry does
  n.subject = n.account = "acct-1";
  EXPECT_TRUE(*run_for(io, notifier->notify(n, kT0 + 130000)));
  auto list = notifications();
  ASSERT_EQ(list.size(), 4u);
  const auto& oldest = list.back();  // LPUSH: the oldest at the right end
  EXPECT_EQ(oldest["kind"], "needs_reconnect");
  EXPECT_EQ(oldest["account"], "acct-1");
  EXPECT_EQ(oldest["job_id"], "job-1");
  EXPECT_EQ(oldest["error_code"], "89");
  EXPECT_EQ(oldest["action"], "Do it.");
}

TEST_F(BreakerTest, DeadAndNeedsReviewJobsAreNotifiedWithTheirStateChangeOncePerAccount) {
  Store store(*client, *keys, QueueSettings{});
  std::vector<NewJob> jobs;
  for (const char* id : {"d1", "d2", "r1"})
    jobs.push_back(NewJob{id, "publish", "x", "acct-9", R"({"id":")" + std::string(id) + R"("})", 0, 1});
  ASSERT_TRUE(run_for(io, store.enqueue(jobs, kT0)));
  auto batch = run_for(io, store.lease(kT0, "w1", 3, {{"x", 3}}));
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->jobs.size(), 3u);
  std::vector<Settle> settles;
  for (const auto& l : batch->jobs) {
    const bool review = l.id == "r1";
    settles.push_back(Settle{l.id, l.token, review ? Settlement::needs_review : Settlement::retry, kT0,
                             review ? "The post may or may not have been published." : "The platform refused.",
                             review ? "outcome_unknown" : "http_503", "", ""});
  }
  auto states = run_for(io, store.settle(settles, kT0 + 5));
  ASSERT_TRUE(states);
  auto list = notifications();
  ASSERT_EQ(list.size(), 2u) << "two dead jobs of one account: one job_dead; and one job_needs_review";
  std::map<std::string, json> by_kind;
  for (const auto& n : list) by_kind[n["kind"].get<std::string>()] = n;
  ASSERT_TRUE(by_kind.count("job_dead"));
  ASSERT_TRUE(by_kind.count("job_needs_review"));
  EXPECT_EQ(by_kind["job_dead"]["account"], "acct-9");
  EXPECT_EQ(by_kind["job_dead"]["platform"], "x");
  EXPECT_EQ(by_kind["job_dead"]["error_code"], "http_503");
  EXPECT_EQ(by_kind["job_dead"]["message"], "The platform refused. (no attempts left)");
  EXPECT_EQ(by_kind["job_needs_review"]["job_id"], "r1");
  EXPECT_EQ(by_kind["job_needs_review"]["error_code"], "outcome_unknown");
}

}  // namespace
}  // namespace schedulo::queue
