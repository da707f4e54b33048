#pragma once
// The token sweep (issue 13): one daemon of the fleet at a time (the sweep lease in Redis) looks,
// every sweep.interval_s and on demand (`schedulo sweep`), at the accounts whose tokens are due for
// attention, read from the expiry indexes (O(accounts due), never a walk over every account):
// - an access token that renews itself (no refresh token: Instagram Login) inside
//   sweep.refresh_ahead_s of its expiry gets a refresh_token job; short-lived ones (expiring within
//   sweep.short_lived_s: X, TikTok) are renewed on use and are not touched here;
// - a refresh token (TikTok's 180 days) inside sweep.refresh_token_ahead_s of its own expiry gets a
//   refresh_token job (a refresh rotates it: the new one lives the full term again);
// - an account with a publish job due within sweep.posts_ahead_s whose access token would expire
//   before the post (plus sweep.post_margin_s) gets a refresh_token job, so the post does not wait;
// - a token nothing can renew that ends inside sweep.expiring_notice_s: a token_expiring notice with
//   the date (and the account's status becomes `expiring`);
// - Page tokens (Facebook Login: no expiry of their own) are introspected every sweep.check_every_s
//   (debug_token via the platform's TokenCalls): an invalid one marks the account needs_reauth, a
//   data_access_expires_at inside sweep.expiring_notice_s is told like an expiring token.
// The refresh_token jobs carry a deterministic id per account and token (the expiry they renew), so
// two sweeps (or a sweep and an operator) enqueue one job: at most one pending refresh per account,
// and the refresh itself is single-flight in the provider.
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/net.hpp"
#include "queue/notifier.hpp"
#include "queue/store.hpp"
#include "tokens/provider.hpp"
#include "tokens/token_store.hpp"

namespace schedulo::jobs {

struct SweepOptions {
  std::string owner = "schedulo";                            // workers.id: the lease's holder
  std::chrono::milliseconds interval{300000};                // sweep.interval_s (0: only on demand)
  std::chrono::seconds refresh_ahead{7 * 24 * 3600};         // sweep.refresh_ahead_s
  std::chrono::seconds short_lived{24 * 3600};               // sweep.short_lived_s
  std::chrono::seconds refresh_token_ahead{14 * 24 * 3600};  // sweep.refresh_token_ahead_s
  std::chrono::seconds expiring_notice{7 * 24 * 3600};       // sweep.expiring_notice_s
  std::chrono::seconds posts_ahead{3600};                    // sweep.posts_ahead_s
  std::chrono::seconds post_margin{900};                     // sweep.post_margin_s
  std::chrono::seconds check_every{24 * 3600};               // sweep.check_every_s
  std::chrono::milliseconds introspect_timeout{10000};       // one introspection call
  int batch = 500;                                           // sweep.batch: most accounts per index and pass
  int max_attempts = 3;                                      // of each refresh_token job
  std::function<std::int64_t()> now_ms;                      // wall clock; tests inject the sandbox's
};

struct SweepReport {
  int refresh_jobs = 0;  // refresh_token jobs enqueued
  int duplicates = 0;    // ... already there (another sweep's, or the same token's)
  int introspected = 0;  // Page tokens checked
  int needs_reauth = 0;  // accounts found invalid
  int expiring = 0;      // token_expiring notices recorded
  int discovered = 0;    // accounts added to the introspection index
  bool failed = false;   // Redis failed part way (the next pass does it again)
};

class TokenSweep {
 public:
  // `calls` (may be empty) gives the platforms' token calls for introspection; `provider` (may be
  // null) marks accounts needs_reauth. Without them Page tokens are not introspected (the CLI).
  TokenSweep(queue::Store& jobs, tokens::TokenStore& tokens, queue::Notifier& notifier, tokens::TokenCallsLookup calls,
             tokens::TokenProvider* provider, SweepOptions options);

  // Takes or renews the sweep lease for `ttl`; false when another daemon holds it.
  net::awaitable<boost::system::result<bool>> lead(std::chrono::milliseconds ttl);
  net::awaitable<void> resign();
  // One pass over what is due now (no lease: the caller decides).
  net::awaitable<SweepReport> sweep_once();
  // Every interval: lead, then sweep. Until stop().
  net::awaitable<void> run(const net::Executor& executor);
  void stop();

  std::uint64_t passes() const { return passes_; }
  const SweepOptions& options() const { return options_; }

 private:
  net::awaitable<void> renew_due_access(std::int64_t now, SweepReport& report);
  net::awaitable<void> renew_due_refresh(std::int64_t now, SweepReport& report);
  net::awaitable<void> renew_before_posts(std::int64_t now, SweepReport& report);
  net::awaitable<void> discover_pages(std::int64_t now, SweepReport& report);
  net::awaitable<void> introspect_pages(std::int64_t now, SweepReport& report);
  net::awaitable<void> enqueue_refresh(const tokens::AccountRef& ref, const std::string& why, std::int64_t stamp,
                                       std::int64_t now, SweepReport& report);
  net::awaitable<void> tell_expiring(const tokens::StoredAccount& account, std::int64_t at_ms, const std::string& what,
                                     std::int64_t now, SweepReport& report);
  std::int64_t now() const;

  queue::Store& jobs_;
  tokens::TokenStore& tokens_;
  queue::Notifier& notifier_;
  tokens::TokenCallsLookup calls_;
  tokens::TokenProvider* provider_;
  SweepOptions options_;
  std::uint64_t passes_ = 0;
  bool stopped_ = false;
  std::unique_ptr<net::Timer> timer_;
};

// The refresh_token job id the sweep uses for `ref`'s token identified by `stamp` (an expiry).
std::string sweep_job_id(const tokens::AccountRef& ref, std::int64_t stamp);

}  // namespace schedulo::jobs
