// The Facebook Pages emulator over HTTP, driven the way the daemon's publish steps will drive it:
// feed posts (text, link, scheduled, several photos by attached_media), photos published and not,
// videos by file_url and by the start/transfer/finish phases (resumed from error_data), reels
// (start, rupload, finish; status phases; 30 a day), insights with current and deprecated metrics,
// the Page's recent posts, lost answers on the feed post and the reel finish.
#include "tests/sandbox/graph_support.hpp"

namespace schedulo::test {
namespace {

class FacebookEmulator : public GraphTest {
 protected:
  std::string page_path(const std::string& edge = "") const {
    return std::string("/graph/v25.0/") + kFbPage + (edge.empty() ? "" : "/" + edge);
  }
  HttpReply publish(const std::string& edge, Form form) {
    form.emplace_back("access_token", kFbPageToken);
    return post(page_path(edge), form);
  }
  json read(const std::string& id, const std::string& fields, const std::string& version = "v25.0") {
    const auto reply = get("/graph/" + version + "/" + id, {{"fields", fields}, {"access_token", kFbPageToken}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json();
  }
  json recent(const std::string& fields = "id,message,created_time,permalink_url") {
    const auto reply = get(page_path("posts"), {{"fields", fields}, {"access_token", kFbPageToken}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json()["data"];
  }
  json page_state() { return admin("GET", std::string("/graph/facebook/pages/") + kFbPage); }
  // Reads the video's status until it stops processing (at most `limit` reads).
  json status_until_done(const std::string& video, int limit, int& reads) {
    json s;
    for (reads = 1; reads <= limit; ++reads) {
      s = read(video, "status,post_id");
      if (s["status"]["video_status"] != "processing") break;
    }
    return s;
  }
  std::string reel_url() const { return cdn("mp4", "width=1080&height=1920&bytes=250000&duration=12"); }
};

TEST_F(FacebookEmulator, TextAndLinkPostsAppearInTheRecentPostsNewestFirst) {
  const auto text =
      publish("feed", {{"message", "Hello from the sandbox"}, {"fields", "id,permalink_url,created_time"}});
  ASSERT_EQ(text.status, 200) << text.body;
  const std::string text_id = text.json()["id"];
  EXPECT_TRUE(text_id.starts_with(std::string(kFbPage) + "_")) << text_id;
  EXPECT_EQ(text.json()["permalink_url"],
            "https://www.facebook.com/" + std::string(kFbPage) + "/posts/" + text_id.substr(text_id.find('_') + 1));
  EXPECT_TRUE(text.json().contains("created_time"));
  advance(1000);
  const auto link = publish("feed", {{"message", "Read this"}, {"link", "https://example.com/article"}});
  ASSERT_EQ(link.status, 200) << link.body;
  const auto posts = recent();
  ASSERT_EQ(posts.size(), 2U);
  EXPECT_EQ(posts[0]["id"], link.json()["id"]);
  EXPECT_EQ(posts[1]["message"], "Hello from the sandbox");
  const auto attachment = read(link.json()["id"], "attachments,status_type");
  EXPECT_EQ(attachment["attachments"]["data"][0]["url"], "https://example.com/article");
  EXPECT_EQ(attachment["status_type"], "shared_story");

  expect_error(publish("feed", {{"message", "Hello from the sandbox"}}), 506);  // the same status again
  expect_error(publish("feed", {{"message", "x"}, {"link", "not a url"}}), 1609005);
  expect_error(publish("feed", {{"published", "true"}}), 100);
  // Publishing needs the Page token: a user token of an admin is refused with #200.
  const auto as_user = post(page_path("feed"), {{"message", "as user"}, {"access_token", kDemoUserToken}});
  EXPECT_EQ(as_user.status, 403);
  expect_error(as_user, 200);
  // A deleted post leaves the list.
  ASSERT_EQ(del("/graph/v25.0/" + link.json()["id"].get<std::string>(), {{"access_token", kFbPageToken}}).status, 200);
  EXPECT_EQ(recent().size(), 1U);
}

TEST_F(FacebookEmulator, ScheduledPostsNeedPublishedFalseAndAWindowAndShowWhenDue) {
  const auto now_s = clock_ms() / 1000;
  expect_error(publish("feed", {{"message", "soon"}, {"scheduled_publish_time", std::to_string(now_s + 3600)}}), 100);
  expect_error(
      publish("feed",
              {{"message", "soon"}, {"published", "false"}, {"scheduled_publish_time", std::to_string(now_s + 60)}}),
      100);
  const auto scheduled = publish(
      "feed",
      {{"message", "in an hour"}, {"published", "false"}, {"scheduled_publish_time", std::to_string(now_s + 3600)}});
  ASSERT_EQ(scheduled.status, 200) << scheduled.body;
  EXPECT_EQ(recent().size(), 0U);
  EXPECT_EQ(read(scheduled.json()["id"], "is_published")["is_published"], false);
  advance(3600 * 1000);
  ASSERT_EQ(recent().size(), 1U);
  EXPECT_EQ(read(scheduled.json()["id"], "is_published,scheduled_publish_time")["is_published"], true);
}

TEST_F(FacebookEmulator, PublishedPhotosMakeAPostAndUnpublishedOnesAttachToOne) {
  const auto single = publish("photos", {{"url", cdn("jpeg")}, {"caption", "one photo"}});
  ASSERT_EQ(single.status, 200) << single.body;
  ASSERT_TRUE(single.json().contains("post_id"));
  EXPECT_EQ(read(single.json()["id"], "page_story_id,name,width")["page_story_id"], single.json()["post_id"]);

  const auto a = publish("photos", {{"url", cdn("jpeg")}, {"published", "false"}});
  const auto b = post_multipart(page_path("photos"), {{"published", "false"}, {"access_token", kFbPageToken}},
                                {{"source", "b.png", "image/png", cdn_bytes("png", "width=800&height=600")}});
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_FALSE(a.json().contains("post_id"));
  const json attached = json::array({{{"media_fbid", a.json()["id"]}}, {{"media_fbid", b.json()["id"]}}});
  const auto album = publish("feed", {{"message", "two photos"}, {"attached_media", attached.dump()}});
  ASSERT_EQ(album.status, 200) << album.body;
  const auto subs = read(album.json()["id"], "attachments")["attachments"]["data"][0]["subattachments"]["data"];
  ASSERT_EQ(subs.size(), 2U);
  EXPECT_EQ(subs[0]["target"]["id"], a.json()["id"]);
  // A photo goes into one post only; the SDKs' attached_media[0]= form is read too.
  expect_error(publish("feed", {{"message", "again"}, {"attached_media[0]", attached[0].dump()}}), 100);
  const auto c = publish("photos", {{"url", cdn("gif")}, {"published", "false"}});
  EXPECT_EQ(publish("feed", {{"attached_media[0]", json{{"media_fbid", c.json()["id"]}}.dump()}}).status, 200);
  // What is not an image is refused.
  expect_error(publish("photos", {{"url", cdn("mp4")}}), 324);
  expect_error(publish("photos", {{"caption", "nothing"}}), 324);
  EXPECT_EQ(recent().size(), 3U);
}

TEST_F(FacebookEmulator, AVideoByFileUrlProcessesForTheConfiguredReadsThenHasItsPost) {
  admin("POST", std::string("/graph/facebook/pages/") + kFbPage, {{"video_polls", 3}});
  const auto video =
      post(std::string("/graph-video/v25.0/") + kFbPage + "/videos", {{"file_url", cdn("mp4", "duration=20")},
                                                                      {"title", "T"},
                                                                      {"description", "a video"},
                                                                      {"access_token", kFbPageToken}});
  ASSERT_EQ(video.status, 200) << video.body;
  const std::string id = video.json()["id"];
  int reads = 0;
  const auto done = status_until_done(id, 10, reads);
  EXPECT_EQ(reads, 4) << "three reads processing, the fourth ready";
  EXPECT_EQ(done["status"]["video_status"], "ready");
  EXPECT_EQ(done["status"]["processing_phase"]["status"], "complete");
  ASSERT_TRUE(done.contains("post_id"));
  const auto posts = recent("id,message,status_type");
  ASSERT_EQ(posts.size(), 1U);
  EXPECT_EQ(posts[0]["id"], done["post_id"]);
  EXPECT_EQ(posts[0]["message"], "a video");
  EXPECT_EQ(posts[0]["status_type"], "added_video");
  EXPECT_EQ(read(id, "length")["length"], 20.0);
}

TEST_F(FacebookEmulator, ChunkedPhasesUseStringOffsetsAndResumeFromErrorData) {
  limits({{"fb_chunk_bytes", 100000}});
  const auto bytes = cdn_bytes("mp4", "bytes=250000&duration=6");
  const std::string video_host = std::string("/graph-video/v25.0/") + kFbPage + "/videos";
  auto phase = [&](Form fields, const std::vector<MultipartFile>& files = {}) {
    fields.emplace_back("access_token", kFbPageToken);
    return post_multipart(video_host, fields, files);
  };
  const auto start = phase({{"upload_phase", "start"}, {"file_size", std::to_string(bytes.size())}});
  ASSERT_EQ(start.status, 200) << start.body;
  EXPECT_EQ(start.json()["start_offset"], "0");
  EXPECT_EQ(start.json()["end_offset"], "100000");
  const std::string session = start.json()["upload_session_id"];
  const std::string video = start.json()["video_id"];
  auto chunk = [&](std::size_t from, std::size_t to) {
    return phase({{"upload_phase", "transfer"}, {"upload_session_id", session}, {"start_offset", std::to_string(from)}},
                 {{"video_file_chunk", "chunk", "application/octet-stream", bytes.substr(from, to - from)}});
  };
  // Finishing before every byte is there is refused.
  expect_error(phase({{"upload_phase", "finish"}, {"upload_session_id", session}}), 6000);
  // The first chunk's answer is lost; the client sends it again and learns where to go on from.
  fault({{"kind", "commit_then_lose"}, {"route", "facebook.video_transfer"}, {"count", 1}});
  EXPECT_FALSE(chunk(0, 100000).answered);
  const auto again = chunk(0, 100000);
  expect_error(again, 6001, 1363037);
  const auto data = graph_error(again)["error_data"];
  EXPECT_EQ(data["start_offset"], "100000");
  EXPECT_EQ(data["end_offset"], "200000");
  const auto second = chunk(100000, 200000);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json(), json({{"start_offset", "200000"}, {"end_offset", std::to_string(bytes.size())}}));
  const auto last = chunk(200000, bytes.size());
  EXPECT_EQ(last.json()["start_offset"], last.json()["end_offset"]);
  const auto finish = phase(
      {{"upload_phase", "finish"}, {"upload_session_id", session}, {"title", "chunked"}, {"description", "in chunks"}});
  ASSERT_EQ(finish.status, 200) << finish.body;
  EXPECT_EQ(finish.json(), json({{"success", true}}));
  EXPECT_EQ(phase({{"upload_phase", "finish"}, {"upload_session_id", session}}).json(), json({{"success", true}}))
      << "a repeated finish is harmless";
  int reads = 0;
  const auto done = status_until_done(video, 10, reads);
  EXPECT_EQ(done["status"]["video_status"], "ready");
  EXPECT_EQ(recent().size(), 1U);
  EXPECT_EQ(page_state()["videos"].size(), 1U);
}

TEST_F(FacebookEmulator, AReelGoesThroughStartUploadFinishAndItsStatusPhases) {
  const auto start = publish("video_reels", {{"upload_phase", "start"}});
  ASSERT_EQ(start.status, 200) << start.body;
  const std::string video = start.json()["video_id"];
  const std::string upload_url = start.json()["upload_url"];
  EXPECT_EQ(upload_url, base() + "/rupload/video-upload/v25.0/" + video);
  const auto before = read(video, "status")["status"];
  EXPECT_EQ(before["uploading_phase"]["status"], "not_started");
  const auto bytes = cdn_bytes("mp4", "width=1080&height=1920&bytes=250000&duration=12");
  const auto uploaded = http(port(), "POST", upload_url.substr(base().size()), bytes,
                             {{"Authorization", std::string("OAuth ") + kFbPageToken},
                              {"offset", "0"},
                              {"file_size", std::to_string(bytes.size())}});
  ASSERT_EQ(uploaded.status, 200) << uploaded.body;
  EXPECT_EQ(uploaded.json(), json({{"success", true}}));
  const auto finish = publish(
      "video_reels",
      {{"upload_phase", "finish"}, {"video_id", video}, {"video_state", "PUBLISHED"}, {"description", "my reel"}});
  ASSERT_EQ(finish.status, 200) << finish.body;
  std::vector<std::string> phases;
  for (int i = 0; i < 8; ++i) {
    const auto s = read(video, "status")["status"];
    phases.push_back(s["processing_phase"]["status"].get<std::string>() + "/" +
                     s["publishing_phase"]["status"].get<std::string>() + "/" + s["video_status"].get<std::string>());
    if (s["video_status"] == "ready") break;
  }
  EXPECT_EQ(phases, (std::vector<std::string>{"in_progress/not_started/processing",
                                              "in_progress/not_started/processing", "complete/in_progress/processing",
                                              "complete/in_progress/processing", "complete/complete/ready"}));
  const auto ready = read(video, "status,post_id,permalink_url");
  EXPECT_EQ(ready["status"]["publishing_phase"]["publish_status"], "published");
  EXPECT_EQ(ready["permalink_url"], "/reel/" + video + "/");
  const auto posts = recent("id,message,permalink_url");
  ASSERT_EQ(posts.size(), 1U);
  EXPECT_EQ(posts[0]["id"], ready["post_id"]);
  EXPECT_EQ(posts[0]["permalink_url"], "https://www.facebook.com/reel/" + video);
}

TEST_F(FacebookEmulator, ALostAnswerToTheReelFinishStillMakesExactlyOneReel) {
  const auto start = publish("video_reels", {{"upload_phase", "start"}});
  const std::string video = start.json()["video_id"];
  const auto up = http(port(), "POST", "/rupload/video-upload/v25.0/" + video, "",
                       {{"Authorization", std::string("OAuth ") + kFbPageToken}, {"file_url", reel_url()}});
  ASSERT_EQ(up.status, 200) << up.body;
  fault({{"kind", "commit_then_lose"}, {"route", "facebook.reel_finish"}, {"count", 1}});
  const Form finish{
      {"upload_phase", "finish"}, {"video_id", video}, {"video_state", "PUBLISHED"}, {"description", "once"}};
  EXPECT_FALSE(publish("video_reels", finish).answered);
  const auto retry = publish("video_reels", finish);
  ASSERT_EQ(retry.status, 200) << retry.body;
  int reads = 0;
  EXPECT_EQ(status_until_done(video, 10, reads)["status"]["video_status"], "ready");
  EXPECT_EQ(recent().size(), 1U);
  EXPECT_EQ(page_state()["reels_last_24h"], 1);
}

TEST_F(FacebookEmulator, ThirtyReelsADayThenTheCapFreesAfter24Hours) {
  admin("POST", std::string("/graph/facebook/pages/") + kFbPage, {{"reels_published", 30}});
  const auto refused = publish("video_reels", {{"upload_phase", "start"}});
  expect_error(refused, 4);
  EXPECT_EQ(graph_error(refused)["is_transient"], true);
  advance(kDayMs);
  EXPECT_EQ(publish("video_reels", {{"upload_phase", "start"}}).status, 200);
}

TEST_F(FacebookEmulator, AReelThatIsNotNineBySixteenEndsInAProcessingError) {
  const auto start = publish("video_reels", {{"upload_phase", "start"}});
  const std::string video = start.json()["video_id"];
  ASSERT_EQ(http(port(), "POST", "/rupload/video-upload/v25.0/" + video, "",
                 {{"Authorization", std::string("OAuth ") + kFbPageToken},
                  {"file_url", cdn("mp4", "width=1080&height=1080&duration=10")}})
                .status,
            200);
  ASSERT_EQ(
      publish("video_reels", {{"upload_phase", "finish"}, {"video_id", video}, {"video_state", "PUBLISHED"}}).status,
      200);
  int reads = 0;
  const auto s = status_until_done(video, 10, reads)["status"];
  EXPECT_EQ(s["video_status"], "error");
  EXPECT_EQ(s["processing_phase"]["status"], "error");
  EXPECT_NE(s["processing_phase"]["error"]["message"].get<std::string>().find("9:16"), std::string::npos);
  EXPECT_EQ(recent().size(), 0U);
}

TEST_F(FacebookEmulator, InsightsUseTheCurrentMetricsAndRefuseTheDeprecatedOnes) {
  const auto post = publish("feed", {{"message", "measure me"}});
  const std::string id = post.json()["id"];
  const auto insights =
      get("/graph/v25.0/" + id + "/insights",
          {{"metric", "post_total_media_view_unique,post_reactions_by_type_total,post_clicks,post_clicks_by_type"},
           {"access_token", kFbPageToken}});
  ASSERT_EQ(insights.status, 200) << insights.body;
  const auto data = insights.json()["data"];
  ASSERT_EQ(data.size(), 4U);
  EXPECT_EQ(data[0]["period"], "lifetime");
  EXPECT_TRUE(data[0]["values"][0]["value"].is_number_integer());
  EXPECT_TRUE(data[1]["values"][0]["value"].is_object());
  EXPECT_TRUE(data[1]["values"][0]["value"].contains("like"));
  EXPECT_TRUE(data[3]["values"][0]["value"].is_object());
  EXPECT_EQ(data[2]["id"], id + "/insights/post_clicks/lifetime");
  for (const char* deprecated : {"post_impressions", "post_impressions_unique", "post_engaged_users"}) {
    const auto reply =
        get("/graph/v25.0/" + id + "/insights", {{"metric", deprecated}, {"access_token", kFbPageToken}});
    expect_error(reply, 100);
    EXPECT_EQ(graph_error(reply)["message"], "(#100) The value must be a valid insights metric");
  }
  expect_error(get("/graph/v25.0/" + id + "/insights", {{"access_token", kFbPageToken}}), 3001, 1504028);
  expect_error(get("/graph/v22.0/" + id + "/insights",
                   {{"metric", "post_total_media_view_unique"}, {"access_token", kFbPageToken}}),
               100);  // views metrics need v23.0
  expect_error(get("/graph/v25.0/" + id + "/insights", {{"metric", "post_clicks"}, {"access_token", kDemoUserToken}}),
               190);
  admin("POST", "/graph/facebook/posts/" + id, {{"metrics", {{"post_clicks", 77}}}});
  EXPECT_EQ(get("/graph/v25.0/" + id + "/insights", {{"metric", "post_clicks"}, {"access_token", kFbPageToken}})
                .json()["data"][0]["values"][0]["value"],
            77);
  const auto page =
      get(page_path("insights"),
          {{"metric", "page_total_media_view_unique,page_follows"}, {"period", "day"}, {"access_token", kFbPageToken}});
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.json()["data"][0]["values"].size(), 2U);
  EXPECT_TRUE(page.json()["data"][0]["values"][0].contains("end_time"));
  expect_error(get(page_path("insights"), {{"metric", "page_impressions_unique"}, {"access_token", kFbPageToken}}),
               100);
  expect_error(get(page_path("insights"), {{"metric", "page_fans"}, {"access_token", kFbPageToken}}), 100);
}

TEST_F(FacebookEmulator, EngagementCountsComeFromFieldSummaries) {
  const auto post = publish("feed", {{"message", "engage"}});
  const auto counts = read(post.json()["id"],
                           "shares,reactions.summary(total_count),comments.summary(true),likes.limit(0).summary(true)");
  EXPECT_TRUE(counts["shares"]["count"].is_number_integer());
  EXPECT_TRUE(counts["reactions"]["summary"]["total_count"].is_number_integer());
  EXPECT_TRUE(counts["comments"]["summary"]["total_count"].is_number_integer());
  EXPECT_GE(counts["reactions"]["summary"]["total_count"].get<int>(),
            counts["likes"]["summary"]["total_count"].get<int>());
  expect_error(get("/graph/v25.0/" + post.json()["id"].get<std::string>(),
                   {{"fields", "reactions.summary(total_count"}, {"access_token", kFbPageToken}}),
               2500);  // a syntax error in fields
}

TEST_F(FacebookEmulator, ALostAnswerToAFeedPostLeavesOnePostAndTheRetryIsADuplicate) {
  fault({{"kind", "commit_then_lose"}, {"route", "facebook.feed_create"}, {"count", 1}});
  EXPECT_FALSE(publish("feed", {{"message", "exactly once"}}).answered);
  const auto posts = recent();
  ASSERT_EQ(posts.size(), 1U);
  EXPECT_EQ(posts[0]["message"], "exactly once");
  expect_error(publish("feed", {{"message", "exactly once"}}), 506);
  EXPECT_EQ(recent().size(), 1U);
}

TEST_F(FacebookEmulator, AnInvalidatedPageTokenAnswers190WithItsSubcodeOnEveryCall) {
  admin("POST", std::string("/graph/facebook/users/") + kDemoUser + "/events", {{"event", "password_changed"}});
  expect_error(publish("feed", {{"message", "x"}}), 190, 460);
  expect_error(publish("video_reels", {{"upload_phase", "start"}}), 190, 460);
  const auto rupload =
      http(port(), "POST", "/rupload/video-upload/v25.0/1", "x",
           {{"Authorization", std::string("OAuth ") + kFbPageToken}, {"offset", "0"}, {"file_size", "1"}});
  EXPECT_EQ(rupload.status, 401);
}

TEST_F(FacebookEmulator, AResumableUploadHandleBecomesAPageVideo) {
  const auto bytes = cdn_bytes("mp4", "bytes=120000&duration=4");
  const auto start =
      post(std::string("/graph/v25.0/") + kAppId + "/uploads", {{"file_name", "v.mp4"},
                                                                {"file_length", std::to_string(bytes.size())},
                                                                {"file_type", "video/mp4"},
                                                                {"access_token", kDemoUserToken}});
  ASSERT_EQ(start.status, 200) << start.body;
  const auto sent = http(port(), "POST", "/graph/v25.0/" + start.json()["id"].get<std::string>(), bytes,
                         {{"Authorization", std::string("OAuth ") + kDemoUserToken}, {"file_offset", "0"}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  const auto video =
      post(std::string("/graph-video/v25.0/") + kFbPage + "/videos",
           {{"fbuploader_video_file_chunk", sent.json()["h"]}, {"title", "handle"}, {"access_token", kFbPageToken}});
  ASSERT_EQ(video.status, 200) << video.body;
  int reads = 0;
  EXPECT_EQ(status_until_done(video.json()["id"], 10, reads)["status"]["video_status"], "ready");
}

}  // namespace
}  // namespace schedulo::test
