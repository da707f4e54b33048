#pragma once
// Runs one coroutine on a test's io_context until it finishes, failing the test (instead of hanging)
// when it does not finish within `limit`. Background loops (a client's reconnect loop) stay alive
// between calls: the io_context is stopped, not drained, when the coroutine ends.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>

#include "common/net.hpp"

namespace schedulo::test {

template <typename T>
T run_for(boost::asio::io_context& io, net::awaitable<T> coro, std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  io.restart();
  boost::asio::co_spawn(io, std::move(coro), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
    done = true;
    io.stop();
  });
  io.run_for(limit);
  if (!done) throw std::runtime_error("the coroutine did not finish in time (a hang)");
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

// Lets the io_context run (background coroutines included) until `condition` holds, looking every
// `step`; false when `limit` passed first. For effects that land after the coroutine a test ran.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& condition,
                      std::chrono::milliseconds limit, std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    run_for(io, [](std::chrono::milliseconds wait) -> net::awaitable<int> {
      net::Timer t(co_await net::asio::this_coro::executor);
      t.expires_after(wait);
      co_await t.async_wait();
      co_return 0;
    }(step));
  }
  return true;
}

}  // namespace schedulo::test
