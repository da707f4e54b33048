// X posts (platform-apis.md 3.2 and 3.3): create (text, media, replies; duplicates refused), delete,
// lookup with public, non-public and organic metrics, users/me and a user's timeline.
#include <algorithm>

#include "sandbox/x/emulator.hpp"
#include "sandbox/x/wire.hpp"

namespace schedulo::sandbox::x {

namespace {

constexpr std::size_t kMaxTextWeight = 280;
constexpr std::size_t kMaxMedia = 4;
constexpr std::size_t kMaxLookupIds = 100;
constexpr std::int64_t kPrivateMetricsDays = 30;

bool numeric(const std::string& s) {
  return !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Ids are decimal snowflakes: compare them as numbers.
bool id_less(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

json defaults(std::initializer_list<const char*> names) {
  json out = json::object();
  for (const char* n : names) out[n] = 0;
  return out;
}

// X's per-item error in a 200 answer (`errors` beside `data`).
json item_not_found(const std::string& resource_type, const std::string& parameter, const std::string& id) {
  return {{"value", id},
          {"detail", "Could not find " + resource_type + " with " + parameter + ": [" + id + "]."},
          {"title", "Not Found Error"},
          {"resource_type", resource_type},
          {"parameter", parameter},
          {"resource_id", id},
          {"type", "https://api.twitter.com/2/problems/resource-not-found"}};
}

json field_not_authorized(const std::string& id, const std::string& field) {
  return {{"value", id},
          {"detail", "Sorry, you are not authorized to access '" + field + "' on a Tweet."},
          {"title", "Field Authorization Error"},
          {"resource_type", "tweet"},
          {"parameter", "tweet.fields"},
          {"resource_id", id},
          {"field", field},
          {"section", "data"},
          {"type", "https://api.twitter.com/2/problems/not-authorized-for-field"}};
}

std::set<std::string> field_set(const Request& request, const char* name) {
  const auto list = split_list(request.query_param(name).value_or(""));
  return {list.begin(), list.end()};
}

std::string media_type_name(const std::string& category) {
  if (category.ends_with("_gif")) return "animated_gif";
  if (category.ends_with("_video")) return "video";
  return "photo";
}

}  // namespace

Post* Emulator::find_post(const std::string& id) {
  for (auto& p : posts_)
    if (p.id == id) return &p;
  return nullptr;
}

bool Emulator::duplicate_text(const std::string& author, const std::string& text) {
  auto key = [](const Post& p) { return p.author_id + '\n' + p.text; };
  if (indexed_posts_ > posts_.size()) {
    text_index_.clear();
    indexed_posts_ = 0;
  }
  for (; indexed_posts_ < posts_.size(); ++indexed_posts_)
    text_index_[key(posts_[indexed_posts_])].push_back(indexed_posts_);
  const auto it = text_index_.find(author + '\n' + text);
  if (it == text_index_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](std::size_t i) {
    const Post& p = posts_[i];
    return !p.deleted && p.author_id == author && p.text == text;
  });
}

json Emulator::render_user(const User& user, const std::set<std::string>& fields) const {
  json j{{"id", user.id}, {"name", user.name}, {"username", user.username}};
  if (fields.contains("created_at")) j["created_at"] = format_rfc3339_ms(user.created_ms);
  if (fields.contains("protected")) j["protected"] = false;
  if (fields.contains("verified")) j["verified"] = false;
  return j;
}

json Emulator::render_post(const Post& post, const std::set<std::string>& fields, const Caller& caller,
                           json& errors) const {
  json j{{"id", post.id}, {"text", post.text}, {"edit_history_tweet_ids", json::array({post.id})}};
  if (fields.contains("created_at")) j["created_at"] = format_rfc3339_ms(post.created_ms);
  if (fields.contains("author_id")) j["author_id"] = post.author_id;
  if (fields.contains("conversation_id")) j["conversation_id"] = post.conversation_id;
  if (!post.in_reply_to_id.empty()) {
    if (fields.contains("in_reply_to_user_id")) j["in_reply_to_user_id"] = post.in_reply_to_user_id;
    if (fields.contains("referenced_tweets"))
      j["referenced_tweets"] = json::array({{{"type", "replied_to"}, {"id", post.in_reply_to_id}}});
  }
  if (fields.contains("attachments") && !post.media_keys.empty()) j["attachments"] = {{"media_keys", post.media_keys}};
  if (fields.contains("public_metrics")) {
    json m =
        defaults({"retweet_count", "reply_count", "like_count", "quote_count", "bookmark_count", "impression_count"});
    for (const auto& p : posts_)
      m["reply_count"] = m["reply_count"].get<int>() + (!p.deleted && p.in_reply_to_id == post.id);
    m.merge_patch(post.metrics.public_metrics);
    j["public_metrics"] = m;
  }
  // Non-public and organic metrics: the author's own user token, posts of the last 30 days only.
  const bool private_ok = !caller.app_only() && caller.user->id == post.author_id &&
                          core_.clock().now_ms() - post.created_ms <= kPrivateMetricsDays * kDayMs;
  for (const char* field : {"non_public_metrics", "organic_metrics"}) {
    if (!fields.contains(field)) continue;
    if (!private_ok) {
      errors.push_back(field_not_authorized(post.id, field));
      continue;
    }
    const bool organic = std::string_view(field) == "organic_metrics";
    json m = organic ? defaults({"impression_count", "like_count", "reply_count", "retweet_count", "url_link_clicks",
                                 "user_profile_clicks"})
                     : defaults({"impression_count", "url_link_clicks", "user_profile_clicks"});
    m.merge_patch(organic ? post.metrics.organic_metrics : post.metrics.non_public_metrics);
    j[field] = m;
  }
  return j;
}

// POST /x/2/tweets
Response Emulator::create_post(Request& request, Caller& caller) {
  auto body = parse_body(request);
  if (!body || !body->is_object())
    return invalid_request("body", request.body.substr(0, 100), "The request body is not a JSON object");
  const json& b = *body;
  if (b.contains("text") && !b["text"].is_string()) return invalid_request("text", b["text"], "text must be a string");
  const std::string text = b.value("text", "");
  std::vector<std::string> media_ids;
  if (b.contains("media")) {
    const json& m = b["media"];
    if (!m.is_object() || !m.contains("media_ids") || !m["media_ids"].is_array() || m["media_ids"].empty() ||
        m["media_ids"].size() > kMaxMedia)
      return invalid_request("media.media_ids", m, "media.media_ids must list 1 to 4 media ids");
    for (const auto& id : m["media_ids"]) {
      if (!id.is_string() || !numeric(id.get<std::string>()))
        return invalid_request("media.media_ids", id, "media ids are strings of digits");
      media_ids.push_back(id.get<std::string>());
    }
  }
  if (text.empty() && media_ids.empty()) return invalid_request("text", text, "A post needs text or media");
  const auto weight = weighted_length(text);
  if (!weight) return invalid_request("text", nullptr, "text is not valid UTF-8");
  if (*weight > kMaxTextWeight)
    return invalid_request("text", text,
                           "text is " + std::to_string(*weight) + " weighted characters; the limit is 280");

  std::vector<std::string> media_keys;
  std::size_t photos = 0;
  for (const auto& id : media_ids) {
    const Media* m = media_of(id, caller);
    const bool ready =
        m && m->finalized && (m->state.empty() || m->state == "succeeded") && core_.clock().now_ms() < m->expires_ms;
    if (!ready) return invalid_request("media.media_ids", id, "Your media IDs are invalid.");
    photos += media_type_name(m->category) == "photo" ? 1 : 0;
    media_keys.push_back(m->media_key);
  }
  if (photos != media_ids.size() && media_ids.size() > 1)
    return invalid_request("media.media_ids", media_ids, "A video or GIF must be the only media of a post");

  Post post;
  if (b.contains("reply")) {
    const json& reply = b["reply"];
    if (!reply.is_object() || !reply.contains("in_reply_to_tweet_id") || !reply["in_reply_to_tweet_id"].is_string())
      return invalid_request("reply.in_reply_to_tweet_id", reply, "reply.in_reply_to_tweet_id is required");
    const Post* parent = find_post(reply["in_reply_to_tweet_id"].get<std::string>());
    if (!parent || parent->deleted)
      return forbidden("You attempted to reply to a Tweet that is deleted or not visible to you.");
    post.in_reply_to_id = parent->id;
    post.in_reply_to_user_id = parent->author_id;
    post.conversation_id = parent->conversation_id;
  }
  if (!text.empty() && duplicate_text(caller.user->id, text))
    return forbidden("You are not allowed to create a Tweet with duplicate content.");

  post.id = new_snowflake();
  if (post.conversation_id.empty()) post.conversation_id = post.id;
  post.author_id = caller.user->id;
  post.text = text;
  post.created_ms = core_.clock().now_ms();
  post.media_ids = media_ids;
  post.media_keys = media_keys;
  post.client_id = caller.app->client_id;
  posts_.push_back(post);
  ++caller.app->writes_used;
  return json_response(201, {{"data", {{"id", post.id}, {"text", post.text}, {"edit_history_tweet_ids", {post.id}}}}});
}

// DELETE /x/2/tweets/{id}
Response Emulator::delete_post(Request& request, Caller& caller) {
  const auto& id = request.params["id"];
  if (!numeric(id)) return invalid_request("id", id, "The `id` path parameter value is not valid");
  Post* post = find_post(id);
  if (!post || post->deleted) return not_found("tweet", "id", id);
  if (post->author_id != caller.user->id) return forbidden("You are not permitted to perform this action.");
  post->deleted = true;
  return json_response(200, {{"data", {{"deleted", true}}}});
}

// GET /x/2/tweets?ids=..
Response Emulator::lookup_posts(Request& request, Caller& caller) {
  const auto ids_text = request.query_param("ids").value_or("");
  const auto ids = split_list(ids_text);
  if (ids.empty() || ids.size() > kMaxLookupIds)
    return invalid_request("ids", ids_text, "The `ids` query parameter needs 1 to 100 comma-separated ids");
  for (const auto& id : ids)
    if (!numeric(id)) return invalid_request("ids", id, "The `ids` query parameter value [" + id + "] is not valid");
  const auto fields = field_set(request, "tweet.fields");
  json data = json::array();
  json errors = json::array();
  json media = json::array();
  const bool expand_media = field_set(request, "expansions").contains("attachments.media_keys");
  const auto media_fields = field_set(request, "media.fields");
  for (const auto& id : ids) {
    const Post* post = find_post(id);
    if (!post || post->deleted) {
      errors.push_back(item_not_found("tweet", "ids", id));
      continue;
    }
    data.push_back(render_post(*post, fields, caller, errors));
    if (!expand_media) continue;
    for (std::size_t i = 0; i < post->media_ids.size(); ++i) {
      auto it = media_.find(post->media_ids[i]);
      const std::string type = it == media_.end() ? "photo" : media_type_name(it->second.category);
      json m{{"media_key", post->media_keys[i]}, {"type", type}};
      if (it != media_.end() && media_fields.contains("alt_text") && !it->second.alt_text.empty())
        m["alt_text"] = it->second.alt_text;
      if (type == "video" && media_fields.contains("public_metrics")) m["public_metrics"] = defaults({"view_count"});
      const bool own = !caller.app_only() && caller.user->id == post->author_id;
      for (const char* f : {"non_public_metrics", "organic_metrics"})
        if (type == "video" && own && media_fields.contains(f))
          m[f] = defaults({"playback_0_count", "playback_25_count", "playback_50_count", "playback_75_count",
                           "playback_100_count"});
      media.push_back(std::move(m));
    }
  }
  caller.app->reads_used += static_cast<std::int64_t>(data.size());
  json answer = json::object();
  if (!data.empty()) answer["data"] = data;
  if (!media.empty()) answer["includes"] = {{"media", media}};
  if (!errors.empty()) answer["errors"] = errors;
  return json_response(200, answer);
}

// GET /x/2/tweets/{id}
Response Emulator::get_post(Request& request, Caller& caller) {
  const auto& id = request.params["id"];
  if (!numeric(id)) return invalid_request("id", id, "The `id` path parameter value is not valid");
  const Post* post = find_post(id);
  if (!post || post->deleted) return json_response(200, {{"errors", json::array({item_not_found("tweet", "id", id)})}});
  json errors = json::array();
  json answer{{"data", render_post(*post, field_set(request, "tweet.fields"), caller, errors)}};
  if (!errors.empty()) answer["errors"] = errors;
  ++caller.app->reads_used;
  return json_response(200, answer);
}

// GET /x/2/users/me
Response Emulator::users_me(Request& request, Caller& caller) {
  return json_response(200, {{"data", render_user(*caller.user, field_set(request, "user.fields"))}});
}

// GET /x/2/users/{id}/tweets: newest first, max_results 5-100 (default 10), pagination_token,
// since_id, until_id, start_time, end_time, exclude=replies.
Response Emulator::user_posts(Request& request, Caller& caller) {
  const auto& user_id = request.params["id"];
  if (!numeric(user_id)) return invalid_request("id", user_id, "The `id` path parameter value is not valid");
  if (!find_user(user_id))
    return json_response(200, {{"errors", json::array({item_not_found("user", "id", user_id)})}});
  long max_results = 10;
  if (auto text = request.query_param("max_results")) {
    max_results = std::strtol(text->c_str(), nullptr, 10);
    if (max_results < 5 || max_results > 100)
      return invalid_request("max_results", *text,
                             "The `max_results` query parameter value [" + *text + "] is not between 5 and 100");
  }
  std::optional<std::int64_t> start, end;
  for (const auto& [name, target] :
       {std::pair<const char*, std::optional<std::int64_t>*>{"start_time", &start}, {"end_time", &end}}) {
    if (auto text = request.query_param(name)) {
      *target = parse_rfc3339_ms(*text);
      if (!*target)
        return invalid_request(name, *text, std::string("The `") + name + "` value is not an RFC 3339 time");
    }
  }
  const auto since_id = request.query_param("since_id").value_or("");
  const auto until_id = request.query_param("until_id").value_or("");
  const bool no_replies = field_set(request, "exclude").contains("replies");
  std::vector<const Post*> timeline;
  for (const auto& p : posts_) {
    if (p.deleted || p.author_id != user_id) continue;
    if (no_replies && !p.in_reply_to_id.empty()) continue;
    if (!since_id.empty() && !id_less(since_id, p.id)) continue;
    if (!until_id.empty() && !id_less(p.id, until_id)) continue;
    if (start && p.created_ms < *start) continue;
    if (end && p.created_ms > *end) continue;
    timeline.push_back(&p);
  }
  std::sort(timeline.begin(), timeline.end(), [](const Post* a, const Post* b) {
    return a->created_ms != b->created_ms ? a->created_ms > b->created_ms : id_less(b->id, a->id);
  });
  std::size_t first = 0;
  if (auto token = request.query_param("pagination_token")) {
    auto at = std::find_if(timeline.begin(), timeline.end(), [&](const Post* p) { return "pt" + p->id == *token; });
    if (at == timeline.end()) return invalid_request("pagination_token", *token, "The `pagination_token` is not valid");
    first = static_cast<std::size_t>(at - timeline.begin());
  }
  const auto fields = field_set(request, "tweet.fields");
  json data = json::array();
  json errors = json::array();
  const std::size_t last = std::min(timeline.size(), first + static_cast<std::size_t>(max_results));
  for (std::size_t i = first; i < last; ++i) data.push_back(render_post(*timeline[i], fields, caller, errors));
  json meta{{"result_count", data.size()}};
  if (!data.empty()) {
    meta["newest_id"] = data.front()["id"];
    meta["oldest_id"] = data.back()["id"];
  }
  if (last < timeline.size()) meta["next_token"] = "pt" + timeline[last]->id;
  caller.app->reads_used += static_cast<std::int64_t>(data.size());
  json answer{{"meta", meta}};
  if (!data.empty()) answer["data"] = data;
  if (!errors.empty()) answer["errors"] = errors;
  return json_response(200, answer);
}

}  // namespace schedulo::sandbox::x
