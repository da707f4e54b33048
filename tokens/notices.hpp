#pragma once
// The token lifecycle's notifications (issue 13), through the notifier (queue/notifier.hpp), which
// the outbox turns into an Events row and the webhook; one per kind and account per
// notifications.window_s. Messages name the account and say what to do; never a token.
//   needs_reauth    the platform refused the grant (with the reason): connect the account again
//   token_expiring  nothing can renew the access past a date (with the date): reconnect before it
//   reconnected     the account was connected again; the other two may be sent again from now on
#include <cstdint>
#include <string>

#include "common/net.hpp"
#include "queue/notifier.hpp"
#include "tokens/account.hpp"

namespace schedulo::tokens {

namespace notice_kind {
inline constexpr const char* needs_reauth = "needs_reauth";
inline constexpr const char* token_expiring = "token_expiring";
inline constexpr const char* reconnected = "reconnected";
}  // namespace notice_kind

// Each returns whether a notification was recorded (false: a duplicate within the window, or Redis
// failed, which is logged).
net::awaitable<bool> notify_needs_reauth(queue::Notifier& notifier, const AccountRef& ref, const std::string& reason);
net::awaitable<bool> notify_expiring(queue::Notifier& notifier, const AccountRef& ref, std::int64_t at_ms,
                                     const std::string& what);
// Also forgets the account's earlier needs_reauth and token_expiring notices, so a later problem is
// told at once.
net::awaitable<bool> notify_reconnected(queue::Notifier& notifier, redis::Client& client, const queue::Keys& keys,
                                        const AccountRef& ref);

}  // namespace schedulo::tokens
