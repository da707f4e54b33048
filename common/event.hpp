#pragma once
// A one-shot event for coroutines on one executor: wait() returns once set() was called (at once if
// it already was). Lets a coroutine wait for others to finish without polling.
#include <chrono>

#include "common/net.hpp"

namespace schedulo::net {

class Event {
 public:
  explicit Event(const Executor& executor) : timer_(executor) { timer_.expires_at(Timer::time_point::max()); }

  void set() {
    set_ = true;
    timer_.cancel();
  }
  bool is_set() const { return set_; }

  awaitable<void> wait() {
    while (!set_) {
      co_await timer_.async_wait();  // ends with operation_aborted when set() cancels it
      auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) co_return;
    }
  }

 private:
  Timer timer_;
  bool set_ = false;
};

// Counts down finished tasks and sets its event when the last one is done.
class Countdown {
 public:
  Countdown(const Executor& executor, long count) : event_(executor), remaining_(count) {
    if (remaining_ <= 0) event_.set();
  }
  void done() {
    if (--remaining_ == 0) event_.set();
  }
  long remaining() const { return remaining_; }
  awaitable<void> wait() { return event_.wait(); }

 private:
  Event event_;
  long remaining_;
};

}  // namespace schedulo::net

namespace schedulo::net {

// A reusable wake-up: notify() wakes the current or next wait(); notifications between waits
// collapse into one. For loops that sleep until "something changed". One waiter at a time: each
// wait() re-arms the shared timer, which cancels any other waiter (two loops waiting on one Signal
// wake each other forever); several waiters need an Event or a Signal each.
class Signal {
 public:
  explicit Signal(const Executor& executor) : timer_(executor) {}

  void notify() {
    pending_ = true;
    timer_.cancel();
  }

  awaitable<void> wait() {
    if (!pending_) {
      timer_.expires_at(Timer::time_point::max());
      co_await timer_.async_wait();
    }
    pending_ = false;
  }

 private:
  Timer timer_;
  bool pending_ = false;
};

}  // namespace schedulo::net
