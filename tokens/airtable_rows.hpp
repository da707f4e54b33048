#pragma once
// What a token change owes Airtable (architecture: Accounts is the durable home of tokens): the
// account's row in the Accounts table, upserted by its Account Key, carrying the sealed tokens (never
// plaintext), expiry times, granted scopes, status and version; and Events rows (needs_reauth, ...).
// The token scripts append this text in the same step as the Redis write, so Airtable hears of every
// change that Redis recorded, and of none that it refused.
//
// Switch-over point: until the outbox (issue 7) is merged, the text waits in
// <prefix>:tokens:airtable_pending; encode_for_airtable() is the one place that changes then.
#include <cstdint>
#include <string>
#include <vector>

#include "tokens/account.hpp"

namespace schedulo::tokens {

struct AccountEvent {
  std::string kind;     // needs_reauth, revoked, expiring, reconnected
  std::string message;  // for people; no secret
};

// The Accounts row of `account` as it will be stored (its version included), and one Events row per
// event, keyed by kind, account and version (the same event of the same token is one row).
std::string encode_for_airtable(const StoredAccount& account, const std::vector<AccountEvent>& events);

// Field names of the Accounts and Events tables (docs: README "Tokens").
namespace airtable_field {
inline constexpr const char* kAccountKey = "Account Key";
inline constexpr const char* kPlatform = "Platform";
inline constexpr const char* kStatus = "Status";
inline constexpr const char* kStatusReason = "Status Reason";
inline constexpr const char* kAccessToken = "Access Token";    // sealed
inline constexpr const char* kRefreshToken = "Refresh Token";  // sealed
inline constexpr const char* kAccessExpiresAt = "Access Expires At";
inline constexpr const char* kRefreshExpiresAt = "Refresh Expires At";
inline constexpr const char* kScopes = "Scopes";
inline constexpr const char* kTokenVersion = "Token Version";
inline constexpr const char* kTokenUpdatedAt = "Token Updated At";
}  // namespace airtable_field

}  // namespace schedulo::tokens
