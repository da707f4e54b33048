#pragma once
// A connected account as the token core stores it: sealed tokens (never plaintext), expiry times,
// granted scopes, status and version. The same content is the account's Airtable row (Accounts
// table) and its Redis record (<prefix>:token:<platform>:<account>).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace schedulo::tokens {

struct AccountRef {
  std::string platform;  // instagram, facebook, tiktok, x
  std::string account;   // the account's key (its Accounts record id or Account Key)

  std::string member() const { return platform + ":" + account; }  // in the accounts and expiry indexes
  bool operator==(const AccountRef&) const = default;
};

// "x:acct-1" -> {x, acct-1}; nullopt without a ':' or with an empty side.
std::optional<AccountRef> parse_account_ref(std::string_view text);

enum class AccountStatus {
  active,        // tokens work, or can be renewed
  expiring,      // works now, but nothing can renew it past a date near enough to tell the user
  needs_reauth,  // the platform refused the grant: the user must connect again
  revoked,       // disconnected on purpose (revoke_token); tokens wiped
};
std::string_view to_string(AccountStatus status);
std::optional<AccountStatus> account_status_from_string(std::string_view text);

struct StoredAccount {
  AccountRef ref;
  std::int64_t version = 0;  // newer tokens have higher versions (tokens/token_store.hpp)
  AccountStatus status = AccountStatus::active;
  std::string reason;                      // why the status is what it is, for people; no secret
  std::string access_sealed;               // Vault::seal of the access token ("" = none)
  std::string refresh_sealed;              // Vault::seal of the refresh token ("" = none)
  std::int64_t access_expires_at_ms = 0;   // 0 = never, or unknown
  std::int64_t refresh_expires_at_ms = 0;  // 0 = never, or unknown
  std::string scopes;
  std::int64_t updated_at_ms = 0;
};

// The associated data a token is sealed with: it opens only in its own account and field.
std::string seal_context(const AccountRef& ref, std::string_view field);  // field: "access" | "refresh"

}  // namespace schedulo::tokens
