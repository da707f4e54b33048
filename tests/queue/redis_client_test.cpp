// The Redis client against real redis-server processes (label `redis`).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <random>

#include "common/deadline.hpp"
#include "common/event.hpp"
#include "common/log.hpp"
#include "queue/durability.hpp"
#include "queue/redis/client.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::redis {
namespace {

using namespace std::chrono_literals;
using test::run_for;

ClientOptions options_for(const std::string& url_text, std::chrono::milliseconds command_timeout = 5000ms) {
  std::string error;
  auto url = parse_redis_url(url_text, error);
  EXPECT_TRUE(url) << error;
  ClientOptions o;
  o.url = *url;
  o.command_timeout = command_timeout;
  o.connect_timeout = 1000ms;
  o.reconnect_max = 200ms;
  return o;
}

class RedisClientTest : public ::testing::Test {
 protected:
  boost::asio::io_context io{1};
  std::string prefix = test::unique_prefix();
  std::string key(const std::string& name) const { return prefix + ":" + name; }
};

TEST_F(RedisClientTest, HundredThousandConcurrentCommandsAreAnsweredInIssueOrder) {
  Client client(io.get_executor(), options_for(test::shared_redis_url()));
  client.start();
  constexpr int kCommands = 100000;
  const std::string counter = key("counter");
  std::vector<long long> seen(kCommands, -1);
  const long left = run_for(io, [&]() -> net::awaitable<long> {
    auto ex = co_await boost::asio::this_coro::executor;
    net::Countdown done(ex, kCommands);
    // Every INCR is issued before any reply is awaited: they share the connection's pipeline.
    for (int i = 0; i < kCommands; ++i) {
      boost::asio::co_spawn(ex, [&, i]() -> net::awaitable<void> {
        auto r = co_await client.exec("INCR", counter);
        if (r && r->is_integer()) seen[i] = r->integer;
        done.done();
      }, boost::asio::detached);
    }
    co_await done.wait();
    co_return done.remaining();
  }());
  ASSERT_EQ(left, 0);
  for (int i = 0; i < kCommands; ++i) ASSERT_EQ(seen[i], i + 1) << "reply " << i << " out of order";
}

TEST_F(RedisClientTest, PipelineOfHundredThousandReturnsEveryReplyInOrder) {
  Client client(io.get_executor(), options_for(test::shared_redis_url(), 30000ms));
  client.start();
  std::vector<Args> commands;
  for (int i = 0; i < 100000; ++i) commands.push_back({"ECHO", "m" + std::to_string(i)});
  auto replies = run_for(io, client.pipeline(commands));
  ASSERT_TRUE(replies) << replies.error().message();
  ASSERT_EQ(replies->size(), 100000u);
  for (int i = 0; i < 100000; ++i) ASSERT_EQ((*replies)[i].str, "m" + std::to_string(i));
}

TEST_F(RedisClientTest, TenMegabyteBinaryValueRoundTripsExactly) {
  Client client(io.get_executor(), options_for(test::shared_redis_url(), 30000ms));
  client.start();
  std::string value(10 * 1024 * 1024, '\0');
  std::mt19937 rng(42);
  for (auto& c : value) c = static_cast<char>(rng());
  value.replace(100, 4, "\r\n\0$", 4);  // protocol characters inside the payload
  const std::string k = key("big");
  auto set = run_for(io, client.exec("SET", k, value));
  ASSERT_TRUE(set);
  EXPECT_EQ(set->str, "OK");
  auto got = run_for(io, client.exec("GET", k));
  ASSERT_TRUE(got);
  ASSERT_EQ(got->str.size(), value.size());
  EXPECT_TRUE(got->str == value);
  run_for(io, client.exec("DEL", k));
}

TEST_F(RedisClientTest, ErrorReplyIsAValueAndTheConnectionStaysUsable) {
  Client client(io.get_executor(), options_for(test::shared_redis_url()));
  client.start();
  auto bad = run_for(io, client.exec("NOSUCHCOMMAND", "x"));
  ASSERT_TRUE(bad);
  EXPECT_TRUE(bad->is_error());
  EXPECT_EQ(bad->str.substr(0, 3), "ERR");
  auto pong = run_for(io, client.exec("PING"));
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->str, "PONG");
  EXPECT_EQ(client.stats().connects, 1u);
}

TEST_F(RedisClientTest, ScriptRunsAgainAfterScriptFlushThroughEvalFallback) {
  Client client(io.get_executor(), options_for(test::shared_redis_url()));
  client.start();
  const Script script("incr-by-two", "return redis.call('INCRBY', KEYS[1], 2)");
  const std::string k = key("script");
  auto first = run_for(io, client.eval(script, {k}, {}));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->integer, 2);
  auto flush = run_for(io, client.exec("SCRIPT", "FLUSH"));
  ASSERT_TRUE(flush);
  auto exists = run_for(io, client.exec("SCRIPT", "EXISTS", script.sha1()));
  ASSERT_TRUE(exists);
  ASSERT_EQ(exists->elements.at(0).integer, 0) << "the flush should have dropped the script";
  auto second = run_for(io, client.eval(script, {k}, {}));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->integer, 4);
  auto loaded = run_for(io, client.exec("SCRIPT", "EXISTS", script.sha1()));
  EXPECT_EQ(loaded->elements.at(0).integer, 1) << "EVAL should have loaded it again";
}

TEST_F(RedisClientTest, CallerCancellationLeavesLaterRepliesMatched) {
  Client client(io.get_executor(), options_for(test::shared_redis_url()));
  client.start();
  const std::string list = key("blocking");
  const bool ok = run_for(io, [&]() -> net::awaitable<bool> {
    // BLPOP blocks for 1 s on the server; the caller gives up after 50 ms. Its reply (nil) still
    // arrives later and must be consumed, not handed to the next command.
    auto cancelled = co_await net::with_timeout(client.exec("BLPOP", list, "1"), 50ms);
    if (cancelled) co_return false;
    auto echo = co_await client.exec("ECHO", "after");
    co_return echo && echo->str == "after";
  }());
  EXPECT_TRUE(ok);
}

TEST_F(RedisClientTest, KilledServerGivesErrorsNotHangsAndTheClientReconnectsAfterRestart) {
  test::RedisProcess server;
  server.start();
  Client client(io.get_executor(), options_for(server.url(), 500ms));
  client.start();
  const std::string k = key("load");
  struct Tally {
    int ok_before = 0, errors = 0, ok_after = 0;
  } tally;
  bool restarted = false;
  run_for(io, [&]() -> net::awaitable<int> {
    auto ex = co_await boost::asio::this_coro::executor;
    net::Event enough_before(ex), every_worker_failed(ex), enough_after(ex);
    net::Countdown workers(ex, 8);
    bool stop = false;
    for (int w = 0; w < 8; ++w) {
      boost::asio::co_spawn(ex, [&]() -> net::awaitable<void> {
        while (!stop) {
          auto r = co_await client.exec("INCR", k);
          if (r && r->is_integer())
            (restarted ? tally.ok_after : tally.ok_before)++;
          else
            tally.errors++;
          if (tally.ok_before >= 2000) enough_before.set();
          if (tally.errors >= 8) every_worker_failed.set();
          if (tally.ok_after >= 2000) enough_after.set();
        }
        workers.done();
      }, boost::asio::detached);
    }
    co_await enough_before.wait();
    server.kill9();
    co_await every_worker_failed.wait();
    server.start();
    restarted = true;
    co_await enough_after.wait();
    stop = true;
    co_await workers.wait();
    co_return 0;
  }(), 60s);
  EXPECT_GE(tally.ok_before, 2000);
  EXPECT_GE(tally.errors, 8);
  EXPECT_GE(tally.ok_after, 2000);
  EXPECT_GE(client.stats().connects, 2u);
  EXPECT_GE(client.stats().lost_connections, 1u);
}

TEST_F(RedisClientTest, UnresponsiveServerTimesOutCallsAndTheClientRecovers) {
  test::RedisProcess server;
  server.start();
  Client client(io.get_executor(), options_for(server.url(), 300ms));
  client.start();
  ASSERT_TRUE(run_for(io, client.exec("PING")));
  server.pause();
  auto stalled = run_for(io, client.exec("PING"), 10s);
  ASSERT_FALSE(stalled);
  EXPECT_EQ(stalled.error(), Errc::timeout);
  server.resume();
  auto later = run_for(io, [&]() -> net::awaitable<Reply> {
    for (;;) {  // the client reconnects on its own; calls fail until then
      auto r = co_await client.exec("PING");
      if (r) co_return r;
    }
  }(), 20s);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->str, "PONG");
}

TEST_F(RedisClientTest, CommandsWaitForAFirstConnectionUntilTheirDeadline) {
  test::RedisProcess server;  // not started yet
  Client client(io.get_executor(), options_for(server.url(), 300ms));
  client.start();
  auto early = run_for(io, client.exec("PING"), 10s);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error(), Errc::not_connected);
  server.start();
  auto later = run_for(io, [&]() -> net::awaitable<Reply> {
    for (;;) {
      auto r = co_await client.exec("PING");
      if (r) co_return r;
    }
  }(), 20s);
  ASSERT_TRUE(later);
}

TEST_F(RedisClientTest, PasswordAndDatabaseFromTheUrlAreApplied) {
  test::RedisProcess server({"--requirepass", "s3cret-pass"});
  server.start();
  Client client(io.get_executor(), options_for(server.url(3)));
  client.start();
  auto set = run_for(io, client.exec("SET", "in-db-3", "yes"));
  ASSERT_TRUE(set);
  EXPECT_EQ(set->str, "OK");
  EXPECT_EQ(server.cli({"-n", "3", "GET", "in-db-3"}), "yes\n");
  EXPECT_EQ(server.cli({"-n", "0", "EXISTS", "in-db-3"}), "0\n");
}

TEST_F(RedisClientTest, WrongPasswordFailsCallsWithoutLeakingIt) {
  test::RedisProcess server({"--requirepass", "right-password"});
  server.start();
  Client client(io.get_executor(), options_for("redis://:wrong-password@127.0.0.1:" + std::to_string(server.port()), 400ms));
  client.start();
  auto r = run_for(io, client.exec("PING"), 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::not_connected);
  EXPECT_EQ(r.error().message().find("wrong-password"), std::string::npos);
  EXPECT_GE(client.stats().failed_connects, 1u);
}

TEST_F(RedisClientTest, DurabilityCheckNamesEachMissingSetting) {
  test::RedisProcess weak({"--appendonly", "no", "--maxmemory-policy", "allkeys-lru"});
  weak.start();
  Client client(io.get_executor(), options_for(weak.url()));
  client.start();
  auto problems = run_for(io, queue::check_durability(client));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("appendonly is \"no\""), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("maxmemory-policy is \"allkeys-lru\""), std::string::npos) << problems[1];

  test::RedisProcess durable({"--maxmemory-policy", "noeviction"});
  durable.start();
  Client good(io.get_executor(), options_for(durable.url()));
  good.start();
  EXPECT_TRUE(run_for(io, queue::check_durability(good)).empty());
}

TEST_F(RedisClientTest, StoppedClientFailsWaitingAndNewCalls) {
  test::RedisProcess server;  // never started: calls wait for a connection
  Client client(io.get_executor(), options_for(server.url(), 5000ms));
  client.start();
  auto r = run_for(io, [&]() -> net::awaitable<std::pair<Reply, Reply>> {
    auto ex = co_await boost::asio::this_coro::executor;
    std::optional<Reply> waiting;
    net::Event answered(ex);
    boost::asio::co_spawn(ex, [&]() -> net::awaitable<void> {
      waiting = co_await client.exec("PING");
      answered.set();
    }, boost::asio::detached);
    // Runs the spawned caller up to its wait for the missing connection (handlers run in order).
    co_await boost::asio::post(ex, boost::asio::use_awaitable);
    client.stop();
    co_await answered.wait();
    auto after = co_await client.exec("PING");
    co_return std::pair<Reply, Reply>{*waiting, after};
  }(), 10s);
  ASSERT_FALSE(r.first);
  EXPECT_EQ(r.first.error(), Errc::stopped);
  ASSERT_FALSE(r.second);
  EXPECT_EQ(r.second.error(), Errc::stopped);
}

}  // namespace
}  // namespace schedulo::redis
