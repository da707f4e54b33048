#include "outbox/records.hpp"

#include <array>
#include <cctype>

#include "common/rfc3339.hpp"
#include "jobs/intake.hpp"
#include "platforms/airtable/schema.hpp"

namespace schedulo::outbox {
namespace {

using json = nlohmann::json;
namespace f = airtable::field;

constexpr std::size_t kMaxJobId = 128;
constexpr std::string_view kFollowupInfix = ".analytics.";

// "rec" and 14 letters or digits: the job names its Accounts or Posts row by Airtable's own id.
bool is_record_id(std::string_view s) {
  if (s.size() != 17 || !s.starts_with("rec")) return false;
  for (const char c : s.substr(3))
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string first_string(const json& j, std::initializer_list<const char*> names) {
  if (!j.is_object()) return {};
  for (const char* n : names) {
    if (!j.contains(n)) continue;
    if (j[n].is_string() && !j[n].get<std::string>().empty()) return j[n].get<std::string>();
    if (j[n].is_number_integer()) return std::to_string(j[n].get<long long>());
  }
  return {};
}

queue::OutboxEntry post_row(const jobs::Job& job, std::string_view state, std::int64_t now) {
  queue::OutboxEntry e;
  e.dest = std::string(airtable::kPostsDest);
  e.key = job.id;
  if (is_record_id(job.post_record)) e.record_id = job.post_record;
  e.set(f::kPostKey, job.id)
      .set(f::kJobId, job.id)
      .set(f::kAccount, job.account)
      .set(f::kPlatform, std::string(jobs::to_string(job.platform)))
      .set(f::kState, std::string(state))
      .set(f::kUpdatedAt, format_rfc3339_ms(now));
  return e;
}

queue::OutboxEntry account_row(const jobs::Job& job, std::int64_t now) {
  queue::OutboxEntry e;
  e.dest = std::string(airtable::kAccountsDest);
  e.key = job.account;
  if (is_record_id(job.account)) {
    e.record_id = job.account;  // the row is named by its id: its Account Key stays the user's
  } else {
    e.set(f::kAccountKey, job.account);
  }
  e.set(f::kPlatform, std::string(jobs::to_string(job.platform))).set(f::kUpdatedAt, format_rfc3339_ms(now));
  return e;
}

// The metrics a platform's analytics call may name, by the column they go to.
struct MetricColumn {
  const char* column;
  std::array<const char*, 5> names;
};
constexpr std::array<MetricColumn, 7> kMetrics{{
    {f::kImpressions, {"impressions", "impression_count", "post_impressions", nullptr, nullptr}},
    {f::kReach, {"reach", "post_impressions_unique", nullptr, nullptr, nullptr}},
    {f::kLikes, {"likes", "like_count", "reactions", "reactions_total", nullptr}},
    {f::kComments, {"comments", "comment_count", "reply_count", "replies", "comments_count"}},
    {f::kShares, {"shares", "share_count", "retweet_count", "reposts", nullptr}},
    {f::kSaves, {"saves", "saved", "bookmark_count", nullptr, nullptr}},
    {f::kViews, {"views", "view_count", "video_views", "plays", nullptr}},
}};

// X answers each post's counts in groups (public_metrics, non_public_metrics, organic_metrics): one
// flat object, the public count first where two groups have the same name.
json merged_metric_groups(const json& post) {
  json out = json::object();
  for (const char* group : {"public_metrics", "non_public_metrics", "organic_metrics"}) {
    if (!post.contains(group) || !post[group].is_object()) continue;
    for (const auto& [name, value] : post[group].items())
      if (!out.contains(name)) out[name] = value;
  }
  return out;
}

// True for X's result: "metrics" maps each post id to that post's metric groups.
bool metrics_by_post(const json& metrics) {
  if (!metrics.is_object() || metrics.empty()) return false;
  for (const auto& [id, post] : metrics.items())
    if (!post.is_object()) return false;
  return true;
}

std::optional<queue::OutboxEntry> analytics_row(const jobs::Job& job, const std::string& post_id, const json& metrics,
                                                std::int64_t now, const RecordOptions& options) {
  if (post_id.empty()) return std::nullopt;
  const std::string platform(jobs::to_string(job.platform));
  queue::OutboxEntry e;
  e.dest = std::string(airtable::kAnalyticsDest);
  e.key = platform + ":" + post_id;
  e.set(f::kPostKey, e.key).set(f::kPlatform, platform).set(f::kPlatformPostId, post_id).set(f::kAccount, job.account);
  // A follow-up's id is "<publish job id>.analytics.<offset>": the row names the publish job.
  if (const auto at = job.id.rfind(kFollowupInfix); at != std::string::npos && at > 0)
    e.set(f::kJobId, job.id.substr(0, at));
  std::string line = format_rfc3339_ms(now);
  for (const auto& m : kMetrics) {
    for (const char* name : m.names) {
      if (name && metrics.is_object() && metrics.contains(name) && metrics[name].is_number()) {
        e.set(m.column, metrics[name]);
        line += " " + std::string(name) + "=" + metrics[name].dump();
        break;
      }
    }
  }
  e.set(f::kFetchedAt, format_rfc3339_ms(now));
  e.history = queue::OutboxEntry::History{f::kHistory, line, options.analytics_history};
  return e;
}

std::string followup_id(const std::string& publish_id, const std::string& label) {
  const std::string suffix = std::string(kFollowupInfix) + label;
  return publish_id.substr(0, std::min(publish_id.size(), kMaxJobId - suffix.size())) + suffix;
}

}  // namespace

std::optional<std::chrono::seconds> parse_offset(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  long long n = 0;
  for (const char c : text.substr(0, text.size() - 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || n > 10'000'000) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  switch (text.back()) {
    case 's':
      return std::chrono::seconds(n);
    case 'm':
      return std::chrono::seconds(n * 60);
    case 'h':
      return std::chrono::seconds(n * 3600);
    case 'd':
      return std::chrono::seconds(n * 86400);
    default:
      return std::nullopt;
  }
}

std::string offset_label(std::chrono::seconds offset) {
  const auto s = offset.count();
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::vector<queue::OutboxEntry> intake_entries(const jobs::Job& job, std::int64_t now_ms) {
  if (job.type != jobs::JobType::publish) return {};
  const std::int64_t run_at = std::max(job.run_at_ms.value_or(now_ms), now_ms);
  auto e = post_row(job, run_at > now_ms ? "scheduled" : "queued", now_ms);
  e.set(f::kRunAt, format_rfc3339_ms(run_at)).set(f::kJob, job.to_json().dump()).set(f::kAttempts, 0);
  if (job.post && !job.post->text.empty()) e.set(f::kText, job.post->text);
  e.on_cancel = {{f::kState, json("cancelled").dump()},
                 {f::kError, json("cancelled before it started").dump()},
                 {f::kErrorCode, json("cancelled").dump()}};
  return {std::move(e)};
}

OutcomeRecords outcome_records(const jobs::Job& job, const jobs::Outcome& outcome, queue::Settlement settlement,
                               int attempt, std::int64_t now_ms, const RecordOptions& options) {
  using S = queue::Settlement;
  OutcomeRecords out;
  if (settlement == S::defer || settlement == S::release) return out;
  const std::string now = format_rfc3339_ms(now_ms);
  const bool ok = settlement == S::succeeded;
  switch (job.type) {
    case jobs::JobType::publish: {
      const std::string state = settlement == S::retry  ? "retrying"
                                : settlement == S::wait ? "waiting"
                                                        : std::string(queue::to_string(settlement));
      auto e = post_row(job, state, now_ms);
      e.set(f::kAttempts, attempt);
      if (ok) {
        const auto post_id = first_string(outcome.result, {"published_id", "post_id", "media_id", "id"});
        const auto permalink = first_string(outcome.result, {"permalink", "permalink_url", "url", "share_url"});
        const auto published_at = first_string(outcome.result, {"published_at"});
        if (!post_id.empty()) e.set(f::kPlatformPostId, post_id);
        if (!permalink.empty()) e.set(f::kPermalink, permalink);
        e.set(f::kPublishedAt, published_at.empty() ? now : published_at)
            .set(f::kError, nullptr)
            .set(f::kErrorCode, nullptr);
        if (!post_id.empty()) {
          for (const auto offset : options.analytics_followups) {
            jobs::Job follow;
            follow.id = followup_id(job.id, offset_label(offset));
            follow.type = jobs::JobType::fetch_analytics;
            follow.platform = job.platform;
            follow.account = job.account;
            follow.run_at_ms = now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(offset).count();
            follow.target_post_ids = {post_id};
            follow.max_attempts = options.followup_max_attempts;
            out.jobs.push_back(jobs::to_new_job(std::move(follow), options.followup_max_attempts));
          }
        }
      } else if (settlement != S::wait) {
        e.set(f::kError, outcome.error).set(f::kErrorCode, outcome.error_code);
      }
      out.entries.push_back(std::move(e));
      break;
    }
    case jobs::JobType::fetch_analytics: {
      if (!ok) break;  // failures are the notifications' business (Events), not a row per attempt
      const json& r = outcome.result;
      if (r.is_object() && r.contains("posts") && r["posts"].is_array()) {
        for (const auto& p : r["posts"]) {
          if (!p.is_object() || p.contains("error")) continue;  // a post that could not be read
          // Instagram nests the counts under "metrics"; TikTok and Facebook put them beside the id.
          const bool nested = p.contains("metrics") && p["metrics"].is_object();
          if (auto e =
                  analytics_row(job, first_string(p, {"post_id", "id"}), nested ? p["metrics"] : p, now_ms, options))
            out.entries.push_back(std::move(*e));
        }
      } else if (r.is_object() && r.contains("metrics") && metrics_by_post(r["metrics"])) {
        for (const auto& [id, post] : r["metrics"].items())
          if (auto e = analytics_row(job, id, merged_metric_groups(post), now_ms, options))
            out.entries.push_back(std::move(*e));
      } else if (r.is_object() && r.contains("metrics") && job.target_post_ids.size() == 1) {
        if (auto e = analytics_row(job, job.target_post_ids.front(), r["metrics"], now_ms, options))
          out.entries.push_back(std::move(*e));
      }
      break;
    }
    case jobs::JobType::refresh_token: {
      auto e = account_row(job, now_ms);
      e.set(f::kLastCheckedAt, now);
      if (ok) {
        e.set(f::kError, nullptr);
      } else if (settlement == S::failed || settlement == S::dead || settlement == S::needs_review) {
        e.set(f::kStatus, "needs_reauth").set(f::kError, outcome.error);
      } else {
        break;  // a retry: the account's state is not known yet
      }
      out.entries.push_back(std::move(e));
      break;
    }
    case jobs::JobType::revoke_token: {
      if (!ok) break;
      auto e = account_row(job, now_ms);
      e.set(f::kStatus, "revoked").set(f::kError, nullptr);
      out.entries.push_back(std::move(e));
      break;
    }
  }
  return out;
}

std::optional<queue::OutboxEntry> notification_entry(std::string_view record, std::int64_t now_ms) {
  const auto n = json::parse(record, nullptr, false);
  if (!n.is_object()) return std::nullopt;
  auto text = [&](const char* name) {
    return n.contains(name) && n[name].is_string() ? n[name].get<std::string>() : std::string();
  };
  std::string key = text("id");
  if (key.empty()) key = "notification:" + text("kind") + ":" + text("subject") + ":" + std::to_string(now_ms);
  std::int64_t at = now_ms;
  if (n.contains("at") && n["at"].is_number()) {
    const auto v = n["at"].get<double>();
    at = static_cast<std::int64_t>(v < 1e11 ? v * 1000 : v);  // seconds or ms since the epoch
  }
  std::string message = text("message");
  if (const auto action = text("action"); !action.empty()) message += (message.empty() ? "" : " ") + action;
  const std::string kind = text("kind");
  auto e = event_entry(key, "notification", kind.empty() ? text("error_code") : kind, message, at, text("job_id"),
                       text("account"));
  return e;
}

std::optional<queue::OutboxEntry> notification_webhook_entry(std::string_view record, const std::string& url,
                                                             std::int64_t now_ms) {
  const auto n = json::parse(record, nullptr, false);
  if (!n.is_object()) return std::nullopt;
  auto text = [&](const char* name) {
    return n.contains(name) && n[name].is_string() ? n[name].get<std::string>() : std::string();
  };
  std::string id = text("id");
  if (id.empty()) id = text("kind") + ":" + text("subject") + ":" + std::to_string(now_ms);
  std::int64_t at = now_ms;
  if (n.contains("at") && n["at"].is_number()) {
    const auto v = n["at"].get<double>();
    at = static_cast<std::int64_t>(v < 1e11 ? v * 1000 : v);  // seconds or ms since the epoch
  }
  const json body{{"event", "notification"},
                  {"id", id},
                  {"kind", text("kind")},
                  {"platform", text("platform")},
                  {"account", text("account")},
                  {"job_id", text("job_id")},
                  {"message", text("message")},
                  {"action", text("action")},
                  {"error_code", text("error_code")},
                  {"at", format_rfc3339_ms(at)}};
  queue::OutboxEntry e;
  e.dest = std::string(kWebhookDest);
  e.key = "notification:" + id;
  e.set("url", url).set("body", body);
  return e;
}

queue::OutboxEntry event_entry(const std::string& key, const std::string& kind, const std::string& code,
                               const std::string& message, std::int64_t now_ms, const std::string& job_id,
                               const std::string& account) {
  queue::OutboxEntry e;
  e.dest = std::string(airtable::kEventsDest);
  e.key = key;
  e.set(f::kEventKey, key)
      .set(f::kKind, kind)
      .set(f::kCode, code)
      .set(f::kMessage, message)
      .set(f::kAt, format_rfc3339_ms(now_ms));
  if (!job_id.empty()) e.set(f::kJobId, job_id);
  if (!account.empty()) e.set(f::kAccount, account);
  return e;
}

}  // namespace schedulo::outbox
