// Test controls for the Graph emulator, under /_sandbox/graph (admin routes: never logged, never
// faulted), and its persistence (--state). Every POST answers the record it changed.
//
//   GET    /_sandbox/graph                          summary: limits, users, pages, accounts, counts
//   POST   /_sandbox/graph/reset                    back to the demo seed
//   GET    /_sandbox/graph/limits                   the Limits (model.hpp)
//   POST   /_sandbox/graph/limits                   {any Limits field: value, ...}
//   POST   /_sandbox/graph/consent                  {"facebook"|"instagram": {"user_id","deny","decline":[..]}}
//   GET    /_sandbox/graph/usage                    every counter's percentages
//   POST   /_sandbox/graph/usage                    {"counter":"app|user|page_user|pages|instagram","id",
//                                                    "call_count","total_time","total_cputime"}: raise to %
//   DELETE /_sandbox/graph/usage                    forget all usage
//   GET    /_sandbox/graph/tokens[?user_id=&page_id=]  token records
//   POST   /_sandbox/graph/tokens                   {"token", "invalid_subcode", "expires_in_s"|"expires_at"|
//                                                    "never_expires", "issued_ago_s", "scopes"}
//   POST   /_sandbox/graph/facebook/users           seed a user with Pages (and linked IG accounts), tokens
//   GET    /_sandbox/graph/facebook/users/{id}
//   POST   /_sandbox/graph/facebook/users/{id}/events  {"event": password_changed | logged_out |
//                                                    app_removed | checkpoint | page_role_removed |
//                                                    page_role_restored | data_access_expires, ...}
//   GET    /_sandbox/graph/facebook/pages/{id}      the Page with its posts, photos, videos
//   POST   /_sandbox/graph/facebook/pages/{id}      {"video_polls","reel_polls","followers","next_video_error",
//                                                    "reels_published":N (already published in the last 24 h)}
//   POST   /_sandbox/graph/facebook/posts/{id}      {"metrics":{...},"age_s":N}
//   GET    /_sandbox/graph/facebook/videos/{id}
//   POST   /_sandbox/graph/facebook/videos/{id}     {"processing_polls_left","publishing_polls_left","error"}
//   POST   /_sandbox/graph/instagram/users          seed an Instagram Login account and its token
//   GET    /_sandbox/graph/instagram/accounts/{id}  the account with its containers and published media
//   POST   /_sandbox/graph/instagram/accounts/{id}  {"image_polls","video_polls","quota_total","followers",
//                                                    "next_container_error":{code,subcode,message},
//                                                    "published":N (API posts already in the window),
//                                                    "event":"deauthorized"}
//   GET    /_sandbox/graph/instagram/containers/{id}
//   POST   /_sandbox/graph/instagram/containers/{id}  {"polls_left","status","error","age_s"}
//   GET    /_sandbox/graph/instagram/media/{id}
//   POST   /_sandbox/graph/instagram/media/{id}     {"metrics":{...},"age_s":N}
#include "sandbox/graph/emulator.hpp"

namespace schedulo::sandbox::graph {
namespace {

Response bad(const std::string& message) {
  return json_response(400, {{"error", message}});
}
Response missing(const std::string& what) {
  return json_response(404, {{"error", "no such " + what}});
}

std::optional<json> object_body(const Request& r) {
  if (r.body.empty()) return json::object();
  auto body = parse_body(r);
  if (!body || !body->is_object()) return std::nullopt;
  return body;
}

}  // namespace

json Emulator::save() const {
  json usage = json::object();
  for (const auto& [key, window] : usage_) usage[key] = window.to_json();
  return {{"limits", limits_},     {"tokens", tokens_},         {"users", users_},       {"pages", pages_},
          {"ig_users", ig_users_}, {"containers", containers_}, {"media", media_},       {"photos", photos_},
          {"videos", videos_},     {"posts", posts_},           {"sessions", sessions_}, {"codes", codes_},
          {"usage", usage},        {"consent", consent_},       {"next_id", next_id_}};
}

void Emulator::load(const json& j) {
  limits_ = j.value("limits", json::object()).get<Limits>();
  tokens_ = j.value("tokens", json::object()).get<std::map<std::string, Token>>();
  users_ = j.value("users", json::object()).get<std::map<std::string, FbUser>>();
  pages_ = j.value("pages", json::object()).get<std::map<std::string, Page>>();
  ig_users_ = j.value("ig_users", json::object()).get<std::map<std::string, IgUser>>();
  containers_ = j.value("containers", json::object()).get<std::map<std::string, Container>>();
  media_ = j.value("media", json::object()).get<std::map<std::string, Media>>();
  photos_ = j.value("photos", json::object()).get<std::map<std::string, Photo>>();
  videos_ = j.value("videos", json::object()).get<std::map<std::string, Video>>();
  posts_ = j.value("posts", json::object()).get<std::map<std::string, Post>>();
  status_index_.clear();
  status_index_posts_ = static_cast<std::size_t>(-1);  // rebuilt at the next check
  sessions_ = j.value("sessions", json::object()).get<std::map<std::string, UploadSession>>();
  codes_ = j.value("codes", json::object()).get<std::map<std::string, AuthCode>>();
  usage_.clear();
  const json usage = j.value("usage", json::object());
  for (const auto& [key, value] : usage.items()) usage_[key].from_json(value);
  consent_ = j.value("consent", json::object());
  next_id_ = j.value("next_id", next_id_);
}

json Emulator::summary() const {
  json users = json::array();
  for (const auto& [id, u] : users_) users.push_back({{"id", id}, {"name", u.name}, {"pages", json(u.page_tasks)}});
  json pages = json::array();
  for (const auto& [id, p] : pages_)
    pages.push_back({{"id", id}, {"name", p.name}, {"instagram_user_id", p.ig_user_id}});
  json accounts = json::array();
  for (const auto& [id, ig] : ig_users_)
    accounts.push_back({{"id", id}, {"username", ig.username}, {"login", ig.login}, {"page_id", ig.page_id}});
  return {{"app_id", kAppId},
          {"limits", limits_},
          {"users", users},
          {"pages", pages},
          {"instagram_accounts", accounts},
          {"counts",
           {{"containers", containers_.size()},
            {"media", media_.size()},
            {"posts", posts_.size()},
            {"photos", photos_.size()},
            {"videos", videos_.size()}}}};
}

void Emulator::install_controls() {
  auto saved = [this](Response r) {
    core_.save_state();
    return r;
  };
  core_.admin_route("GET", "/graph", [this](Request&) { return json_response(200, summary()); });
  core_.admin_route("POST", "/graph/reset", [this, saved](Request&) {
    reset();
    return saved(json_response(200, summary()));
  });
  core_.admin_route("GET", "/graph/limits", [this](Request&) { return json_response(200, json(limits_)); });
  core_.admin_route("POST", "/graph/limits", [this, saved](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object of Limits fields");
    json merged = limits_;
    for (const auto& [key, value] : body->items()) {
      if (!merged.contains(key)) return bad("unknown limit: " + key);
      merged[key] = value;
    }
    limits_ = merged.get<Limits>();
    return saved(json_response(200, json(limits_)));
  });
  core_.admin_route("POST", "/graph/consent", [this, saved](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    for (const auto& [key, value] : body->items()) {
      if (key != "facebook" && key != "instagram") return bad("consent is per login: facebook or instagram");
      consent_[key] = value;
    }
    return saved(json_response(200, consent_));
  });

  // ---- usage --------------------------------------------------------------------------------------
  core_.admin_route("GET", "/graph/usage", [this](Request&) {
    json out = json::object();
    for (const auto& [key, window] : usage_) {
      (void)window;
      const auto p = usage_of(key);
      out[key] = {{"call_count", p.call_count},
                  {"total_time", p.total_time},
                  {"total_cputime", p.total_cputime},
                  {"estimated_time_to_regain_access", p.regain_minutes}};
    }
    return json_response(200, out);
  });
  core_.admin_route("POST", "/graph/usage", [this, saved](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    const auto counter = body->value("counter", std::string("app"));
    static const std::vector<std::string> kCounters{"app", "user", "page_user", "pages", "instagram"};
    if (!contains(kCounters, counter)) return bad("counter must be one of app, user, page_user, pages, instagram");
    const auto id = body->value("id", std::string());
    if (counter != "app" && id.empty()) return bad("id: the user, Page or Instagram account the counter belongs to");
    const auto key = counter == "app" ? counter : counter + ":" + id;
    usage_[key].raise_to(body->value("call_count", -1), body->value("total_time", -1), body->value("total_cputime", -1),
                         usage_limit(key), usage_window(key), now());
    const auto p = usage_of(key);
    return saved(json_response(200, {{"counter", key},
                                     {"call_count", p.call_count},
                                     {"total_time", p.total_time},
                                     {"total_cputime", p.total_cputime},
                                     {"estimated_time_to_regain_access", p.regain_minutes}}));
  });
  core_.admin_route("DELETE", "/graph/usage", [this, saved](Request&) {
    usage_.clear();
    return saved(json_response(200, json::object()));
  });

  // ---- tokens -------------------------------------------------------------------------------------
  core_.admin_route("GET", "/graph/tokens", [this](Request& r) {
    const auto user = r.query_param("user_id");
    const auto page = r.query_param("page_id");
    json out = json::array();
    for (const auto& [text, t] : tokens_) {
      if (user && t.user_id != *user) continue;
      if (page && t.page_id != *page) continue;
      json j = t;
      const auto problem = token_problem(t);
      j["valid"] = !problem;
      if (problem) j["error"] = {{"code", problem->code}, {"subcode", problem->subcode}};
      out.push_back(j);
    }
    return json_response(200, {{"tokens", out}});
  });
  core_.admin_route("POST", "/graph/tokens", [this, saved](Request& r) {
    auto body = object_body(r);
    if (!body || !body->contains("token")) return bad("body: {\"token\": ..., what to change}");
    auto it = tokens_.find(body->value("token", std::string()));
    if (it == tokens_.end()) return missing("token");
    auto& t = it->second;
    if (body->contains("invalid_subcode")) t.invalid_subcode = (*body)["invalid_subcode"].get<int>();
    if (body->contains("expires_in_s")) t.expires_ms = now() + (*body)["expires_in_s"].get<std::int64_t>() * kSecondMs;
    if (body->contains("expires_at")) t.expires_ms = (*body)["expires_at"].get<std::int64_t>() * kSecondMs;
    if (body->value("never_expires", false)) t.expires_ms = 0;
    if (body->contains("issued_ago_s")) t.issued_ms = now() - (*body)["issued_ago_s"].get<std::int64_t>() * kSecondMs;
    if (body->contains("scopes")) t.scopes = (*body)["scopes"].get<std::vector<std::string>>();
    return saved(json_response(200, json(t)));
  });

  // ---- Facebook -----------------------------------------------------------------------------------
  // {"name", "scopes":[..], "long_lived": true, "data_access_days": 90,
  //  "pages":[{"name","category","tasks":[..],"instagram":{"username","followers"}}]}
  core_.admin_route("POST", "/graph/facebook/users", [this, saved](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    FbUser user;
    user.id = new_id(100000000000100ULL);
    user.name = body->value("name", "Sandbox User " + user.id);
    user.scopes =
        body->value("scopes", std::vector<std::string>{"pages_show_list", "pages_read_engagement", "pages_manage_posts",
                                                       "read_insights", "instagram_basic", "instagram_content_publish",
                                                       "instagram_manage_insights", "business_management"});
    user.data_access_expires_ms = now() + body->value("data_access_days", limits_.data_access_days) * kDayMs;
    json pages_out = json::array();
    for (const auto& pj : body->value("pages", json::array({json::object()}))) {
      Page page;
      page.id = new_id(100000000000100ULL);
      page.name = pj.value("name", "Sandbox Page " + page.id);
      page.category = pj.value("category", page.category);
      page.followers = pj.value("followers", page.followers);
      user.page_tasks[page.id] =
          pj.value("tasks", std::vector<std::string>{"ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"});
      json page_out{{"id", page.id}, {"name", page.name}};
      if (pj.contains("instagram") && pj["instagram"].is_object()) {
        IgUser ig;
        ig.id = new_id(17841400000000100ULL);
        ig.username = pj["instagram"].value("username", "sandbox." + ig.id);
        ig.name = pj["instagram"].value("name", ig.username);
        ig.followers = pj["instagram"].value("followers", ig.followers);
        ig.login = "facebook";
        ig.page_id = page.id;
        page.ig_user_id = ig.id;
        ig_users_[ig.id] = ig;
        page_out["instagram_user_id"] = ig.id;
      }
      pages_[page.id] = page;
      pages_out.push_back(page_out);
    }
    users_[user.id] = user;
    Token t;
    t.token = new_token("EAAS");
    t.kind = "user";
    t.login = "facebook";
    t.user_id = user.id;
    t.long_lived = body->value("long_lived", true);
    t.expires_ms = now() + (t.long_lived ? limits_.long_token_s : limits_.short_user_token_s) * kSecondMs;
    t.scopes = user.scopes;
    const Token user_token = issue_token(t);
    for (auto& page_out : pages_out)
      page_out["access_token"] = page_token_for(user_token, page_out["id"].get<std::string>());
    return saved(json_response(201, {{"user_id", user.id},
                                     {"user_token", user_token.token},
                                     {"user_token_expires_at", user_token.expires_ms / kSecondMs},
                                     {"pages", pages_out}}));
  });
  core_.admin_route("GET", "/graph/facebook/users/{id}", [this](Request& r) {
    auto it = users_.find(r.params["id"]);
    if (it == users_.end()) return missing("user");
    return json_response(200, json(it->second));
  });
  core_.admin_route("POST", "/graph/facebook/users/{id}/events", [this, saved](Request& r) {
    auto it = users_.find(r.params["id"]);
    if (it == users_.end()) return missing("user");
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    auto& user = it->second;
    const auto event = body->value("event", std::string());
    // Session events invalidate every token issued so far (the next login's tokens work).
    static const std::map<std::string, int> kSessionEvents{
        {"password_changed", 460}, {"logged_out", 467}, {"app_removed", 458}, {"checkpoint", 459}};
    if (auto e = kSessionEvents.find(event); e != kSessionEvents.end()) {
      user.invalid_subcode = e->second;
      user.invalid_before_serial = next_id_ + 1;
    } else if (event == "page_role_removed") {
      user.page_tasks.erase(body->value("page_id", std::string()));
    } else if (event == "page_role_restored") {
      const auto page_id = body->value("page_id", std::string());
      if (!pages_.count(page_id)) return missing("page");
      user.page_tasks[page_id] = body->value(
          "tasks", std::vector<std::string>{"ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"});
    } else if (event == "data_access_expires") {
      // {"at": epoch seconds} or {"in_s": seconds from now}
      user.data_access_expires_ms = body->contains("at") ? (*body)["at"].get<std::int64_t>() * kSecondMs
                                                         : now() + body->value("in_s", std::int64_t{0}) * kSecondMs;
    } else {
      return bad(
          "event must be one of password_changed, logged_out, app_removed, checkpoint, page_role_removed, "
          "page_role_restored, data_access_expires");
    }
    return saved(json_response(200, json(user)));
  });
  core_.admin_route("GET", "/graph/facebook/pages/{id}", [this](Request& r) {
    auto it = pages_.find(r.params["id"]);
    if (it == pages_.end()) return missing("page");
    fb_settle_page(it->first);
    json out = it->second;
    out["reels_last_24h"] = fb_reels_last_day(it->second);
    json posts = json::array();
    for (const auto& [id, p] : posts_)
      if (p.page_id == it->first) posts.push_back(p);
    json photos = json::array();
    for (const auto& [id, p] : photos_)
      if (p.page_id == it->first) photos.push_back(p);
    json videos = json::array();
    for (const auto& [id, v] : videos_)
      if (v.page_id == it->first) videos.push_back(v);
    out["posts"] = posts;
    out["photos"] = photos;
    out["videos"] = videos;
    return json_response(200, out);
  });
  core_.admin_route("POST", "/graph/facebook/pages/{id}", [this, saved](Request& r) {
    auto it = pages_.find(r.params["id"]);
    if (it == pages_.end()) return missing("page");
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    auto& page = it->second;
    page.video_polls = body->value("video_polls", page.video_polls);
    page.reel_polls = body->value("reel_polls", page.reel_polls);
    page.followers = body->value("followers", page.followers);
    page.next_video_error = body->value("next_video_error", page.next_video_error);
    for (std::int64_t i = 0; i < body->value("reels_published", std::int64_t{0}); ++i)
      page.reels_published_ms.push_back(now());
    return saved(json_response(200, json(page)));
  });
  core_.admin_route("POST", "/graph/facebook/posts/{id}", [this, saved](Request& r) {
    auto it = posts_.find(r.params["id"]);
    if (it == posts_.end()) return missing("post");
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    if (body->contains("metrics")) it->second.metrics.update((*body)["metrics"]);
    if (body->contains("age_s")) it->second.created_ms = now() - (*body)["age_s"].get<std::int64_t>() * kSecondMs;
    return saved(json_response(200, json(it->second)));
  });
  core_.admin_route("GET", "/graph/facebook/videos/{id}", [this](Request& r) {
    auto it = videos_.find(r.params["id"]);
    if (it == videos_.end()) return missing("video");
    json out = it->second;
    out["status"] = fb_video_status(it->second);
    return json_response(200, out);
  });
  core_.admin_route("POST", "/graph/facebook/videos/{id}", [this, saved](Request& r) {
    auto it = videos_.find(r.params["id"]);
    if (it == videos_.end()) return missing("video");
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    auto& v = it->second;
    v.processing_polls_left = body->value("processing_polls_left", v.processing_polls_left);
    v.publishing_polls_left = body->value("publishing_polls_left", v.publishing_polls_left);
    v.error_message = body->value("error", v.error_message);
    return saved(json_response(200, json(v)));
  });

  // ---- Instagram ----------------------------------------------------------------------------------
  // {"username","name","followers","long_lived":true}: an Instagram Login account and its token.
  core_.admin_route("POST", "/graph/instagram/users", [this, saved](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    IgUser ig;
    ig.id = new_id(17841400000000100ULL);
    ig.username = body->value("username", "sandbox." + ig.id);
    ig.name = body->value("name", ig.username);
    ig.followers = body->value("followers", ig.followers);
    ig.login = "instagram";
    ig_users_[ig.id] = ig;
    Token t;
    t.token = new_token("IGAA");
    t.kind = "ig_user";
    t.login = "instagram";
    t.user_id = ig.id;
    t.long_lived = body->value("long_lived", true);
    t.expires_ms = now() + (t.long_lived ? limits_.long_token_s : limits_.ig_short_token_s) * kSecondMs;
    t.scopes =
        body->value("scopes", std::vector<std::string>{"instagram_business_basic", "instagram_business_content_publish",
                                                       "instagram_business_manage_insights"});
    const auto& issued = issue_token(t);
    return saved(json_response(
        201, {{"ig_user_id", ig.id}, {"access_token", issued.token}, {"expires_at", issued.expires_ms / kSecondMs}}));
  });
  core_.admin_route("GET", "/graph/instagram/accounts/{id}", [this](Request& r) {
    auto it = ig_users_.find(r.params["id"]);
    if (it == ig_users_.end()) return missing("instagram account");
    json out = it->second;
    out["quota_usage"] = ig_quota_usage(it->second, 0);
    out["quota_total"] = ig_quota_total(it->second);
    json containers = json::array();
    for (auto& [id, ct] : containers_) {
      if (ct.owner != it->first) continue;
      ig_settle(ct);
      containers.push_back(ct);
    }
    json media = json::array();
    for (const auto& [id, m] : media_) {
      if (m.owner != it->first) continue;
      json mj = m;
      mj["permalink"] = ig_permalink(m);
      media.push_back(mj);
    }
    out["containers"] = containers;
    out["media"] = media;
    return json_response(200, out);
  });
  core_.admin_route("POST", "/graph/instagram/accounts/{id}", [this, saved](Request& r) {
    auto it = ig_users_.find(r.params["id"]);
    if (it == ig_users_.end()) return missing("instagram account");
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    auto& ig = it->second;
    ig.image_polls = body->value("image_polls", ig.image_polls);
    ig.video_polls = body->value("video_polls", ig.video_polls);
    ig.quota_total = body->value("quota_total", ig.quota_total);
    ig.followers = body->value("followers", ig.followers);
    if (body->contains("next_container_error")) ig.next_container_error = (*body)["next_container_error"];
    for (std::int64_t i = 0; i < body->value("published", std::int64_t{0}); ++i) ig.published_ms.push_back(now());
    if (body->value("event", std::string()) == "deauthorized") {
      ig.invalid_subcode = 467;
      ig.invalid_before_serial = next_id_ + 1;
    }
    return saved(json_response(200, json(ig)));
  });
  core_.admin_route("GET", "/graph/instagram/containers/{id}", [this](Request& r) {
    auto it = containers_.find(r.params["id"]);
    if (it == containers_.end()) return missing("container");
    ig_settle(it->second);
    return json_response(200, json(it->second));
  });
  core_.admin_route("POST", "/graph/instagram/containers/{id}", [this, saved](Request& r) {
    auto it = containers_.find(r.params["id"]);
    if (it == containers_.end()) return missing("container");
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    auto& ct = it->second;
    ct.polls_left = body->value("polls_left", ct.polls_left);
    ct.status = body->value("status", ct.status);
    if (body->contains("error")) ct.error = (*body)["error"];
    if (body->contains("age_s")) ct.created_ms = now() - (*body)["age_s"].get<std::int64_t>() * kSecondMs;
    return saved(json_response(200, json(ct)));
  });
  core_.admin_route("GET", "/graph/instagram/media/{id}", [this](Request& r) {
    auto it = media_.find(r.params["id"]);
    if (it == media_.end()) return missing("media");
    json out = it->second;
    out["permalink"] = ig_permalink(it->second);
    return json_response(200, out);
  });
  core_.admin_route("POST", "/graph/instagram/media/{id}", [this, saved](Request& r) {
    auto it = media_.find(r.params["id"]);
    if (it == media_.end()) return missing("media");
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    if (body->contains("metrics")) it->second.metrics.update((*body)["metrics"]);
    if (body->contains("age_s")) it->second.created_ms = now() - (*body)["age_s"].get<std::int64_t>() * kSecondMs;
    return saved(json_response(200, json(it->second)));
  });
}

}  // namespace schedulo::sandbox::graph
