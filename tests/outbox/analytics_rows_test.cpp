// The Analytics rows a fetch_analytics outcome records (outbox/records.cpp), for the result each
// platform adapter really returns: Instagram nests each post's counts under "metrics", TikTok and
// Facebook put them beside the post id, X maps each post id to its metric groups. Label `airtable`.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "jobs/job_validation.hpp"
#include "outbox/records.hpp"
#include "platforms/airtable/schema.hpp"

namespace schedulo::outbox {
namespace {

using json = nlohmann::json;

constexpr std::int64_t kNow = 1'795'000'000'000;

jobs::Job analytics_job(const std::string& platform, const json& post_ids) {
  const json doc = {{"id", "an-" + platform},
                    {"type", "fetch_analytics"},
                    {"platform", platform},
                    {"account", "demo-" + platform},
                    {"targets", {{"post_ids", post_ids}}}};
  auto parsed = jobs::validate_job(doc, jobs::ValidationContext{});
  EXPECT_TRUE(parsed.job) << (parsed.errors.empty() ? "" : parsed.errors.front().message);
  return parsed.job ? *parsed.job : jobs::Job{};
}

// Analytics rows by key, each as field name -> JSON value.
std::map<std::string, json> rows_of(const jobs::Job& job, const json& result) {
  const auto records =
      outcome_records(job, jobs::Outcome::success(result), queue::Settlement::succeeded, 1, kNow, RecordOptions{});
  std::map<std::string, json> out;
  for (const auto& e : records.entries) {
    if (e.dest != airtable::kAnalyticsDest) continue;
    json fields = json::object();
    for (const auto& [name, value] : e.fields) fields[name] = json::parse(value);
    out[e.key] = fields;
  }
  return out;
}

TEST(AnalyticsRows, XMetricGroupsByPostIdGiveOneRowPerPostWithThePublicCounts) {
  // platforms/x/platform.cpp fetch_analytics: "posts" is a count, "metrics" maps id -> groups.
  const json group = {{"public_metrics",
                       {{"impression_count", 1500},
                        {"like_count", 42},
                        {"reply_count", 1},
                        {"retweet_count", 9},
                        {"bookmark_count", 3}}},
                      {"non_public_metrics", {{"impression_count", 0}, {"url_link_clicks", 4}}},
                      {"organic_metrics", {{"impression_count", 0}, {"like_count", 0}}},
                      {"created_at", "2026-11-26T17:35:16.469Z"}};
  json second = group;
  second["public_metrics"]["like_count"] = 21;
  const json result = {{"metrics", {{"2126006889740238848", group}, {"2126006889769598976", second}}},
                       {"missing", json::array()},
                       {"posts", 2},
                       {"calls", 1},
                       {"fetched_at", "2026-11-26T17:35:24.053Z"}};
  const auto rows = rows_of(analytics_job("x", {"2126006889740238848", "2126006889769598976"}), result);
  ASSERT_EQ(rows.size(), 2u);
  const auto& first = rows.at("x:2126006889740238848");
  EXPECT_EQ(first["Impressions"], 1500) << "the public count, not the owner-only group's 0";
  EXPECT_EQ(first["Likes"], 42);
  EXPECT_EQ(first["Comments"], 1);
  EXPECT_EQ(first["Shares"], 9);
  EXPECT_EQ(first["Saves"], 3);
  EXPECT_EQ(first["Platform Post ID"], "2126006889740238848");
  EXPECT_EQ(rows.at("x:2126006889769598976")["Likes"], 21);
}

TEST(AnalyticsRows, TikTokCountsBesideTheIdFillTheirColumns) {
  // platforms/tiktok/adapter.cpp metrics_of: the counts sit beside post_id.
  const json result = {{"account", {{"account", "demo-tiktok"}, {"platform", "tiktok"}, {"follower_count", 1200}}},
                       {"posts",
                        {{{"post_id", "7311000000001000003"},
                          {"view_count", 1000},
                          {"like_count", 100},
                          {"comment_count", 10},
                          {"share_count", 1},
                          {"create_time", 1795714523}}}}};
  const auto rows = rows_of(analytics_job("tiktok", {"7311000000001000003"}), result);
  ASSERT_EQ(rows.size(), 1u);
  const auto& row = rows.at("tiktok:7311000000001000003");
  EXPECT_EQ(row["Views"], 1000);
  EXPECT_EQ(row["Likes"], 100);
  EXPECT_EQ(row["Comments"], 10);
  EXPECT_EQ(row["Shares"], 1);
}

TEST(AnalyticsRows, FacebookInsightsUseTheReactionTotalAndSkipAPostThatCouldNotBeRead) {
  // platforms/facebook/answers.cpp PostInsights::to_json, and an unreadable post's entry.
  const json result = {{"page_id", "100000000000002"},
                       {"posts",
                        {{{"post_id", "100000000000002_400000000000015"},
                          {"views", 640},
                          {"media_views", 700},
                          {"reactions", {{"like", 30}, {"love", 5}}},
                          {"reactions_total", 35},
                          {"clicks", 12},
                          {"clicks_by_type", json::object()},
                          {"comments", 4},
                          {"shares", 2},
                          {"engagement", 53}},
                         {{"post_id", "100000000000002_400000000000099"},
                          {"error", "This post cannot be read."},
                          {"error_code", "100/33"}}}}};
  const auto rows = rows_of(
      analytics_job("facebook", {"100000000000002_400000000000015", "100000000000002_400000000000099"}), result);
  ASSERT_EQ(rows.size(), 1u) << "no row for the post that could not be read";
  const auto& row = rows.at("facebook:100000000000002_400000000000015");
  EXPECT_EQ(row["Views"], 640);
  EXPECT_EQ(row["Likes"], 35);
  EXPECT_EQ(row["Comments"], 4);
  EXPECT_EQ(row["Shares"], 2);
}

TEST(AnalyticsRows, InstagramNestedMetricsAndTheMediaNodesCountsStillWork) {
  // platforms/instagram/analytics.cpp: insights under "metrics"; before they are in, the media
  // node's like_count and comments_count.
  const json result = {{"platform", "instagram"},
                       {"posts",
                        {{{"post_id", "17920000000000010"},
                          {"metrics", {{"reach", 830}, {"likes", 57}, {"comments", 6}, {"saved", 12}, {"shares", 3}}}},
                         {{"post_id", "17920000000000011"},
                          {"available", false},
                          {"metrics", {{"like_count", 7}, {"comments_count", 2}}}}}}};
  const auto rows = rows_of(analytics_job("instagram", {"17920000000000010", "17920000000000011"}), result);
  ASSERT_EQ(rows.size(), 2u);
  const auto& row = rows.at("instagram:17920000000000010");
  EXPECT_EQ(row["Reach"], 830);
  EXPECT_EQ(row["Likes"], 57);
  EXPECT_EQ(row["Comments"], 6);
  EXPECT_EQ(row["Saves"], 12);
  EXPECT_EQ(row["Shares"], 3);
  EXPECT_EQ(rows.at("instagram:17920000000000011")["Likes"], 7);
  EXPECT_EQ(rows.at("instagram:17920000000000011")["Comments"], 2);
}

}  // namespace
}  // namespace schedulo::outbox
