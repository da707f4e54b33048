// TikTok through the daemon (label `tiktok`): the real `schedulo run` in live mode, its
// platforms.tiktok keys pointed at the sandbox's TikTok emulator, on the tests' Redis under a key
// prefix of each test's own. Jobs go in through the queue store; what the daemon did is read back from
// the job record, the token store and the emulator (its request log, publishes and posts).
//
// Every wait polls a condition with an overall limit that fails the test; crash points come from the
// emulator holding a request (latency faults) or from what it has logged, never from sleeps.
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
#include <string>
#include <thread>
#include <vector>

#include "common/rfc3339.hpp"
#include "jobs/intake.hpp"
#include "jobs/job_validation.hpp"
#include "platforms/http/address_policy.hpp"
#include "queue/redis/client.hpp"
#include "queue/store.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"
#include "tokens/token_store.hpp"
#include "tokens/vault.hpp"

namespace schedulo::tiktok {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::http_json;
using test::wait_until;

constexpr std::int64_t kMiB = 1 << 20;
constexpr const char* kAccount = "acct-1";
constexpr const char* kOpenId = "tt-user-1";

class TikTokDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox = std::make_unique<test::SandboxProcess>(std::vector<std::string>{});
    port = sandbox->port();
    base = "http://127.0.0.1:" + std::to_string(port);
    live = std::make_unique<test::LiveDaemon>(SCHEDULO_BIN, "tiktok");
    user({});
  }

  void TearDown() override {
    live->kill9();
    live.reset();
  }

  // The emulator's user behind acct-1: creator settings and how its publishes end.
  json user(const json& patch) {
    json body = {{"processing_polls", 1}, {"public_polls", 0}};
    for (auto it = patch.begin(); it != patch.end(); ++it) body[it.key()] = it.value();
    return http_json(port, "PUT", std::string("/_sandbox/tiktok/users/") + kOpenId, body);
  }

  // A token pair issued by the emulator, stored for acct-1 as the daemon's token core would.
  json connect(std::chrono::seconds access_left = 7200s) {
    const json pair = http_json(port, "POST", "/_sandbox/tiktok/tokens", {{"open_id", kOpenId}});
    store_tokens(pair, access_left);
    return pair;
  }
  void store_tokens(const json& pair, std::chrono::seconds access_left) {
    platforms::TokenSet t;
    t.access_token = Secret(pair.at("access_token").get<std::string>());
    t.refresh_token = Secret(pair.at("refresh_token").get<std::string>());
    t.access_expires_at_ms = now_epoch_ms() + std::chrono::milliseconds(access_left).count();
    t.refresh_expires_at_ms = now_epoch_ms() + pair.value("refresh_expires_in", 0LL) * 1000;
    t.scopes = pair.value("scope", "");
    ASSERT_TRUE(live->put_tokens("tiktok", kAccount, t));
  }

  json config(const json& tiktok_overrides) {
    json tiktok = {{"base_url", base + "/tiktok"},
                   {"auth_url", base + "/tiktok/v2/auth/authorize/"},
                   {"upload_url", base + "/tiktok-upload"},
                   {"client_id", "sbx-tiktok-client-id"},
                   {"client_secret", "sbx-tiktok-client-secret"},
                   {"verified_prefixes", {base + "/cdn/"}},
                   {"chunk_bytes", 10 * kMiB},
                   {"status_poll_ms", 200},
                   {"public_id_wait_ms", 5000}};
    for (auto it = tiktok_overrides.begin(); it != tiktok_overrides.end(); ++it) tiktok[it.key()] = it.value();
    json c = live->config("tiktok", tiktok);
    c.update({{"workers", {{"id", "tt-worker"}, {"lease_ms", 3000}, {"shutdown_grace_ms", 1000}}},
              {"tokens", {{"defer_ms", 100}}},
              {"security", {{"allow_private_hosts", {"127.0.0.0/8", "localhost"}}}},
              {"jobs", {{"retry_cap_ms", 500}}},
              {"log", {{"level", "info"}}}},
             true);
    return c;
  }

  void start_daemon(const json& tiktok_overrides = json::object()) {
    ASSERT_TRUE(live->start(config(tiktok_overrides)));
  }
  void restart_daemon() { ASSERT_TRUE(live->restart()); }

  std::string video_url(std::int64_t bytes, const std::string& extra = "") {
    return base + "/cdn/mp4/v" + std::to_string(bytes) + ".mp4?bytes=" + std::to_string(bytes) + extra;
  }

  json publish_job(const std::string& id, const json& media, const json& options, const std::string& text = "") {
    json post = {{"media", media}, {"options", {{"tiktok", options}}}};
    if (!text.empty()) post["text"] = text;
    return {{"id", id}, {"type", "publish"}, {"platform", "tiktok"}, {"account", kAccount}, {"post", post}};
  }
  json video_job(const std::string& id, const std::string& url, json options) {
    if (!options.contains("privacy_level") && options.value("mode", "") != "inbox")
      options["privacy_level"] = "SELF_ONLY";
    return publish_job(id, json::array({{{"url", url}, {"kind", "video"}}}), options, "a video #" + id);
  }

  void enqueue(const json& doc, int max_attempts = 5) {
    ASSERT_TRUE(live->enqueue(doc, max_attempts, {"127.0.0.0/8", "localhost"}));
  }

  std::map<std::string, std::string> job(const std::string& id) { return live->job(id); }
  static std::string show(const std::map<std::string, std::string>& f) {
    std::string out;
    for (const char* k : {"state", "error_code", "error", "result", "checkpoint"})
      if (f.count(k)) out += std::string(k) + "=" + f.at(k) + "\n";
    return out;
  }

  // Waits for the job to end (succeeded, failed, dead, needs_review) and returns its record.
  std::map<std::string, std::string> finished(const std::string& id, std::chrono::milliseconds limit = 120s) {
    return live->wait_for_state(id, test::LiveDaemon::final_states(), limit);
  }

  json result(const std::map<std::string, std::string>& f) {
    return f.count("result") ? json::parse(f.at("result"), nullptr, false) : json();
  }

  // The emulator's request log for one route ("tiktok.upload", "tiktok.video_init", ...).
  json log(const std::string& route) {
    return http_json(port, "GET", "/_sandbox/log?route=" + route + "&limit=10000")["entries"];
  }
  json publishes() { return http_json(port, "GET", "/_sandbox/tiktok/publishes")["publishes"]; }
  json posts() { return http_json(port, "GET", "/_sandbox/tiktok/posts")["posts"]; }
  json publish(const std::string& id) { return http_json(port, "GET", "/_sandbox/tiktok/publishes/" + id); }
  void fault(const json& spec) {
    const auto r = http_json(port, "POST", "/_sandbox/faults", spec);
    ASSERT_FALSE(r.contains("error")) << r.dump();
  }

  // "bytes FIRST-LAST/TOTAL" of each chunk the section 2.5 arithmetic gives.
  static std::vector<std::string> expected_ranges(std::int64_t size, std::int64_t preferred) {
    std::int64_t chunk = preferred;
    if (size < 5 * kMiB || size <= preferred) chunk = size;
    const std::int64_t count = size / chunk;
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t first = i * chunk;
      const std::int64_t last = i + 1 == count ? size - 1 : first + chunk - 1;
      out.push_back("bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
    }
    return out;
  }
  // The Content-Range of each accepted (206/201) chunk PUT to the publish's upload, in order.
  std::vector<std::string> accepted_ranges(const json& upload_log, const std::string& upload_id) {
    std::vector<std::string> out;
    for (const auto& e : upload_log) {
      if (e.value("query", "").find("upload_id=" + upload_id + "&") == std::string::npos) continue;
      const int status = e.value("status", 0);
      if (status == 206 || status == 201) out.push_back(e["headers"].value("content-range", ""));
    }
    return out;
  }

  std::string base;
  std::uint16_t port = 0;
  std::unique_ptr<test::SandboxProcess> sandbox;
  std::unique_ptr<test::LiveDaemon> live;  // after the sandbox: the daemon ends first
};

// Videos of 1, 6, 70 and 300 MB by FILE_UPLOAD: the chunk count and every Content-Range follow the
// arithmetic of section 2.5 exactly (10 MiB chunks, the last absorbing the remainder, one chunk under
// 5 MiB or under the chunk size), and each video is one complete post with all its bytes.
TEST_F(TikTokDaemonTest, VideosOfSeveralSizesGoUpInExactChunks) {
  connect();
  start_daemon();
  const std::vector<std::int64_t> sizes{1'000'000, 6'000'000, 70'000'000, 300'000'000};
  for (const auto size : sizes) {
    const std::string id = "size" + std::to_string(size);
    enqueue(video_job(id, video_url(size), {{"source", "upload"}}));
    const auto f = finished(id, 300s);
    ASSERT_EQ(f.at("state"), "succeeded") << show(f);
    const auto r = result(f);
    const auto p = publish(r.value("publish_id", ""));
    ASSERT_EQ(p.value("source", ""), "FILE_UPLOAD") << p.dump();
    const auto video_size = p.value("video_size", std::int64_t{0});
    EXPECT_GE(video_size, size);
    const auto expected = expected_ranges(video_size, 10 * kMiB);
    EXPECT_EQ(p.value("total_chunk_count", std::int64_t{0}), static_cast<std::int64_t>(expected.size()));
    EXPECT_EQ(p.value("uploaded_bytes", std::int64_t{0}), video_size);
    EXPECT_EQ(accepted_ranges(log("tiktok.upload"), p.value("upload_id", "")), expected) << "video of " << size;
    EXPECT_EQ(p.value("status", ""), "PUBLISH_COMPLETE");
    // The public id is an int64 above 2^53, kept exact as text.
    EXPECT_EQ(r.value("post_id", ""), p.value("post_id", "x"));
    EXPECT_GT(r.value("post_id", "").size(), 16U);
  }
  EXPECT_EQ(posts().size(), sizes.size());
}

// A chunk answered 500 is sent again; a chunk whose answer was lost after the server kept it is
// answered 416 on the resend, and the upload goes on from the server's Content-Range.
TEST_F(TikTokDaemonTest, FailedAndLostChunksResumeFromTheServersRange) {
  connect();
  start_daemon();
  fault({{"kind", "error"}, {"status", 500}, {"route", "tiktok.upload"}, {"count", 1}});
  enqueue(video_job("c500", video_url(25'000'000), {{"source", "upload"}}));
  auto f = finished("c500");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  auto p = publish(result(f).value("publish_id", ""));
  EXPECT_EQ(p.value("uploaded_bytes", std::int64_t{0}), p.value("video_size", std::int64_t{-1}));
  EXPECT_EQ(p.value("chunks_received", std::int64_t{0}), p.value("total_chunk_count", std::int64_t{-1}));
  auto upload = log("tiktok.upload");
  ASSERT_GE(upload.size(), 2U);
  EXPECT_EQ(upload[0].value("status", 0), 500);
  EXPECT_EQ(upload[0]["headers"].value("content-range", "a"), upload[1]["headers"].value("content-range", "b"));
  EXPECT_EQ(upload[1].value("status", 0), 206);

  // The second chunk arrives, its answer does not: the resend is refused with 416 and the server's range.
  http_json(port, "DELETE", "/_sandbox/log");
  fault({{"kind", "commit_then_lose"}, {"route", "tiktok.upload"}, {"count", 1}, {"rate", 0.5}});
  enqueue(video_job("c416", video_url(25'000'000), {{"source", "upload"}}));
  f = finished("c416");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  p = publish(result(f).value("publish_id", ""));
  EXPECT_EQ(p.value("uploaded_bytes", std::int64_t{0}), p.value("video_size", std::int64_t{-1}));
  EXPECT_EQ(p.value("chunks_received", std::int64_t{0}), p.value("total_chunk_count", std::int64_t{-1}));
  upload = log("tiktok.upload");
  int refused = 0;
  for (const auto& e : upload) refused += e.value("status", 0) == 416 ? 1 : 0;
  EXPECT_EQ(refused, 1) << upload.dump(1);
  EXPECT_EQ(accepted_ranges(upload, p.value("upload_id", "")),
            expected_ranges(p.value("video_size", std::int64_t{0}), 10 * kMiB))
      << "every chunk accepted once, in order: the lost answer's chunk did not go into the upload twice";
  EXPECT_EQ(posts().size(), 2U);
}

// The upload_url expires (1 h on the sandbox clock) while a chunk is on its way: 403, a new init, the
// whole video again under the new upload_url, one post.
TEST_F(TikTokDaemonTest, AnExpiredUploadUrlStartsANewInit) {
  connect();
  start_daemon();
  fault({{"kind", "latency"}, {"ms", 1500}, {"route", "tiktok.upload"}, {"count", 1}});
  enqueue(video_job("exp", video_url(12'000'000), {{"source", "upload"}}));
  ASSERT_TRUE(wait_until([&] { return !log("tiktok.upload").empty(); }, 60s));
  http_json(port, "POST", "/_sandbox/clock", {{"advance_ms", 61 * 60 * 1000}});
  const auto f = finished("exp");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  const auto inits = log("tiktok.video_init");
  EXPECT_EQ(inits.size(), 2U);
  const auto upload = log("tiktok.upload");
  ASSERT_FALSE(upload.empty());
  EXPECT_EQ(upload[0].value("status", 0), 403);
  const auto p = publish(result(f).value("publish_id", ""));
  EXPECT_EQ(p.value("uploaded_bytes", std::int64_t{0}), p.value("video_size", std::int64_t{-1}));
  EXPECT_EQ(posts().size(), 1U);
}

// A video under a verified prefix goes by PULL_FROM_URL; TikTok refusing the prefix, and a job asking
// for a pull from an unverified URL, fail with url_ownership_unverified.
TEST_F(TikTokDaemonTest, PullFromUrlWhenTheMediaHostIsVerified) {
  connect();
  start_daemon();
  enqueue(video_job("pull", video_url(3'000'000), json::object()));
  auto f = finished("pull");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  auto inits = log("tiktok.video_init");
  ASSERT_EQ(inits.size(), 1U);
  EXPECT_EQ(inits[0]["body"]["source_info"].value("source", ""), "PULL_FROM_URL");
  EXPECT_EQ(inits[0]["body"]["source_info"].value("video_url", ""), video_url(3'000'000));
  EXPECT_TRUE(log("tiktok.upload").empty());
  EXPECT_EQ(result(f).value("source", ""), "PULL_FROM_URL");

  enqueue(video_job("unverified", "http://localhost:" + std::to_string(port) + "/cdn/mp4/x.mp4", {{"source", "pull"}}));
  f = finished("unverified");
  EXPECT_EQ(f.at("state"), "failed") << show(f);
  EXPECT_EQ(f.at("error_code"), "url_ownership_unverified");
  EXPECT_EQ(log("tiktok.video_init").size(), 1U) << "no init for a URL the daemon knows is not verified";

  http_json(port, "PUT", "/_sandbox/tiktok/apps/sbx-tiktok-client-id", {{"verified_prefixes", {"https://elsewhere/"}}});
  enqueue(video_job("refused", video_url(3'000'000), json::object()));
  f = finished("refused");
  EXPECT_EQ(f.at("state"), "failed") << show(f);
  EXPECT_EQ(f.at("error_code"), "url_ownership_unverified");
  EXPECT_NE(f.at("error").find("verified"), std::string::npos) << f.at("error");
  EXPECT_EQ(posts().size(), 1U);
}

// A video pulled from a verified URL: validate and stage make no call (nothing is downloaded), so
// their progress goes with the save before create (creator_info). Each entry is one checkpoint save.
TEST_F(TikTokDaemonTest, StepsThatMakeNoCallAreSavedWithTheNextSave) {
  connect();
  json c = config(json::object());
  c["log"]["level"] = "debug";
  ASSERT_TRUE(live->start(c));
  enqueue(video_job("saves", video_url(2'000'000), json::object()));
  const auto f = finished("saves");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  EXPECT_EQ(result(f).value("source", ""), "PULL_FROM_URL");
  EXPECT_EQ(live->saved_progress("saves"), (std::vector<std::string>{"stage", "create", "upload", "upload publish_sent",
                                                                     "publish publish_sent published"}));
}

// Photos: content/init with PULL_FROM_URL, DIRECT_POST, the caption as the description.
TEST_F(TikTokDaemonTest, PhotoPost) {
  connect();
  start_daemon();
  const json media = json::array({{{"url", base + "/cdn/webp/a.webp?width=1080&height=1080"}, {"kind", "image"}},
                                  {{"url", base + "/cdn/jpeg/b.jpg?width=1080&height=1350"}, {"kind", "image"}}});
  enqueue(publish_job("photo", media, {{"privacy_level", "SELF_ONLY"}, {"disable_comment", true}}, "two photos"));
  const auto f = finished("photo");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  const auto inits = log("tiktok.photo_init");
  ASSERT_EQ(inits.size(), 1U);
  const auto& body = inits[0]["body"];
  EXPECT_EQ(body.value("post_mode", ""), "DIRECT_POST");
  EXPECT_EQ(body.value("media_type", ""), "PHOTO");
  EXPECT_EQ(body["source_info"]["photo_images"].size(), 2U);
  EXPECT_EQ(body["post_info"].value("description", ""), "two photos");
  EXPECT_EQ(body["post_info"].value("disable_comment", false), true);
  EXPECT_EQ(body["post_info"].value("privacy_level", ""), "SELF_ONLY");
  ASSERT_EQ(posts().size(), 1U);
  EXPECT_EQ(posts()[0].value("media", ""), "photo");
}

// Inbox (draft) mode: no creator_info, the inbox init, SEND_TO_USER_INBOX ends the job.
TEST_F(TikTokDaemonTest, InboxDraft) {
  connect();
  start_daemon();
  enqueue(video_job("inbox", video_url(2'000'000), {{"mode", "inbox"}, {"source", "upload"}}));
  const auto f = finished("inbox");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  EXPECT_EQ(result(f).value("status", ""), "SEND_TO_USER_INBOX");
  EXPECT_EQ(log("tiktok.inbox_init").size(), 1U);
  EXPECT_TRUE(log("tiktok.video_init").empty());
  EXPECT_TRUE(log("tiktok.creator_info").empty());
  EXPECT_EQ(publish(result(f).value("publish_id", "")).value("mode", ""), "MEDIA_UPLOAD");
}

// creator_info first: a privacy level the account does not offer fails, naming the ones it does;
// settings the creator turned off stay off.
TEST_F(TikTokDaemonTest, PrivacyLevelMustBeOneOfTheAccountsOptions) {
  user({{"private_account", true}, {"duet_disabled", true}});
  connect();
  start_daemon();
  enqueue(video_job("priv", video_url(2'000'000), {{"source", "upload"}, {"privacy_level", "PUBLIC_TO_EVERYONE"}}));
  auto f = finished("priv");
  EXPECT_EQ(f.at("state"), "failed") << show(f);
  EXPECT_EQ(f.at("error_code"), "privacy_level_option_mismatch");
  EXPECT_NE(f.at("error").find("FOLLOWER_OF_CREATOR, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY"), std::string::npos)
      << f.at("error");
  EXPECT_EQ(log("tiktok.creator_info").size(), 1U);
  EXPECT_TRUE(log("tiktok.video_init").empty());

  enqueue(video_job("ok", video_url(2'000'000),
                    {{"source", "upload"}, {"privacy_level", "FOLLOWER_OF_CREATOR"}, {"disable_duet", false}}));
  f = finished("ok");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  const auto init = log("tiktok.video_init");
  ASSERT_EQ(init.size(), 1U);
  EXPECT_EQ(init[0]["body"]["post_info"].value("disable_duet", false), true);
  EXPECT_EQ(init[0]["body"]["post_info"].value("title", ""), "a video #ok");
}

// A video longer than the account's max_video_post_duration_sec fails before any init.
TEST_F(TikTokDaemonTest, DurationLimitOfTheAccount) {
  user({{"max_video_post_duration_sec", 60}});
  connect();
  start_daemon();
  enqueue(video_job("long", video_url(2'000'000, "&duration=90"), {{"source", "upload"}}));
  const auto f = finished("long");
  EXPECT_EQ(f.at("state"), "failed") << show(f);
  EXPECT_EQ(f.at("error_code"), "duration_limit");
  EXPECT_TRUE(log("tiktok.video_init").empty());
}

// Status polled several times; between polls the job is `waiting` (no worker held); the public post id
// appears after PUBLISH_COMPLETE and is the job's result.
TEST_F(TikTokDaemonTest, StatusIsPolledWithTheJobWaitingBetweenPolls) {
  user({{"processing_polls", 3}, {"public_polls", 2}});
  connect();
  start_daemon({{"status_poll_ms", 300}});
  enqueue(video_job("poll", video_url(2'000'000), {{"source", "upload"}}));
  bool saw_waiting = false;
  std::map<std::string, std::string> f;
  ASSERT_TRUE(wait_until(
      [&] {
        f = job("poll");
        if (f["state"] == "waiting") saw_waiting = true;
        return f["state"] == "succeeded" || f["state"] == "failed";
      },
      120s))
      << show(f);
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  EXPECT_TRUE(saw_waiting);
  EXPECT_GE(log("tiktok.status").size(), 5U);
  const auto p = publish(result(f).value("publish_id", ""));
  EXPECT_EQ(result(f).value("post_id", ""), p.value("post_id", "x"));
  EXPECT_EQ(result(f).value("url", ""), "https://www.tiktok.com/@schedulo.demo/video/" + p.value("post_id", ""));
}

// fail_reasons: final ones fail with their message and code; `internal` starts over (a new init) and
// the post goes out once.
TEST_F(TikTokDaemonTest, FailReasonsAreMappedToMessagesAndRetryOrNot) {
  user({{"fail_next", {"duration_check_failed", "spam_risk_text", "internal"}}});
  connect();
  start_daemon();
  enqueue(video_job("f1", video_url(2'000'000), {{"source", "upload"}}));
  auto f = finished("f1");
  EXPECT_EQ(f.at("state"), "failed") << show(f);
  EXPECT_EQ(f.at("error_code"), "duration_check_failed");
  EXPECT_NE(f.at("error").find("length"), std::string::npos) << f.at("error");
  enqueue(video_job("f2", video_url(2'000'000), {{"source", "upload"}}));
  f = finished("f2");
  EXPECT_EQ(f.at("state"), "failed") << show(f);
  EXPECT_EQ(f.at("error_code"), "spam_risk_text");
  EXPECT_NE(f.at("error").find("spam"), std::string::npos) << f.at("error");
  enqueue(video_job("f3", video_url(2'000'000), {{"source", "upload"}}));
  f = finished("f3");
  EXPECT_EQ(f.at("state"), "succeeded") << show(f);
  EXPECT_EQ(log("tiktok.video_init").size(), 4U);
  EXPECT_EQ(posts().size(), 1U);
}

// creator_info refusals come with HTTP 200: the body decides, the job fails with the message.
TEST_F(TikTokDaemonTest, SpamErrorsWithHttp200) {
  user({{"posting_error", "spam_risk_too_many_posts"}});
  connect();
  start_daemon();
  enqueue(video_job("spam", video_url(2'000'000), {{"source", "upload"}}));
  const auto f = finished("spam");
  EXPECT_EQ(f.at("state"), "failed") << show(f);
  EXPECT_EQ(f.at("error_code"), "spam_risk_too_many_posts");
  const auto ci = log("tiktok.creator_info");
  ASSERT_EQ(ci.size(), 1U);
  EXPECT_EQ(ci[0].value("status", 0), 200);
  EXPECT_TRUE(log("tiktok.video_init").empty());
}

// Refresh with rotation: the access token inside the margin is renewed before use, the rotated refresh
// token is stored and the used one is dead at TikTok. A refresh token already used is refused
// (invalid_grant, with HTTP 200): the account needs reconnecting and the job says so.
TEST_F(TikTokDaemonTest, RefreshRotatesAndAReusedRefreshTokenIsRejected) {
  const auto pair = connect(60s);  // inside the 10-minute margin
  start_daemon();
  enqueue({{"id", "r1"}, {"type", "refresh_token"}, {"platform", "tiktok"}, {"account", kAccount}});
  auto f = finished("r1");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  auto account = **test::run_for(live->io(), live->token_store().load({"tiktok", kAccount}));
  std::string error;
  auto opened = live->token_store().open(account, error);
  ASSERT_TRUE(opened) << error;
  EXPECT_NE(opened->refresh_token.reveal(), pair["refresh_token"].get<std::string>());
  EXPECT_NE(opened->access_token.reveal(), pair["access_token"].get<std::string>());
  // expires_in from the answer: 2 h.
  EXPECT_NEAR(static_cast<double>(account.access_expires_at_ms - now_epoch_ms()), 7200e3, 120e3);
  EXPECT_NEAR(static_cast<double>(account.refresh_expires_at_ms - now_epoch_ms()), 180 * 86400e3, 120e3);
  const auto old = http_json(port, "POST", "/_sandbox/tiktok/tokens/inspect", {{"token", pair["refresh_token"]}});
  EXPECT_EQ(old.value("live", true), false);
  EXPECT_EQ(old.value("used", false), true);
  const auto fresh =
      http_json(port, "POST", "/_sandbox/tiktok/tokens/inspect", {{"token", opened->refresh_token.reveal()}});
  EXPECT_EQ(fresh.value("live", false), true);
  // A publish with the rotated tokens works.
  enqueue(video_job("after", video_url(1'000'000), {{"source", "upload"}}));
  EXPECT_EQ(finished("after").at("state"), "succeeded");

  // The store goes back to the spent pair (a restored backup, say): the refresh is refused.
  store_tokens(pair, 60s);
  enqueue({{"id", "r2"}, {"type", "refresh_token"}, {"platform", "tiktok"}, {"account", kAccount}});
  f = finished("r2");
  EXPECT_EQ(f.at("state"), "failed") << show(f);
  account = **test::run_for(live->io(), live->token_store().load({"tiktok", kAccount}));
  EXPECT_EQ(account.status, tokens::AccountStatus::needs_reauth);
  const auto refreshes = log("tiktok_oauth.token");
  ASSERT_EQ(refreshes.size(), 2U);
  EXPECT_EQ(refreshes[1].value("status", 0), 200);
  EXPECT_EQ(refreshes[1]["response"].value("error", ""), "invalid_grant");
  // No token in the daemon's log.
  const auto text = live->log();
  EXPECT_EQ(text.find(pair["refresh_token"].get<std::string>()), std::string::npos);
  EXPECT_EQ(text.find(opened->refresh_token.reveal()), std::string::npos);
}

// The last chunk arrives and its answer is lost: the daemon settles it from TikTok (416 with the
// whole range, or status by publish_id) and there is exactly one post.
TEST_F(TikTokDaemonTest, CommitThenLoseTheLastChunkGivesOnePost) {
  connect();
  start_daemon();
  fault({{"kind", "commit_then_lose"}, {"route", "tiktok.upload"}, {"count", 1}});
  enqueue(video_job("lost", video_url(3'000'000), {{"source", "upload"}}));
  const auto f = finished("lost");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  EXPECT_EQ(posts().size(), 1U);
  EXPECT_EQ(log("tiktok.video_init").size(), 1U);
}

// SIGKILL while a chunk is on its way, then a new daemon: the upload resumes from what TikTok holds
// (status uploaded_bytes), one post with every byte.
TEST_F(TikTokDaemonTest, SigkillDuringUploadGivesOnePost) {
  connect();
  start_daemon();
  fault({{"kind", "latency"}, {"ms", 3000}, {"route", "tiktok.upload"}, {"count", 1}, {"rate", 0.5}});
  enqueue(video_job("k1", video_url(32'000'000), {{"source", "upload"}}));
  // The second chunk is held by the emulator: kill the daemon then.
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& e : log("tiktok.upload"))
          if (e.value("outcome", "") == "pending") return true;
        return false;
      },
      120s));
  restart_daemon();
  const auto f = finished("k1");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  ASSERT_EQ(posts().size(), 1U);
  const auto p = publish(result(f).value("publish_id", ""));
  EXPECT_EQ(p.value("uploaded_bytes", std::int64_t{0}), p.value("video_size", std::int64_t{-1}));
  EXPECT_EQ(p.value("chunks_received", std::int64_t{0}), p.value("total_chunk_count", std::int64_t{-1}));
}

// SIGKILL while the job polls the status: the next daemon goes on polling the same publish.
TEST_F(TikTokDaemonTest, SigkillDuringStatusPollingGivesOnePost) {
  user({{"processing_polls", 6}});
  connect();
  start_daemon({{"status_poll_ms", 300}});
  enqueue(video_job("k2", video_url(2'000'000), {{"source", "upload"}}));
  ASSERT_TRUE(wait_until([&] { return log("tiktok.status").size() >= 2; }, 120s));
  restart_daemon();
  const auto f = finished("k2");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  EXPECT_EQ(posts().size(), 1U);
  EXPECT_EQ(log("tiktok.video_init").size(), 1U);
}

// Analytics: video/query in batches of at most 20 ids, and the account's user/info figures.
TEST_F(TikTokDaemonTest, AnalyticsFromVideoQueryAndUserInfo) {
  connect();
  start_daemon();
  enqueue(video_job("a1", video_url(1'000'000), {{"source", "upload"}}));
  const auto posted = finished("a1");
  ASSERT_EQ(posted.at("state"), "succeeded") << show(posted);
  const auto post_id = result(posted).value("post_id", "");
  ASSERT_FALSE(post_id.empty());
  http_json(port, "POST", "/_sandbox/tiktok/videos/" + post_id + "/stats",
            {{"view_count", 4321}, {"like_count", 21}, {"comment_count", 3}, {"share_count", 1}});
  json targets = json::array({post_id});
  for (int i = 0; i < 22; ++i) targets.push_back(std::to_string(7311000000000000000LL + 77 + i));
  enqueue({{"id", "stats"},
           {"type", "fetch_analytics"},
           {"platform", "tiktok"},
           {"account", kAccount},
           {"targets", {{"post_ids", targets}}}});
  const auto f = finished("stats");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  const auto r = result(f);
  ASSERT_EQ(r["posts"].size(), 1U) << r.dump();
  EXPECT_EQ(r["posts"][0].value("post_id", ""), post_id);
  EXPECT_EQ(r["posts"][0].value("view_count", 0), 4321);
  EXPECT_EQ(r["account"].value("follower_count", 0), 1200);
  const auto queries = log("tiktok.video_query");
  ASSERT_EQ(queries.size(), 2U);
  EXPECT_EQ(queries[0]["body"]["filters"]["video_ids"].size(), 20U);
  EXPECT_EQ(queries[1]["body"]["filters"]["video_ids"].size(), 3U);
  EXPECT_EQ(log("tiktok.user_info").size(), 1U);
}

// revoke_token: TikTok revokes the grant, the stored tokens are wiped, the account is revoked.
TEST_F(TikTokDaemonTest, RevokeTokenDisconnectsTheAccount) {
  const auto pair = connect();
  start_daemon();
  enqueue({{"id", "rv"}, {"type", "revoke_token"}, {"platform", "tiktok"}, {"account", kAccount}});
  const auto f = finished("rv");
  ASSERT_EQ(f.at("state"), "succeeded") << show(f);
  const auto access = http_json(port, "POST", "/_sandbox/tiktok/tokens/inspect", {{"token", pair["access_token"]}});
  EXPECT_EQ(access.value("live", true), false);
  const auto account = **test::run_for(live->io(), live->token_store().load({"tiktok", kAccount}));
  EXPECT_EQ(account.status, tokens::AccountStatus::revoked);
  EXPECT_TRUE(account.access_sealed.empty());
  enqueue(video_job("gone", video_url(1'000'000), {{"source", "upload"}}));
  EXPECT_EQ(finished("gone").at("state"), "failed");
}

}  // namespace
}  // namespace schedulo::tiktok
