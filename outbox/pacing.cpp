#include "outbox/pacing.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "queue/scripts.hpp"

namespace schedulo::outbox {
namespace {

constexpr std::chrono::milliseconds kLongestSleep{1000};  // re-asks at least this often while waiting
constexpr int kRedisTries = 10;

// A short digest naming the token's bucket: the token itself never reaches Redis.
std::string digest(const std::string& token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(token.data(), token.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

net::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  net::Timer t(co_await net::asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait();
}

}  // namespace

std::pair<queue::Bucket, queue::Bucket> airtable_buckets(const queue::LimitTable& table, const std::string& base_id,
                                                         const std::string& token) {
  return {table.bucket("airtable", "app", "base", base_id), table.bucket("airtable", "app", "token", digest(token))};
}

AirtablePacer::AirtablePacer(redis::Client& redis, queue::Keys keys, queue::RateLimiter& limiter, PacingOptions options)
    : redis_(redis), keys_(std::move(keys)), limiter_(limiter), options_(std::move(options)) {}

std::string AirtablePacer::month_of(std::int64_t now_ms) {
  return format_rfc3339_ms(now_ms).substr(0, 7);
}

std::int64_t AirtablePacer::month_end_ms(std::int64_t now_ms) {
  const std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (++tm.tm_mon == 12) {
    tm.tm_mon = 0;
    ++tm.tm_year;
  }
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

std::string AirtablePacer::counter(std::int64_t now_ms) const {
  return "airtable:" + options_.base_id + ":" + month_of(now_ms);
}

net::awaitable<std::optional<airtable::Error>> AirtablePacer::acquire(CallClass call_class) {
  // The rate first (both buckets at once, shared by the fleet), then the month's budget: a slot taken
  // at the very edge of the budget is wasted, but the budget is never overspent.
  auto refused = co_await take_slot();
  if (refused) co_return refused;
  co_return co_await charge(call_class);
}

net::awaitable<std::optional<airtable::Error>> AirtablePacer::take_slot() {
  const std::vector<queue::Bucket> buckets{options_.base_bucket, options_.token_bucket};
  int failures = 0;
  for (;;) {
    auto permit = co_await limiter_.acquire(buckets, options_.max_wait);
    if (!permit) {
      if (++failures >= kRedisTries)
        co_return airtable::Error(airtable::ErrorKind::not_sent, 0, "REDIS",
                                  "the rate limiter in Redis is unreachable");
      co_await sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (permit->granted) co_return std::nullopt;
    co_await sleep_for(std::clamp(permit->wait, std::chrono::milliseconds(1), kLongestSleep));
  }
}

net::awaitable<std::optional<airtable::Error>> AirtablePacer::charge(CallClass call_class) {
  const long long budget = options_.monthly_budget;
  const long long reserve = budget * options_.reserve_percent / 100;
  const long long warn = budget > 0 ? std::max<long long>(1, (budget * options_.warn_percent + 99) / 100) : 0;
  int failures = 0;
  for (;;) {
    const auto now = now_epoch_ms();
    redis::Args args{keys_.prefix(),
                     counter(now),
                     std::to_string(budget),
                     std::to_string(reserve),
                     call_class == CallClass::essential ? "essential" : "low",
                     std::to_string(warn)};
    auto r = co_await redis_.eval(queue::script("call_budget"), {}, std::move(args));
    if (!r || r->is_error() || r->elements.size() < 2) {
      if (++failures >= kRedisTries)
        co_return airtable::Error(airtable::ErrorKind::not_sent, 0, "REDIS", "the call budget in Redis is unreachable");
      co_await sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    const auto& e = r->elements;
    if (e[0].integer == -1)
      co_return airtable::Error(
          airtable::ErrorKind::not_sent, 0, "BUDGET",
          "the monthly Airtable call budget is spent" +
              std::string(call_class == CallClass::low ? " (what is left is kept for Posts and Accounts)" : ""));
    if (e.size() >= 3 && e[2].integer == 1 && on_warning) {
      const BudgetState st{month_of(now), e[1].integer, budget,
                           budget > 0 ? 100.0 * static_cast<double>(e[1].integer) / static_cast<double>(budget) : 0};
      on_warning(st);
    }
    co_return std::nullopt;
  }
}

net::awaitable<void> AirtablePacer::pause(std::chrono::milliseconds how_long) {
  const std::vector<queue::RateObservation> blocked{
      queue::RateObservation{options_.base_bucket, how_long, std::nullopt, "rate_limited"}};
  auto r = co_await limiter_.observe(blocked);
  if (!r) log::warn("airtable: could not record the 30 s block of the base in Redis");
}

airtable::BeforeCall AirtablePacer::before_call(CallClass call_class) {
  return [this, call_class]() { return acquire(call_class); };
}

net::awaitable<std::optional<BudgetState>> AirtablePacer::budget(std::int64_t now_ms) {
  auto r = co_await redis_.exec("GET", keys_.calls(counter(now_ms)));
  if (!r || r->is_error()) co_return std::nullopt;
  BudgetState st;
  st.month = month_of(now_ms);
  st.calls = r->as_integer().value_or(0);
  st.budget = options_.monthly_budget;
  if (st.budget > 0) st.used_percent = 100.0 * static_cast<double>(st.calls) / static_cast<double>(st.budget);
  co_return st;
}

}  // namespace schedulo::outbox
