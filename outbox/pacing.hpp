#pragma once
// Airtable's limits for the whole fleet (architecture rules 4 and 9): a share of the base's
// 5 requests/s (airtable.requests_per_second, default 3) and of the token owner's 50, paced in Redis
// so every daemon draws from the same buckets; a base answered with 429 is paused for 30 s for
// everyone; every call is counted against the month, with an Events row at the warning threshold and
// the last part of the budget kept for Posts, Accounts and Events (Analytics wait).
//
// Interim: the GCRA runs in queue/lua/pace.lua until issue 5's limiter lands; switching replaces the
// bucket part of acquire() only (the budget stays here).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "platforms/airtable/client.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"

namespace schedulo::outbox {

struct PacingOptions {
  std::string base_id;
  std::string token;  // only a digest of it names the token's bucket
  double base_rps = 3;
  double token_rps = 50;
  long long monthly_budget = 0;  // 0 = no budget
  int reserve_percent = 10;      // of the budget, kept for essential calls
  int warn_percent = 80;         // an Events row when the month's calls pass it
};

enum class CallClass { essential, low };

struct BudgetState {
  std::string month;  // "2026-11" (UTC)
  long long calls = 0;
  long long budget = 0;
  double used_percent = 0;  // 0 without a budget
};

class AirtablePacer {
 public:
  AirtablePacer(redis::Client& redis, queue::Keys keys, PacingOptions options);

  // Waits until a call may go and counts it. An Error (kind not_sent) when the budget for this class
  // is spent this month, or Redis stays unreachable.
  net::awaitable<std::optional<airtable::Error>> acquire(CallClass call_class);
  // Everyone's calls to the base wait this long (a 429).
  net::awaitable<void> pause(std::chrono::milliseconds how_long);
  // A BeforeCall for airtable::Client drawing from this pacer.
  airtable::BeforeCall before_call(CallClass call_class);
  net::awaitable<std::optional<BudgetState>> budget(std::int64_t now_ms);

  // Called once per month, by the daemon whose call crossed the warning threshold.
  std::function<void(const BudgetState&)> on_warning;
  const PacingOptions& options() const { return options_; }
  // When the month of `now_ms` (UTC) ends, ms since the epoch.
  static std::int64_t month_end_ms(std::int64_t now_ms);
  static std::string month_of(std::int64_t now_ms);

 private:
  std::string counter(std::int64_t now_ms) const;

  redis::Client& redis_;
  queue::Keys keys_;
  PacingOptions options_;
  std::string base_bucket_, token_bucket_;
};

}  // namespace schedulo::outbox
