#include "queue/rate_limiter.hpp"

#include <charconv>

#include "common/log.hpp"
#include "queue/scripts.hpp"
#include "queue/store.hpp"

namespace schedulo::queue {
namespace {

using std::chrono::milliseconds;

std::string n(long long v) {
  return std::to_string(v);
}

std::optional<long long> parse_count(std::string_view text) {
  long long v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

std::optional<milliseconds> parse_period(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    long long ms;
  };
  // "ms" before "m" and "s": the longest suffix that matches wins.
  static constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  for (const auto& u : kUnits) {
    if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
      auto v = parse_count(text.substr(0, text.size() - u.suffix.size()));
      if (!v) continue;
      return milliseconds(*v * u.ms);
    }
  }
  if (auto v = parse_count(text)) return milliseconds(*v * 1000);
  return std::nullopt;
}

net::awaitable<void> sleep_for(milliseconds d) {
  net::Timer t(co_await net::asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait();
}

}  // namespace

std::optional<BucketLimit> LimitTable::find(std::string_view platform, std::string_view scope,
                                            std::string_view name) const {
  std::string rule;
  rule.append(platform).append(":").append(scope).append(":").append(name);
  const auto it = rules_.find(rule);
  if (it == rules_.end()) return std::nullopt;
  return it->second;
}

Bucket LimitTable::bucket(std::string_view platform, std::string_view scope, std::string_view name,
                          std::string_view subject) const {
  Bucket b{std::string(platform), std::string(scope), std::string(name), {}};
  if (!subject.empty()) b.key.append(":").append(subject);
  b.limit = find(platform, scope, name).value_or(BucketLimit{0, milliseconds(1000), 0});
  return b;
}

bool LimitTable::add_rule(std::string_view text, std::string& error) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    error = "expected platform:scope:name=LIMIT/PERIOD[+BURST]";
    return false;
  }
  const auto rule = text.substr(0, eq);
  auto spec = text.substr(eq + 1);
  // Exactly three non-empty parts in the name; the scope one of the three we know.
  const auto c1 = rule.find(':');
  const auto c2 = c1 == std::string_view::npos ? c1 : rule.find(':', c1 + 1);
  if (c1 == 0 || c2 == std::string_view::npos || c2 == c1 + 1 || c2 + 1 >= rule.size() ||
      rule.find(':', c2 + 1) != std::string_view::npos) {
    error = "the rule name must be platform:scope:name";
    return false;
  }
  const auto scope = rule.substr(c1 + 1, c2 - c1 - 1);
  if (scope != "app" && scope != "account" && scope != "endpoint") {
    error = "the scope must be app, account or endpoint";
    return false;
  }
  BucketLimit limit;
  if (const auto plus = spec.find('+'); plus != std::string_view::npos) {
    auto burst = parse_count(spec.substr(plus + 1));
    if (!burst || *burst < 0) {
      error = "the burst after + must be a whole number";
      return false;
    }
    limit.burst = *burst;
    spec = spec.substr(0, plus);
  }
  const auto slash = spec.find('/');
  if (slash == std::string_view::npos) {
    error = "expected LIMIT/PERIOD, e.g. 100/15m";
    return false;
  }
  auto count = parse_count(spec.substr(0, slash));
  auto period = parse_period(spec.substr(slash + 1));
  if (!count || *count < 0) {
    error = "the limit must be a whole number";
    return false;
  }
  if (!period || period->count() <= 0) {
    error = "the period must be a duration such as 500ms, 1s, 15m, 24h or 1d";
    return false;
  }
  limit.limit = *count;
  limit.period = *period;
  rules_[std::string(rule)] = limit;
  return true;
}

RateLimiter::RateLimiter(redis::Client& client, Keys keys, LimiterOptions options)
    : client_(client), keys_(std::move(keys)), options_(options) {}

net::awaitable<LimiterResult<Permit>> RateLimiter::reserve(const std::vector<Bucket>& buckets, milliseconds max_wait,
                                                           std::optional<std::int64_t> now_ms) {
  if (buckets.empty()) co_return Permit{true, milliseconds(0), {}, {}};
  redis::Reply reply = make_error_code(QueueErrc::bad_reply);
  // The script trusts the buckets only on the server it is told it runs on (a failover or restart
  // holds them back, rate_acquire.lua). A call built for one connection may run on the next one (it
  // waited for it): then the name was stale and its answer cannot be trusted; ask again under the
  // new name (the slot it took is wasted, never double-spent). Built with no connection at all, the
  // name is "?": the script then takes nothing and the call is asked again on the new connection.
  for (int tries = 0;; ++tries) {
    const auto connects = client_.connects();
    redis::Args args{keys_.prefix(),
                     now_ms ? n(*now_ms) : std::string(),
                     n(max_wait.count()),
                     n(options_.margin.count()),
                     n(options_.usage_slow_from),
                     n(options_.usage_spacing.count()),
                     client_.connected() ? client_.server_id() : std::string("?")};
    args.reserve(args.size() + 6 * buckets.size());
    for (const auto& b : buckets) {
      args.insert(args.end(),
                  {b.platform, b.scope, b.key, n(b.limit.limit), n(b.limit.period.count()), n(b.limit.burst)});
    }
    reply = co_await client_.eval(script("rate_acquire"), {}, std::move(args));
    if (!reply) co_return reply.error();
    const bool unknown_server = reply->is_array() && reply->elements.size() == 4 && reply->elements[3].str == "?";
    if (client_.connects() == connects && !unknown_server) break;
    if (tries == 2) co_return make_error_code(redis::Errc::connection_lost);
  }
  if (reply->is_error()) {
    log::error("rate limiter script failed: {}", reply->str);
    co_return make_error_code(QueueErrc::script_failed);
  }
  const auto& e = reply->elements;
  if (e.size() != 4 || !e[0].is_integer() || !e[1].is_integer() || !e[2].is_integer())
    co_return make_error_code(QueueErrc::bad_reply);
  Permit p;
  p.granted = e[0].integer == 1;
  p.wait = milliseconds(std::max<long long>(0, e[1].integer));
  if (!p.granted) {
    const auto index = static_cast<std::size_t>(e[2].integer);
    if (index >= 1 && index <= buckets.size()) p.blocked_by = buckets[index - 1].name();
    p.reason = e[3].str;
  }
  co_return p;
}

net::awaitable<LimiterResult<Permit>> RateLimiter::acquire(const std::vector<Bucket>& buckets, milliseconds max_wait) {
  auto permit = co_await reserve(buckets, max_wait);
  if (!permit) co_return permit;
  // The slot is ours from the moment it was reserved: sleeping until it is what keeps the rate.
  if (permit->granted && permit->wait.count() > 0) co_await sleep_for(permit->wait);
  co_return permit;
}

net::awaitable<LimiterResult<long long>> RateLimiter::observe(const std::vector<RateObservation>& observations,
                                                              std::optional<std::int64_t> now_ms) {
  if (observations.empty()) co_return 0;
  redis::Args args{keys_.prefix(), now_ms ? n(*now_ms) : std::string(), n(options_.usage_reading_life.count())};
  for (const auto& o : observations) {
    const auto& b = o.bucket;
    if (o.usage_percent) {
      // At 100 % the platform throttles until its regain time; without one, for usage_stop.
      auto block = o.blocked_for;
      if (*o.usage_percent >= 100 && block.count() <= 0) block = options_.usage_stop;
      args.insert(args.end(), {b.platform, b.scope, b.key, "usage", n(block.count()), n(*o.usage_percent)});
    } else if (o.blocked_for.count() > 0) {
      args.insert(args.end(), {b.platform, b.scope, b.key, "block", n(o.blocked_for.count()), o.why});
    }
  }
  if (args.size() == 3) co_return 0;
  auto reply = co_await client_.eval(script("rate_observe"), {}, std::move(args));
  if (!reply) co_return reply.error();
  if (reply->is_error()) {
    log::error("rate limiter observe script failed: {}", reply->str);
    co_return make_error_code(QueueErrc::script_failed);
  }
  if (!reply->is_integer()) co_return make_error_code(QueueErrc::bad_reply);
  co_return reply->integer;
}

}  // namespace schedulo::queue
