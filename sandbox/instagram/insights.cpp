// Instagram insights (platform-apis.md 1.1 step 7): media insights as values[] (empty data before
// ig_insights_delay_ms, 48 h by default; stories only during their 24 h), account insights as values[]
// time series or metric_type=total_value, the deprecated metrics answering their error, small
// audiences answering code 10. Values are stable per media (a hash of its id) unless a test set them.
#include <algorithm>
#include <span>
#include <string_view>

#include "common/rfc3339.hpp"
#include "sandbox/graph/emulator.hpp"

namespace schedulo::sandbox::graph {
namespace {

struct MetricInfo {
  const char* name;
  const char* title;
  const char* description;
};

constexpr MetricInfo kMetricInfo[] = {
    {"views", "Views", "The number of times the media was played or displayed."},
    {"reach", "Accounts reached", "The number of unique accounts that have seen the media at least once."},
    {"likes", "Likes", "The number of likes on the media."},
    {"comments", "Comments", "The number of comments on the media."},
    {"shares", "Shares", "The number of shares of the media."},
    {"saved", "Saved", "The number of saves of the media."},
    {"total_interactions", "Interactions", "Likes, saves, comments and shares on the media, minus those undone."},
    {"ig_reels_avg_watch_time", "Average watch time", "The average time the reel was played, in milliseconds."},
    {"ig_reels_video_view_total_time", "Watch time", "The total time the reel was played, in milliseconds."},
    {"replies", "Replies", "The number of replies to the story."},
    {"navigation", "Navigation", "Forward, back, next story and exit actions on the story."},
    {"profile_visits", "Profile visits", "The number of times the profile was visited from the media."},
    {"follows", "Follows", "The number of accounts that followed from the media."},
    {"profile_activity", "Profile activity", "Actions taken on the profile from the media."},
    {"total_likes", "Likes (with promotions)", "Likes, including those on promoted copies."},
    {"total_comments", "Comments (with promotions)", "Comments, including those on promoted copies."},
    {"total_views", "Views (with promotions)", "Views, including those on promoted copies."},
    {"accounts_engaged", "Accounts engaged", "The number of accounts that interacted with the content."},
    {"profile_links_taps", "Profile link taps", "Taps on the profile's links."},
    {"follows_and_unfollows", "Follows and unfollows", "Accounts that followed or unfollowed."},
    {"follower_count", "Follower count", "The number of followers."},
    {"impressions", "Impressions", "The number of times the media was on screen."}};

const MetricInfo& info(const std::string& name) {
  for (const auto& m : kMetricInfo)
    if (name == m.name) return m;
  return kMetricInfo[0];
}

constexpr std::string_view kFeedMetrics[] = {"views",
                                             "reach",
                                             "likes",
                                             "comments",
                                             "shares",
                                             "saved",
                                             "total_interactions",
                                             "profile_visits",
                                             "follows",
                                             "profile_activity",
                                             "total_likes",
                                             "total_comments",
                                             "total_views"};
constexpr std::string_view kReelsMetrics[] = {"views",
                                              "reach",
                                              "likes",
                                              "comments",
                                              "shares",
                                              "saved",
                                              "total_interactions",
                                              "ig_reels_avg_watch_time",
                                              "ig_reels_video_view_total_time",
                                              "total_likes",
                                              "total_comments",
                                              "total_views"};
constexpr std::string_view kStoryMetrics[] = {"views",      "reach",          "replies",
                                              "navigation", "shares",         "total_interactions",
                                              "follows",    "profile_visits", "profile_activity"};
constexpr std::string_view kDeprecatedMediaMetrics[] = {"plays", "clips_replays_count",
                                                        "ig_reels_aggregated_all_plays_count", "video_views"};
// Account level.
constexpr std::string_view kSeriesMetrics[] = {"reach", "follower_count"};
constexpr std::string_view kTotalOnlyMetrics[] = {"views",
                                                  "likes",
                                                  "comments",
                                                  "shares",
                                                  "saved",
                                                  "replies",
                                                  "total_interactions",
                                                  "accounts_engaged",
                                                  "profile_links_taps",
                                                  "follows_and_unfollows"};
constexpr std::string_view kDeprecatedAccountMetrics[] = {
    "impressions",       "profile_views",       "website_clicks",       "email_contacts",
    "phone_call_clicks", "text_message_clicks", "get_directions_clicks"};

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string join(std::span<const std::string_view> list) {
  std::string out;
  for (const auto s : list) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

std::int64_t Emulator::ig_metric(const Media& m, const std::string& metric) const {
  if (m.metrics.contains(metric) && m.metrics[metric].is_number_integer()) return m.metrics[metric].get<std::int64_t>();
  const auto h = stable_hash(m.id);
  const std::int64_t reach =
      m.metrics.contains("reach") ? m.metrics["reach"].get<std::int64_t>() : 100 + static_cast<std::int64_t>(h % 900);
  if (metric == "reach") return reach;
  if (metric == "views" || metric == "total_views" || metric == "impressions")
    return reach * 2 + static_cast<std::int64_t>((h >> 10) % 100);
  if (metric == "likes" || metric == "total_likes") return reach / 8 + static_cast<std::int64_t>((h >> 20) % 10);
  if (metric == "comments" || metric == "total_comments") return reach / 40 + static_cast<std::int64_t>((h >> 24) % 5);
  if (metric == "shares") return reach / 50;
  if (metric == "saved") return reach / 30;
  if (metric == "replies") return reach / 60;
  if (metric == "navigation") return reach / 2;
  if (metric == "profile_visits") return reach / 20;
  if (metric == "follows") return reach / 100;
  if (metric == "profile_activity") return ig_metric(m, "profile_visits") + ig_metric(m, "follows");
  if (metric == "total_interactions") {
    return ig_metric(m, "likes") + ig_metric(m, "comments") + ig_metric(m, "shares") + ig_metric(m, "saved") +
           (m.product_type == "STORY" ? ig_metric(m, "replies") : 0);
  }
  if (metric == "ig_reels_avg_watch_time") return 3000 + static_cast<std::int64_t>((h >> 30) % 7000);
  if (metric == "ig_reels_video_view_total_time")
    return ig_metric(m, "views") * ig_metric(m, "ig_reels_avg_watch_time");
  return 0;
}

Response Emulator::ig_media_insights(Call& c) {
  const auto& m = media_.at(c.segments[0]);
  const auto& ig = ig_users_.at(m.owner);
  if (auto e = access_ig(c, ig, "instagram_manage_insights", "instagram_business_manage_insights")) return fail(c, *e);
  if (!c.params.has("metric")) return fail(c, errors::missing_parameter("metric"));
  const auto metrics = split_list(c.params.str("metric"));
  if (metrics.empty()) return fail(c, errors::missing_parameter("metric"));
  if (m.is_child) return fail(c, errors::invalid_parameter("Insights are not available for carousel children media"));
  const std::span<const std::string_view> allowed =
      m.product_type == "REELS"   ? std::span<const std::string_view>(kReelsMetrics)
      : m.product_type == "STORY" ? std::span<const std::string_view>(kStoryMetrics)
                                  : std::span<const std::string_view>(kFeedMetrics);
  static const auto kImpressionsEnd = parse_rfc3339_ms("2025-04-21T00:00:00Z").value_or(0);
  static const auto kImpressionsMediaCutoff = parse_rfc3339_ms("2024-07-02T00:00:00Z").value_or(0);
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const auto& name = metrics[i];
    if (name == "impressions") {
      // Deprecated from v22.0, and in every version since 2025-04-21 for media created on or after
      // 2024-07-02 (1.1).
      const bool still = c.served < 22 && (now() < kImpressionsEnd || m.created_ms < kImpressionsMediaCutoff);
      if (!still)
        return fail(c, errors::invalid_parameter(
                           "The impressions metric is no longer supported: it was deprecated in v22.0 and, since "
                           "April 21, 2025, in every version for media created on or after July 2, 2024. Use views."));
      continue;
    }
    if (listed(kDeprecatedMediaMetrics, name))
      return fail(c, errors::invalid_parameter("The " + name + " metric is no longer supported. Use views."));
    if (listed(allowed, name)) continue;
    if (listed(kFeedMetrics, name) || listed(kReelsMetrics, name) || listed(kStoryMetrics, name))
      return fail(c, errors::invalid_parameter("The Media Insights API does not support the " + name +
                                               " metric for this media product type."));
    return fail(c, errors::invalid_parameter("metric[" + std::to_string(i) +
                                             "] must be one of the following values: " + join(allowed)));
  }
  if (ig.followers < 100) {
    return fail(c, GraphError{400, 10, 0, "(#10) Not enough viewers for the media to show insights", "OAuthException",
                              "", "", false, nullptr});
  }
  const auto age = now() - m.created_ms;
  // Empty data, not zeros, while the numbers are not there yet (or no longer, for a story).
  if (m.product_type == "STORY" ? age >= kDayMs : age < limits_.ig_insights_delay_ms)
    return ok(c, {{"data", json::array()}});
  json data = json::array();
  for (const auto& name : metrics) {
    const auto& mi = info(name);
    data.push_back({{"name", name},
                    {"period", "lifetime"},
                    {"values", json::array({{{"value", ig_metric(m, name)}}})},
                    {"title", mi.title},
                    {"description", mi.description},
                    {"id", m.id + "/insights/" + name + "/lifetime"}});
  }
  return ok(c, {{"data", data}});
}

Response Emulator::ig_user_insights(Call& c) {
  const auto& ig = ig_users_.at(c.segments[0]);
  if (auto e = access_ig(c, ig, "instagram_manage_insights", "instagram_business_manage_insights")) return fail(c, *e);
  const auto& p = c.params;
  if (!p.has("metric")) return fail(c, errors::missing_parameter("metric"));
  if (!p.has("period")) return fail(c, errors::missing_parameter("period"));
  if (p.str("period") != "day") return fail(c, errors::invalid_parameter("Param period must be one of {day}"));
  const auto metrics = split_list(p.str("metric"));
  const auto metric_type = p.str("metric_type", "time_series");
  if (metric_type != "time_series" && metric_type != "total_value")
    return fail(c, errors::invalid_parameter("Param metric_type must be one of {time_series, total_value}"));
  const bool total = metric_type == "total_value";
  std::vector<std::string> need_total;
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const auto& name = metrics[i];
    if (listed(kDeprecatedAccountMetrics, name))
      return fail(c, errors::invalid_parameter("The " + name +
                                               " metric has been deprecated and is no longer "
                                               "supported."));
    if (!listed(kSeriesMetrics, name) && !listed(kTotalOnlyMetrics, name))
      return fail(c, errors::invalid_parameter("metric[" + std::to_string(i) +
                                               "] must be one of the following values: " + join(kSeriesMetrics) + ", " +
                                               join(kTotalOnlyMetrics)));
    if (listed(kTotalOnlyMetrics, name) && !total) need_total.push_back(name);
    if (name == "follower_count" && total)
      return fail(c, errors::invalid_parameter("follower_count does not support metric_type=total_value"));
  }
  if (!need_total.empty())
    return fail(c, errors::invalid_parameter("The following metrics (" + join(need_total) +
                                             ") should be specified with parameter metric_type=total_value"));
  // The range: until (default now) and since (default a day before), Unix seconds, at most 30 days.
  const auto until_s = p.integer("until").value_or(now() / kSecondMs);
  const auto since_s = p.integer("since").value_or(until_s - 86400);
  if (since_s >= until_s || until_s - since_s > 30 * 86400)
    return fail(c, errors::invalid_parameter("There cannot be more than 30 days (2592000 s) between since and until"));
  const auto since_ms = since_s * kSecondMs;
  const auto until_ms = until_s * kSecondMs;
  // Media published in [from, to) whose numbers are in (older than the insights delay).
  auto sum = [&](const std::string& metric, std::int64_t from, std::int64_t to) {
    std::int64_t out = 0;
    for (const auto& [id, m] : media_) {
      if (m.owner != ig.id || m.is_child || m.created_ms < from || m.created_ms >= to) continue;
      if (now() - m.created_ms < limits_.ig_insights_delay_ms) continue;
      if (metric == "accounts_engaged")
        out += ig_metric(m, "reach") / 3;
      else if (metric == "profile_links_taps")
        out += ig_metric(m, "profile_visits") / 4;
      else if (metric == "follows_and_unfollows")
        out += ig_metric(m, "follows");
      else
        out += ig_metric(m, metric);
    }
    return out;
  };
  json data = json::array();
  for (const auto& name : metrics) {
    const auto& mi = info(name);
    json entry{{"name", name},
               {"period", "day"},
               {"title", mi.title},
               {"description", mi.description},
               {"id", ig.id + "/insights/" + name + "/day"}};
    if (total) {
      entry["total_value"] = {{"value", sum(name, since_ms, until_ms)}};
    } else {
      json values = json::array();
      for (auto day = since_ms; day < until_ms; day += kDayMs) {
        const auto end = std::min(day + kDayMs, until_ms);
        const std::int64_t v = name == "follower_count" ? ig.followers : sum(name, day, end);
        values.push_back({{"value", v}, {"end_time", graph_time(end)}});
      }
      entry["values"] = values;
    }
    data.push_back(entry);
  }
  return ok(c, {{"data", data}});
}

}  // namespace schedulo::sandbox::graph
