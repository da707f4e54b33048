#include "tokens/provider.hpp"

#include <algorithm>
#include <cctype>

#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/rfc3339.hpp"

namespace schedulo::tokens {
namespace {

using platforms::TokenCallStatus;
using std::chrono::milliseconds;

constexpr milliseconds kStoreUnreadableWait{1000};
constexpr milliseconds kUnopenableWait{60000};  // a missing vault key needs a person: look rarely
constexpr milliseconds kTransientWait{5000};
constexpr milliseconds kUnknownWait{2000};
constexpr milliseconds kStoreRetryStep{250};
constexpr milliseconds kShortestBusyWait{50};
constexpr int kMostRereads = 3;  // newer tokens stored by others while this daemon looked

std::string percent_encoded(std::string_view s, bool plus_for_space, bool lower_hex) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  static constexpr char kLower[] = "0123456789abcdef";
  const char* hex = lower_hex ? kLower : kUpper;
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else if (c == ' ' && plus_for_space) {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

void replace_all(std::string& text, const std::string& needle) {
  if (needle.empty()) return;
  static const std::string kRedacted = "[redacted]";
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + kRedacted.size()))
    text.replace(at, needle.size(), kRedacted);
}

net::awaitable<void> pause(milliseconds d) {
  net::Timer timer(co_await net::asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait();
}

// Parameters by value: it runs after the job that took the lock is gone.
net::awaitable<void> unlock_detached(TokenStore& store, AccountRef ref, std::string value) {
  co_await store.unlock(ref, value);
}

// Releases a refresh lock that its job leaves without releasing: a cancelled job (lease lost, a step's
// deadline, shutdown) throws out at its next step, and the fleet would otherwise wait out the TTL.
class LockRelease {
 public:
  LockRelease(TokenStore& store, const AccountRef& ref, const std::string& value, net::Executor ex)
      : store_(store), ref_(ref), value_(value), ex_(std::move(ex)) {}
  LockRelease(const LockRelease&) = delete;
  LockRelease& operator=(const LockRelease&) = delete;
  LockRelease(LockRelease&&) = delete;
  LockRelease& operator=(LockRelease&&) = delete;
  ~LockRelease() {
    if (armed_) net::asio::co_spawn(ex_, unlock_detached(store_, ref_, value_), net::asio::detached);
  }
  void disarm() { armed_ = false; }
  void arm() { armed_ = true; }

 private:
  TokenStore& store_;
  AccountRef ref_;
  std::string value_;
  net::Executor ex_;
  bool armed_ = true;
};

TokenAnswer answer(TokenState state, std::string message, std::string code, milliseconds retry_after = {}) {
  TokenAnswer a;
  a.state = state;
  a.message = std::move(message);
  a.code = std::move(code);
  a.retry_after = retry_after;
  return a;
}

TokenAnswer ready(const platforms::TokenSet& tokens, std::int64_t version, bool refreshed) {
  TokenAnswer a;
  a.state = TokenState::ready;
  a.token.value = tokens.access_token;
  a.token.version = version;
  a.token.expires_at_ms = tokens.access_expires_at_ms;
  a.token.scopes = tokens.scopes;
  a.refreshed = refreshed;
  return a;
}

std::string reconnect_message(const AccountRef& ref, const std::string& why) {
  return "The " + ref.platform + " account " + ref.account + " must be connected again: " + why;
}

}  // namespace

std::string scrub_secrets(std::string text, std::initializer_list<const Secret*> secrets) {
  for (const Secret* s : secrets) {
    if (!s || s->empty()) continue;
    const std::string& plain = s->reveal();
    replace_all(text, plain);
    for (const bool plus : {false, true})
      for (const bool lower : {false, true}) replace_all(text, percent_encoded(plain, plus, lower));
  }
  return text;
}

std::string_view to_string(TokenState state) {
  switch (state) {
    case TokenState::ready:
      return "ready";
    case TokenState::busy:
      return "busy";
    case TokenState::needs_reauth:
      return "needs_reauth";
    case TokenState::revoked:
      return "revoked";
    case TokenState::not_connected:
      return "not_connected";
    case TokenState::unavailable:
      return "unavailable";
  }
  return "unavailable";
}

TokenProvider::TokenProvider(TokenStore& store, TokenCallsLookup calls, ProviderOptions options)
    : store_(store), calls_(std::move(calls)), options_(std::move(options)) {
  options_.lock_ttl = std::max(options_.lock_ttl, options_.refresh_timeout + milliseconds(1000));
}

std::int64_t TokenProvider::now() const {
  return options_.now_ms ? options_.now_ms() : now_epoch_ms();
}

net::awaitable<TokenAnswer> TokenProvider::get(const AccountRef& ref, const BeforeRefresh& before) {
  co_return co_await obtain(ref, Need::if_due, 0, before);
}

net::awaitable<TokenAnswer> TokenProvider::refresh_rejected(const AccountRef& ref, std::int64_t rejected_version,
                                                            const BeforeRefresh& before) {
  co_return co_await obtain(ref, Need::if_version, rejected_version, before);
}

net::awaitable<TokenAnswer> TokenProvider::refresh_now(const AccountRef& ref, const BeforeRefresh& before) {
  co_return co_await obtain(ref, Need::always, 0, before);
}

net::awaitable<void> TokenProvider::report_revoked(const AccountRef& ref, std::int64_t version,
                                                   const std::string& reason) {
  co_await mark_needs_reauth(ref, version, reason);
}

net::awaitable<bool> TokenProvider::mark_needs_reauth(const AccountRef& ref, std::int64_t version,
                                                      const std::string& reason) {
  const std::string message = reconnect_message(ref, reason);
  const std::vector<AccountEvent> events{{"needs_reauth", message}};
  auto marked = co_await store_.set_status(ref, version, AccountStatus::needs_reauth, reason, now(), false, events);
  const bool done = marked && *marked;
  if (done) {
    ++counters_.needs_reauth;
    log::warn("account {} needs to be connected again: {}", ref.member(), reason);
    if (options_.on_needs_reauth) co_await options_.on_needs_reauth(ref, reason);
  }
  co_return done;
}

net::awaitable<TokenAnswer> TokenProvider::obtain(const AccountRef& ref, Need need, std::int64_t version,
                                                  const BeforeRefresh& before) {
  for (int reread = 0;; ++reread) {
    auto loaded = co_await store_.load(ref);
    if (!loaded)
      co_return answer(TokenState::unavailable, "the token store cannot be read now: " + loaded.error().message(),
                       "token_store", kStoreUnreadableWait);
    if (!*loaded)
      co_return answer(
          TokenState::not_connected,
          "The " + ref.platform + " account " + ref.account + " is not connected (no tokens are stored for it).",
          "not_connected");
    const StoredAccount account = std::move(**loaded);
    if (account.status == AccountStatus::revoked)
      co_return answer(TokenState::revoked, "The " + ref.platform + " account " + ref.account + " was disconnected.",
                       "revoked");
    std::string error;
    auto tokens = store_.open(account, error);
    if (!tokens) {
      log::error("token store: {}", error);
      co_return answer(TokenState::unavailable, error, "token_unreadable", kUnopenableWait);
    }
    platforms::TokenCalls* calls = calls_ ? calls_(ref.platform) : nullptr;
    const std::int64_t t = now();
    const std::int64_t expires = tokens->access_expires_at_ms;
    const bool expired = expires > 0 && expires <= t;
    const auto margin = calls ? calls->refresh_margin().count() : 0;
    const bool due = tokens->access_token.empty() || (expires > 0 && expires - t <= margin);
    // A token the platform refused is not usable, whatever its expiry says; a replaced one is judged
    // like any other.
    const bool rejected = need == Need::if_version && account.version == version;
    const bool old_usable = !tokens->access_token.empty() && !expired && !rejected;
    const bool wanted = need == Need::always || rejected || due;

    if (account.status == AccountStatus::needs_reauth) {
      // Nothing can renew it; it keeps working while its access token does (due or not).
      if (old_usable && need != Need::always) co_return ready(*tokens, account.version, false);
      co_return answer(TokenState::needs_reauth, reconnect_message(ref, account.reason), "needs_reauth");
    }
    if (!wanted) co_return ready(*tokens, account.version, false);
    if (!calls || !calls->can_refresh(*tokens)) {
      if (old_usable && need != Need::always) co_return ready(*tokens, account.version, false);
      if (!calls)
        co_return answer(TokenState::unavailable,
                         "this build of the daemon cannot renew " + ref.platform + " tokens yet", "token_calls_missing",
                         kUnopenableWait);
      const std::string why = expired || rejected ? "its access token expired and the platform gives no way to renew it"
                                                  : "its access token cannot be renewed";
      co_await mark_needs_reauth(ref, account.version, why);
      co_return answer(TokenState::needs_reauth, reconnect_message(ref, why), "needs_reauth");
    }

    auto lock = co_await store_.lock(ref, options_.owner, options_.lock_ttl);
    if (!lock) {
      if (old_usable && need == Need::if_due) co_return ready(*tokens, account.version, false);
      co_return answer(TokenState::unavailable, "the token store cannot be reached now: " + lock.error().message(),
                       "token_store", kStoreUnreadableWait);
    }
    if (lock->state == LockResult::State::no_account) continue;  // removed meanwhile: read again
    if (lock->state == LockResult::State::held) {
      // Another daemon is refreshing. A token that still works (only inside the margin) is served;
      // otherwise the job looks again shortly instead of holding a worker (architecture rule 12).
      if (old_usable && need == Need::if_due) co_return ready(*tokens, account.version, false);
      ++counters_.busy;
      const auto wait = std::clamp(std::min(options_.busy_wait, lock->left + kShortestBusyWait), kShortestBusyWait,
                                   std::max(options_.busy_wait, kShortestBusyWait));
      co_return answer(TokenState::busy, "another daemon is renewing the token of " + ref.member(), "token_refreshing",
                       wait);
    }

    // Under the lock: read again, another daemon may have stored a newer token since the first read.
    // Until refresh_locked takes the lock over, it is released here also when the job is cancelled.
    const auto ex = co_await net::asio::this_coro::executor;
    LockRelease unreleased(store_, ref, lock->value, ex);
    auto again = co_await store_.load(ref);
    if (again && *again && (*again)->version != account.version && reread < kMostRereads) {
      co_await store_.unlock(ref, lock->value);
      unreleased.disarm();
      if (need == Need::always) {
        std::string e;
        auto newer = store_.open(**again, e);
        if (newer) co_return ready(*newer, (*again)->version, false);  // a refresh just happened
      }
      need = need == Need::if_version ? Need::if_due : need;
      continue;
    }
    unreleased.disarm();  // refresh_locked releases it
    co_return co_await refresh_locked(ref, account, *tokens, *calls, *lock, old_usable && need == Need::if_due, before);
  }
}

std::shared_ptr<TokenProvider::Renewal> TokenProvider::start_renewal(const net::Executor& ex, const AccountRef& ref,
                                                                     const platforms::TokenSet& tokens,
                                                                     platforms::TokenCalls& calls,
                                                                     const LockResult& lock) {
  auto renewal = std::make_shared<Renewal>(ex);
  net::asio::co_spawn(ex, renew(ref, tokens, calls, lock.fence, lock.value, renewal), net::asio::detached);
  return renewal;
}

// Parameters by value: this outlives the job that asked for it (the platform's calls live as long as
// the daemon).
net::awaitable<void> TokenProvider::renew(AccountRef ref, platforms::TokenSet tokens, platforms::TokenCalls& calls,
                                          std::int64_t fence, std::string lock_value,
                                          std::shared_ptr<Renewal> renewal) {
  const std::int64_t asked_at = now();
  auto reply = co_await net::with_timeout(calls.refresh(tokens), options_.refresh_timeout);
  platforms::TokenCallResult& result = renewal->result;
  if (reply) {
    result = std::move(*reply);
  } else {
    result.status = TokenCallStatus::unknown;
    result.message = "the platform did not answer the token refresh in time";
  }
  result.message = scrub_secrets(std::move(result.message), {&tokens.access_token, &tokens.refresh_token,
                                                             &result.access_token, &result.refresh_token});
  result.code = scrub_secrets(std::move(result.code), {&tokens.access_token, &tokens.refresh_token});

  if (result.status == TokenCallStatus::ok && !result.access_token.empty()) {
    platforms::TokenSet& fresh = renewal->fresh;
    fresh.access_token = std::move(result.access_token);
    const bool rotated = !result.refresh_token.empty();
    fresh.refresh_token = rotated ? std::move(result.refresh_token) : tokens.refresh_token;
    fresh.access_expires_at_ms = result.expires_in ? asked_at + result.expires_in->count() * 1000 : 0;
    fresh.refresh_expires_at_ms = result.refresh_expires_in ? asked_at + result.refresh_expires_in->count() * 1000
                                  : rotated                 ? 0
                                                            : tokens.refresh_expires_at_ms;
    fresh.scopes = result.scopes.value_or(tokens.scopes);
    // Redis first (rule 5): the rotated refresh token is the only one that works now. Storing is
    // retried while Redis is away, even past the lock: the fence keeps an older write from winning.
    const auto give_up = std::chrono::steady_clock::now() + options_.store_retry;
    for (;;) {
      auto put = co_await store_.put(ref, fresh, fence, AccountStatus::active, "", now());
      if (put || std::chrono::steady_clock::now() >= give_up) {
        renewal->put = put;
        break;
      }
      co_await pause(kStoreRetryStep);
    }
    co_await store_.unlock(ref, lock_value);
    const auto& put = *renewal->put;
    if (!put) {
      log::error(
          "account {}: a renewed token could not be stored ({}); it is lost and the account may need to be "
          "connected again",
          ref.member(), put.error().message());
    } else if (put->written) {
      ++counters_.refreshed;
      log::info("account {}: token renewed (version {})", ref.member(), put->version);
    }
  } else if (renewal->job_gone) {
    co_await store_.unlock(ref, lock_value);  // nobody else will: the job stopped waiting
  }
  renewal->done.set();
}

net::awaitable<TokenAnswer> TokenProvider::refresh_locked(const AccountRef& ref, const StoredAccount& account,
                                                          const platforms::TokenSet& tokens,
                                                          platforms::TokenCalls& calls, const LockResult& lock,
                                                          bool old_usable, const BeforeRefresh& before) {
  const auto ex = co_await net::asio::this_coro::executor;
  LockRelease unreleased(store_, ref, lock.value, ex);
  auto release = [&]() -> net::awaitable<void> {
    co_await store_.unlock(ref, lock.value);
    unreleased.disarm();
  };
  bool may_start = true;
  if (before) may_start = co_await before(options_.refresh_timeout);
  if (!may_start) {
    co_await release();
    if (old_usable) co_return ready(tokens, account.version, false);
    co_return answer(TokenState::unavailable, "the job's lease could not be extended before renewing the token",
                     "lease", milliseconds(1000));
  }
  ++counters_.refreshes;
  // The call and, once the platform answered, the storing run in a coroutine of their own that this
  // job's cancellation (a lost lease, a step's deadline, shutdown) does not reach: a refresh abandoned
  // mid-way may have spent a rotating refresh token, and the token it brings is the only one that
  // works. The renewal holds the lock until it hands it back below (or releases it itself: stored,
  // or the job gone).
  unreleased.disarm();
  const auto renewal = start_renewal(ex, ref, tokens, calls, lock);
  const RenewalWait waiting{renewal};
  co_await renewal->done.wait();
  if (!renewal->done.is_set())
    co_return answer(TokenState::unavailable, "the job was stopped while its account's token was being renewed",
                     "cancelled", kTransientWait);
  const auto& result = renewal->result;
  if (!renewal->put) unreleased.arm();  // not stored: the lock is this job's again

  switch (result.status) {
    case TokenCallStatus::ok: {
      if (!renewal->put) {
        co_await release();
        co_return answer(TokenState::unavailable, "the platform's refresh answer held no access token",
                         "token_refresh_bad", kTransientWait);
      }
      const auto& put = *renewal->put;
      if (!put)
        co_return answer(TokenState::unavailable, "a renewed token could not be stored: " + put.error().message(),
                         "token_store", kTransientWait);
      if (put->written) co_return ready(renewal->fresh, put->version, true);
      // A newer token is stored (this daemon's lock had expired and another refreshed): use it.
      co_return co_await obtain(ref, Need::if_due, 0, before);
    }
    case TokenCallStatus::rejected:
    case TokenCallStatus::revoked: {
      // Refused: of this token, or of one already replaced by another daemon's refresh?
      auto current = co_await store_.load(ref);
      if (current && *current && (*current)->version != account.version) {
        co_await release();
        co_return co_await obtain(ref, Need::if_due, 0, before);
      }
      const std::string why = result.status == TokenCallStatus::revoked
                                  ? "the platform says access was revoked" +
                                        (result.code.empty() ? std::string() : " (" + result.code + ")")
                                  : "the platform refused the refresh token" +
                                        (result.code.empty() ? std::string() : " (" + result.code + ")");
      co_await mark_needs_reauth(ref, account.version, why);
      co_await release();
      if (old_usable) co_return ready(tokens, account.version, false);
      co_return answer(TokenState::needs_reauth, reconnect_message(ref, why), "needs_reauth");
    }
    case TokenCallStatus::transient: {
      co_await release();
      if (old_usable) co_return ready(tokens, account.version, false);
      co_return answer(
          TokenState::unavailable,
          "renewing the token failed for now" + (result.message.empty() ? std::string() : ": " + result.message),
          result.code.empty() ? "token_refresh_failed" : result.code,
          result.retry_after.count() > 0 ? result.retry_after : kTransientWait);
    }
    case TokenCallStatus::unknown:
      break;
  }
  // Sent, no answer: a rotating refresh token may be spent. The next refresh tells (the platform
  // accepts it, or refuses it and the account needs to be connected again).
  log::warn("account {}: the token refresh got no answer ({}); the next use tries again", ref.member(), result.message);
  co_await release();
  if (old_usable) co_return ready(tokens, account.version, false);
  co_return answer(TokenState::unavailable,
                   "the token refresh got no answer" + (result.message.empty() ? std::string() : ": " + result.message),
                   "token_refresh_unknown", kUnknownWait);
}

}  // namespace schedulo::tokens
