// The HTTP API in process (label `api`): routes, Bearer auth, hostile input, slow clients, a
// 10 000-request load from loopback, validate-only per platform, cancel racing a due job, metrics.
// Real Redis (a key prefix per test), real sockets, the real dispatcher with noop adapters.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>

#include "common/deadline.hpp"
#include "common/event.hpp"
#include "common/rfc3339.hpp"
#include "daemon/api_server.hpp"
#include "daemon/metrics.hpp"
#include "daemon/metrics_gather.hpp"
#include "jobs/dispatcher.hpp"
#include "jobs/noop_platform.hpp"
#include "platforms/http/client.hpp"
#include "queue/circuit_breaker.hpp"
#include "queue/outbox.hpp"
#include "queue/store.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/media_files.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tokens/token_store.hpp"
#include "tokens/vault.hpp"

namespace schedulo::daemon {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kToken = "test-token-0123456789abcdef";

struct Answer {
  int status = 0;
  json body;
  std::string text;
  std::string content_type;
};

jobs::ValidationContext test_validation() {
  jobs::ValidationContext v;
  std::vector<std::string> allow{"127.0.0.1"};
  v.private_hosts = std::move(*http::AddressPolicy::from_entries(allow).policy);
  v.callback_hosts = {"127.0.0.1"};
  return v;
}

http::ClientOptions loopback_client() {
  http::ClientOptions o;
  std::vector<std::string> allow{"127.0.0.1"};
  o.policy = std::move(*http::AddressPolicy::from_entries(allow).policy);
  o.max_connections_per_origin = 64;
  return o;
}

// The media files validate-only fetches.
test::ServerReply media_reply(const test::ServerRequest& r) {
  test::ServerReply reply;
  auto file = [&](std::string body, const char* type) {
    reply.body = std::move(body);
    reply.headers = {{"Content-Type", type}};
  };
  if (r.target == "/square.jpg")
    file(test::jpeg_file(1080, 1080), "image/jpeg");
  else if (r.target == "/wide.jpg")
    file(test::jpeg_file(3000, 1000), "image/jpeg");
  else if (r.target == "/photo.png")
    file(test::png_file(1200, 800), "image/png");
  else if (r.target == "/anim.gif")
    file(test::gif_file(400, 300), "image/gif");
  else if (r.target == "/vertical.mp4")
    file(test::mp4_file({}), "video/mp4");
  else if (r.target == "/small.mp4") {
    test::Mp4Spec spec;
    spec.width = 400;
    spec.height = 400;
    file(test::mp4_file(spec), "video/mp4");
  } else if (r.target == "/long.mp4") {
    test::Mp4Spec spec;
    spec.movie_duration = 1000 * 1000;  // 1000 s
    spec.frames = 30000;
    file(test::mp4_file(spec), "video/mp4");
  } else if (r.target == "/page.html") {
    file("<!DOCTYPE html><html><body>not media</body></html>", "text/html");
  } else if (r.target == "/slow.jpg") {
    reply.action = test::ServerReply::Action::stall_before_headers;
  } else {
    reply.status = 404;
    reply.body = "no such file";
  }
  return reply;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis::ClientOptions ro;
    std::string error;
    ro.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client_ = std::make_unique<redis::Client>(io_.get_executor(), ro);
    blocking_ = std::make_unique<redis::Client>(io_.get_executor(), ro);
    client_->start();
    blocking_->start();
    keys_ = std::make_unique<queue::Keys>(test::unique_prefix());
    queue::QueueSettings qs;
    qs.lease = 5s;
    store_ = std::make_unique<queue::Store>(*client_, *keys_, qs);
    outbox_ = std::make_unique<queue::Outbox>(*client_, *keys_, qs);
    media_client_ = std::make_unique<http::HttpClient>(loopback_client());
    caller_ = std::make_unique<http::HttpClient>(loopback_client());
    start_api({});
  }

  void TearDown() override {
    stop_dispatcher();
    api_->stop();
    client_->stop();
    blocking_->stop();
    io_.restart();
    io_.run_for(200ms);
  }

  void start_api(std::function<void(ApiOptions&)> tweak) {
    if (api_) api_->stop();
    ApiOptions o;
    o.token = kToken;
    o.validation = test_validation();
    o.validate_media_timeout = 800ms;
    o.server.body_limit = 64 * 1024;
    o.server.read_timeout = 500ms;
    o.server.handler_timeout = 2000ms;
    o.max_batch = 100;
    if (tweak) tweak(o);
    api_ = std::make_unique<ApiServer>(
        io_.get_executor(),
        ApiDependencies{*store_, outbox_.get(), media_client_.get(), metrics_, [this] { return consuming_; }}, o);
    ASSERT_FALSE(api_->listen("127.0.0.1", 0));
    api_->start();
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(api_->port()) + path; }

  net::awaitable<Answer> send(std::string method, std::string path, std::string body, std::string token,
                              std::vector<std::pair<std::string, std::string>> headers) {
    http::Request r;
    r.method = std::move(method);
    r.url = url(path);
    if (!token.empty()) r.headers.set("Authorization", "Bearer " + token);
    for (const auto& [k, v] : headers) r.headers.set(k, v);
    if (!body.empty()) {
      r.headers.set("Content-Type", "application/json");
      r.body = std::move(body);
    }
    r.timeouts.total = 10s;
    auto response = co_await caller_->request(r);
    Answer a;
    if (!response) {
      a.status = -1;
      a.text = response.error().message;
      co_return a;
    }
    a.status = response->status;
    a.text = response->body;
    a.content_type = std::string(response->headers.get("Content-Type").value_or(""));
    a.body = json::parse(a.text, nullptr, false);
    co_return a;
  }

  Answer call(const std::string& method, const std::string& path, const std::string& body = {},
              const std::string& token = kToken, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return test::run_for(io_, send(method, path, body, token, std::move(headers)), std::chrono::seconds(30));
  }

  // The dispatcher with noop adapters, on the same io_context.
  void start_dispatcher(std::chrono::milliseconds delay) {
    for (const char* p : {"instagram", "facebook", "tiktok", "x"}) adapters_[p] = jobs::make_noop_platform(p, delay);
    jobs::DispatcherOptions o;
    o.worker_id = "api-test-" + keys_->prefix();
    o.idle_wait = 20ms;
    o.reaper_grace = 0ms;
    o.validation = test_validation();
    o.on_settle = [this](const jobs::Job& job, const queue::Lease&, queue::Settle& s,
                         std::chrono::steady_clock::duration elapsed) {
      metrics_.job_settled(std::string(jobs::to_string(job.type)), std::string(jobs::to_string(job.platform)),
                           std::string(queue::to_string(s.outcome)), elapsed);
    };
    dispatcher_ = std::make_unique<jobs::Dispatcher>(
        *store_, *blocking_,
        [this](std::string_view p) -> jobs::PlatformAdapter* {
          auto it = adapters_.find(std::string(p));
          return it == adapters_.end() ? nullptr : it->second.get();
        },
        o);
    dispatcher_done_ = false;
    boost::asio::co_spawn(io_, dispatcher_->run(), [this](const std::exception_ptr&) { dispatcher_done_ = true; });
    consuming_ = true;
  }

  void stop_dispatcher() {
    if (!dispatcher_) return;
    dispatcher_->stop();
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (!dispatcher_done_ && std::chrono::steady_clock::now() < end) {
      io_.restart();
      io_.run_for(50ms);
    }
    EXPECT_TRUE(dispatcher_done_);
    dispatcher_.reset();
  }

  // Polls the job's state until `pred` holds (or fails the test after `limit`).
  std::string wait_state(const std::string& id, const std::function<bool(const std::string&)>& pred,
                         std::chrono::seconds limit = 20s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    std::string state;
    while (std::chrono::steady_clock::now() < end) {
      auto a = call("GET", "/v1/jobs/" + id);
      if (a.status == 200) {
        state = a.body.value("state", "");
        if (pred(state)) return state;
      }
      io_.restart();
      io_.run_for(20ms);
    }
    ADD_FAILURE() << "job " << id << " stayed " << state;
    return state;
  }

  boost::asio::io_context io_{1};
  std::unique_ptr<redis::Client> client_, blocking_;
  std::unique_ptr<queue::Keys> keys_;
  std::unique_ptr<queue::Store> store_;
  std::unique_ptr<queue::Outbox> outbox_;
  std::unique_ptr<http::HttpClient> media_client_, caller_;
  Metrics metrics_;
  bool consuming_ = false;
  std::unique_ptr<ApiServer> api_;
  std::map<std::string, std::unique_ptr<jobs::PlatformAdapter>> adapters_;
  std::unique_ptr<jobs::Dispatcher> dispatcher_;
  bool dispatcher_done_ = true;
};

std::string x_job(const std::string& id, const std::string& text = "hello") {
  json j = {{"type", "publish"}, {"platform", "x"}, {"account", "x-1"}, {"post", {{"text", text}}}};
  if (!id.empty()) j["id"] = id;
  return j.dump();
}

// ---- auth -----------------------------------------------------------------------------------------

TEST(TokenMatchTest, EqualTokensMatchAndAnyDifferenceDoesNot) {
  EXPECT_TRUE(token_matches("abcdef0123456789", "abcdef0123456789"));
  EXPECT_FALSE(token_matches("abcdef0123456788", "abcdef0123456789"));
  EXPECT_FALSE(token_matches("abcdef012345678", "abcdef0123456789"));
  EXPECT_FALSE(token_matches("", "abcdef0123456789"));
  EXPECT_FALSE(token_matches("", ""));  // no configured token never authorises
}

TEST_F(ApiTest, MissingOrWrongTokenIsRefusedWithJsonOnEveryProtectedRoute) {
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{{"POST", "/v1/jobs"},
                                                                                     {"GET", "/v1/jobs"},
                                                                                     {"GET", "/v1/jobs/a"},
                                                                                     {"DELETE", "/v1/jobs/a"},
                                                                                     {"PUT", "/v1/jobs/a"},
                                                                                     {"GET", "/v1/stats"},
                                                                                     {"GET", "/nowhere"}}) {
    for (const std::string& token :
         {std::string(), std::string("wrong-token-0123456789abcdef"), std::string(kToken) + "x"}) {
      const auto a = call(method, path, method == "GET" || method == "DELETE" ? "" : x_job("a"), token);
      EXPECT_EQ(a.status, 401) << method << " " << path;
      ASSERT_TRUE(a.body.is_object()) << a.text;
      EXPECT_EQ(a.body["error"]["code"], "unauthorized");
      EXPECT_EQ(a.text.find(kToken), std::string::npos);
    }
  }
  // Lower-case scheme is accepted (RFC 7235: case-insensitive).
  EXPECT_EQ(call("GET", "/v1/stats", {}, {}, {{"Authorization", std::string("bearer ") + kToken}}).status, 200);
  EXPECT_EQ(call("GET", "/v1/stats", {}, {}, {{"Authorization", std::string("Basic ") + kToken}}).status, 401);
  // Nothing was enqueued by the refused calls.
  EXPECT_EQ(call("GET", "/v1/jobs/a").status, 404);
}

TEST_F(ApiTest, HealthAndMetricsAreOpenAndMetricsCanBeProtected) {
  EXPECT_EQ(call("GET", "/healthz", {}, {}).status, 503);  // not consuming yet
  consuming_ = true;
  const auto h = call("GET", "/healthz", {}, {});
  EXPECT_EQ(h.status, 200) << h.text;
  const auto m = call("GET", "/metrics", {}, {});
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.content_type.find("version=0.0.4"), std::string::npos);
  EXPECT_NE(m.text.find("schedulo_queue_depth"), std::string::npos);
  EXPECT_NE(m.text.find("schedulo_due_lag_seconds"), std::string::npos);
  start_api([](ApiOptions& o) { o.public_metrics = false; });
  EXPECT_EQ(call("GET", "/metrics", {}, {}).status, 401);
  EXPECT_EQ(call("GET", "/metrics").status, 200);
}

TEST_F(ApiTest, MetricsShowLimitWaitsCircuitsAndAccountsByTokenStatus) {
  // The daemon's real sources, over this test's Redis: a breaker and a token store.
  queue::BreakerOptions bo;
  bo.failure_threshold = 2;
  queue::CircuitBreaker breaker(*client_, *keys_, bo);
  std::string error;
  auto vault = tokens::Vault::from_text(tokens::Vault::generate_key_line("k1"), error);
  ASSERT_TRUE(vault) << error;
  tokens::TokenStore tokens(*client_, *keys_, *vault);
  platforms::TokenSet set;
  set.access_token = Secret("metrics-access-token");
  for (const auto& [account, status] :
       std::vector<std::pair<std::string, tokens::AccountStatus>>{{"a1", tokens::AccountStatus::active},
                                                                  {"a2", tokens::AccountStatus::active},
                                                                  {"a3", tokens::AccountStatus::needs_reauth}}) {
    auto put = test::run_for(io_, tokens.put({"x", account}, set, 0, status, "", now_epoch_ms()));
    ASSERT_TRUE(put) << put.error().message();
  }
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(test::run_for(io_, breaker.record("tiktok", queue::BreakerOutcome::failure)));
  ASSERT_TRUE(test::run_for(io_, breaker.check("tiktok")));  // the local view learns it is open
  metrics_.rate_limit_wait("x", "rate_limited", 1500ms);
  metrics_.rate_limit_wait("x", "slept", 250ms);
  api_->stop();
  api_ = std::make_unique<ApiServer>(
      io_.get_executor(),
      ApiDependencies{*store_, outbox_.get(), media_client_.get(), metrics_, [this] { return consuming_; },
                      metrics_gatherer({breaker, nullptr, &tokens, *client_, *keys_})},
      [] {
        ApiOptions o;
        o.token = kToken;
        return o;
      }());
  ASSERT_FALSE(api_->listen("127.0.0.1", 0));
  api_->start();
  const auto m = call("GET", "/metrics", {}, {});
  ASSERT_EQ(m.status, 200);
  auto has = [&](const std::string& line) {
    EXPECT_NE(m.text.find(line), std::string::npos) << "missing: " << line << "\n" << m.text;
  };
  has("schedulo_circuit_open{platform=\"tiktok\"} 1");
  has("schedulo_circuit_open{platform=\"x\"} 0");
  has("schedulo_token_accounts{platform=\"x\",status=\"active\"} 2");
  has("schedulo_token_accounts{platform=\"x\",status=\"needs_reauth\"} 1");
  has("schedulo_token_accounts{platform=\"tiktok\",status=\"active\"} 0");
  has("schedulo_rate_limit_waits_total{kind=\"rate_limited\",platform=\"x\"} 1");
  has("schedulo_rate_limit_wait_seconds_total{kind=\"slept\",platform=\"x\"} 0.25");
  EXPECT_EQ(m.text.find("metrics-access-token"), std::string::npos);
  api_->stop();  // no scrape after the breaker and token store it reads from are gone
}

// ---- hostile input --------------------------------------------------------------------------------

TEST_F(ApiTest, OversizedAndMalformedBodiesGetJsonErrorsAndEnqueueNothing) {
  auto big = call("POST", "/v1/jobs", x_job("big", std::string(70 * 1024, 'a')));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.body["error"]["code"], "too_large");

  for (const std::string& bad : {std::string("{"), std::string("not json"), std::string("[1,2"), std::string("[,]"),
                                 std::string("[{}]]"), std::string("\"text\""), std::string("null"),
                                 std::string("[") + std::string(5000, '[') + std::string(5000, ']') + "]",
                                 std::string(R"({"type":"publish","type":"publish"})"), std::string("\xff\xfe{}")}) {
    const auto a = call("POST", "/v1/jobs", bad);
    EXPECT_EQ(a.status, 400) << bad.substr(0, 40);
    ASSERT_TRUE(a.body.is_object()) << a.text;
    EXPECT_TRUE(a.body["error"].contains("code"));
    EXPECT_TRUE(a.body["error"].contains("message"));
  }
  // An empty body, an empty array, too many jobs.
  EXPECT_EQ(call("POST", "/v1/jobs", " ").status, 400);
  EXPECT_EQ(call("POST", "/v1/jobs", "[]").body["error"]["code"], "required");
  json many = json::array();
  for (int i = 0; i < 101; ++i) many.push_back(json::parse(x_job("m" + std::to_string(i))));
  EXPECT_EQ(call("POST", "/v1/jobs", many.dump()).body["error"]["code"], "too_many");

  // A batch with one bad job enqueues none of them, and says which one and which field.
  json batch = json::array(
      {json::parse(x_job("b1")), json::parse(x_job("b2", std::string(25001, 'x'))), json::parse(x_job("b3"))});
  const auto b = call("POST", "/v1/jobs", batch.dump());
  EXPECT_EQ(b.status, 400);
  EXPECT_EQ(b.body["error"]["field"], "[1].post.text");
  EXPECT_EQ(b.body["errors"][0]["index"], 1);
  EXPECT_EQ(call("GET", "/v1/jobs/b1").status, 404);
  EXPECT_EQ(call("GET", "/v1/jobs/b3").status, 404);

  // Ids in paths are checked before Redis sees them.
  EXPECT_EQ(call("GET", "/v1/jobs/" + std::string(200, 'a')).status, 400);
  EXPECT_EQ(call("GET", "/v1/jobs/a%20b").status, 400);
  // Unknown routes: JSON 404.
  EXPECT_EQ(call("GET", "/v2/anything").body["error"]["code"], "not_found");
}

// Raw bytes on a socket: what a client library would never send.
net::awaitable<std::string> raw_exchange(std::uint16_t port, std::string bytes, std::chrono::milliseconds wait) {
  net::TcpSocket socket(co_await boost::asio::this_coro::executor);
  auto [ec] = co_await socket.async_connect({boost::asio::ip::make_address("127.0.0.1"), port});
  if (ec) co_return "connect failed";
  auto [wec, wn] = co_await boost::asio::async_write(socket, boost::asio::buffer(bytes));
  (void)wn;
  if (wec) co_return "write failed";
  std::string out;
  char buf[4096];
  const auto end = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left = end - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) co_return out + "<open>";
    auto r = co_await net::with_timeout(socket.async_read_some(boost::asio::buffer(buf)), left);
    if (!r) co_return out + "<open>";
    auto [rec, n] = *r;
    if (rec) co_return out + "<closed>";
    out.append(buf, n);
  }
}

TEST_F(ApiTest, GarbageRequestsAreAnsweredOrClosedNeverCrashTheServer) {
  const auto port = api_->port();
  const std::string garbage = test::run_for(io_, raw_exchange(port, "HELLO\r\n\r\n", 3s));
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;
  EXPECT_NE(garbage.find("malformed_request"), std::string::npos);
  const std::string header_bomb =
      test::run_for(io_, raw_exchange(port, "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", 3s));
  EXPECT_NE(header_bomb.find("431"), std::string::npos) << header_bomb.substr(0, 100);
  const std::string lying_length = test::run_for(
      io_, raw_exchange(port, "POST /v1/jobs HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n{", 3s));
  EXPECT_NE(lying_length.find("413"), std::string::npos) << lying_length;
  // Still serving.
  EXPECT_EQ(call("GET", "/v1/stats").status, 200);
}

TEST_F(ApiTest, SlowClientsAreCutOffWhileOthersAreServed) {
  const auto port = api_->port();
  // Headers promise a body that never comes; another client trickles nothing after connecting.
  std::string slow_result, idle_result;
  bool slow_done = false, idle_done = false;
  boost::asio::co_spawn(io_,
                        raw_exchange(port, "POST /v1/jobs HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{\"ty", 5s),
                        [&](const std::exception_ptr&, std::string r) {
                          slow_result = std::move(r);
                          slow_done = true;
                        });
  boost::asio::co_spawn(io_, raw_exchange(port, "GET", 5s), [&](const std::exception_ptr&, std::string r) {
    idle_result = std::move(r);
    idle_done = true;
  });
  // Meanwhile an ordinary request is answered.
  EXPECT_EQ(call("GET", "/v1/stats").status, 200);
  const auto end = std::chrono::steady_clock::now() + 10s;
  while ((!slow_done || !idle_done) && std::chrono::steady_clock::now() < end) {
    io_.restart();
    io_.run_for(50ms);
  }
  ASSERT_TRUE(slow_done && idle_done);
  // Closed by the server's read deadline (500 ms here), long before the 5 s the clients would wait.
  EXPECT_NE(slow_result.find("<closed>"), std::string::npos) << slow_result;
  EXPECT_NE(idle_result.find("<closed>"), std::string::npos) << idle_result;
}

TEST_F(ApiTest, TenThousandRequestsFromFiftyLoopbackClientsAllSucceed) {
  constexpr int kClients = 50;
  constexpr int kRequests = 10000;
  int next = 0, ok = 0, failed = 0;
  std::string first_failure;
  const auto count = [&](const Answer& a) {
    if (a.status >= 200 && a.status < 300) {
      ++ok;
    } else {
      if (first_failure.empty()) first_failure = std::to_string(a.status) + " " + a.text;
      ++failed;
    }
  };
  // Each client enqueues a job and then reads it back (its own job: a read of another client's job
  // could overtake that job's enqueue).
  auto worker = [&]() -> net::awaitable<void> {
    for (;;) {
      const int pair = next++;
      if (pair >= kRequests / 2) co_return;
      const std::string id = "load-" + std::to_string(pair);
      const Answer posted = co_await send("POST", "/v1/jobs", x_job(id), kToken, {});
      count(posted);
      const Answer read = co_await send("GET", "/v1/jobs/" + id, "", kToken, {});
      count(read);
    }
  };
  int finished = 0;
  for (int c = 0; c < kClients; ++c)
    boost::asio::co_spawn(io_, worker(), [&](const std::exception_ptr&) { ++finished; });
  const auto end = std::chrono::steady_clock::now() + 300s;
  while (finished < kClients && std::chrono::steady_clock::now() < end) {
    io_.restart();
    io_.run_for(100ms);
  }
  ASSERT_EQ(finished, kClients);
  EXPECT_EQ(failed, 0) << first_failure;
  EXPECT_EQ(ok, kRequests);
  const auto stats = call("GET", "/v1/stats");
  EXPECT_EQ(stats.body["queued_by_platform"]["x"], kRequests / 2);
}

// ---- the job routes ---------------------------------------------------------------------------------

TEST_F(ApiTest, EnqueueIsIdempotentByIdAndByIdempotencyKey) {
  auto a = call("POST", "/v1/jobs", x_job("same-1"));
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(a.body["id"], "same-1");
  EXPECT_EQ(a.body["jobs"][0]["status"], "created");
  a = call("POST", "/v1/jobs", x_job("same-1"));
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(a.body["jobs"][0]["status"], "duplicate");

  // No id: the Idempotency-Key header makes Bubble's retried call the same job.
  auto k1 = call("POST", "/v1/jobs", x_job(""), kToken, {{"Idempotency-Key", "bubble-thing-42"}});
  auto k2 = call("POST", "/v1/jobs", x_job(""), kToken, {{"Idempotency-Key", "bubble-thing-42"}});
  EXPECT_EQ(k1.body["id"], k2.body["id"]);
  EXPECT_EQ(k2.body["jobs"][0]["status"], "duplicate");
  // Without either, each call is a new job.
  EXPECT_NE(call("POST", "/v1/jobs", x_job("")).body["id"], call("POST", "/v1/jobs", x_job("")).body["id"]);

  // An array: 202 with one id per job, in order.
  json batch = json::array({json::parse(x_job("arr-1")), json::parse(x_job("arr-2"))});
  auto b = call("POST", "/v1/jobs", batch.dump());
  EXPECT_EQ(b.status, 202);
  ASSERT_EQ(b.body["jobs"].size(), 2u);
  EXPECT_EQ(b.body["jobs"][1]["id"], "arr-2");
  EXPECT_FALSE(b.body.contains("id"));
}

TEST_F(ApiTest, StatusListCancelReplaceAndStats) {
  json scheduled = json::parse(x_job("later-1"));
  scheduled["run_at"] = format_rfc3339_ms(now_epoch_ms() + 3600 * 1000);
  ASSERT_EQ(call("POST", "/v1/jobs", scheduled.dump()).status, 202);
  ASSERT_EQ(call("POST", "/v1/jobs", x_job("now-1")).status, 202);

  auto s = call("GET", "/v1/jobs/later-1");
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.body["state"], "scheduled");
  EXPECT_EQ(s.body["payload"]["post"]["text"], "hello");
  EXPECT_FALSE(s.body.contains("lease"));
  // Counters and times are numbers, as the callbacks send them; ids and texts stay strings.
  EXPECT_EQ(s.body["attempts"], 0);
  EXPECT_TRUE(s.body["max_attempts"].is_number_integer());
  EXPECT_TRUE(s.body["created_at"].is_number_integer());
  EXPECT_TRUE(s.body["id"].is_string());
  EXPECT_EQ(call("GET", "/v1/jobs/nope").body["error"]["code"], "not_found");

  auto list = call("GET", "/v1/jobs?account=x-1&state=scheduled");
  EXPECT_EQ(list.status, 200);
  ASSERT_EQ(list.body["jobs"].size(), 1u);
  EXPECT_EQ(list.body["jobs"][0]["id"], "later-1");
  EXPECT_EQ(list.body["jobs"][0]["attempts"], 0);
  EXPECT_EQ(call("GET", "/v1/jobs?account=x-1").body["jobs"].size(), 2u);
  EXPECT_EQ(call("GET", "/v1/jobs?limit=0").status, 400);
  EXPECT_EQ(call("GET", "/v1/jobs?platform=myspace").status, 400);

  // Replace before start: new text; the body's id must match the path's.
  json replacement = json::parse(x_job("", "edited"));
  replacement["run_at"] = scheduled["run_at"];
  auto r = call("PUT", "/v1/jobs/later-1", replacement.dump());
  EXPECT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(call("GET", "/v1/jobs/later-1").body["payload"]["post"]["text"], "edited");
  EXPECT_EQ(call("PUT", "/v1/jobs/later-1", x_job("other-id")).status, 400);
  EXPECT_EQ(call("PUT", "/v1/jobs/unknown-1", x_job("")).status, 404);

  // Cancel before start, twice (Bubble retries): both 200.
  EXPECT_EQ(call("DELETE", "/v1/jobs/later-1").status, 200);
  auto again = call("DELETE", "/v1/jobs/later-1");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body["state"], "cancelled");
  // Replacing a cancelled job: 409 already ended.
  auto late = call("PUT", "/v1/jobs/later-1", replacement.dump());
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(late.body["error"]["code"], "already_ended");
  // A cancel for a job not there yet is remembered.
  auto pending = call("DELETE", "/v1/jobs/future-1");
  EXPECT_EQ(pending.status, 202);
  EXPECT_EQ(call("POST", "/v1/jobs", x_job("future-1")).body["jobs"][0]["status"], "cancelled");

  auto stats = call("GET", "/v1/stats");
  EXPECT_EQ(stats.status, 200);
  EXPECT_EQ(stats.body["queued_by_platform"]["x"], 1);
  EXPECT_TRUE(stats.body.contains("outbox"));
}

TEST_F(ApiTest, CancelRacingADueJobEitherCancelsItOrSaysItStarted) {
  start_dispatcher(30ms);
  int cancelled = 0, started = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string id = "race-" + std::to_string(i);
    ASSERT_EQ(call("POST", "/v1/jobs", x_job(id)).status, 202);
    // Give the dispatcher a varying head start so both sides of the race happen.
    io_.restart();
    io_.run_for(std::chrono::milliseconds(i % 8 * 5));
    const auto c = call("DELETE", "/v1/jobs/" + id);
    if (c.status == 200) {
      ++cancelled;
      EXPECT_EQ(wait_state(id, [](const std::string& s) { return s == "cancelled"; }), "cancelled");
    } else {
      ASSERT_EQ(c.status, 409) << c.text;
      EXPECT_TRUE(c.body["error"]["code"] == "already_started" || c.body["error"]["code"] == "already_ended");
      ++started;
      // It runs to the end and is never reported cancelled.
      EXPECT_EQ(wait_state(id, [](const std::string& s) { return s == "succeeded" || s == "cancelled"; }), "succeeded");
    }
  }
  EXPECT_EQ(cancelled + started, 40);
  // The noop jobs that ran are counted in the metrics.
  if (started > 0) {
    const auto m = call("GET", "/metrics", {}, {});
    EXPECT_NE(m.text.find(R"(schedulo_job_attempts_total{outcome="succeeded",platform="x",type="publish"})"),
              std::string::npos)
        << m.text.substr(0, 2000);
  }
  const auto h = call("GET", "/healthz", {}, {});
  EXPECT_EQ(h.status, 200) << h.text;
}

// ---- validate-only ---------------------------------------------------------------------------------

class ValidateTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    media_ = std::make_unique<test::HttpTestServer>(media_reply);
  }
  std::string media(const std::string& path) const { return media_->url(path); }
  json validate(const json& job) {
    auto a = call("POST", "/v1/jobs?validate=1", job.dump());
    EXPECT_EQ(a.status, 200) << a.text;
    return a.body;
  }
  static json post(const std::string& platform, const json& media_list, const json& options = json::object(),
                   const std::string& text = "caption") {
    json p = {{"text", text}, {"media", media_list}};
    if (!options.empty()) p["options"] = {{platform, options}};
    return {{"type", "publish"}, {"platform", platform}, {"account", "acct-1"}, {"post", p}};
  }
  static json item(const std::string& url, const std::string& kind) { return {{"url", url}, {"kind", kind}}; }
  static std::vector<std::string> codes(const json& body, const char* list = "errors") {
    std::vector<std::string> out;
    for (const auto& e : body[list]) out.push_back(e["code"].get<std::string>() + "@" + e["field"].get<std::string>());
    return out;
  }
  std::unique_ptr<test::HttpTestServer> media_;
};

TEST_F(ValidateTest, GoodPostsOfEachPlatformAreValidAndNothingIsEnqueued) {
  const json good[] = {
      post("instagram", json::array({item(media("/square.jpg"), "image")})),
      post("instagram", json::array({item(media("/vertical.mp4"), "video")}), {{"as", "reel"}}),
      post("facebook", json::array({item(media("/photo.png"), "image")})),
      post("facebook", json::array({item(media("/vertical.mp4"), "video")}), {{"as", "reel"}}),
      post("tiktok", json::array({item(media("/vertical.mp4"), "video")}),
           {{"mode", "direct"}, {"privacy_level", "SELF_ONLY"}}),
      post("x", json::array({item(media("/anim.gif"), "image")})),
      post("x", json::array({item(media("/vertical.mp4"), "video")})),
  };
  for (const auto& job : good) {
    const auto body = validate(job);
    EXPECT_TRUE(body["valid"].get<bool>()) << job.dump() << "\n" << body.dump();
    EXPECT_TRUE(body["errors"].empty());
  }
  EXPECT_EQ(call("GET", "/v1/stats").body["queued_by_platform"].value("instagram", 0), 0);
}

TEST_F(ValidateTest, BadPostsOfEachPlatformListEveryProblemAtOnce) {
  // Instagram: a PNG where JPEG is required, an image too wide, a page that is not media, a 404.
  auto ig = validate(
      post("instagram", json::array({item(media("/photo.png"), "image"), item(media("/wide.jpg"), "image"),
                                     item(media("/page.html"), "image"), item(media("/missing.jpg"), "image")})));
  EXPECT_FALSE(ig["valid"].get<bool>());
  EXPECT_EQ(codes(ig),
            (std::vector<std::string>{"media_rejected@post.media[0].url", "media_rejected@post.media[1].url",
                                      "bad_media@post.media[2].url", "media_unreachable@post.media[3].url"}));
  // Instagram reel over 15 minutes.
  auto reel = validate(post("instagram", json::array({item(media("/long.mp4"), "video")}), {{"as", "reel"}}));
  EXPECT_EQ(codes(reel), std::vector<std::string>{"media_rejected@post.media[0].url"});
  EXPECT_NE(reel["errors"][0]["message"].get<std::string>().find("900"), std::string::npos) << reel.dump();
  // Facebook reel below the minimum size; declared as an image while it is a video.
  auto fb = validate(post("facebook", json::array({item(media("/small.mp4"), "video")}), {{"as", "reel"}}));
  EXPECT_EQ(codes(fb), std::vector<std::string>{"media_rejected@post.media[0].url"});
  auto kind = validate(post("facebook", json::array({item(media("/vertical.mp4"), "image")})));
  EXPECT_EQ(codes(kind)[0], "wrong_kind@post.media[0].url");
  // TikTok photos refuse PNG.
  auto tt = validate(post("tiktok", json::array({item(media("/photo.png"), "image")}), {{"mode", "inbox"}}));
  EXPECT_EQ(codes(tt), std::vector<std::string>{"media_rejected@post.media[0].url"});
  // X: text over 25,000 plus a schema error elsewhere: both listed (schema problems need no fetch).
  json x = post("x", json::array(), json::object(), std::string(25001, 'a'));
  x["post"].erase("media");
  x["max_attempts"] = "five";
  auto xb = validate(x);
  EXPECT_FALSE(xb["valid"].get<bool>());
  EXPECT_EQ(xb["errors"].size(), 2u) << xb.dump();
  // A slow media host is "not checked" (a warning), and the answer still comes within the budget.
  const auto t0 = std::chrono::steady_clock::now();
  auto slow = validate(post("x", json::array({item(media("/slow.jpg"), "image")})));
  EXPECT_TRUE(slow["valid"].get<bool>());
  const auto slow_warnings = codes(slow, "warnings");
  EXPECT_NE(std::find(slow_warnings.begin(), slow_warnings.end(), "not_checked@post.media[0].url"),
            slow_warnings.end());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // bound for a hang, not a timing assertion
  // A batch: one result per job.
  json batch = json::array({post("x", json::array()), x});
  batch[0]["post"].erase("media");
  auto both = call("POST", "/v1/jobs?validate=1", batch.dump()).body;
  EXPECT_FALSE(both["valid"].get<bool>());
  EXPECT_TRUE(both["jobs"][0]["valid"].get<bool>());
  EXPECT_FALSE(both["jobs"][1]["valid"].get<bool>());
  EXPECT_EQ(call("GET", "/v1/stats").body["queued_by_platform"].value("x", 0), 0);
}

TEST_F(ValidateTest, AccountsAreCheckedForConnectionAndScopesWhenTheirRecordExists) {
  auto set_record = [&](const std::string& platform, const std::string& account, const std::string& status,
                        const std::string& scopes) {
    const std::string key = keys_->prefix() + ":token:" + platform + ":" + account;
    auto r = test::run_for(io_, client_->exec("HSET", key, "status", status, "scopes", scopes));
    ASSERT_TRUE(r && !r->is_error());
  };
  json tt = post("tiktok", json::array({item(media("/vertical.mp4"), "video")}),
                 {{"mode", "direct"}, {"privacy_level", "SELF_ONLY"}});
  // No record yet (the token store fills it): a warning only.
  auto none = validate(tt);
  EXPECT_TRUE(none["valid"].get<bool>());
  EXPECT_EQ(codes(none, "warnings")[0], "not_checked@account");
  set_record("tiktok", "acct-1", "active", "user.info.basic,video.upload");
  EXPECT_EQ(codes(validate(tt)), std::vector<std::string>{"missing_scope@account"});
  set_record("tiktok", "acct-1", "active", "user.info.basic,video.publish");
  EXPECT_TRUE(validate(tt)["valid"].get<bool>());
  set_record("tiktok", "acct-1", "needs_reauth", "user.info.basic,video.publish");
  EXPECT_EQ(codes(validate(tt)), std::vector<std::string>{"account_not_connected@account"});
  json xj = post("x", json::array({item(media("/anim.gif"), "image")}));
  xj["account"] = "x-9";
  set_record("x", "x-9", "active", "tweet.read tweet.write users.read offline.access");
  EXPECT_EQ(codes(validate(xj)), std::vector<std::string>{"missing_scope@account"});  // media.write
  // A live daemon: an account with no token record was never connected, which is an error.
  start_api([](ApiOptions& o) { o.accounts_required = true; });
  json never = tt;
  never["account"] = "acct-never";
  EXPECT_EQ(codes(validate(never)), std::vector<std::string>{"account_not_connected@account"});
  set_record("tiktok", "acct-1", "active", "user.info.basic,video.publish");
  EXPECT_TRUE(validate(tt)["valid"].get<bool>());
}

}  // namespace
}  // namespace schedulo::daemon
