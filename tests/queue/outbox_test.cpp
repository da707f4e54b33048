// The outbox in Redis (label `airtable`): appended with a job's outcome or not at all, coalesced per
// record, claimed by one writer at a time, acked under a fence, reclaimed when a writer dies, dead
// items kept with their reason, guards against older versions. Times are passed in.
#include "queue/outbox.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::queue {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::run_for;

constexpr std::int64_t kT0 = 1'800'000'000'000;

class OutboxTest : public ::testing::Test {
 protected:
  OutboxTest() {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    settings.per_account_limit = 0;
    const Keys keys(test::unique_prefix());
    store = std::make_unique<Store>(*client, keys, settings);
    outbox = std::make_unique<Outbox>(*client, keys, settings);
  }
  ~OutboxTest() override {
    run_for(io, [&]() -> net::awaitable<int> {
      auto keys = co_await client->exec("KEYS", store->keys().prefix() + ":*");
      for (const auto& k : keys->elements) co_await client->exec("DEL", k.str);
      co_return 0;
    }());
  }

  static OutboxEntry post(const std::string& key, const std::string& state, int attempts = 1) {
    OutboxEntry e;
    e.dest = "airtable:posts";
    e.key = key;
    e.set("Post Key", key).set("State", state).set("Attempts", attempts);
    return e;
  }
  void append(std::vector<OutboxEntry> entries, std::int64_t now = kT0) {
    auto r = run_for(io, outbox->append(entries, now));
    ASSERT_TRUE(r) << r.error().message();
  }
  OutboxClaim claim(const std::string& dest = "airtable:posts", int max = 10, std::int64_t now = kT0,
                    const std::string& worker = "w1") {
    auto r = run_for(io, outbox->claim(dest, max, worker, 60s, now));
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : OutboxClaim{};
  }
  std::vector<std::string> ack(const std::vector<OutboxItem>& items, OutboxAck::Verdict verdict, std::int64_t now = kT0,
                               std::int64_t due = 0, std::string entries = {}) {
    std::vector<OutboxAck> acks;
    for (const auto& i : items) acks.push_back({i.dest, i.key, i.token, verdict, due, "why", entries});
    auto r = run_for(io, outbox->ack(acks, now));
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : std::vector<std::string>{};
  }
  static std::map<std::string, json> fields(const OutboxItem& item) {
    std::map<std::string, json> m;
    for (const auto& [k, v] : item.fields) m[k] = json::parse(v);
    return m;
  }
  long long integer(std::vector<std::string> args) {
    auto r = run_for(io, client->exec_args(args));
    return r && r->is_integer() ? r->integer : -999;
  }

  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client;
  QueueSettings settings;
  std::unique_ptr<Store> store;
  std::unique_ptr<Outbox> outbox;
};

TEST_F(OutboxTest, PendingWritesToOneRecordCoalesceIntoOneItemWithTheNewestFields) {
  append({post("j1", "running", 1)});
  append({post("j1", "retrying", 1), post("j2", "queued", 0)});
  auto extra = post("j1", "succeeded", 2);
  extra.set("Platform Post ID", "1789");
  append({extra});
  const auto c = claim();
  ASSERT_EQ(c.items.size(), 2u);
  const auto& j1 = c.items[0].key == "j1" ? c.items[0] : c.items[1];
  const auto f = fields(j1);
  EXPECT_EQ(f.at("State"), "succeeded");
  EXPECT_EQ(f.at("Attempts"), 2);
  EXPECT_EQ(f.at("Platform Post ID"), "1789");
  EXPECT_EQ(f.size(), 4u);
}

TEST_F(OutboxTest, LargeNumbersKeepEveryDigit) {
  OutboxEntry e = post("j1", "succeeded");
  e.set("Impressions", 12345678901234567LL).set("Ratio", 0.1234567890123);
  append({e});
  const auto f = fields(claim().items.at(0));
  EXPECT_EQ(f.at("Impressions").get<long long>(), 12345678901234567LL);
  EXPECT_DOUBLE_EQ(f.at("Ratio").get<double>(), 0.1234567890123);
}

TEST_F(OutboxTest, AClaimedItemIsNotClaimedTwiceAndGoesBackWhenItsWriterDies) {
  append({post("j1", "succeeded")});
  const auto first = claim("airtable:posts", 10, kT0, "w1");
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_TRUE(claim("airtable:posts", 10, kT0 + 1, "w2").items.empty());
  auto early = run_for(io, outbox->reclaim(kT0 + 59'000));
  ASSERT_TRUE(early);
  EXPECT_EQ(*early, 0);
  auto late = run_for(io, outbox->reclaim(kT0 + 60'001));
  ASSERT_TRUE(late);
  EXPECT_EQ(*late, 1);
  const auto second = claim("airtable:posts", 10, kT0 + 60'002, "w2");
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(ack(first.items, OutboxAck::Verdict::ok), std::vector<std::string>{"lost"})
      << "the first writer's claim had passed: its ack must change nothing";
  EXPECT_EQ(ack(second.items, OutboxAck::Verdict::ok), std::vector<std::string>{"done"});
  EXPECT_EQ(integer({"EXISTS", outbox->keys().outbox_item("airtable:posts|j1")}), 0);
}

TEST_F(OutboxTest, ARestartedWorkerTakesBackAllItsClaimsAtOnce) {
  append({post("j1", "succeeded"), post("j2", "failed")});
  ASSERT_EQ(claim("airtable:posts", 1, kT0, "w1").items.size(), 1u);
  ASSERT_EQ(claim("airtable:posts", 1, kT0, "w2").items.size(), 1u);
  auto r = run_for(io, outbox->reclaim(kT0 + 1, "w1"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1) << "only w1's claim goes back";
  EXPECT_EQ(claim("airtable:posts", 10, kT0 + 2, "w1").items.size(), 1u);
}

TEST_F(OutboxTest, FieldsAppendedWhileAnItemIsBeingWrittenAreQueuedAgainByTheAck) {
  append({post("j1", "retrying")});
  const auto c = claim();
  append({post("j1", "succeeded", 2)}, kT0 + 5);
  EXPECT_TRUE(claim("airtable:posts", 10, kT0 + 6, "w2").items.empty()) << "still claimed by w1";
  EXPECT_EQ(ack(c.items, OutboxAck::Verdict::ok, kT0 + 7), std::vector<std::string>{"requeued"});
  const auto again = claim("airtable:posts", 10, kT0 + 8);
  ASSERT_EQ(again.items.size(), 1u);
  EXPECT_EQ(fields(again.items[0]).at("State"), "succeeded");
  EXPECT_EQ(ack(again.items, OutboxAck::Verdict::ok, kT0 + 9), std::vector<std::string>{"done"});
}

TEST_F(OutboxTest, ARetriedItemWaitsForItsDueTime) {
  append({post("j1", "succeeded")});
  const auto c = claim();
  EXPECT_EQ(ack(c.items, OutboxAck::Verdict::retry, kT0, kT0 + 30'000), std::vector<std::string>{"retry"});
  EXPECT_TRUE(claim("airtable:posts", 10, kT0 + 29'999).items.empty());
  const auto later = claim("airtable:posts", 10, kT0 + 30'000);
  ASSERT_EQ(later.items.size(), 1u);
  EXPECT_EQ(later.items[0].attempts, 1);
}

TEST_F(OutboxTest, ADeadItemKeepsItsReasonAndItsFollowUpEntryIsAppendedInTheSameStep) {
  append({post("j1", "succeeded")});
  const auto c = claim();
  OutboxEntry event;
  event.dest = "airtable:events";
  event.key = "ev-1";
  event.set("Message", "Posts row j1 was rejected");
  std::vector<OutboxAck> acks{{c.items[0].dest, c.items[0].key, c.items[0].token, OutboxAck::Verdict::dead, 0,
                               "UNKNOWN_FIELD_NAME: Unknown field name: \"Sate\"", encode_outbox({event})}};
  auto r = run_for(io, outbox->ack(acks, kT0));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at(0), "dead");
  auto dead = run_for(io, outbox->dead_list(10));
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->at(0).item, "airtable:posts|j1");
  EXPECT_EQ(dead->at(0).hash.at("reason"), "UNKNOWN_FIELD_NAME: Unknown field name: \"Sate\"");
  EXPECT_EQ(claim("airtable:events").items.size(), 1u);
  EXPECT_TRUE(claim().items.empty());
  // An operator fixed the table: the item goes back, under any newer fields.
  append({post("j1", "succeeded", 3)}, kT0 + 1);
  auto moved = run_for(io, outbox->dead_retry({"airtable:posts|j1"}, kT0 + 2));
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, 1);
  const auto back = claim("airtable:posts", 10, kT0 + 3);
  ASSERT_EQ(back.items.size(), 1u);
  EXPECT_EQ(fields(back.items[0]).at("Attempts"), 3);
}

TEST_F(OutboxTest, AnOlderGuardNeverReplacesANewerOneEvenAfterTheNewerWasWritten) {
  OutboxEntry v2;
  v2.dest = "airtable:accounts";
  v2.key = "acct-1";
  v2.set("Token", "ciphertext-v2").set("Token Version", 2);
  v2.guard = 2;
  append({v2});
  const auto c = claim("airtable:accounts");
  ack(c.items, OutboxAck::Verdict::ok);
  OutboxEntry v1 = v2;
  v1.fields.clear();
  v1.set("Token", "ciphertext-v1").set("Token Version", 1);
  v1.guard = 1;
  auto stale = run_for(io, outbox->append({v1}, kT0 + 1));
  ASSERT_TRUE(stale);
  EXPECT_EQ(*stale, 1);
  EXPECT_TRUE(claim("airtable:accounts", 10, kT0 + 2).items.empty());
}

TEST_F(OutboxTest, HistoryKeepsTheLastLinesOnly) {
  for (int i = 0; i < 5; ++i) {
    OutboxEntry e;
    e.dest = "airtable:analytics";
    e.key = "x:1";
    e.set("Likes", i);
    e.history = OutboxEntry::History{"History", "line " + std::to_string(i), 3};
    append({e}, kT0 + i);
    if (i == 2) ack(claim("airtable:analytics", 10, kT0 + i).items, OutboxAck::Verdict::ok, kT0 + i);
  }
  const auto f = fields(claim("airtable:analytics", 10, kT0 + 10).items.at(0));
  EXPECT_EQ(f.at("History"), "line 2\nline 3\nline 4");
  EXPECT_EQ(f.at("Likes"), 4);
}

TEST_F(OutboxTest, SettleAppendsTheOutboxOnlyWhenTheLeaseStillHolds) {
  NewJob j{"job-1", "publish", "x", "acct", R"({"id":"job-1"})", 0, 3};
  ASSERT_TRUE(run_for(io, store->enqueue({j}, kT0)));
  auto leased = run_for(io, store->lease(kT0, "w1", 1, {{"x", 1}}));
  ASSERT_TRUE(leased);
  ASSERT_EQ(leased->jobs.size(), 1u);
  const auto& l = leased->jobs[0];
  NewJob follow{
      "job-1.analytics.1h", "fetch_analytics", "x", "acct", R"({"id":"job-1.analytics.1h"})", kT0 + 3'600'000, 3};
  Settle lost{l.id,
              l.token + 1000,
              Settlement::succeeded,
              0,
              "",
              "",
              "",
              "",
              encode_outbox({post("job-1", "succeeded")}, {follow})};
  auto r1 = run_for(io, store->settle({lost}, kT0));
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->at(0), "lost");
  EXPECT_EQ(integer({"ZCARD", outbox->keys().outbox_queue("airtable:posts")}), 0);
  EXPECT_EQ(integer({"EXISTS", store->keys().job("job-1.analytics.1h")}), 0);

  Settle held = lost;
  held.token = l.token;
  auto r2 = run_for(io, store->settle({held}, kT0));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->at(0), "succeeded");
  EXPECT_EQ(integer({"ZCARD", outbox->keys().outbox_queue("airtable:posts")}), 1);
  auto follow_state = run_for(io, client->exec("HGET", store->keys().job("job-1.analytics.1h"), "state"));
  ASSERT_TRUE(follow_state);
  EXPECT_EQ(follow_state->str, "scheduled");
}

TEST_F(OutboxTest, AppendCanTrimTheWorkListItsEntriesCameFrom) {
  const std::string work = store->keys().prefix() + ":notifwork:w1";
  run_for(io, client->exec("RPUSH", work, "a", "b", "c"));
  auto r = run_for(io, outbox->append({post("j1", "failed")}, kT0, {}, work, 2));
  ASSERT_TRUE(r);
  EXPECT_EQ(integer({"LLEN", work}), 1);
}

TEST_F(OutboxTest, StatsCountPendingDueClaimedAndDead) {
  append({post("j1", "succeeded"), post("j2", "succeeded")});
  OutboxEntry later = post("j3", "scheduled");
  later.due_ms = kT0 + 1000;
  append({later});
  const auto c = claim("airtable:posts", 1);
  ack(c.items, OutboxAck::Verdict::dead);
  auto st = run_for(io, outbox->stats(kT0 + 10));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->pending.at("airtable:posts"), 2);
  EXPECT_EQ(st->due.at("airtable:posts"), 1);
  EXPECT_EQ(st->dead, 1);
  EXPECT_EQ(st->claimed, 0);
}

}  // namespace
}  // namespace schedulo::queue
