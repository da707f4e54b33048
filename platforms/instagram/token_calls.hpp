#pragma once
// Instagram's token calls for the token core (platforms/token_calls.hpp), per login type
// (platform-apis.md 1.0 and 1.2):
//
//   Instagram Login   refresh: GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token
//                     (the long-lived token itself is exchanged; only when at least 24 h old and not
//                     expired: can_refresh() says no before); introspect: a GET /me probe; revoke: no
//                     endpoint exists, the core wipes the stored token
//   Facebook Login    Page tokens do not expire and cannot be refreshed; introspect: debug_token with
//                     the app token (validity, expires_at, data_access_expires_at, scopes); revoke:
//                     DELETE /me/permissions
//
// Calls go unguarded (the provider runs them under the account's lock and its own deadline); no token
// reaches a message.
#include <memory>
#include <nlohmann/json.hpp>

#include "platforms/http/client.hpp"
#include "platforms/instagram/options.hpp"
#include "platforms/token_calls.hpp"

namespace schedulo::instagram {

std::unique_ptr<platforms::TokenCalls> make_token_calls(http::HttpClient& http, InstagramOptions options);

// The root of Instagram Login's token endpoints: the login base URL without its version
// ("https://graph.instagram.com/v25.0" -> "https://graph.instagram.com").
std::string unversioned(std::string url);

// The answers of the token calls, read leniently (a member of another type counts as absent; lifetimes
// past platforms::kMaxTokenLifetimeS are unknown). Pure: fuzzed (tests/fuzz/oauth_answers_fuzz.cpp).
// ig_refresh_token's 2xx answer: ok with the new token, or transient without one.
platforms::TokenCallResult read_refresh_answer(const nlohmann::json& doc);
// debug_token's 2xx answer.
platforms::Introspection read_debug_token(const nlohmann::json& doc);

}  // namespace schedulo::instagram
