#pragma once
// Airtable's limits for the whole fleet (architecture rules 4 and 9): every call waits for the fleet's
// rate limiter (queue/rate_limiter.hpp, issue 5) on two buckets at once, the base's share
// (airtable.requests_per_second, default 3 of its 5 requests/s) and the token owner's 50/s; a base
// answered with 429 is blocked there for 30 s for every daemon; and every call is counted against the
// month (airtable.monthly_call_budget), with an Events row at the warning threshold and the last part
// of the budget kept for Posts, Accounts and Events (Analytics wait).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "platforms/airtable/client.hpp"
#include "queue/keys.hpp"
#include "queue/rate_limiter.hpp"
#include "queue/redis/client.hpp"

namespace schedulo::outbox {

struct PacingOptions {
  std::string base_id;
  queue::Bucket base_bucket;  // airtable_buckets() builds both from the limit table
  queue::Bucket token_bucket;
  std::chrono::milliseconds max_wait{1000};  // one limiter call sleeps at most this; longer waits loop
  long long monthly_budget = 0;              // 0 = no budget
  int reserve_percent = 10;                  // of the budget, kept for essential calls
  int warn_percent = 80;                     // an Events row when the month's calls pass it
};

// The base's and the token owner's buckets ("airtable:app:base" and "airtable:app:token" rules; the
// token's bucket is named by a digest of it, never the token).
std::pair<queue::Bucket, queue::Bucket> airtable_buckets(const queue::LimitTable& table, const std::string& base_id,
                                                         const std::string& token);

enum class CallClass { essential, low };

struct BudgetState {
  std::string month;  // "2026-11" (UTC)
  long long calls = 0;
  long long budget = 0;
  double used_percent = 0;  // 0 without a budget
};

class AirtablePacer {
 public:
  AirtablePacer(redis::Client& redis, queue::Keys keys, queue::RateLimiter& limiter, PacingOptions options);

  // Waits until a call may go and counts it: take_slot() then charge(). An Error (kind not_sent) when
  // the budget for this class is spent this month, or Redis stays unreachable.
  net::awaitable<std::optional<airtable::Error>> acquire(CallClass call_class);
  // The rate part alone: waits for a slot in both buckets (fleet-wide). The writer takes it before
  // claiming a batch, so the batch fills while it waits.
  net::awaitable<std::optional<airtable::Error>> take_slot();
  // The budget part alone: counts one call against the month (refused when spent for this class).
  // Charged just before a request goes, so a slot whose claim came back empty costs no budget.
  net::awaitable<std::optional<airtable::Error>> charge(CallClass call_class);
  // Every daemon's calls to the base wait this long (a 429).
  net::awaitable<void> pause(std::chrono::milliseconds how_long);
  // A BeforeCall for airtable::Client drawing from this pacer.
  airtable::BeforeCall before_call(CallClass call_class);
  net::awaitable<std::optional<BudgetState>> budget(std::int64_t now_ms);

  // Called once per month, by the daemon whose call reached the warning threshold.
  std::function<void(const BudgetState&)> on_warning;
  const PacingOptions& options() const { return options_; }
  // When the month of `now_ms` (UTC) ends, ms since the epoch.
  static std::int64_t month_end_ms(std::int64_t now_ms);
  static std::string month_of(std::int64_t now_ms);

 private:
  std::string counter(std::int64_t now_ms) const;

  redis::Client& redis_;
  queue::Keys keys_;
  queue::RateLimiter& limiter_;
  PacingOptions options_;
};

}  // namespace schedulo::outbox
