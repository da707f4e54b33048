// The Instagram emulator over HTTP, driven the way the daemon's publish steps will drive it:
// containers (IN_PROGRESS for the configured polls, FINISHED, ERROR, EXPIRED, PUBLISHED), 9007/2207027
// on an early publish, content_publishing_limit, the 400 containers a day, media fetched for real from
// the CDN, rupload resumed from its offset, carousels, stories, media reads, insights, Instagram Login.
#include "tests/sandbox/graph_support.hpp"

namespace schedulo::test {
namespace {

class InstagramEmulator : public GraphTest {
 protected:
  std::string user_path(const std::string& edge = "") const {
    return std::string("/graph/v25.0/") + kIgUser + (edge.empty() ? "" : "/" + edge);
  }
  HttpReply create(Form form) {
    form.emplace_back("access_token", kIgPageToken);
    return post(user_path("media"), form);
  }
  std::string create_ok(const Form& form) {
    const auto reply = create(form);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json().value("id", "");
  }
  json status(const std::string& container) {
    const auto reply = get("/graph/v25.0/" + container,
                           {{"fields", "status_code,status,copyright_check_status"}, {"access_token", kIgPageToken}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json();
  }
  HttpReply publish(const std::string& container) {
    return post(user_path("media_publish"), {{"creation_id", container}, {"access_token", kIgPageToken}});
  }
  std::string publish_ok(const std::string& container) {
    const auto reply = publish(container);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json().value("id", "");
  }
  // Reads the container until it leaves IN_PROGRESS (at most `limit` reads); returns its status_code.
  std::string poll_until_done(const std::string& container, int limit = 10) {
    std::string code = "IN_PROGRESS";
    for (int i = 0; i < limit && code == "IN_PROGRESS"; ++i) code = status(container)["status_code"];
    return code;
  }
  json media(const std::string& id, const std::string& fields) {
    return get("/graph/v25.0/" + id, {{"fields", fields}, {"access_token", kIgPageToken}}).json();
  }
  json account() { return admin("GET", std::string("/graph/instagram/accounts/") + kIgUser); }
  json quota() {
    return get(user_path("content_publishing_limit"),
               {{"fields", "quota_usage,config"}, {"access_token", kIgPageToken}})
        .json()["data"][0];
  }
  std::string image() const { return cdn("jpeg", "width=1080&height=1080"); }
  std::string reel_video(int seconds = 10) const {
    return cdn("mp4", "width=1080&height=1920&bytes=300000&duration=" + std::to_string(seconds));
  }
};

TEST_F(InstagramEmulator, AnImageContainerIsFinishedAtOnceAndPublishesExactlyOnce) {
  const auto id = create_ok({{"image_url", image()}, {"caption", "Hello #sandbox"}, {"alt_text", "a grey square"}});
  const auto s = status(id);
  EXPECT_EQ(s["status_code"], "FINISHED");
  EXPECT_EQ(s["status"], "Finished: Media has been uploaded and it is ready to be published.");
  const auto media_id = publish_ok(id);
  EXPECT_EQ(status(id)["status_code"], "PUBLISHED");
  const auto m = media(media_id, "id,caption,media_type,media_product_type,permalink,timestamp,alt_text,like_count");
  EXPECT_EQ(m["media_type"], "IMAGE");
  EXPECT_EQ(m["media_product_type"], "FEED");
  EXPECT_EQ(m["caption"], "Hello #sandbox");
  EXPECT_EQ(m["alt_text"], "a grey square");
  EXPECT_TRUE(m["permalink"].get<std::string>().starts_with("https://www.instagram.com/p/")) << m.dump();
  EXPECT_EQ(m["timestamp"].get<std::string>().size(), std::string("2026-01-01T00:00:00+0000").size());
  // Publishing the same container again never makes a second post.
  expect_error(publish(id), 100);
  EXPECT_EQ(account()["media"].size(), 1U);
  // The emulator fetched the image for real from the CDN.
  const auto log = admin("GET", "/log?api=cdn");
  EXPECT_EQ(log["entries"].size(), 1U);
}

TEST_F(InstagramEmulator, AVideoContainerIsInProgressForTheConfiguredPollsAndAnEarlyPublishIs9007) {
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser, {{"video_polls", 3}});
  const auto id = create_ok({{"media_type", "REELS"}, {"video_url", reel_video()}, {"caption", "reel"}});
  const auto early = publish(id);
  EXPECT_EQ(early.status, 400);
  expect_error(early, 9007, 2207027);
  const auto e = graph_error(early);
  EXPECT_EQ(e["message"], "Media ID is not available");
  EXPECT_EQ(e["error_user_title"], "Cannot Publish");
  EXPECT_EQ(e["is_transient"], false);
  for (int i = 0; i < 3; ++i) {
    const auto s = status(id);
    EXPECT_EQ(s["status_code"], "IN_PROGRESS") << "poll " << i;
    EXPECT_EQ(s["status"], "In Progress: Media is still being processed.");
    EXPECT_EQ(s["copyright_check_status"]["status"], "in_progress");
  }
  const auto done = status(id);
  EXPECT_EQ(done["status_code"], "FINISHED");
  EXPECT_EQ(done["copyright_check_status"]["status"], "completed");
  EXPECT_EQ(account()["media"].size(), 0U) << "the early publish made nothing";
  const auto media_id = publish_ok(id);
  const auto m = media(media_id, "media_type,media_product_type,permalink,is_shared_to_feed");
  EXPECT_EQ(m["media_type"], "VIDEO");
  EXPECT_EQ(m["media_product_type"], "REELS");
  EXPECT_EQ(m["is_shared_to_feed"], true);
  EXPECT_TRUE(m["permalink"].get<std::string>().starts_with("https://www.instagram.com/reel/"));
}

TEST_F(InstagramEmulator, ProcessingTimeOnTheSandboxClockAlsoHoldsAContainer) {
  limits({{"ig_processing_ms", 60000}});
  const auto id = create_ok({{"image_url", image()}});
  EXPECT_EQ(status(id)["status_code"], "IN_PROGRESS");
  advance(59999);
  EXPECT_EQ(status(id)["status_code"], "IN_PROGRESS");
  advance(1);
  EXPECT_EQ(status(id)["status_code"], "FINISHED");
}

TEST_F(InstagramEmulator, AContainerNotPublishedIn24HoursExpires) {
  const auto id = create_ok({{"image_url", image()}});
  EXPECT_EQ(status(id)["status_code"], "FINISHED");
  advance(kDayMs - 1);
  EXPECT_EQ(status(id)["status_code"], "FINISHED");
  advance(1);
  const auto s = status(id);
  EXPECT_EQ(s["status_code"], "EXPIRED");
  EXPECT_EQ(s["status"], "Expired: Media was not published within 24 hours.");
  expect_error(publish(id), -2, 2207020);
}

TEST_F(InstagramEmulator, AVideoThatIsNotOneEndsInErrorWithItsSubcode) {
  const auto id = create_ok({{"media_type", "REELS"}, {"video_url", cdn("jpeg")}});
  std::string code;
  for (int i = 0; i < 5 && code != "ERROR"; ++i) code = status(id)["status_code"];
  ASSERT_EQ(code, "ERROR");
  EXPECT_NE(status(id)["status"].get<std::string>().find("2207026"), std::string::npos);
  expect_error(publish(id), 352, 2207026);
  // Too short a reel (1 s) fails the same way; a cut video as 2207053.
  const auto short_one = create_ok({{"media_type", "REELS"}, {"video_url", reel_video(1)}});
  for (int i = 0; i < 3; ++i) status(short_one);
  EXPECT_EQ(status(short_one)["status_code"], "ERROR");
}

TEST_F(InstagramEmulator, ATestCanMakeTheNextContainerFailWithAGivenError) {
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser,
        {{"next_container_error", {{"code", -1}, {"subcode", 2207001}, {"message", "Instagram server error"}}}});
  const auto failed = create_ok({{"image_url", image()}});
  EXPECT_EQ(status(failed)["status_code"], "ERROR");
  expect_error(publish(failed), -1, 2207001);
  const auto next = create_ok({{"image_url", image()}});
  EXPECT_EQ(status(next)["status_code"], "FINISHED") << "only the next container";
}

TEST_F(InstagramEmulator, ImageProblemsAreAnsweredOnCreate) {
  expect_error(create({{"image_url", cdn("png")}}), 36001, 2207005);
  expect_error(create({{"image_url", cdn("jpeg", "width=1080&height=1920")}}), 36003, 2207009);
  expect_error(create({{"image_url", cdn("jpeg", "bytes=9000000")}}), 36000, 2207004);
  expect_error(create({{"image_url", cdn("jpeg", "width=oops")}}), 9004, 2207052);
  expect_error(create({{"image_url", "http://127.0.0.1:1/nothing.jpg"}}), 9004, 2207052);
  limits({{"fetch_timeout_ms", 300}});
  expect_error(create({{"image_url", cdn("jpeg", "slow_ms=200&chunk=10000")}}), -2, 2207003);
  limits({{"fetch_timeout_ms", 20000}});
  // A story takes any aspect ratio.
  EXPECT_EQ(create({{"media_type", "STORIES"}, {"image_url", cdn("jpeg", "width=1080&height=1920")}}).status, 200);
  EXPECT_EQ(account()["containers"].size(), 1U) << "refused images made no container";
}

TEST_F(InstagramEmulator, CaptionRulesAre2200Characters30HashtagsAnd20Mentions) {
  expect_error(create({{"image_url", image()}, {"caption", std::string(2201, 'a')}}), 100, 2207010);
  std::string tags;
  for (int i = 0; i < 31; ++i) tags += " #t" + std::to_string(i);
  expect_error(create({{"image_url", image()}, {"caption", tags}}), 100, 2207010);
  std::string mentions;
  for (int i = 0; i < 21; ++i) mentions += " @u" + std::to_string(i);
  expect_error(create({{"image_url", image()}, {"caption", mentions}}), 100, 2207010);
  // 2200 characters of UTF-8 (more bytes than characters) are fine.
  std::string long_ok;
  for (int i = 0; i < 1100; ++i) long_ok += "é";
  long_ok += std::string(1100, 'a');
  EXPECT_EQ(create({{"image_url", image()}, {"caption", long_ok}}).status, 200);
}

TEST_F(InstagramEmulator, ACarouselNeedsTwoToTenChildrenAndIsReadyWhenAllAre) {
  const auto a = create_ok({{"image_url", image()}, {"is_carousel_item", "true"}});
  const auto b =
      create_ok({{"media_type", "VIDEO"}, {"video_url", cdn("mp4", "duration=5")}, {"is_carousel_item", "true"}});
  const auto loner = create_ok({{"image_url", image()}});
  expect_error(create({{"media_type", "CAROUSEL"}, {"children", a}}), 100, 2207028);
  expect_error(create({{"media_type", "CAROUSEL"}, {"children", a + "," + loner}}), 100, 2207028);
  expect_error(create({{"media_type", "VIDEO"}, {"video_url", cdn("mp4")}}), 100);  // VIDEO is for carousel items
  const auto parent = create_ok({{"media_type", "CAROUSEL"}, {"children", a + "," + b}, {"caption", "two"}});
  // The video child needs its polls; reading the carousel polls its children.
  EXPECT_EQ(status(parent)["status_code"], "IN_PROGRESS");
  EXPECT_EQ(status(parent)["status_code"], "IN_PROGRESS");
  EXPECT_EQ(status(parent)["status_code"], "FINISHED");
  expect_error(publish(a), 100, 2207028);  // a child is not published alone
  expect_error(create({{"media_type", "CAROUSEL"}, {"children", a + "," + b}}), 100, 2207028);  // nor reused
  const auto album = publish_ok(parent);
  const auto m = media(album, "media_type,caption,children{id,media_type}");
  EXPECT_EQ(m["media_type"], "CAROUSEL_ALBUM");
  ASSERT_EQ(m["children"]["data"].size(), 2U);
  EXPECT_EQ(m["children"]["data"][0]["media_type"], "IMAGE");
  EXPECT_EQ(m["children"]["data"][1]["media_type"], "VIDEO");
  EXPECT_EQ(quota()["quota_usage"], 1) << "a carousel counts as one post";
  const auto child_insights = get("/graph/v25.0/" + m["children"]["data"][0]["id"].get<std::string>() + "/insights",
                                  {{"metric", "reach"}, {"access_token", kIgPageToken}});
  expect_error(child_insights, 100);
  const auto list = get(user_path("media"), {{"access_token", kIgPageToken}}).json()["data"];
  EXPECT_EQ(list.size(), 1U) << "children are not in the account's media";
}

TEST_F(InstagramEmulator, ThePublishingQuotaCountsDownAndFreesAfter24Hours) {
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser, {{"quota_total", 2}});
  EXPECT_EQ(quota()["config"]["quota_total"], 2);
  EXPECT_EQ(quota()["config"]["quota_duration"], 86400);
  EXPECT_EQ(get(user_path("content_publishing_limit"), {{"access_token", kIgPageToken}}).json()["data"][0].size(), 1U)
      << "quota_usage alone by default";
  publish_ok(create_ok({{"image_url", image()}}));
  EXPECT_EQ(quota()["quota_usage"], 1);
  advance(kHourMs);
  publish_ok(create_ok({{"image_url", image()}}));
  EXPECT_EQ(quota()["quota_usage"], 2);
  const auto third = create_ok({{"image_url", image()}});
  const auto refused = publish(third);
  expect_error(refused, 9, 2207042);
  EXPECT_EQ(status(third)["status_code"], "FINISHED") << "the container waits for the window";
  advance(kDayMs - kHourMs);
  EXPECT_EQ(quota()["quota_usage"], 1) << "the first post left the 24 h window";
  publish_ok(third);
  // since= narrows the count to posts after it.
  const auto since = std::to_string(clock_ms() / 1000 - 60);
  EXPECT_EQ(get(user_path("content_publishing_limit"), {{"since", since}, {"access_token", kIgPageToken}})
                .json()["data"][0]["quota_usage"],
            1);
}

TEST_F(InstagramEmulator, AtMost400ContainersADayAndTheLimitIsConfigurable) {
  limits({{"ig_containers_per_day", 3}});
  for (int i = 0; i < 3; ++i) create_ok({{"image_url", image()}});
  expect_error(create({{"image_url", image()}}), 9);
  advance(kDayMs);
  EXPECT_EQ(create({{"image_url", image()}}).status, 200);
  limits({{"ig_containers_per_day", 400}});
  EXPECT_EQ(admin("GET", "/graph/limits")["ig_containers_per_day"], 400);
}

TEST_F(InstagramEmulator, RuploadResumesFromTheAcknowledgedOffset) {
  const auto created = create({{"media_type", "REELS"}, {"upload_type", "resumable"}, {"caption", "uploaded"}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = created.json()["id"];
  const std::string uri = created.json()["uri"];
  const std::string path = "/rupload/ig-api-upload/v25.0/" + id;
  EXPECT_EQ(uri, base() + path);
  // Before the upload, reads do not count as polls.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(status(id)["status_code"], "IN_PROGRESS");
  const auto video = cdn_bytes("mp4", "width=1080&height=1920&bytes=200000&duration=6");
  const auto size = std::to_string(video.size());
  const Headers auth{{"Authorization", std::string("OAuth ") + kIgPageToken}};
  // The connection breaks at byte 70000: the server keeps what it got, nobody hears back.
  fault({{"kind", "commit_then_lose"}, {"route", "instagram.rupload"}, {"cut_after", 70000}, {"count", 1}});
  Headers first = auth;
  first.insert(first.end(), {{"offset", "0"}, {"file_size", size}, {"Content-Type", "application/octet-stream"}});
  EXPECT_FALSE(http(port(), "POST", path, video, first).answered);
  const auto where = get(path, {}, auth);
  ASSERT_EQ(where.status, 200) << where.body;
  EXPECT_EQ(where.json()["offset"], 70000);
  EXPECT_EQ(where.json()["file_size"], video.size());
  // Sending from an offset past what arrived is refused, retriably.
  Headers ahead = auth;
  ahead.insert(ahead.end(), {{"offset", "80000"}, {"file_size", size}});
  const auto mismatch = http(port(), "POST", path, video.substr(80000), ahead);
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(mismatch.json()["debug_info"]["retriable"], true);
  // A body that stops short is kept, and the answer names where to go on from.
  Headers part = auth;
  part.insert(part.end(), {{"offset", "70000"}, {"file_size", size}});
  const auto partial = http(port(), "POST", path, video.substr(70000, 10000), part);
  EXPECT_EQ(partial.status, 400);
  EXPECT_EQ(partial.json()["debug_info"]["type"], "PartialRequestError");
  EXPECT_EQ(partial.json()["debug_info"]["retriable"], true);
  EXPECT_NE(partial.json()["debug_info"]["message"].get<std::string>().find("resume from offset 80000"),
            std::string::npos);
  // Resending bytes the server already has is harmless: they are skipped.
  Headers rest = auth;
  rest.insert(rest.end(), {{"offset", "75000"}, {"file_size", size}});
  const auto done = http(port(), "POST", path, video.substr(75000), rest);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json(), json({{"success", true}, {"message", "Upload successful."}}));
  std::string code;
  for (int i = 0; i < 4 && code != "FINISHED"; ++i) code = status(id)["status_code"];
  EXPECT_EQ(code, "FINISHED");
  const auto media_id = publish_ok(id);
  EXPECT_EQ(media(media_id, "media_product_type")["media_product_type"], "REELS");
  // Resumable uploads are for Facebook Login only.
  const auto ig_login = post(std::string("/graph-instagram/v25.0/") + kIgLoginUser + "/media",
                             {{"media_type", "REELS"}, {"upload_type", "resumable"}, {"access_token", kIgLoginToken}});
  expect_error(ig_login, 100);
}

TEST_F(InstagramEmulator, RuploadWithAFileUrlFetchesTheVideoItself) {
  const auto created = create({{"media_type", "STORIES"}, {"upload_type", "resumable"}});
  const std::string id = created.json()["id"];
  const auto done = http(port(), "POST", "/rupload/ig-api-upload/v25.0/" + id, "",
                         {{"Authorization", std::string("OAuth ") + kIgPageToken},
                          {"file_url", cdn("mp4", "width=1080&height=1920&duration=8")}});
  ASSERT_EQ(done.status, 200) << done.body;
  std::string code;
  for (int i = 0; i < 4 && code != "FINISHED"; ++i) code = status(id)["status_code"];
  EXPECT_EQ(code, "FINISHED");
  const auto story = publish_ok(id);
  EXPECT_EQ(media(story, "media_product_type,media_type")["media_product_type"], "STORY");
  const auto stories = get(user_path("stories"), {{"access_token", kIgPageToken}}).json()["data"];
  ASSERT_EQ(stories.size(), 1U);
  EXPECT_EQ(get(user_path("media"), {{"access_token", kIgPageToken}}).json()["data"].size(), 0U);
  const auto wrong = http(port(), "POST", "/rupload/ig-api-upload/v25.0/" + id, "x",
                          {{"Authorization", "OAuth nonsense"}, {"offset", "0"}, {"file_size", "1"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(wrong.json().contains("debug_info"));
}

TEST_F(InstagramEmulator, ALostAnswerToMediaPublishLeavesExactlyOnePostThatTheContainerAndListShow) {
  const auto id = create_ok({{"image_url", image()}, {"caption", "marker-7f3a"}});
  EXPECT_EQ(status(id)["status_code"], "FINISHED");
  fault({{"kind", "commit_then_lose"}, {"route", "instagram.media_publish"}, {"count", 1}});
  const auto lost = publish(id);
  EXPECT_FALSE(lost.answered);
  // Reconciliation by id: the container says PUBLISHED; the recent media has the post once.
  EXPECT_EQ(status(id)["status_code"], "PUBLISHED");
  const auto list = get(user_path("media"), {{"fields", "id,caption,timestamp"}, {"access_token", kIgPageToken}});
  ASSERT_EQ(list.json()["data"].size(), 1U);
  EXPECT_EQ(list.json()["data"][0]["caption"], "marker-7f3a");
  expect_error(publish(id), 100);  // a blind retry does not post twice
  EXPECT_EQ(account()["media"].size(), 1U);
  EXPECT_EQ(quota()["quota_usage"], 1);
}

TEST_F(InstagramEmulator, RecentMediaIsNewestFirstWithCursors) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(publish_ok(create_ok({{"image_url", image()}, {"caption", "post " + std::to_string(i)}})));
    advance(60000);
  }
  const auto page1 =
      get(user_path("media"), {{"fields", "id,caption"}, {"limit", "2"}, {"access_token", kIgPageToken}});
  const auto data = page1.json()["data"];
  ASSERT_EQ(data.size(), 2U);
  EXPECT_EQ(data[0]["id"], ids[2]);
  EXPECT_EQ(data[1]["id"], ids[1]);
  const auto after = page1.json()["paging"]["cursors"]["after"].get<std::string>();
  const auto page2 =
      get(user_path("media"), {{"fields", "id"}, {"limit", "2"}, {"after", after}, {"access_token", kIgPageToken}});
  ASSERT_EQ(page2.json()["data"].size(), 1U);
  EXPECT_EQ(page2.json()["data"][0]["id"], ids[0]);
}

TEST_F(InstagramEmulator, MediaInsightsAreEmptyFor48HoursThenCarryValues) {
  const auto container = create_ok({{"media_type", "REELS"}, {"video_url", reel_video()}});
  ASSERT_EQ(poll_until_done(container), "FINISHED");
  const auto reel = publish_ok(container);
  const auto path = "/graph/v25.0/" + reel + "/insights";
  const Form metrics{{"metric", "views,reach,likes,comments,shares,saved,total_interactions,ig_reels_avg_watch_time"},
                     {"access_token", kIgPageToken}};
  EXPECT_EQ(get(path, metrics).json(), json({{"data", json::array()}})) << "empty data, not zeros";
  advance(48 * kHourMs - 1);
  EXPECT_EQ(get(path, metrics).json()["data"].size(), 0U);
  advance(1);
  const auto data = get(path, metrics).json()["data"];
  ASSERT_EQ(data.size(), 8U);
  std::map<std::string, std::int64_t> values;
  for (const auto& d : data) {
    EXPECT_EQ(d["period"], "lifetime");
    EXPECT_EQ(d["id"], reel + "/insights/" + d["name"].get<std::string>() + "/lifetime");
    EXPECT_TRUE(d.contains("title") && d.contains("description"));
    values[d["name"]] = d["values"][0]["value"].get<std::int64_t>();
  }
  EXPECT_EQ(values["total_interactions"], values["likes"] + values["comments"] + values["shares"] + values["saved"]);
  EXPECT_GE(values["views"], values["reach"]);
  // A test can set the numbers.
  admin("POST", "/graph/instagram/media/" + reel, {{"metrics", {{"reach", 4242}}}});
  EXPECT_EQ(get(path, {{"metric", "reach"}, {"access_token", kIgPageToken}}).json()["data"][0]["values"][0]["value"],
            4242);
  const auto likes =
      get(path, {{"metric", "likes"}, {"access_token", kIgPageToken}}).json()["data"][0]["values"][0]["value"];
  EXPECT_EQ(media(reel, "like_count")["like_count"], likes) << "the media's counts agree with its insights";
}

TEST_F(InstagramEmulator, DeprecatedAndMisplacedMetricsAnswerTheRealErrors) {
  const auto image_media = publish_ok(create_ok({{"image_url", image()}}));
  advance(48 * kHourMs);
  const auto path = "/graph/v25.0/" + image_media + "/insights";
  for (const char* deprecated :
       {"impressions", "plays", "clips_replays_count", "ig_reels_aggregated_all_plays_count", "video_views"}) {
    const auto reply = get(path, {{"metric", std::string("reach,") + deprecated}, {"access_token", kIgPageToken}});
    expect_error(reply, 100);
    EXPECT_NE(graph_error(reply)["message"].get<std::string>().find(deprecated), std::string::npos) << reply.body;
  }
  const auto reels_only = get(path, {{"metric", "ig_reels_avg_watch_time"}, {"access_token", kIgPageToken}});
  expect_error(reels_only, 100);
  EXPECT_NE(graph_error(reels_only)["message"].get<std::string>().find("media product type"), std::string::npos);
  const auto unknown = get(path, {{"metric", "reach,karma"}, {"access_token", kIgPageToken}});
  EXPECT_NE(graph_error(unknown)["message"].get<std::string>().find("metric[1] must be one of"), std::string::npos);
  admin("POST", std::string("/graph/instagram/accounts/") + kIgUser, {{"followers", 50}});
  expect_error(get(path, {{"metric", "reach"}, {"access_token", kIgPageToken}}), 10);
}

TEST_F(InstagramEmulator, ImpressionsStillAnswerOnAnOldVersionForOldMedia) {
  // v25.0 did not exist yet in 2024: this account talks v20.0.
  admin("POST", "/clock", {{"set", "2024-06-01T00:00:00Z"}});
  const std::string v20 = std::string("/graph/v20.0/") + kIgUser;
  const auto created = post(v20 + "/media", {{"image_url", image()}, {"access_token", kIgPageToken}});
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.header("facebook-api-version"), "v20.0");
  expect_error(
      post(std::string("/graph/v25.0/") + kIgUser + "/media", {{"image_url", image()}, {"access_token", kIgPageToken}}),
      2500);
  const auto published =
      post(v20 + "/media_publish", {{"creation_id", created.json()["id"]}, {"access_token", kIgPageToken}});
  ASSERT_EQ(published.status, 200) << published.body;
  const std::string old = published.json()["id"];
  admin("POST", "/clock", {{"set", "2024-08-01T00:00:00Z"}});
  const auto insights =
      get("/graph/v20.0/" + old + "/insights", {{"metric", "impressions"}, {"access_token", kIgPageToken}});
  ASSERT_EQ(insights.status, 200) << insights.body;
  EXPECT_EQ(insights.json()["data"][0]["name"], "impressions");
}

TEST_F(InstagramEmulator, AccountInsightsComeAsTotalValueOrAsATimeSeries) {
  const auto m = publish_ok(create_ok({{"image_url", image()}}));
  advance(3 * kDayMs);
  const auto now_s = clock_ms() / 1000;
  const Form range{{"since", std::to_string(now_s - 4 * 86400)}, {"until", std::to_string(now_s)}};
  Form total = range;
  total.insert(total.end(), {{"metric", "reach,likes,total_interactions"},
                             {"period", "day"},
                             {"metric_type", "total_value"},
                             {"access_token", kIgPageToken}});
  const auto t = get(user_path("insights"), total);
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_TRUE(t.json()["data"][0]["total_value"].contains("value"));
  EXPECT_FALSE(t.json()["data"][0].contains("values"));
  const auto reach = get("/graph/v25.0/" + m + "/insights", {{"metric", "reach"}, {"access_token", kIgPageToken}});
  EXPECT_EQ(t.json()["data"][0]["total_value"]["value"], reach.json()["data"][0]["values"][0]["value"]);
  Form series = range;
  series.insert(series.end(), {{"metric", "reach,follower_count"}, {"period", "day"}, {"access_token", kIgPageToken}});
  const auto s = get(user_path("insights"), series);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json()["data"][0]["values"].size(), 4U);
  EXPECT_TRUE(s.json()["data"][0]["values"][0].contains("end_time"));
  Form wrong = range;
  wrong.insert(wrong.end(), {{"metric", "likes"}, {"period", "day"}, {"access_token", kIgPageToken}});
  const auto needs_total = get(user_path("insights"), wrong);
  expect_error(needs_total, 100);
  EXPECT_NE(graph_error(needs_total)["message"].get<std::string>().find("metric_type=total_value"), std::string::npos);
  expect_error(
      get(user_path("insights"), {{"metric", "website_clicks"}, {"period", "day"}, {"access_token", kIgPageToken}}),
      100);
}

TEST_F(InstagramEmulator, InstagramLoginTokensAreShortThenLongThenRefreshedAfter24Hours) {
  const std::string redirect = "https://app.example/oauth/instagram";
  const auto dialog =
      get("/instagram/oauth/authorize", {{"client_id", kAppId},
                                         {"redirect_uri", redirect},
                                         {"response_type", "code"},
                                         {"state", "st"},
                                         {"scope", "instagram_business_basic,instagram_business_content_publish"}});
  ASSERT_EQ(dialog.status, 302);
  const auto location = dialog.header("location");
  ASSERT_TRUE(location.starts_with(redirect + "?code=")) << location;
  EXPECT_TRUE(location.ends_with("#_"));
  const auto code = location.substr(location.find("code=") + 5, location.find('&') - location.find("code=") - 5);
  const auto short_reply = post("/instagram-api/oauth/access_token", {{"client_id", kAppId},
                                                                      {"client_secret", kAppSecret},
                                                                      {"grant_type", "authorization_code"},
                                                                      {"redirect_uri", redirect},
                                                                      {"code", code}});
  ASSERT_EQ(short_reply.status, 200) << short_reply.body;
  const auto body = short_reply.json();
  EXPECT_TRUE(body["user_id"].is_number_unsigned());
  EXPECT_EQ(std::to_string(body["user_id"].get<std::uint64_t>()), kIgLoginUser);
  EXPECT_NE(short_reply.body.find(std::string("\"user_id\":") + kIgLoginUser), std::string::npos)
      << "the id goes out as exact digits";
  EXPECT_EQ(body["permissions"], "instagram_business_basic,instagram_business_content_publish");
  const std::string short_token = body["access_token"];

  const auto long_reply =
      get("/graph-instagram/access_token",
          {{"grant_type", "ig_exchange_token"}, {"client_secret", kAppSecret}, {"access_token", short_token}});
  ASSERT_EQ(long_reply.status, 200) << long_reply.body;
  EXPECT_EQ(long_reply.json()["expires_in"], 5183944);
  const std::string long_token = long_reply.json()["access_token"];
  expect_error(
      get("/graph-instagram/refresh_access_token", {{"grant_type", "ig_refresh_token"}, {"access_token", long_token}}),
      100);  // not 24 h old yet
  advance(kDayMs);
  const auto refreshed =
      get("/graph-instagram/refresh_access_token", {{"grant_type", "ig_refresh_token"}, {"access_token", long_token}});
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(refreshed.json()["token_type"], "bearer");
  EXPECT_EQ(refreshed.json()["expires_in"], 5184000);
  const std::string fresh = refreshed.json()["access_token"];
  EXPECT_NE(fresh, long_token);
  const auto me = get("/graph-instagram/v25.0/me", {{"fields", "user_id,username"}, {"access_token", fresh}});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json()["user_id"], kIgLoginUser);
  // The short-lived token died after its hour.
  expect_error(get("/graph-instagram/access_token",
                   {{"grant_type", "ig_exchange_token"}, {"client_secret", kAppSecret}, {"access_token", short_token}}),
               190, 463);
  // The wrapper of the code exchange is configurable (UNCONFIRMED in the reference).
  limits({{"ig_login_wrap_data", true}});
  const auto again = get("/instagram/oauth/authorize",
                         {{"client_id", kAppId}, {"redirect_uri", redirect}, {"scope", "instagram_business_basic"}});
  const auto loc = again.header("location");
  const auto code2 = loc.substr(loc.find("code=") + 5, loc.find('#') - loc.find("code=") - 5);
  const auto wrapped = post("/instagram-api/oauth/access_token", {{"client_id", kAppId},
                                                                  {"client_secret", kAppSecret},
                                                                  {"grant_type", "authorization_code"},
                                                                  {"redirect_uri", redirect},
                                                                  {"code", code2}});
  ASSERT_EQ(wrapped.status, 200) << wrapped.body;
  EXPECT_TRUE(wrapped.json()["data"][0].contains("access_token"));
}

TEST_F(InstagramEmulator, InstagramLoginPublishesOnGraphInstagramAndNeedsItsScopes) {
  const std::string base_path = std::string("/graph-instagram/v25.0/") + kIgLoginUser;
  const auto created = post(base_path + "/media", {{"image_url", image()}, {"access_token", kIgLoginToken}});
  ASSERT_EQ(created.status, 200) << created.body;
  const auto published =
      post(base_path + "/media_publish", {{"creation_id", created.json()["id"]}, {"access_token", kIgLoginToken}});
  ASSERT_EQ(published.status, 200) << published.body;
  EXPECT_EQ(published.header("facebook-api-version"), "v25.0");
  const auto seeded =
      admin("POST", "/graph/instagram/users", {{"username", "narrow"}, {"scopes", {"instagram_business_basic"}}});
  const auto narrow = post(std::string("/graph-instagram/v25.0/") + seeded["ig_user_id"].get<std::string>() + "/media",
                           {{"image_url", image()}, {"access_token", seeded["access_token"]}});
  expect_error(narrow, 10);
  admin("POST", std::string("/graph/instagram/accounts/") + kIgLoginUser, {{"event", "deauthorized"}});
  expect_error(get(base_path, {{"access_token", kIgLoginToken}}), 190, 467);
}

}  // namespace
}  // namespace schedulo::test
