// The token store against a real Redis (label `tokens`): key names, sealed records, the expiry
// indexes, versions under concurrent writers, the fenced lock, status changes and re-sealing.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "common/event.hpp"
#include "common/rfc3339.hpp"
#include "queue/redis/client.hpp"
#include "queue/scripts.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tokens/token_store.hpp"

namespace schedulo::tokens {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::run_for;

Vault vault_of(const std::string& text) {
  std::string error;
  auto v = Vault::from_text(text, error);
  if (!v) throw std::runtime_error(error);
  return std::move(*v);
}

platforms::TokenSet token_set(const std::string& access, const std::string& refresh, std::int64_t access_exp,
                              std::int64_t refresh_exp = 0) {
  platforms::TokenSet t;
  t.access_token = Secret(access);
  t.refresh_token = Secret(refresh);
  t.access_expires_at_ms = access_exp;
  t.refresh_expires_at_ms = refresh_exp;
  t.scopes = "tweet.read tweet.write";
  return t;
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis::ClientOptions options;
    std::string error;
    options.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), options);
    client->start();
    keys = std::make_unique<queue::Keys>(test::unique_prefix());
    store = std::make_unique<TokenStore>(*client, *keys, vault);
  }
  void TearDown() override {
    store.reset();
    client->stop();
  }

  redis::Value exec(std::vector<std::string> args) {
    auto r = run_for(io, client->exec_args(args));
    if (!r) throw std::runtime_error(r.error().message());
    return *r;
  }
  PutResult put(const AccountRef& r, const platforms::TokenSet& t, std::int64_t version,
                AccountStatus status = AccountStatus::active) {
    auto written = run_for(io, store->put(r, t, version, status, "", now_epoch_ms()));
    if (!written) throw std::runtime_error(written.error().message());
    return *written;
  }
  StoredAccount load(const AccountRef& which) {
    auto r = run_for(io, store->load(which));
    if (!r || !*r) throw std::runtime_error("no record");
    return **r;
  }
  // What the outbox holds for one record: its fields (JSON values) and, under "@<name>", its
  // bookkeeping ("@version" counts the appends merged into it).
  std::map<std::string, json> outbox_row(const std::string& dest, const std::string& key) {
    std::map<std::string, json> out;
    const auto r = exec({"HGETALL", keys->outbox_item(dest + "|" + key)});
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      const auto& name = r.elements[i].str;
      const auto& value = r.elements[i + 1].str;
      if (name.starts_with("f:"))
        out[name.substr(2)] = json::parse(value);
      else
        out["@" + name] = value;
    }
    return out;
  }
  std::map<std::string, json> account_row() { return outbox_row("airtable:accounts", "acct-1"); }
  std::string guard() { return exec({"GET", keys->outbox_guard("airtable:accounts|acct-1")}).str; }

  boost::asio::io_context io;
  const std::string k1_line = Vault::generate_key_line("k1");
  Vault vault = vault_of(k1_line);
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<queue::Keys> keys;
  std::unique_ptr<TokenStore> store;
  const AccountRef ref{"x", "acct-1"};
};

TEST_F(TokenStoreTest, LuaAndCppBuildTheSameTokenKeyNames) {
  redis::Args args{keys->prefix(), "x", "acct-1"};
  auto r = run_for(io, client->eval(queue::script("token_key_names"), {}, args));
  ASSERT_TRUE(r);
  const std::vector<std::string> expected{keys->token("x", "acct-1"), keys->token_lock("x", "acct-1"),
                                          keys->token_accounts(), keys->token_access_expiry(),
                                          keys->token_refresh_expiry()};
  ASSERT_EQ(r->elements.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(r->elements[i].str, expected[i]) << i;
}

TEST_F(TokenStoreTest, PutStoresSealedTokensIndexesTheirExpiryAndOwesAirtableTheRow) {
  const std::int64_t access_exp = now_epoch_ms() + 7200000, refresh_exp = now_epoch_ms() + 86400000;
  const auto written = put(ref, token_set("at+/plain-access==", "rt+/plain-refresh==", access_exp, refresh_exp), 0);
  ASSERT_TRUE(written.written);
  EXPECT_EQ(written.version, 1);
  const auto record = exec({"HGETALL", keys->token("x", "acct-1")});
  for (const auto& e : record.elements) {
    EXPECT_EQ(e.str.find("plain-access"), std::string::npos);
    EXPECT_EQ(e.str.find("plain-refresh"), std::string::npos);
  }
  const auto a = load(ref);
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.status, AccountStatus::active);
  EXPECT_TRUE(a.access_sealed.starts_with("v1:k1:"));
  EXPECT_EQ(exec({"ZSCORE", keys->token_access_expiry(), "x:acct-1"}).as_integer(), access_exp);
  EXPECT_EQ(exec({"ZSCORE", keys->token_refresh_expiry(), "x:acct-1"}).as_integer(), refresh_exp);
  EXPECT_EQ(exec({"ZSCORE", keys->token_accounts(), "x:acct-1"}).as_integer(), 0);
  std::string error;
  auto opened = store->open(a, error);
  ASSERT_TRUE(opened) << error;
  EXPECT_EQ(opened->access_token.reveal(), "at+/plain-access==");
  EXPECT_EQ(opened->refresh_token.reveal(), "rt+/plain-refresh==");
  EXPECT_EQ(opened->scopes, "tweet.read tweet.write");

  auto row = account_row();
  EXPECT_EQ(row["@version"], "1");  // one append
  EXPECT_EQ(guard(), "1");
  EXPECT_EQ(row["Account Key"], "acct-1");
  EXPECT_EQ(row["Platform"], "x");
  EXPECT_EQ(row["Status"], "active");
  EXPECT_EQ(row["Token Version"], 1);
  EXPECT_EQ(row["Token"], a.access_sealed);
  EXPECT_EQ(row["Refresh Token"], a.refresh_sealed);
  EXPECT_EQ(row["Key Id"], "k1");
  EXPECT_EQ(row["Token Expires At"], format_rfc3339_ms(access_exp));
  EXPECT_EQ(row["Refresh Expires At"], format_rfc3339_ms(refresh_exp));
  EXPECT_EQ(row["Scopes"], "tweet.read tweet.write");
  EXPECT_TRUE(row["Error"].is_null());
  for (const auto& e : exec({"HGETALL", keys->outbox_item("airtable:accounts|acct-1")}).elements)
    EXPECT_EQ(e.str.find("plain-"), std::string::npos);
}

TEST_F(TokenStoreTest, AnOlderVersionNeverReplacesANewerOne) {
  ASSERT_TRUE(put(ref, token_set("access-5", "refresh-5", 0), 5).written);
  const auto older = put(ref, token_set("access-3", "refresh-3", 0), 3);
  EXPECT_FALSE(older.written);
  EXPECT_EQ(older.version, 5);
  EXPECT_FALSE(put(ref, token_set("access-5b", "refresh-5b", 0), 5).written);  // the same version neither
  std::string error;
  auto opened = store->open(load(ref), error);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->access_token.reveal(), "access-5");
  EXPECT_EQ(account_row()["@version"], "1");  // refused writes owe Airtable nothing
  EXPECT_EQ(account_row()["Token Version"], 5);
}

TEST_F(TokenStoreTest, ConcurrentWritersOnSeparateConnectionsLeaveTheNewestVersion) {
  // Eight connections, 400 writes with versions in random order, all in flight together.
  constexpr int kConnections = 8, kWrites = 400;
  std::vector<std::unique_ptr<redis::Client>> clients;
  std::vector<std::unique_ptr<TokenStore>> stores;
  redis::ClientOptions options = client->options();
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<redis::Client>(io.get_executor(), options));
    clients.back()->start();
    stores.push_back(std::make_unique<TokenStore>(*clients.back(), *keys, vault));
  }
  std::vector<int> versions(kWrites);
  for (int i = 0; i < kWrites; ++i) versions[i] = i + 1;
  std::shuffle(versions.begin(), versions.end(), std::mt19937(12345));
  int written = 0, refused = 0;
  run_for(io, [&]() -> net::awaitable<int> {
    net::Countdown done(co_await net::asio::this_coro::executor, kWrites);
    for (int i = 0; i < kWrites; ++i) {
      const int v = versions[i];
      TokenStore& s = *stores[i % kConnections];
      net::asio::co_spawn(
          co_await net::asio::this_coro::executor,
          [&, v, &s = s]() -> net::awaitable<void> {
            const auto set = token_set("access-" + std::to_string(v), "refresh-" + std::to_string(v), 0);
            auto r = co_await s.put(ref, set, v, AccountStatus::active, "", now_epoch_ms());
            if (r && r->written) {
              ++written;
            } else if (r) {
              ++refused;
            }
            done.done();
          },
          net::asio::detached);
    }
    co_await done.wait();
    co_return 0;
  }());
  for (auto& c : clients) c->stop();
  EXPECT_EQ(written + refused, kWrites);
  EXPECT_GE(written, 1);
  const auto a = load(ref);
  EXPECT_EQ(a.version, kWrites);
  std::string error;
  auto opened = store->open(a, error);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->access_token.reveal(), "access-" + std::to_string(kWrites));
  EXPECT_EQ(opened->refresh_token.reveal(), "refresh-" + std::to_string(kWrites));
  // Airtable is owed exactly the accepted writes, and ends with the newest.
  auto row = account_row();
  EXPECT_EQ(row["@version"], std::to_string(written));
  EXPECT_EQ(row["Token Version"], kWrites);
  EXPECT_EQ(row["Token"], a.access_sealed);
  EXPECT_EQ(guard(), std::to_string(kWrites));
}

TEST_F(TokenStoreTest, TheLockIsFencedAndOnlyItsHolderReleasesIt) {
  ASSERT_TRUE(put(ref, token_set("a", "r", 0), 0).written);
  auto a = run_for(io, store->lock(ref, "daemon-a", 30s));
  ASSERT_TRUE(a);
  ASSERT_EQ(a->state, LockResult::State::taken);
  EXPECT_GT(a->fence, 1);
  auto b = run_for(io, store->lock(ref, "daemon-b", 30s));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->state, LockResult::State::held);
  EXPECT_GT(b->left.count(), 0);
  EXPECT_FALSE(*run_for(io, store->unlock(ref, "daemon-b/" + std::to_string(a->fence + 1))));
  EXPECT_TRUE(*run_for(io, store->unlock(ref, a->value)));
  auto c = run_for(io, store->lock(ref, "daemon-b", 30s));
  ASSERT_TRUE(c);
  ASSERT_EQ(c->state, LockResult::State::taken);
  EXPECT_GT(c->fence, a->fence);
  auto unknown = run_for(io, store->lock(AccountRef{"x", "nobody"}, "daemon-a", 30s));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->state, LockResult::State::no_account);
}

TEST_F(TokenStoreTest, AHolderWhoseLockExpiredStillCommitsItsTokenIfNewer) {
  ASSERT_TRUE(put(ref, token_set("a1", "r1", 0), 0).written);
  auto a = run_for(io, store->lock(ref, "daemon-a", 100ms));
  ASSERT_EQ(a->state, LockResult::State::taken);
  // A's lock runs out (a long pause of daemon A), B takes the account over.
  const auto limit = std::chrono::steady_clock::now() + 10s;
  std::optional<LockResult> b;
  while (std::chrono::steady_clock::now() < limit) {
    auto r = run_for(io, store->lock(ref, "daemon-b", 30s));
    ASSERT_TRUE(r);
    if (r->state == LockResult::State::taken) {
      b = *r;
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(b) << "daemon A's lock never expired";
  EXPECT_GT(b->fence, a->fence);
  // A received a token before B did anything: newer than what is stored, so it is kept.
  EXPECT_TRUE(put(ref, token_set("a-from-A", "r-from-A", 0), a->fence).written);
  // B's token, obtained later under the later fence, is newer still.
  EXPECT_TRUE(put(ref, token_set("a-from-B", "r-from-B", 0), b->fence).written);
  // Had A arrived after B, it would have been refused.
  const auto late = put(ref, token_set("a-late", "r-late", 0), a->fence);
  EXPECT_FALSE(late.written);
  EXPECT_EQ(late.version, b->fence);
  std::string error;
  EXPECT_EQ(store->open(load(ref), error)->refresh_token.reveal(), "r-from-B");
}

TEST_F(TokenStoreTest, ANextVersionIsNewerThanAnyFenceDrawn) {
  ASSERT_TRUE(put(ref, token_set("a1", "r1", 0), 0).written);
  auto lock = run_for(io, store->lock(ref, "daemon-a", 30s));
  const auto import = put(ref, token_set("a2", "r2", 0), 0);
  ASSERT_TRUE(import.written);
  EXPECT_GT(import.version, lock->fence);
  // The refresh that held the lock now finds a newer token stored.
  EXPECT_FALSE(put(ref, token_set("a3", "r3", 0), lock->fence).written);
}

TEST_F(TokenStoreTest, AStatusChangeNeedsTheVersionItJudgedAndTellsAirtable) {
  const std::int64_t exp = now_epoch_ms() + 3600000;
  ASSERT_TRUE(put(ref, token_set("a1", "r1", exp, exp), 0).written);
  ASSERT_TRUE(put(ref, token_set("a2", "r2", exp, exp), 0).written);
  const std::vector<AccountEvent> events{{"needs_reauth", "The x account acct-1 must be connected again"}};
  EXPECT_FALSE(
      *run_for(io, store->set_status(ref, 1, AccountStatus::needs_reauth, "refused", now_epoch_ms(), false, events)));
  EXPECT_EQ(load(ref).status, AccountStatus::active);
  EXPECT_TRUE(
      *run_for(io, store->set_status(ref, 2, AccountStatus::needs_reauth, "refused", now_epoch_ms(), false, events)));
  const auto a = load(ref);
  EXPECT_EQ(a.status, AccountStatus::needs_reauth);
  EXPECT_EQ(a.reason, "refused");
  EXPECT_TRUE(exec({"ZSCORE", keys->token_access_expiry(), "x:acct-1"}).is_nil());
  EXPECT_TRUE(exec({"ZSCORE", keys->token_refresh_expiry(), "x:acct-1"}).is_nil());
  auto row = account_row();
  EXPECT_EQ(row["@version"], "3");  // two puts and the status change
  EXPECT_EQ(row["Status"], "needs_reauth");
  EXPECT_EQ(row["Error"], "refused");
  EXPECT_EQ(row["Token Version"], 2);
  auto event = outbox_row("airtable:events", "needs_reauth:x:acct-1:2");
  EXPECT_EQ(event["Event Key"], "needs_reauth:x:acct-1:2");
  EXPECT_EQ(event["Kind"], "error");
  EXPECT_EQ(event["Code"], "needs_reauth");
  EXPECT_EQ(event["Account"], "acct-1");
  EXPECT_EQ(event["Message"], "The x account acct-1 must be connected again");
  // A newer token (the user connected again) makes the account active and indexed again.
  ASSERT_TRUE(put(ref, token_set("a3", "r3", exp, exp), 0).written);
  EXPECT_EQ(load(ref).status, AccountStatus::active);
  EXPECT_EQ(exec({"ZSCORE", keys->token_access_expiry(), "x:acct-1"}).as_integer(), exp);
}

TEST_F(TokenStoreTest, RevokingWipesTheSealedTokens) {
  ASSERT_TRUE(put(ref, token_set("a1", "r1", 0), 0).written);
  EXPECT_TRUE(
      *run_for(io, store->set_status(ref, std::nullopt, AccountStatus::revoked, "disconnected", now_epoch_ms(), true)));
  const auto a = load(ref);
  EXPECT_EQ(a.status, AccountStatus::revoked);
  EXPECT_TRUE(a.access_sealed.empty());
  EXPECT_TRUE(a.refresh_sealed.empty());
}

TEST_F(TokenStoreTest, RewrapReSealsWithTheCurrentKeyUnlessTheRecordChanged) {
  ASSERT_TRUE(put(ref, token_set("a1", "r1", 0), 0).written);
  const auto read = load(ref);
  // The key file gains a new first key; the old one stays until every token is re-sealed.
  const auto rotating = vault_of(Vault::generate_key_line("k2") + "\n" + k1_line);
  TokenStore rotation(*client, *keys, rotating);
  std::string error;
  EXPECT_TRUE(*run_for(io, rotation.rewrap(read, now_epoch_ms(), error))) << error;
  const auto rewrapped = load(ref);
  EXPECT_EQ(rewrapped.version, read.version);
  EXPECT_EQ(Vault::key_id_of(rewrapped.access_sealed), "k2");
  EXPECT_EQ(Vault::key_id_of(rewrapped.refresh_sealed), "k2");
  auto opened = rotation.open(rewrapped, error);
  ASSERT_TRUE(opened) << error;
  EXPECT_EQ(opened->refresh_token.reveal(), "r1");
  EXPECT_EQ(account_row()["Refresh Token"], rewrapped.refresh_sealed);
  EXPECT_EQ(account_row()["Key Id"], "k2");
  // A stale read (a refresh stored a newer token since) is not re-sealed over the newer one.
  ASSERT_TRUE(put(ref, token_set("a2", "r2", 0), 0).written);
  EXPECT_FALSE(*run_for(io, rotation.rewrap(rewrapped, now_epoch_ms(), error)));
  EXPECT_EQ(rotation.open(load(ref), error)->refresh_token.reveal(), "r2");
  // A token sealed with a key the vault lacks is reported, not re-sealed.
  const auto other = vault_of(Vault::generate_key_line("k9"));
  TokenStore stranger(*client, *keys, other);
  error.clear();
  EXPECT_FALSE(*run_for(io, stranger.rewrap(load(ref), now_epoch_ms(), error)));
  EXPECT_NE(error.find("k1"), std::string::npos) << error;
}

TEST_F(TokenStoreTest, ListWalksAccountsInKeyOrder) {
  for (const std::string name : {"c", "a", "e", "b", "d"})
    ASSERT_TRUE(put(AccountRef{"x", name}, token_set("a", "r", 0), 0).written);
  auto first = run_for(io, store->list("", 2));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].account, "a");
  EXPECT_EQ((*first)[1].account, "b");
  auto rest = run_for(io, store->list((*first)[1].member(), 10));
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[0].account, "c");
  EXPECT_EQ((*rest)[2].account, "e");
  EXPECT_EQ(*run_for(io, store->count()), 5);
}

}  // namespace
}  // namespace schedulo::tokens
