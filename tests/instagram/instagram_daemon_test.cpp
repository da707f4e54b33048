// Instagram through the daemon (label `instagram`): the real `schedulo run` in live mode, pointed at
// the sandbox's Graph emulator, with the account's token in the vault-sealed token store of a Redis
// key prefix of the test's own. Jobs go in through the queue; what the test checks is what Instagram
// (the emulator) ended up with and what the job says.
//
// Every wait polls a condition with an overall limit that fails the test; no sleep orders anything.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/rfc3339.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"
#include "tokens/token_store.hpp"

#ifndef SCHEDULO_BIN
#error "SCHEDULO_BIN (the schedulo binary) must be defined"
#endif

namespace schedulo::instagram {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::run_for;
using test::wait_until;

constexpr const char* kIgUser = "17841400000000001";
constexpr const char* kPageToken = "sbx-ig-access-demo-instagram-0001";
constexpr const char* kFbScopes =
    "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement,instagram_manage_insights";

class InstagramDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { seed_account("demo-instagram", kPageToken, 0, kFbScopes); }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(sandbox.port()); }
  json admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    return test::http_json(sandbox.port(), method, "/_sandbox" + path, body);
  }
  void limits(const json& changes) { admin("POST", "/graph/limits", changes); }
  void fault(const json& spec) { admin("POST", "/faults", spec); }
  json account_state(const std::string& ig_user = kIgUser) {
    return admin("GET", "/graph/instagram/accounts/" + ig_user);
  }
  json request_log(const std::string& route) { return admin("GET", "/log?route=" + route); }
  std::size_t calls(const std::string& route) {
    const auto log = request_log(route);
    if (log.is_array()) return log.size();
    if (log.contains("entries")) return log["entries"].size();
    return 0;
  }

  void seed_account(const std::string& account, const std::string& token, std::int64_t expires_at_ms,
                    const std::string& scopes) {
    platforms::TokenSet t;
    t.access_token = Secret(token);
    t.access_expires_at_ms = expires_at_ms;
    t.scopes = scopes;
    ASSERT_TRUE(live.put_tokens("instagram", account, t));
  }

  void start_daemon(const json& instagram = json::object(), const json& daemon = json::object()) {
    json platform = {{"base_url", base() + "/graph/v25.0"},
                     {"upload_url", base() + "/rupload"},
                     {"login_base_url", base() + "/graph-instagram/v25.0"},
                     {"client_id", "sbx-meta-client-id"},
                     {"client_secret", "sbx-meta-client-secret"},
                     {"poll_interval_ms", 50},
                     {"quota_recheck_ms", 200},
                     {"video_upload", "url"}};
    platform.update(instagram);
    json c = live.config("instagram", platform);
    // No token sweep (issue 13): its own debug_token checks would add to the calls counted here.
    c.update({{"workers", {{"per_account", 0}}}, {"sweep", {{"interval_s", 0}}}}, true);
    c.update(daemon, true);
    ASSERT_TRUE(live.start(c));
  }

  std::string cdn(const std::string& kind, const std::string& query = "") const {
    return base() + "/cdn/" + kind + (query.empty() ? "" : "?" + query);
  }

  void enqueue(const std::string& id, const json& post, const std::string& account = "demo-instagram",
               int max_attempts = 5) {
    json doc = {{"id", id},           {"type", "publish"}, {"platform", "instagram"},
                {"account", account}, {"post", post},      {"max_attempts", max_attempts}};
    enqueue_doc(doc);
  }
  void enqueue_doc(const json& doc) { ASSERT_TRUE(live.enqueue(doc)); }

  test::JobFields job(const std::string& id) { return live.job(id); }
  std::vector<json> attempt_log(const std::string& id) { return live.attempts(id); }
  // Waits for the job to end; returns its fields.
  test::JobFields finished(const std::string& id, std::chrono::milliseconds limit = 60s) {
    return live.wait_for_state(id, test::LiveDaemon::final_states(), limit);
  }
  static json result_of(const test::JobFields& fields) { return test::LiveDaemon::result(fields); }
  std::size_t outcomes(const std::string& id, const std::string& outcome, const std::string& code = "") {
    std::size_t n = 0;
    for (const auto& e : attempt_log(id))
      if (e.value("outcome", "") == outcome && (code.empty() || e.value("error_code", "") == code)) ++n;
    return n;
  }
  std::size_t media_count(const std::string& ig_user = kIgUser) {
    const auto a = account_state(ig_user);
    return a.contains("media") && a["media"].is_array() ? a["media"].size() : 0;
  }

  test::SandboxProcess sandbox;
  test::LiveDaemon live{SCHEDULO_BIN, "instagram"};  // after the sandbox: the daemon ends first
};

TEST_F(InstagramDaemonTest, EachKindOfPostIsPublishedEndToEnd) {
  start_daemon();
  enqueue("ig-image", {{"text", "a feed image #one"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  enqueue("ig-carousel", {{"text", "a carousel"},
                          {"media",
                           {{{"url", cdn("jpeg", "width=1080&height=1350")}, {"kind", "image"}},
                            {{"url", cdn("jpeg", "width=1080&height=1080")}, {"kind", "image"}},
                            {{"url", cdn("mp4", "width=1080&height=1350&duration=6")}, {"kind", "video"}}}}});
  enqueue("ig-reel", {{"text", "a reel"},
                      {"media", {{{"url", cdn("mp4", "duration=8")}, {"kind", "video"}}}},
                      {"options", {{"instagram", {{"as", "reel"}, {"share_to_feed", true}}}}}});
  enqueue("ig-story", {{"media", {{{"url", cdn("jpeg", "width=1080&height=1920")}, {"kind", "image"}}}},
                       {"options", {{"instagram", {{"as", "story"}}}}}});
  enqueue("ig-story-video", {{"media", {{{"url", cdn("mp4", "duration=10")}, {"kind", "video"}}}},
                             {"options", {{"instagram", {{"as", "story"}}}}}});

  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"ig-image", {"IMAGE", "FEED"}},
      {"ig-carousel", {"CAROUSEL_ALBUM", "FEED"}},
      {"ig-reel", {"VIDEO", "REELS"}},
      {"ig-story", {"IMAGE", "STORY"}},
      {"ig-story-video", {"VIDEO", "STORY"}}};
  for (const auto& [id, kind] : expected) {
    const auto fields = finished(id);
    ASSERT_EQ(fields.at("state"), "succeeded") << id << ": " << fields.at("error");
    const auto result = result_of(fields);
    EXPECT_EQ(result.value("media_type", ""), kind.first) << id;
    EXPECT_EQ(result.value("media_product_type", ""), kind.second) << id;
    EXPECT_TRUE(result.value("permalink", "").starts_with("https://www.instagram.com/")) << result.dump();
    EXPECT_FALSE(result.value("published_id", "").empty());
  }
  // Videos were polled while processing, the jobs waiting in between.
  EXPECT_GE(outcomes("ig-reel", "wait", "waiting"), 1u);
  EXPECT_EQ(calls("instagram.media_publish"), 5u) << "one publish call per post";
  EXPECT_EQ(live.log().find(kPageToken), std::string::npos) << "the token never reaches the log";
}

// An image post's validate and upload make no call (Meta fetches the image from the container's
// URL): upload's progress is not saved on its own but with the save before the publish step (the
// quota read), and validate's with the save before stage. Each entry is one checkpoint save.
TEST_F(InstagramDaemonTest, StepsThatMakeNoCallAreSavedWithTheNextSave) {
  start_daemon();
  enqueue("ig-saves", {{"text", "saved once"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  const auto fields = finished("ig-saves");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  EXPECT_EQ(live.saved_progress("ig-saves"),
            (std::vector<std::string>{"validate", "stage", "upload", "upload publish_sent",
                                      "publish publish_sent published"}));
}

TEST_F(InstagramDaemonTest, AContainerThatTakesManyPollsWaitsWithoutHoldingAWorker) {
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser, {{"video_polls", 12}});
  start_daemon({{"poll_interval_ms", 100}});
  enqueue("slow-reel", {{"text", "slow"}, {"media", {{{"url", cdn("mp4", "duration=5")}, {"kind", "video"}}}}});
  ASSERT_TRUE(wait_until([&] { return job("slow-reel")["state"] == "waiting"; }, 30s));
  // While the reel waits, the (one-worker-per-platform-sized) daemon runs other work to its end.
  for (int i = 0; i < 3; ++i)
    enqueue("quick-" + std::to_string(i),
            {{"text", "quick " + std::to_string(i)}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(finished("quick-" + std::to_string(i)).at("state"), "succeeded");
  const auto reel = finished("slow-reel");
  ASSERT_EQ(reel.at("state"), "succeeded") << reel.at("error");
  EXPECT_GE(outcomes("slow-reel", "wait", "waiting"), 10u) << "each IN_PROGRESS poll ended the attempt as waiting";
  EXPECT_EQ(std::stoi(reel.at("attempts")), 1) << "waiting uses no attempt";
}

TEST_F(InstagramDaemonTest, ContainerNeverReadyFailsAfterTheTimeout) {
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser, {{"video_polls", 100000}});
  start_daemon({{"poll_interval_ms", 50}, {"container_timeout_ms", 1500}});
  enqueue("never", {{"text", "never ready"}, {"media", {{{"url", cdn("mp4")}, {"kind", "video"}}}}});
  const auto fields = finished("never");
  EXPECT_EQ(fields.at("state"), "failed");
  EXPECT_EQ(fields.at("error_code"), "container_timeout");
  EXPECT_EQ(calls("instagram.media_publish"), 0u);
}

TEST_F(InstagramDaemonTest, EarlyPublishAnswered9007IsPolledAndTheSameContainerPublished) {
  limits({{"ig_image_polls", 2}});  // images are not FINISHED at once here
  start_daemon();
  enqueue("early", {{"text", "early bird"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  const auto fields = finished("early");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  EXPECT_GE(outcomes("early", "wait", "waiting"), 1u) << "the 9007 made the job wait";
  EXPECT_EQ(calls("instagram.media_create"), 1u) << "the same container was published";
  EXPECT_EQ(calls("instagram.media_publish"), 2u) << "9007, then success";
  EXPECT_EQ(media_count(), 1u);
}

TEST_F(InstagramDaemonTest, AnExpiredContainerIsMadeAgainOnce) {
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser, {{"video_polls", 100000}});
  start_daemon({{"poll_interval_ms", 100}});
  enqueue("expiring", {{"text", "made twice"}, {"media", {{{"url", cdn("mp4")}, {"kind", "video"}}}}});
  ASSERT_TRUE(wait_until([&] { return job("expiring")["state"] == "waiting"; }, 30s));
  // The next container finishes at once; the first one expires (24 h on the sandbox clock).
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser, {{"video_polls", 0}});
  admin("POST", "/clock", {{"advance_ms", 25LL * 3600 * 1000}});
  const auto fields = finished("expiring");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  EXPECT_EQ(calls("instagram.media_create"), 2u) << "recreated once";
  EXPECT_EQ(media_count(), 1u);
  EXPECT_TRUE(result_of(fields).value("recreated", false));
}

TEST_F(InstagramDaemonTest, AnExhaustedQuotaDefersTheJobUntilTheWindowFrees) {
  // A one-hour window (containers still live 24 h), one post allowed and already made.
  limits({{"ig_quota_duration_s", 3600}});
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser, {{"quota_total", 1}, {"published", 1}});
  start_daemon();
  enqueue("capped", {{"text", "over the cap"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  ASSERT_TRUE(wait_until([&] { return outcomes("capped", "defer", "quota_exhausted") >= 2; }, 30s))
      << job("capped")["state"];
  EXPECT_EQ(calls("instagram.media_publish"), 0u) << "no publish call while the quota is used up";
  // The window frees (the earlier post ages out of the hour).
  admin("POST", "/clock", {{"advance_ms", 2LL * 3600 * 1000}});
  const auto fields = finished("capped");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  EXPECT_EQ(std::stoi(fields.at("attempts")), 1) << "deferrals use no attempt";
  EXPECT_EQ(calls("instagram.media_publish"), 1u);
  EXPECT_EQ(calls("instagram.media_create"), 1u);
}

TEST_F(InstagramDaemonTest, ALostPublishAnswerEndsInExactlyOnePost) {
  fault({{"kind", "commit_then_lose"}, {"route", "instagram.media_publish"}, {"count", 1}});
  start_daemon();
  enqueue("lost", {{"text", "answer lost"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  const auto fields = finished("lost");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  EXPECT_EQ(media_count(), 1u) << "exactly one post";
  EXPECT_EQ(calls("instagram.media_publish"), 1u) << "never published blindly a second time";
  EXPECT_GE(outcomes("lost", "retry", "outcome_unknown"), 1u);
  EXPECT_FALSE(result_of(fields).value("permalink", "").empty());
}

// The publish answer lost, then the check of whether it went out throttled (Graph code 4): the check
// is not "unknown" (that would end in needs_review) but deferred until the throttle clears, then asked
// again, which finds the post.
TEST_F(InstagramDaemonTest, AThrottledCheckOfALostPublishIsAskedAgainLater) {
  fault({{"kind", "commit_then_lose"}, {"route", "instagram.media_publish"}, {"count", 1}});
  fault({{"kind", "rate_limit"}, {"route", "instagram.container"}, {"count", 1}});
  fault({{"kind", "rate_limit"}, {"route", "instagram.media_list"}, {"count", 1}});
  // The throttle's X-App-Usage at 100 % stops the app's calls for usage_stop_ms, then spaces them by
  // the reading: both scaled down, as the throttle's own wait.
  start_daemon(json::object(),
               {{"limits", {{"graph_throttle_wait_ms", 300}, {"usage_stop_ms", 1000}, {"usage_spacing_ms", 1}}}});
  enqueue("throttled-check", {{"text", "checked later"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  const auto fields = finished("throttled-check");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error_code") << ": " << fields.at("error");
  EXPECT_EQ(media_count(), 1u) << "exactly one post";
  EXPECT_EQ(calls("instagram.media_publish"), 1u) << "never published blindly a second time";
  EXPECT_GE(outcomes("throttled-check", "defer"), 1u) << "the throttled check deferred the job";
  std::size_t throttled = 0;
  std::size_t asked = 0;
  const auto log = request_log("instagram.container");
  for (const auto& e : log.is_array() ? log : log["entries"]) {
    ++asked;
    if (!e["fault"].is_null()) ++throttled;
  }
  EXPECT_EQ(throttled, 1u);
  EXPECT_GE(asked, 2u) << "the container's status was asked again after the throttle";
}

TEST_F(InstagramDaemonTest, ABrokenRuploadResumesFromTheAcknowledgedOffset) {
  fault({{"kind", "commit_then_lose"}, {"route", "instagram.rupload"}, {"cut_after", 300000}, {"count", 1}});
  start_daemon({{"video_upload", "rupload"}});
  enqueue("resumed", {{"text", "uploaded in two"},
                      {"media", {{{"url", cdn("mp4", "bytes=1000000")}, {"kind", "video"}}}},
                      {"options", {{"instagram", {{"as", "reel"}}}}}});
  const auto fields = finished("resumed");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  EXPECT_EQ(calls("instagram.rupload"), 2u) << "cut at byte 300000, then the rest";
  EXPECT_NE(live.log().find("video upload resumes at byte 300000"), std::string::npos);
  EXPECT_EQ(media_count(), 1u);
}

TEST_F(InstagramDaemonTest, CaptionRulesFailTheJobBeforeAnyCall) {
  start_daemon();
  std::string tags;
  for (int i = 0; i < 31; ++i) tags += " #t" + std::to_string(i);
  enqueue("tags", {{"text", "too many" + tags}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  const auto fields = finished("tags");
  EXPECT_EQ(fields.at("state"), "failed");
  EXPECT_EQ(fields.at("error_code"), "caption_rules");
  EXPECT_NE(fields.at("error").find("31 hashtags"), std::string::npos);
  EXPECT_EQ(calls("instagram.media_create"), 0u);
}

TEST_F(InstagramDaemonTest, GraphErrorsReachTheJobWithTheirClassAndMessage) {
  start_daemon();
  struct Row {
    int code;
    int subcode;
    int status;
    const char* state;  // the job's state once the error was met
    const char* error_code;
    const char* words;  // in the job's error (the catalogue's sentence)
  };
  const Row rows[] = {
      {100, 2207010, 400, "failed", "100/2207010", "caption"},
      {36000, 2207004, 400, "failed", "36000/2207004", ""},
      {10, 0, 400, "failed", "10", "permission"},
      {4, 2207051, 400, "failed", "4/2207051", ""},
      {368, 0, 400, "retrying", "368", "policy"},
      {80002, 0, 400, "deferred", "80002", ""},
  };
  int n = 0;
  for (const auto& row : rows) {
    json error = {{"message", "(#" + std::to_string(row.code) + ") from the test"},
                  {"type", "OAuthException"},
                  {"code", row.code},
                  {"fbtrace_id", "TESTTRACE"}};
    if (row.subcode) error["error_subcode"] = row.subcode;
    fault({{"kind", "error"},
           {"route", "instagram.media_create"},
           {"status", row.status},
           {"body", {{"error", error}}},
           {"count", 1}});
    const std::string id = "err-" + std::to_string(n++);
    enqueue(id, {{"text", "row " + id}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
    std::map<std::string, std::string> fields;
    ASSERT_TRUE(wait_until(
        [&] {
          fields = job(id);
          return fields["error_code"] == row.error_code;
        },
        30s))
        << id << " " << fields["state"] << " " << fields["error_code"] << " " << fields["error"];
    if (std::string(row.state) == "failed") {
      EXPECT_EQ(fields["state"], "failed") << row.error_code;
    } else {
      EXPECT_EQ(outcomes(id, std::string(row.state) == "deferred" ? "defer" : "retry", row.error_code), 1u);
    }
    EXPECT_NE(fields["error"].find(row.words), std::string::npos) << fields["error"];
    EXPECT_EQ(fields["error"].find("from the test"), std::string::npos) << "the platform's text is not the message";
  }
}

TEST_F(InstagramDaemonTest, ARevokedTokenFailsTheJobAndAsksForAReconnect) {
  seed_account("revoked-ig", kPageToken, 0, kFbScopes);
  start_daemon();
  json error = {{"message", "Error validating access token: The user has not authorized application."},
                {"type", "OAuthException"},
                {"code", 190},
                {"error_subcode", 460},
                {"fbtrace_id", "T"}};
  fault({{"kind", "error"},
         {"route", "instagram.media_create"},
         {"status", 400},
         {"body", {{"error", error}}},
         {"count", 1}});
  enqueue("revoked", {{"text", "revoked"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}}, "revoked-ig");
  const auto fields = finished("revoked");
  EXPECT_EQ(fields.at("state"), "failed");
  EXPECT_EQ(fields.at("error_code"), "needs_reauth");
  EXPECT_NE(fields.at("error").find("connected again"), std::string::npos);
  auto account = run_for(live.io(), live.token_store().load(tokens::AccountRef{"instagram", "revoked-ig"}));
  ASSERT_TRUE(account && *account);
  EXPECT_EQ((*account)->status, tokens::AccountStatus::needs_reauth);
}

TEST_F(InstagramDaemonTest, AnInstagramLoginTokenIsRefreshedBeforeUseAndTheRefreshStored) {
  const auto made = admin("POST", "/graph/instagram/users", {{"username", "refresh.me"}, {"long_lived", true}});
  const std::string user = made.value("ig_user_id", "");
  const std::string token = made.value("access_token", "");
  ASSERT_FALSE(token.empty()) << made.dump();
  // 55 days old: inside the 7-day margin and refreshable (at least 24 h old).
  admin("POST", "/graph/tokens", {{"token", token}, {"issued_ago_s", 55 * 86400}, {"expires_in_s", 5 * 86400}});
  seed_account("iglogin", token, now_epoch_ms() + 5LL * 86400 * 1000,
               "instagram_business_basic,instagram_business_content_publish");
  start_daemon();
  enqueue("via-iglogin", {{"text", "instagram login"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}},
          "iglogin");
  const auto fields = finished("via-iglogin");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  EXPECT_EQ(calls("instagram.refresh_token"), 1u);
  auto account = run_for(live.io(), live.token_store().load(tokens::AccountRef{"instagram", "iglogin"}));
  ASSERT_TRUE(account && *account);
  EXPECT_GT((*account)->version, 1);
  std::string error;
  const auto opened = live.token_store().open(**account, error);
  ASSERT_TRUE(opened) << error;
  EXPECT_NE(opened->access_token.reveal(), token) << "the renewed token is the one stored";
  EXPECT_GT(opened->access_expires_at_ms, now_epoch_ms() + 50LL * 86400 * 1000);
  EXPECT_EQ(media_count(user), 1u);
  EXPECT_EQ(live.log().find(token), std::string::npos);
}

TEST_F(InstagramDaemonTest, InsightsAreEmptyBeforeTwoDaysThenCurrentMetricsOnly) {
  start_daemon();
  enqueue("measured", {{"text", "to be measured"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  const auto published = finished("measured");
  ASSERT_EQ(published.at("state"), "succeeded") << published.at("error");
  const std::string media = result_of(published).value("published_id", "");
  auto fetch = [&](const std::string& id) {
    enqueue_doc({{"id", id},
                 {"type", "fetch_analytics"},
                 {"platform", "instagram"},
                 {"account", "demo-instagram"},
                 {"targets", {{"post_ids", {media}}}}});
    const auto fields = finished(id);
    EXPECT_EQ(fields.at("state"), "succeeded") << fields.at("error");
    return result_of(fields);
  };
  const auto early = fetch("insights-early");
  ASSERT_EQ(early["posts"].size(), 1u) << early.dump();
  EXPECT_FALSE(early["posts"][0].value("available", true)) << "no data yet is not zero";
  EXPECT_FALSE(early["posts"][0]["metrics"].contains("reach"));

  admin("POST", "/clock", {{"advance_ms", 49LL * 3600 * 1000}});
  const auto later = fetch("insights-later");
  const auto& metrics = later["posts"][0]["metrics"];
  EXPECT_TRUE(later["posts"][0].value("available", false)) << later.dump();
  for (const char* name : {"views", "reach", "likes", "comments", "shares", "saved", "total_interactions"})
    EXPECT_TRUE(metrics.contains(name) && metrics[name].is_number()) << name << " in " << metrics.dump();
  // Only current metrics were asked for.
  const auto log = request_log("instagram.media_insights").dump();
  for (const char* deprecated : {"impressions", "plays", "video_views"})
    EXPECT_EQ(log.find(deprecated), std::string::npos) << deprecated;
}

TEST_F(InstagramDaemonTest, AFacebookLoginAccountIsWatchedWithDebugTokenAndWarnedBeforeDataAccessEnds) {
  start_daemon({{"reconnect_warning_ms", 30LL * 24 * 3600 * 1000}});
  admin("POST", "/graph/facebook/users/100000000000099/events", {{"event", "data_access_expires"}, {"in_s", 86400}});
  enqueue_doc({{"id", "watch"}, {"type", "refresh_token"}, {"platform", "instagram"}, {"account", "demo-instagram"}});
  const auto fields = finished("watch");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  const auto result = result_of(fields);
  EXPECT_TRUE(result.value("valid", false)) << result.dump();
  EXPECT_EQ(result.value("login", ""), "facebook");
  EXPECT_FALSE(result.value("data_access_expires_at", "").empty());
  EXPECT_FALSE(result.value("reconnect_by", "").empty()) << "data access ends within the warning";
  auto listed = run_for(live.io(), live.redis().exec("LRANGE", live.keys().notifications(), "0", "-1"));
  bool warned = false;
  for (const auto& e : listed->elements) {
    const auto n = json::parse(e.str, nullptr, false);
    if (n.value("kind", "") == "needs_reconnect" && n.value("account", "") == "demo-instagram") warned = true;
  }
  EXPECT_TRUE(warned);
  EXPECT_EQ(calls("graph.debug_token"), 1u);
  EXPECT_EQ(live.log().find("sbx-meta-client-secret"), std::string::npos) << "the app token is never logged";
}

TEST_F(InstagramDaemonTest, ATokenExpiringMidJobEndsItAskingForAReconnectWithNothingPosted) {
  const auto made = admin("POST", "/graph/instagram/users", {{"username", "expires.soon"}, {"long_lived", true}});
  const std::string user = made.value("ig_user_id", "");
  const std::string token = made.value("access_token", "");
  ASSERT_FALSE(token.empty()) << made.dump();
  // Valid for an hour on the platform's clock; the vault believes it good for 30 days.
  admin("POST", "/graph/tokens", {{"token", token}, {"issued_ago_s", 59 * 86400}, {"expires_in_s", 3600}});
  admin("POST", "/graph/instagram/accounts/" + user, {{"video_polls", 100000}});
  seed_account("soon", token, now_epoch_ms() + 30LL * 86400 * 1000,
               "instagram_business_basic,instagram_business_content_publish");
  start_daemon({{"poll_interval_ms", 100}});
  enqueue("mid-job", {{"text", "mid job"}, {"media", {{{"url", cdn("mp4")}, {"kind", "video"}}}}}, "soon");
  ASSERT_TRUE(wait_until([&] { return job("mid-job")["state"] == "waiting"; }, 30s));
  admin("POST", "/clock", {{"advance_ms", 2LL * 3600 * 1000}});  // the token expires between two polls
  const auto fields = finished("mid-job");
  EXPECT_EQ(fields.at("state"), "failed");
  EXPECT_EQ(fields.at("error_code"), "needs_reauth");
  EXPECT_NE(fields.at("error").find("connected again"), std::string::npos) << fields.at("error");
  EXPECT_EQ(calls("instagram.refresh_token"), 1u) << "one renewal was tried; Instagram refuses expired tokens";
  EXPECT_EQ(calls("instagram.media_publish"), 0u);
  auto account = run_for(live.io(), live.token_store().load(tokens::AccountRef{"instagram", "soon"}));
  ASSERT_TRUE(account && *account);
  EXPECT_EQ((*account)->status, tokens::AccountStatus::needs_reauth);
}

TEST_F(InstagramDaemonTest, RevokingForgetsTheToken) {
  start_daemon();
  enqueue_doc({{"id", "bye"}, {"type", "revoke_token"}, {"platform", "instagram"}, {"account", "demo-instagram"}});
  const auto fields = finished("bye");
  ASSERT_EQ(fields.at("state"), "succeeded") << fields.at("error");
  EXPECT_TRUE(result_of(fields).value("revoked", false));
  auto account = run_for(live.io(), live.token_store().load(tokens::AccountRef{"instagram", "demo-instagram"}));
  ASSERT_TRUE(account && *account);
  EXPECT_EQ((*account)->status, tokens::AccountStatus::revoked);
  EXPECT_TRUE((*account)->access_sealed.empty());
  enqueue("after-bye", {{"text", "too late"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}});
  EXPECT_EQ(finished("after-bye").at("state"), "failed");
  EXPECT_EQ(calls("instagram.media_create"), 0u);
}

}  // namespace
}  // namespace schedulo::instagram
