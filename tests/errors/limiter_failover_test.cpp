// The fleet limiter across a failover or a restart (label `errors`, issue 16): the buckets a new
// server holds may miss the last grants of the old one, so under a new server identity every bucket
// counts as fully spent at the moment it took over. The script on a clock the test sets with the
// identity the test names, then a private redis-server SIGKILLed and restarted under the real client.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <thread>

#include "queue/rate_limiter.hpp"
#include "queue/scripts.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::queue {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using test::run_for;

constexpr std::int64_t kT0 = 1'800'000'000'000;

Bucket bucket(long long limit, milliseconds period, long long burst, std::string key) {
  return Bucket{"x", "account", std::move(key), BucketLimit{limit, period, burst}};
}

class LimiterFailoverTest : public ::testing::Test {
 protected:
  explicit LimiterFailoverTest(std::string url = test::shared_redis_url()) {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(url, error);
    o.command_timeout = 2000ms;
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
  }

  // rate_acquire as a daemon connected to the server `server_id` would call it (no margin).
  Permit acquire_as(const std::string& server_id, const std::vector<Bucket>& buckets, std::int64_t now,
                    milliseconds max_wait = 0ms) {
    redis::Args args{prefix, std::to_string(now), std::to_string(max_wait.count()), "0", "75", "1000", server_id};
    for (const auto& b : buckets) {
      const std::vector<std::string> group{b.platform,
                                           b.scope,
                                           b.key,
                                           std::to_string(b.limit.limit),
                                           std::to_string(b.limit.period.count()),
                                           std::to_string(b.limit.burst)};
      args.insert(args.end(), group.begin(), group.end());
    }
    auto r = run_for(io, client->eval(script("rate_acquire"), {}, args));
    EXPECT_TRUE(r && !r->is_error() && r->elements.size() == 4) << redis::reply_error_text(r);
    if (!r || r->is_error() || r->elements.size() != 4) return {};
    return Permit{r->elements[0].integer == 1, milliseconds(r->elements[1].integer), {}, r->elements[3].str};
  }

  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client;
  std::string prefix = test::unique_prefix();
};

// A new prefix has nothing to lose: its first server's buckets give their burst at once.
TEST_F(LimiterFailoverTest, ANewPrefixHoldsNothingBack) {
  const auto b = bucket(10, 1000ms, 2, "fresh");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(acquire_as("server-a", {b}, kT0).granted) << i;
  EXPECT_FALSE(acquire_as("server-a", {b}, kT0).granted);
  EXPECT_TRUE(acquire_as("server-a", {b}, kT0 + 100).granted);
}

// Under another identity every bucket, the ones the new server knows and the ones it lost, is fully
// spent at the moment it took over: the next call one interval later, the whole burst burst + 1
// intervals later; then the state is trusted again. Back on the same identity nothing is held again.
TEST_F(LimiterFailoverTest, AnotherServerIdentityHoldsEveryBucketBackOnePeriod) {
  const auto known = bucket(10, 1000ms, 2, "known");  // one per 100 ms, 3 at once
  const auto lost = bucket(10, 1000ms, 2, "lost");    // never written on this server
  ASSERT_TRUE(acquire_as("server-a", {known}, kT0).granted);
  // A second later `known` is as good as new on server-a: three at once.
  const std::int64_t t1 = kT0 + 1000;
  auto held = acquire_as("server-b", {known}, t1);
  EXPECT_FALSE(held.granted) << "the burst the old server may have given in its last moments";
  EXPECT_EQ(held.wait, 100ms);
  EXPECT_EQ(held.reason, "rate");
  EXPECT_EQ(acquire_as("server-b", {lost}, t1).wait, 100ms) << "a bucket the new server never saw";
  // A caller that may wait up to 500 ms is held as far: the old server's callers may have reserved
  // slots that far ahead.
  EXPECT_EQ(acquire_as("server-b", {lost}, t1, 500ms).wait, 600ms) << "since + max wait + 3 intervals, less 2";
  // One per interval meanwhile...
  EXPECT_TRUE(acquire_as("server-b", {known}, t1 + 100).granted);
  EXPECT_FALSE(acquire_as("server-b", {known}, t1 + 150).granted);
  // ...and burst + 1 intervals after the switch (a period for X's window buckets, whose burst is
  // their limit less one) the bucket is trusted again: its whole burst at once.
  const std::int64_t t2 = t1 + 300;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(acquire_as("server-b", {lost}, t2).granted) << i;
  EXPECT_FALSE(acquire_as("server-b", {lost}, t2).granted);
  // The same identity later: nothing held back again.
  const auto other = bucket(10, 1000ms, 2, "other");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(acquire_as("server-b", {other}, t2 + 5000).granted) << i;
}

// A daily quota is not held back after a switch (one call per 29 min for a day would follow every
// Redis restart): its burst stays as the old server left it, while an hourly window still is held.
TEST_F(LimiterFailoverTest, RulesLongerThanAnHourAreNotHeldBack) {
  const auto daily = bucket(50, 86'400'000ms, 49, "daily");  // Instagram's publishes per account
  const auto hourly = bucket(60, 3'600'000ms, 2, "hourly");
  ASSERT_TRUE(acquire_as("server-a", {daily}, kT0).granted);
  ASSERT_TRUE(acquire_as("server-a", {hourly}, kT0).granted);
  const std::int64_t t1 = kT0 + 1000;
  for (int i = 0; i < 49; ++i) EXPECT_TRUE(acquire_as("server-b", {daily}, t1).granted) << i;
  EXPECT_FALSE(acquire_as("server-b", {daily}, t1).granted) << "the old server's one grant still counts";
  const auto held = acquire_as("server-b", {hourly}, t1);
  EXPECT_FALSE(held.granted) << "an hour's window is short enough to hold back";
  EXPECT_EQ(held.wait, 60'000ms);
}

// An unknown identity (a server that refuses INFO) changes nothing: no hold-back, no record.
TEST_F(LimiterFailoverTest, AnUnknownIdentityHoldsNothingBack) {
  const auto b = bucket(10, 1000ms, 2, "unknown");
  ASSERT_TRUE(acquire_as("server-a", {b}, kT0).granted);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(acquire_as("", {b}, kT0 + 1000).granted) << i;
  auto epoch = run_for(io, client->exec("HGET", Keys(prefix).rate_epoch(), "id"));
  ASSERT_TRUE(epoch);
  EXPECT_EQ(epoch->str, "server-a");
}

// The real thing: a private redis-server (AOF, fsync always) SIGKILLed and restarted under the
// daemon's own client and limiter. The restarted server is another identity (a new run_id and
// master_replid); the buckets it read back from the AOF and one it lost (deleted here, as an
// everysec AOF would lose it) are both held back one interval.
class LimiterRestartTest : public LimiterFailoverTest {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<test::RedisProcess>(
        std::vector<std::string>{"--appendonly", "yes", "--appendfsync", "always"});
    server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }
  static test::RedisProcess& server() { return *server_; }
  LimiterRestartTest() : LimiterFailoverTest(server().url()) {}

  static std::unique_ptr<test::RedisProcess> server_;
};
std::unique_ptr<test::RedisProcess> LimiterRestartTest::server_;

TEST_F(LimiterRestartTest, ARestartedServerHoldsEveryBucketBack) {
  RateLimiter limiter(*client, Keys(prefix), LimiterOptions{.margin = 0ms});
  const auto kept = bucket(2, 60000ms, 1, "kept");  // one per 30 s, 2 at once
  const auto lost = bucket(2, 60000ms, 1, "lost");
  // Connected (at least `connects` times in all) and the server's identity known.
  auto ready = [&](std::uint64_t connects) {
    for (int i = 0; i < 200; ++i) {
      if (client->connected() && client->connects() >= connects && !client->server_id().empty()) return true;
      run_for(io, [&]() -> net::awaitable<int> {
        net::Timer t(co_await net::asio::this_coro::executor);
        t.expires_after(50ms);
        co_await t.async_wait();
        co_return 0;
      }());
    }
    return false;
  };
  ASSERT_TRUE(ready(1)) << "no connection, or the server does not tell its identity";
  const std::string before = client->server_id();
  auto first = run_for(io, limiter.reserve({kept, lost}, 0ms));
  ASSERT_TRUE(first && first->granted);
  ASSERT_TRUE(run_for(io, limiter.reserve({kept}, 0ms))->granted) << "the burst of `kept`, 2 at once";

  const auto connects = client->connects();
  server().kill9();
  server().start();
  ASSERT_TRUE(ready(connects + 1)) << "the client never reconnected";
  EXPECT_NE(client->server_id(), before) << "a restarted server is another identity";
  auto del = run_for(io, client->exec("DEL", Keys(prefix).rate_bucket("x", "account", "lost")));
  ASSERT_TRUE(del && del->integer == 1) << "the AOF kept the bucket (fsync always)";

  // `lost` had one slot left before the restart; now it has none for an interval. The first call
  // may meet the old connection's end (an error: no slot) before it runs on the new one.
  LimiterResult<Permit> after = redis::make_error_code(redis::Errc::not_connected);
  for (int i = 0; i < 5 && !after; ++i) after = run_for(io, limiter.reserve({lost}, 0ms));
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_FALSE(after->granted) << "the lost bucket's state is not trusted after the restart";
  EXPECT_GE(after->wait, 29'000ms);
  EXPECT_LE(after->wait, 30'001ms);
  auto kept_after = run_for(io, limiter.reserve({kept}, 0ms));
  ASSERT_TRUE(kept_after);
  EXPECT_FALSE(kept_after->granted);
  EXPECT_GE(kept_after->wait, 29'000ms) << "no more than an interval (30 s) off the steady rate";
}

}  // namespace
}  // namespace schedulo::queue
