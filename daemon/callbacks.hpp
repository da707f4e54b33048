#pragma once
// Bubble callbacks: when a job that names a callback_url reaches a final state, its outcome is
// POSTed there. The request is an outbox item (dest "bubble:callback", key = job id) appended in the
// same Redis step as the outcome (Settle::outbox), so a callback is never lost and never holds the
// job up; CallbackSender drains that dest on its own loop, next to (not inside) the Airtable writer.
//
// Each request carries `Authorization: Bearer <bubble.api_token>` (what Bubble's Workflow API
// expects) and, for receivers that verify, `X-Schedulo-Timestamp: <unix seconds>` and
// `X-Schedulo-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
// bubble.callback_signing_secret (or the api token when that is empty). The host is checked against
// bubble.callback_hosts again at send time. 2xx ends it; 408, 429, 5xx and network trouble are
// retried with doubling back-off up to bubble.callback_max_attempts; any other answer, or a host
// outside the allow-list, sends the item to the dead outbox with the reason.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "jobs/job.hpp"
#include "queue/outbox.hpp"
#include "queue/store.hpp"

namespace schedulo::http {
class HttpClient;
}  // namespace schedulo::http

namespace schedulo::daemon {

class Metrics;

inline constexpr std::string_view kCallbackDest = "bubble:callback";

// The outbox entry announcing a settlement, or nullopt when the job has no callback_url or the
// settlement is not final (a retry with attempts left, a deferral, a wait). A retry on the last
// attempt is announced as "dead", as the settle script will record it.
std::optional<queue::OutboxEntry> callback_entry(const jobs::Job& job, const queue::Lease& lease,
                                                 const queue::Settle& settle, std::int64_t now_ms);

// Recorded with a job that has a callback_url when it is created or replaced: the callback that
// announces its cancellation, sent only if it is cancelled before it starts (queue/outbox.hpp's
// cancel_only). nullopt without a callback_url.
std::optional<queue::OutboxEntry> cancel_callback_entry(const jobs::Job& job);

// "v1=<64 hex digits>": HMAC-SHA256 of "<timestamp>.<body>" under `secret`.
std::string callback_signature(std::string_view secret, std::int64_t timestamp_s, std::string_view body);

struct CallbackOptions {
  std::string worker_id;
  std::string api_token;       // bubble.api_token ("" sends no Authorization)
  std::string signing_secret;  // "" = api_token
  std::vector<std::string> allowed_hosts;
  std::chrono::milliseconds timeout{10000};
  int max_attempts = 8;
  std::chrono::milliseconds retry_base{1000};
  std::chrono::milliseconds retry_cap{300000};
  std::chrono::milliseconds poll{250};  // idle look for due items
  int batch = 16;                       // sent at once
};

class CallbackSender {
 public:
  CallbackSender(queue::Outbox& outbox, http::HttpClient& client, CallbackOptions options, Metrics* metrics);
  // Drains "bubble:callback" until stop().
  net::awaitable<void> run();
  void stop();
  std::uint64_t delivered() const { return delivered_; }

 private:
  net::awaitable<queue::OutboxAck> deliver(const queue::OutboxItem& item);

  queue::Outbox& outbox_;
  http::HttpClient& client_;
  CallbackOptions options_;
  Metrics* metrics_;
  bool stopping_ = false;
  std::optional<net::Timer> idle_;
  std::uint64_t delivered_ = 0;
};

}  // namespace schedulo::daemon

namespace schedulo::daemon {
// Adds `entry` to what the settlement appends to the outbox (keeping entries others put there).
void add_outbox_entry(queue::Settle& settle, const queue::OutboxEntry& entry);
}  // namespace schedulo::daemon
