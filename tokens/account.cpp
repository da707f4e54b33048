#include "tokens/account.hpp"

namespace schedulo::tokens {

std::optional<AccountRef> parse_account_ref(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  return AccountRef{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

std::string_view to_string(AccountStatus status) {
  switch (status) {
    case AccountStatus::active:
      return "active";
    case AccountStatus::expiring:
      return "expiring";
    case AccountStatus::needs_reauth:
      return "needs_reauth";
    case AccountStatus::revoked:
      return "revoked";
  }
  return "active";
}

std::optional<AccountStatus> account_status_from_string(std::string_view text) {
  for (const auto s :
       {AccountStatus::active, AccountStatus::expiring, AccountStatus::needs_reauth, AccountStatus::revoked})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

std::string seal_context(const AccountRef& ref, std::string_view field) {
  // Lengths first: "a:b" + "c" and "a" + "b:c" must not give the same context.
  std::string context = std::to_string(ref.platform.size()) + ":" + ref.platform + ":" +
                        std::to_string(ref.account.size()) + ":" + ref.account + ":";
  context += field;
  return context;
}

}  // namespace schedulo::tokens
