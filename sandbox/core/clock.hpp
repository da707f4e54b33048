#pragma once
// The sandbox's clock. Every emulated limit, expiry and window reads time from here, never from the
// system clock, so a test can freeze it and jump 30 s ahead instead of sleeping. Unfrozen it follows
// the wall clock plus an offset (what users building Bubble flows want); frozen it moves only when
// told (what tests want: five requests "in the same second" are then exactly that).
#include <nlohmann/json.hpp>

#include <cstdint>

#include "common/rfc3339.hpp"

namespace schedulo::sandbox {

class Clock {
 public:
  std::int64_t now_ms() const { return frozen_ ? frozen_at_ : now_epoch_ms() + offset_; }
  bool frozen() const { return frozen_; }

  void advance(std::int64_t ms) {
    if (frozen_)
      frozen_at_ += ms;
    else
      offset_ += ms;
  }
  void set(std::int64_t epoch_ms) {
    if (frozen_)
      frozen_at_ = epoch_ms;
    else
      offset_ = epoch_ms - now_epoch_ms();
  }
  void freeze(bool on) {
    if (on && !frozen_) {
      frozen_at_ = now_ms();
      frozen_ = true;
    } else if (!on && frozen_) {
      offset_ = frozen_at_ - now_epoch_ms();
      frozen_ = false;
    }
  }

  nlohmann::json to_json() const {
    return {{"now_ms", now_ms()}, {"now", format_rfc3339_ms(now_ms())}, {"frozen", frozen_}};
  }

 private:
  bool frozen_ = false;
  std::int64_t frozen_at_ = 0;
  std::int64_t offset_ = 0;
};

}  // namespace schedulo::sandbox
