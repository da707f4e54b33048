// The token core across processes (label `tokens`): three daemons (token_worker: the real `schedulo
// run` with a test platform plugged in) on a private, durable redis-server, against the rotating-token
// endpoint of tests/support. Exactly one refresh for 50 jobs of an expired account; SIGKILL after the
// refresh answer arrived, and while the refresh was in flight (before and after the platform spent
// the refresh token); key rotation with `schedulo vault rotate`; and no token in plaintext anywhere:
// logs, every Redis key and value, the AOF, Airtable's pending rows, error messages, command output.
//
// Every wait polls a condition with an overall limit that fails the test; the crash points come from
// the endpoint holding an answer or stalling the next call, never from sleeps.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/rfc3339.hpp"
#include "jobs/intake.hpp"
#include "jobs/job_validation.hpp"
#include "queue/redis/client.hpp"
#include "queue/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/sandbox_process.hpp"
#include "tests/support/run.hpp"
#include "tests/support/token_endpoint.hpp"
#include "tokens/token_store.hpp"

#ifndef SCHEDULO_BIN
#error "SCHEDULO_BIN (the schedulo binary) must be defined"
#endif
#ifndef TOKEN_WORKER_BIN
#error "TOKEN_WORKER_BIN (tests/tokens/token_worker) must be defined"
#endif

namespace schedulo::tokens {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::Child;
using test::run_for;
using test::TokenEndpoint;

std::string percent_encoded(std::string_view s, bool lower) {
  const char* hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/schedulo-tokens.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    redis = std::make_unique<test::RedisProcess>(std::vector<std::string>{"--maxmemory-policy", "noeviction"});
    redis->start();
    prefix = "tok" + std::to_string(::getpid());
    keys = std::make_unique<queue::Keys>(prefix);
    key_file = dir + "/vault.keys";
    write_keys({Vault::generate_key_line("k1")});
    redis::ClientOptions options;
    std::string error;
    options.url = *redis::parse_redis_url(redis->url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), options);
    client->start();
    queue_store = std::make_unique<queue::Store>(*client, *keys, queue::QueueSettings{});
  }

  void TearDown() override {
    daemons.clear();
    store.reset();
    client->stop();
    redis.reset();
    std::error_code ec;
    if (HasFailure())
      std::cout << "TOKENS logs kept in " << dir << "\n";
    else
      std::filesystem::remove_all(dir, ec);
  }

  // The key file (mode 0600) and the vault this test reads the store with.
  void write_keys(const std::vector<std::string>& lines) {
    {
      std::ofstream f(key_file, std::ios::trunc);
      for (const auto& l : lines) f << l << "\n";
    }
    ::chmod(key_file.c_str(), 0600);
    std::string error;
    store.reset();
    vault = Vault::load_file(key_file, error);
    ASSERT_TRUE(vault) << error;
    if (client) store = std::make_unique<TokenStore>(*client, *keys, *vault);
  }
  TokenStore& tokens() {
    if (!store) store = std::make_unique<TokenStore>(*client, *keys, *vault);
    return *store;
  }

  std::string config(const std::string& worker, int refresh_timeout_ms) {
    json c = {{"redis", {{"url", redis->url()}, {"prefix", prefix}}},
              {"workers",
               {{"id", worker},
                {"mode", "live"},
                {"concurrency", 20},
                {"per_account", 0},
                {"lease_ms", 3000},
                {"reaper_grace_ms", 0},
                {"idle_wait_ms", 50},
                {"shutdown_grace_ms", 2000}}},
              {"vault", {{"key_file", key_file}}},
              {"tokens", {{"refresh_timeout_ms", refresh_timeout_ms}, {"lock_ms", 1000}, {"defer_ms", 100}}},
              {"security", {{"allow_private_hosts", {"127.0.0.0/8"}}}},
              {"jobs", {{"retry_base_ms", 100}, {"retry_cap_ms", 1000}}},
              {"log", {{"level", "debug"}}}};
    if (airtable)  // the tokens' durable home: Accounts rows written through the outbox
      c["airtable"] = {{"base_url", "http://127.0.0.1:" + std::to_string(airtable->port())},
                       {"base_id", kAirtableBase},
                       {"token", kAirtableToken},
                       {"batch_linger_ms", 50},
                       {"account_sweep_interval_s", 0}};
    const std::string path = dir + "/" + worker + ".json";
    std::ofstream(path, std::ios::trunc) << c.dump(2);
    return path;
  }

  Child& daemon(const std::string& worker, int refresh_timeout_ms = 20000) {
    auto& d = daemons[worker];
    if (!d)
      d = std::make_unique<Child>(
          std::vector<std::string>{TOKEN_WORKER_BIN, "--config", config(worker, refresh_timeout_ms), "--endpoint",
                                   endpoint.url(), "--margin-ms", "60000"},
          dir + "/" + worker + ".log");
    return *d;
  }

  static std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }

  // Starts the daemon and waits until it consumes jobs.
  void start(Child& d) {
    const auto before = count(d.log(), "ready: consuming jobs");
    d.start();
    ASSERT_TRUE(wait_until([&] { return count(d.log(), "ready: consuming jobs") > before; }, 60s)) << d.log();
  }

  bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  // The account's tokens in the store and at the endpoint; the access token valid for `access_for`
  // (negative: expired that long ago); a refresh token the endpoint knows, or one it refuses.
  void seed(const std::string& account, std::chrono::milliseconds access_for, bool refresh_works = true) {
    const std::string access = TokenEndpoint::make_token("at"), refresh = TokenEndpoint::make_token("rt");
    const std::int64_t exp = now_epoch_ms() + access_for.count();
    endpoint.seed(access, exp, refresh_works ? refresh : TokenEndpoint::make_token("rt"));
    if (!refresh_works) extra_secrets.push_back(refresh);
    platforms::TokenSet t;
    t.access_token = Secret(access);
    t.refresh_token = Secret(refresh);
    t.access_expires_at_ms = exp;
    auto put = run_for(io, tokens().put(AccountRef{"x", account}, t, 0, AccountStatus::active, "", now_epoch_ms()));
    ASSERT_TRUE(put && put->written);
  }

  void enqueue(const std::vector<std::string>& ids, const std::string& account) {
    std::vector<queue::NewJob> batch;
    jobs::ValidationContext context;
    for (const auto& id : ids) {
      const json doc = {
          {"id", id}, {"type", "publish"}, {"platform", "x"}, {"account", account}, {"post", {{"text", "post " + id}}}};
      auto parsed = jobs::validate_job(doc, context);
      ASSERT_TRUE(parsed.job) << parsed.errors.front().message;
      batch.push_back(jobs::to_new_job(std::move(*parsed.job), 5));
    }
    auto r = run_for(io, queue_store->enqueue(batch, now_epoch_ms()));
    ASSERT_TRUE(r);
  }

  std::map<std::string, std::string> job(const std::string& id) {
    auto r = run_for(io, queue_store->status(id));
    return r ? r->fields : std::map<std::string, std::string>{};
  }
  std::vector<json> attempt_log(const std::string& id) {
    std::vector<json> out;
    if (auto r = run_for(io, queue_store->status(id)))
      for (const auto& line : r->attempt_log) out.push_back(json::parse(line, nullptr, false));
    return out;
  }
  bool all_in(const std::vector<std::string>& ids, const std::string& state) {
    for (const auto& id : ids)
      if (job(id)["state"] != state) return false;
    return true;
  }
  StoredAccount account(const std::string& name) { return **run_for(io, tokens().load(AccountRef{"x", name})); }
  platforms::TokenSet opened(const std::string& name) {
    std::string error;
    auto t = tokens().open(account(name), error);
    if (!t) throw std::runtime_error(error);
    return std::move(*t);
  }
  // An Events row of that code for the account, waiting in the outbox for Airtable.
  bool has_event(const std::string& code, const std::string& account_key) {
    auto r = run_for(io, client->exec("ZRANGE", keys->outbox_queue("airtable:events"), "0", "-1"));
    for (const auto& e : r->elements)
      if (e.str.starts_with(code + ":x:" + account_key + ":")) return true;
    return false;
  }
  // A field of the account's Accounts row waiting in the outbox.
  json account_field(const std::string& account_key, const std::string& field) {
    auto r = run_for(io, client->exec("HGET", keys->outbox_item("airtable:accounts|" + account_key), "f:" + field));
    return r && r->is_string() ? json::parse(r->str) : json();
  }

  std::vector<std::string> ids(const std::string& tag, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(tag + std::to_string(i));
    return out;
  }

  test::CommandResult cli(const std::vector<std::string>& args, const std::string& input = {}) {
    std::vector<std::string> argv{SCHEDULO_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test::run_command(argv, input);
    cli_output += r.out + r.err;
    return r;
  }

  // Every key and value of the test's Redis, as text.
  std::string redis_dump() {
    std::string out;
    std::string cursor = "0";
    do {
      auto page = run_for(io, client->exec("SCAN", cursor, "COUNT", "1000"));
      cursor = page->elements[0].str;
      for (const auto& k : page->elements[1].elements) {
        out += k.str + "\n";
        const auto type = run_for(io, client->exec("TYPE", k.str))->str;
        redis::Reply r;
        if (type == "string")
          r = run_for(io, client->exec("GET", k.str));
        else if (type == "hash")
          r = run_for(io, client->exec("HGETALL", k.str));
        else if (type == "list")
          r = run_for(io, client->exec("LRANGE", k.str, "0", "-1"));
        else if (type == "set")
          r = run_for(io, client->exec("SMEMBERS", k.str));
        else if (type == "zset")
          r = run_for(io, client->exec("ZRANGE", k.str, "0", "-1", "WITHSCORES"));
        if (!r) continue;
        out += r->str + "\n";
        for (const auto& e : r->elements) out += e.str + "\n";
      }
    } while (cursor != "0");
    return out;
  }

  // Every file redis-server wrote: the AOF (appendonlydir/ on Redis 7) and the rest.
  std::string redis_files() {
    std::string out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(redis->dir()))
      if (entry.is_regular_file()) out += test::read_file(entry.path().string());
    return out;
  }

  // Architecture rule 6: no token, plain or URL-encoded, in any log, Redis key or value, the AOF,
  // Airtable's rows, an error message or a command's output. A failure names the place and the
  // token's number, never the token.
  void expect_no_plaintext() {
    std::vector<std::string> secrets = endpoint.all_tokens();
    secrets.insert(secrets.end(), extra_secrets.begin(), extra_secrets.end());
    ASSERT_FALSE(secrets.empty());
    std::map<std::string, std::string> places;
    for (const auto& [name, d] : daemons) places["log of " + name] = d->log();
    places["redis keys and values"] = redis_dump();
    const std::string files = redis_files();
    places["redis files (AOF)"] = files;
    places["command output"] = cli_output;  // rows still waiting in the outbox: in the Redis dump
    if (airtable) places["the sandbox's Airtable Accounts table"] = airtable_accounts().dump();
    // The AOF holds what was stored: the account records, sealed.
    EXPECT_NE(files.find(keys->token("x", "acct-1")), std::string::npos) << "the AOF was not read";
    EXPECT_NE(files.find("v1:k"), std::string::npos) << "the AOF holds no sealed token";
    for (std::size_t i = 0; i < secrets.size(); ++i) {
      const std::string& s = secrets[i];
      const std::vector<std::pair<std::string, std::string>> forms{
          {"plain", s},
          {"URL-encoded", percent_encoded(s, false)},
          {"url-encoded (lower case)", percent_encoded(s, true)}};
      for (const auto& [place, text] : places)
        for (const auto& [form, needle] : forms)
          EXPECT_EQ(text.find(needle), std::string::npos) << "token #" << i << " (" << form << ") found in " << place;
    }
  }

  // The Accounts rows in the sandbox's Airtable.
  json airtable_accounts() {
    const auto reply = test::http(airtable->port(), "GET", "/v0/" + std::string(kAirtableBase) + "/Accounts?pageSize=100",
                                  "", {{"Authorization", std::string("Bearer ") + kAirtableToken}});
    return json::parse(reply.body, nullptr, false);
  }

  static constexpr const char* kAirtableBase = "appSandboxBase001";
  static constexpr const char* kAirtableToken =
      "patSbxReadWrite01.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

  boost::asio::io_context io;
  std::unique_ptr<test::SandboxProcess> airtable;  // started by the tests that check Airtable
  std::string dir, prefix, key_file;
  std::unique_ptr<test::RedisProcess> redis;
  TokenEndpoint endpoint;
  std::optional<Vault> vault;
  std::unique_ptr<queue::Keys> keys;
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<TokenStore> store;
  std::unique_ptr<queue::Store> queue_store;
  std::map<std::string, std::unique_ptr<Child>> daemons;
  std::vector<std::string> extra_secrets;
  std::string cli_output;
};

TEST_F(FleetTest, FiftyJobsOfAnExpiredAccountOverThreeDaemonsMakeExactlyOneRefresh) {
  seed("acct-1", -1s);
  for (const char* w : {"w1", "w2", "w3"}) start(daemon(w));
  // The refresh is held at the platform until the other jobs have shown they defer meanwhile.
  endpoint.hold_next_refresh(TokenEndpoint::Hold::before_consuming);
  const auto all = ids("j", 50);
  enqueue(all, "acct-1");
  ASSERT_TRUE(endpoint.wait_for([&] { return endpoint.held_refreshes() == 1; }, 60s));
  auto deferred_for_token = [&] {
    int n = 0;
    for (const auto& id : all)
      for (const auto& e : attempt_log(id))
        if (e.value("outcome", "") == "defer" && e.value("error_code", "") == "token_refreshing") {
          ++n;
          break;
        }
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return deferred_for_token() >= 10; }, 60s));
  EXPECT_EQ(endpoint.refresh_requests(), 1);
  endpoint.release_held();
  ASSERT_TRUE(wait_until([&] { return all_in(all, "succeeded"); }, 120s));

  EXPECT_EQ(endpoint.refresh_requests(), 1);
  EXPECT_EQ(endpoint.refresh_granted(), 1);
  EXPECT_EQ(endpoint.posts(), 50);
  std::set<std::string> workers;
  for (const auto& id : all) {
    EXPECT_EQ(endpoint.posts_for(id), 1) << id;
    const auto result = json::parse(job(id)["result"], nullptr, false);
    if (result.is_object()) workers.insert(result.value("worker", ""));
    EXPECT_EQ(job(id)["attempts"], "1") << id << ": deferrals use no attempt";
  }
  std::cout << "TOKENS 50 jobs published by " << workers.size() << " daemons, " << deferred_for_token()
            << " deferred while the refresh was out\n";
  EXPECT_GE(workers.size(), 2u);
  EXPECT_TRUE(endpoint.refresh_token_works(opened("acct-1").refresh_token.reveal()))
      << "the stored refresh token is not the one that works";
  EXPECT_EQ(account("acct-1").status, AccountStatus::active);
  for (auto& [name, d] : daemons) d->terminate();
  for (auto& [name, d] : daemons) EXPECT_EQ(d->wait_exit(30s), 0) << name;
  expect_no_plaintext();
}

TEST_F(FleetTest, ADaemonKilledAfterTheRefreshAnswerArrivedLeavesTheNewTokenStoredAndWorking) {
  seed("acct-1", -1s);
  const auto before = account("acct-1").version;
  // The refresh is answered; the call made with the new token is not: the daemon is between
  // "answer received" and "job done" when it dies.
  endpoint.stall_calls_with_refreshed_tokens(true);
  auto& w1 = daemon("w1", 3000);
  start(w1);
  enqueue({"a1"}, "acct-1");
  ASSERT_TRUE(endpoint.wait_for([&] { return endpoint.stalled_calls() >= 1; }, 60s)) << w1.log();
  w1.kill9();

  // The new token was stored before it was used.
  EXPECT_EQ(endpoint.refresh_granted(), 1);
  const auto a = account("acct-1");
  EXPECT_GT(a.version, before);
  EXPECT_TRUE(endpoint.refresh_token_works(opened("acct-1").refresh_token.reveal()))
      << "the stored refresh token is not the one that works";

  // It works: the restarted daemon takes its job back and finishes it without another refresh.
  endpoint.stall_calls_with_refreshed_tokens(false);
  start(w1);
  ASSERT_TRUE(wait_until([&] { return job("a1")["state"] == "succeeded"; }, 60s)) << w1.log();
  EXPECT_EQ(endpoint.refresh_requests(), 1);
  EXPECT_EQ(endpoint.posts_for("a1"), 1);
  EXPECT_EQ(account("acct-1").version, a.version);
}

TEST_F(FleetTest, ADaemonKilledBeforeItsRefreshReachedThePlatformLeavesTheAccountWorking) {
  seed("acct-1", -1s);
  endpoint.hold_next_refresh(TokenEndpoint::Hold::before_consuming);
  auto& w1 = daemon("w1", 3000);
  start(w1);
  enqueue({"b1"}, "acct-1");
  ASSERT_TRUE(endpoint.wait_for([&] { return endpoint.held_refreshes() == 1; }, 60s)) << w1.log();
  w1.kill9();
  // The old refresh token was never spent: once the dead daemon's lock runs out, a refresh works.
  start(w1);
  ASSERT_TRUE(wait_until([&] { return job("b1")["state"] == "succeeded"; }, 60s)) << w1.log();
  EXPECT_EQ(endpoint.refresh_requests(), 2);
  EXPECT_EQ(endpoint.refresh_granted(), 1);
  EXPECT_EQ(endpoint.posts_for("b1"), 1);
  EXPECT_EQ(account("acct-1").status, AccountStatus::active);
  EXPECT_TRUE(endpoint.refresh_token_works(opened("acct-1").refresh_token.reveal()))
      << "the stored refresh token is not the one that works";
  EXPECT_FALSE(has_event("needs_reauth", "acct-1"));
}

TEST_F(FleetTest, ADaemonKilledAfterThePlatformSpentTheRefreshTokenLeavesTheAccountNeedingReauthWithAnEvent) {
  seed("acct-1", -1s);
  endpoint.hold_next_refresh(TokenEndpoint::Hold::after_consuming);
  auto& w1 = daemon("w1", 3000);
  start(w1);
  enqueue({"c1"}, "acct-1");
  ASSERT_TRUE(endpoint.wait_for([&] { return endpoint.held_refreshes() == 1; }, 60s)) << w1.log();
  w1.kill9();
  // The rotated token never reached the daemon; the old one is spent and the access token expired.
  start(w1);
  ASSERT_TRUE(wait_until([&] { return job("c1")["state"] == "failed"; }, 60s)) << w1.log();
  auto c1 = job("c1");
  EXPECT_EQ(c1["error_code"], "needs_reauth");
  EXPECT_NE(c1["error"].find("must be connected again"), std::string::npos) << c1["error"];
  EXPECT_EQ(account("acct-1").status, AccountStatus::needs_reauth);
  EXPECT_TRUE(has_event("needs_reauth", "acct-1"));
  EXPECT_EQ(endpoint.refresh_requests(), 2);
  EXPECT_EQ(endpoint.refresh_refused(), 1);
  EXPECT_EQ(endpoint.posts_for("c1"), 0);
  expect_no_plaintext();
}

TEST_F(FleetTest, ADaemonKilledAfterThePlatformSpentTheRefreshTokenKeepsWorkingWhileTheOldAccessTokenDoes) {
  seed("acct-1", 45s);  // valid, but inside the 60 s margin: renewed before use
  endpoint.hold_next_refresh(TokenEndpoint::Hold::after_consuming);
  auto& w1 = daemon("w1", 3000);
  start(w1);
  enqueue({"d1"}, "acct-1");
  ASSERT_TRUE(endpoint.wait_for([&] { return endpoint.held_refreshes() == 1; }, 60s)) << w1.log();
  w1.kill9();
  start(w1);
  // While the dead daemon's lock lasts, the still-valid access token is used.
  ASSERT_TRUE(wait_until([&] { return job("d1")["state"] == "succeeded"; }, 60s)) << w1.log();
  // Once the lock is gone, the next job tries the refresh: refused, so the account needs to be
  // connected again, and the job still goes out with the access token that works.
  ASSERT_TRUE(wait_until(
      [&] { return run_for(io, client->exec("EXISTS", keys->token_lock("x", "acct-1")))->integer == 0; }, 30s));
  enqueue({"d2"}, "acct-1");
  ASSERT_TRUE(wait_until([&] { return job("d2")["state"] == "succeeded"; }, 60s)) << w1.log();
  EXPECT_EQ(account("acct-1").status, AccountStatus::needs_reauth);
  EXPECT_TRUE(has_event("needs_reauth", "acct-1"));
  EXPECT_EQ(endpoint.refresh_refused(), 1);
  EXPECT_EQ(endpoint.posts_for("d1"), 1);
  EXPECT_EQ(endpoint.posts_for("d2"), 1);
}

TEST_F(FleetTest, NoTokenAppearsInPlaintextAnywhere) {
  airtable = std::make_unique<test::SandboxProcess>(std::vector<std::string>{});
  seed("acct-1", -1s);                           // renewed: old and new tokens
  seed("acct-2", -1s, /*refresh_works=*/false);  // refused: the endpoint quotes the token it refused
  for (const char* w : {"w1", "w2", "w3"}) start(daemon(w));
  const auto good = ids("g", 10), bad = ids("h", 2);
  enqueue(good, "acct-1");
  enqueue(bad, "acct-2");
  ASSERT_TRUE(wait_until([&] { return all_in(good, "succeeded") && all_in(bad, "failed"); }, 120s));
  // An account imported by an operator, and what the commands show.
  const std::string imported_access = TokenEndpoint::make_token("at"),
                    imported_refresh = TokenEndpoint::make_token("rt");
  extra_secrets.push_back(imported_access);
  extra_secrets.push_back(imported_refresh);
  const std::string cfg = config("cli", 15000);
  auto add =
      cli({"account", "add", "--config", cfg, "x:acct-3"},
          json({{"access_token", imported_access}, {"refresh_token", imported_refresh}, {"expires_in", 7200}}).dump());
  EXPECT_EQ(add.status, 0) << add.err;
  EXPECT_EQ(cli({"account", "show", "--config", cfg, "x:acct-1"}).status, 0);
  EXPECT_EQ(cli({"account", "list", "--config", cfg}).status, 0);
  EXPECT_EQ(cli({"status", "--config", cfg, bad[0]}).status, 0);
  // A bad import names the field, not the value.
  auto refused = cli({"account", "add", "--config", cfg, "x:acct-4"},
                     json({{"access_token", imported_access}, {"expires_in", "soon"}}).dump());
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("expires_in"), std::string::npos) << refused.err;
  // The Accounts rows reach Airtable, sealed: acct-1 at its renewed version, acct-2 needing reauth.
  const auto renewed = account("acct-1").version;
  ASSERT_TRUE(wait_until(
      [&] {
        int seen = 0;
        for (const auto& r : airtable_accounts().value("records", json::array())) {
          const auto& f = r["fields"];
          const std::string key = f.value("Account Key", "");
          if (key == "acct-1" && f.value("Token Version", 0LL) == renewed &&
              f.value("Token", "").rfind("v1:k", 0) == 0)
            ++seen;
          if (key == "acct-2" && f.value("Status", "") == "needs_reauth") ++seen;
        }
        return seen == 2;
      },
      60s))
      << airtable_accounts().dump(2);
  for (auto& [name, d] : daemons) d->terminate();
  for (auto& [name, d] : daemons) EXPECT_EQ(d->wait_exit(30s), 0) << name;
  expect_no_plaintext();
}

TEST_F(FleetTest, VaultRotateReSealsEveryTokenAndTheDaemonWorksWithTheNewKeyAlone) {
  const std::string k1 = test::read_file(key_file);
  const std::string cfg = config("cli", 15000);
  // Three accounts imported with key k1; acct-1's access token has expired.
  for (const std::string name : {"acct-1", "acct-2", "acct-3"}) {
    const std::string access = TokenEndpoint::make_token("at"), refresh = TokenEndpoint::make_token("rt");
    const bool expired = name == "acct-1";
    const std::int64_t exp = now_epoch_ms() + (expired ? -1000 : 3600000);
    endpoint.seed(access, exp, refresh);
    auto add =
        cli({"account", "add", "--config", cfg, "x:" + name}, json({{"access_token", access},
                                                                    {"refresh_token", refresh},
                                                                    {"access_expires_at", format_rfc3339_ms(exp)},
                                                                    {"scopes", {"tweet.read", "tweet.write"}}})
                                                                  .dump());
    ASSERT_EQ(add.status, 0) << add.err;
    EXPECT_NE(add.out.find("sealed with key k1"), std::string::npos) << add.out;
  }
  // A key file that lacks k1 cannot open them, and says which key is missing.
  write_keys({Vault::generate_key_line("k2")});
  const std::string k2_only = test::read_file(key_file);
  auto show = cli({"account", "show", "--config", cfg, "x:acct-2"});
  ASSERT_EQ(show.status, 0) << show.err;
  auto shown = json::parse(show.out);
  EXPECT_EQ(shown["opens"], false);
  EXPECT_NE(shown["open_error"].get<std::string>().find("k1"), std::string::npos);
  EXPECT_EQ(shown["scopes"], "tweet.read tweet.write");

  // Rotation: k2 first, k1 still there; every token re-sealed with k2, progress shown.
  { std::ofstream(key_file, std::ios::trunc) << k2_only << k1; }
  auto rotate = cli({"vault", "rotate", "--config", cfg});
  ASSERT_EQ(rotate.status, 0) << rotate.err;
  EXPECT_NE(rotate.err.find("vault rotate: 3/3 accounts (3 re-sealed with key k2, 0 already, 0 failed)"),
            std::string::npos)
      << rotate.err;
  EXPECT_NE(rotate.out.find("re-sealed 3 account(s) with key k2"), std::string::npos) << rotate.out;
  write_keys({k2_only.substr(0, k2_only.find('\n'))});
  for (const std::string name : {"acct-1", "acct-2", "acct-3"}) {
    const auto a = account(name);
    EXPECT_EQ(Vault::key_id_of(a.access_sealed), "k2") << name;
    EXPECT_EQ(Vault::key_id_of(a.refresh_sealed), "k2") << name;
    EXPECT_NO_THROW(opened(name)) << name;
  }
  // Airtable gets the re-sealed values too.
  for (const std::string name : {"acct-1", "acct-2", "acct-3"}) {
    EXPECT_TRUE(account_field(name, "Refresh Token").get<std::string>().starts_with("v1:k2:")) << name;
    EXPECT_EQ(account_field(name, "Key Id"), "k2") << name;
  }
  auto again = cli({"vault", "rotate", "--config", cfg});
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.out.find("re-sealed 0 account(s) with key k2; 3 already were"), std::string::npos) << again.out;

  // The daemon, with k2 alone, renews acct-1's expired token from its re-sealed refresh token.
  auto& w1 = daemon("w1");
  start(w1);
  enqueue({"r1", "r2"}, "acct-1");
  enqueue({"r3"}, "acct-2");
  ASSERT_TRUE(wait_until([&] { return all_in({"r1", "r2", "r3"}, "succeeded"); }, 60s)) << w1.log();
  EXPECT_EQ(endpoint.refresh_granted(), 1);
  EXPECT_EQ(Vault::key_id_of(account("acct-1").refresh_sealed), "k2");
  EXPECT_TRUE(endpoint.refresh_token_works(opened("acct-1").refresh_token.reveal()))
      << "the stored refresh token is not the one that works";
  auto list = cli({"account", "list", "--config", cfg, "--status", "active"});
  EXPECT_EQ(count(list.out, "\n"), 3u) << list.out;
}

}  // namespace
}  // namespace schedulo::tokens
