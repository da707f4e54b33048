#include "sandbox/tiktok/emulator.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "sandbox/tiktok/rules.hpp"

namespace schedulo::sandbox::tiktok {

Response Emulator::user_info(Request& r) {
  Caller c;
  if (auto e = authenticate(r, c, {})) return std::move(*e);
  if (!admit("user_info|" + c.token->client_key, limits_.display_per_min)) return throttled();
  const auto fields = split_commas(r.query_param("fields").value_or(""));
  if (fields.empty()) return invalid("fields is required.");
  const User& u = *c.user;
  std::int64_t own_posts = 0;
  for (const auto& [id, p] : publishes_)
    if (p.open_id == u.open_id && !p.post_id.empty()) ++own_posts;
  const json all{{"open_id", u.open_id},
                 {"union_id", u.union_id},
                 {"avatar_url", "https://p16-sign.tiktokcdn-us.com/sandbox/" + u.open_id + ".jpeg"},
                 {"avatar_url_100", "https://p16-sign.tiktokcdn-us.com/sandbox/" + u.open_id + "~100.jpeg"},
                 {"avatar_large_url", "https://p16-sign.tiktokcdn-us.com/sandbox/" + u.open_id + "~1080.jpeg"},
                 {"display_name", u.display_name},
                 {"bio_description", u.bio_description},
                 {"profile_deep_link", "https://vm.tiktok.com/sandbox-" + u.username},
                 {"is_verified", u.is_verified},
                 {"username", u.username},
                 {"follower_count", u.follower_count},
                 {"following_count", u.following_count},
                 {"likes_count", u.likes_count},
                 {"video_count", u.video_count + own_posts}};
  static const std::map<std::string, std::string> kScopeOf{
      {"open_id", "user.info.basic"},           {"union_id", "user.info.basic"},
      {"avatar_url", "user.info.basic"},        {"avatar_url_100", "user.info.basic"},
      {"avatar_large_url", "user.info.basic"},  {"display_name", "user.info.basic"},
      {"bio_description", "user.info.profile"}, {"profile_deep_link", "user.info.profile"},
      {"is_verified", "user.info.profile"},     {"username", "user.info.profile"},
      {"follower_count", "user.info.stats"},    {"following_count", "user.info.stats"},
      {"likes_count", "user.info.stats"},       {"video_count", "user.info.stats"}};
  json user = json::object();
  for (const auto& f : fields) {
    auto scope = kScopeOf.find(f);
    if (scope == kScopeOf.end()) return invalid("Unknown field: " + excerpt(f, 40) + ".");
    if (!has_scope(*c.token, scope->second))
      return api_error(401, "scope_permission_missed",
                       "The field " + f + " needs the scope " + scope->second + ", which the user did not grant.");
    user[f] = all[f];
  }
  return ok({{"user", user}});
}

std::optional<Response> Emulator::video_fields(const Request& r, std::vector<std::string>& fields) {
  fields = split_commas(r.query_param("fields").value_or(""));
  if (fields.empty()) return invalid("fields is required.");
  for (const auto& f : fields)
    if (!is_video_field(f)) return invalid("Unknown field: " + excerpt(f, 40) + ".");
  return std::nullopt;
}

json Emulator::video_object(const Publish& p, const std::vector<std::string>& fields) const {
  const auto title = p.post_info.value("title", std::string());
  const auto share = "https://www.tiktok.com/@sandbox/video/" + p.post_id;
  const json all{{"id", p.post_id},
                 {"create_time", p.completed_ms / 1000},
                 {"cover_image_url", "https://p16-sign.tiktokcdn-us.com/sandbox/cover-" + p.post_id + ".jpeg"},
                 {"share_url", share},
                 {"video_description", title.substr(0, std::min<std::size_t>(title.size(), 150))},
                 {"duration", 5},
                 {"height", 1920},
                 {"width", 1080},
                 {"title", title.substr(0, std::min<std::size_t>(title.size(), 150))},
                 {"embed_html", "<blockquote class=\"tiktok-embed\" cite=\"" + share + "\"></blockquote>"},
                 {"embed_link", "https://www.tiktok.com/embed/v2/" + p.post_id},
                 {"like_count", p.stats.like_count},
                 {"comment_count", p.stats.comment_count},
                 {"share_count", p.stats.share_count},
                 {"view_count", p.stats.view_count},
                 {"is_aigc", p.post_info.value("is_aigc", false)}};
  json out = json::object();
  for (const auto& f : fields) out[f] = all[f];
  return out;
}

Response Emulator::video_query(Request& r) {
  Caller c;
  if (auto e = authenticate(r, c, {"video.list"})) return std::move(*e);
  if (!admit("video_query|" + c.token->client_key, limits_.display_per_min)) return throttled();
  std::vector<std::string> fields;
  if (auto e = video_fields(r, fields)) return std::move(*e);
  auto body = parse_body(r);
  if (!body || !body->is_object()) return invalid("The request body must be a JSON object.");
  const json ids = body->value("filters", json::object()).value("video_ids", json());
  if (!ids.is_array() || ids.empty()) return invalid("filters.video_ids is required.");
  if (ids.size() > kMaxVideoIds) return invalid("At most 20 video_ids per request.");
  json videos = json::array();
  for (const auto& id : ids) {
    if (!id.is_string()) return invalid("filters.video_ids must be strings.");
    for (const auto& [key, p] : publishes_)
      if (p.post_id == id.get<std::string>() && p.open_id == c.user->open_id) videos.push_back(video_object(p, fields));
  }
  return ok({{"videos", videos}});
}

Response Emulator::video_list(Request& r) {
  Caller c;
  if (auto e = authenticate(r, c, {"video.list"})) return std::move(*e);
  if (!admit("video_list|" + c.token->client_key, limits_.display_per_min)) return throttled();
  std::vector<std::string> fields;
  if (auto e = video_fields(r, fields)) return std::move(*e);
  auto body = parse_body(r);
  const json request = body && body->is_object() ? *body : json::object();
  const auto max_count = std::clamp<std::int64_t>(request.value("max_count", 20), 1, 20);
  const auto cursor = request.value("cursor", std::int64_t{0});
  std::vector<const Publish*> mine;
  for (const auto& [key, p] : publishes_)
    if (p.open_id == c.user->open_id && !p.post_id.empty()) mine.push_back(&p);
  std::sort(mine.begin(), mine.end(), [](const Publish* a, const Publish* b) { return a->post_id > b->post_id; });
  json videos = json::array();
  std::int64_t i = cursor;
  for (; i < static_cast<std::int64_t>(mine.size()) && i < cursor + max_count; ++i)
    videos.push_back(video_object(*mine[static_cast<std::size_t>(i)], fields));
  return ok({{"videos", videos}, {"cursor", i}, {"has_more", i < static_cast<std::int64_t>(mine.size())}});
}

}  // namespace schedulo::sandbox::tiktok
