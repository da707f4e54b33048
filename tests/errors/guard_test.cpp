// The CallGuard against a local HTTP server that injects faults (label `errors`): the error log line
// and its secrets, 429s and usage headers feeding the fleet's limiter, a revoked account's
// notification, and the circuit breaker opening, half-opening and closing while the dispatcher defers
// the platform's jobs (no attempt used) and runs them once the server heals.
#include "platforms/errors/call_guard.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <sstream>

#include "common/event.hpp"
#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "jobs/call_outcome.hpp"
#include "jobs/dispatcher.hpp"
#include "platforms/errors/call_log.hpp"
#include "platforms/errors/rate_feedback.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::errors {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using test::run_for;
using json = nlohmann::json;

// A server whose every answer the test sets; it counts and times what reaches it.
struct FaultyServer {
  FaultyServer()
      : server([this](const test::ServerRequest& r) {
          std::lock_guard lock(mutex);
          seen.push_back(r);
          arrivals.push_back(std::chrono::steady_clock::now());
          return reply;
        }) {}
  void set(test::ServerReply r) {
    std::lock_guard lock(mutex);
    reply = std::move(r);
  }
  // Sets the reply and says how many requests came before it, at one instant.
  std::size_t set_counting(test::ServerReply r) {
    std::lock_guard lock(mutex);
    reply = std::move(r);
    return seen.size();
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return seen.size();
  }
  std::mutex mutex;
  test::ServerReply reply;
  std::vector<test::ServerRequest> seen;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  test::HttpTestServer server;  // last: stops (joins its thread) before the rest goes
};

test::ServerReply reply_of(int status, std::string body = {},
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
  test::ServerReply r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

class GuardTest : public ::testing::Test {
 protected:
  GuardTest() {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    blocking = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    blocking->start();
    keys = std::make_unique<queue::Keys>(test::unique_prefix());
    http::ClientOptions ho;
    ho.policy = *http::AddressPolicy::from_entries({"127.0.0.1"}).policy;
    http_client = std::make_unique<http::HttpClient>(ho);
    limiter = std::make_unique<queue::RateLimiter>(*client, *keys);
    breaker_options.failure_threshold = 3;
    breaker_options.open_for = 300ms;
    breaker_options.max_open = 600ms;
    breaker_options.half_open_recheck = 100ms;
    breaker_options.probe_timeout = 5000ms;
    breaker = std::make_unique<queue::CircuitBreaker>(*client, *keys, breaker_options);
    notifier = std::make_unique<queue::Notifier>(*client, *keys);
    guard = std::make_unique<CallGuard>(*http_client, *limiter, *breaker, *notifier, GuardOptions{100ms});
    log::init(log::Format::text, spdlog::level::info, std::make_shared<spdlog::sinks::ostream_sink_mt>(log_out));
  }
  ~GuardTest() override {
    log::init(log::Format::text, spdlog::level::info);
    run_for(io, [&]() -> net::awaitable<int> {
      auto all = co_await client->exec("KEYS", keys->prefix() + ":*");
      for (const auto& k : all->elements) co_await client->exec("DEL", k.str);
      co_return 0;
    }());
  }

  GuardedCall call(const http::Request& r, const CallSpec& spec) { return run_for(io, guard->call(r, spec)); }
  std::vector<json> notifications() {
    auto r = run_for(io, client->exec("LRANGE", keys->notifications(), "0", "-1"));
    std::vector<json> out;
    for (const auto& e : r->elements) out.push_back(json::parse(e.str));
    return out;
  }
  std::string field(const std::string& id, const std::string& name) {
    auto r = run_for(io, client->exec("HGET", keys->job(id), name));
    return r && r->is_string() ? r->str : "<nil>";
  }

  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client, blocking;
  std::unique_ptr<queue::Keys> keys;
  std::unique_ptr<http::HttpClient> http_client;
  std::unique_ptr<queue::RateLimiter> limiter;
  queue::BreakerOptions breaker_options;
  std::unique_ptr<queue::CircuitBreaker> breaker;
  std::unique_ptr<queue::Notifier> notifier;
  std::unique_ptr<CallGuard> guard;
  std::ostringstream log_out;
  FaultyServer fake;
};

// A Graph-style mapping, enough for the test: 190 -> auth_revoked, the platform's message as detail.
Classified graph_like(const http::Result<http::Response>& answer, Safety safety, SystemClock::time_point now) {
  auto c = classify_http(answer, safety, now);
  if (!answer) return c;
  auto doc = json::parse(answer->body, nullptr, false);
  if (!doc.is_object() || !doc.contains("error")) return c;
  const auto& e = doc["error"];
  c.code = std::to_string(e.value("code", 0));
  if (e.contains("error_subcode")) c.subcode = std::to_string(e["error_subcode"].get<int>());
  c.detail = e.value("message", std::string());
  if (c.code == "190") c.kind = ErrorClass::auth_revoked;
  return c;
}

TEST_F(GuardTest, AFailedCallIsLoggedOnceWithItsFieldsAndNoSecretInAnySpelling) {
  const std::string token = "EAAB/tok+en=1 x";
  const std::string secret = "cs-Secret/2+abc";
  const std::string refresh = "rft.Refresh=3&more";
  fake.set(reply_of(400, R"({"error":{"message":"Invalid OAuth access token: )" + token +
                             R"(","type":"OAuthException","code":190,"error_subcode":460,"fbtrace_id":"TRACE123"}})"));
  http::Request r;
  r.method = "POST";
  r.url = fake.server.url("/v25.0/me/media?access_token=EAAB%2Ftok%2Ben%3D1%20x&client_secret=cs-Secret%2F2%2Babc");
  r.headers.set("Authorization", "Bearer " + token);
  r.headers.set("Content-Type", "application/x-www-form-urlencoded");
  r.body = std::string("refresh_token=rft.Refresh%3D3%26more&caption=hello");
  CallSpec spec;
  spec.platform = "instagram";
  spec.job_id = "job-42";
  spec.account = "acct-1";
  spec.secrets = {token, secret, refresh};
  spec.classify = graph_like;
  for (auto format : {log::Format::text, log::Format::json}) {
    log::init(format, spdlog::level::info, std::make_shared<spdlog::sinks::ostream_sink_mt>(log_out));
    auto out = call(r, spec);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.classified.kind, ErrorClass::auth_revoked);
    EXPECT_EQ(out.classified.trace_id, "TRACE123");
    EXPECT_EQ(out.classified.user_message, "The account's password was changed, which ended the connection.");
  }
  const std::string logged = log_out.str();
  std::size_t lines = 0;
  for (auto p = logged.find("external call failed"); p != std::string::npos;
       p = logged.find("external call failed", p + 1))
    ++lines;
  EXPECT_EQ(lines, 2u) << "once per call, in each format:\n" << logged;
  for (const char* piece :
       {"job=job-42", "platform=instagram", "endpoint=POST 127.0.0.1/v25.0/me/media", "status=400",
        "class=auth_revoked", "code=190", "subcode=460", "trace_id=TRACE123", "latency_ms=", R"("job":"job-42")",
        R"("trace_id":"TRACE123")", R"("endpoint":"POST 127.0.0.1/v25.0/me/media")"})
    EXPECT_NE(logged.find(piece), std::string::npos) << piece << " in:\n" << logged;
  for (const auto& s : {token, secret, refresh})
    for (const auto& spelling : secret_spellings(s))
      EXPECT_EQ(logged.find(spelling), std::string::npos) << spelling << " in:\n" << logged;
  EXPECT_EQ(logged.find("access_token="), std::string::npos) << "no query string";
  // The revoked account needs its owner: one notification, however many calls saw it.
  auto list = notifications();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["kind"], "needs_reconnect");
  EXPECT_EQ(list[0]["account"], "acct-1");
  EXPECT_EQ(list[0]["platform"], "instagram");
  EXPECT_EQ(list[0]["job_id"], "job-42");
  EXPECT_EQ(list[0]["error_code"], "190/460");
  EXPECT_EQ(list[0]["message"], "The account's password was changed, which ended the connection.");
}

TEST_F(GuardTest, A429BlocksTheBucketForEveryCallerUntilItClears) {
  fake.set(reply_of(
      429, R"({"error":{"type":"RATE_LIMIT_REACHED","message":"Rate limit exceeded. Please try again later"}})"));
  const queue::Bucket base{"airtable", "app", "base:appTEST", {100, 1000ms, 10}};
  CallSpec spec;
  spec.platform = "airtable";
  spec.buckets = {base};
  http::Request r;
  r.url = fake.server.url("/v0/appTEST/Posts");
  auto first = call(r, spec);
  EXPECT_EQ(first.classified.kind, ErrorClass::rate_limited);
  EXPECT_GT(first.classified.clears_in(SystemClock::now()), 29000ms) << "Airtable's 30 s";
  EXPECT_LE(first.classified.clears_in(SystemClock::now()), 30000ms);
  EXPECT_EQ(fake.count(), 1u);
  auto second = call(r, spec);
  ASSERT_TRUE(second.deferred);
  EXPECT_EQ(second.deferred->code, "rate_limited");
  EXPECT_GT(second.deferred->wait, 29000ms);
  EXPECT_EQ(fake.count(), 1u) << "the blocked call never left";
  auto outcome = jobs::outcome_of(second, "airtable");
  EXPECT_EQ(outcome.kind, jobs::Outcome::Kind::defer);
  EXPECT_EQ(outcome.after, second.deferred->wait);
  // Another daemon with its own limiter object sees the same block.
  queue::RateLimiter other(*client, *keys);
  auto permit = run_for(io, other.reserve({base}, 0ms));
  ASSERT_TRUE(permit);
  EXPECT_FALSE(permit->granted);
  EXPECT_EQ(permit->reason, "rate_limited");
}

TEST_F(GuardTest, MetaUsageHeadersSlowAndThenStopTheirBuckets) {
  const queue::Bucket app{"facebook", "app", "app_usage:123", {}};
  CallSpec spec;
  spec.platform = "facebook";
  spec.buckets = {app};
  spec.feedback = [&app](const http::Response& r, SystemClock::time_point) {
    MetaBuckets b;
    b.app = &app;
    return meta_observations(r.headers, b);
  };
  http::Request r;
  r.url = fake.server.url("/v25.0/123/feed");
  fake.set(
      reply_of(200, R"({"data":[]})", {{"X-App-Usage", R"({"call_count":60,"total_time":10,"total_cputime":10})"}}));
  EXPECT_TRUE(call(r, spec).ok());
  EXPECT_TRUE(call(r, spec).ok()) << "60 %: no slowing";
  fake.set(
      reply_of(200, R"({"data":[]})", {{"X-App-Usage", R"({"call_count":100,"total_time":10,"total_cputime":10})"}}));
  EXPECT_TRUE(call(r, spec).ok());
  auto stopped = call(r, spec);
  ASSERT_TRUE(stopped.deferred);
  EXPECT_NE(stopped.deferred->reason.find("usage"), std::string::npos) << stopped.deferred->reason;
  EXPECT_GT(stopped.deferred->wait, 50000ms) << "limits.usage_stop_ms without a regain time";
  EXPECT_EQ(fake.count(), 3u);
}

// ---- the breaker with the dispatcher ----------------------------------------------------------------

// fetch_analytics through the guard: what a platform adapter does for every call.
class GuardedAdapter final : public jobs::PlatformAdapter {
 public:
  GuardedAdapter(CallGuard& guard, std::string url) : guard_(guard), url_(std::move(url)) {}
  std::string_view name() const override { return "x"; }
  std::unique_ptr<jobs::PublishSteps> publish_steps() override { return nullptr; }
  net::awaitable<jobs::Outcome> refresh_token(jobs::JobContext&) override { co_return jobs::Outcome::success({}); }
  net::awaitable<jobs::Outcome> revoke_token(jobs::JobContext&) override { co_return jobs::Outcome::success({}); }
  net::awaitable<jobs::Outcome> fetch_analytics(jobs::JobContext& job) override {
    CallSpec spec;
    spec.platform = "x";
    spec.endpoint = "GET /2/tweets";
    spec.job_id = job.job().id;
    spec.account = job.job().account;
    http::Request r;
    r.url = url_;
    auto out = co_await guard_.call(r, spec);
    if (out.ok()) co_return jobs::Outcome::success({{"metrics", json::object()}});
    co_return jobs::outcome_of(out, "x");
  }

 private:
  CallGuard& guard_;
  std::string url_;
};

// The half-open probe's job is cancelled while its call waits for an answer (a lost lease, a step's
// deadline): the probe learned nothing about the platform, so it is handed back and the next caller
// probes at once instead of after the probe's hold (probe_timeout, 5 s here).
TEST_F(GuardTest, ACancelledProbeHandsTheProbeBackForTheNextCaller) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(run_for(io, breaker->record("x", queue::BreakerOutcome::failure)));
  test::ServerReply stall;
  stall.action = test::ServerReply::Action::stall_before_headers;
  fake.set(stall);
  http::Request r;
  r.method = "GET";
  r.url = fake.server.url("/2/tweets?ids=1");
  CallSpec spec;
  spec.platform = "x";
  spec.job_id = "job-probe";
  bool ended = false;
  GuardedCall probe;
  run_for(io, [&]() -> net::awaitable<int> {
    const auto ex = co_await boost::asio::this_coro::executor;
    net::Timer poll(ex);
    while (breaker->blocked_for("x")) {  // open for 300 ms: then the next call is the probe
      poll.expires_after(10ms);
      co_await poll.async_wait();
    }
    boost::asio::cancellation_signal stop;
    net::Event done(ex);
    boost::asio::co_spawn(
        ex, guard->call(r, spec),
        boost::asio::bind_cancellation_slot(stop.slot(), [&](const std::exception_ptr& e, GuardedCall c) {
          if (!e) probe = std::move(c);
          ended = true;
          done.set();
        }));
    while (fake.count() == 0) {  // the probe's request is at the server, which holds it
      poll.expires_after(5ms);
      co_await poll.async_wait();
    }
    stop.emit(boost::asio::cancellation_type::terminal);
    co_await done.wait();
    co_return 0;
  }());
  ASSERT_TRUE(ended);
  EXPECT_FALSE(probe.answer) << "the probe's call was cut by its cancellation";
  // Handed back well inside the 5 s hold.
  auto held = [&] { return run_for(io, client->exec("HEXISTS", keys->breaker("x"), "probe_until"))->integer == 1; };
  test::run_until(
      io, [&] { return !held(); }, 2s);
  EXPECT_FALSE(held()) << "the cancelled probe kept its hold";
  auto next = run_for(io, breaker->check("x"));
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->allowed);
  EXPECT_TRUE(next->probe) << "the next caller is the new probe";
}

TEST_F(GuardTest, AnOutageOpensTheCircuitJobsWaitWithoutUsingAttemptsAndResumeWhenItHeals) {
  fake.set(reply_of(503, "down"));
  GuardedAdapter adapter(*guard, fake.server.url("/2/tweets?ids=1"));
  queue::Store store(*client, *keys, queue::QueueSettings{});
  jobs::DispatcherOptions options;
  options.worker_id = "w-" + keys->prefix();
  options.concurrency = 1;
  options.per_platform = 1;
  options.idle_wait = 20ms;
  options.shutdown_grace = 100ms;
  options.retry.base = 20ms;
  options.retry.cap = 100ms;
  options.platform_blocked = [this](std::string_view p) { return breaker->blocked_for(p); };
  jobs::Dispatcher d(
      store, *blocking, [&](std::string_view) { return &adapter; }, options);
  constexpr int kJobs = 10;
  std::vector<queue::NewJob> jobs;
  for (int i = 0; i < kJobs; ++i) {
    const std::string id = "fa" + std::to_string(i), account = "acct" + std::to_string(i);
    jobs.push_back({id, "fetch_analytics", "x", account,
                    R"({"id":")" + id + R"(","type":"fetch_analytics","platform":"x","account":")" + account + "\"}", 0,
                    20});
  }
  ASSERT_TRUE(run_for(io, store.enqueue(jobs, now_epoch_ms())));

  std::size_t faulty = 0;
  bool healed = false;
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
        for (;;) {
          if (!healed) {
            // Heal once a probe has failed (the circuit opened a second time).
            auto opens = co_await client->exec("HGET", keys->breaker("x"), "opens");
            if (opens && opens->as_integer().value_or(0) >= 2) {
              faulty = fake.set_counting(reply_of(200, R"({"data":[]})"));
              healed = true;
            }
          } else {
            auto done = co_await client->exec("GET", keys->total("succeeded"));
            if (done && done->as_integer().value_or(0) == kJobs) break;
          }
          t.expires_after(10ms);  // polls Redis for the condition; the overall limit fails the test
          co_await t.async_wait();
        }
        d.stop();
        co_await finished.wait();
        co_return 0;
      }(),
      60s);

  ASSERT_TRUE(healed);
  EXPECT_GE(faulty, 4u) << "3 failures opened it, then at least one failed probe";
  long long attempts = 0, deferrals = 0;
  for (int i = 0; i < kJobs; ++i) {
    const std::string id = "fa" + std::to_string(i);
    EXPECT_EQ(field(id, "state"), "succeeded") << id;
    attempts += std::stoll(field(id, "attempts"));
    auto log = run_for(io, client->exec("LRANGE", keys->attempt_log(id), "0", "-1"));
    for (const auto& line : log->elements) {
      const auto entry = json::parse(line.str);
      if (entry["outcome"] == "defer" && entry["error_code"] == "circuit_open") ++deferrals;
    }
  }
  EXPECT_GT(deferrals, 0) << "jobs were deferred while the circuit was open";
  EXPECT_EQ(attempts, kJobs + static_cast<long long>(faulty))
      << "an attempt per call that reached the server: the deferrals used none";
  // While it was open nothing but probes reached the server: every faulty request after the third
  // came at least open_for after the one before.
  std::lock_guard lock(fake.mutex);
  for (std::size_t i = 3; i < faulty; ++i)
    EXPECT_GE(fake.arrivals[i] - fake.arrivals[i - 1], breaker_options.open_for - 10ms) << i;
  const auto list = notifications();
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list.back()["kind"], "circuit_open");
}

}  // namespace
}  // namespace schedulo::errors
