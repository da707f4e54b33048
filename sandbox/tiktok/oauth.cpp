#include "sandbox/tiktok/emulator.hpp"

#include <algorithm>

#include "common/rfc3339.hpp"
#include "sandbox/tiktok/rules.hpp"

namespace schedulo::sandbox::tiktok {

// Approves at once as the app's default user (or ?sandbox_open_id=) and redirects with a code.
Response Emulator::authorize_page(Request& r) {
  const auto client_key = r.query_param("client_key").value_or("");
  const auto redirect_uri = r.query_param("redirect_uri").value_or("");
  const auto state = r.query_param("state").value_or("");
  auto app = apps_.find(client_key);
  if (app == apps_.end() || redirect_uri.empty() || !redirect_allowed(app->second, redirect_uri))
    return json_response(400,
                         {{"error", "invalid_request"}, {"error_description", "unknown client_key or redirect_uri"}});
  const auto sep = redirect_uri.find('?') == std::string::npos ? "?" : "&";
  auto redirect = [&](const std::string& query) {
    Response out = Response::text(302, "");
    out.set_header("Location", redirect_uri + sep + query + "&state=" + state);
    return out;
  };
  if (r.query_param("response_type").value_or("") != "code")
    return redirect("error=unsupported_response_type&error_description=response_type+must+be+code");
  const auto open_id = r.query_param("sandbox_open_id").value_or(app->second.default_open_id);
  if (r.query_param("sandbox_deny").value_or("0") == "1" || !users_.count(open_id))
    return redirect("error=access_denied&error_description=the+user+denied+access");
  const auto scopes = split_commas(r.query_param("scope").value_or(""));
  Code c;
  c.code = new_secret("sbxcode");
  c.client_key = client_key;
  c.open_id = open_id;
  c.redirect_uri = redirect_uri;
  c.scopes = scopes;
  c.code_challenge = r.query_param("code_challenge").value_or("");
  c.expires_ms = core_.clock().now_ms() + limits_.code_ttl_s * 1000;
  codes_[c.code] = c;
  return redirect("code=" + c.code + "&scopes=" + join_commas(scopes));
}

bool Emulator::redirect_allowed(const App& app, const std::string& uri) const {
  return app.redirect_uris.empty() ||
         std::find(app.redirect_uris.begin(), app.redirect_uris.end(), uri) != app.redirect_uris.end();
}

// The form body, or nullopt when it is not application/x-www-form-urlencoded.
std::optional<std::map<std::string, std::string>> Emulator::form(const Request& r) {
  const auto type = r.header("Content-Type");
  if (!type || lower(std::string(*type)).rfind("application/x-www-form-urlencoded", 0) != 0) return std::nullopt;
  std::map<std::string, std::string> out;
  for (auto& [k, v] : server::parse_query(r.body)) out.emplace(k, v);
  return out;
}

App* Emulator::client(const std::map<std::string, std::string>& f) {
  auto key = f.find("client_key");
  auto secret = f.find("client_secret");
  if (key == f.end() || secret == f.end()) return nullptr;
  auto app = apps_.find(key->second);
  if (app == apps_.end() || app->second.client_secret != secret->second) return nullptr;
  return &app->second;
}

Response Emulator::oauth_token(Request& r) {
  auto f = form(r);
  if (!f) return oauth_refusal("invalid_request", "Content-Type must be application/x-www-form-urlencoded");
  App* app = client(*f);
  if (!app) return oauth_refusal("invalid_client", "Client key or secret is invalid");
  const auto grant = (*f)["grant_type"];
  const auto now = core_.clock().now_ms();
  if (grant == "authorization_code") {
    auto c = codes_.find((*f)["code"]);
    if (c == codes_.end() || c->second.used || c->second.expires_ms <= now || c->second.client_key != app->client_key)
      return oauth_refusal("invalid_grant", "Authorization code is expired or invalid");
    if (c->second.redirect_uri != (*f)["redirect_uri"])
      return oauth_refusal("invalid_grant", "redirect_uri does not match the authorization request");
    if (!c->second.code_challenge.empty() && !pkce_matches((*f)["code_verifier"], c->second.code_challenge))
      return oauth_refusal("invalid_grant", "code_verifier does not match the code_challenge");
    c->second.used = true;
    return json_response(200, issue_pair(*app, c->second.open_id, c->second.scopes));
  }
  if (grant == "refresh_token") {
    auto t = tokens_.find((*f)["refresh_token"]);
    if (t == tokens_.end() || t->second.kind != "refresh" || t->second.client_key != app->client_key)
      return oauth_refusal("invalid_grant", "Refresh token is invalid or expired");
    if (t->second.used) return oauth_refusal("invalid_grant", "Refresh token was already used; use the newest one");
    if (t->second.revoked) return oauth_refusal("invalid_grant", "The user revoked access");
    if (t->second.expires_ms <= now) return oauth_refusal("invalid_grant", "Refresh token is expired");
    t->second.used = true;  // rotation: this one is spent, the answer carries its successor
    const auto open_id = t->second.open_id;
    const auto scopes = t->second.scopes;
    return json_response(200, issue_pair(*app, open_id, scopes));
  }
  if (grant == "client_credentials") return oauth_refusal("unauthorized_client", "client_credentials is not enabled");
  return oauth_refusal("unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
}

// Revoking the access token disconnects the app from the user: every token of theirs dies, and
// publishes still in progress fail with auth_removed. An unknown token is answered {} (RFC 7009).
Response Emulator::oauth_revoke(Request& r) {
  auto f = form(r);
  if (!f) return oauth_refusal("invalid_request", "Content-Type must be application/x-www-form-urlencoded");
  App* app = client(*f);
  if (!app) return oauth_refusal("invalid_client", "Client key or secret is invalid");
  auto t = tokens_.find((*f)["token"]);
  if (t == tokens_.end() || t->second.client_key != app->client_key) return json_response(200, json::object());
  const auto open_id = t->second.open_id;
  for (auto& [value, token] : tokens_)
    if (token.open_id == open_id && token.client_key == app->client_key) token.revoked = true;
  for (auto& [id, p] : publishes_)
    if (p.open_id == open_id && p.client_key == app->client_key && !terminal(p)) fail(p, "auth_removed");
  auto u = users_.find(open_id);
  if (u != users_.end() && !u->second.account_key.empty() && core_.accounts().contains(u->second.account_key))
    core_.accounts()[u->second.account_key]["status"] = "revoked";
  return json_response(200, json::object());
}

}  // namespace schedulo::sandbox::tiktok
