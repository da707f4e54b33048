// The Instagram adapter's pure parts (label `instagram`): caption rules, the kind of a post, the
// login of a token, whether Meta can fetch a media URL, the insights shapes, the token refresh root.
#include <gtest/gtest.h>

#include "platforms/instagram/analytics.hpp"
#include "platforms/instagram/caption.hpp"
#include "platforms/instagram/instagram.hpp"
#include "platforms/instagram/publish.hpp"
#include "platforms/instagram/token_calls.hpp"

namespace schedulo::instagram {
namespace {

using json = nlohmann::json;

TEST(InstagramCaption, CountsCharactersHashtagsAndMentions) {
  const auto n = count_caption("héllo #one #two@x @a.b @c_d e@mail.com #");
  EXPECT_EQ(n.characters, 40u);
  EXPECT_EQ(n.hashtags, 2u) << "a lone # is no hashtag";
  EXPECT_EQ(n.mentions, 2u) << "an e-mail address is no mention; #two@x is one tag";
  EXPECT_FALSE(caption_problem(std::string(2200, 'a')));
  EXPECT_TRUE(caption_problem(std::string(2201, 'a')));
  std::string tags, mentions;
  for (int i = 0; i < 30; ++i) tags += " #t" + std::to_string(i);
  for (int i = 0; i < 20; ++i) mentions += " @u" + std::to_string(i);
  EXPECT_FALSE(caption_problem(tags));
  EXPECT_FALSE(caption_problem(mentions));
  EXPECT_NE(caption_problem(tags + " #more")->find("31 hashtags"), std::string::npos);
  EXPECT_NE(caption_problem(mentions + " @more")->find("21 accounts"), std::string::npos);
  // Characters, not bytes: 2200 emoji are fine.
  std::string emoji;
  for (int i = 0; i < 2200; ++i) emoji += "\xF0\x9F\x98\x80";
  EXPECT_FALSE(caption_problem(emoji));
}

TEST(InstagramPost, TheKindFollowsTheOptionAndTheMedia) {
  jobs::Post p;
  p.media = {jobs::Media{"https://cdn.example.com/a.jpg", jobs::MediaKind::image, ""}};
  EXPECT_EQ(post_kind(p), "image");
  p.media[0].kind = jobs::MediaKind::video;
  EXPECT_EQ(post_kind(p), "reel") << "single feed videos are reels";
  p.options = {{"as", "story"}};
  EXPECT_EQ(post_kind(p), "story");
  p.options = json::object();
  p.media.push_back(jobs::Media{"https://cdn.example.com/b.jpg", jobs::MediaKind::image, ""});
  EXPECT_EQ(post_kind(p), "carousel");
}

TEST(InstagramLogin, ScopesThenThePrefixTellTheLogin) {
  EXPECT_EQ(login_of("instagram_business_basic,instagram_business_content_publish", Secret("EAAB")), Login::instagram);
  EXPECT_EQ(login_of("instagram_basic,pages_show_list", Secret("IGAA")), Login::facebook);
  EXPECT_EQ(login_of("", Secret("IGAAsbx")), Login::instagram);
  EXPECT_EQ(login_of("", Secret("EAAB")), Login::facebook);
}

TEST(InstagramMedia, OnlyPublicHostsAreFetchedByMeta) {
  EXPECT_TRUE(public_media_url("https://cdn.example.com/v.mp4"));
  EXPECT_TRUE(public_media_url("https://93.184.216.34/v.mp4"));
  EXPECT_FALSE(public_media_url("http://127.0.0.1:8700/cdn/mp4"));
  EXPECT_FALSE(public_media_url("http://10.0.0.7/v.mp4"));
  EXPECT_FALSE(public_media_url("http://localhost/v.mp4"));
  EXPECT_FALSE(public_media_url("http://fileserver/v.mp4"));
  EXPECT_FALSE(public_media_url("http://nas.local/v.mp4"));
}

TEST(InstagramInsights, BothShapesAreReadAndEmptyMeansNotYet) {
  const auto values = json::parse(R"({"data":[{"name":"reach","period":"lifetime","values":[{"value":1234}],
    "title":"Accounts reached","id":"1/insights/reach/lifetime"},{"name":"likes","values":[{"value":7}]}]})");
  EXPECT_EQ(read_insights(values), (json{{"reach", 1234}, {"likes", 7}}));
  const auto total = json::parse(R"({"data":[{"name":"views","period":"day","total_value":{"value":99}}]})");
  EXPECT_EQ(read_insights(total), (json{{"views", 99}}));
  EXPECT_TRUE(read_insights(json::parse(R"({"data":[]})")).empty());
  for (const char* product : {"FEED", "REELS", "STORY"}) {
    const auto m = metrics_for(product, "IMAGE");
    for (const char* deprecated : {"impressions", "plays", "clips_replays_count", "video_views"})
      EXPECT_EQ(m.find(deprecated), std::string::npos) << product << " asks for " << deprecated;
  }
  EXPECT_NE(metrics_for("REELS", "VIDEO").find("ig_reels_avg_watch_time"), std::string::npos);
}

TEST(InstagramTokens, TheRefreshRootIsTheLoginHostWithoutItsVersion) {
  EXPECT_EQ(unversioned("https://graph.instagram.com/v25.0"), "https://graph.instagram.com");
  EXPECT_EQ(unversioned("http://127.0.0.1:8700/graph-instagram/v25.0/"), "http://127.0.0.1:8700/graph-instagram");
  EXPECT_EQ(unversioned("https://graph.instagram.com"), "https://graph.instagram.com");
}

// Found by tests/fuzz/oauth_answers_fuzz.cpp: an empty token was ok and would replace the working one.
TEST(InstagramTokens, ARefreshAnswerWithAnEmptyTokenIsNotATokenAndTheOldOneStays) {
  using platforms::TokenCallStatus;
  const auto empty = read_refresh_answer(json::parse(R"({"access_token":"","expires_in":5184000})"));
  EXPECT_EQ(empty.status, TokenCallStatus::transient);
  EXPECT_TRUE(empty.access_token.empty());
  const auto good = read_refresh_answer(json::parse(R"({"access_token":"IGQVJ-new","expires_in":5184000})"));
  EXPECT_EQ(good.status, TokenCallStatus::ok);
  EXPECT_EQ(good.access_token.reveal(), "IGQVJ-new");
  EXPECT_EQ(good.expires_in, std::chrono::seconds(5184000));
}

}  // namespace
}  // namespace schedulo::instagram
