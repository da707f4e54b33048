#include "queue/circuit_breaker.hpp"

#include <utility>

#include "common/log.hpp"
#include "queue/scripts.hpp"
#include "queue/store.hpp"

namespace schedulo::queue {
namespace {

using std::chrono::milliseconds;

std::string n(long long v) {
  return std::to_string(v);
}

}  // namespace

CircuitBreaker::CircuitBreaker(redis::Client& client, Keys keys, BreakerOptions options)
    : client_(client), keys_(std::move(keys)), options_(std::move(options)) {}

void CircuitBreaker::remember(const std::string& platform, const std::string& state, milliseconds open_left) {
  auto& v = views_[platform];
  v.state = state;
  v.seen = Clock::now();
  v.open_until = state == "open" ? v.seen + open_left : Clock::time_point{};
}

std::optional<milliseconds> CircuitBreaker::blocked_for(std::string_view platform) const {
  const auto it = views_.find(platform);
  if (it == views_.end() || it->second.state != "open") return std::nullopt;
  const auto now = Clock::now();
  if (it->second.open_until <= now) return std::nullopt;
  return std::chrono::ceil<milliseconds>(it->second.open_until - now);
}

net::awaitable<BreakerResult<BreakerDecision>> CircuitBreaker::check(const std::string& platform,
                                                                     std::optional<std::int64_t> now_ms) {
  if (!now_ms) {
    const auto it = views_.find(platform);
    if (it != views_.end() && it->second.state == "closed" && Clock::now() - it->second.seen < options_.cache)
      co_return BreakerDecision{};
  }
  redis::Args args{keys_.prefix(), now_ms ? n(*now_ms) : std::string(), platform, n(options_.probe_timeout.count()),
                   n(options_.half_open_recheck.count())};
  auto reply = co_await client_.eval(script("breaker_check"), {}, std::move(args));
  if (!reply) co_return reply.error();
  if (reply->is_error()) {
    log::error("circuit breaker script failed: {}", reply->str);
    co_return make_error_code(QueueErrc::script_failed);
  }
  const auto& e = reply->elements;
  if (e.size() != 5 || !e[0].is_integer() || !e[2].is_integer() || !e[4].is_integer())
    co_return make_error_code(QueueErrc::bad_reply);
  BreakerDecision d;
  d.allowed = e[0].integer == 1;
  d.state = e[1].str;
  d.probe = d.state == "probe";
  d.probe_until = e[4].integer;
  d.wait = milliseconds(std::max<long long>(0, e[2].integer));
  remember(platform, d.state == "probe" ? "half_open" : d.state, d.wait);
  co_return d;
}

net::awaitable<BreakerResult<long long>> CircuitBreaker::release_probe(const std::string& platform,
                                                                       std::int64_t probe_until) {
  redis::Args args{keys_.prefix(), platform, n(probe_until)};  // named: GCC 12 and temporaries in co_await
  auto reply = co_await client_.eval(script("breaker_release_probe"), {}, std::move(args));
  if (!reply) co_return reply.error();
  if (!reply->is_integer()) co_return make_error_code(QueueErrc::bad_reply);
  co_return reply->integer;
}

net::awaitable<BreakerResult<std::pair<std::string, std::string>>> CircuitBreaker::record(
    const std::string& platform, BreakerOutcome result, std::optional<std::int64_t> now_ms) {
  // Successes on a platform known healthy wait to go with the next result (see success_batch).
  auto& unsent = unsent_[platform];
  if (result == BreakerOutcome::success && !now_ms && options_.success_batch.count() > 0) {
    const auto view = views_.find(platform);
    const auto now = Clock::now();
    if (view != views_.end() && view->second.state == "closed" && now - view->second.seen < options_.cache) {
      if (unsent.successes == 0) unsent.since = now;
      ++unsent.successes;
      if (now - unsent.since < options_.success_batch) co_return std::make_pair(std::string("closed"), std::string());
      --unsent.successes;  // this one is sent below, with the ones before it
    }
  }
  const long long before = std::exchange(unsent.successes, 0);
  redis::Args args{keys_.prefix(),
                   now_ms ? n(*now_ms) : std::string(),
                   platform,
                   result == BreakerOutcome::success ? "success" : "failure",
                   n(options_.failure_threshold),
                   n(options_.window.count()),
                   n(options_.min_calls),
                   n(options_.failure_rate_percent),
                   n(options_.open_for.count()),
                   n(options_.max_open.count()),
                   options_.open_message,
                   options_.open_action,
                   n(before)};
  auto reply = co_await client_.eval(script("breaker_record"), {}, std::move(args));
  if (!reply || reply->is_error()) {
    // Not recorded: the batched successes go with the next result instead of being lost, which
    // would overstate the error rate and could open the circuit early.
    unsent_[platform].successes += before;
    if (!reply) co_return reply.error();
    log::error("circuit breaker script failed: {}", reply->str);
    co_return make_error_code(QueueErrc::script_failed);
  }
  const auto& e = reply->elements;
  if (e.size() != 4 || !e[3].is_integer()) co_return make_error_code(QueueErrc::bad_reply);
  const std::string state = e[0].str, transition = e[1].str;
  const milliseconds left(std::max<long long>(0, e[3].integer));
  if (transition == "opened") {
    log::warn("circuit for {} opened: its jobs are deferred for {} ms", platform, left.count());
  } else if (transition == "closed") {
    log::info("circuit for {} closed: the platform answers again", platform);
  }
  remember(platform, state, left);
  co_return std::make_pair(state, transition);
}

}  // namespace schedulo::queue
