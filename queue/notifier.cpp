#include "queue/notifier.hpp"

#include "common/log.hpp"
#include "queue/scripts.hpp"
#include "queue/store.hpp"

namespace schedulo::queue {

Notifier::Notifier(redis::Client& client, Keys keys) : client_(client), keys_(std::move(keys)) {}

net::awaitable<NotifyResult<bool>> Notifier::notify(const Notification& n, std::optional<std::int64_t> now_ms) {
  redis::Args args{keys_.prefix(), now_ms ? std::to_string(*now_ms) : std::string(),
                   n.kind,         n.subject.empty() ? n.platform : n.subject,
                   n.platform,     n.account,
                   n.job_id,       n.message,
                   n.action,       n.error_code};
  auto reply = co_await client_.eval(script("notify"), {}, std::move(args));
  if (!reply) co_return NotifyResult<bool>(boost::system::in_place_error, reply.error());
  if (reply->is_error()) {
    log::error("notification script failed: {}", reply->str);
    co_return NotifyResult<bool>(boost::system::in_place_error, make_error_code(QueueErrc::script_failed));
  }
  if (!reply->is_integer())
    co_return NotifyResult<bool>(boost::system::in_place_error, make_error_code(QueueErrc::bad_reply));
  co_return reply->integer == 1;
}

net::awaitable<NotifyResult<bool>> Notifier::set_window(std::chrono::seconds window) {
  auto reply = co_await client_.exec("HSET", keys_.settings(), "notify_window_s", std::to_string(window.count()));
  if (!reply) co_return NotifyResult<bool>(boost::system::in_place_error, reply.error());
  co_return !reply->is_error();
}

}  // namespace schedulo::queue
