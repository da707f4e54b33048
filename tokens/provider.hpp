#pragma once
// The token provider: what a driver asks for a valid token (architecture rules 5, 12, 15).
//
// - A short-lived access token is refreshed just before use once it expires within the platform's
//   margin (TokenCalls::refresh_margin).
// - At most one refresh per account in the whole fleet: the refresh runs under the account's lock in
//   Redis (token_lock.lua), fenced; the token it obtains is stored with the fence as its version, in
//   Redis first (token_put.lua, which appends the Airtable row in the same step), before the lock is
//   released or the token is used. A daemon whose lock expired still stores what it received if it is
//   newer; an older token never replaces a newer one.
// - A job that needs a token another daemon is refreshing gets `busy` with a short wait: the caller
//   defers the job (no attempt used) instead of holding a worker. While the current access token is
//   still valid (only inside the margin) it is served instead.
// - The platform answering auth-expired to a call: refresh_rejected() refreshes once (unless a newer
//   token was stored meanwhile) and the caller retries once.
// - A refresh the platform refuses (invalid_grant) marks the account needs_reauth with an Events row,
//   unless a newer token was stored meanwhile (the refusal was of a token already replaced).
//
// Messages never carry a token: they are scrubbed of every token in play (plain and URL-encoded).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/event.hpp"
#include "common/net.hpp"
#include "common/secret.hpp"
#include "platforms/token_calls.hpp"
#include "tokens/account.hpp"
#include "tokens/token_store.hpp"

namespace schedulo::tokens {

struct ProviderOptions {
  std::string owner = "schedulo";                    // this daemon (workers.id), in lock values
  std::chrono::milliseconds refresh_timeout{15000};  // tokens.refresh_timeout_ms: one refresh call
  std::chrono::milliseconds lock_ttl{30000};         // tokens.lock_ms (at least refresh_timeout + 1 s)
  std::chrono::milliseconds busy_wait{1000};         // tokens.defer_ms: how long a waiting job defers
  // How long storing a received token is retried (Redis away) before it is given up as lost.
  std::chrono::milliseconds store_retry{30000};
  std::function<std::int64_t()> now_ms;  // wall clock (ms since the epoch); tests inject
  // Told when this daemon marked an account needs_reauth, with the reason (issue 13: the
  // notification through the outbox). Empty: nobody is told beyond the Events row.
  std::function<net::awaitable<void>(const AccountRef&, const std::string&)> on_needs_reauth;
};

struct AccessToken {
  Secret value;
  std::int64_t version = 0;
  std::int64_t expires_at_ms = 0;  // 0: does not expire, or unknown
  std::string scopes;
};

enum class TokenState {
  ready,          // `token` is valid to use now
  busy,           // another daemon is refreshing this account: look again after `retry_after`
  needs_reauth,   // the user must connect the account again (`message` says why)
  revoked,        // the account was disconnected
  not_connected,  // no tokens are stored for this account
  unavailable,    // cannot tell now (Redis, the platform, the lease): try again after `retry_after`
};
std::string_view to_string(TokenState state);

struct TokenAnswer {
  TokenState state = TokenState::unavailable;
  AccessToken token;       // ready
  bool refreshed = false;  // ready: this call refreshed the token
  std::string message;     // for people; no secret
  std::string code;        // machine code: needs_reauth, token_refresh_unknown, ...
  std::chrono::milliseconds retry_after{0};
};

// Called before a refresh call starts, with the call's deadline: false means "do not start it" (the
// job's lease does not cover it; architecture rule 10). Empty: always start.
using BeforeRefresh = std::function<net::awaitable<bool>(std::chrono::milliseconds)>;
// The platform's token calls; null when this build has none for the platform.
using TokenCallsLookup = std::function<platforms::TokenCalls*(std::string_view platform)>;

struct ProviderCounters {
  std::uint64_t refreshes = 0;     // refresh calls made by this daemon
  std::uint64_t refreshed = 0;     // ... that brought a token stored as the newest
  std::uint64_t busy = 0;          // answers `busy` (another daemon was refreshing)
  std::uint64_t needs_reauth = 0;  // accounts this daemon marked needs_reauth
};

class TokenProvider {
 public:
  TokenProvider(TokenStore& store, TokenCallsLookup calls, ProviderOptions options);

  // A valid access token for the account, refreshed first when inside the platform's margin.
  net::awaitable<TokenAnswer> get(const AccountRef& ref, const BeforeRefresh& before = {});
  // The platform refused the token of `rejected_version` as expired: one refresh, unless a newer token
  // was stored meanwhile (then that one). The caller retries its call once with the answer.
  net::awaitable<TokenAnswer> refresh_rejected(const AccountRef& ref, std::int64_t rejected_version,
                                               const BeforeRefresh& before = {});
  // A refresh now, whatever the margin says (refresh_token jobs, the sweep).
  net::awaitable<TokenAnswer> refresh_now(const AccountRef& ref, const BeforeRefresh& before = {});
  // The platform says the grant behind the token of `version` is revoked: needs_reauth, with an
  // Events row, unless a newer token was stored meanwhile.
  net::awaitable<void> report_revoked(const AccountRef& ref, std::int64_t version, const std::string& reason);

  // The platform's token calls through the provider's lookup (revocation, the sweep); null if none.
  platforms::TokenCalls* calls_for(std::string_view platform) const { return calls_ ? calls_(platform) : nullptr; }
  const ProviderCounters& counters() const { return counters_; }
  TokenStore& store() { return store_; }
  const ProviderOptions& options() const { return options_; }

 private:
  enum class Need { if_due, always, if_version };
  net::awaitable<TokenAnswer> obtain(const AccountRef& ref, Need need, std::int64_t version,
                                     const BeforeRefresh& before);
  net::awaitable<TokenAnswer> refresh_locked(const AccountRef& ref, const StoredAccount& account,
                                             const platforms::TokenSet& tokens, platforms::TokenCalls& calls,
                                             const LockResult& lock, bool old_usable, const BeforeRefresh& before);
  // One refresh call and, when the platform answered with a token, its storing and the lock's release,
  // in a coroutine of its own that the asking job's cancellation does not reach.
  struct Renewal {
    explicit Renewal(const net::Executor& ex) : done(ex) {}
    net::Event done;                       // set once the call (and any storing) is over
    bool job_gone = false;                 // the job stopped waiting: the renewal releases the lock
    platforms::TokenCallResult result;     // its message and code scrubbed of secrets
    platforms::TokenSet fresh;             // an answer's tokens
    std::optional<Result<PutResult>> put;  // set once an answer with a token was stored (or given up on)
  };
  // Marks the renewal's job gone when the job leaves before the renewal ended.
  struct RenewalWait {
    explicit RenewalWait(std::shared_ptr<Renewal> r) : renewal(std::move(r)) {}
    std::shared_ptr<Renewal> renewal;
    RenewalWait(const RenewalWait&) = delete;
    RenewalWait& operator=(const RenewalWait&) = delete;
    RenewalWait(RenewalWait&&) = delete;
    RenewalWait& operator=(RenewalWait&&) = delete;
    ~RenewalWait() {
      if (!renewal->done.is_set()) renewal->job_gone = true;
    }
  };
  std::shared_ptr<Renewal> start_renewal(const net::Executor& ex, const AccountRef& ref,
                                         const platforms::TokenSet& tokens, platforms::TokenCalls& calls,
                                         const LockResult& lock);
  net::awaitable<void> renew(AccountRef ref, platforms::TokenSet tokens, platforms::TokenCalls& calls,
                             std::int64_t fence, std::string lock_value, std::shared_ptr<Renewal> renewal);
  net::awaitable<bool> mark_needs_reauth(const AccountRef& ref, std::int64_t version, const std::string& reason);
  std::int64_t now() const;

  TokenStore& store_;
  TokenCallsLookup calls_;
  ProviderOptions options_;
  ProviderCounters counters_;
};

// `text` with every occurrence of each secret, plain and URL-encoded, replaced by "[redacted]".
std::string scrub_secrets(std::string text, std::initializer_list<const Secret*> secrets);

}  // namespace schedulo::tokens
