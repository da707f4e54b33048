#pragma once
// What a token change owes Airtable (architecture: Accounts is the durable home of tokens): the
// account's row in the Accounts table, upserted on its Account Key, carrying the sealed tokens (never
// plaintext), the key id, expiry times, granted scopes, status and version; and Events rows
// (needs_reauth, ...). Encoded as outbox entries (queue/outbox.hpp) whose guard is the token version,
// so an older row never replaces a newer one; the token scripts append them in the same step as the
// Redis write, so Airtable hears of every change Redis recorded and of none it refused. Table and
// field names: platforms/airtable/schema.hpp.
#include <string>
#include <vector>

#include "tokens/account.hpp"

namespace schedulo::tokens {

struct AccountEvent {
  std::string code;     // needs_reauth, ...
  std::string message;  // for people; no secret
};

// encode_outbox() text: the Accounts row of `account` as it will be stored (its version as the
// guard), then one Events row per event, keyed by code, account and version (the same event of the
// same token is one row).
std::string encode_for_airtable(const StoredAccount& account, const std::vector<AccountEvent>& events);

}  // namespace schedulo::tokens
