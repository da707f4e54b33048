// workers.noop_call_url (issue 16, the `calls` benchmark): in noop mode each job makes one real HTTP
// GET through the HTTP client; the key's validation, jobs that all call once, and a failing call
// ending the attempt as a retry (label `queue`).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "daemon/config.hpp"
#include "jobs/dispatcher.hpp"
#include "jobs/noop_platform.hpp"
#include "platforms/http/client.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::jobs {
namespace {

using namespace std::chrono_literals;
using test::run_for;

TEST(NoopCallConfig, AnHttpUrlIsAcceptedAndAnythingElseRefused) {
  const auto none = daemon::load_config_text(R"({"workers": {"mode": "noop"}})", {});
  ASSERT_TRUE(none.config);
  EXPECT_EQ(none.config->workers.noop_call_url, "");

  const auto ok = daemon::load_config_text(
      R"({"workers": {"mode": "noop", "noop_call_url": "http://127.0.0.1:18080/call"},
          "security": {"allow_private_hosts": ["127.0.0.1"]}})",
      {});
  ASSERT_TRUE(ok.config);
  EXPECT_EQ(ok.config->workers.noop_call_url, "http://127.0.0.1:18080/call");

  const auto bad = daemon::load_config_text(R"({"workers": {"noop_call_url": "ftp://127.0.0.1/x"}})", {});
  EXPECT_FALSE(bad.config);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].key, "workers.noop_call_url");
}

class NoopCallTest : public ::testing::Test {
 protected:
  NoopCallTest() {
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
    http::ClientOptions ho;
    ho.policy = std::move(*http::AddressPolicy::from_entries({"127.0.0.1"}).policy);
    ho.max_connections_per_origin = 8;
    http_client = std::make_unique<http::HttpClient>(std::move(ho));
  }

  std::string field(const std::string& id, const std::string& name) {
    auto r = run_for(io, client->exec("HGET", store->keys().job(id), name));
    return r && r->is_string() ? r->str : "<nil>";
  }

  // Runs the dispatcher until `done` says so (polled every 10 ms; run_for's limit fails the test).
  void run_until(Dispatcher& d, const std::function<net::awaitable<bool>()>& done) {
    run_for(
        io,
        [&]() -> net::awaitable<int> {
          auto ex = co_await boost::asio::this_coro::executor;
          net::Event finished(ex);
          boost::asio::co_spawn(
              ex,
              [&]() -> net::awaitable<void> {
                co_await d.run();
                finished.set();
              },
              boost::asio::detached);
          net::Timer t(ex);
          while (!co_await done()) {
            t.expires_after(10ms);
            co_await t.async_wait();
          }
          d.stop();
          co_await finished.wait();
          co_return 0;
        }(),
        60s);
  }

  void push(int n, const std::string& type) {
    std::vector<redis::Args> pushes;
    for (int i = 0; i < n; ++i) {
      std::string job = R"({"id":"j)" + std::to_string(i) + R"(","type":")" + type +
                        R"(","platform":"x","account":"a)" + std::to_string(i % 5) + R"(")";
      if (type == "publish") job += R"(,"post":{"text":"hello"})";
      pushes.push_back({"LPUSH", store->keys().inbox(), job + "}"});
    }
    ASSERT_TRUE(run_for(io, client->pipeline(pushes)));
  }

  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client, blocking;
  std::unique_ptr<queue::Store> store;
  std::unique_ptr<http::HttpClient> http_client;
  DispatcherOptions options;
};

TEST_F(NoopCallTest, EveryJobMakesExactlyOneCallOverPooledConnections) {
  test::HttpTestServer server([](const test::ServerRequest& r) {
    test::ServerReply reply;
    reply.body = r.target == "/call" ? "ok" : "wrong path";
    reply.status = r.target == "/call" && r.method == "GET" ? 200 : 404;
    return reply;
  });
  auto noop = make_noop_platform("x", {}, {http_client.get(), server.url("/call")});
  Dispatcher d(
      *store, *blocking, [&](std::string_view) { return noop.get(); }, options);
  push(60, "fetch_analytics");
  run_until(d, [&]() -> net::awaitable<bool> {
    auto r = co_await client->exec("GET", store->keys().total("succeeded"));
    co_return r && r->as_integer().value_or(0) == 60;
  });
  EXPECT_EQ(server.requests(), 60u);
  EXPECT_LE(server.max_open(), 8u);      // the pool's cap
  EXPECT_LT(server.connections(), 60u);  // kept alive and reused
  EXPECT_EQ(field("j7", "state"), "succeeded");
  EXPECT_EQ(field("j7", "attempts"), "1");
}

TEST_F(NoopCallTest, APublishJobCallsOnceInItsUploadStep) {
  test::HttpTestServer server([](const test::ServerRequest&) { return test::ServerReply{}; });
  auto noop = make_noop_platform("x", {}, {http_client.get(), server.url("/upload")});
  Dispatcher d(
      *store, *blocking, [&](std::string_view) { return noop.get(); }, options);
  push(10, "publish");
  run_until(d, [&]() -> net::awaitable<bool> {
    auto r = co_await client->exec("GET", store->keys().total("succeeded"));
    co_return r && r->as_integer().value_or(0) == 10;
  });
  EXPECT_EQ(server.requests(), 10u);
  EXPECT_NE(field("j3", "result").find("noop-j3"), std::string::npos);
}

TEST_F(NoopCallTest, AFailingCallEndsTheAttemptAsARetryWithTheStatus) {
  test::HttpTestServer server([](const test::ServerRequest&) {
    test::ServerReply reply;
    reply.status = 503;
    return reply;
  });
  auto noop = make_noop_platform("x", {}, {http_client.get(), server.url("/call")});
  Dispatcher d(
      *store, *blocking, [&](std::string_view) { return noop.get(); }, options);
  push(1, "refresh_token");
  run_until(d, [&]() -> net::awaitable<bool> {
    auto r = co_await client->exec("HGET", store->keys().job("j0"), "error_code");
    co_return r && r->is_string() && r->str == "noop_call";
  });
  EXPECT_EQ(field("j0", "error"), "the noop call answered HTTP 503");
  EXPECT_NE(field("j0", "state"), "succeeded");
  EXPECT_GE(server.requests(), 1u);
}

}  // namespace
}  // namespace schedulo::jobs
