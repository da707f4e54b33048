#include "platforms/airtable/schema.hpp"

#include <stdexcept>

namespace schedulo::airtable {
namespace {

using namespace field;

FieldSpec text(std::string_view n) {
  return {n, "singleLineText", {}};
}
FieldSpec longtext(std::string_view n) {
  return {n, "multilineText", {}};
}
FieldSpec number(std::string_view n) {
  return {n, "number", {}};
}
FieldSpec when(std::string_view n) {
  return {n, "dateTime", {}};
}
FieldSpec select(std::string_view n, std::vector<std::string_view> choices) {
  return {n, "singleSelect", std::move(choices)};
}

std::vector<std::string_view> platforms() {
  return {"instagram", "facebook", "tiktok", "x"};
}

std::vector<TableSpec> build() {
  return {
      {Table::accounts,
       "accounts",
       kAccountsDest,
       kAccountKey,
       {text(kAccountKey), select(kPlatform, platforms()),
        // active/expiring/needs_reauth/revoked are the token store's; connected/needs_reconnect/
        // disconnected are what a Bubble app may set itself.
        select(kStatus,
               {"active", "expiring", "needs_reauth", "revoked", "connected", "needs_reconnect", "disconnected"}),
        text(kDisplayName), text(kPlatformAccountId), longtext(kToken), longtext(kRefreshToken), text(kKeyId),
        when(kTokenExpiresAt), when(kRefreshExpiresAt), number(kTokenVersion), longtext(kScopes), when(kLastCheckedAt),
        longtext(kError), when(kUpdatedAt)}},
      {Table::posts,
       "posts",
       kPostsDest,
       kPostKey,
       {text(kPostKey),
        text(kJobId),
        text(kAccount),
        select(kPlatform, platforms()),
        select(kState, {"queued", "scheduled", "running", "retrying", "deferred", "waiting", "succeeded", "failed",
                        "dead", "needs_review", "cancelled"}),
        longtext(kText),
        when(kRunAt),
        longtext(kJob),
        text(kPlatformPostId),
        {kPermalink, "url", {}},
        when(kPublishedAt),
        number(kAttempts),
        longtext(kError),
        text(kErrorCode),
        when(kUpdatedAt)}},
      {Table::analytics,
       "analytics",
       kAnalyticsDest,
       kPostKey,
       {text(kPostKey), text(kJobId), text(kAccount), select(kPlatform, platforms()), text(kPlatformPostId),
        number(kImpressions), number(kReach), number(kLikes), number(kComments), number(kShares), number(kSaves),
        number(kViews), when(kFetchedAt), longtext(kHistory)}},
      {Table::events,
       "events",
       kEventsDest,
       kEventKey,
       {text(kEventKey), select(kKind, {"error", "warning", "notification", "info"}), text(kCode), text(kJobId),
        text(kAccount), longtext(kMessage), when(kAt)}},
  };
}

}  // namespace

const std::vector<TableSpec>& schema() {
  static const std::vector<TableSpec> tables = build();
  return tables;
}

const TableSpec& spec(Table table) {
  for (const auto& t : schema())
    if (t.table == table) return t;
  throw std::logic_error("no such table spec");
}

const TableSpec* spec_for_dest(std::string_view dest) {
  for (const auto& t : schema())
    if (t.dest == dest) return &t;
  return nullptr;
}

}  // namespace schedulo::airtable
