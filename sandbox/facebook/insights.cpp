// Facebook Page and post insights (platform-apis.md 4.3): the current metrics as values[] (object
// values for the *_by_type* ones), the deprecated ones (impressions, engaged users, fans...) answering
// the real "invalid metric" error, views metrics only from v23.0, no metric at all 3001/1504028.
// Values are stable per post (a hash of its id) unless a test set them.
#include <cctype>
#include <span>
#include <string_view>

#include "sandbox/graph/emulator.hpp"

namespace schedulo::sandbox::graph {
namespace {

constexpr std::string_view kPostMetrics[] = {"post_total_media_view_unique", "post_media_view",
                                             "post_reactions_by_type_total", "post_reactions_like_total",
                                             "post_reactions_love_total",    "post_reactions_wow_total",
                                             "post_reactions_haha_total",    "post_reactions_sorry_total",
                                             "post_reactions_anger_total",   "post_clicks",
                                             "post_clicks_by_type",          "post_video_views",
                                             "post_video_avg_time_watched"};
constexpr std::string_view kPageMetrics[] = {
    "page_total_media_view_unique",     "page_media_view",       "page_follows",     "page_daily_follows_unique",
    "page_daily_unfollows_unique",      "page_post_engagements", "page_video_views", "page_views_total",
    "page_actions_post_reactions_total"};
constexpr std::string_view kDeprecated[] = {"post_impressions",
                                            "post_impressions_unique",
                                            "post_impressions_paid",
                                            "post_impressions_paid_unique",
                                            "post_impressions_fan",
                                            "post_impressions_fan_unique",
                                            "post_impressions_organic",
                                            "post_impressions_organic_unique",
                                            "post_impressions_viral",
                                            "post_impressions_viral_unique",
                                            "post_impressions_nonviral",
                                            "post_impressions_nonviral_unique",
                                            "post_engaged_users",
                                            "post_consumptions",
                                            "page_impressions",
                                            "page_impressions_unique",
                                            "page_impressions_paid",
                                            "page_impressions_paid_unique",
                                            "page_impressions_organic_unique",
                                            "page_impressions_viral",
                                            "page_impressions_nonviral",
                                            "page_posts_impressions",
                                            "page_posts_impressions_unique",
                                            "page_posts_impressions_paid",
                                            "page_posts_impressions_organic",
                                            "page_posts_impressions_organic_unique",
                                            "page_engaged_users",
                                            "page_consumptions",
                                            "page_consumptions_unique",
                                            "page_fans",
                                            "page_fan_adds",
                                            "page_fan_adds_unique",
                                            "page_fan_removes",
                                            "page_fans_online"};

GraphError invalid_metric() {
  return GraphError{400, 100,   0,      "(#100) The value must be a valid insights metric", "OAuthException", "",
                    "",  false, nullptr};
}

GraphError no_metric() {
  return GraphError{400,
                    3001,
                    1504028,
                    "Invalid query: no metric was specified to be fetched",
                    "OAuthException",
                    "Invalid query",
                    "No metric was specified.",
                    false,
                    nullptr};
}

// Checks a metric list against the current set; views metrics need v23.0 (4.3).
std::optional<GraphError> check_metrics(const std::vector<std::string>& metrics,
                                        std::span<const std::string_view> current, int version) {
  if (metrics.empty()) return no_metric();
  for (const auto& m : metrics) {
    if (listed(kDeprecated, m) || !listed(current, m)) return invalid_metric();
    if (m.find("media_view") != std::string::npos && version < 23) return invalid_metric();
  }
  return std::nullopt;
}

// "post_clicks_by_type" -> "Clicks By Type".
std::string title_of(const std::string& metric) {
  std::string out;
  bool up = true;
  for (std::size_t i = metric.find('_') + 1; i < metric.size(); ++i) {
    if (metric[i] == '_') {
      up = true;
      continue;
    }
    if (up && !out.empty()) out += ' ';
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(metric[i]))) : metric[i];
    up = false;
  }
  return out;
}

}  // namespace

std::int64_t Emulator::fb_metric(const std::string& id, const std::string& metric, const json& overrides) const {
  if (overrides.contains(metric) && overrides[metric].is_number_integer()) return overrides[metric].get<std::int64_t>();
  const auto h = stable_hash(id);
  const std::int64_t views = overrides.contains("post_total_media_view_unique")
                                 ? overrides["post_total_media_view_unique"].get<std::int64_t>()
                                 : 200 + static_cast<std::int64_t>(h % 800);
  if (metric == "post_total_media_view_unique" || metric == "page_total_media_view_unique") return views;
  if (metric == "post_media_view" || metric == "page_media_view") return views * 3 / 2;
  if (metric == "post_reactions_like_total") return views / 10;
  if (metric == "post_reactions_love_total") return views / 40;
  if (metric == "post_reactions_wow_total") return views / 200;
  if (metric == "post_reactions_haha_total") return views / 150;
  if (metric == "post_reactions_sorry_total") return views / 400;
  if (metric == "post_reactions_anger_total") return views / 500;
  if (metric == "post_clicks") return views / 8;
  if (metric == "post_video_views" || metric == "page_video_views") return views / 2;
  if (metric == "post_video_avg_time_watched") return 4000 + static_cast<std::int64_t>((h >> 16) % 6000);
  if (metric == "comments") return views / 50;
  if (metric == "shares") return views / 60;
  if (metric == "page_follows") return 1200;
  if (metric == "page_daily_follows_unique") return 3 + static_cast<std::int64_t>(h % 7);
  if (metric == "page_daily_unfollows_unique") return static_cast<std::int64_t>(h % 3);
  if (metric == "page_post_engagements") return views / 5;
  if (metric == "page_views_total") return views / 4;
  return 0;
}

Response Emulator::fb_post_insights(Call& c) {
  const auto& post = posts_.at(c.segments[0]);
  if (auto e = access_page(c, pages_.at(post.page_id), PageNeed::insights)) return fail(c, *e);
  if (post.deleted) return fail(c, errors::unknown_object(post.id, "GET"));
  const auto metrics = split_list(c.params.str("metric"));
  if (auto e = check_metrics(metrics, kPostMetrics, c.served)) return fail(c, *e);
  if (now() - post.created_ms < limits_.fb_insights_delay_ms) return ok(c, {{"data", json::array()}});
  json data = json::array();
  for (const auto& m : metrics) {
    json value;
    if (m == "post_reactions_by_type_total") {
      value = json::object();
      for (const char* t : {"like", "love", "wow", "haha", "sorry", "anger"}) {
        const auto n = fb_metric(post.id, std::string("post_reactions_") + t + "_total", post.metrics);
        if (n > 0) value[t] = n;
      }
    } else if (m == "post_clicks_by_type") {
      const auto clicks = fb_metric(post.id, "post_clicks", post.metrics);
      value = {
          {"other clicks", clicks / 2}, {"photo view", clicks / 3}, {"link clicks", clicks - clicks / 2 - clicks / 3}};
    } else if ((m == "post_video_views" || m == "post_video_avg_time_watched") && post.kind != "video" &&
               post.kind != "reel") {
      value = 0;
    } else {
      value = fb_metric(post.id, m, post.metrics);
    }
    data.push_back({{"name", m},
                    {"period", "lifetime"},
                    {"values", json::array({{{"value", value}}})},
                    {"title", "Lifetime " + title_of(m)},
                    {"description", "Lifetime: " + title_of(m) + " of this post."},
                    {"id", post.id + "/insights/" + m + "/lifetime"}});
  }
  return ok(c, {{"data", data}});
}

Response Emulator::fb_page_insights(Call& c) {
  const auto& page = pages_.at(c.segments[0]);
  if (auto e = access_page(c, page, PageNeed::insights)) return fail(c, *e);
  const auto metrics = split_list(c.params.str("metric"));
  if (auto e = check_metrics(metrics, kPageMetrics, c.served)) return fail(c, *e);
  const auto period = c.params.str("period", "day");
  static const std::vector<std::string> kPeriods{"day", "week", "days_28", "lifetime"};
  if (!contains(kPeriods, period))
    return fail(c, errors::invalid_parameter("period must be one of day, week, days_28, lifetime"));
  const auto until_s = c.params.integer("until").value_or(now() / kSecondMs);
  const auto since_s = c.params.integer("since").value_or(until_s - 2 * 86400);
  if (since_s >= until_s || until_s - since_s > 93 * 86400)
    return fail(c, errors::invalid_parameter("There cannot be more than 93 days between since and until"));
  json data = json::array();
  for (const auto& m : metrics) {
    json values = json::array();
    for (auto day = since_s * kSecondMs; day < until_s * kSecondMs; day += kDayMs) {
      const auto key = page.id + "/" + std::to_string(day / kDayMs);
      json value;
      if (m == "page_actions_post_reactions_total") {
        value = {{"like", fb_metric(key, "post_reactions_like_total", json::object())},
                 {"love", fb_metric(key, "post_reactions_love_total", json::object())}};
      } else if (m == "page_follows") {
        value = page.followers;
      } else {
        value = fb_metric(key, m, json::object());
      }
      values.push_back({{"value", value}, {"end_time", graph_time(std::min(day + kDayMs, until_s * kSecondMs))}});
      if (period == "lifetime") break;
    }
    data.push_back({{"name", m},
                    {"period", period},
                    {"values", values},
                    {"title", title_of(m)},
                    {"description", title_of(m) + " of the Page."},
                    {"id", (page.id + "/insights/" + m + "/").append(period)}});
  }
  return ok(c, {{"data", data}});
}

}  // namespace schedulo::sandbox::graph
