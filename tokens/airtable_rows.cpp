#include "tokens/airtable_rows.hpp"

#include <nlohmann/json.hpp>

#include "common/rfc3339.hpp"

namespace schedulo::tokens {
namespace {

using json = nlohmann::json;

json time_or_null(std::int64_t ms) { return ms > 0 ? json(format_rfc3339_ms(ms)) : json(nullptr); }

}  // namespace

std::string encode_for_airtable(const StoredAccount& a, const std::vector<AccountEvent>& events) {
  namespace f = airtable_field;
  json entries = json::array();
  entries.push_back({{"dest", "airtable:accounts"},
                     {"key", a.ref.account},
                     {"guard", a.version},
                     {"fields",
                      {{f::kAccountKey, a.ref.account},
                       {f::kPlatform, a.ref.platform},
                       {f::kStatus, std::string(to_string(a.status))},
                       {f::kStatusReason, a.reason},
                       {f::kAccessToken, a.access_sealed},
                       {f::kRefreshToken, a.refresh_sealed},
                       {f::kAccessExpiresAt, time_or_null(a.access_expires_at_ms)},
                       {f::kRefreshExpiresAt, time_or_null(a.refresh_expires_at_ms)},
                       {f::kScopes, a.scopes},
                       {f::kTokenVersion, a.version},
                       {f::kTokenUpdatedAt, time_or_null(a.updated_at_ms)}}}});
  for (const auto& e : events)
    entries.push_back({{"dest", "airtable:events"},
                       {"key", e.kind + ":" + a.ref.member() + ":" + std::to_string(a.version)},
                       {"fields",
                        {{"Kind", e.kind},
                         {"Platform", a.ref.platform},
                         {"Account Key", a.ref.account},
                         {"Message", e.message},
                         {"At", time_or_null(a.updated_at_ms)}}}});
  return entries.dump();
}

}  // namespace schedulo::tokens
