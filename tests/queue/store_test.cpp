// The queue's state machine in Redis, transition by transition (label `queue`). Each test uses its
// own key prefix on the shared test server; times are passed in, so nothing waits for a clock.
#include "queue/store.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "jobs/intake.hpp"
#include "jobs/records_rewrite.hpp"
#include "queue/scripts.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::queue {
namespace {

using namespace std::chrono_literals;
using test::run_for;

constexpr std::int64_t kT0 = 1'800'000'000'000;  // a fixed "now" in ms

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    settings.lease = 10000ms;
    settings.per_account_limit = 0;
    store = std::make_unique<Store>(*client, Keys(test::unique_prefix()), settings);
  }
  ~StoreTest() override {
    // Remove this test's keys (the shared server outlives the test).
    run_for(io, [&]() -> net::awaitable<int> {
      auto keys = co_await client->exec("KEYS", store->keys().prefix() + ":*");
      for (const auto& k : keys->elements) co_await client->exec("DEL", k.str);
      co_return 0;
    }());
  }

  NewJob job(const std::string& id, const std::string& platform = "x", const std::string& account = "acct",
             std::int64_t run_at = 0, int max_attempts = 3) {
    return NewJob{id, "publish", platform, account, R"({"id":")" + id + R"("})", run_at, max_attempts};
  }
  std::vector<EnqueueResult> enqueue(std::vector<NewJob> jobs, std::int64_t now = kT0) {
    auto r = run_for(io, store->enqueue(jobs, now));
    EXPECT_TRUE(r) << r.error().message();
    return *r;
  }
  LeaseBatch lease(std::int64_t now = kT0, const std::string& worker = "w1", int total = 10,
                   std::vector<std::pair<std::string, int>> caps = {{"x", 10}, {"tiktok", 10}, {"instagram", 10}}) {
    auto r = run_for(io, store->lease(now, worker, total, caps));
    EXPECT_TRUE(r) << r.error().message();
    return *r;
  }
  std::string settle(const Lease& l, Settlement outcome, std::int64_t due = 0, std::int64_t now = kT0,
                     std::string checkpoint = "") {
    Settle s{l.id, l.token, outcome, due, "boom", "E1", "", std::move(checkpoint)};
    auto r = run_for(io, store->settle({s}, now));
    EXPECT_TRUE(r) << r.error().message();
    return r->at(0);
  }
  std::string field(const std::string& id, const std::string& name) {
    auto r = run_for(io, client->exec("HGET", store->keys().job(id), name));
    return r && r->is_string() ? r->str : "<nil>";
  }
  long long integer(std::vector<std::string> args) {
    auto r = run_for(io, client->exec_args(args));
    return r && r->is_integer() ? r->integer : -999;
  }

  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client;
  QueueSettings settings;
  std::unique_ptr<Store> store;
};

TEST_F(StoreTest, LuaAndCppBuildTheSameKeyNames) {
  const Keys& k = store->keys();
  redis::Args args{k.prefix(), "id-1", "x", "acct-1", "w-9", "airtable:posts", "airtable:posts|j-1"};
  auto r = run_for(io, client->eval(script("key_names"), {}, args));
  ASSERT_TRUE(r);
  const std::vector<std::string> expected{k.job("id-1"),
                                          k.tombstone("id-1"),
                                          k.attempt_log("id-1"),
                                          k.pending_cancel("id-1"),
                                          k.ready("x"),
                                          k.held("x", "acct-1"),
                                          k.by_account("x", "acct-1"),
                                          k.total("succeeded"),
                                          k.scheduled(),
                                          k.leases(),
                                          k.dead(),
                                          k.jobs(),
                                          k.paused(),
                                          k.running_accounts(),
                                          k.sequence(),
                                          k.inbox(),
                                          k.control(),
                                          k.worker_alive("w-9"),
                                          k.intake_work("w-9"),
                                          k.control_work("w-9"),
                                          k.workers(),
                                          k.outbox_queue("airtable:posts"),
                                          k.outbox_item("airtable:posts|j-1"),
                                          k.outbox_dead_item("airtable:posts|j-1"),
                                          k.outbox_history("airtable:posts|j-1"),
                                          k.outbox_guard("airtable:posts|j-1"),
                                          k.outbox_claimed(),
                                          k.outbox_dead(),
                                          k.outbox_dests(),
                                          k.calls("airtable:posts"),
                                          k.calls_warned("airtable:posts"),
                                          k.account_cache("acct-1"),
                                          k.account_sweep_lock(),
                                          k.notification_work("w-9")};
  ASSERT_EQ(r->elements.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(r->elements[i].str, expected[i]) << i;
}

TEST_F(StoreTest, SameIdTwiceIsOneJob) {
  auto r = enqueue({job("a"), job("a"), job("b")});
  EXPECT_EQ(r, (std::vector<EnqueueResult>{EnqueueResult::created, EnqueueResult::duplicate, EnqueueResult::created}));
  EXPECT_EQ(integer({"LLEN", store->keys().ready("x")}), 2);
  EXPECT_EQ(field("a", "state"), "queued");
}

TEST_F(StoreTest, FinishedJobExpiresAfterRetentionAndItsTombstoneKeepsTheIdADuplicate) {
  enqueue({job("a")});
  auto l = lease().jobs.at(0);
  EXPECT_EQ(settle(l, Settlement::succeeded), "succeeded");
  const auto ttl = integer({"TTL", store->keys().job("a")});
  EXPECT_GT(ttl, settings.retention.count() - 5);
  EXPECT_LE(ttl, settings.retention.count());
  EXPECT_GT(integer({"TTL", store->keys().tombstone("a")}), settings.retention.count());
  run_for(io, client->exec("DEL", store->keys().job("a")));  // what the expiry does
  EXPECT_EQ(enqueue({job("a")}).at(0), EnqueueResult::duplicate);
}

TEST_F(StoreTest, JobIsNotLeasedBeforeItsRunAtAndIsPromotedAtIt) {
  enqueue({job("later", "x", "acct", kT0 + 5000)});
  EXPECT_EQ(field("later", "state"), "scheduled");
  EXPECT_TRUE(lease(kT0).jobs.empty());
  auto early = run_for(io, store->promote(kT0 + 4999, 100));
  ASSERT_TRUE(early);
  EXPECT_EQ(early->first, 0);
  EXPECT_EQ(early->second, kT0 + 5000) << "the next due time arms the daemon's timer";
  EXPECT_TRUE(lease(kT0 + 4999).jobs.empty());
  auto due = run_for(io, store->promote(kT0 + 5000, 100));
  EXPECT_EQ(due->first, 1);
  EXPECT_EQ(due->second, -1);
  auto b = lease(kT0 + 5000);
  ASSERT_EQ(b.jobs.size(), 1u);
  EXPECT_EQ(b.jobs[0].id, "later");
}

TEST_F(StoreTest, LeaseMarksRunningWithATokenAndSucceededEndsIt) {
  enqueue({job("a")});
  auto b = lease();
  ASSERT_EQ(b.jobs.size(), 1u);
  const auto& l = b.jobs[0];
  EXPECT_EQ(l.attempt, 1);
  EXPECT_EQ(l.max_attempts, 3);
  EXPECT_EQ(l.payload, R"({"id":"a"})");
  EXPECT_EQ(field("a", "state"), "running");
  EXPECT_EQ(field("a", "lease_owner"), "w1");
  auto score = run_for(io, client->exec("ZSCORE", store->keys().leases(), "a"));
  EXPECT_EQ(score->as_integer(), kT0 + 10000);
  EXPECT_EQ(settle(l, Settlement::succeeded), "succeeded");
  EXPECT_EQ(field("a", "state"), "succeeded");
  EXPECT_EQ(integer({"ZCARD", store->keys().leases()}), 0);
  EXPECT_EQ(field("a", "lease"), "<nil>");
}

TEST_F(StoreTest, RetryBacksOffAndTheLastAttemptGoesDead) {
  enqueue({job("a", "x", "acct", 0, 2)});
  auto first = lease().jobs.at(0);
  EXPECT_EQ(settle(first, Settlement::retry, kT0 + 700), "retrying");
  EXPECT_EQ(field("a", "state"), "retrying");
  EXPECT_EQ(field("a", "error"), "boom");
  EXPECT_TRUE(lease(kT0 + 699).jobs.empty());
  EXPECT_EQ(run_for(io, store->promote(kT0 + 700, 10))->first, 1);
  auto second = lease(kT0 + 700).jobs.at(0);
  EXPECT_EQ(second.attempt, 2);
  EXPECT_EQ(settle(second, Settlement::retry, kT0 + 2000, kT0 + 700), "dead");
  EXPECT_EQ(field("a", "state"), "dead");
  EXPECT_EQ(field("a", "error"), "boom (no attempts left)");
  EXPECT_EQ(integer({"ZCARD", store->keys().dead()}), 1);
  EXPECT_EQ(integer({"TTL", store->keys().job("a")}), -1) << "dead jobs stay until purged";
  auto record = run_for(io, store->status("a"));
  ASSERT_TRUE(record);
  ASSERT_EQ(record->attempt_log.size(), 2u);
  EXPECT_NE(record->attempt_log[1].find("\"outcome\":\"dead\""), std::string::npos) << record->attempt_log[1];
}

TEST_F(StoreTest, ADeadJobsMessageDropsTheRetryAdviceAndASuccessDropsAnEarlierError) {
  enqueue({job("a", "x", "acct", 0, 1), job("b", "x", "acct2", 0, 2)});
  auto leased = lease().jobs;
  ASSERT_EQ(leased.size(), 2u);
  const auto& a = leased[0].id == "a" ? leased[0] : leased[1];
  const auto& b = leased[0].id == "a" ? leased[1] : leased[0];
  Settle last{a.id,
              a.token,
              Settlement::retry,
              kT0 + 100,
              "Meta's service was temporarily unavailable. Nothing to do: it is tried again automatically.",
              "2",
              "",
              ""};
  ASSERT_EQ(run_for(io, store->settle({last}, kT0))->at(0), "dead");
  EXPECT_EQ(field("a", "error"), "Meta's service was temporarily unavailable. (no attempts left)");

  EXPECT_EQ(settle(b, Settlement::retry, kT0 + 100), "retrying");
  EXPECT_EQ(field("b", "error"), "boom");
  EXPECT_EQ(run_for(io, store->promote(kT0 + 100, 10))->first, 1);
  auto again = lease(kT0 + 100).jobs.at(0);
  EXPECT_EQ(settle(again, Settlement::succeeded, 0, kT0 + 100), "succeeded");
  EXPECT_EQ(field("b", "error"), "<nil>") << "the earlier attempt's error is in the attempt log only";
  EXPECT_EQ(field("b", "error_code"), "<nil>");
  auto record = run_for(io, store->status("b"));
  ASSERT_TRUE(record);
  ASSERT_EQ(record->attempt_log.size(), 1u);
  EXPECT_NE(record->attempt_log[0].find("boom"), std::string::npos);
}

TEST_F(StoreTest, DeferAndWaitUseNoAttempt) {
  enqueue({job("a", "x", "acct", 0, 1)});
  EXPECT_EQ(settle(lease().jobs.at(0), Settlement::defer, kT0 + 100), "deferred");
  EXPECT_EQ(field("a", "attempts"), "0");
  run_for(io, store->promote(kT0 + 100, 10));
  auto again = lease(kT0 + 100).jobs.at(0);
  EXPECT_EQ(again.attempt, 1);
  EXPECT_EQ(settle(again, Settlement::wait, kT0 + 900, kT0 + 100, R"({"ids":{"container":"c1"}})"), "waiting");
  EXPECT_EQ(field("a", "state"), "waiting");
  EXPECT_EQ(field("a", "attempts"), "0");
  run_for(io, store->promote(kT0 + 900, 10));
  auto third = lease(kT0 + 900).jobs.at(0);
  EXPECT_EQ(third.attempt, 1) << "max_attempts 1 and still runnable: waiting is not working";
  EXPECT_EQ(third.checkpoint, R"({"ids":{"container":"c1"}})");
}

TEST_F(StoreTest, FailedAndNeedsReviewAreFinal) {
  enqueue({job("f"), job("r")});
  auto b = lease();
  ASSERT_EQ(b.jobs.size(), 2u);
  EXPECT_EQ(settle(b.jobs[0], Settlement::failed), "failed");
  EXPECT_EQ(settle(b.jobs[1], Settlement::needs_review), "needs_review");
  EXPECT_EQ(field(b.jobs[0].id, "state"), "failed");
  EXPECT_EQ(field(b.jobs[1].id, "state"), "needs_review");
  EXPECT_EQ(integer({"ZCARD", store->keys().dead()}), 1) << "needs_review waits for a person";
}

TEST_F(StoreTest, AnExpiredLeaseTakenOverFencesOutTheOldOwner) {
  enqueue({job("a")});
  auto old = lease(kT0, "w1").jobs.at(0);
  EXPECT_EQ(run_for(io, store->reap(kT0 + 9999, 10)).value(), 0) << "not expired yet";
  EXPECT_EQ(run_for(io, store->reap(kT0 + 10001, 10)).value(), 1);
  EXPECT_EQ(field("a", "state"), "retrying");
  EXPECT_EQ(field("a", "reclaimed"), "1");
  auto taken = lease(kT0 + 10001, "w2").jobs.at(0);
  EXPECT_EQ(taken.attempt, 2);
  EXPECT_NE(taken.token, old.token);
  EXPECT_EQ(settle(old, Settlement::succeeded), "lost");
  EXPECT_EQ(field("a", "state"), "running") << "the old owner's answer changed nothing";
  auto hb = run_for(io, store->heartbeat(kT0 + 10002, {{"a", old.token}}));
  EXPECT_EQ(*hb, std::vector<std::string>{"a"});
  auto cp = run_for(io, store->checkpoint("a", old.token, "{}", kT0 + 10002));
  EXPECT_FALSE(*cp);
  EXPECT_EQ(settle(taken, Settlement::succeeded), "succeeded");
}

TEST_F(StoreTest, HeartbeatExtendsTheLease) {
  enqueue({job("a")});
  auto l = lease().jobs.at(0);
  auto lost = run_for(io, store->heartbeat(kT0 + 8000, {{"a", l.token}}));
  EXPECT_TRUE(lost->empty());
  EXPECT_EQ(run_for(io, client->exec("ZSCORE", store->keys().leases(), "a"))->as_integer(), kT0 + 18000);
  EXPECT_EQ(run_for(io, store->reap(kT0 + 12000, 10)).value(), 0);
}

TEST_F(StoreTest, RestartedWorkerTakesBackOnlyItsOwnLeases) {
  enqueue({job("a"), job("b")});
  lease(kT0, "w1", 1);
  lease(kT0, "w2", 1);
  EXPECT_EQ(run_for(io, store->reclaim_own(kT0 + 1, "w1")).value(), 1);
  EXPECT_EQ(integer({"ZCARD", store->keys().leases()}), 1);
  EXPECT_EQ(field("a", "state"), "retrying");
  EXPECT_EQ(field("b", "state"), "running");
}

// A job whose last attempt was spent by a daemon that died ends dead in the step that takes its lease
// back, and the records it asked for should it end unfinished (its on_cancel entries: the Posts row,
// the Bubble callback) are written with that outcome in the same step, not left saying queued.
TEST_F(StoreTest, AJobThatRunsOutOfAttemptsInAReclaimHasItsRecordsWrittenDead) {
  using nlohmann::json;
  enqueue({job("a", "x", "acct", 0, 1), job("b", "x", "acct", 0, 1), job("c", "x", "acct", 0, 1)});
  const json on_cancel = json::array(
      {{{"dest", "posts"},
        {"key", "a"},
        {"record_id", "rec1"},
        {"fields",
         {{"State", R"("cancelled")"},
          {"Error", R"("cancelled before it started")"},
          {"Error Code", R"("cancelled")"},
          {"Post Key", R"("a")"}}}},
       {{"dest", "callback"},
        {"key", "cb-a"},
        {"fields", {{"url", R"("https://bubble.example/cb")"}, {"body", R"({"state":"cancelled","attempts":0})"}}}}});
  run_for(io, client->exec("HSET", store->keys().job("a"), "on_cancel", on_cancel.dump()));
  run_for(io,
          client->exec(
              "HSET", store->keys().job("c"), "on_cancel",
              json::array(
                  {{{"dest", "posts"}, {"key", "c"}, {"fields", {{"State", R"("cancelled")"}, {"Error", R"("")"}}}}})
                  .dump()));
  lease(kT0, "w1", 2);
  lease(kT0, "w2", 1);
  auto item = [&](const std::string& name, const std::string& f) {
    auto r = run_for(io, client->exec("HGET", store->keys().outbox_item(name), f));
    return r && r->is_string() ? r->str : "<nil>";
  };

  // w2 restarts (its own lease, job c) and the reaper takes a and b after their leases expire.
  EXPECT_EQ(run_for(io, store->reclaim_own(kT0 + 1, "w2", jobs::reclaimed_dead_rewrite(kT0 + 1))).value(), 1);
  EXPECT_EQ(run_for(io, store->reap(kT0 + 10001, 10, jobs::reclaimed_dead_rewrite(kT0 + 10001))).value(), 2);
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_EQ(field(id, "state"), "dead") << id;
    EXPECT_EQ(field(id, "error_code"), "lease_expired") << id;
  }

  EXPECT_EQ(item("posts|a", "f:State"), R"("dead")");
  EXPECT_EQ(item("posts|a", "f:Error Code"), R"("lease_expired")");
  EXPECT_EQ(item("posts|a", "f:Error"),
            json("the daemon running this job stopped before it finished (lease expired); no attempts left").dump());
  EXPECT_EQ(item("posts|a", "f:Post Key"), R"("a")") << "a field the outcome does not name is written as recorded";
  EXPECT_EQ(item("posts|a", "f:Attempts"), "1");
  EXPECT_EQ(item("posts|a", "record_id"), "rec1");
  EXPECT_EQ(integer({"ZCARD", store->keys().outbox_queue("posts")}), 2) << "rows a and c are due to be written";
  const auto body = json::parse(item("callback|cb-a", "f:body"), nullptr, false);
  ASSERT_TRUE(body.is_object()) << item("callback|cb-a", "f:body");
  EXPECT_EQ(body.value("state", ""), "dead");
  EXPECT_EQ(body.value("error_code", ""), "lease_expired");
  EXPECT_NE(body.value("error", "").find("no attempts left"), std::string::npos) << body.dump();
  EXPECT_EQ(body.value("attempts", -1), 1);
  EXPECT_EQ(item("callback|cb-a", "f:url"), R"("https://bubble.example/cb")");
  EXPECT_EQ(item("callback|cb-a", "f:Attempts"), "<nil>") << "the callback carries its attempts in its body";

  EXPECT_EQ(item("posts|c", "f:State"), R"("dead")");
  EXPECT_EQ(item("posts|c", "f:Error"),
            json("the daemon running this job restarted before it finished; no attempts left").dump())
      << "the reason of the step that took the lease back";
  EXPECT_EQ(integer({"EXISTS", store->keys().outbox_item("posts|b")}), 0) << "b asked for no records";
}

TEST_F(StoreTest, CancelWorksBeforeStartAndSaysWhyAfter) {
  enqueue({job("q"), job("s", "x", "acct", kT0 + 60000), job("r")});
  EXPECT_EQ(*run_for(io, store->cancel("q", kT0)), "cancelled");
  EXPECT_EQ(*run_for(io, store->cancel("s", kT0)), "cancelled");
  auto running = lease().jobs.at(0);
  EXPECT_EQ(running.id, "r");
  EXPECT_EQ(*run_for(io, store->cancel("r", kT0)), "started:running");
  settle(running, Settlement::succeeded);
  EXPECT_EQ(*run_for(io, store->cancel("r", kT0)), "ended:succeeded");
  EXPECT_EQ(integer({"ZCARD", store->keys().scheduled()}), 0);
  EXPECT_EQ(integer({"LLEN", store->keys().ready("x")}), 0);
}

TEST_F(StoreTest, CancelThatArrivesFirstCancelsTheJobWhenItComes) {
  EXPECT_EQ(*run_for(io, store->cancel("early", kT0)), "pending");
  EXPECT_EQ(enqueue({job("early")}).at(0), EnqueueResult::cancelled);
  EXPECT_EQ(field("early", "state"), "cancelled");
  EXPECT_TRUE(lease().jobs.empty());
}

TEST_F(StoreTest, ACancelBehindTenThousandInboxEntriesStopsADueJob) {
  enqueue({job("due-now")});
  std::vector<redis::Args> pushes;
  for (int i = 0; i < 10000; ++i)
    pushes.push_back(
        {"LPUSH", store->keys().inbox(),
         R"({"id":"filler-)" + std::to_string(i) + R"(","type":"refresh_token","platform":"x","account":"o"})"});
  pushes.push_back({"LPUSH", store->keys().control(), R"({"op":"cancel","id":"due-now"})"});
  ASSERT_TRUE(run_for(io, client->pipeline(pushes)));
  auto refused = lease();
  EXPECT_TRUE(refused.control_pending) << "no lease while a control entry waits";
  EXPECT_TRUE(refused.jobs.empty());
  auto entries = run_for(io, store->claim(store->keys().control(), store->keys().control_work("w1"), 100));
  ASSERT_EQ(entries->size(), 1u);
  std::string problem;
  jobs::ValidationContext context;
  auto op = jobs::read_control_entry(entries->at(0), context, 5, problem);
  auto applied = run_for(io, store->commit_control("w1", 1, {op}, kT0));
  EXPECT_EQ(applied->at(0), "cancelled");
  auto after = lease();
  EXPECT_FALSE(after.control_pending);
  EXPECT_EQ(after.inbox_length, 10000);
  for (const auto& l : after.jobs) EXPECT_NE(l.id, "due-now");
  EXPECT_EQ(field("due-now", "state"), "cancelled");
}

TEST_F(StoreTest, ReplaceChangesAJobThatHasNotStartedOnly) {
  enqueue({job("a"), job("b")});
  auto replacement = job("a", "tiktok", "other", kT0 + 1000);
  replacement.payload = R"({"replaced":true})";
  EXPECT_EQ(*run_for(io, store->replace(replacement, kT0)), "replaced");
  EXPECT_EQ(field("a", "platform"), "tiktok");
  EXPECT_EQ(field("a", "state"), "scheduled");
  EXPECT_EQ(field("a", "payload"), R"({"replaced":true})");
  EXPECT_EQ(integer({"LLEN", store->keys().ready("x")}), 1);
  auto running = lease().jobs.at(0);
  EXPECT_EQ(running.id, "b");
  EXPECT_EQ(*run_for(io, store->replace(job("b"), kT0)), "started:running");
  EXPECT_EQ(*run_for(io, store->replace(job("nope"), kT0)), "unknown");
}

TEST_F(StoreTest, PausedPlatformIsNotLeasedAndAPausedAccountIsDeferred) {
  enqueue({job("x1", "x"), job("t1", "tiktok", "quiet"), job("t2", "tiktok", "loud")});
  run_for(io, store->set_paused("x", true));
  run_for(io, store->set_paused("tiktok:quiet", true));
  auto b = lease();
  ASSERT_EQ(b.jobs.size(), 1u);
  EXPECT_EQ(b.jobs[0].id, "t2");
  EXPECT_EQ(field("t1", "state"), "deferred");
  EXPECT_EQ(field("x1", "state"), "queued");
  run_for(io, store->set_paused("x", false));
  run_for(io, store->set_paused("tiktok:quiet", false));
  run_for(io, store->promote(kT0 + settings.pause_recheck.count(), 10));
  auto resumed = lease(kT0 + settings.pause_recheck.count());
  EXPECT_EQ(resumed.jobs.size(), 2u);
}

TEST_F(StoreTest, PerAccountLimitHoldsTheRestUntilOneEnds) {
  settings.per_account_limit = 1;
  Store limited(*client, store->keys(), settings);
  enqueue({job("a1", "x", "same"), job("a2", "x", "same"), job("b1", "x", "other")});
  auto b = run_for(io, limited.lease(kT0, "w1", 10, {{"x", 10}}))->jobs;
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].id, "a1");
  EXPECT_EQ(b[1].id, "b1");
  EXPECT_EQ(integer({"LLEN", store->keys().held("x", "same")}), 1);
  Settle done{b[0].id, b[0].token, Settlement::succeeded, 0, "", "", "", ""};
  run_for(io, limited.settle({done}, kT0));
  auto next = run_for(io, limited.lease(kT0, "w1", 10, {{"x", 10}}))->jobs;
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, "a2");
}

TEST_F(StoreTest, LeasingIsRoundRobinAcrossPlatforms) {
  std::vector<NewJob> many;
  for (int i = 0; i < 50; ++i) many.push_back(job("x" + std::to_string(i), "x"));
  many.push_back(job("t0", "tiktok"));
  many.push_back(job("i0", "instagram"));
  enqueue(many);
  auto b = lease(kT0, "w1", 3, {{"x", 3}, {"tiktok", 3}, {"instagram", 3}});
  ASSERT_EQ(b.jobs.size(), 3u);
  std::set<std::string> ids;
  for (const auto& l : b.jobs) ids.insert(l.id);
  EXPECT_TRUE(ids.count("t0") && ids.count("i0")) << "one platform's backlog must not starve the others";
}

TEST_F(StoreTest, ReleaseHandsAJobBackWithoutUsingAnAttempt) {
  enqueue({job("a")});
  auto l = lease().jobs.at(0);
  EXPECT_EQ(settle(l, Settlement::release, 0, kT0, R"({"done":"create"})"), "queued");
  EXPECT_EQ(field("a", "attempts"), "0");
  auto again = lease().jobs.at(0);
  EXPECT_EQ(again.attempt, 1);
  EXPECT_EQ(again.checkpoint, R"({"done":"create"})");
}

TEST_F(StoreTest, MalformedInboxEntriesBecomeDeadJobsThatSayWhy) {
  jobs::ValidationContext context;
  const std::string huge(10 * 1024 * 1024, 'x');
  const std::vector<std::string> raw{
      "not json", R"({"id":"wrong-types","type":7,"platform":"x","account":"a"})",
      R"({"id":"bad-platform","type":"publish","platform":"myspace","account":"a","post":{"text":"x"}})", huge};
  std::vector<redis::Args> cmds;
  for (const auto& r : raw) cmds.push_back({"LPUSH", store->keys().inbox(), r});
  ASSERT_TRUE(run_for(io, client->pipeline(cmds)));
  auto entries = run_for(io, store->claim(store->keys().inbox(), store->keys().intake_work("w1"), 100));
  ASSERT_EQ(entries->size(), 4u);
  std::vector<IntakeItem> items;
  for (const auto& e : *entries) items.push_back(jobs::read_inbox_entry(e, context, 5));
  auto results = run_for(io, store->commit_intake("w1", entries->size(), items, kT0));
  ASSERT_TRUE(results);
  EXPECT_EQ(*results, (std::vector<long long>{3, 3, 3, 3}));
  EXPECT_EQ(integer({"LLEN", store->keys().intake_work("w1")}), 0);
  EXPECT_EQ(field("wrong-types", "state"), "dead");
  EXPECT_EQ(field("wrong-types", "error"), items[1].refused.error);
  EXPECT_NE(field("wrong-types", "error").find("type"), std::string::npos);
  EXPECT_NE(field("bad-platform", "error").find("platform"), std::string::npos);
  EXPECT_EQ(field(items[0].refused.id, "error").substr(0, 24), "the job is not valid JSO");
  const auto stored = field(items[3].refused.id, "payload");
  EXPECT_LT(stored.size(), 5000u) << "a 10 MB entry is not stored whole";
  EXPECT_NE(stored.find("10485760 bytes in all"), std::string::npos);
  EXPECT_EQ(integer({"ZCARD", store->keys().dead()}), 4);
}

TEST_F(StoreTest, EntriesClaimedBeforeACrashAreReadAgain) {
  run_for(io, client->exec("LPUSH", store->keys().inbox(), "one", "two"));
  auto first = run_for(io, store->claim(store->keys().inbox(), store->keys().intake_work("w1"), 10));
  ASSERT_EQ(*first, (std::vector<std::string>{"one", "two"}));
  // The worker dies here without committing; its next run claims again.
  run_for(io, client->exec("LPUSH", store->keys().inbox(), "three"));
  auto again = run_for(io, store->claim(store->keys().inbox(), store->keys().intake_work("w1"), 10));
  EXPECT_EQ(*again, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(integer({"LLEN", store->keys().inbox()}), 1);
}

TEST_F(StoreTest, EntriesClaimedByADaemonThatStoppedBeatingGoBackToTheSharedLists) {
  run_for(io, client->exec("LPUSH", store->keys().inbox(), "one", "two", "three"));
  run_for(io, client->exec("LPUSH", store->keys().control(), R"({"op":"cancel","id":"x"})"));
  ASSERT_TRUE(run_for(io, store->worker_beat("gone", 60000ms)));
  ASSERT_TRUE(run_for(io, store->worker_beat("alive", 60000ms)));
  run_for(io, store->claim(store->keys().inbox(), store->keys().intake_work("gone"), 2));
  run_for(io, store->claim(store->keys().control(), store->keys().control_work("gone"), 10));
  run_for(io, store->claim(store->keys().inbox(), store->keys().intake_work("alive"), 1));
  EXPECT_EQ(run_for(io, store->rescue_work()).value(), 0) << "both still beat";
  run_for(io, client->exec("DEL", store->keys().worker_alive("gone")));  // what the expiry does
  EXPECT_EQ(run_for(io, store->rescue_work()).value(), 3);
  EXPECT_EQ(integer({"LLEN", store->keys().intake_work("gone")}), 0);
  EXPECT_EQ(integer({"LLEN", store->keys().intake_work("alive")}), 1) << "a live worker keeps its claim";
  auto again = run_for(io, store->claim(store->keys().inbox(), store->keys().intake_work("alive2"), 10));
  EXPECT_EQ(*again, (std::vector<std::string>{"one", "two"})) << "rescued entries are read next, in order";
  EXPECT_EQ(integer({"LLEN", store->keys().control()}), 1);
  EXPECT_EQ(integer({"SISMEMBER", store->keys().workers(), "gone"}), 0);
}

TEST_F(StoreTest, DeadJobCanBeRetriedAndPurged) {
  enqueue({job("a", "x", "acct", 0, 1)});
  settle(lease().jobs.at(0), Settlement::retry, kT0);
  EXPECT_EQ(field("a", "state"), "dead");
  EXPECT_TRUE(*run_for(io, store->dead_retry("a", kT0)));
  EXPECT_EQ(field("a", "state"), "queued");
  settle(lease().jobs.at(0), Settlement::dead, kT0 + 1);
  EXPECT_EQ(run_for(io, store->dead_purge(kT0 + 2, 100)).value(), 1);
  EXPECT_EQ(field("a", "state"), "<nil>");
  EXPECT_EQ(enqueue({job("a")}).at(0), EnqueueResult::duplicate);
}

TEST_F(StoreTest, StatsCountWhatIsWhere) {
  enqueue({job("a"), job("b", "tiktok"), job("c", "x", "acct", kT0 + 1000)});
  auto l = lease(kT0, "w1", 1, {{"x", 1}}).jobs.at(0);
  auto st = run_for(io, store->stats({"x", "tiktok"}, kT0 + 50));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->ready_by_platform.at("x"), 0);
  EXPECT_EQ(st->ready_by_platform.at("tiktok"), 1);
  EXPECT_EQ(st->scheduled, 1);
  EXPECT_EQ(st->running, 1);
  EXPECT_EQ(st->oldest_due_age_ms, 50);
  settle(l, Settlement::succeeded);
  EXPECT_EQ(run_for(io, store->stats({"x"}, kT0))->totals.at("succeeded"), 1);
}

// Found by issue 7's writeback tests: three settlements in one call freed one held job, and the
// rest stayed held forever with nothing of that account running.
TEST_F(StoreTest, SettlementsBatchedInOneCallLetAsManyHeldJobsGo) {
  settings.per_account_limit = 3;
  Store limited(*client, store->keys(), settings);
  std::vector<NewJob> jobs;
  for (int i = 0; i < 8; ++i) jobs.push_back(job("h" + std::to_string(i), "x", "same"));
  enqueue(jobs);
  auto first = run_for(io, limited.lease(kT0, "w1", 10, {{"x", 10}}))->jobs;
  ASSERT_EQ(first.size(), 3u);
  std::vector<Settle> done;
  for (const auto& l : first) done.push_back(Settle{l.id, l.token, Settlement::succeeded, 0, "", "", "", ""});
  run_for(io, limited.settle(done, kT0));
  auto next = run_for(io, limited.lease(kT0, "w1", 10, {{"x", 10}}))->jobs;
  EXPECT_EQ(next.size(), 3u);
}

// ---- fewer commands per job (lease pops several ids at once, settle batches its writes) -----------
TEST_F(StoreTest, LeasingInPartsTakesEveryJobOnceInTheOrderItCame) {
  std::vector<NewJob> jobs;
  for (int i = 0; i < 30; ++i) jobs.push_back(job("x" + std::to_string(i), "x", "a" + std::to_string(i)));
  for (int i = 0; i < 5; ++i) jobs.push_back(job("t" + std::to_string(i), "tiktok", "b" + std::to_string(i)));
  enqueue(jobs);
  std::vector<std::string> x_order, t_order;
  // Odd sizes leave ids popped ahead of use in the script, which go back to the list's consuming end.
  for (int total : {7, 3, 11, 1, 100}) {
    for (const auto& l : lease(kT0, "w1", total, {{"x", 100}, {"tiktok", 100}}).jobs)
      (l.id[0] == 'x' ? x_order : t_order).push_back(l.id);
  }
  std::vector<std::string> x_expected, t_expected;
  for (int i = 0; i < 30; ++i) x_expected.push_back("x" + std::to_string(i));
  for (int i = 0; i < 5; ++i) t_expected.push_back("t" + std::to_string(i));
  EXPECT_EQ(x_order, x_expected);
  EXPECT_EQ(t_order, t_expected);
  EXPECT_EQ(integer({"LLEN", store->keys().ready("x")}), 0);
  EXPECT_EQ(integer({"ZCARD", store->keys().leases()}), 35);
}

TEST_F(StoreTest, ASettlementOfManyOutcomesCountsEachAndEndsEveryLease) {
  enqueue({job("s1"), job("s2"), job("s3"), job("f1"), job("d1")});
  auto b = lease(kT0, "w1", 10, {{"x", 10}});
  ASSERT_EQ(b.jobs.size(), 5u);
  std::vector<Settle> batch;
  for (const auto& l : b.jobs) {
    Settle s{l.id, l.token, Settlement::succeeded, 0, "", "", R"({"n":1})", ""};
    if (l.id == "f1") s = Settle{l.id, l.token, Settlement::failed, 0, "bad", "E2", "", R"({"step":2})"};
    if (l.id == "d1") s = Settle{l.id, l.token, Settlement::defer, kT0 + 5000, "later", "rate", "", ""};
    batch.push_back(s);
  }
  auto r = run_for(io, store->settle(batch, kT0));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(integer({"ZCARD", store->keys().leases()}), 0);
  EXPECT_EQ(run_for(io, client->exec("GET", store->keys().total("succeeded")))->str, "3");
  EXPECT_EQ(run_for(io, client->exec("GET", store->keys().total("failed")))->str, "1");
  EXPECT_EQ(field("s2", "state"), "succeeded");
  EXPECT_EQ(field("s2", "result"), R"({"n":1})");
  EXPECT_EQ(field("f1", "state"), "failed");
  EXPECT_EQ(field("f1", "error_code"), "E2");
  EXPECT_EQ(field("f1", "checkpoint"), R"({"step":2})");
  EXPECT_EQ(field("d1", "state"), "deferred");
  EXPECT_EQ(field("d1", "attempts"), "0");
  EXPECT_EQ(field("d1", "error_code"), "rate");
  EXPECT_EQ(field("d1", "lease"), "<nil>");
  // A settlement whose lease already ended changes nothing.
  auto again = run_for(io, store->settle({batch[0]}, kT0));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at(0), "lost");
  EXPECT_EQ(run_for(io, client->exec("GET", store->keys().total("succeeded")))->str, "3");
}

}  // namespace
}  // namespace schedulo::queue
