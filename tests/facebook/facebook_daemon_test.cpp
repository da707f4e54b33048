// Facebook Pages through the daemon (label `facebook`): the real `schedulo run` in live mode against
// the sandbox's Facebook emulator and a Redis of the test run, each test with its own key prefix, its
// own sandbox and its own daemon. Jobs go in with `schedulo enqueue`, the Page token with `schedulo
// account add`, and what happened is read from `schedulo status`, `schedulo account show`, Redis and
// the emulator's own view of the Page (its admin routes and request log).
//
// Every wait polls a condition with an overall limit that fails the test; no sleeps order anything.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/facebook/sandbox_handle.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/live_daemon.hpp"
#include "tests/support/redis_process.hpp"

#ifndef SCHEDULO_BIN
#error "SCHEDULO_BIN (the schedulo binary) must be defined"
#endif

namespace schedulo::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPage = "100000000000002";
constexpr const char* kPageToken = "sbx-fb-page-access-demo-facebook-0001";
constexpr const char* kUser = "100000000000099";
constexpr const char* kAccount = "demo-facebook";

class FacebookDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Processing on the sandbox's real clock takes no extra time; the polls still count.
    limits({{"fb_processing_ms", 0}, {"fb_video_polls", 1}, {"fb_reel_polls", 1}, {"fb_publish_polls", 0}});
  }

  void limits(const json& changes) {
    const auto answer = sandbox_.admin("POST", "/graph/limits", changes);
    ASSERT_FALSE(answer.contains("error")) << answer.dump();
  }
  void fault(const json& spec) {
    const auto answer = sandbox_.admin("POST", "/faults", spec);
    ASSERT_TRUE(answer.contains("ids")) << answer.dump();
  }

  json config(const json& facebook, int concurrency) {
    const std::string base = sandbox_.base();
    json fb = {{"base_url", base + "/graph/v25.0"},         {"auth_url", base + "/facebook/v25.0/dialog/oauth"},
               {"upload_url", base + "/graph-video/v25.0"}, {"client_id", "sbx-meta-client-id"},
               {"client_secret", "sbx-meta-client-secret"}, {"status_poll_ms", 200}};
    fb.update(facebook);
    json c = live_.config("facebook", fb);
    c.update({{"workers", {{"concurrency", concurrency}, {"per_account", 0}}}, {"breaker", {{"min_calls", 1000}}}},
             true);
    return c;
  }

  // The demo Page's token in the daemon's store, then the daemon, consuming.
  void start(const json& facebook = json::object(), int concurrency = 4) {
    const json c = config(facebook, concurrency);
    live_.write_config(c);
    add_token(kPageToken);
    ASSERT_TRUE(live_.start(c));
  }

  void add_token(const std::string& token) {
    ASSERT_TRUE(live_.import_account("facebook", kAccount,
                                     {{"access_token", token}, {"scopes", "pages_manage_posts,read_insights"}}));
  }

  std::string enqueue(json job) {
    job["platform"] = "facebook";
    job["account"] = kAccount;
    if (!job.contains("type")) job["type"] = "publish";
    const auto out = run_command({SCHEDULO_BIN, "enqueue", "--config", live_.config_path(), job.dump()});
    EXPECT_EQ(out.status, 0) << out.err << out.out;
    auto id = out.out;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    return id;
  }

  json status(const std::string& id) {
    const auto out = run_command({SCHEDULO_BIN, "status", "--config", live_.config_path(), id});
    if (out.status != 0) return json::object();
    return json::parse(out.out, nullptr, false);
  }

  // Waits for a final state (or `wanted`) and returns the record; fails the test on the limit.
  json wait_state(const std::string& id, const std::set<std::string>& wanted, std::chrono::milliseconds limit = 60s) {
    json record;
    const bool reached = wait_until(
        [&] {
          record = status(id);
          return record.is_object() && wanted.count(record.value("state", std::string())) > 0;
        },
        limit);
    EXPECT_TRUE(reached) << "job " << id << " never reached the wanted state; last record: " << record.dump();
    return record;
  }
  json wait_done(const std::string& id) {
    return wait_state(id, {"succeeded", "failed", "dead", "needs_review", "cancelled"});
  }

  static json result_of(const json& record) {
    const auto r = record.value("result", json());
    if (r.is_string()) return json::parse(r.get<std::string>(), nullptr, false);
    return r;
  }

  json page() { return sandbox_.admin("GET", std::string("/graph/facebook/pages/") + kPage); }
  // A copy (a range-for over a member of a temporary would read freed memory).
  json page_list(const char* name) { return page()[name]; }
  json log(const std::string& route) { return sandbox_.admin("GET", "/log?api=facebook&route=" + route)["entries"]; }
  std::size_t posts_with(const std::string& message) {
    std::size_t n = 0;
    for (const auto& p : page_list("posts"))
      if (p.value("message", std::string()) == message && !p.value("deleted", false)) ++n;
    return n;
  }
  std::string cdn(const std::string& kind, const std::string& query = "") const {
    return sandbox_.base() + "/cdn/" + kind + (query.empty() ? "" : "?" + query);
  }
  std::string redis_cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/redis-cli", "-u", shared_redis_url()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv).out;
  }

  SandboxHandle sandbox_;
  LiveDaemon live_{SCHEDULO_BIN, "facebook"};  // after the sandbox: the daemon ends first
};

TEST_F(FacebookDaemonTest, TextLinkAndPhotoPostsArePublishedOnThePage) {
  start();
  const auto text = enqueue({{"post", {{"text", "fb text post"}}}});
  const auto link = enqueue(
      {{"post", {{"text", "fb link post"}, {"options", {{"facebook", {{"link", "https://example.com/article"}}}}}}}});
  const auto photo =
      enqueue({{"post", {{"text", "fb one photo"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}}}});
  for (const auto& id : {text, link, photo}) {
    const auto record = wait_done(id);
    ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
    const auto result = result_of(record);
    EXPECT_TRUE(result.value("published_id", std::string()).starts_with(std::string(kPage) + "_")) << result.dump();
    EXPECT_FALSE(result.value("permalink_url", std::string()).empty()) << result.dump();
  }
  EXPECT_EQ(posts_with("fb text post"), 1U);
  EXPECT_EQ(posts_with("fb link post"), 1U);
  EXPECT_EQ(posts_with("fb one photo"), 1U);
  for (const auto& p : page_list("posts")) {
    if (p.value("message", "") == "fb link post") {
      EXPECT_EQ(p.value("link", ""), "https://example.com/article");
    }
    if (p.value("message", "") == "fb one photo") {
      EXPECT_EQ(p.value("kind", ""), "photo") << p.dump();
    }
  }
}

TEST_F(FacebookDaemonTest, SeveralPhotosGoUpUnpublishedThenIntoOnePost) {
  start();
  json media = json::array();
  for (int i = 0; i < 3; ++i)
    media.push_back({{"url", cdn("jpeg", "bytes=" + std::to_string(20000 + i))}, {"kind", "image"}});
  const auto id = enqueue({{"post", {{"text", "fb album"}, {"media", media}}}});
  const auto record = wait_done(id);
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  EXPECT_EQ(posts_with("fb album"), 1U);
  const auto result = result_of(record);
  ASSERT_EQ(result["photo_ids"].size(), 3U) << result.dump();
  for (const auto& p : page_list("posts"))
    if (p.value("message", "") == "fb album") {
      EXPECT_EQ(p["photo_ids"], result["photo_ids"]) << p.dump();
    }
  // Unpublished uploads first, one feed post with attached_media after.
  EXPECT_EQ(log("facebook.photo_create").size(), 3U);
  const auto feed = log("facebook.feed_create");
  ASSERT_EQ(feed.size(), 1U);
  EXPECT_NE(feed[0].value("body", std::string()).find("attached_media"), std::string::npos) << feed[0].dump();
}

TEST_F(FacebookDaemonTest, VideoByFileUrlIsPublishedOnceProcessed) {
  start({{"video_transfer", "file_url"}});
  const auto id = enqueue(
      {{"post", {{"text", "fb video by url"}, {"media", {{{"url", cdn("mp4", "duration=8")}, {"kind", "video"}}}}}}});
  const auto record = wait_done(id);
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  const auto result = result_of(record);
  EXPECT_EQ(result.value("transfer", ""), "file_url");
  EXPECT_EQ(log("facebook.video_create").size(), 1U);
  EXPECT_TRUE(log("facebook.video_transfer").empty());
  EXPECT_EQ(posts_with("fb video by url"), 1U);
}

TEST_F(FacebookDaemonTest, VideoTransferBrokenMidwayIsResumedFromFacebooksOffset) {
  limits({{"fb_chunk_bytes", 65536}});
  // The second chunk arrives, its answer is lost: the next attempt resends it at a stale offset and
  // resumes from the window Facebook names (1363037).
  fault({{"kind", "commit_then_lose"}, {"route", "facebook.video_transfer"}, {"rate", 0.5}, {"count", 1}});
  start({{"video_transfer", "upload"}});
  const auto id = enqueue({{"post",
                            {{"text", "fb video in chunks"},
                             {"media", {{{"url", cdn("mp4", "bytes=300000&duration=6")}, {"kind", "video"}}}}}}});
  const auto record = wait_done(id);
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  EXPECT_GE(record.value("attempts", json(0)).is_string() ? std::stoi(record["attempts"].get<std::string>())
                                                          : record.value("attempts", 0),
            2)
      << record.dump();
  const auto transfers = log("facebook.video_transfer");
  EXPECT_GE(transfers.size(), 6U);  // 300000 bytes in 64 KiB chunks, one of them twice
  int resumed = 0;
  for (const auto& t : transfers)
    if (t["response"].dump().find("1363037") != std::string::npos) ++resumed;
  EXPECT_EQ(resumed, 1) << transfers.dump();
  EXPECT_EQ(log("facebook.video_start").size(), 1U);
  EXPECT_EQ(posts_with("fb video in chunks"), 1U);
  std::size_t videos = 0;
  for (const auto& v : page_list("videos")) videos += v.value("kind", "") == "video" ? 1 : 0;
  EXPECT_EQ(videos, 1U);
}

TEST_F(FacebookDaemonTest, ReelTakingSeveralPollsWaitsWithItsWorkerFreed) {
  limits({{"fb_reel_polls", 4}, {"fb_publish_polls", 1}});
  start({{"video_transfer", "upload"}, {"status_poll_ms", 300}}, /*concurrency=*/1);
  const auto reel = enqueue(
      {{"post",
        {{"text", "fb reel"},
         {"media", {{{"url", cdn("mp4", "width=1080&height=1920&bytes=250000&duration=12")}, {"kind", "video"}}}},
         {"options", {{"facebook", {{"as", "reel"}}}}}}}});
  wait_state(reel, {"waiting"});
  // One worker, and the reel is waiting: another job runs meanwhile.
  const auto text = enqueue({{"post", {{"text", "fb while the reel waits"}}}});
  const auto other = wait_done(text);
  EXPECT_EQ(other.value("state", ""), "succeeded") << other.dump();
  const auto record = wait_done(reel);
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  EXPECT_GE(log("facebook.video").size(), 4U);  // the status read several times
  EXPECT_EQ(log("facebook.reel_finish").size(), 1U);
  EXPECT_EQ(page()["reels_last_24h"], 1);
  const auto result = result_of(record);
  EXPECT_TRUE(result.value("published_id", std::string()).starts_with(std::string(kPage) + "_")) << result.dump();
}

// A feed post's validate, stage and upload make no call, nor does its create once the Page id is
// known (the first job looks it up with GET /me): their progress is not saved on its own but goes with
// the publish mark. Each entry is one checkpoint save, in order.
TEST_F(FacebookDaemonTest, StepsThatMakeNoCallAreSavedWithTheNextSave) {
  start(json::object(), 1);
  const auto first = enqueue({{"post", {{"text", "fb saves first"}}}});
  ASSERT_EQ(wait_done(first).value("state", ""), "succeeded");
  // The Page id still to look up: create calls out, so validate and stage go with the save before it.
  EXPECT_EQ(live_.saved_progress(first),
            (std::vector<std::string>{"stage", "upload", "upload publish_sent", "publish publish_sent published"}));
  const auto second = enqueue({{"post", {{"text", "fb saves second"}}}});
  ASSERT_EQ(wait_done(second).value("state", ""), "succeeded");
  EXPECT_EQ(live_.saved_progress(second),
            (std::vector<std::string>{"upload publish_sent", "publish publish_sent published"}));
  EXPECT_EQ(posts_with("fb saves second"), 1U);
}

TEST_F(FacebookDaemonTest, FeedPostWhoseAnswerWasLostIsFoundNotPostedTwice) {
  fault({{"kind", "commit_then_lose"}, {"route", "facebook.feed_create"}, {"count", 1}});
  start();
  const auto id = enqueue({{"post", {{"text", "fb lost answer"}}}});
  const auto record = wait_done(id);
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  EXPECT_EQ(posts_with("fb lost answer"), 1U);
  EXPECT_EQ(log("facebook.feed_create").size(), 1U) << "never sent a second time";
  EXPECT_FALSE(log("facebook.posts").empty()) << "settled by the Page's recent posts";
}

// The publish answer lost, then the check of the Page's posts throttled itself (code 80001): the
// check asks again once the throttle clears instead of ending needs_review.
TEST_F(FacebookDaemonTest, AThrottledCheckOfALostPublishIsAskedAgainLater) {
  fault({{"kind", "commit_then_lose"}, {"route", "facebook.feed_create"}, {"count", 1}});
  fault({{"kind", "rate_limit"}, {"route", "facebook.posts"}, {"count", 1}});
  json c = config(json::object(), 4);
  // The throttle's own wait and its X-App-Usage at 100 % scaled down.
  c.update({{"limits", {{"graph_throttle_wait_ms", 300}, {"usage_stop_ms", 1000}, {"usage_spacing_ms", 1}}}}, true);
  live_.write_config(c);
  add_token(kPageToken);
  ASSERT_TRUE(live_.start(c));
  const auto id = enqueue({{"post", {{"text", "fb checked later"}}}});
  const auto record = wait_done(id);
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  EXPECT_EQ(posts_with("fb checked later"), 1U);
  EXPECT_EQ(log("facebook.feed_create").size(), 1U) << "never sent a second time";
  EXPECT_GE(log("facebook.posts").size(), 2U) << "the Page's posts asked again after the throttle";
}

TEST_F(FacebookDaemonTest, ReelFinishWhoseAnswerWasLostIsFoundByItsId) {
  fault({{"kind", "commit_then_lose"}, {"route", "facebook.reel_finish"}, {"count", 1}});
  start({{"video_transfer", "file_url"}});
  const auto id = enqueue(
      {{"post",
        {{"text", "fb reel lost finish"},
         {"media", {{{"url", cdn("mp4", "width=1080&height=1920&bytes=250000&duration=12")}, {"kind", "video"}}}},
         {"options", {{"facebook", {{"as", "reel"}}}}}}}});
  const auto record = wait_done(id);
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  EXPECT_EQ(log("facebook.reel_finish").size(), 1U) << "the finish is not sent again";
  EXPECT_EQ(page()["reels_last_24h"], 1);
  EXPECT_EQ(posts_with("fb reel lost finish"), 1U);
}

TEST_F(FacebookDaemonTest, ReelsCapDefersTheJob) {
  sandbox_.admin("POST", std::string("/graph/facebook/pages/") + kPage, {{"reels_published", 30}});
  start({{"video_transfer", "file_url"}});
  const auto id = enqueue(
      {{"post",
        {{"text", "fb reel over the cap"},
         {"media", {{{"url", cdn("mp4", "width=1080&height=1920&bytes=250000&duration=12")}, {"kind", "video"}}}},
         {"options", {{"facebook", {{"as", "reel"}}}}}}}});
  const auto record = wait_state(id, {"deferred", "failed", "dead", "succeeded"});
  EXPECT_EQ(record.value("state", ""), "deferred") << record.dump();
  EXPECT_EQ(record.value("error_code", ""), "4") << record.dump();
  EXPECT_EQ(page()["reels_last_24h"], 30);
}

TEST_F(FacebookDaemonTest, GraphErrorsEndJobsWithTheirClassAndMessage) {
  start();
  // 506: the same status text twice within a day.
  const auto first = enqueue({{"post", {{"text", "fb said twice"}}}});
  EXPECT_EQ(wait_done(first).value("state", ""), "succeeded");
  const auto twice = enqueue({{"post", {{"text", "fb said twice"}}}});
  const auto dup = wait_done(twice);
  EXPECT_EQ(dup.value("state", ""), "failed") << dup.dump();
  EXPECT_EQ(dup.value("error_code", ""), "506");
  EXPECT_NE(dup.value("error", "").find("duplicates one already published"), std::string::npos) << dup.dump();
  // 324: a photo Facebook cannot fetch.
  const auto bad_photo = enqueue(
      {{"post", {{"text", "fb bad photo"}, {"media", {{{"url", cdn("jpeg", "truncate=100")}, {"kind", "image"}}}}}}});
  const auto bad = wait_done(bad_photo);
  EXPECT_EQ(bad.value("state", ""), "failed") << bad.dump();
  EXPECT_EQ(bad.value("error_code", ""), "324") << bad.dump();
  // 2 (service down, transient): retried, then published once.
  fault({{"kind", "error"}, {"api", "facebook"}, {"route", "facebook.photo_create"}, {"status", 503}, {"count", 1}});
  const auto flaky =
      enqueue({{"post", {{"text", "fb photo after 503"}, {"media", {{{"url", cdn("jpeg")}, {"kind", "image"}}}}}}});
  const auto retried = wait_done(flaky);
  EXPECT_EQ(retried.value("state", ""), "succeeded") << retried.dump();
  EXPECT_EQ(posts_with("fb photo after 503"), 1U);
  // 80001 (Page BUC throttle): deferred, no attempt used; the
  // Page's bucket is blocked until Meta's regain time, so this comes last.
  fault({{"kind", "rate_limit"}, {"api", "facebook"}, {"route", "facebook.feed_create"}, {"count", 1}});
  const auto throttled = enqueue({{"post", {{"text", "fb throttled once"}}}});
  const auto deferred = wait_state(throttled, {"deferred", "succeeded", "failed"});
  EXPECT_EQ(deferred.value("state", ""), "deferred") << deferred.dump();
  EXPECT_EQ(deferred.value("error_code", ""), "80001") << deferred.dump();
}

TEST_F(FacebookDaemonTest, MissingPublishPermissionFailsWithItsMessage) {
  start();
  const auto narrowed =
      sandbox_.admin("POST", "/graph/tokens", {{"token", kPageToken}, {"scopes", {"pages_show_list"}}});
  ASSERT_FALSE(narrowed.contains("error")) << narrowed.dump();
  const auto record = wait_done(enqueue({{"post", {{"text", "fb without permission"}}}}));
  EXPECT_EQ(record.value("state", ""), "failed") << record.dump();
  // 200 (Page publishing) or 10 (a permission missing for the read before it): both are permanent.
  const auto code = record.value("error_code", "");
  EXPECT_TRUE(code == "200" || code == "10") << record.dump();
  EXPECT_NE(record.value("error", "").find("permission"), std::string::npos) << record.dump();
  EXPECT_EQ(posts_with("fb without permission"), 0U);
}

TEST_F(FacebookDaemonTest, InvalidatedPageTokenMarksTheAccountNeedsReauthWithANotification) {
  start();
  const auto event = sandbox_.admin("POST", std::string("/graph/facebook/users/") + kUser + "/events",
                                    {{"event", "password_changed"}});
  ASSERT_FALSE(event.contains("error")) << event.dump();
  const auto id = enqueue({{"post", {{"text", "fb after password change"}}}});
  const auto record = wait_done(id);
  EXPECT_EQ(record.value("state", ""), "failed") << record.dump();
  EXPECT_EQ(record.value("error_code", ""), "needs_reauth") << record.dump();
  EXPECT_NE(record.value("error", "").find("190/460"), std::string::npos) << record.dump();
  EXPECT_EQ(record.value("error", "").find(kPageToken), std::string::npos) << "no token in messages";
  const auto shown = run_command(
      {SCHEDULO_BIN, "account", "show", "--config", live_.config_path(), std::string("facebook:") + kAccount});
  EXPECT_NE(shown.out.find("needs_reauth"), std::string::npos) << shown.out;
  const auto notifications = redis_cli({"LRANGE", live_.prefix() + ":notifications", "0", "-1"});
  EXPECT_NE(notifications.find("needs_reconnect"), std::string::npos) << notifications;
  EXPECT_EQ(posts_with("fb after password change"), 0U);
}

TEST_F(FacebookDaemonTest, AnalyticsReadCurrentPostMetricsOnly) {
  start();
  const auto published = wait_done(enqueue({{"post", {{"text", "fb measured"}}}}));
  ASSERT_EQ(published.value("state", ""), "succeeded");
  const auto post = result_of(published).value("published_id", std::string());
  sandbox_.admin("POST", "/graph/facebook/posts/" + post,
                 {{"metrics",
                   {{"post_total_media_view_unique", 120},
                    {"post_reactions_like_total", 7},
                    {"post_reactions_love_total", 3},
                    {"post_clicks", 9}}}});
  const auto id = enqueue({{"type", "fetch_analytics"}, {"targets", {{"post_ids", {post}}}}});
  const auto record = wait_done(id);
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  const auto posts = result_of(record)["posts"];
  ASSERT_EQ(posts.size(), 1U) << record.dump();
  EXPECT_EQ(posts[0]["views"], 120);
  EXPECT_EQ(posts[0]["reactions"]["like"], 7);
  EXPECT_EQ(posts[0]["reactions_total"], 10);
  EXPECT_EQ(posts[0]["clicks"], 9);
  EXPECT_GE(posts[0]["engagement"].get<int>(), 19);
  for (const auto& call : log("facebook.post_insights"))
    EXPECT_EQ(call.dump().find("impressions"), std::string::npos) << "deprecated metric asked: " << call.dump();
}

TEST_F(FacebookDaemonTest, TokenCheckSurfacesDataAccessExpiryAndAsksForReconnect) {
  start({{"reconnect_ahead_days", 7}});
  sandbox_.admin("POST", std::string("/graph/facebook/users/") + kUser + "/events",
                 {{"event", "data_access_expires"}, {"in_s", 2 * 24 * 3600}});
  const auto record = wait_done(enqueue({{"type", "refresh_token"}}));
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  const auto result = result_of(record);
  EXPECT_EQ(result.value("valid", false), true);
  EXPECT_EQ(result.value("expires_at", ""), "never") << result.dump();
  EXPECT_FALSE(result.value("reconnect_before", std::string()).empty()) << result.dump();
  const auto shown = run_command(
      {SCHEDULO_BIN, "account", "show", "--config", live_.config_path(), std::string("facebook:") + kAccount});
  EXPECT_NE(shown.out.find("expiring"), std::string::npos) << shown.out;
}

TEST_F(FacebookDaemonTest, RevokeDeletesTheAppsPermissionsAndWipesTheTokens) {
  start();
  const auto record = wait_done(enqueue({{"type", "revoke_token"}}));
  ASSERT_EQ(record.value("state", ""), "succeeded") << record.dump();
  EXPECT_EQ(sandbox_.admin("GET", "/log?api=graph&route=graph.permissions_revoke")["entries"].size(), 1U);
  const auto tokens = sandbox_.admin("GET", std::string("/graph/tokens?page_id=") + kPage);
  EXPECT_NE(tokens.dump().find("467"), std::string::npos) << tokens.dump();
  const auto shown = run_command(
      {SCHEDULO_BIN, "account", "show", "--config", live_.config_path(), std::string("facebook:") + kAccount});
  EXPECT_NE(shown.out.find("revoked"), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace schedulo::test
