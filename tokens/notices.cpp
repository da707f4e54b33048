#include "tokens/notices.hpp"

#include "common/log.hpp"
#include "common/rfc3339.hpp"

namespace schedulo::tokens {
namespace {

queue::Notification base(const char* kind, const AccountRef& ref) {
  queue::Notification n;
  n.kind = kind;
  n.subject = ref.member();
  n.platform = ref.platform;
  n.account = ref.account;
  return n;
}

net::awaitable<bool> send(queue::Notifier& notifier, const queue::Notification& n) {
  auto recorded = co_await notifier.notify(n);
  if (!recorded) {
    log::warn("notification {} for {} not recorded: {}", n.kind, n.subject, recorded.error().message());
    co_return false;
  }
  co_return *recorded;
}

}  // namespace

net::awaitable<bool> notify_needs_reauth(queue::Notifier& notifier, const AccountRef& ref, const std::string& reason) {
  auto n = base(notice_kind::needs_reauth, ref);
  n.message = "The " + ref.platform + " account " + ref.account + " must be connected again: " + reason;
  n.action = "Ask the account's owner to connect it again (the connect button of the app).";
  n.error_code = "needs_reauth";
  co_return co_await send(notifier, n);
}

net::awaitable<bool> notify_expiring(queue::Notifier& notifier, const AccountRef& ref, std::int64_t at_ms,
                                     const std::string& what) {
  auto n = base(notice_kind::token_expiring, ref);
  n.message = "The " + ref.platform + " account " + ref.account + ": " + what + " on " + format_rfc3339_ms(at_ms) +
              "; it cannot be renewed without the owner.";
  n.action = "Ask the account's owner to connect it again before " + format_rfc3339_ms(at_ms) + ".";
  n.error_code = "token_expiring";
  co_return co_await send(notifier, n);
}

net::awaitable<bool> notify_reconnected(queue::Notifier& notifier, redis::Client& client, const queue::Keys& keys,
                                        const AccountRef& ref) {
  const std::string member = ref.member();
  auto forgot = co_await client.exec("DEL", keys.notified(notice_kind::needs_reauth, member),
                                     keys.notified(notice_kind::token_expiring, member),
                                     keys.notified(queue::notification_kind::needs_reconnect, member));
  if (!forgot) log::warn("could not reset the notices of {}: {}", member, forgot.error().message());
  auto n = base(notice_kind::reconnected, ref);
  n.message = "The " + ref.platform + " account " + ref.account + " is connected again.";
  n.action = "Nothing: scheduled posts of this account go out again.";
  co_return co_await send(notifier, n);
}

}  // namespace schedulo::tokens
