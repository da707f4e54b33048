#pragma once
// What a job leaves in Airtable (docs/airtable.md), as outbox entries recorded atomically with the
// job's creation or outcome: its Posts row (publish), the Analytics row of each post it measured
// (fetch_analytics, with a bounded history), its account's state (refresh_token, revoke_token), and
// after a successful publish the fetch_analytics follow-up jobs at the configured offsets.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job.hpp"
#include "jobs/outcome.hpp"
#include "queue/outbox.hpp"
#include "queue/store.hpp"

namespace schedulo::outbox {

struct RecordOptions {
  // fetch_analytics jobs after a successful publish, at these offsets (airtable.analytics_followups).
  std::vector<std::chrono::seconds> analytics_followups{std::chrono::hours(1), std::chrono::hours(24),
                                                        std::chrono::hours(24 * 7)};
  int analytics_history = 30;  // lines of the Analytics History field
  int followup_max_attempts = 3;
};

// The Posts row a publish job gets when it is created or replaced (state queued or scheduled, its job
// JSON for `schedulo resync`); nothing for other types.
std::vector<queue::OutboxEntry> intake_entries(const jobs::Job& job, std::int64_t now_ms);

// The entries and jobs an ended attempt records (defer and release record nothing: no attempt used).
struct OutcomeRecords {
  std::vector<queue::OutboxEntry> entries;
  std::vector<queue::NewJob> jobs;
};
OutcomeRecords outcome_records(const jobs::Job& job, const jobs::Outcome& outcome, queue::Settlement settlement,
                               int attempt, std::int64_t now_ms, const RecordOptions& options);

// An Events row (docs/airtable.md). `key` makes it idempotent: the same key is one row.
queue::OutboxEntry event_entry(const std::string& key, const std::string& kind, const std::string& code,
                               const std::string& message, std::int64_t now_ms, const std::string& job_id = {},
                               const std::string& account = {});

// The Events row of a notification record (issue 5's queue::Notifier: {id, kind, subject, platform,
// account, job_id, message, action, error_code, at}); nullopt for a record that is not JSON.
std::optional<queue::OutboxEntry> notification_entry(std::string_view record, std::int64_t now_ms);

// The webhook request of a notification record (notifications.webhook_url): an outbox entry of
// kWebhookDest, key "notification:<record id>", with fields url and body, which the callback sender
// delivers like a job's callback (signed, retried). The body: {"event":"notification","id","kind",
// "platform","account","job_id","message","action","error_code","at" (RFC 3339)}. The record was
// deduplicated when recorded (queue::Notifier), so one record is one Events row and one request.
inline constexpr std::string_view kWebhookDest = "bubble:callback";
std::optional<queue::OutboxEntry> notification_webhook_entry(std::string_view record, const std::string& url,
                                                             std::int64_t now_ms);

// "1h", "24h", "7d", "90m", "30s" -> seconds; nullopt for anything else.
std::optional<std::chrono::seconds> parse_offset(std::string_view text);
// The label used in a follow-up's id: 3600 s -> "1h", 86400 s -> "1d".
std::string offset_label(std::chrono::seconds offset);

}  // namespace schedulo::outbox
