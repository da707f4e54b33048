#pragma once
// A deadline on one awaitable step: `co_await with_timeout(step(), 2s)` gives the step's result, or
// nullopt when the time ran out first (the step is then cancelled through its cancellation slot).
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <optional>
#include <utility>
#include <variant>

#include "common/net.hpp"

namespace schedulo::net {

template <typename T>
awaitable<std::optional<T>> with_timeout(awaitable<T> step, std::chrono::steady_clock::duration limit) {
  using namespace boost::asio::experimental::awaitable_operators;
  Timer timer(co_await asio::this_coro::executor);
  timer.expires_after(limit);
  auto outcome = co_await (std::move(step) || timer.async_wait());
  if (outcome.index() == 0) co_return std::optional<T>(std::move(std::get<0>(outcome)));
  co_return std::nullopt;
}

}  // namespace schedulo::net
