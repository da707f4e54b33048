#pragma once
// The token calls one platform supplies to the token core (tokens/): refresh, revoke, introspect.
// Each platform folder implements TokenCalls against its own OAuth endpoints (platform-apis.md:
// TikTok 2.1, X 3.1, Instagram Login's ig_refresh_token, Graph debug_token); the provider in
// tokens/provider.hpp decides when to call them, under the fleet-wide lock, and stores what they
// return before anything else.
//
// Rules for an implementation:
// - never put a token in a message, code or log line (the provider scrubs messages as well, but the
//   first line of defence is here); a URL that carries a token (Graph's debug_token) must not be
//   quoted in an error;
// - classify by the platform's own signals, not the HTTP status alone (TikTok answers invalid_grant
//   with HTTP 200);
// - `unknown` when the request may have reached the platform and no answer came back: for rotating
//   refresh tokens the old one may already be spent, and the provider must know.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "common/secret.hpp"

namespace schedulo::platforms {

// The tokens of one account as the platform's calls need them (plaintext, in memory only).
struct TokenSet {
  Secret access_token;
  Secret refresh_token;                    // empty: the platform has none (Page tokens, Instagram Login)
  std::int64_t access_expires_at_ms = 0;   // 0: does not expire, or unknown
  std::int64_t refresh_expires_at_ms = 0;  // 0: does not expire, or unknown
  std::string scopes;                      // granted scopes as the platform lists them
};

enum class TokenCallStatus {
  ok,         // the call did what it was asked
  rejected,   // the grant is no longer valid (invalid_grant, expired or reused refresh token): the
              // user must connect again, unless a newer token was stored meanwhile
  revoked,    // the user removed the app, or the platform revoked the grant
  transient,  // nothing changed (refused before processing, 5xx, rate limited): try again later
  unknown,    // sent, no answer: it may have taken effect (a rotating refresh token may be spent)
};

// The longest token lifetime an answer is believed about (100 years): a larger expires_in, or one
// that is not positive, is read as unknown. Callers turn lifetimes into epoch milliseconds; an
// unbounded one overflowed (found by tests/fuzz/oauth_answers_fuzz.cpp).
inline constexpr std::int64_t kMaxTokenLifetimeS = 100LL * 365 * 24 * 3600;

struct TokenCallResult {
  TokenCallStatus status = TokenCallStatus::transient;
  // ok from refresh(): the new tokens. An empty refresh_token means the platform kept the old one.
  Secret access_token;
  Secret refresh_token;
  std::optional<std::chrono::seconds> expires_in;          // of the access token
  std::optional<std::chrono::seconds> refresh_expires_in;  // of the refresh token
  std::optional<std::string> scopes;                       // when the answer lists them
  std::string code;                                        // the platform's error code ("invalid_grant")
  std::string message;                                     // for people: what happened, no secret
  std::chrono::milliseconds retry_after{0};                // transient: the platform's hint, if any
};

struct Introspection {
  TokenCallStatus status = TokenCallStatus::transient;  // ok: the fields below are the answer
  bool valid = false;
  std::int64_t expires_at_ms = 0;              // 0: never or unknown
  std::int64_t data_access_expires_at_ms = 0;  // Graph's data_access_expires_at; 0 when none
  std::string scopes;
  std::string message;
};

class TokenCalls {
 public:
  virtual ~TokenCalls() = default;

  // A short-lived access token is refreshed just before use once it expires within this margin
  // (architecture rule 15): long enough to cover the call it is used for.
  virtual std::chrono::milliseconds refresh_margin() const = 0;
  // Whether refresh() can renew these tokens at all (X and TikTok need a refresh token; Instagram
  // Login renews the long-lived access token itself; Page tokens cannot be refreshed).
  virtual bool can_refresh(const TokenSet& current) const = 0;
  // Deadline handling is the caller's: the provider cancels the call at tokens.refresh_timeout_ms.
  virtual net::awaitable<TokenCallResult> refresh(const TokenSet& current) = 0;
  virtual net::awaitable<TokenCallResult> revoke(const TokenSet& current) = 0;
  virtual net::awaitable<Introspection> introspect(const TokenSet& current) = 0;
};

}  // namespace schedulo::platforms
