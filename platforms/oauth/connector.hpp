#pragma once
// The authorization-code half of each platform's OAuth (the connect flow, issue 13): the consent URL
// with the scopes the job types need, and the exchange of the code the platform sends back for
// tokens. Refresh, revoke and introspect are each platform's TokenCalls (platforms/token_calls.hpp);
// this is only what connecting an account needs.
//
// Per platform (shared/docs/platform-apis.md):
//   x          3.1: PKCE S256, Basic client credentials, space-separated scopes, rotating refresh token
//   tiktok     2.1: PKCE S256, client_key/client_secret in the form, comma-separated scopes
//   facebook   1.0, 4.1: Facebook Login; code -> short-lived user token -> long-lived (fb_exchange_token);
//              granted scopes from debug_token; the Pages from me/accounts (Page tokens never expire)
//   instagram  1.1: Facebook Login as above; the Pages' instagram_business_account are the choices
//   instagram-login  1.2: Instagram Login (no Page): code -> short-lived token on api.instagram.com ->
//              long-lived (ig_exchange_token, 60 days) on graph.instagram.com; GET /me names the
//              account; stored as an `instagram` account (the sweep renews it with ig_refresh_token)
// Every network step has a deadline (ConnectSettings::timeout); no message carries a token.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "platforms/token_calls.hpp"

namespace schedulo::http {
class HttpClient;
}  // namespace schedulo::http

namespace schedulo::platforms::oauth {

struct ConnectSettings {
  std::string auth_url;  // platforms.<p>.auth_url: the consent page
  std::string base_url;  // platforms.<p>.base_url: the token endpoint's root
  std::string client_id;
  std::string client_secret;
  std::chrono::milliseconds timeout{10000};  // oauth.exchange_timeout_ms: each call of the exchange
  // Instagram Login only: the code exchange's endpoint (api.instagram.com/oauth/access_token), apart
  // from base_url (graph.instagram.com/vN.0: the long-lived exchange and /me).
  std::string token_url = {};
};

// One account the user may connect from a Meta login: a Page, or the Instagram account of a Page.
struct Candidate {
  std::string id;    // Page id or Instagram user id
  std::string name;  // Page name or Instagram username, for the user's choice
  std::string page_id;
  TokenSet tokens;  // the Page token (never expires when fetched with a long-lived user token)
};

enum class ExchangeStatus {
  ok,         // tokens (X, TikTok) or candidates (Meta) below
  refused,    // the platform refused the code (expired, reused, wrong verifier): start again
  transient,  // the platform could not be reached or answered 5xx: try connecting again later
};

struct Exchange {
  ExchangeStatus status = ExchangeStatus::transient;
  TokenSet tokens;                        // ok, X and TikTok (expiry times left 0: see below)
  std::int64_t expires_in_s = 0;          // of the access token; 0 = does not expire or unknown
  std::int64_t refresh_expires_in_s = 0;  // of the refresh token; 0 = does not expire or unknown
  std::vector<Candidate> candidates;      // ok, Meta: the Pages / Instagram accounts the login reaches
  std::vector<std::string> granted;       // the scopes the user granted
  std::string user_id;                    // the platform's id of the user (open_id, Facebook user id)
  std::string account_id;                 // ok, Instagram Login: the connected account's id
  std::string account_name;               // ok, Instagram Login: its username
  std::string code;                       // the platform's error code when not ok
  std::string message;                    // for people; no secret
};

struct AuthorizeRequest {
  std::string redirect_uri;
  std::string state;
  std::string code_challenge;  // PKCE S256; empty for platforms without PKCE
};

class Connector {
 public:
  virtual ~Connector() = default;
  virtual std::string_view platform() const = 0;
  // The platform the connected account is stored under (instagram-login connects `instagram` accounts).
  virtual std::string_view account_platform() const { return platform(); }
  virtual bool uses_pkce() const = 0;
  // The scopes the daemon's job types need on this platform (publish, analytics, renewal).
  virtual const std::vector<std::string>& scopes() const = 0;
  virtual std::string authorize_url(const AuthorizeRequest& request) const = 0;
  virtual net::awaitable<Exchange> exchange(const std::string& code, const std::string& redirect_uri,
                                            const std::string& verifier) = 0;
};

// The connector of `platform` (instagram, facebook, tiktok, x, instagram-login); null for any other name.
std::unique_ptr<Connector> make_connector(std::string_view platform, http::HttpClient& http, ConnectSettings settings);

// ---- helpers shared by the connectors, the routes and the tests -------------------------------------
std::string percent_encode(std::string_view text);  // RFC 3986 unreserved kept, everything else %XX
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
std::string random_token(std::size_t bytes);  // base64url (no padding) of CSPRNG bytes
std::string base64url(std::string_view bytes);
std::string pkce_challenge(std::string_view verifier);  // BASE64URL(SHA256(verifier))
// Scopes as a platform lists them: split on spaces and commas.
std::vector<std::string> split_scopes(std::string_view text);
// The scopes of `wanted` that `granted` lacks.
std::vector<std::string> missing_scopes(const std::vector<std::string>& wanted,
                                        const std::vector<std::string>& granted);

}  // namespace schedulo::platforms::oauth
