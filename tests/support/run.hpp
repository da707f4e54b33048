#pragma once
// Runs one coroutine on a test's io_context until it finishes, failing the test (instead of hanging)
// when it does not finish within `limit`. Background loops (a client's reconnect loop) stay alive
// between calls: the io_context is stopped, not drained, when the coroutine ends.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
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

}  // namespace schedulo::test
