#pragma once
// Architecture rule 17: jobs in flight live only in Redis, so Redis must persist every write
// (appendonly yes) and must never evict a key to make room (maxmemory-policy noeviction).
#include <string>
#include <vector>

#include "common/net.hpp"
#include "queue/redis/client.hpp"

namespace schedulo::queue {

// What is wrong with the server's settings, one sentence each; empty when it is durable. When the
// server refuses CONFIG (some managed services do), that is reported too: it cannot be verified.
net::awaitable<std::vector<std::string>> check_durability(redis::Client& client);

}  // namespace schedulo::queue
