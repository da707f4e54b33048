// platforms/facebook/answers: what a job becomes on a Page, the parameters sent, and the Graph answers
// read back, with the shapes of platform-apis.md section 4 (offsets as strings, object-valued
// metrics, debug_token's data, me/accounts' paging).
#include <gtest/gtest.h>

#include "platforms/facebook/answers.hpp"

namespace schedulo::facebook {
namespace {

using json = nlohmann::json;

std::string param(const Params& p, const std::string& name) {
  for (const auto& [k, v] : p)
    if (k == name) return v;
  return "<absent>";
}

TEST(FacebookPlan, EachPostKindFollowsFromTheMediaAndOptions) {
  EXPECT_EQ(plan_post("hi", {}, "", "").kind, PostKind::text);
  EXPECT_EQ(plan_post("hi", {}, "post", "https://e.com").kind, PostKind::link);
  EXPECT_EQ(plan_post("", {{"https://e.com/a.jpg", false}}, "", "").kind, PostKind::photo);
  EXPECT_EQ(plan_post("", {{"https://e.com/a.jpg", false}, {"https://e.com/b.jpg", false}}, "", "").kind,
            PostKind::album);
  EXPECT_EQ(plan_post("", {{"https://e.com/a.mp4", true}}, "post", "").kind, PostKind::video);
  EXPECT_EQ(plan_post("", {{"https://e.com/a.mp4", true}}, "reel", "").kind, PostKind::reel);
  for (auto kind : {PostKind::text, PostKind::link, PostKind::photo, PostKind::album, PostKind::video, PostKind::reel})
    EXPECT_EQ(post_kind_from_string(to_string(kind)), kind);
}

TEST(FacebookParams, AlbumAttachesItsUnpublishedPhotosAndLinksGoAlone) {
  const auto album = plan_post("three", {{"a", false}, {"b", false}}, "", "");
  const auto p = feed_params(album, {"11", "22"});
  EXPECT_EQ(param(p, "attached_media"), R"([{"media_fbid":"11"},{"media_fbid":"22"}])");
  EXPECT_EQ(param(p, "message"), "three");
  const auto link = feed_params(plan_post("see", {}, "", "https://e.com/x"), {});
  EXPECT_EQ(param(link, "link"), "https://e.com/x");
  EXPECT_EQ(param(link, "attached_media"), "<absent>");
  EXPECT_EQ(param(photo_params("u", "", false), "published"), "false");
  EXPECT_EQ(param(reel_finish_params("9", "d"), "video_state"), "PUBLISHED");
  EXPECT_EQ(param(video_start_params(1234), "file_size"), "1234");
}

TEST(FacebookAnswers, TransferOffsetsAreReadAsStringsOrNumbers) {
  const auto start = parse_video_start(
      json::parse(R"({"video_id":"71","upload_session_id":"s1","start_offset":"0","end_offset":"1048576"})"));
  ASSERT_TRUE(start);
  EXPECT_EQ(start->video_id, "71");
  EXPECT_EQ(start->window.end, 1048576U);
  const auto next = parse_transfer(json::parse(R"({"start_offset":2097152,"end_offset":"2097152"})"));
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->done());
  EXPECT_FALSE(parse_transfer(json::parse(R"({"start_offset":"x1","end_offset":"2"})")));
  const auto resume = parse_resume_window(
      R"({"error":{"code":6001,"error_subcode":1363037,"error_data":{"start_offset":"65536","end_offset":"131072"}}})");
  ASSERT_TRUE(resume);
  EXPECT_EQ(resume->start, 65536U);
  EXPECT_FALSE(parse_resume_window(R"({"error":{"code":100,"message":"x"}})"));
}

TEST(FacebookAnswers, VideoStatusPhases) {
  const auto uploading = parse_video_state(json::parse(
      R"({"status":{"video_status":"processing","uploading_phase":{"status":"in_progress"},"processing_phase":{"status":"not_started"}}})"));
  EXPECT_EQ(uploading.phase, VideoState::Phase::uploading);
  EXPECT_FALSE(uploading.finish_received);
  const auto processing = parse_video_state(json::parse(
      R"({"status":{"video_status":"processing","processing_phase":{"status":"complete"},"publishing_phase":{"status":"in_progress"}}})"));
  EXPECT_EQ(processing.phase, VideoState::Phase::processing);
  EXPECT_TRUE(processing.finish_received);
  const auto ready = parse_video_state(
      json::parse(R"({"post_id":"1_2","status":{"video_status":"ready","publishing_phase":{"status":"complete"}}})"));
  EXPECT_EQ(ready.phase, VideoState::Phase::ready);
  EXPECT_EQ(ready.post_id, "1_2");
  const auto failed = parse_video_state(json::parse(
      R"({"status":{"video_status":"error","processing_phase":{"status":"error","error":{"message":"Reels must have a 9:16 aspect ratio."}}}})"));
  EXPECT_EQ(failed.phase, VideoState::Phase::failed);
  EXPECT_EQ(failed.error, "Reels must have a 9:16 aspect ratio.");
}

TEST(FacebookAnswers, RecentPostsSettleOnlyAnUnambiguousMatch) {
  const auto posts = parse_recent_posts(json::parse(R"({"data":[
    {"id":"1_3","message":"hello","created_time":"2026-09-11T10:05:00+0000"},
    {"id":"1_2","message":"other","created_time":"2026-09-11T10:00:00+0000",
     "attachments":{"data":[{"type":"share","unshimmed_url":"https://e.com/x"}]}},
    {"id":"1_1","message":"old","created_time":"2026-09-10T10:00:00+0000"}]})"));
  ASSERT_EQ(posts.size(), 3U);
  EXPECT_EQ(posts[1].link, "https://e.com/x");
  const std::int64_t sent = 1789121000000;  // 2026-09-11T10:03:20Z
  std::string id;
  EXPECT_EQ(match_recent(plan_post("hello", {}, "", ""), sent, posts, false, id), Match::found);
  EXPECT_EQ(id, "1_3");
  EXPECT_EQ(match_recent(plan_post("missing", {}, "", ""), sent, posts, false, id), Match::absent);
  // The list does not reach back before the window: absence proves nothing, unless it is the whole list.
  EXPECT_EQ(match_recent(plan_post("missing", {}, "", ""), sent, {posts[0]}, false, id), Match::undecided);
  EXPECT_EQ(match_recent(plan_post("missing", {}, "", ""), sent, {posts[0]}, true, id), Match::absent);
  EXPECT_TRUE(recent_posts_complete(json::parse(R"({"data":[]})")));
  EXPECT_FALSE(recent_posts_complete(json::parse(R"({"data":[],"paging":{"next":"https://x"}})")));
  auto twice = posts;
  twice.insert(twice.begin(), posts[0]);
  EXPECT_EQ(match_recent(plan_post("hello", {}, "", ""), sent, twice, false, id), Match::undecided);
}

TEST(FacebookAnswers, InsightsSumObjectValuedMetricsAndAvoidImpressions) {
  EXPECT_EQ(std::string(post_metrics()).find("impressions"), std::string::npos);
  PostInsights in;
  read_insights(json::parse(R"({"data":[
    {"name":"post_total_media_view_unique","period":"lifetime","values":[{"value":120}]},
    {"name":"post_reactions_by_type_total","period":"lifetime","values":[{"value":{"like":10,"love":2}}]},
    {"name":"post_clicks","period":"lifetime","values":[{"value":12}]}]})"),
                in);
  read_engagement(json::parse(R"({"shares":{"count":3},"comments":{"summary":{"total_count":4}},
                                  "reactions":{"summary":{"total_count":99}}})"),
                  in);
  EXPECT_EQ(in.views, 120);
  EXPECT_EQ(in.reactions_total, 12);  // the insights' sum wins over the edge summary
  EXPECT_EQ(in.clicks, 12);
  EXPECT_EQ(in.engagement(), 12 + 4 + 3 + 12);
  EXPECT_EQ(in.to_json("1_2")["reactions"]["love"], 2);
}

TEST(FacebookAnswers, PageTokensAndDebugToken) {
  std::string after;
  const auto pages = parse_accounts(json::parse(R"({"data":[{"access_token":"EAAP1","name":"P","id":"17",
      "tasks":["CREATE_CONTENT","ANALYZE"]}],"paging":{"cursors":{"after":"MTc"},"next":"https://x"}})"),
                                    after);
  ASSERT_EQ(pages.size(), 1U);
  EXPECT_EQ(pages[0].access_token, "EAAP1");
  EXPECT_EQ(pages[0].tasks.size(), 2U);
  EXPECT_EQ(after, "MTc");
  const auto page = parse_debug_token(json::parse(R"({"data":{"type":"PAGE","expires_at":0,"is_valid":true,
      "data_access_expires_at":1576687825,"user_id":"10101","profile_id":"17","scopes":["a","b"]}})"));
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->valid);
  EXPECT_EQ(page->expires_at_s, 0);
  EXPECT_EQ(page->data_access_expires_at_s, 1576687825);
  EXPECT_EQ(page->scopes, "a,b");
  const auto dead = parse_debug_token(json::parse(
      R"({"data":{"is_valid":false,"user_id":"10101","error":{"code":190,"subcode":460,"message":"changed"}}})"));
  ASSERT_TRUE(dead);
  EXPECT_FALSE(dead->valid);
  EXPECT_EQ(dead->error_subcode, 460);
  for (long long revoked : {460, 467, 492, 458}) EXPECT_TRUE(subcode_means_revoked(revoked)) << revoked;
  EXPECT_FALSE(subcode_means_revoked(463));
}

}  // namespace
}  // namespace schedulo::facebook
