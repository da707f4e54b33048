#pragma once
// The fleet's rate limiter (architecture rule 4): budgets shared by every daemon on the same Redis,
// one GCRA script (queue/lua/rate_acquire.lua) per request, all buckets of a call at once.
//
// A bucket is named platform:scope:key (scope: app, account or endpoint; key: which app, account or
// endpoint, e.g. "tweets_create:12345") and carries its limit: `limit` requests per `period`, plus
// `burst` at once. Static limits come from configuration (LimitTable, defaults in
// platforms/errors/default_limits.cpp); live ones from the platforms' answers through observe():
// blocks (429, reset headers) and usage readings (Meta's percentages). Nothing here knows a platform.
//
// How a caller uses it: acquire() before each external call. Granted: go (acquire already slept up to
// max_wait when the slot was a little ahead). Refused: the wait is longer than max_wait; end the
// attempt with a deferral of `wait` (jobs' Outcome::defer) instead of holding a worker.
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"

namespace schedulo::queue {

struct BucketLimit {
  long long limit = 0;  // requests per period; 0 = no static rate (blocks and usage only)
  std::chrono::milliseconds period{1000};
  long long burst = 0;  // requests allowed at once on top of the steady rate

  friend bool operator==(const BucketLimit&, const BucketLimit&) = default;
};

struct Bucket {
  std::string platform;  // "x", "tiktok", "instagram", "facebook", "airtable", ...
  std::string scope;     // "app", "account" or "endpoint"
  std::string key;       // which one: "<limit name>[:<subject>]"
  BucketLimit limit;

  std::string name() const { return platform + ":" + scope + ":" + key; }  // for logs and messages
};

// Static limits by rule name "platform:scope:name"; a bucket's key starts with the name.
class LimitTable {
 public:
  void set(const std::string& rule, BucketLimit limit) { rules_[rule] = limit; }
  std::optional<BucketLimit> find(std::string_view platform, std::string_view scope, std::string_view name) const;
  // The bucket for `name` (a rule) about `subject` (an account, an app id; "" for the rule alone).
  // Without a rule the bucket has no static rate but still honours blocks and usage readings.
  Bucket bucket(std::string_view platform, std::string_view scope, std::string_view name,
                std::string_view subject = {}) const;
  const std::map<std::string, BucketLimit, std::less<>>& rules() const { return rules_; }

  // "platform:scope:name=LIMIT/PERIOD[+BURST]", PERIOD as 500ms, 1s, 15m, 24h, 1d (a bare number is
  // seconds). On error returns false and says why in `error`.
  bool add_rule(std::string_view text, std::string& error);

 private:
  std::map<std::string, BucketLimit, std::less<>> rules_;
};

struct LimiterOptions {
  // Added to every period, so requests that travel at uneven speeds (a reply delayed, a process
  // descheduled between grant and send) still arrive inside the platform's window. Costs
  // margin/period of a budget: 2 % of a 1 s bucket at 20 ms, nothing worth saying on 15 min ones.
  std::chrono::milliseconds margin{20};
  // Usage mode (Meta): from this percentage on, calls are spaced `usage_spacing` x (u - from)/(100 - u)
  // apart (x1 halfway to 100, growing without bound near it); at 100 % the bucket is blocked until the
  // regain time the platform gives, or for `usage_stop` when it gives none.
  int usage_slow_from = 75;
  std::chrono::milliseconds usage_spacing{1000};
  std::chrono::milliseconds usage_stop{60000};
  std::chrono::milliseconds usage_reading_life{300000};  // a reading older than this is forgotten
};

struct Permit {
  bool granted = false;
  // Granted: how long acquire() slept (or, for reserve(), must sleep) before the call may go.
  // Refused: how long until the call could be granted.
  std::chrono::milliseconds wait{0};
  std::string blocked_by;  // refused: the bucket that refused (Bucket::name())
  std::string reason;      // refused: "rate", "usage", "blocked", "rate_limited", ...
};

// A live signal from a platform's answer about one bucket.
struct RateObservation {
  Bucket bucket;
  std::chrono::milliseconds blocked_for{0};  // > 0: no call before now + this
  std::optional<int> usage_percent;          // a usage reading (0..100+)
  std::string why = "rate_limited";          // recorded with the block; reported by refusals
};

template <typename T>
using LimiterResult = boost::system::result<T>;

class RateLimiter {
 public:
  RateLimiter(redis::Client& client, Keys keys, LimiterOptions options = {});

  // One script call: a slot at once or up to max_wait ahead (counted now), or a refusal. Does not
  // sleep. `now_ms` replaces the server's clock (tests).
  net::awaitable<LimiterResult<Permit>> reserve(const std::vector<Bucket>& buckets, std::chrono::milliseconds max_wait,
                                                std::optional<std::int64_t> now_ms = {});
  // reserve(), then sleeps until the slot when it is ahead. An error means Redis could not answer:
  // no slot was taken; callers treat it as a short deferral, never as a free pass.
  net::awaitable<LimiterResult<Permit>> acquire(const std::vector<Bucket>& buckets, std::chrono::milliseconds max_wait);
  // Records blocks and usage readings (one script call for all).
  net::awaitable<LimiterResult<long long>> observe(const std::vector<RateObservation>& observations,
                                                   std::optional<std::int64_t> now_ms = {});

  const LimiterOptions& options() const { return options_; }
  const Keys& keys() const { return keys_; }

 private:
  redis::Client& client_;
  Keys keys_;
  LimiterOptions options_;
};

}  // namespace schedulo::queue
