// X through the daemon (label `x`): the real `schedulo run` in live mode, its X adapter
// (platforms/x) pointed at the sandbox's X emulator, a Redis key prefix of each test's own, tokens
// sealed in the daemon's store. Every wait polls a condition with an overall limit that fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/rfc3339.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"
#include "tokens/token_store.hpp"

#ifndef SCHEDULO_DAEMON_BIN
#error "SCHEDULO_DAEMON_BIN must be defined"
#endif

namespace schedulo::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* kClientId = "sbx-x-client-id";
constexpr const char* kClientSecret = "sbx-x-client-secret";

class XDaemon : public ::testing::Test {
 protected:
  void SetUp() override { base = "http://127.0.0.1:" + std::to_string(sandbox.port()); }

  // Starts the daemon with `x` merged into platforms.x and `extra` merged at the top.
  void start(const json& x = json::object(), const json& extra = json::object()) {
    json platform = {{"base_url", base + "/x"},
                     {"upload_url", base + "/x"},
                     {"auth_url", base + "/x/i/oauth2/authorize"},
                     {"client_id", kClientId},
                     {"client_secret", kClientSecret}};
    platform.update(x);
    json c = live_.config("x", platform);
    c.update({{"workers", {{"concurrency", 8}, {"shutdown_grace_ms", 1000}}}, {"tokens", {{"defer_ms", 100}}}}, true);
    c.update(extra, true);
    ASSERT_TRUE(live_.start(c));
  }

  json admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    return http_json(sandbox.port(), method, path, body);
  }

  // A user of the sandbox's X app with fresh tokens, connected as account `key` in the daemon's store.
  struct User {
    std::string id, key, access, refresh;
  };
  User user(const std::string& key, std::int64_t access_expires_in_ms = 2 * 3600 * 1000) {
    const json made = admin("POST", "/_sandbox/x/users", {{"username", key}});
    User u{made["user"]["id"].get<std::string>(), key, made["tokens"]["access_token"].get<std::string>(),
           made["tokens"]["refresh_token"].get<std::string>()};
    platforms::TokenSet t;
    t.access_token = Secret(u.access);
    t.refresh_token = Secret(u.refresh);
    t.access_expires_at_ms = now_epoch_ms() + access_expires_in_ms;
    t.scopes = "tweet.read tweet.write users.read media.write offline.access";
    EXPECT_TRUE(live_.put_tokens("x", key, t));
    return u;
  }

  std::string enqueue(json doc) {
    if (!doc.contains("id")) doc["id"] = "xj" + std::to_string(++job_counter);
    EXPECT_TRUE(live_.enqueue(doc));
    return doc["id"].get<std::string>();
  }
  std::string publish(const User& u, const json& post) {
    return enqueue({{"type", "publish"}, {"platform", "x"}, {"account", u.key}, {"post", post}});
  }

  test::JobFields job(const std::string& id) { return live_.job(id); }
  std::vector<json> attempts(const std::string& id) { return live_.attempts(id); }
  // Waits for one of `states`; returns the record.
  test::JobFields settle(const std::string& id, const std::set<std::string>& states,
                         std::chrono::milliseconds limit = 60s) {
    return live_.wait_for_state(id, states, limit);
  }
  static json result(const test::JobFields& fields) { return test::LiveDaemon::result(fields); }

  // The user's live posts, oldest first.
  std::vector<json> posts(const User& u) {
    std::vector<json> out;
    const json all = admin("GET", "/_sandbox/x/posts?user_id=" + u.id);
    for (const auto& p : all["posts"])
      if (!p.value("deleted", false)) out.push_back(p);
    return out;
  }
  std::vector<json> requests(const std::string& route) {
    std::vector<json> out;
    const json log = admin("GET", "/_sandbox/log?api=x&route=" + route + "&limit=100000");
    for (const auto& e : log["entries"]) out.push_back(e);
    return out;
  }

  tokens::StoredAccount account(const std::string& key) {
    return **run_for(live_.io(), live_.token_store().load(tokens::AccountRef{"x", key}));
  }
  platforms::TokenSet opened(const std::string& key) {
    std::string error;
    auto t = live_.token_store().open(account(key), error);
    if (!t) throw std::runtime_error(error);
    return std::move(*t);
  }

  std::string cdn(const std::string& kind, int bytes) {
    return base + "/cdn/" + kind + "?bytes=" + std::to_string(bytes);
  }

  SandboxProcess sandbox{std::vector<std::string>{}};  // the sandbox clock runs with the wall clock
  LiveDaemon live_{SCHEDULO_DAEMON_BIN, "x"};          // after the sandbox: the daemon ends first
  std::string base;
  int job_counter = 0;
};

TEST_F(XDaemon, TextPost) {
  start();
  const auto u = user("text-user");
  const auto id = publish(u, {{"text", "Hello from the daemon"}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  const auto out = result(done);
  const auto live = posts(u);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["text"], "Hello from the daemon");
  EXPECT_EQ(out["published_id"], live[0]["id"]);
  EXPECT_EQ(out["url"], "https://x.com/i/status/" + live[0]["id"].get<std::string>());
}

TEST_F(XDaemon, FourImagesUploadedInSegments) {
  start({{"upload_chunk_bytes", 65536}});
  const auto u = user("images-user");
  json media = json::array();
  for (const char* kind : {"jpeg", "png", "webp", "jpeg"})
    media.push_back({{"url", cdn(kind, 150000)}, {"kind", "image"}, {"alt_text", std::string("a ") + kind}});
  const auto id = publish(u, {{"text", "four pictures"}, {"media", media}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  const auto live = posts(u);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["media_ids"].size(), 4u) << live[0].dump();
  EXPECT_EQ(requests("x.media.initialize").size(), 4u);
  // 150000 bytes in segments of 65536: three appends per image.
  EXPECT_EQ(requests("x.media.append").size(), 12u);
  EXPECT_EQ(requests("x.media.metadata").size(), 4u);
  EXPECT_EQ(requests("x.tweets.create").size(), 1u);
}

TEST_F(XDaemon, GifProcessedBeforePosting) {
  start();
  const auto u = user("gif-user");
  const auto id = publish(u, {{"text", "a gif"}, {"media", {{{"url", cdn("gif", 40000)}, {"kind", "image"}}}}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  const auto live = posts(u);
  ASSERT_EQ(live.size(), 1u);
  // GIFs take two STATUS polls in the sandbox; the post went out after them.
  const auto polls = requests("x.media.status");
  EXPECT_GE(polls.size(), 2u);
  const auto created = requests("x.tweets.create");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_GT(created[0]["seq"].get<long long>(), polls.back()["seq"].get<long long>());
  EXPECT_EQ(created[0]["body"]["media"]["media_ids"].size(), 1u);
}

TEST_F(XDaemon, GifWithOtherImagesFailsBeforeUpload) {
  start();
  const auto u = user("gif-mix-user");
  const auto id = publish(
      u,
      {{"text", "gif and jpeg"},
       {"media", {{{"url", cdn("gif", 40000)}, {"kind", "image"}}, {{"url", cdn("jpeg", 40000)}, {"kind", "image"}}}}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  EXPECT_EQ(done.at("state"), "failed");
  EXPECT_EQ(done.at("error_code"), "media_mix");
  EXPECT_TRUE(requests("x.media.initialize").empty());
  EXPECT_TRUE(posts(u).empty());
}

TEST_F(XDaemon, VideoSlowProcessingWaits) {
  // Processing asks for 2 s between polls; the daemon sleeps at most 500 ms in a worker, so the job
  // goes `waiting` (no worker held) and polls again on a later attempt.
  admin("POST", "/_sandbox/x/processing", {{"category", "tweet_video"}, {"polls", 3}, {"check_after_secs", 2}});
  start({{"inline_wait_ms", 500}, {"upload_chunk_bytes", 262144}});
  const auto u = user("video-user");
  const auto id = publish(u, {{"text", "a video"}, {"media", {{{"url", cdn("mp4", 600000)}, {"kind", "video"}}}}});
  bool seen_waiting = false;
  std::map<std::string, std::string> fields;
  ASSERT_TRUE(wait_until(
      [&] {
        fields = job(id);
        seen_waiting = seen_waiting || fields["state"] == "waiting";
        return fields["state"] == "succeeded" || fields["state"] == "failed" || fields["state"] == "dead";
      },
      90s));
  ASSERT_EQ(fields["state"], "succeeded") << fields["error"];
  EXPECT_TRUE(seen_waiting);
  std::size_t waits = 0;
  for (const auto& a : attempts(id)) waits += a.value("outcome", "") == "wait" ? 1 : 0;
  EXPECT_GE(waits, 2u);
  EXPECT_GE(requests("x.media.status").size(), 3u);
  EXPECT_EQ(requests("x.media.initialize").size(), 1u);  // uploaded once, whatever the attempts
  EXPECT_EQ(requests("x.media.append").size(), 3u);      // 600000 bytes / 262144
  const auto live = posts(u);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["media_ids"].size(), 1u);
}

TEST_F(XDaemon, ReplyToAPost) {
  start();
  const auto u = user("reply-user");
  const auto parent = admin("POST", "/_sandbox/x/posts", {{"text", "the original"}, {"author_id", u.id}})["id"];
  const auto id = publish(u, {{"text", "a reply"}, {"options", {{"x", {{"reply_to", parent}}}}}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  const auto created = requests("x.tweets.create");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0]["body"]["reply"]["in_reply_to_tweet_id"], parent);
}

// The thread's posts as the sandbox saw them: each a reply to the one before.
void expect_chain(const std::vector<json>& live, const std::vector<std::string>& texts, const json& recorded) {
  ASSERT_EQ(live.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(live[i]["text"], texts[i]) << i;
    EXPECT_EQ(recorded["posts"][i], live[i]["id"]) << i;
    if (i > 0) {
      EXPECT_EQ(live[i].value("in_reply_to_id", ""), live[i - 1]["id"]) << live[i].dump();
    }
  }
}

TEST_F(XDaemon, ThreadFailingAtThirdPostResumes) {
  // The third create answers 503 (not processed); the retry continues from the recorded posts.
  admin("POST", "/_sandbox/faults",
        {{"api", "x"}, {"route", "x.tweets.create"}, {"kind", "error"}, {"status", 503}, {"rate", 0.34}, {"count", 1}});
  start();
  const auto u = user("thread-user");
  const std::vector<std::string> texts{"1/5 start", "2/5 more", "3/5 middle", "4/5 almost", "5/5 end"};
  const auto id =
      publish(u, {{"text", texts[0]}, {"options", {{"x", {{"thread", {texts[1], texts[2], texts[3], texts[4]}}}}}}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  EXPECT_EQ(done.at("attempts"), "2");
  expect_chain(posts(u), texts, result(done));
  EXPECT_EQ(requests("x.tweets.create").size(), 6u);  // five posts and the refused one
}

TEST_F(XDaemon, ThreadWithLostThirdAnswerContinues) {
  // The third post is made but its answer lost: the next attempt finds it on the timeline and goes on.
  admin("POST", "/_sandbox/faults",
        {{"api", "x"}, {"route", "x.tweets.create"}, {"kind", "commit_then_lose"}, {"rate", 0.34}, {"count", 1}});
  start();
  const auto u = user("thread-lost-user");
  const std::vector<std::string> texts{"a 1/5", "a 2/5", "a 3/5", "a 4/5", "a 5/5"};
  const auto id =
      publish(u, {{"text", texts[0]}, {"options", {{"x", {{"thread", {texts[1], texts[2], texts[3], texts[4]}}}}}}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  expect_chain(posts(u), texts, result(done));
  EXPECT_EQ(requests("x.tweets.create").size(), 5u);
  EXPECT_FALSE(requests("x.users.tweets").empty());
}

TEST_F(XDaemon, ExpiredTokenRefreshedOnceAndRetried) {
  start();
  const auto u = user("expired-user");
  admin("POST", "/_sandbox/x/tokens/expire", {{"access_token", u.access}});
  const auto id = publish(u, {{"text", "after a 401"}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  EXPECT_EQ(done.at("attempts"), "1");
  EXPECT_EQ(posts(u).size(), 1u);
  const auto created = requests("x.tweets.create");
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0]["status"], 401);
  EXPECT_EQ(created[1]["status"], 201);
  EXPECT_EQ(requests("x.oauth2.token").size(), 1u);
  // Rotation: the old refresh token is spent and the new one is what the store holds.
  EXPECT_TRUE(admin("POST", "/_sandbox/x/tokens/inspect", {{"token", u.refresh}}).value("used", false));
  const auto now_held = opened(u.key);
  EXPECT_NE(now_held.refresh_token.reveal(), u.refresh);
  const auto fresh = admin("POST", "/_sandbox/x/tokens/inspect", {{"token", now_held.refresh_token.reveal()}});
  EXPECT_EQ(fresh.value("kind", ""), "refresh_token");
  EXPECT_FALSE(fresh.value("used", true));
  // No token in the daemon's log.
  const auto log = live_.log();
  for (const auto& secret : {u.access, u.refresh, now_held.access_token.reveal(), now_held.refresh_token.reveal()})
    EXPECT_EQ(log.find(secret), std::string::npos);
}

TEST_F(XDaemon, RateLimitResetHonouredWithoutAnotherRequest) {
  start();
  const auto u = user("limited-user");
  const auto window = admin("POST", "/_sandbox/x/rate_limits/exhaust",
                            {{"route", "x.tweets.create"}, {"scope", "user_15min"}, {"user_id", u.id}});
  const std::int64_t reset_s = window["reset"].get<std::int64_t>();
  const auto first = publish(u, {{"text", "limited one"}});
  const auto deferred = settle(first, {"deferred", "succeeded", "failed"});
  ASSERT_EQ(deferred.at("state"), "deferred") << deferred.at("error");
  // Deferred to the reset X announced (15 minutes ahead), with no attempt used.
  EXPECT_GE(std::stoll(deferred.at("due_at")), reset_s * 1000 - 1000);
  EXPECT_EQ(deferred.at("attempts"), "0");
  // A second post of the account waits as well, without asking X: the limiter knows the reset.
  const auto second = publish(u, {{"text", "limited two"}});
  const auto second_state = settle(second, {"deferred", "succeeded", "failed"});
  EXPECT_EQ(second_state.at("state"), "deferred");
  EXPECT_GE(std::stoll(second_state.at("due_at")), reset_s * 1000 - 1000);
  EXPECT_EQ(requests("x.tweets.create").size(), 1u);
  EXPECT_TRUE(posts(u).empty());
}

// Architecture rule 3: the publish mark is on the job before the post is sent, so an attempt that
// dies while X holds the request asks X before posting again.
TEST_F(XDaemon, PublishMarkIsRecordedBeforeThePostIsSent) {
  start();
  const auto u = user("mark-user");
  // The first post: the account's token is seen ready and the account known to X.
  ASSERT_EQ(settle(publish(u, {{"text", "first"}}), {"succeeded", "failed", "dead"}).at("state"), "succeeded");
  admin("POST", "/_sandbox/faults", {{"kind", "latency"}, {"route", "x.tweets.create"}, {"ms", 3000}, {"count", 1}});
  const auto id = publish(u, {{"text", "second, held by X"}});
  ASSERT_TRUE(wait_until([&] { return requests("x.tweets.create").size() == 2; }, 20s));
  // X holds the post's request: the job already says the call may have gone out.
  auto running = job(id);
  const auto checkpoint = json::parse(running["checkpoint"], nullptr, false);
  ASSERT_TRUE(checkpoint.is_object()) << running["checkpoint"];
  EXPECT_EQ(checkpoint.value("publish_sent", false), true) << checkpoint.dump();
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  EXPECT_EQ(posts(u).size(), 2u);
}

TEST_F(XDaemon, DisconnectedAccountFailsWithoutACall) {
  start();
  const auto u = user("gone-user");
  ASSERT_EQ(settle(publish(u, {{"text", "while connected"}}), {"succeeded", "failed", "dead"}).at("state"),
            "succeeded");
  // Disconnected after the daemon saw its token ready (and may have it cached): the next job must
  // still fail on the account's state without calling X.
  auto marked =
      run_for(live_.io(), live_.token_store().set_status(tokens::AccountRef{"x", u.key}, std::nullopt,
                                                         tokens::AccountStatus::revoked, "test", now_epoch_ms(), true));
  ASSERT_TRUE(marked && *marked);
  const auto id = publish(u, {{"text", "after disconnecting"}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "failed");
  EXPECT_NE(done.at("error").find("was disconnected"), std::string::npos) << done.at("error");
  EXPECT_EQ(requests("x.tweets.create").size(), 1u);
  EXPECT_EQ(posts(u).size(), 1u);
}

TEST_F(XDaemon, RateLimitedAfterAReadyTokenDefersUntilItClearsWithoutACall) {
  start();
  const auto u = user("slot-user");
  ASSERT_EQ(settle(publish(u, {{"text", "before the limit"}}), {"succeeded", "failed", "dead"}).at("state"),
            "succeeded");
  // The limiter learns of X's exhausted window from a refused post; the next post is refused by the
  // limiter before it is sent: deferred to the reset, no attempt used, nothing sent.
  const auto window = admin("POST", "/_sandbox/x/rate_limits/exhaust",
                            {{"route", "x.tweets.create"}, {"scope", "user_15min"}, {"user_id", u.id}});
  const std::int64_t reset_ms = window["reset"].get<std::int64_t>() * 1000;
  const auto refused = settle(publish(u, {{"text", "refused by X"}}), {"deferred", "succeeded", "failed"});
  ASSERT_EQ(refused.at("state"), "deferred") << refused.at("error");
  const auto id = publish(u, {{"text", "held by the limiter"}});
  auto held = settle(id, {"deferred", "succeeded", "failed"});
  ASSERT_EQ(held.at("state"), "deferred") << held.at("error");
  EXPECT_GE(std::stoll(held.at("due_at")), reset_ms - 1000);
  EXPECT_EQ(held.at("attempts"), "0");
  EXPECT_EQ(held.at("error_code"), "rate_limited");
  const auto checkpoint = json::parse(held["checkpoint"], nullptr, false);
  EXPECT_FALSE(checkpoint.is_object() && checkpoint.value("publish_sent", false)) << held["checkpoint"];
  EXPECT_EQ(requests("x.tweets.create").size(), 2u);  // the first post and the refused one
  EXPECT_EQ(posts(u).size(), 1u);
}

TEST_F(XDaemon, DailyCapWaitsForTheDailyReset) {
  // The 24-hour user cap spent: X's 429 carries x-rate-limit-remaining above 0 and the 24-hour set at
  // 0; the job waits for the 24-hour reset, not the 15-minute one.
  start();
  const auto u = user("daily-user");
  const auto cap = admin("POST", "/_sandbox/x/rate_limits/exhaust",
                         {{"route", "x.tweets.create"}, {"scope", "user_24h"}, {"user_id", u.id}});
  const std::int64_t reset_s = cap["reset"].get<std::int64_t>();
  const auto id = publish(u, {{"text", "over the daily cap"}});
  const auto deferred = settle(id, {"deferred", "succeeded", "failed"});
  ASSERT_EQ(deferred.at("state"), "deferred") << deferred.at("error");
  EXPECT_GE(std::stoll(deferred.at("due_at")), reset_s * 1000 - 1000);
  EXPECT_GT(std::stoll(deferred.at("due_at")), now_epoch_ms() + 20 * 3600 * 1000LL);
  EXPECT_EQ(requests("x.tweets.create").size(), 1u);
}

TEST_F(XDaemon, MonthlyUsageCapDefersToNextMonth) {
  admin("POST", "/_sandbox/x/usage", {{"client_id", kClientId}, {"write_cap", 1}, {"writes_used", 1}});
  start();
  const auto u = user("capped-user");
  const auto id = publish(u, {{"text", "over the monthly cap"}});
  const auto deferred = settle(id, {"deferred", "succeeded", "failed"});
  ASSERT_EQ(deferred.at("state"), "deferred") << deferred.at("error");
  EXPECT_EQ(deferred.at("error_code"), "usage-capped");
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (++tm.tm_mon == 12) {
    tm.tm_mon = 0;
    ++tm.tm_year;
  }
  EXPECT_GE(std::stoll(deferred.at("due_at")), static_cast<long long>(::timegm(&tm)) * 1000 - 1000);
  EXPECT_EQ(requests("x.tweets.create").size(), 1u);
}

TEST_F(XDaemon, DuplicateOnFirstAttemptIsPermanent) {
  start();
  const auto u = user("dup-user");
  admin("POST", "/_sandbox/x/posts", {{"text", "said before"}, {"author_id", u.id}});
  const auto id = publish(u, {{"text", "said before"}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  EXPECT_EQ(done.at("state"), "failed");
  EXPECT_EQ(done.at("error_code"), "duplicate");
  EXPECT_EQ(done.at("attempts"), "1");
  EXPECT_EQ(posts(u).size(), 1u);
}

TEST_F(XDaemon, CommitThenLoseTheAnswerIsOnePost) {
  admin("POST", "/_sandbox/faults",
        {{"api", "x"}, {"route", "x.tweets.create"}, {"kind", "commit_then_lose"}, {"count", 1}});
  start();
  const auto u = user("lost-user");
  const auto id = publish(u, {{"text", "the answer was lost"}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  const auto live = posts(u);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(result(done)["published_id"], live[0]["id"]);
  EXPECT_EQ(requests("x.tweets.create").size(), 1u);  // settled from the timeline, not posted again
}

TEST_F(XDaemon, DuplicateAfterUnknownMeansExists) {
  // The timeline the daemon searches (5 posts) is filled with newer posts, so the lost post is not
  // found there; posting again gets X's duplicate 403, which after the unknown outcome is evidence.
  admin("POST", "/_sandbox/faults",
        {{"api", "x"}, {"route", "x.tweets.create"}, {"kind", "commit_then_lose"}, {"count", 1}});
  start({{"reconcile_posts", 5}});
  const auto u = user("evidence-user");
  const std::string later = format_rfc3339_ms(now_epoch_ms() + 3600 * 1000);
  for (int i = 0; i < 5; ++i)
    admin("POST", "/_sandbox/x/posts",
          {{"text", "newer " + std::to_string(i)}, {"author_id", u.id}, {"created_at", later}});
  const auto id = publish(u, {{"text", "made but not seen"}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  EXPECT_TRUE(result(done).value("duplicate_evidence", false)) << done.at("result");
  std::size_t mine = 0;
  for (const auto& p : posts(u)) mine += p["text"] == "made but not seen" ? 1 : 0;
  EXPECT_EQ(mine, 1u);
  const auto created = requests("x.tweets.create");
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[1]["status"], 403);
}

TEST_F(XDaemon, ReusedRefreshTokenNeedsReauth) {
  start();
  const auto u = user("reused-user", -60000);  // the access token expired: a refresh comes first
  // The refresh token is spent elsewhere (another client, an old copy): X refuses it from now on.
  const auto spent = http(sandbox.port(), "POST", "/x/2/oauth2/token",
                          "grant_type=refresh_token&refresh_token=" + u.refresh + "&client_id=" + kClientId,
                          {{"Content-Type", "application/x-www-form-urlencoded"},
                           {"Authorization", "Basic c2J4LXgtY2xpZW50LWlkOnNieC14LWNsaWVudC1zZWNyZXQ="}});
  ASSERT_EQ(spent.status, 200) << spent.body;
  const auto id = publish(u, {{"text", "needs a new connection"}});
  const auto done = settle(id, {"succeeded", "failed", "dead", "needs_review"});
  EXPECT_EQ(done.at("state"), "failed");
  EXPECT_EQ(done.at("error_code"), "needs_reauth") << done.at("error");
  EXPECT_EQ(account(u.key).status, tokens::AccountStatus::needs_reauth);
  EXPECT_TRUE(requests("x.tweets.create").empty());
  EXPECT_TRUE(posts(u).empty());
}

TEST_F(XDaemon, RefreshJobRotatesTheStoredToken) {
  start();
  const auto u = user("rotate-user");
  const auto first = enqueue({{"type", "refresh_token"}, {"platform", "x"}, {"account", u.key}});
  ASSERT_EQ(settle(first, {"succeeded", "failed", "dead"}).at("state"), "succeeded");
  const auto after_first = opened(u.key);
  EXPECT_NE(after_first.refresh_token.reveal(), u.refresh);
  EXPECT_TRUE(admin("POST", "/_sandbox/x/tokens/inspect", {{"token", u.refresh}}).value("used", false));
  // The stored one is the live one: a second refresh works with it and rotates again.
  const auto second = enqueue({{"type", "refresh_token"}, {"platform", "x"}, {"account", u.key}});
  ASSERT_EQ(settle(second, {"succeeded", "failed", "dead"}).at("state"), "succeeded");
  const auto after_second = opened(u.key);
  EXPECT_NE(after_second.refresh_token.reveal(), after_first.refresh_token.reveal());
  EXPECT_EQ(requests("x.oauth2.token").size(), 2u);
  for (const auto& r : requests("x.oauth2.token")) EXPECT_EQ(r["status"], 200);
}

TEST_F(XDaemon, RevokeJobEndsTheGrant) {
  start();
  const auto u = user("revoke-user");
  const auto id = enqueue({{"type", "revoke_token"}, {"platform", "x"}, {"account", u.key}});
  const auto done = settle(id, {"succeeded", "failed", "dead"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  EXPECT_EQ(account(u.key).status, tokens::AccountStatus::revoked);
  EXPECT_TRUE(admin("POST", "/_sandbox/x/tokens/inspect", {{"token", u.refresh}}).value("revoked", false));
  EXPECT_TRUE(admin("POST", "/_sandbox/x/tokens/inspect", {{"token", u.access}}).value("revoked", false));
}

TEST_F(XDaemon, AnalyticsBatchesWithinLimits) {
  start();
  const auto u = user("metrics-user");
  const auto other = admin("POST", "/_sandbox/x/users", {{"username", "someone-else"}})["user"]["id"];
  std::vector<std::string> ids;
  for (int i = 0; i < 99; ++i)
    ids.push_back(
        admin("POST", "/_sandbox/x/posts", {{"text", "post " + std::to_string(i)}, {"author_id", u.id}})["id"]);
  const std::string theirs =
      admin("POST", "/_sandbox/x/posts", {{"text", "not mine"}, {"author_id", other}})["id"].get<std::string>();
  ids.push_back(theirs);
  admin("POST", "/_sandbox/x/posts/" + ids[0] + "/metrics",
        {{"public_metrics", {{"like_count", 7}}}, {"non_public_metrics", {{"url_link_clicks", 3}}}});
  const auto id =
      enqueue({{"type", "fetch_analytics"}, {"platform", "x"}, {"account", u.key}, {"targets", {{"post_ids", ids}}}});
  const auto done = settle(id, {"succeeded", "failed", "dead"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  const auto out = result(done);
  ASSERT_EQ(out["metrics"].size(), 100u);
  EXPECT_EQ(out["metrics"][ids[0]]["public_metrics"]["like_count"], 7);
  EXPECT_EQ(out["metrics"][ids[0]]["non_public_metrics"]["url_link_clicks"], 3);
  EXPECT_TRUE(out["metrics"][ids[1]].contains("organic_metrics"));
  // Someone else's post: public metrics only.
  EXPECT_TRUE(out["metrics"][theirs].contains("public_metrics"));
  EXPECT_FALSE(out["metrics"][theirs].contains("non_public_metrics"));
  // A job's most (100 ids of 19 digits) do not fit the HTTP client's 2048-character URLs in one
  // lookup: two calls, each within X's 100 ids and the URL limit.
  const auto lookups = requests("x.tweets.lookup");
  ASSERT_EQ(lookups.size(), 2u);
  EXPECT_EQ(out["calls"], 2);
  std::size_t asked = 0;
  for (const auto& l : lookups) {
    const std::string query = l["query"].get<std::string>();
    const auto from = query.find("ids=") + 4;
    const auto asked_ids = query.substr(from, query.find('&', from) - from);
    const auto n = static_cast<std::size_t>(std::count(asked_ids.begin(), asked_ids.end(), ',')) + 1;
    EXPECT_LE(n, 100u);
    asked += n;
  }
  EXPECT_GE(asked, 100u);
}

TEST_F(XDaemon, AnalyticsOfRecentPostsWithoutTargets) {
  start();
  const auto u = user("recent-metrics-user");
  for (int i = 0; i < 12; ++i)
    admin("POST", "/_sandbox/x/posts", {{"text", "recent " + std::to_string(i)}, {"author_id", u.id}});
  const auto id = enqueue({{"type", "fetch_analytics"}, {"platform", "x"}, {"account", u.key}});
  const auto done = settle(id, {"succeeded", "failed", "dead"});
  ASSERT_EQ(done.at("state"), "succeeded") << done.at("error");
  EXPECT_EQ(result(done)["metrics"].size(), 12u);
  EXPECT_EQ(requests("x.users.tweets").size(), 1u);
  EXPECT_EQ(requests("x.tweets.lookup").size(), 1u);
}

}  // namespace
}  // namespace schedulo::test
