#pragma once
// The token store: each account's token record in Redis, sealed by the vault, versioned, indexed by
// expiry, and mirrored to Airtable's Accounts table in the same step as every change (architecture
// rules 5, 6, 15). Redis' record is the first durable home of a new token: a rotated refresh token
// is written here before anything else happens with it.
//
// Versions: every record carries one, drawn from the account's sequence in Redis. A refresh stores
// its token with the fence of the lock it held (token_lock.lua draws fences from the same
// sequence), an import takes the next number; a write whose version is not newer than the stored
// one is refused, so an older token never replaces a newer one, whatever the order writers arrive in.
//
// Keys (queue/keys.hpp): token(platform, account) the record hash; token_lock(...) the refresh lock;
// token_accounts() every account; token_access_expiry() / token_refresh_expiry() the expiry indexes.
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "platforms/token_calls.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"
#include "tokens/account.hpp"
#include "tokens/account_source.hpp"
#include "tokens/airtable_rows.hpp"
#include "tokens/vault.hpp"

namespace schedulo::tokens {

template <typename T>
using Result = boost::system::result<T>;

enum class TokenErrc { script_failed = 1, bad_reply };
const boost::system::error_category& token_category();
inline boost::system::error_code make_error_code(TokenErrc e) {
  return {static_cast<int>(e), token_category()};
}

struct PutResult {
  bool written = false;
  std::int64_t version = 0;  // written: the version stored; refused: the newer version already there
};

struct LockResult {
  enum class State { taken, held, no_account };
  State state = State::held;
  std::int64_t fence = 0;            // taken: the fence (and the version the refreshed token gets)
  std::chrono::milliseconds left{};  // held: how long the holder's lock still lasts
  std::string value;                 // taken: "<owner>/<fence>", what unlock() needs
};

class TokenStore {
 public:
  TokenStore(redis::Client& client, queue::Keys keys, const Vault& vault);

  const Vault& vault() const { return vault_; }
  const queue::Keys& keys() const { return keys_; }
  redis::Client& client() { return client_; }

  // Where accounts Redis lacks are read from (Airtable's Accounts rows); none by default.
  void set_source(AccountSource* source) { source_ = source; }

  // The account's record; nullopt when the account is unknown. On a Redis miss, the source's row is
  // read and written back into Redis (its own version: a newer token stored meanwhile wins).
  net::awaitable<Result<std::optional<StoredAccount>>> load(const AccountRef& ref);
  // Opens a record's sealed tokens (in memory only). On failure `error` says why (key id at most).
  std::optional<platforms::TokenSet> open(const StoredAccount& account, std::string& error) const;

  // Seals `tokens` and stores them as `version` (0: the account's next version) if that is newer than
  // the stored one; the expiry indexes and the Airtable row follow in the same step.
  net::awaitable<Result<PutResult>> put(const AccountRef& ref, const platforms::TokenSet& tokens, std::int64_t version,
                                        AccountStatus status, const std::string& reason, std::int64_t now_ms);

  // The account's refresh lock for `owner`, lasting `ttl` unless released.
  net::awaitable<Result<LockResult>> lock(const AccountRef& ref, const std::string& owner,
                                          std::chrono::milliseconds ttl);
  net::awaitable<Result<bool>> unlock(const AccountRef& ref, const std::string& value);

  // Changes the status (not the tokens) if the record still holds `expected_version` (nullopt: any);
  // `wipe` clears the sealed tokens (revocation). False when the version moved on or the account is
  // unknown. `events` go to Airtable's Events table in the same step.
  net::awaitable<Result<bool>> set_status(const AccountRef& ref, std::optional<std::int64_t> expected_version,
                                          AccountStatus status, const std::string& reason, std::int64_t now_ms,
                                          bool wipe, const std::vector<AccountEvent>& events = {});

  // Re-seals the record's tokens with the vault's current key, if the record is still as it was read.
  // False when it changed meanwhile (read it again); an error when its tokens do not open.
  net::awaitable<Result<bool>> rewrap(const StoredAccount& read, std::int64_t now_ms, std::string& error);

  // Accounts in key order ("platform:account"), the first `max` after `after` ("" = from the start).
  net::awaitable<Result<std::vector<AccountRef>>> list(const std::string& after, int max);
  net::awaitable<Result<long long>> count();

 private:
  net::awaitable<redis::Reply> run(std::string_view script, redis::Args args);
  net::awaitable<Result<std::optional<StoredAccount>>> load_redis(const AccountRef& ref);

  redis::Client& client_;
  AccountSource* source_ = nullptr;
  queue::Keys keys_;
  const Vault& vault_;
};

}  // namespace schedulo::tokens

template <>
struct boost::system::is_error_code_enum<schedulo::tokens::TokenErrc> : std::true_type {};
