#pragma once
// Where the token store reads an account that Redis does not hold (Redis lost or restored from an
// older snapshot): Airtable's Accounts row, the durable home of tokens. Read only on a miss, never on
// the hot path (architecture rule 9); what it returns is written back into Redis with its own version,
// so a newer token stored meanwhile still wins. The daemon adapts the Airtable account cache
// (issue 7) to this; tests supply their own.
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <optional>

#include "common/net.hpp"
#include "tokens/account.hpp"

namespace schedulo::tokens {

class AccountSource {
 public:
  virtual ~AccountSource() = default;
  // The account as the durable home holds it; nullopt when it has no such account (or no tokens).
  virtual net::awaitable<boost::system::result<std::optional<StoredAccount>>> load(const AccountRef& ref) = 0;
};

// An Accounts row's fields, as Airtable answers them (platforms/airtable/schema.hpp names), read back
// into the stored account: sealed tokens, key id, expiries, scopes, status, version. nullopt when the
// row is of another platform or holds no sealed token.
std::optional<StoredAccount> account_from_airtable_row(const AccountRef& ref, const nlohmann::json& fields);

}  // namespace schedulo::tokens
