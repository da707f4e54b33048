#include "tokens/airtable_rows.hpp"

#include <nlohmann/json.hpp>

#include "common/rfc3339.hpp"
#include "platforms/airtable/schema.hpp"
#include "queue/outbox.hpp"
#include "tokens/vault.hpp"

namespace schedulo::tokens {
namespace {

using json = nlohmann::json;

json time_or_null(std::int64_t ms) {
  return ms > 0 ? json(format_rfc3339_ms(ms)) : json(nullptr);
}
json text_or_null(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

}  // namespace

std::string encode_for_airtable(const StoredAccount& a, const std::vector<AccountEvent>& events) {
  namespace f = airtable::field;
  std::vector<queue::OutboxEntry> entries;
  queue::OutboxEntry row;
  row.dest = std::string(airtable::kAccountsDest);
  row.key = a.ref.account;
  row.guard = a.version;
  const std::string key_id = Vault::key_id_of(a.access_sealed.empty() ? a.refresh_sealed : a.access_sealed);
  row.set(f::kAccountKey, a.ref.account)
      .set(f::kPlatform, a.ref.platform)
      .set(f::kStatus, std::string(to_string(a.status)))
      .set(f::kToken, text_or_null(a.access_sealed))
      .set(f::kRefreshToken, text_or_null(a.refresh_sealed))
      .set(f::kKeyId, text_or_null(key_id))
      .set(f::kTokenExpiresAt, time_or_null(a.access_expires_at_ms))
      .set(f::kRefreshExpiresAt, time_or_null(a.refresh_expires_at_ms))
      .set(f::kTokenVersion, a.version)
      .set(f::kScopes, text_or_null(a.scopes))
      .set(f::kError, text_or_null(a.reason))
      .set(f::kUpdatedAt, time_or_null(a.updated_at_ms));
  entries.push_back(std::move(row));
  for (const auto& e : events) {
    queue::OutboxEntry event;
    event.dest = std::string(airtable::kEventsDest);
    event.key = e.code + ":" + a.ref.member() + ":" + std::to_string(a.version);
    event.set(f::kEventKey, event.key)
        .set(f::kKind, "error")
        .set(f::kCode, e.code)
        .set(f::kAccount, a.ref.account)
        .set(f::kMessage, e.message)
        .set(f::kAt, time_or_null(a.updated_at_ms));
    entries.push_back(std::move(event));
  }
  return queue::encode_outbox(entries);
}

}  // namespace schedulo::tokens
