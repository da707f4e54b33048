#include "platforms/instagram/analytics.hpp"

#include "common/rfc3339.hpp"

namespace schedulo::instagram {
namespace {

using json = nlohmann::json;

std::string text_of(const json& o, const char* name) {
  const auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string metrics_for(std::string_view product_type, std::string_view media_type) {
  if (product_type == "STORY") return "views,reach,replies,shares,total_interactions,follows,profile_visits";
  if (product_type == "REELS")
    return "views,reach,likes,comments,shares,saved,total_interactions,ig_reels_avg_watch_time,"
           "ig_reels_video_view_total_time";
  (void)media_type;  // feed images, videos and carousels share the feed metrics
  return "views,reach,likes,comments,shares,saved,total_interactions";
}

json read_insights(const json& body) {
  json out = json::object();
  if (!body.is_object() || !body.contains("data") || !body["data"].is_array()) return out;
  for (const auto& metric : body["data"]) {
    if (!metric.is_object()) continue;
    const std::string name = text_of(metric, "name");
    if (name.empty()) continue;
    if (metric.contains("total_value") && metric["total_value"].is_object() &&
        metric["total_value"].contains("value")) {
      out[name] = metric["total_value"]["value"];
    } else if (metric.contains("values") && metric["values"].is_array() && !metric["values"].empty() &&
               metric["values"][0].is_object() && metric["values"][0].contains("value")) {
      out[name] = metric["values"][0]["value"];
    }
  }
  return out;
}

net::awaitable<jobs::Outcome> fetch_analytics(Instagram& ig, jobs::JobContext& job) {
  json ids = json::object();
  std::vector<std::string> targets = job.job().target_post_ids;
  if (targets.empty()) {
    graph::GraphCall recent;
    recent.path = "/{ig-user-id}/media";
    recent.params = {{"fields", "id"}, {"limit", "10"}};
    recent.endpoint = "GET /{ig-user-id}/media";
    auto listed = co_await ig.call(job, ids, recent);
    if (listed.stop) co_return std::move(*listed.stop);
    if (!listed.ok()) co_return Instagram::failure(*listed.answer);
    for (const auto& m : listed.answer->body.value("data", json::array()))
      if (m.is_object() && m.contains("id") && m["id"].is_string()) targets.push_back(m["id"].get<std::string>());
  }
  json posts = json::array();
  for (const auto& id : targets) {
    graph::GraphCall media;
    media.path = "/" + id;
    media.params = {{"fields", "id,media_type,media_product_type,like_count,comments_count,timestamp,permalink"}};
    media.endpoint = "GET /{ig-media-id}";
    auto read = co_await ig.call(job, ids, media);
    if (read.stop) co_return std::move(*read.stop);
    if (!read.ok()) co_return Instagram::failure(*read.answer);
    const auto& m = read.answer->body;
    json post = {{"post_id", id},
                 {"media_type", text_of(m, "media_type")},
                 {"media_product_type", text_of(m, "media_product_type")},
                 {"permalink", text_of(m, "permalink")}};

    graph::GraphCall insights;
    insights.path = "/" + id + "/insights";
    insights.params = {{"metric", metrics_for(text_of(m, "media_product_type"), text_of(m, "media_type"))}};
    insights.endpoint = "GET /{ig-media-id}/insights";
    auto got = co_await ig.call(job, ids, insights);
    if (got.stop) co_return std::move(*got.stop);
    json metrics = json::object();
    if (got.ok()) {
      metrics = read_insights(got.answer->body);
      post["available"] = !metrics.empty();
      if (metrics.empty()) post["note"] = "Instagram has no insights for this post yet (they can take up to 48 hours).";
    } else if (got.answer->classified().code == "10") {
      post["available"] = false;  // too small an audience: Meta shows no insights
      post["note"] = "Instagram shows no insights for posts with so few viewers.";
    } else {
      co_return Instagram::failure(*got.answer);
    }
    // Counts the media node always has, for posts whose insights are not in yet.
    if (m.contains("like_count") && !metrics.contains("likes")) metrics["like_count"] = m["like_count"];
    if (m.contains("comments_count") && !metrics.contains("comments")) metrics["comments_count"] = m["comments_count"];
    post["metrics"] = std::move(metrics);
    posts.push_back(std::move(post));
  }
  co_return jobs::Outcome::success({{"platform", "instagram"},
                                    {"account", job.job().account},
                                    {"fetched_at", format_rfc3339_ms(now_epoch_ms())},
                                    {"posts", std::move(posts)}});
}

}  // namespace schedulo::instagram
