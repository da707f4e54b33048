#pragma once
// Notifications of critical failures (an account that needs reconnecting, a platform's circuit
// opening, a job dead or needing review, Airtable unreachable too long), deduplicated per kind and
// subject per window, kept in Redis (`<prefix>:notifications`) until the outbox drains them. Jobs that
// end dead or needs_review and circuits that open are recorded by their own scripts, in the same
// atomic step; this is the way in for everything else.
//
// Record (one JSON object per list entry; LPUSH, so the oldest is at the right end):
//   {"id":"<kind>:<subject>:<at>", "kind":"needs_reconnect"|"circuit_open"|"job_dead"|
//    "job_needs_review"|"airtable_unreachable"|..., "subject":"<account key or platform>",
//    "platform":"x", "account":"<account key or ''>", "job_id":"<id or ''>", "message":"<sentence>",
//    "action":"<what to do>", "error_code":"<raw code>", "at":<epoch ms>}
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"

namespace schedulo::queue {

struct Notification {
  std::string kind;
  std::string subject;  // what dedup is per: the account key, or the platform for platform-wide kinds
  std::string platform;
  std::string account;
  std::string job_id;
  std::string message;
  std::string action;
  std::string error_code;
};

namespace notification_kind {
inline constexpr const char* needs_reconnect = "needs_reconnect";
inline constexpr const char* circuit_open = "circuit_open";
inline constexpr const char* job_dead = "job_dead";
inline constexpr const char* job_needs_review = "job_needs_review";
inline constexpr const char* airtable_unreachable = "airtable_unreachable";
}  // namespace notification_kind

template <typename T>
using NotifyResult = boost::system::result<T>;

class Notifier {
 public:
  Notifier(redis::Client& client, Keys keys);
  // True when recorded, false when suppressed as a duplicate within the window.
  net::awaitable<NotifyResult<bool>> notify(const Notification& n, std::optional<std::int64_t> now_ms = {});
  // The fleet-wide dedup window (notifications.window_s); every daemon writes it at start.
  net::awaitable<NotifyResult<bool>> set_window(std::chrono::seconds window);

 private:
  redis::Client& client_;
  Keys keys_;
};

}  // namespace schedulo::queue
