// The dispatcher in-process against the shared Redis: intake to outcome, scheduling, platforms this
// build lacks, and shutdown with jobs in flight (label `queue`).
#include "jobs/dispatcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "common/event.hpp"
#include "common/rfc3339.hpp"
#include "jobs/noop_platform.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::jobs {
namespace {

using namespace std::chrono_literals;
using test::run_for;

// Refreshes that never finish until released: jobs stay in flight for as long as a test needs.
class StuckPlatform final : public PlatformAdapter {
 public:
  explicit StuckPlatform(const net::Executor& ex) : release(ex) {}
  std::string_view name() const override { return "x"; }
  std::unique_ptr<PublishSteps> publish_steps() override { return nullptr; }
  net::awaitable<Outcome> refresh_token(JobContext&) override {
    ++started;
    co_await release.wait();
    const auto state = co_await boost::asio::this_coro::cancellation_state;
    if (state.cancelled() != boost::asio::cancellation_type::none) co_return Outcome::retry("cancelled", "cancelled");
    co_return Outcome::success({});
  }
  net::awaitable<Outcome> fetch_analytics(JobContext&) override { co_return Outcome::success({}); }
  net::awaitable<Outcome> revoke_token(JobContext&) override { co_return Outcome::success({}); }
  net::Event release;
  int started = 0;
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    blocking = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    blocking->start();
    store = std::make_unique<queue::Store>(*client, queue::Keys(test::unique_prefix()), queue::QueueSettings{});
    options.worker_id = "w-" + test::unique_prefix();
    options.concurrency = 8;
    options.per_platform = 8;
    options.idle_wait = 50ms;
    options.shutdown_grace = 100ms;
  }

  std::string field(const std::string& id, const std::string& name) {
    auto r = run_for(io, client->exec("HGET", store->keys().job(id), name));
    return r && r->is_string() ? r->str : "<nil>";
  }

  // Runs the dispatcher until `done` says so (checked after each settlement wave), then stops it.
  void run_until(Dispatcher& d, const std::function<net::awaitable<bool>()>& done) {
    run_for(io, [&]() -> net::awaitable<int> {
      auto ex = co_await boost::asio::this_coro::executor;
      net::Event finished(ex);
      boost::asio::co_spawn(ex, [&]() -> net::awaitable<void> {
        co_await d.run();
        finished.set();
      }, boost::asio::detached);
      net::Timer t(ex);
      while (!co_await done()) {
        t.expires_after(10ms);  // polls Redis for the condition; the overall limit fails the test
        co_await t.async_wait();
      }
      d.stop();
      co_await finished.wait();
      co_return 0;
    }(), 60s);
  }

  net::awaitable<long long> succeeded() {
    auto r = co_await client->exec("GET", store->keys().total("succeeded"));
    co_return r ? r->as_integer().value_or(0) : 0;
  }

  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client, blocking;
  std::unique_ptr<queue::Store> store;
  DispatcherOptions options;
};

TEST_F(DispatcherTest, JobsPushedToTheInboxAllEndSucceededOnce) {
  auto noop = make_noop_platform("x");
  Dispatcher d(*store, *blocking, [&](std::string_view) { return noop.get(); }, options);
  std::vector<redis::Args> pushes;
  for (int i = 0; i < 300; ++i)
    pushes.push_back({"LPUSH", store->keys().inbox(),
                      R"({"id":"j)" + std::to_string(i) + R"(","type":"publish","platform":"x","account":"a)" +
                          std::to_string(i % 7) + R"(","post":{"text":"hello"}})"});
  ASSERT_TRUE(run_for(io, client->pipeline(pushes)));
  run_until(d, [&]() -> net::awaitable<bool> { co_return co_await succeeded() == 300; });
  EXPECT_EQ(d.counters().intake, 300u);
  EXPECT_EQ(d.counters().settled, 300u);
  EXPECT_EQ(d.counters().lost, 0u);
  for (int i = 0; i < 300; i += 37) {
    EXPECT_EQ(field("j" + std::to_string(i), "state"), "succeeded");
    EXPECT_EQ(field("j" + std::to_string(i), "attempts"), "1");
  }
  EXPECT_NE(field("j5", "result").find("noop-j5"), std::string::npos);
}

TEST_F(DispatcherTest, AScheduledJobNeverStartsBeforeItsRunAt) {
  auto noop = make_noop_platform("x");
  Dispatcher d(*store, *blocking, [&](std::string_view) { return noop.get(); }, options);
  const auto run_at = now_epoch_ms() + 300;
  run_for(io, store->enqueue({{"later", "refresh_token", "x", "a", R"({"id":"later","type":"refresh_token","platform":"x","account":"a"})", run_at, 3}},
                             now_epoch_ms()));
  run_until(d, [&]() -> net::awaitable<bool> { co_return co_await succeeded() == 1; });
  EXPECT_GE(std::stoll(field("later", "started_at")), run_at);
}

TEST_F(DispatcherTest, AJobForAPlatformThisBuildLacksFailsWithAClearMessage) {
  Dispatcher d(*store, *blocking, [](std::string_view) -> PlatformAdapter* { return nullptr; }, options);
  run_for(io, client->exec("LPUSH", store->keys().inbox(),
                           R"({"id":"nope","type":"publish","platform":"tiktok","account":"a","post":{"text":"t","media":[{"url":"https://cdn.example.com/v.mp4","kind":"video"}]}})"));
  run_until(d, [&]() -> net::awaitable<bool> {
    auto r = co_await client->exec("HGET", store->keys().job("nope"), "state");
    co_return r && r->str == "failed";
  });
  EXPECT_EQ(field("nope", "error"), "Publishing to tiktok is not available in this build of the daemon yet.");
  EXPECT_EQ(field("nope", "error_code"), "platform_unavailable");
}

TEST_F(DispatcherTest, ShutdownHandsBackJobsStillRunningAfterTheGrace) {
  StuckPlatform stuck(io.get_executor());
  Dispatcher d(*store, *blocking, [&](std::string_view) { return &stuck; }, options);
  std::vector<queue::NewJob> jobs;
  for (int i = 0; i < 3; ++i) {
    const std::string id = "s" + std::to_string(i);
    jobs.push_back({id, "refresh_token", "x", "acct" + std::to_string(i),
                    R"({"id":")" + id + R"(","type":"refresh_token","platform":"x","account":"acct)" + std::to_string(i) + "\"}",
                    0, 3});
  }
  run_for(io, store->enqueue(jobs, now_epoch_ms()));
  run_until(d, [&]() -> net::awaitable<bool> { co_return stuck.started == 3; });
  for (int i = 0; i < 3; ++i) {
    const std::string id = "s" + std::to_string(i);
    EXPECT_EQ(field(id, "state"), "queued") << id;
    EXPECT_EQ(field(id, "attempts"), "0") << "a hand-back uses no attempt";
  }
  EXPECT_EQ(run_for(io, client->exec("ZCARD", store->keys().leases()))->integer, 0);
}


// Redis forgets a lease (a Sentinel failover to a replica that never received it): the job is leased
// again by the daemon still running it. The second lease must not start a second run in the same
// slot (found by the chaos suite: a heap-use-after-free of the slot's cancellation signal).
TEST_F(DispatcherTest, AJobLeasedAgainWhileItStillRunsHereIsNotStartedTwice) {
  StuckPlatform stuck(io.get_executor());
  Dispatcher d(*store, *blocking, [&](std::string_view) { return &stuck; }, options);
  run_for(io, store->enqueue({{"again", "refresh_token", "x", "a",
                               R"({"id":"again","type":"refresh_token","platform":"x","account":"a"})", 0, 3}},
                             now_epoch_ms()));
  // Redis as it was before the lease: what the replica holds when the primary dies.
  std::vector<std::pair<std::string, std::string>> before;
  const auto keys = run_for(io, client->exec("KEYS", store->keys().prefix() + ":*"));
  ASSERT_TRUE(keys);
  for (const auto& k : keys->elements) {
    auto dumped = run_for(io, client->exec("DUMP", k.str));
    before.emplace_back(k.str, dumped->str);
  }
  run_for(io, [&]() -> net::awaitable<int> {
    auto ex = co_await boost::asio::this_coro::executor;
    net::Event finished(ex);
    boost::asio::co_spawn(ex, [&]() -> net::awaitable<void> {
      co_await d.run();
      finished.set();
    }, boost::asio::detached);
    net::Timer t(ex);
    while (stuck.started < 1) {
      t.expires_after(10ms);
      co_await t.async_wait();
    }
    auto all = co_await client->exec("KEYS", store->keys().prefix() + ":*");
    for (const auto& k : all->elements) co_await client->exec("DEL", k.str);
    for (const auto& [key, value] : before) co_await client->exec("RESTORE", key, "0", value, "REPLACE");
    for (;;) {  // leased again (the overall limit fails the test)
      auto score = co_await client->exec("ZSCORE", store->keys().leases(), "again");
      if (score && !score->is_nil()) break;
      t.expires_after(10ms);
      co_await t.async_wait();
    }
    for (int i = 0; i < 5; ++i) {  // a few more turns of the dispatcher's loop
      t.expires_after(options.idle_wait);
      co_await t.async_wait();
    }
    stuck.release.set();
    d.stop();
    co_await finished.wait();
    co_return 0;
  }(), 60s);
  EXPECT_EQ(stuck.started, 1) << "the job ran twice at once in one daemon";
}

}  // namespace
}  // namespace schedulo::jobs
