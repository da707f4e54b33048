// The token provider in one process (label `tokens`): real Redis, the real store and vault, and the
// rotating-token endpoint of tests/support over real sockets. Refresh just before use, one refresh
// and one retry on auth-expired, deferral while another daemon refreshes, needs_reauth on a refused
// grant (unless a newer token was stored meanwhile), a token received after the lock expired.
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/event.hpp"
#include "common/rfc3339.hpp"
#include "jobs/token_use.hpp"
#include "queue/store.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tests/support/token_endpoint.hpp"
#include "tests/tokens/endpoint_platform.hpp"
#include "tokens/provider.hpp"

namespace schedulo::tokens {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::run_for;
using test::run_until;
using test::TokenEndpoint;

Vault vault_of(const std::string& text) {
  std::string error;
  auto v = Vault::from_text(text, error);
  if (!v) throw std::runtime_error(error);
  return std::move(*v);
}

http::AddressPolicy loopback() {
  return *http::AddressPolicy::from_entries({"127.0.0.0/8"}).policy;
}

// Runs the calls of `inner`, letting a test act just before each refresh goes out (`hook`) or once
// its answer is in (`answered`).
class HookedCalls final : public platforms::TokenCalls {
 public:
  HookedCalls(platforms::TokenCalls& inner, std::function<net::awaitable<void>()> hook,
              std::function<void()> answered = {})
      : inner_(inner), hook_(std::move(hook)), answered_(std::move(answered)) {}
  std::chrono::milliseconds refresh_margin() const override { return inner_.refresh_margin(); }
  bool can_refresh(const platforms::TokenSet& t) const override { return inner_.can_refresh(t); }
  net::awaitable<platforms::TokenCallResult> refresh(const platforms::TokenSet& t) override {
    if (hook_) co_await hook_();
    auto result = co_await inner_.refresh(t);
    if (answered_) answered_();
    co_return result;
  }
  net::awaitable<platforms::TokenCallResult> revoke(const platforms::TokenSet& t) override { return inner_.revoke(t); }
  net::awaitable<platforms::Introspection> introspect(const platforms::TokenSet& t) override {
    return inner_.introspect(t);
  }

 private:
  platforms::TokenCalls& inner_;
  std::function<net::awaitable<void>()> hook_;
  std::function<void()> answered_;
};

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis::ClientOptions options;
    std::string error;
    options.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), options);
    client->start();
    keys = std::make_unique<queue::Keys>(test::unique_prefix());
    store = std::make_unique<TokenStore>(*client, *keys, vault);
    queue_store = std::make_unique<queue::Store>(*client, *keys, queue::QueueSettings{});
    calls = test::make_endpoint_token_calls(endpoint.url(), loopback(), std::chrono::milliseconds(60000));
    provider = make_provider("daemon-1");
  }
  void TearDown() override {
    provider.reset();
    client->stop();
  }

  std::unique_ptr<TokenProvider> make_provider(const std::string& owner, platforms::TokenCalls* with = nullptr,
                                               std::chrono::milliseconds timeout = 20s) {
    ProviderOptions o;
    o.owner = owner;
    o.refresh_timeout = timeout;
    o.lock_ttl = timeout + 10s;
    o.busy_wait = 100ms;
    platforms::TokenCalls* c = with ? with : calls.get();
    return std::make_unique<TokenProvider>(
        *store, [c](std::string_view p) { return p == "x" ? c : nullptr; }, o);
  }

  // The account's tokens in the store and at the endpoint: the access token valid for `access_for`
  // (negative: expired that long ago).
  void seed(std::chrono::milliseconds access_for, bool endpoint_knows_refresh = true) {
    access0 = TokenEndpoint::make_token("at");
    refresh0 = TokenEndpoint::make_token("rt");
    const std::int64_t exp = now_epoch_ms() + access_for.count();
    endpoint.seed(access0, exp, endpoint_knows_refresh ? refresh0 : TokenEndpoint::make_token("rt-other"));
    platforms::TokenSet t;
    t.access_token = Secret(access0);
    t.refresh_token = Secret(refresh0);
    t.access_expires_at_ms = exp;
    auto put = run_for(io, store->put(ref, t, 0, AccountStatus::active, "", now_epoch_ms()));
    ASSERT_TRUE(put && put->written);
  }

  StoredAccount record() { return **run_for(io, store->load(ref)); }
  platforms::TokenSet stored_tokens() {
    std::string error;
    auto t = store->open(record(), error);
    if (!t) throw std::runtime_error(error);
    return std::move(*t);
  }
  // The Events rows the outbox holds (their keys) and everything it holds, as text.
  std::vector<std::string> event_keys() {
    std::vector<std::string> out;
    auto r = run_for(io, client->exec("ZRANGE", keys->outbox_queue("airtable:events"), "0", "-1"));
    for (const auto& e : r->elements) out.push_back(e.str);
    return out;
  }
  std::string outbox_text() {
    std::string out;
    for (const std::string dest : {"airtable:accounts", "airtable:events"}) {
      auto members = run_for(io, client->exec("ZRANGE", keys->outbox_queue(dest), "0", "-1"));
      for (const auto& m : members->elements) {
        auto item = run_for(io, client->exec("HGETALL", keys->outbox_item(dest + "|" + m.str)));
        for (const auto& e : item->elements) out += e.str + "\n";
      }
    }
    return out;
  }
  // A publish job of the account, as the dispatcher would hand it to a driver (its lease long).
  std::unique_ptr<jobs::JobContext> job(const std::string& id) {
    jobs::Job j;
    j.id = id;
    j.type = jobs::JobType::publish;
    j.platform = jobs::Platform::x;
    j.account = "acct-1";
    queue::Lease lease;
    lease.id = id;
    lease.token = 1;
    lease.attempt = 1;
    return std::make_unique<jobs::JobContext>(*queue_store, j, lease, std::chrono::steady_clock::now() + 5min);
  }
  jobs::StepResult publish(TokenProvider& p, const std::string& id, json& ids) {
    auto platform = test::make_endpoint_platform("in-process", p, endpoint.url(), loopback());
    auto steps = platform->publish_steps();
    auto ctx = job(id);
    return run_for(io, steps->run(jobs::PublishStep::publish, *ctx, ids));
  }

  // A refresh_now of `p` whose job is stopped (terminal cancellation, as a lost lease does) once
  // `stop_when` holds; `after_end` runs once the job has ended. True when the job ended.
  bool refresh_stopped_when(TokenProvider& p, const std::function<bool()>& stop_when,
                            const std::function<void()>& after_end = {}) {
    bool job_ended = false;
    const BeforeRefresh no_check;  // outlives the spawned call, which takes it by reference
    run_for(io, [&]() -> net::awaitable<int> {
      const auto ex = co_await net::asio::this_coro::executor;
      boost::asio::cancellation_signal stop;
      net::Event ended(ex);
      net::asio::co_spawn(
          ex, p.refresh_now(ref, no_check),
          boost::asio::bind_cancellation_slot(stop.slot(), [&](const std::exception_ptr&, const TokenAnswer&) {
            job_ended = true;
            ended.set();
          }));
      net::Timer poll(ex);
      while (!stop_when()) {
        poll.expires_after(5ms);
        co_await poll.async_wait();
      }
      stop.emit(boost::asio::cancellation_type::terminal);
      co_await ended.wait();
      if (after_end) after_end();
      co_return 0;
    }());
    return job_ended;
  }

  boost::asio::io_context io;
  TokenEndpoint endpoint;
  Vault vault = vault_of(Vault::generate_key_line("k1"));
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<queue::Keys> keys;
  std::unique_ptr<TokenStore> store;
  std::unique_ptr<queue::Store> queue_store;
  std::unique_ptr<platforms::TokenCalls> calls;
  std::unique_ptr<TokenProvider> provider;
  const AccountRef ref{"x", "acct-1"};
  std::string access0, refresh0;
};

TEST_F(ProviderTest, AValidTokenIsServedWithoutARefresh) {
  seed(1h);
  auto answer = run_for(io, provider->get(ref));
  ASSERT_EQ(answer.state, TokenState::ready) << answer.message;
  EXPECT_TRUE(answer.token.value.reveal() == access0);
  EXPECT_FALSE(answer.refreshed);
  EXPECT_EQ(endpoint.refresh_requests(), 0);
}

TEST_F(ProviderTest, AnExpiredTokenIsRefreshedOnceAndTheRotatedRefreshTokenIsStoredFirst) {
  seed(-1s);
  auto answer = run_for(io, provider->get(ref));
  ASSERT_EQ(answer.state, TokenState::ready) << answer.message;
  EXPECT_TRUE(answer.refreshed);
  EXPECT_TRUE(answer.token.value.reveal() != access0);
  EXPECT_EQ(endpoint.refresh_requests(), 1);
  const auto stored = stored_tokens();
  EXPECT_TRUE(endpoint.refresh_token_works(stored.refresh_token.reveal()))
      << "the stored refresh token is not the one that works";
  EXPECT_TRUE(stored.access_token.reveal() == answer.token.value.reveal());
  EXPECT_GT(stored.access_expires_at_ms, now_epoch_ms() + 3000 * 1000);
  EXPECT_EQ(record().version, answer.token.version);
  EXPECT_GT(answer.token.version, 1);
  // The next use finds it valid.
  auto again = run_for(io, provider->get(ref));
  ASSERT_EQ(again.state, TokenState::ready);
  EXPECT_FALSE(again.refreshed);
  EXPECT_EQ(endpoint.refresh_requests(), 1);
  EXPECT_EQ(provider->counters().refreshed, 1u);
}

TEST_F(ProviderTest, ATokenInsideThePlatformsMarginIsRefreshedJustBeforeUse) {
  seed(30s);  // the endpoint's calls have a 60 s margin
  auto answer = run_for(io, provider->get(ref));
  ASSERT_EQ(answer.state, TokenState::ready);
  EXPECT_TRUE(answer.refreshed);
  EXPECT_EQ(endpoint.refresh_requests(), 1);
}

TEST_F(ProviderTest, AnAuthExpiredAnswerRefreshesOnceAndRetriesOnce) {
  seed(1h);
  endpoint.revoke_all_access_tokens();  // the platform no longer takes the token the store holds valid
  json ids;
  auto result = publish(*provider, "job-1", ids);
  EXPECT_FALSE(result.has_value()) << result->error;
  EXPECT_EQ(endpoint.refresh_requests(), 1);
  EXPECT_EQ(endpoint.api_refused(), 1);
  EXPECT_EQ(endpoint.posts_for("job-1"), 1);
  EXPECT_FALSE(ids.value("published_id", "").empty());
}

TEST_F(ProviderTest, ATokenRefusedEvenAfterItsRefreshEndsTheAttemptWithoutASecondRefresh) {
  seed(1h);
  auto ctx = job("job-2");
  // A platform that refuses every token, the fresh one too: one refresh, one retry, then the attempt
  // ends (retried later), never a loop of refreshes.
  const jobs::TokenCall call = [&](const AccessToken&) -> net::awaitable<jobs::TokenUse> {
    co_return jobs::TokenUse::expired("HTTP 401 Unauthorized");
  };
  auto result = run_for(io, jobs::with_token(*provider, *ctx, call));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->kind, jobs::Outcome::Kind::retry);
  EXPECT_EQ(result->error_code, "auth_expired");
  EXPECT_EQ(endpoint.refresh_requests(), 1);
}

TEST_F(ProviderTest, AJobDefersWhileAnotherDaemonRefreshesTheAccount) {
  seed(-1s);
  auto held = run_for(io, store->lock(ref, "daemon-2", 30s));
  ASSERT_EQ(held->state, LockResult::State::taken);
  json ids;
  auto result = publish(*provider, "job-3", ids);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->kind, jobs::Outcome::Kind::defer);
  EXPECT_EQ(result->error_code, "token_refreshing");
  EXPECT_GT(result->after.count(), 0);
  EXPECT_LE(result->after.count(), 100);
  EXPECT_EQ(endpoint.refresh_requests(), 0);
  EXPECT_EQ(endpoint.api_calls(), 0);
}

TEST_F(ProviderTest, WhileAnotherDaemonRefreshesAStillValidTokenIsServed) {
  seed(30s);  // inside the margin, not expired
  auto held = run_for(io, store->lock(ref, "daemon-2", 30s));
  ASSERT_EQ(held->state, LockResult::State::taken);
  auto answer = run_for(io, provider->get(ref));
  ASSERT_EQ(answer.state, TokenState::ready);
  EXPECT_TRUE(answer.token.value.reveal() == access0);
  EXPECT_EQ(endpoint.refresh_requests(), 0);
}

TEST_F(ProviderTest, ARefusedRefreshTokenMarksTheAccountNeedsReauthWithAnEventAndNoPlaintext) {
  seed(-1s, /*endpoint_knows_refresh=*/false);
  json ids;
  auto result = publish(*provider, "job-4", ids);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->kind, jobs::Outcome::Kind::failed);
  EXPECT_EQ(result->error_code, "needs_reauth");
  EXPECT_NE(result->error.find("must be connected again"), std::string::npos) << result->error;
  // The endpoint quoted the refused token in its error; neither form of it reaches the message.
  EXPECT_EQ(result->error.find(refresh0), std::string::npos);
  EXPECT_EQ(endpoint.refresh_refused(), 1);
  const auto a = record();
  EXPECT_EQ(a.status, AccountStatus::needs_reauth);
  EXPECT_NE(a.reason.find("invalid_grant"), std::string::npos) << a.reason;
  EXPECT_EQ(event_keys(), std::vector<std::string>{"needs_reauth:x:acct-1:1"});
  const auto airtable = outbox_text();
  EXPECT_NE(airtable.find("must be connected again"), std::string::npos);
  EXPECT_EQ(airtable.find(refresh0), std::string::npos);
  // Later jobs fail at once, without asking the platform again.
  auto again = run_for(io, provider->get(ref));
  EXPECT_EQ(again.state, TokenState::needs_reauth);
  EXPECT_EQ(endpoint.refresh_requests(), 1);
}

TEST_F(ProviderTest, ARefusalOfATokenAnotherDaemonAlreadyReplacedUsesTheNewerOne) {
  seed(-1s, /*endpoint_knows_refresh=*/false);
  // Just before this daemon's refresh goes out, another daemon stores a newer, working token.
  const std::string access1 = TokenEndpoint::make_token("at"), refresh1 = TokenEndpoint::make_token("rt");
  endpoint.seed(access1, now_epoch_ms() + 3600000, refresh1);
  bool stored_newer = false;
  HookedCalls hooked(*calls, [&]() -> net::awaitable<void> {
    if (stored_newer) co_return;
    stored_newer = true;
    platforms::TokenSet t;
    t.access_token = Secret(access1);
    t.refresh_token = Secret(refresh1);
    t.access_expires_at_ms = now_epoch_ms() + 3600000;
    co_await store->put(ref, t, 0, AccountStatus::active, "", now_epoch_ms());
  });
  auto p = make_provider("daemon-1", &hooked);
  auto answer = run_for(io, p->get(ref));
  ASSERT_EQ(answer.state, TokenState::ready) << answer.message;
  EXPECT_TRUE(answer.token.value.reveal() == access1);
  EXPECT_EQ(endpoint.refresh_refused(), 1);
  EXPECT_EQ(record().status, AccountStatus::active);
  EXPECT_TRUE(event_keys().empty());
}

TEST_F(ProviderTest, ATokenReceivedAfterTheLockExpiredIsStillStoredBecauseItIsNewer) {
  seed(-1s);
  // Daemon 1's refresh reaches the platform, which rotates; its answer is held back.
  endpoint.hold_next_refresh(TokenEndpoint::Hold::after_consuming);
  auto first = make_provider("daemon-1");
  auto second = make_provider("daemon-2");
  std::optional<TokenAnswer> first_answer;
  auto ex = io.get_executor();
  net::Event first_done(ex);
  net::asio::co_spawn(
      ex,
      [&]() -> net::awaitable<void> {
        first_answer = co_await first->get(ref);
        first_done.set();
      },
      net::asio::detached);
  auto second_answer = run_for(io, [&]() -> net::awaitable<TokenAnswer> {
    net::Timer poll(co_await net::asio::this_coro::executor);
    while (endpoint.held_refreshes() < 1) {
      poll.expires_after(5ms);
      co_await poll.async_wait();
    }
    // Daemon 1's lock runs out (it stalled); daemon 2 takes over with the refresh token it has,
    // which the platform already spent: it is refused.
    co_await client->exec("DEL", keys->token_lock("x", "acct-1"));
    co_return co_await second->get(ref);
  }());
  EXPECT_EQ(second_answer.state, TokenState::needs_reauth);
  EXPECT_EQ(record().status, AccountStatus::needs_reauth);
  // Daemon 1's answer arrives: its token is newer than anything stored, so it is kept, and the
  // account works again.
  endpoint.release_held();
  run_for(io, [&]() -> net::awaitable<int> {
    co_await first_done.wait();
    co_return 0;
  }());
  ASSERT_TRUE(first_answer);
  ASSERT_EQ(first_answer->state, TokenState::ready) << first_answer->message;
  EXPECT_TRUE(first_answer->refreshed);
  const auto a = record();
  EXPECT_EQ(a.status, AccountStatus::active);
  EXPECT_TRUE(endpoint.refresh_token_works(stored_tokens().refresh_token.reveal()))
      << "the stored refresh token is not the one that works";
  auto later = run_for(io, second->get(ref));
  ASSERT_EQ(later.state, TokenState::ready);
  EXPECT_TRUE(later.token.value.reveal() == first_answer->token.value.reveal());
}

// The job renewing a token is stopped (its lease lost, a step's deadline) just after the platform
// answered, while Redis is down (killed, as in a failover). The platform has spent the old refresh
// token by then: the new one is still stored once Redis is back, and the refresh lock released.
TEST_F(ProviderTest, ARenewedTokenIsStoredEvenWhenItsJobIsStoppedWhileRedisIsAway) {
  test::RedisProcess own_redis({"--appendfsync", "always"});  // this test kills it: not the shared server
  own_redis.start();
  redis::ClientOptions options;
  std::string error;
  options.url = *redis::parse_redis_url(own_redis.url(), error);
  options.command_timeout = 200ms;
  redis::Client own(io.get_executor(), options);
  own.start();
  provider.reset();  // it holds the shared server's store
  store = std::make_unique<TokenStore>(own, *keys, vault);
  seed(-1s);
  const auto seeded = record().version;
  bool answered = false;
  HookedCalls hooked(*calls, nullptr, [&] {
    answered = true;
    own_redis.kill9();
  });
  auto p = make_provider("daemon-1", &hooked);
  EXPECT_TRUE(refresh_stopped_when(
      *p, [&] { return answered; }, [&] { own_redis.start(); }));  // its port, its data
  run_until(
      io, [&] { return record().version != seeded; }, 20s);
  EXPECT_GT(record().version, seeded) << "the renewed token was dropped with its job";
  EXPECT_EQ(record().status, AccountStatus::active);
  EXPECT_TRUE(endpoint.refresh_token_works(stored_tokens().refresh_token.reveal()))
      << "the stored refresh token is not the one that works";
  auto lock = run_for(io, own.exec("EXISTS", keys->token_lock("x", "acct-1")));
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->integer, 0) << "the refresh lock was left to expire";
  p.reset();
  own.stop();
}

// The job renewing a token is stopped while the platform has not answered yet. The call is not
// abandoned (the platform may have spent the rotating refresh token already): its answer is stored
// and the refresh lock released at once, so the fleet's other jobs of the account do not wait out
// the lock's TTL.
TEST_F(ProviderTest, ARefreshWhoseJobIsStoppedMidCallKeepsTheTokenAndFreesTheLock) {
  seed(-1s);
  const auto seeded = record().version;
  endpoint.hold_next_refresh(TokenEndpoint::Hold::before_consuming);
  EXPECT_TRUE(refresh_stopped_when(
      *provider, [&] { return endpoint.held_refreshes() >= 1; }, [&] { endpoint.release_held(); }));
  // Well inside the lock's TTL (30 s here).
  auto locked = [&] { return run_for(io, client->exec("EXISTS", keys->token_lock("x", "acct-1")))->integer != 0; };
  run_until(
      io, [&] { return !locked(); }, 5s);
  EXPECT_FALSE(locked()) << "the refresh lock was left to expire";
  EXPECT_EQ(endpoint.refresh_granted(), 1);
  EXPECT_GT(record().version, seeded) << "the platform answered and the token was dropped";
  EXPECT_TRUE(endpoint.refresh_token_works(stored_tokens().refresh_token.reveal()))
      << "the stored refresh token is not the one that works";
}

TEST_F(ProviderTest, AFailedRefreshKeepsServingTheOldTokenWhileItWorks) {
  seed(30s);
  endpoint.fail_next_refresh(503);
  auto answer = run_for(io, provider->get(ref));
  ASSERT_EQ(answer.state, TokenState::ready);
  EXPECT_TRUE(answer.token.value.reveal() == access0);
  EXPECT_FALSE(answer.refreshed);
  EXPECT_EQ(record().status, AccountStatus::active);
}

TEST_F(ProviderTest, AFailedRefreshOfAnExpiredTokenRetriesTheJob) {
  seed(-1s);
  endpoint.fail_next_refresh(503);
  json ids;
  auto result = publish(*provider, "job-5", ids);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->kind, jobs::Outcome::Kind::retry);
  EXPECT_EQ(record().status, AccountStatus::active);
  // The lock was released: the next attempt refreshes.
  auto answer = run_for(io, provider->get(ref));
  EXPECT_EQ(answer.state, TokenState::ready);
  EXPECT_EQ(endpoint.refresh_requests(), 2);
}

TEST_F(ProviderTest, ARefreshWithoutAnAnswerIsSettledByTheNextOne) {
  seed(-1s);
  // The platform rotates, the answer never comes back in time: the old refresh token is spent.
  endpoint.hold_next_refresh(TokenEndpoint::Hold::after_consuming);
  auto impatient = make_provider("daemon-1", nullptr, 500ms);
  auto first = run_for(io, impatient->get(ref));
  EXPECT_EQ(first.state, TokenState::unavailable);
  EXPECT_EQ(first.code, "token_refresh_unknown");
  EXPECT_EQ(record().status, AccountStatus::active);
  // The next refresh finds out: refused, so the user must connect the account again.
  auto second = run_for(io, impatient->get(ref));
  EXPECT_EQ(second.state, TokenState::needs_reauth);
  EXPECT_EQ(record().status, AccountStatus::needs_reauth);
  endpoint.release_held();
}

TEST_F(ProviderTest, ARefreshTokenJobRenewsNowWhateverTheMargin) {
  seed(1h);
  auto ctx = job("job-6");
  auto outcome = run_for(io, jobs::refresh_account_token(*provider, *ctx));
  EXPECT_EQ(outcome.kind, jobs::Outcome::Kind::succeeded) << outcome.error;
  EXPECT_TRUE(outcome.result.value("refreshed", false));
  EXPECT_EQ(endpoint.refresh_requests(), 1);
}

TEST_F(ProviderTest, AnUnknownAccountIsNotConnected) {
  auto answer = run_for(io, provider->get(AccountRef{"x", "nobody"}));
  EXPECT_EQ(answer.state, TokenState::not_connected);
  const auto outcome = jobs::token_outcome(answer);
  EXPECT_EQ(outcome.kind, jobs::Outcome::Kind::failed);
  EXPECT_EQ(outcome.error_code, "not_connected");
}

// Airtable's Accounts rows as the outbox would leave them there: the fields of the account's row.
class OutboxRowSource final : public AccountSource {
 public:
  OutboxRowSource(redis::Client& client, const queue::Keys& keys) : client_(client), keys_(keys) {}
  net::awaitable<boost::system::result<std::optional<StoredAccount>>> load(const AccountRef& ref) override {
    ++reads;
    auto r = co_await client_.exec("HGETALL", keys_.outbox_item("airtable:accounts|" + ref.account));
    if (!r) co_return r.error();
    json fields = json::object();
    for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2)
      if (r->elements[i].str.starts_with("f:"))
        fields[r->elements[i].str.substr(2)] = json::parse(r->elements[i + 1].str);
    co_return account_from_airtable_row(ref, fields);
  }
  int reads = 0;

 private:
  redis::Client& client_;
  const queue::Keys& keys_;
};

TEST_F(ProviderTest, AnAccountRedisLostIsReadBackFromItsAccountsRowOnce) {
  seed(-1s);
  OutboxRowSource airtable(*client, *keys);
  store->set_source(&airtable);
  // Redis loses the record (a restore from an older snapshot).
  run_for(io, client->exec("DEL", keys->token("x", "acct-1")));
  auto answer = run_for(io, provider->get(ref));
  ASSERT_EQ(answer.state, TokenState::ready) << answer.message;
  EXPECT_TRUE(answer.refreshed);  // the row's refresh token still worked
  EXPECT_EQ(airtable.reads, 1);
  EXPECT_EQ(endpoint.refresh_requests(), 1);
  EXPECT_EQ(record().status, AccountStatus::active);
  // From then on Redis answers: Airtable is not read on the job path.
  auto again = run_for(io, provider->get(ref));
  ASSERT_EQ(again.state, TokenState::ready);
  EXPECT_EQ(airtable.reads, 1);
  // An account Airtable does not know either is not connected.
  EXPECT_EQ(run_for(io, provider->get(AccountRef{"x", "nobody"})).state, TokenState::not_connected);
  store->set_source(nullptr);
}

TEST(ScrubSecretsTest, RemovesPlainAndUrlEncodedForms) {
  const Secret token("rt+/abc def==");
  const std::string text = "bad token rt+/abc def== (rt%2B%2Fabc%20def%3D%3D, rt%2b%2fabc+def%3d%3d)";
  const auto scrubbed = scrub_secrets(text, {&token});
  EXPECT_EQ(scrubbed, "bad token [redacted] ([redacted], [redacted])");
}

}  // namespace
}  // namespace schedulo::tokens
