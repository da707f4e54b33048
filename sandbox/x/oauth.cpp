// X's OAuth 2.0 (platform-apis.md 3.1): the authorize page (approved at once, as a user would), the
// code exchange with PKCE, refresh with single-use rotating refresh tokens, and revoke.
#include "sandbox/x/emulator.hpp"
#include "sandbox/x/wire.hpp"
#include "sandbox/x/x.hpp"

namespace schedulo::sandbox::x {

namespace {

const std::set<std::string>& known_scopes() {
  static const std::set<std::string> scopes{"tweet.read",     "tweet.write",   "tweet.moderate.write",
                                            "users.read",     "follows.read",  "follows.write",
                                            "offline.access", "space.read",    "mute.read",
                                            "mute.write",     "like.read",     "like.write",
                                            "list.read",      "list.write",    "block.read",
                                            "block.write",    "bookmark.read", "bookmark.write",
                                            "media.write",    "dm.read",       "dm.write"};
  return scopes;
}

std::set<std::string> split_scopes(const std::string& text) {
  std::set<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto space = text.find(' ', at);
    if (space == std::string::npos) space = text.size();
    if (space > at) out.insert(text.substr(at, space - at));
    at = space + 1;
  }
  return out;
}

Response redirect(const std::string& location) {
  Response r = Response::text(302, "");
  r.set_header("Location", location);
  return r;
}

constexpr const char* kBadCode = "Value passed for the authorization code was invalid.";
constexpr const char* kBadToken = "Value passed for the token was invalid.";

}  // namespace

// GET /x/i/oauth2/authorize: the consent page, approved at once by the user `login_as` (a sandbox
// parameter: id or username; default the demo user), or refused with `sandbox_decision=deny`.
Response Emulator::authorize(Request& request) {
  auto param = [&](const char* name) { return request.query_param(name).value_or(""); };
  auto refuse = [](const std::string& description) { return oauth_error(400, "invalid_request", description); };
  if (param("response_type") != "code") return refuse("response_type must be code");
  App* app = find_app(param("client_id"));
  if (!app) return refuse("Invalid client_id");
  const auto redirect_uri = param("redirect_uri");
  if (redirect_uri.empty()) return refuse("redirect_uri is required");
  if (!app->callback_urls.empty() &&
      std::find(app->callback_urls.begin(), app->callback_urls.end(), redirect_uri) == app->callback_urls.end())
    return refuse("redirect_uri does not match a callback URL of the app");
  const auto scopes = split_scopes(param("scope"));
  if (scopes.empty()) return refuse("scope is required");
  for (const auto& s : scopes)
    if (!known_scopes().contains(s)) return refuse("unknown scope " + s);
  if (param("state").empty()) return refuse("state is required");
  const auto challenge = param("code_challenge");
  const auto method = param("code_challenge_method");
  if (challenge.empty()) return refuse("code_challenge is required");
  if (method != "S256" && method != "plain") return refuse("code_challenge_method must be S256 or plain");
  const char sep = redirect_uri.find('?') == std::string::npos ? '?' : '&';
  const auto state = percent_encode(param("state"));
  if (param("sandbox_decision") == "deny") return redirect(redirect_uri + sep + "error=access_denied&state=" + state);
  const auto login = param("login_as");
  const User* user = find_user(login.empty() ? std::string(kDemoUserId) : login);
  if (!user && login.empty() && !users_.empty()) user = &users_.front();
  if (!user) return refuse("login_as: no such user");
  const auto code = new_secret("sbx-x-code-");
  codes_[code] = {app->client_id,
                  redirect_uri,
                  challenge,
                  method,
                  scopes,
                  user->id,
                  core_.clock().now_ms() + code_ttl_secs_ * kSecondMs,
                  false};
  return redirect(redirect_uri + sep + "state=" + state + "&code=" + percent_encode(code));
}

// The client of a token or revoke call: Basic credentials when sent (and required of confidential
// clients), else the form's client_id (public clients).
std::optional<Response> Emulator::client_auth(Request& request, const std::map<std::string, std::string>& form,
                                              App*& app) {
  const auto header = request.header("Authorization");
  if (auto basic = parse_basic(header)) {
    app = find_app(basic->id);
    if (!app || app->client_secret.empty() || app->client_secret != basic->secret)
      return oauth_error(401, "unauthorized_client", "Missing valid authorization header");
    return std::nullopt;
  }
  auto it = form.find("client_id");
  app = it == form.end() ? nullptr : find_app(it->second);
  if (!app) return oauth_error(400, "invalid_request", "Missing required parameter [client_id].");
  if (!app->client_secret.empty()) return oauth_error(401, "unauthorized_client", "Missing valid authorization header");
  return std::nullopt;
}

// POST /x/2/oauth2/token (application/x-www-form-urlencoded).
Response Emulator::token(Request& request) {
  const auto form = parse_form(request.body);
  auto field = [&](const char* name) {
    auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
  };
  App* app = nullptr;
  if (auto denied = client_auth(request, form, app)) return std::move(*denied);
  const auto now = core_.clock().now_ms();
  const auto grant_type = field("grant_type");
  if (grant_type == "authorization_code") {
    auto it = codes_.find(field("code"));
    if (it == codes_.end()) return oauth_error(400, "invalid_request", kBadCode);
    AuthCode& code = it->second;
    const auto verifier = field("code_verifier");
    const bool verified = valid_code_verifier(verifier) &&
                          (code.method == "S256" ? pkce_s256(verifier) == code.challenge : verifier == code.challenge);
    if (code.used || now >= code.expires_ms || code.client_id != app->client_id ||
        code.redirect_uri != field("redirect_uri") || !verified)
      return oauth_error(400, "invalid_request", kBadCode);
    code.used = true;
    return json_response(200, issue_tokens(code.user_id, app->client_id, code.scopes, new_secret("grant-")));
  }
  if (grant_type == "refresh_token") {
    auto it = refresh_tokens_.find(field("refresh_token"));
    if (it == refresh_tokens_.end()) return oauth_error(400, "invalid_request", kBadToken);
    RefreshToken& old = it->second;
    const bool expired = refresh_ttl_secs_ > 0 && now >= old.issued_ms + refresh_ttl_secs_ * kSecondMs;
    if (old.used || old.revoked || expired || old.client_id != app->client_id)
      return oauth_error(400, "invalid_request", kBadToken);
    old.used = true;  // single use: the answer carries its successor
    const RefreshToken spent = old;
    return json_response(200, issue_tokens(spent.user_id, spent.client_id, spent.scopes, spent.grant));
  }
  return oauth_error(400, "invalid_request", "Value passed for the grant_type was invalid.");
}

// POST /x/2/oauth2/revoke: an access token ends alone; a refresh token ends its whole grant (every
// access and refresh token of that authorization). Unknown tokens are answered the same (RFC 7009).
Response Emulator::revoke(Request& request) {
  const auto form = parse_form(request.body);
  App* app = nullptr;
  if (auto denied = client_auth(request, form, app)) return std::move(*denied);
  const auto value = form.contains("token") ? form.at("token") : std::string();
  if (value.empty()) return oauth_error(400, "invalid_request", "Missing required parameter [token].");
  if (auto it = access_tokens_.find(value); it != access_tokens_.end() && it->second.client_id == app->client_id) {
    it->second.revoked = true;
  } else if (auto rt = refresh_tokens_.find(value);
             rt != refresh_tokens_.end() && rt->second.client_id == app->client_id) {
    const auto grant = rt->second.grant;
    for (auto& [k, t] : refresh_tokens_)
      if (t.grant == grant) t.revoked = true;
    for (auto& [k, t] : access_tokens_)
      if (t.grant == grant) t.revoked = true;
  }
  return json_response(200, {{"revoked", true}});
}

}  // namespace schedulo::sandbox::x
