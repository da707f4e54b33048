#include "tokens/account_source.hpp"

#include "common/rfc3339.hpp"
#include "platforms/airtable/schema.hpp"

namespace schedulo::tokens {
namespace {

std::string text(const nlohmann::json& fields, const char* name) {
  const auto it = fields.find(name);
  return it != fields.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t time_ms(const nlohmann::json& fields, const char* name) {
  return parse_rfc3339_ms(text(fields, name)).value_or(0);
}

}  // namespace

std::optional<StoredAccount> account_from_airtable_row(const AccountRef& ref, const nlohmann::json& fields) {
  namespace f = airtable::field;
  if (!fields.is_object()) return std::nullopt;
  if (const auto platform = text(fields, f::kPlatform); !platform.empty() && platform != ref.platform)
    return std::nullopt;
  StoredAccount a;
  a.ref = ref;
  a.access_sealed = text(fields, f::kToken);
  a.refresh_sealed = text(fields, f::kRefreshToken);
  if (a.access_sealed.empty() && a.refresh_sealed.empty()) return std::nullopt;
  const auto version = fields.find(f::kTokenVersion);
  a.version = version != fields.end() && version->is_number() ? version->get<std::int64_t>() : 1;
  // A Bubble app may set its own statuses (connected, needs_reconnect, ...): only ours are taken.
  a.status = account_status_from_string(text(fields, f::kStatus)).value_or(AccountStatus::active);
  a.reason = text(fields, f::kError);
  a.access_expires_at_ms = time_ms(fields, f::kTokenExpiresAt);
  a.refresh_expires_at_ms = time_ms(fields, f::kRefreshExpiresAt);
  a.scopes = text(fields, f::kScopes);
  a.updated_at_ms = time_ms(fields, f::kUpdatedAt);
  return a;
}

}  // namespace schedulo::tokens
