#include "sandbox/tiktok/emulator.hpp"

#include <algorithm>

#include "common/rfc3339.hpp"
#include "sandbox/tiktok/rules.hpp"

namespace schedulo::sandbox::tiktok {
namespace {

// Merges a JSON patch into a struct through its JSON form.
template <typename T>
bool patch(T& target, const json& body, std::string& error) {
  json merged = target;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!merged.contains(it.key())) {
      error = "unknown field " + it.key();
      return false;
    }
    merged[it.key()] = it.value();
  }
  try {
    target = merged.get<T>();
  } catch (const json::exception&) {
    error = "a field has the wrong type";
    return false;
  }
  return true;
}

}  // namespace

json Emulator::publish_json(const Publish& p) const {
  json j = p;
  j.erase("upload_token");
  return j;
}

json Emulator::summary() const {
  json apps = json::object();
  for (const auto& [k, a] : apps_) apps[k] = a;
  json users = json::object();
  for (const auto& [k, u] : users_) users[k] = u;
  json publishes = json::array();
  for (const auto& [k, p] : publishes_) publishes.push_back(publish_json(p));
  return {{"limits", limits_}, {"apps", apps}, {"users", users}, {"tokens", tokens_.size()}, {"publishes", publishes}};
}

Response Emulator::bad(const std::string& message) {
  return json_response(400, {{"error", message}});
}

std::optional<json> Emulator::object_body(const Request& r) {
  auto body = parse_body(r);
  if (!body || !body->is_object()) return std::nullopt;
  return body;
}

void Emulator::install_admin() {
  core_.admin_route("GET", "/tiktok", [this](Request&) { return json_response(200, summary()); });
  core_.admin_route("POST", "/tiktok/reset", [this](Request&) {
    ++generation_;
    reset();
    return json_response(200, summary());
  });
  core_.admin_route("POST", "/tiktok/limits", [this](Request& r) {
    auto body = object_body(r);
    std::string error;
    if (!body || !patch(limits_, *body, error)) return bad(body ? error : "body must be a JSON object");
    return json_response(200, limits_);
  });
  // Creates or changes an app: {client_secret, verified_prefixes, redirect_uris, audited, ttls...}.
  core_.admin_route("PUT", "/tiktok/apps/{key}", [this](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    App app = apps_.count(r.params["key"]) ? apps_[r.params["key"]] : App{};
    app.client_key = r.params["key"];
    std::string error;
    if (!patch(app, *body, error)) return bad(error);
    if (app.client_secret.empty()) return bad("client_secret is required");
    apps_[app.client_key] = app;
    return json_response(200, app);
  });
  // Creates or changes a user (a TikTok account): creator settings, caps, how publishes end.
  core_.admin_route("PUT", "/tiktok/users/{open_id}", [this](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    const auto open_id = r.params["open_id"];
    User u = users_.count(open_id) ? users_[open_id] : User{};
    u.open_id = open_id;
    if (u.union_id.empty()) u.union_id = "union-" + open_id;
    std::string error;
    if (!patch(u, *body, error)) return bad(error);
    if (!u.posting_error.empty() && !is_posting_error(u.posting_error))
      return bad(
          "posting_error must be empty or one of spam_risk_too_many_posts, "
          "spam_risk_user_banned_from_posting, reached_active_user_cap");
    for (const auto& reason : u.fail_next)
      if (!is_fail_reason(reason)) return bad("fail_next: unknown fail_reason " + reason);
    users_[open_id] = u;
    return json_response(200, u);
  });
  // Issues a token pair as a code exchange would: {client_key?, open_id, scopes?: [...]}.
  core_.admin_route("POST", "/tiktok/tokens", [this](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    const auto app = apps_.find(body->value("client_key", std::string(kClientKey)));
    if (app == apps_.end()) return bad("no such app");
    const auto open_id = body->value("open_id", std::string());
    if (!users_.count(open_id)) return bad("no such user (PUT /_sandbox/tiktok/users/{open_id} first)");
    const auto scopes =
        body->value("scopes", std::vector<std::string>{"user.info.basic", "user.info.profile", "user.info.stats",
                                                       "video.publish", "video.upload", "video.list"});
    return json_response(201, issue_pair(app->second, open_id, scopes));
  });
  // Seeds an authorization code: {client_key?, open_id, redirect_uri, scopes?, code?, code_challenge?}.
  core_.admin_route("POST", "/tiktok/codes", [this](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    Code c;
    c.client_key = body->value("client_key", std::string(kClientKey));
    c.open_id = body->value("open_id", std::string());
    c.redirect_uri = body->value("redirect_uri", std::string());
    c.scopes = body->value("scopes",
                           std::vector<std::string>{"user.info.basic", "video.publish", "video.upload", "video.list"});
    c.code = body->value("code", new_secret("sbxcode"));
    c.code_challenge = body->value("code_challenge", std::string());
    c.expires_ms = core_.clock().now_ms() + limits_.code_ttl_s * 1000;
    if (!apps_.count(c.client_key) || !users_.count(c.open_id)) return bad("no such app or user");
    codes_[c.code] = c;
    return json_response(201, {{"code", c.code}, {"expires_at", format_rfc3339_ms(c.expires_ms)}});
  });
  // Ends a token now: {token}. (Letting time pass on /_sandbox/clock works too.)
  core_.admin_route("POST", "/tiktok/tokens/expire", [this](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    auto t = tokens_.find(body->value("token", std::string()));
    if (t == tokens_.end()) return json_response(404, {{"error", "no such token"}});
    t->second.expires_ms = core_.clock().now_ms();
    return json_response(200, {{"kind", t->second.kind}, {"expires_at", format_rfc3339_ms(t->second.expires_ms)}});
  });
  // What a token is now (tests check rotation without reading secrets out of logs).
  core_.admin_route("POST", "/tiktok/tokens/inspect", [this](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    auto t = tokens_.find(body->value("token", std::string()));
    if (t == tokens_.end()) return json_response(404, {{"error", "no such token"}});
    json j = t->second;
    j.erase("token");
    j["live"] = !t->second.used && !t->second.revoked && t->second.expires_ms > core_.clock().now_ms();
    return json_response(200, j);
  });
  core_.admin_route("GET", "/tiktok/publishes", [this](Request&) {
    json out = json::array();
    for (const auto& [k, p] : publishes_) out.push_back(publish_json(p));
    return json_response(200, {{"publishes", out}});
  });
  core_.admin_route("GET", "/tiktok/publishes/{id}", [this](Request& r) {
    auto it = publishes_.find(r.params["id"]);
    if (it == publishes_.end()) return json_response(404, {{"error", "no such publish"}});
    return json_response(200, publish_json(it->second));
  });
  // Moves a publish on without status polls: {"to": "processed" | "inbox_posted" | "public" | "failed",
  // "fail_reason"}. processed = processing ends now (FAILED/inbox/complete as planned); inbox_posted
  // = the user finished a draft in the app; public = the public post id appears now.
  core_.admin_route("POST", "/tiktok/publishes/{id}/advance", [this](Request& r) {
    auto it = publishes_.find(r.params["id"]);
    if (it == publishes_.end()) return json_response(404, {{"error", "no such publish"}});
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    Publish& p = it->second;
    const auto to = body->value("to", std::string());
    if (to == "processed") {
      if (!p.transfer_done || terminal(p))
        return json_response(409, {{"error", "not processing (transfer not done, or ended)"}});
      finish_processing(p);
    } else if (to == "inbox_posted") {
      if (p.status != "SEND_TO_USER_INBOX") return json_response(409, {{"error", "not in the user's inbox"}});
      complete(p);
    } else if (to == "public") {
      if (p.status != "PUBLISH_COMPLETE") return json_response(409, {{"error", "not PUBLISH_COMPLETE"}});
      make_public(p);
    } else if (to == "failed") {
      const auto reason = body->value("fail_reason", std::string("internal"));
      if (!is_fail_reason(reason)) return bad("unknown fail_reason");
      fail(p, reason);
    } else {
      return bad("to must be processed, inbox_posted, public or failed");
    }
    return json_response(200, publish_json(p));
  });
  // The posts on TikTok: publishes that reached PUBLISH_COMPLETE.
  core_.admin_route("GET", "/tiktok/posts", [this](Request&) {
    json out = json::array();
    for (const auto& [k, p] : publishes_) {
      if (p.status != "PUBLISH_COMPLETE") continue;
      out.push_back({{"publish_id", p.publish_id},
                     {"post_id", p.post_id.empty() ? json(nullptr) : json(p.post_id)},
                     {"open_id", p.open_id},
                     {"media", p.media},
                     {"mode", p.mode},
                     {"source", p.source},
                     {"title", p.post_info.value("title", std::string())},
                     {"privacy_level", p.post_info.value("privacy_level", std::string())},
                     {"bytes", p.source == "FILE_UPLOAD" ? p.uploaded_bytes : p.downloaded_bytes},
                     {"completed_at", format_rfc3339_ms(p.completed_ms)}});
    }
    return json_response(200, {{"posts", out}});
  });
  // Sets a public video's counters: {view_count, like_count, comment_count, share_count}.
  core_.admin_route("POST", "/tiktok/videos/{id}/stats", [this](Request& r) {
    auto body = object_body(r);
    if (!body) return bad("body must be a JSON object");
    for (auto& [k, p] : publishes_) {
      if (p.post_id != r.params["id"]) continue;
      std::string error;
      if (!patch(p.stats, *body, error)) return bad(error);
      return json_response(200, p.stats);
    }
    return json_response(404, {{"error", "no such video"}});
  });
}

}  // namespace schedulo::sandbox::tiktok
