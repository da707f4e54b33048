// Instagram Login (platform-apis.md 1.2): the consent dialog (answered at once), the code exchange on
// api.instagram.com (a 1 h token), ig_exchange_token (60 days) and ig_refresh_token (only for a
// long-lived token at least 24 h old and not expired; a new token valid 60 days from the refresh),
// and GET /me on graph.instagram.com. Errors use the Graph envelope (1.0 says all Graph/IG endpoints).
#include "sandbox/graph/emulator.hpp"

namespace schedulo::sandbox::graph {

Response Emulator::ig_authorize(Call& c) {
  const auto& p = c.params;
  if (p.str("client_id") != kAppId) return Response::text(400, "Invalid platform app\n");
  const auto redirect = p.str("redirect_uri");
  if (!redirect.starts_with("http://") && !redirect.starts_with("https://"))
    return Response::text(400, "Invalid redirect_uri\n");
  const json consent = consent_.value("instagram", json::object());
  const auto sep = redirect.find('?') == std::string::npos ? "?" : "&";
  const auto state = p.has("state") ? "&state=" + url_encode(p.str("state")) : std::string();
  Response r;
  r.status = 302;
  if (consent.value("deny", false)) {
    r.set_header("Location", redirect + sep +
                                 "error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+"
                                 "request" +
                                 state);
    return r;
  }
  AuthCode code;
  code.code = new_token("AQB");
  code.login = "instagram";
  code.user_id = consent.value("user_id", std::string("17841400000000002"));
  if (!ig_users_.count(code.user_id) || ig_users_.at(code.user_id).login != "instagram")
    return Response::text(400, "No such Instagram Login sandbox account: " + code.user_id + "\n");
  code.redirect_uri = redirect;
  const auto declined = consent.value("decline", std::vector<std::string>{});
  for (const auto& s : split_list(p.str("scope")))
    if (!contains(declined, s)) code.scopes.push_back(s);
  code.created_ms = now();
  codes_[code.code] = code;
  // Instagram appends "#_" to the redirect.
  r.set_header("Location", redirect + sep + "code=" + url_encode(code.code) + state + "#_");
  return r;
}

Response Emulator::ig_login_token(Call& c) {
  if (auto e = meter_app(c)) return fail(c, *e);
  const auto& p = c.params;
  if (p.str("client_id") != kAppId) return fail(c, errors::bad_client_id());
  if (p.str("client_secret") != kAppSecret) return fail(c, errors::bad_client_secret());
  if (p.str("grant_type") != "authorization_code")
    return fail(c, errors::invalid_parameter("Invalid grant_type: authorization_code is required"));
  if (!p.has("redirect_uri")) return fail(c, errors::missing_parameter("redirect_uri"));
  auto it = codes_.find(p.str("code"));
  if (it == codes_.end() || it->second.login != "instagram")
    return fail(c, GraphError{400, 100, 0, "Invalid authorization code"});
  auto& code = it->second;
  if (code.used) return fail(c, GraphError{400, 100, 36009, "This authorization code has been used"});
  if (now() - code.created_ms > 10 * kMinuteMs)
    return fail(c, GraphError{400, 100, 36007, "This authorization code has expired"});
  if (code.redirect_uri != p.str("redirect_uri"))
    return fail(c, GraphError{400, 100, 36008,
                              "Error validating verification code. Please make sure your "
                              "redirect_uri is identical to the one you used in the OAuth dialog "
                              "request"});
  code.used = true;
  Token t;
  t.token = new_token("IGAA");
  t.kind = "ig_user";
  t.login = "instagram";
  t.user_id = code.user_id;
  t.expires_ms = now() + limits_.ig_short_token_s * kSecondMs;
  t.scopes = code.scopes;
  const auto& issued = issue_token(t);
  std::string permissions;
  for (const auto& s : issued.scopes) permissions += (permissions.empty() ? "" : ",") + s;
  // The account id comes as a JSON number, as api.instagram.com sends it: beyond 2^53, so a client
  // must not read it through a double.
  json body{{"access_token", issued.token},
            {"user_id", static_cast<std::uint64_t>(std::stoull(issued.user_id))},
            {"permissions", permissions}};
  // The reference leaves the wrapper UNCONFIRMED (top level or data[0]); ig_login_wrap_data picks.
  if (limits_.ig_login_wrap_data) body = json{{"data", json::array({body})}};
  return ok(c, body);
}

Response Emulator::ig_exchange_token(Call& c) {
  if (auto e = meter_app(c)) return fail(c, *e);
  const auto& p = c.params;
  if (p.str("grant_type") != "ig_exchange_token")
    return fail(c, errors::invalid_parameter("Unsupported grant_type: ig_exchange_token is required"));
  if (p.str("client_secret") != kAppSecret) return fail(c, errors::bad_client_secret());
  auto it = tokens_.find(call_token(c));
  if (it == tokens_.end() || it->second.login != "instagram") return fail(c, errors::token_unparsable());
  if (auto problem = token_problem(it->second)) return fail(c, *problem);
  if (it->second.long_lived)
    return fail(c, errors::invalid_parameter("Only a short-lived access token can be exchanged"));
  Token t = it->second;
  t.token = new_token("IGAA");
  t.long_lived = true;
  t.expires_ms = now() + limits_.long_token_s * kSecondMs;
  const auto& issued = issue_token(t);
  return ok(c, {{"access_token", issued.token}, {"token_type", "bearer"}, {"expires_in", limits_.long_token_s}});
}

Response Emulator::ig_refresh_token(Call& c) {
  if (auto e = meter_app(c)) return fail(c, *e);
  if (c.params.str("grant_type") != "ig_refresh_token")
    return fail(c, errors::invalid_parameter("Unsupported grant_type: ig_refresh_token is required"));
  auto it = tokens_.find(call_token(c));
  if (it == tokens_.end() || it->second.login != "instagram") return fail(c, errors::token_unparsable());
  if (auto problem = token_problem(it->second)) return fail(c, *problem);
  const Token old = it->second;
  if (!old.long_lived) return fail(c, errors::invalid_parameter("Only a long-lived access token can be refreshed"));
  // EMU-CHOICE: the reference says a token under 24 h old cannot be refreshed but not how it fails.
  if (now() - old.issued_ms < kDayMs)
    return fail(c, errors::invalid_parameter("The access token can be refreshed only when it is at least 24 hours "
                                             "old"));
  Token t = old;
  t.token = new_token("IGAA");
  t.expires_ms = now() + limits_.ig_refresh_token_s * kSecondMs;
  const auto& issued = issue_token(t);
  return ok(c, {{"access_token", issued.token}, {"token_type", "bearer"}, {"expires_in", limits_.ig_refresh_token_s}});
}

Response Emulator::ig_me(Call& c) {
  if (auto e = authenticate(c)) return fail(c, *e);
  c.segments = {c.token->user_id};
  return ig_user(c);
}

}  // namespace schedulo::sandbox::graph
