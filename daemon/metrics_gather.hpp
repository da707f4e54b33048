#pragma once
// What /metrics reads from the rest of the daemon at each scrape: each platform's circuit, the
// month's Airtable calls against the budget, and connected accounts by token status. The account
// count walks the token index, so it is refreshed at most once a minute.
#include <functional>

#include "common/net.hpp"
#include "daemon/metrics.hpp"
#include "outbox/pacing.hpp"
#include "queue/circuit_breaker.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"
#include "tokens/token_store.hpp"

namespace schedulo::daemon {

struct GatherSources {
  queue::CircuitBreaker& breaker;
  outbox::AirtablePacer* pacer = nullptr;  // null: Airtable not configured
  tokens::TokenStore* tokens = nullptr;    // null: no vault
  redis::Client& redis;
  queue::Keys keys;
};

std::function<net::awaitable<void>(Metrics&)> metrics_gatherer(GatherSources sources);

}  // namespace schedulo::daemon
