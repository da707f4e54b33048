// The Graph client through the CallGuard against the sandbox's Graph emulator and a real Redis (label
// `graph`): appsecret_proof accepted when the app requires it and a wrong one refused, usage headers
// reaching the fleet's limiter, a throttle past 100 % blocking the account's bucket so the next call
// is deferred without being sent, and no token in the log.
#include "platforms/graph/client.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/io_context.hpp>
#include <sstream>

#include "common/log.hpp"
#include "queue/circuit_breaker.hpp"
#include "queue/notifier.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"

namespace schedulo::graph {
namespace {

using json = nlohmann::json;
using test::run_for;
using namespace std::chrono_literals;

constexpr const char* kIgUser = "17841400000000001";
constexpr const char* kPageToken = "sbx-ig-access-demo-instagram-0001";
constexpr const char* kAppSecret = "sbx-meta-client-secret";

class GraphClientTest : public ::testing::Test {
 protected:
  GraphClientTest() {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    redis = std::make_unique<redis::Client>(io.get_executor(), o);
    redis->start();
    keys = std::make_unique<queue::Keys>(test::unique_prefix());
    http::ClientOptions ho;
    ho.policy = *http::AddressPolicy::from_entries({"127.0.0.1"}).policy;
    http_client = std::make_unique<http::HttpClient>(ho);
    limiter = std::make_unique<queue::RateLimiter>(*redis, *keys);
    breaker = std::make_unique<queue::CircuitBreaker>(*redis, *keys, queue::BreakerOptions{});
    notifier = std::make_unique<queue::Notifier>(*redis, *keys);
    guard =
        std::make_unique<errors::CallGuard>(*http_client, *limiter, *breaker, *notifier, errors::GuardOptions{100ms});
    log::init(log::Format::text, spdlog::level::info, std::make_shared<spdlog::sinks::ostream_sink_mt>(log_out));
  }
  ~GraphClientTest() override {
    log::init(log::Format::text, spdlog::level::info);
    run_for(io, [&]() -> net::awaitable<int> {
      auto all = co_await redis->exec("KEYS", keys->prefix() + ":*");
      for (const auto& k : all->elements) co_await redis->exec("DEL", k.str);
      co_return 0;
    }());
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(sandbox.port()); }
  json admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    return test::http_json(sandbox.port(), method, "/_sandbox" + path, body);
  }
  GraphClient client(std::string secret = kAppSecret) {
    GraphOptions o;
    o.platform = "instagram";
    o.base_url = base() + "/graph/v25.0";
    o.app_secret = Secret(std::move(secret));
    return GraphClient(*guard, std::move(o));
  }
  GraphAnswer read_user(GraphClient& c) {
    GraphCall call;
    call.path = std::string("/") + kIgUser;
    call.params = {{"fields", "id,username"}};
    call.token = &token;
    call.object_id = kIgUser;
    call.account = "demo-instagram";
    call.endpoint = "GET /{ig-user-id}";
    return run_for(io, c.call(call));
  }
  std::string hget(const std::string& key, const std::string& field) {
    auto r = run_for(io, redis->exec("HGET", key, field));
    return r && r->is_string() ? r->str : "";
  }

  test::SandboxProcess sandbox;
  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> redis;
  std::unique_ptr<queue::Keys> keys;
  std::unique_ptr<http::HttpClient> http_client;
  std::unique_ptr<queue::RateLimiter> limiter;
  std::unique_ptr<queue::CircuitBreaker> breaker;
  std::unique_ptr<queue::Notifier> notifier;
  std::unique_ptr<errors::CallGuard> guard;
  std::ostringstream log_out;
  Secret token{kPageToken};
};

TEST_F(GraphClientTest, AProofIsSentWhenTheAppRequiresItAndAWrongSecretIsRefused) {
  admin("POST", "/graph/limits", {{"require_appsecret_proof", true}});
  auto good = client();
  const auto ok = read_user(good);
  ASSERT_TRUE(ok.ok()) << ok.classified().detail;
  EXPECT_EQ(ok.text("id"), kIgUser);
  EXPECT_EQ(ok.body.value("username", ""), "schedulo.demo");

  auto bad = client("not-the-secret");
  const auto refused = read_user(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.classified().kind, errors::ErrorClass::permanent);
  EXPECT_EQ(refused.classified().code, "100");
  EXPECT_EQ(log_out.str().find(kPageToken), std::string::npos) << "the token is never logged";
  EXPECT_EQ(log_out.str().find("not-the-secret"), std::string::npos) << "nor the secret";
}

TEST_F(GraphClientTest, UsageHeadersReachTheLimiterAndAThrottleDefersTheNextCall) {
  auto c = client();
  const auto first = read_user(c);
  ASSERT_TRUE(first.ok()) << first.classified().detail;
  const auto buc = keys->rate_bucket("instagram", "account", std::string("buc:") + kIgUser);
  const auto app = keys->rate_bucket("instagram", "app", "app_usage");
  EXPECT_FALSE(hget(buc, "usage").empty()) << "the BUC reading was recorded";
  EXPECT_FALSE(hget(app, "usage").empty()) << "the X-App-Usage reading was recorded";

  // The account's usage past 100 %: the emulator answers 80002, the bucket is blocked.
  admin("POST", "/graph/usage", {{"counter", "instagram"}, {"id", kIgUser}, {"call_count", 100}});
  const auto throttled = read_user(c);
  ASSERT_FALSE(throttled.ok());
  ASSERT_FALSE(throttled.deferred());
  EXPECT_EQ(throttled.classified().kind, errors::ErrorClass::rate_limited);
  EXPECT_EQ(throttled.classified().code, "80002");
  ASSERT_TRUE(throttled.classified().clears_at);

  const auto before = test::http_json(sandbox.port(), "GET", "/_sandbox/log?api=instagram");
  const auto next = read_user(c);
  ASSERT_TRUE(next.deferred()) << "the limiter refuses without calling";
  EXPECT_GT(next.call.deferred->wait, 1s);
  const auto after = test::http_json(sandbox.port(), "GET", "/_sandbox/log?api=instagram");
  EXPECT_EQ(before.dump(), after.dump()) << "nothing reached the platform";
}

}  // namespace
}  // namespace schedulo::graph
