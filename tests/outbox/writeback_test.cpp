// Job outcomes to Airtable, in-process (label `airtable`): the dispatcher with a test platform, the
// outbox in the shared Redis, the writer and its pacing against the sandbox's emulator. Rows are read
// back over the test's own HTTP client, not the daemon's. Every wait polls a condition with an overall
// limit (run_for fails the test instead of hanging).
#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>

#include <map>
#include <set>

#include "common/event.hpp"
#include "common/rfc3339.hpp"
#include "jobs/dispatcher.hpp"
#include "jobs/intake.hpp"
#include "outbox/account_cache.hpp"
#include "outbox/airtable_writer.hpp"
#include "outbox/records.hpp"
#include "outbox/resync.hpp"
#include "platforms/airtable/schema.hpp"
#include "platforms/http/client.hpp"
#include "queue/outbox.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"

namespace schedulo::outbox {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::run_for;
namespace f = airtable::field;

constexpr const char* kBase = "appSandboxBase001";
constexpr const char* kToken = "patSbxReadWrite01.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// Publishes at once with an id and a permalink; measures the posts it is asked about.
class TestSteps final : public jobs::PublishSteps {
 public:
  net::awaitable<jobs::StepResult> run(jobs::PublishStep step, jobs::JobContext& job, json& ids) override {
    if (step == jobs::PublishStep::publish) {
      ids["published_id"] = "tp-" + job.job().id;
      ids["permalink"] = "https://social.example/p/" + job.job().id;
    }
    co_return std::nullopt;
  }
  net::awaitable<jobs::Existence> find_existing(jobs::JobContext&, json&) override { co_return jobs::Existence::found; }
  std::chrono::milliseconds deadline(jobs::PublishStep) const override { return 5s; }
};

class TestPlatform final : public jobs::PlatformAdapter {
 public:
  std::string_view name() const override { return "x"; }
  std::unique_ptr<jobs::PublishSteps> publish_steps() override { return std::make_unique<TestSteps>(); }
  net::awaitable<jobs::Outcome> refresh_token(jobs::JobContext&) override { co_return jobs::Outcome::success({}); }
  net::awaitable<jobs::Outcome> fetch_analytics(jobs::JobContext& job) override {
    json posts = json::array();
    for (const auto& id : job.job().target_post_ids)
      posts.push_back({{"post_id", id}, {"metrics", {{"impressions", 1200}, {"like_count", 7}, {"reply_count", 2}}}});
    co_return jobs::Outcome::success({{"posts", posts}});
  }
  net::awaitable<jobs::Outcome> revoke_token(jobs::JobContext&) override { co_return jobs::Outcome::success({}); }
};

http::ClientOptions loopback() {
  http::ClientOptions o;
  o.policy = *http::AddressPolicy::from_entries({"127.0.0.0/8"}).policy;
  return o;
}

class Writeback : public ::testing::Test {
 protected:
  Writeback() : sandbox(std::vector<std::string>{}), http(loopback()) {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    blocking = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    blocking->start();
    keys = std::make_unique<queue::Keys>(test::unique_prefix());
    store = std::make_unique<queue::Store>(*client, *keys, queue::QueueSettings{});
    outbox = std::make_unique<queue::Outbox>(*client, *keys);
    config.base_url = "http://127.0.0.1:" + std::to_string(sandbox.port());
    config.base_id = kBase;
    config.token = kToken;
    // The emulator's limits are lifted below, and the fleet's share with them: tests need not take minutes.
    queue::LimitTable table;
    table.set("airtable:app:base", {200, 1000ms, 0});
    table.set("airtable:app:token", {200, 1000ms, 0});
    pacing.base_id = kBase;
    std::tie(pacing.base_bucket, pacing.token_bucket) = airtable_buckets(table, kBase, kToken);
    limiter = std::make_unique<queue::RateLimiter>(*client, *keys);
    pacer = std::make_unique<AirtablePacer>(*client, *keys, *limiter, pacing);
    writer_options.worker_id = "w-" + keys->prefix();
    for (const auto& t : airtable::schema()) {
      std::string name(t.logical);
      name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
      writer_options.tables[std::string(t.dest)] = name;
    }
    writer_options.linger = 30ms;
    writer_options.idle_poll = 20ms;
    writer_options.backoff_min = 100ms;
    writer_options.backoff_max = 400ms;
    limits({{"base_rps", 100000}, {"token_rps", 100000}});

    dispatcher_options.worker_id = writer_options.worker_id;
    dispatcher_options.idle_wait = 50ms;
    dispatcher_options.shutdown_grace = 100ms;
    dispatcher_options.validation.private_hosts = *http::AddressPolicy::from_entries({"127.0.0.0/8"}).policy;
    dispatcher_options.validation.record_intake = [](const jobs::Job& job) {
      return queue::encode_outbox(intake_entries(job, now_epoch_ms()));
    };
    dispatcher_options.record_outcome = [this](const jobs::Job& job, const jobs::Outcome& outcome, queue::Settlement s,
                                               int attempt) {
      auto r = outcome_records(job, outcome, s, attempt, now_epoch_ms(), records);
      return queue::encode_outbox(r.entries, r.jobs);
    };
  }
  ~Writeback() override {
    run_for(io, [&]() -> net::awaitable<int> {
      auto all = co_await client->exec("KEYS", keys->prefix() + ":*");
      for (const auto& k : all->elements) co_await client->exec("DEL", k.str);
      co_return 0;
    }());
  }

  void limits(const json& l) { test::http_json(sandbox.port(), "POST", "/_sandbox/airtable/limits", l); }
  void fault(const json& spec) { test::http_json(sandbox.port(), "POST", "/_sandbox/faults", spec); }
  json log(const std::string& route) {
    return test::http_json(sandbox.port(), "GET",
                           "/_sandbox/log?api=airtable&route=" + route + "&limit=100000")["entries"];
  }

  // Every row of a table, read over the test's own HTTP client.
  std::vector<json> rows(const std::string& table) {
    std::vector<json> out;
    std::string offset;
    for (;;) {
      const auto reply = test::http(
          sandbox.port(), "GET",
          "/v0/" + std::string(kBase) + "/" + table + "?pageSize=100" + (offset.empty() ? "" : "&offset=" + offset), "",
          {{"Authorization", std::string("Bearer ") + kToken}});
      const auto page = reply.json();
      EXPECT_EQ(reply.status, 200) << reply.body;
      if (!page.is_object() || !page.contains("records")) return out;
      for (const auto& r : page["records"]) out.push_back(r);
      if (!page.contains("offset")) return out;
      offset = page["offset"].get<std::string>();
    }
  }
  std::map<std::string, json> by_key(const std::string& table, const char* key = f::kPostKey) {
    std::map<std::string, json> out;
    for (const auto& r : rows(table)) {
      const std::string k = r["fields"].value(key, "");
      EXPECT_FALSE(out.contains(k)) << table << " has two rows for " << k;
      out[k] = r["fields"];
    }
    return out;
  }

  net::awaitable<long long> outbox_left() {
    auto st = co_await outbox->stats(now_epoch_ms() + 3'600'000);  // due or not
    long long n = 0;
    if (st)
      for (const auto& [dest, count] : st->pending) n += count;
    co_return st ? n + st->claimed : -1;
  }
  net::awaitable<long long> total(const std::string& state) {
    auto r = co_await client->exec("GET", keys->total(state));
    co_return r ? r->as_integer().value_or(0) : 0;
  }

  // Runs the writer (and the dispatcher, when given) until `done`, then stops them.
  void run_until(jobs::Dispatcher* dispatcher, AirtableWriter* writer,
                 const std::function<net::awaitable<bool>()>& done, std::chrono::seconds limit = 60s) {
    run_for(
        io,
        [&]() -> net::awaitable<int> {
          auto ex = co_await boost::asio::this_coro::executor;
          net::Countdown finished(ex, (dispatcher ? 1 : 0) + (writer ? 1 : 0));
          if (dispatcher)
            boost::asio::co_spawn(ex, dispatcher->run(), [&](const std::exception_ptr&) { finished.done(); });
          if (writer) boost::asio::co_spawn(ex, writer->run(), [&](const std::exception_ptr&) { finished.done(); });
          net::Timer t(ex);
          for (;;) {
            const bool ok = co_await done();
            if (ok) break;
            t.expires_after(20ms);
            co_await t.async_wait();
          }
          if (dispatcher) dispatcher->stop();
          if (writer) writer->stop();
          co_await finished.wait();
          co_return 0;
        }(),
        limit);
  }

  jobs::Dispatcher make_dispatcher() {
    return jobs::Dispatcher(
        *store, *blocking, [this](std::string_view) { return &platform; }, dispatcher_options);
  }
  void enqueue(std::vector<std::string> texts) {
    std::vector<queue::NewJob> jobs;
    for (const auto& t : texts) {
      auto parsed = jobs::parse_job(t, dispatcher_options.validation);
      ASSERT_TRUE(parsed.job) << t << ": " << parsed.errors.front().message;
      jobs.push_back(jobs::to_new_job(std::move(*parsed.job), 3, dispatcher_options.validation));
    }
    auto r = run_for(io, store->enqueue(jobs, now_epoch_ms()));
    ASSERT_TRUE(r);
  }
  static std::string publish(const std::string& id, const std::string& account = "demo-x", std::int64_t run_at = 0) {
    json j{
        {"id", id}, {"type", "publish"}, {"platform", "x"}, {"account", account}, {"post", {{"text", "hello " + id}}}};
    if (run_at > 0) j["run_at"] = format_rfc3339_ms(run_at);
    return j.dump();
  }

  test::SandboxProcess sandbox;
  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client, blocking;
  std::unique_ptr<queue::Keys> keys;
  std::unique_ptr<queue::Store> store;
  std::unique_ptr<queue::Outbox> outbox;
  http::HttpClient http;
  airtable::ClientConfig config;
  PacingOptions pacing;
  std::unique_ptr<queue::RateLimiter> limiter;
  std::unique_ptr<AirtablePacer> pacer;
  WriterOptions writer_options;
  jobs::DispatcherOptions dispatcher_options;
  RecordOptions records;
  TestPlatform platform;
};

TEST_F(Writeback, EachJobTypesOutcomeLandsInItsTableWithItsFields) {
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  auto dispatcher = make_dispatcher();
  enqueue(
      {publish("pub-1"),
       R"({"id":"an-1","type":"fetch_analytics","platform":"x","account":"demo-x","targets":{"post_ids":["tp-pub-0"]}})",
       R"({"id":"rt-1","type":"refresh_token","platform":"x","account":"demo-x"})",
       R"({"id":"rv-1","type":"revoke_token","platform":"x","account":"acct-gone"})"});
  run_until(&dispatcher, &writer, [&]() -> net::awaitable<bool> {
    co_return co_await total("succeeded") == 4 && co_await outbox_left() == 0;
  });

  const auto posts = by_key("Posts");
  ASSERT_TRUE(posts.contains("pub-1"));
  const auto& p = posts.at("pub-1");
  EXPECT_EQ(p["State"], "succeeded");
  EXPECT_EQ(p["Platform Post ID"], "tp-pub-1");
  EXPECT_EQ(p["Permalink"], "https://social.example/p/pub-1");
  EXPECT_EQ(p["Attempts"], 1);
  EXPECT_EQ(p["Account"], "demo-x");
  EXPECT_EQ(p["Platform"], "x");
  EXPECT_EQ(p["Text"], "hello pub-1");
  EXPECT_TRUE(p.contains("Published At"));
  EXPECT_EQ(json::parse(p["Job"].get<std::string>())["id"], "pub-1") << "the job JSON that resync rebuilds from";
  EXPECT_EQ(posts.size(), 1u) << "only publish jobs have Posts rows";

  const auto analytics = by_key("Analytics");
  ASSERT_TRUE(analytics.contains("x:tp-pub-0"));
  const auto& a = analytics.at("x:tp-pub-0");
  EXPECT_EQ(a["Impressions"], 1200);
  EXPECT_EQ(a["Likes"], 7);
  EXPECT_EQ(a["Comments"], 2);
  EXPECT_NE(a["History"].get<std::string>().find("impressions=1200"), std::string::npos);

  const auto accounts = by_key("Accounts", f::kAccountKey);
  ASSERT_TRUE(accounts.contains("demo-x"));
  EXPECT_TRUE(accounts.at("demo-x").contains("Last Checked At"));
  EXPECT_EQ(accounts.at("demo-x")["Status"], "connected") << "a refresh leaves the status to the token store";
  ASSERT_TRUE(accounts.contains("acct-gone"));
  EXPECT_EQ(accounts.at("acct-gone")["Status"], "revoked");

  // The follow-ups of the publish: scheduled, at +1h, +24h and +7d.
  for (const char* label : {"1h", "1d", "7d"}) {
    auto state = run_for(io, client->exec("HGET", keys->job(std::string("pub-1.analytics.") + label), "state"));
    ASSERT_TRUE(state);
    EXPECT_EQ(state->str, "scheduled") << label;
  }
}

TEST_F(Writeback, AnAnalyticsFollowUpUpsertsOneRowPerPostWithABoundedHistory) {
  records.analytics_history = 2;
  for (int i = 0; i < 3; ++i) {
    AirtableWriter writer(*outbox, http, config, *pacer, writer_options);  // a stopped one does not start again
    auto dispatcher = make_dispatcher();
    enqueue(
        {R"({"id":"m)" + std::to_string(i) +
         R"(.analytics.1h","type":"fetch_analytics","platform":"x","account":"demo-x","targets":{"post_ids":["tp-m"]}})"});
    run_until(&dispatcher, &writer, [&, i]() -> net::awaitable<bool> {
      co_return co_await total("succeeded") == i + 1 && co_await outbox_left() == 0;
    });
  }
  const auto analytics = by_key("Analytics");
  ASSERT_EQ(analytics.size(), 1u);
  const auto history = analytics.at("x:tp-m")["History"].get<std::string>();
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 1) << "two lines kept: " << history;
  EXPECT_EQ(analytics.at("x:tp-m")["Job ID"], "m2") << "the publish job the follow-up belongs to";
}

TEST_F(Writeback, AnOutageMidRunLosesNothingAndWritesEveryOutcomeOnce) {
  writer_options.unreachable_after = 1500ms;
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  auto dispatcher = make_dispatcher();
  std::vector<std::string> jobs;
  for (int i = 0; i < 60; ++i) jobs.push_back(publish("o-" + std::to_string(i)));
  // Airtable answers 503 for the next 3 seconds, and some writes take effect without an answer.
  // (Retry-After says 1 s instead of Airtable's 30 so the test stays short; the writer honours it.)
  fault({{"kind", "outage"},
         {"api", "airtable"},
         {"status", 503},
         {"for_ms", 3000},
         {"headers", {{"Retry-After", "1"}}}});
  fault({{"kind", "commit_then_lose"}, {"route", "airtable.update"}, {"rate", 0.3}, {"count", 3}});
  enqueue(jobs);
  long long most_claimed = 0;
  run_until(&dispatcher, &writer, [&]() -> net::awaitable<bool> {
    auto claimed = co_await client->exec("ZCARD", keys->outbox_claimed());
    if (claimed) most_claimed = std::max(most_claimed, claimed->integer);
    auto notes = co_await client->exec("LLEN", keys->notifications());
    co_return co_await total("succeeded") == 60 && co_await outbox_left() == 0 && notes && notes->integer == 0;
  });
  const auto posts = by_key("Posts");
  EXPECT_EQ(posts.size(), 60u);
  for (const auto& [key, fields] : posts) EXPECT_EQ(fields["State"], "succeeded") << key;
  EXPECT_GT(writer.counters().retried, 0u) << "the outage was met";
  EXPECT_LE(most_claimed, writer_options.lanes * 10) << "a daemon holds one batch per lane; the rest waits in Redis";
  int unreachable = 0;
  for (const auto& [key, fields] : by_key("Events", f::kEventKey))
    unreachable += fields.value("Code", "") == "airtable_unreachable";
  EXPECT_EQ(unreachable, 1) << "one notification for the outage, written once Airtable answered again";
}

TEST_F(Writeback, OneBadFieldInABatchWritesTheNineOthersAndReportsTheOne) {
  std::vector<queue::OutboxEntry> entries;
  for (int i = 0; i < 10; ++i) {
    queue::OutboxEntry e;
    e.dest = std::string(airtable::kPostsDest);
    e.key = "b-" + std::to_string(i);
    e.set(f::kPostKey, e.key).set(f::kState, "succeeded").set(f::kAttempts, i);
    if (i == 4) e.set(f::kAttempts, "four");  // a number field
    entries.push_back(std::move(e));
  }
  ASSERT_TRUE(run_for(io, outbox->append(entries, now_epoch_ms())));
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  run_until(nullptr, &writer, [&]() -> net::awaitable<bool> {
    auto dead = co_await outbox->dead_list(10);
    co_return dead && dead->size() == 1 && co_await outbox_left() == 0;
  });
  const auto posts = by_key("Posts");
  EXPECT_EQ(posts.size(), 9u);
  EXPECT_FALSE(posts.contains("b-4"));
  auto dead = run_for(io, outbox->dead_list(10));
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->at(0).item, "airtable:posts|b-4");
  EXPECT_NE(dead->at(0).hash.at("reason").find("INVALID_VALUE_FOR_COLUMN"), std::string::npos);
  const auto events = by_key("Events", f::kEventKey);
  ASSERT_TRUE(events.contains("outbox-dead:airtable:posts|b-4"));
  EXPECT_EQ(events.at("outbox-dead:airtable:posts|b-4")["Kind"], "error");
  EXPECT_NE(events.at("outbox-dead:airtable:posts|b-4")["Message"].get<std::string>().find("b-4"), std::string::npos);
}

TEST_F(Writeback, PendingWritesToOneRecordBecomeOneRequest) {
  for (int i = 1; i <= 50; ++i) {
    queue::OutboxEntry e;
    e.dest = std::string(airtable::kPostsDest);
    e.key = "c-1";
    e.set(f::kPostKey, "c-1").set(f::kAttempts, i).set(f::kState, i < 50 ? "retrying" : "succeeded");
    const std::vector<queue::OutboxEntry> one{e};
    ASSERT_TRUE(run_for(io, outbox->append(one, now_epoch_ms())));
  }
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  run_until(nullptr, &writer, [&]() -> net::awaitable<bool> { co_return co_await outbox_left() == 0; });
  EXPECT_EQ(log("airtable.update").size(), 1u);
  const auto posts = by_key("Posts");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts.at("c-1")["Attempts"], 50);
  EXPECT_EQ(posts.at("c-1")["State"], "succeeded");
}

TEST_F(Writeback, FullBatchesOfTenWhenEnoughIsPending) {
  std::vector<queue::OutboxEntry> entries;
  for (int i = 0; i < 95; ++i) {
    queue::OutboxEntry e;
    e.dest = std::string(airtable::kPostsDest);
    e.key = "f-" + std::to_string(i);
    e.set(f::kPostKey, e.key).set(f::kState, "succeeded");
    entries.push_back(std::move(e));
  }
  ASSERT_TRUE(run_for(io, outbox->append(entries, now_epoch_ms())));
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  run_until(nullptr, &writer, [&]() -> net::awaitable<bool> { co_return co_await outbox_left() == 0; });
  const auto writes = log("airtable.update");
  ASSERT_EQ(writes.size(), 10u);
  int full = 0;
  for (const auto& w : writes) full += w["body"]["records"].size() == 10;
  EXPECT_EQ(full, 9);
  EXPECT_EQ(by_key("Posts").size(), 95u);
}

TEST_F(Writeback, ThousandJobsWithAWarmCacheReadAirtableZeroTimes) {
  airtable::Client accounts_client(http, config, pacer->before_call(CallClass::essential));
  AccountCacheOptions cache_options;
  AccountCache cache(*client, *keys, accounts_client, cache_options);
  auto swept = run_for(io, cache.sweep());
  ASSERT_TRUE(swept) << swept.error().describe();
  EXPECT_GE(*swept, 4);
  test::http_json(sandbox.port(), "DELETE", "/_sandbox/log");
  dispatcher_options.preflight = account_preflight(cache);
  dispatcher_options.record_outcome = nullptr;  // this test is about reads
  dispatcher_options.validation.record_intake = nullptr;
  dispatcher_options.concurrency = 64;
  dispatcher_options.per_platform = 64;
  auto dispatcher = make_dispatcher();
  std::vector<std::string> jobs;
  for (int i = 0; i < 1000; ++i) jobs.push_back(publish("w-" + std::to_string(i), i % 2 ? "demo-x" : "demo-tiktok"));
  enqueue(jobs);
  run_until(
      &dispatcher, nullptr, [&]() -> net::awaitable<bool> { co_return co_await total("succeeded") == 1000; }, 120s);
  const auto requests = test::http_json(sandbox.port(), "GET", "/_sandbox/log?api=airtable")["entries"];
  EXPECT_EQ(requests.size(), 0u) << requests.dump();
  EXPECT_EQ(cache.airtable_reads(), 1) << "the sweep only";
}

TEST_F(Writeback, AnAccountThatMustBeReconnectedFailsItsJobsWithASentence) {
  const auto reply =
      test::http(sandbox.port(), "POST", "/v0/" + std::string(kBase) + "/Accounts",
                 json{{"fields", {{"Account Key", "acct-lost"}, {"Platform", "x"}, {"Status", "needs_reauth"}}}}.dump(),
                 {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", "application/json"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  airtable::Client accounts_client(http, config, pacer->before_call(CallClass::essential));
  AccountCache cache(*client, *keys, accounts_client, AccountCacheOptions{});
  dispatcher_options.preflight = account_preflight(cache);
  auto dispatcher = make_dispatcher();
  enqueue({publish("r-1", "acct-lost"), publish("r-2", "acct-lost")});
  run_until(&dispatcher, nullptr, [&]() -> net::awaitable<bool> { co_return co_await total("failed") == 2; });
  auto error = run_for(io, client->exec("HGET", keys->job("r-1"), "error"));
  ASSERT_TRUE(error);
  EXPECT_NE(error->str.find("must be reconnected"), std::string::npos) << error->str;
  EXPECT_EQ(cache.airtable_reads(), 1) << "one read for both jobs (the second waits for the first's answer)";
}

// The job that started an account's read is cancelled while Airtable is slow to answer (its lease was
// lost, say); cancellation throws out of the read. The jobs of that account that asked meanwhile get
// an answer, and a job that asks later reads again: nobody waits for a read that is gone.
TEST_F(Writeback, AnAccountReadWhoseJobIsCancelledLeavesNoJobWaiting) {
  fault({{"kind", "latency"}, {"api", "airtable"}, {"route", "airtable.list"}, {"ms", 400}, {"count", 1}});
  airtable::Client accounts_client(http, config, pacer->before_call(CallClass::essential));
  AccountCache cache(*client, *keys, accounts_client, AccountCacheOptions{});
  using Answer = airtable::Result<std::optional<CachedAccount>>;
  const std::string account = "demo-x";  // outlives the coroutines that take it by reference
  bool first_threw = false, second_ended = false;
  auto later = run_for(
      io,
      [&]() -> net::awaitable<Answer> {
        const auto ex = co_await boost::asio::this_coro::executor;
        boost::asio::cancellation_signal cancel;
        net::Countdown ended(ex, 2);
        boost::asio::co_spawn(ex, cache.get(account),
                       boost::asio::bind_cancellation_slot(cancel.slot(), [&](const std::exception_ptr& e, const Answer&) {
                         first_threw = static_cast<bool>(e);
                         ended.done();
                       }));
        // Cancelled as soon as its read has begun (before the request leaves: the read throws at its
        // next step). Each post lets the other handlers run once, so nothing else moves meanwhile.
        while (cache.airtable_reads() == 0) co_await boost::asio::post(ex, boost::asio::use_awaitable);
        boost::asio::co_spawn(ex, cache.get(account), [&](const std::exception_ptr&, const Answer&) {
          second_ended = true;
          ended.done();
        });
        cancel.emit(boost::asio::cancellation_type::terminal);
        co_await ended.wait();
        co_return co_await cache.get(account);
      }(),
      30s);
  EXPECT_TRUE(first_threw) << "the cancelled read ends by throwing (what left the others waiting)";
  EXPECT_TRUE(second_ended);
  ASSERT_TRUE(later) << later.error().describe();
  ASSERT_TRUE(*later) << "demo-x is in the Accounts table";
  EXPECT_FALSE((*later)->record_id.empty());
  EXPECT_EQ(cache.airtable_reads(), 2) << "the later job read again";
}

TEST_F(Writeback, ATooManyRequestsAnswerPausesTheBaseForTheFleetFor30Seconds) {
  std::vector<queue::OutboxEntry> entries;
  for (int i = 0; i < 3; ++i) {
    queue::OutboxEntry e;
    e.dest = std::string(airtable::kPostsDest);
    e.key = "t-" + std::to_string(i);
    e.set(f::kPostKey, e.key);
    entries.push_back(std::move(e));
  }
  ASSERT_TRUE(run_for(io, outbox->append(entries, now_epoch_ms())));
  fault({{"kind", "rate_limit"}, {"route", "airtable.update"}, {"count", 1}});
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  run_until(nullptr, &writer, [&]() -> net::awaitable<bool> { co_return writer.counters().rate_limited == 1; });
  // The block is in the fleet's limiter: every daemon's calls to this base wait it out.
  auto blocked = run_for(
      io, client->exec("HGET", keys->rate_bucket("airtable", "app", std::string("base:") + kBase), "blocked_until"));
  ASSERT_TRUE(blocked);
  ASSERT_TRUE(blocked->is_string()) << redis::describe(*blocked);
  EXPECT_GT(std::stod(blocked->str), static_cast<double>(now_epoch_ms() + 25'000));
  auto st = run_for(io, outbox->stats(now_epoch_ms()));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->due.at("airtable:posts"), 0) << "the items wait out the pause";
  EXPECT_EQ(st->pending.at("airtable:posts"), 3);
  EXPECT_EQ(log("airtable.update").size(), 1u) << "no call during the pause";
}

TEST_F(Writeback, NearTheBudgetPostsGoBeforeAnalyticsAndAnEventsRowWarnsAt80Percent) {
  pacing.monthly_budget = 10;  // the warning at 8 calls; the last 2 kept for Posts, Accounts and Events
  pacing.warn_percent = 80;
  pacing.reserve_percent = 20;
  pacer = std::make_unique<AirtablePacer>(*client, *keys, *limiter, pacing);
  auto rows_of = [](const std::string& dest, int from, int n) {
    std::vector<queue::OutboxEntry> out;
    for (int i = from; i < from + n; ++i) {
      queue::OutboxEntry e;
      e.dest = dest;
      e.key = "g-" + std::to_string(i);
      e.set(f::kPostKey, e.key);
      out.push_back(std::move(e));
    }
    return out;
  };
  ASSERT_TRUE(run_for(io, outbox->append(rows_of(std::string(airtable::kPostsDest), 0, 30), now_epoch_ms())));
  ASSERT_TRUE(run_for(io, outbox->append(rows_of(std::string(airtable::kAnalyticsDest), 100, 100), now_epoch_ms())));
  const std::string warning_key =
      "airtable-budget:" + std::string(kBase) + ":" + AirtablePacer::month_of(now_epoch_ms());
  {
    AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
    run_until(nullptr, &writer, [&]() -> net::awaitable<bool> {
      auto st = co_await outbox->stats(now_epoch_ms());
      co_return st && st->pending["airtable:posts"] == 0 && st->pending["airtable:events"] == 0 &&
          st->pending["airtable:analytics"] == 50 && st->claimed == 0;
    });
  }
  auto b = run_for(io, pacer->budget(now_epoch_ms()));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->calls, 9) << "3 of Posts, 5 of Analytics up to the reserve, 1 for the warning's Events row";
  EXPECT_EQ(rows("Posts").size(), 30u);
  EXPECT_EQ(rows("Analytics").size(), 50u);
  EXPECT_EQ(by_key("Events", f::kEventKey).count(warning_key), 1u);

  // The reserve still takes Posts; Analytics keep waiting.
  ASSERT_TRUE(run_for(io, outbox->append(rows_of(std::string(airtable::kPostsDest), 300, 10), now_epoch_ms())));
  {
    AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
    run_until(nullptr, &writer, [&]() -> net::awaitable<bool> {
      auto st = co_await outbox->stats(now_epoch_ms());
      co_return st && st->pending["airtable:posts"] == 0 && st->claimed == 0;
    });
  }
  EXPECT_EQ(rows("Posts").size(), 40u);
  EXPECT_EQ(rows("Analytics").size(), 50u);
  b = run_for(io, pacer->budget(now_epoch_ms()));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->calls, 10);
}

TEST_F(Writeback, ResyncRebuildsTheJobsThatHadNotStartedFromThePostsTable) {
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  const auto later = now_epoch_ms() + 3'600'000;
  std::vector<std::string> jobs;
  for (int i = 0; i < 5; ++i) jobs.push_back(publish("s-" + std::to_string(i), "demo-x", later + i * 1000));
  enqueue(jobs);
  // A row of a job that had started: its publish may have reached the platform.
  queue::OutboxEntry started;
  started.dest = std::string(airtable::kPostsDest);
  started.key = "s-started";
  started.set(f::kPostKey, "s-started")
      .set(f::kState, "retrying")
      .set(f::kAttempts, 2)
      .set(f::kJob, publish("s-started"));
  const std::vector<queue::OutboxEntry> one{started};
  ASSERT_TRUE(run_for(io, outbox->append(one, now_epoch_ms())));
  run_until(nullptr, &writer, [&]() -> net::awaitable<bool> { co_return co_await outbox_left() == 0; });
  ASSERT_EQ(rows("Posts").size(), 6u);

  // Redis loses everything.
  run_for(io, [&]() -> net::awaitable<int> {
    auto all = co_await client->exec("KEYS", keys->prefix() + ":*");
    for (const auto& k : all->elements) co_await client->exec("DEL", k.str);
    co_return 0;
  }());
  airtable::Client reader(http, config);
  auto report = run_for(io, resync_from_posts(reader, *store, "Posts", dispatcher_options.validation, 3, false));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->rebuilt, 5);
  ASSERT_EQ(report->started.size(), 1u);
  EXPECT_EQ(report->started[0].rfind("s-started", 0), 0u);
  for (int i = 0; i < 5; ++i) {
    auto job = run_for(io, store->status("s-" + std::to_string(i)));
    ASSERT_TRUE(job);
    EXPECT_EQ(job->fields.at("state"), "scheduled");
    EXPECT_EQ(std::stoll(job->fields.at("due_at")), later + i * 1000);
  }
  auto again = run_for(io, resync_from_posts(reader, *store, "Posts", dispatcher_options.validation, 3, false));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rebuilt, 0);
  EXPECT_EQ(again->present, 5) << "the same id is one job";
}

TEST_F(Writeback, NotificationRecordsBecomeEventsRows) {
  // What issue 5's queue::Notifier pushes (LPUSH, oldest at the right).
  const json first{{"id", "job_dead:demo-x:1795700000000"},
                   {"kind", "job_dead"},
                   {"subject", "demo-x"},
                   {"platform", "x"},
                   {"account", "demo-x"},
                   {"job_id", "j-9"},
                   {"message", "The post failed 5 times."},
                   {"action", "Retry it with `schedulo dead retry` once the cause is fixed."},
                   {"error_code", "E1"},
                   {"at", 1795700000000LL}};
  json second = first;
  second["id"] = "account_needs_reauth:demo-tiktok:1795700000001";
  second["kind"] = "account_needs_reauth";
  second["account"] = "demo-tiktok";
  run_for(io, client->exec("LPUSH", keys->notifications(), first.dump(), second.dump()));
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  run_until(nullptr, &writer, [&]() -> net::awaitable<bool> {
    auto left = co_await client->exec("LLEN", keys->notifications());
    auto work = co_await client->exec("LLEN", keys->notification_work(writer_options.worker_id));
    co_return left && left->integer == 0 && work && work->integer == 0 && co_await outbox_left() == 0;
  });
  const auto events = by_key("Events", f::kEventKey);
  ASSERT_EQ(events.size(), 2u);
  const auto& e = events.at("job_dead:demo-x:1795700000000");
  EXPECT_EQ(e["Kind"], "notification");
  EXPECT_EQ(e["Code"], "job_dead");
  EXPECT_EQ(e["Job ID"], "j-9");
  EXPECT_EQ(e["Account"], "demo-x");
  EXPECT_NE(e["Message"].get<std::string>().find("schedulo dead retry"), std::string::npos);
  EXPECT_EQ(events.at("account_needs_reauth:demo-tiktok:1795700000001")["Account"], "demo-tiktok");
}

TEST_F(Writeback, ACancelledPostsRowSaysSoAndResyncLeavesItCancelled) {
  const auto later = now_epoch_ms() + 3'600'000;
  enqueue({publish("cx-1", "demo-x", later), publish("cx-2", "demo-x", later)});
  auto cancelled = run_for(io, store->cancel("cx-1", now_epoch_ms()));
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(*cancelled, "cancelled");
  AirtableWriter writer(*outbox, http, config, *pacer, writer_options);
  run_until(nullptr, &writer, [&]() -> net::awaitable<bool> { co_return co_await outbox_left() == 0; });
  const auto posts = by_key("Posts");
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts.at("cx-1")["State"], "cancelled");
  EXPECT_EQ(posts.at("cx-1")["Error Code"], "cancelled");
  EXPECT_EQ(posts.at("cx-2")["State"], "scheduled");
  EXPECT_EQ(log("airtable.update").size(), 1u) << "the row at creation and its cancellation coalesced";

  run_for(io, [&]() -> net::awaitable<int> {
    auto all = co_await client->exec("KEYS", keys->prefix() + ":*");
    for (const auto& k : all->elements) co_await client->exec("DEL", k.str);
    co_return 0;
  }());
  airtable::Client reader(http, config);
  auto report = run_for(io, resync_from_posts(reader, *store, "Posts", dispatcher_options.validation, 3, false));
  ASSERT_TRUE(report);
  EXPECT_EQ(report->rebuilt, 1) << "only cx-2";
  EXPECT_FALSE(run_for(io, store->status("cx-1"))) << "a cancelled post never comes back";
}

}  // namespace
}  // namespace schedulo::outbox
