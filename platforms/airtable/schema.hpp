#pragma once
// The four Airtable tables the daemon writes (docs/airtable.md): their outbox destinations, the field
// each is upserted on, and every field with its type. One place for the names: the writer, the
// record builders, `schedulo airtable check|init` and other issues' code (tokens) use these.
// Table names are configurable (airtable.tables.*); field names are not.
#include <string_view>
#include <vector>

namespace schedulo::airtable {

enum class Table { accounts, posts, analytics, events };

struct FieldSpec {
  std::string_view name;
  std::string_view type;                  // Airtable field type: singleLineText, multilineText, number, ...
  std::vector<std::string_view> choices;  // singleSelect options
};

struct TableSpec {
  Table table;
  std::string_view logical;       // "accounts": the config key airtable.tables.<logical>
  std::string_view dest;          // the outbox destination: "airtable:accounts"
  std::string_view key_field;     // upserted on (fieldsToMergeOn); the table's primary field
  std::vector<FieldSpec> fields;  // the key field first
};

const std::vector<TableSpec>& schema();
const TableSpec& spec(Table table);
const TableSpec* spec_for_dest(std::string_view dest);

// Outbox destinations (queue::OutboxEntry::dest).
inline constexpr std::string_view kAccountsDest = "airtable:accounts";
inline constexpr std::string_view kPostsDest = "airtable:posts";
inline constexpr std::string_view kAnalyticsDest = "airtable:analytics";
inline constexpr std::string_view kEventsDest = "airtable:events";

// Field names (docs/airtable.md describes each).
namespace field {
// Accounts
inline constexpr const char* kAccountKey = "Account Key";
inline constexpr const char* kPlatform = "Platform";
inline constexpr const char* kStatus = "Status";
inline constexpr const char* kDisplayName = "Display Name";
inline constexpr const char* kPlatformAccountId = "Platform Account ID";
inline constexpr const char* kToken = "Token";                 // ciphertext only (vault)
inline constexpr const char* kRefreshToken = "Refresh Token";  // ciphertext only (vault)
inline constexpr const char* kKeyId = "Key Id";
inline constexpr const char* kTokenExpiresAt = "Token Expires At";
inline constexpr const char* kRefreshExpiresAt = "Refresh Expires At";
inline constexpr const char* kTokenVersion = "Token Version";
inline constexpr const char* kScopes = "Scopes";
inline constexpr const char* kLastCheckedAt = "Last Checked At";
inline constexpr const char* kError = "Error";
inline constexpr const char* kUpdatedAt = "Updated At";
// Posts
inline constexpr const char* kPostKey = "Post Key";  // Posts: the job id; Analytics: platform:post id
inline constexpr const char* kJobId = "Job ID";
inline constexpr const char* kAccount = "Account";
inline constexpr const char* kState = "State";
inline constexpr const char* kText = "Text";
inline constexpr const char* kRunAt = "Run At";
inline constexpr const char* kJob = "Job";  // the canonical job JSON (what resync rebuilds jobs from)
inline constexpr const char* kPlatformPostId = "Platform Post ID";
inline constexpr const char* kPermalink = "Permalink";
inline constexpr const char* kPublishedAt = "Published At";
inline constexpr const char* kAttempts = "Attempts";
inline constexpr const char* kErrorCode = "Error Code";
// Analytics
inline constexpr const char* kImpressions = "Impressions";
inline constexpr const char* kReach = "Reach";
inline constexpr const char* kLikes = "Likes";
inline constexpr const char* kComments = "Comments";
inline constexpr const char* kShares = "Shares";
inline constexpr const char* kSaves = "Saves";
inline constexpr const char* kViews = "Views";
inline constexpr const char* kFetchedAt = "Fetched At";
inline constexpr const char* kHistory = "History";
// Events
inline constexpr const char* kEventKey = "Event Key";
inline constexpr const char* kKind = "Kind";
inline constexpr const char* kCode = "Code";
inline constexpr const char* kMessage = "Message";
inline constexpr const char* kAt = "At";
}  // namespace field

}  // namespace schedulo::airtable
