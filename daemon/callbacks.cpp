#include "daemon/callbacks.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <memory>

#include "common/event.hpp"
#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "daemon/metrics.hpp"
#include "outbox/records.hpp"
#include "platforms/http/client.hpp"
#include "platforms/http/url.hpp"

namespace schedulo::daemon {

// The notifications' webhook requests (outbox/records.hpp) are delivered by this sender.
static_assert(outbox::kWebhookDest == kCallbackDest);

namespace {

using json = nlohmann::json;
constexpr auto kReclaimEvery = std::chrono::seconds(10);

std::string final_state(const queue::Settle& settle, const queue::Lease& lease) {
  switch (settle.outcome) {
    case queue::Settlement::succeeded:
      return "succeeded";
    case queue::Settlement::failed:
      return "failed";
    case queue::Settlement::dead:
      return "dead";
    case queue::Settlement::needs_review:
      return "needs_review";
    case queue::Settlement::retry:
      return lease.attempt >= lease.max_attempts ? "dead" : "";
    default:
      return "";
  }
}

bool host_allowed(const std::string& host, const std::vector<std::string>& allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& h) {
    return h.size() == host.size() && std::equal(h.begin(), h.end(), host.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
  });
}

std::string field_text(const queue::OutboxItem& item, std::string_view name) {
  for (const auto& [k, v] : item.fields)
    if (k == name) return v;
  return {};
}

}  // namespace

std::optional<queue::OutboxEntry> callback_entry(const jobs::Job& job, const queue::Lease& lease,
                                                 const queue::Settle& settle, std::int64_t now_ms) {
  if (job.callback_url.empty()) return std::nullopt;
  const std::string state = final_state(settle, lease);
  if (state.empty()) return std::nullopt;
  json body = {{"job_id", job.id},
               {"state", state},
               {"type", jobs::to_string(job.type)},
               {"platform", jobs::to_string(job.platform)},
               {"account", job.account},
               {"attempts", lease.attempt},
               {"finished_at", format_rfc3339_ms(now_ms)}};
  if (!settle.result.empty()) {
    auto parsed = json::parse(settle.result, nullptr, false);
    body["result"] = parsed.is_discarded() ? json(settle.result) : parsed;
  } else {
    body["result"] = json::object();
  }
  body["error"] = settle.error;
  body["error_code"] = settle.error_code;
  if (!job.post_record.empty()) body["post_record"] = job.post_record;
  queue::OutboxEntry e;
  e.dest = std::string(kCallbackDest);
  e.key = job.id;
  e.set("url", job.callback_url).set("body", body);
  return e;
}

std::optional<queue::OutboxEntry> cancel_callback_entry(const jobs::Job& job) {
  if (job.callback_url.empty()) return std::nullopt;
  // The same shape as a settlement's; no finished_at, since it is written before the cancellation.
  json body = {{"job_id", job.id},
               {"state", "cancelled"},
               {"type", jobs::to_string(job.type)},
               {"platform", jobs::to_string(job.platform)},
               {"account", job.account},
               {"attempts", 0},
               {"result", json::object()},
               {"error", "cancelled before it started"},
               {"error_code", "cancelled"}};
  if (!job.post_record.empty()) body["post_record"] = job.post_record;
  queue::OutboxEntry e;
  e.dest = std::string(kCallbackDest);
  e.key = job.id;
  e.cancel_only = true;
  e.on_cancel = {{"url", json(job.callback_url).dump()}, {"body", body.dump()}};
  return e;
}

std::string callback_signature(std::string_view secret, std::int64_t timestamp_s, std::string_view body) {
  std::string message = std::to_string(timestamp_s);
  message += '.';
  message.append(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "v1=";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

CallbackSender::CallbackSender(queue::Outbox& outbox, http::HttpClient& client, CallbackOptions options,
                               Metrics* metrics)
    : outbox_(outbox), client_(client), options_(std::move(options)), metrics_(metrics) {}

void CallbackSender::stop() {
  stopping_ = true;
  if (idle_) idle_->cancel();
}

net::awaitable<queue::OutboxAck> CallbackSender::deliver(const queue::OutboxItem& item) {
  queue::OutboxAck ack;
  ack.dest = item.dest;
  ack.key = item.key;
  ack.token = item.token;
  auto give_up = [&](std::string reason, const char* metric) {
    ack.verdict = queue::OutboxAck::Verdict::dead;
    ack.reason = std::move(reason);
    if (metrics_) metrics_->callback_sent(metric);
    log::JobLog(item.key).warn("callback given up: {}", ack.reason);
  };
  const auto url_json = json::parse(field_text(item, "url"), nullptr, false);
  const std::string body = field_text(item, "body");
  if (!url_json.is_string() || body.empty()) {
    give_up("malformed callback item", "dead");
    co_return ack;
  }
  const std::string url = url_json.get<std::string>();
  const auto parsed = http::parse_url(url);
  if (!parsed.url || !host_allowed(parsed.url->host, options_.allowed_hosts)) {
    give_up("the callback host is not in bubble.callback_hosts", "refused_host");
    co_return ack;
  }
  const std::int64_t ts = now_epoch_ms() / 1000;
  http::Request request;
  request.method = "POST";
  request.url = url;
  request.headers.set("Content-Type", "application/json");
  if (!options_.api_token.empty()) request.headers.set("Authorization", "Bearer " + options_.api_token);
  request.headers.set("X-Schedulo-Timestamp", std::to_string(ts));
  request.headers.set(
      "X-Schedulo-Signature",
      callback_signature(options_.signing_secret.empty() ? options_.api_token : options_.signing_secret, ts, body));
  request.headers.set("X-Schedulo-Delivery", item.key);
  request.body = body;
  request.timeouts.connect = std::min(request.timeouts.connect, options_.timeout);
  request.timeouts.send = request.timeouts.headers = request.timeouts.body = request.timeouts.total = options_.timeout;
  request.max_response_bytes = 64 * 1024;
  auto response = co_await client_.request(request);
  std::string problem;
  bool permanent = false;
  if (response) {
    const int status = response->status;
    if (response->ok()) {
      ack.verdict = queue::OutboxAck::Verdict::ok;
      ++delivered_;
      if (metrics_) metrics_->callback_sent("ok");
      co_return ack;
    }
    problem = "HTTP " + std::to_string(status);
    permanent = status != 408 && status != 429 && status < 500;
  } else {
    problem = response.error().message;
    permanent =
        response.error().kind == http::ErrorKind::refused_address || response.error().kind == http::ErrorKind::bad_url;
  }
  if (permanent || item.attempts + 1 >= options_.max_attempts) {
    give_up("callback failed: " + problem + " (after " + std::to_string(item.attempts + 1) + " attempts)", "dead");
    co_return ack;
  }
  auto delay = options_.retry_base;
  for (int i = 0; i < item.attempts && delay < options_.retry_cap; ++i) delay *= 2;
  delay = std::min(delay, options_.retry_cap);
  ack.verdict = queue::OutboxAck::Verdict::retry;
  ack.due_ms = now_epoch_ms() + delay.count();
  ack.reason = problem;
  if (metrics_) metrics_->callback_sent("retry");
  log::JobLog(item.key).info("callback failed ({}); again in {} ms", problem, delay.count());
  co_return ack;
}

net::awaitable<void> CallbackSender::run() {
  const auto ex = co_await boost::asio::this_coro::executor;
  idle_.emplace(ex);
  auto last_reclaim = std::chrono::steady_clock::now() - kReclaimEvery;
  const auto claim_for = options_.timeout * 2 + std::chrono::seconds(5);
  while (!stopping_) {
    if (std::chrono::steady_clock::now() - last_reclaim >= kReclaimEvery) {
      last_reclaim = std::chrono::steady_clock::now();
      (void)co_await outbox_.reclaim(now_epoch_ms());
    }
    auto claim = co_await outbox_.claim(std::string(kCallbackDest), options_.batch, options_.worker_id, claim_for,
                                        now_epoch_ms());
    if (!claim || claim->items.empty()) {
      if (stopping_) break;
      idle_->expires_after(claim ? options_.poll : std::chrono::milliseconds(1000));
      co_await idle_->async_wait();
      continue;
    }
    // Sent side by side: one unreachable endpoint must not hold the others up.
    const auto& items = claim->items;
    std::vector<queue::OutboxAck> acks(items.size());
    auto done = std::make_shared<net::Countdown>(ex, static_cast<long>(items.size()));
    for (std::size_t i = 0; i < items.size(); ++i) {
      boost::asio::co_spawn(
          ex, [this, &items, &acks, i]() -> net::awaitable<void> { acks[i] = co_await deliver(items[i]); },
          [done](const std::exception_ptr&) { done->done(); });
    }
    co_await done->wait();
    for (int tries = 0; tries < 5; ++tries) {
      auto acked = co_await outbox_.ack(acks, now_epoch_ms());
      if (acked) break;
      idle_->expires_after(std::chrono::milliseconds(200));
      co_await idle_->async_wait();
    }
  }
}

}  // namespace schedulo::daemon

namespace schedulo::daemon {

void add_outbox_entry(queue::Settle& settle, const queue::OutboxEntry& entry) {
  const std::string mine = queue::encode_outbox({entry});
  if (settle.outbox.empty()) {
    settle.outbox = mine;
    return;
  }
  auto merged = nlohmann::json::parse(settle.outbox, nullptr, false);
  if (!merged.is_array()) merged = nlohmann::json::array();
  for (auto& e : nlohmann::json::parse(mine)) merged.push_back(std::move(e));
  settle.outbox = merged.dump();
}

}  // namespace schedulo::daemon
