#pragma once
// Tells when a dependency has been unreachable for longer than allowed (Airtable: notifications.
// airtable_unreachable_after_ms), once per outage: the caller turns `due()` into a notification
// (queue::notification_kind::airtable_unreachable), which the notifier deduplicates further.
#include <chrono>
#include <optional>

namespace schedulo::errors {

class OutageWatch {
 public:
  using Clock = std::chrono::steady_clock;
  explicit OutageWatch(std::chrono::milliseconds allowed) : allowed_(allowed) {}

  void failure(Clock::time_point now = Clock::now()) {
    if (!since_) since_ = now;
  }
  void success() {
    since_.reset();
    reported_ = false;
  }
  // True once per outage, when it has lasted longer than allowed.
  bool due(Clock::time_point now = Clock::now()) {
    if (!since_ || reported_ || now - *since_ < allowed_) return false;
    reported_ = true;
    return true;
  }
  std::optional<Clock::time_point> since() const { return since_; }

 private:
  std::chrono::milliseconds allowed_;
  std::optional<Clock::time_point> since_;
  bool reported_ = false;
};

}  // namespace schedulo::errors
