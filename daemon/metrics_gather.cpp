#include "daemon/metrics_gather.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "common/rfc3339.hpp"
#include "daemon/runtime.hpp"
#include "tokens/account.hpp"

namespace schedulo::daemon {
namespace {

using Counts = std::map<std::pair<std::string, std::string>, long long>;

constexpr std::chrono::seconds kAccountsEvery{60};
constexpr int kPage = 500;
constexpr long long kMaxAccounts = 100000;  // a scrape never walks more than this

net::awaitable<std::optional<Counts>> count_accounts(tokens::TokenStore& store, redis::Client& redis,
                                                     const queue::Keys& keys) {
  Counts counts;
  // Every status of every platform is reported, 0 included, so a status that empties drops to 0.
  for (const auto& p : kPlatforms)
    for (auto s : {tokens::AccountStatus::active, tokens::AccountStatus::expiring, tokens::AccountStatus::needs_reauth,
                   tokens::AccountStatus::revoked})
      counts[{p, std::string(tokens::to_string(s))}] = 0;
  std::string after;
  for (long long seen = 0; seen < kMaxAccounts;) {
    auto page = co_await store.list(after, kPage);
    if (!page) co_return std::nullopt;
    for (const auto& ref : *page) {
      auto status = co_await redis.exec("HGET", keys.token(ref.platform, ref.account), "status");
      if (!status) co_return std::nullopt;
      ++counts[{ref.platform, status->is_nil() ? std::string("unknown") : status->str}];
    }
    seen += static_cast<long long>(page->size());
    if (page->size() < static_cast<std::size_t>(kPage)) break;
    after = page->back().member();
  }
  co_return counts;
}

}  // namespace

std::function<net::awaitable<void>(Metrics&)> metrics_gatherer(GatherSources sources) {
  struct State {
    GatherSources sources;
    std::chrono::steady_clock::time_point accounts_at{};
    bool counted = false;
  };
  auto state = std::make_shared<State>(State{std::move(sources)});
  return [state](Metrics& metrics) -> net::awaitable<void> {
    GatherSources& s = state->sources;
    for (const auto& p : kPlatforms) metrics.circuit_open(p, s.breaker.blocked_for(p).has_value());
    if (s.pacer) {
      if (auto b = co_await s.pacer->budget(now_epoch_ms())) metrics.airtable_calls(b->calls, b->budget);
    }
    const auto now = std::chrono::steady_clock::now();
    if (s.tokens && (!state->counted || now - state->accounts_at >= kAccountsEvery)) {
      if (auto counts = co_await count_accounts(*s.tokens, s.redis, s.keys)) {
        metrics.token_accounts(*counts);
        state->counted = true;
        state->accounts_at = now;
      }
    }
  };
}

}  // namespace schedulo::daemon
