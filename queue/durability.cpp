#include "queue/durability.hpp"

namespace schedulo::queue {
namespace {

net::awaitable<std::vector<std::string>> check_setting(redis::Client& client, const std::string& name,
                                                       const std::string& wanted, const std::string& why) {
  auto reply = co_await client.exec("CONFIG", "GET", name);
  if (!reply || reply->is_error())
    co_return std::vector<std::string>{"cannot read " + name + " (" + redis::reply_error_text(reply) +
                                       "); set redis.require_durability to false only if your provider guarantees " +
                                       name + " " + wanted};
  if (!reply->is_array() || reply->elements.size() != 2 || reply->elements[1].str != wanted) {
    const std::string actual = reply->is_array() && reply->elements.size() == 2 ? reply->elements[1].str : "?";
    co_return std::vector<std::string>{name + " is \"" + actual + "\", must be \"" + wanted + "\": " + why};
  }
  co_return std::vector<std::string>{};
}

}  // namespace

net::awaitable<std::vector<std::string>> check_durability(redis::Client& client) {
  auto problems = co_await check_setting(client, "appendonly", "yes",
                                         "without the append-only file a Redis restart loses queued jobs");
  auto eviction = co_await check_setting(client, "maxmemory-policy", "noeviction",
                                         "an evicting policy silently deletes jobs when memory runs short");
  problems.insert(problems.end(), eviction.begin(), eviction.end());
  co_return problems;
}

}  // namespace schedulo::queue
