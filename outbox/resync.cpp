#include "outbox/resync.hpp"

#include "common/rfc3339.hpp"
#include "jobs/intake.hpp"
#include "platforms/airtable/schema.hpp"

namespace schedulo::outbox {
namespace {

namespace f = airtable::field;
using json = nlohmann::json;

std::string text_field(const json& fields, const char* name) {
  return fields.contains(name) && fields[name].is_string() ? fields[name].get<std::string>() : std::string();
}

}  // namespace

net::awaitable<airtable::Result<ResyncReport>> resync_from_posts(airtable::Client& client, queue::Store& store,
                                                                 const std::string& posts_table,
                                                                 const jobs::ValidationContext& context,
                                                                 int default_max_attempts, bool dry_run) {
  airtable::ListQuery q;
  std::string states;
  for (const char* s : {"queued", "scheduled", "running", "retrying", "deferred", "waiting"})
    states += std::string(states.empty() ? "" : ",") + "{" + f::kState + "}=" + airtable::formula_text(s);
  q.formula = "OR(" + states + ")";
  q.fields = {f::kPostKey, f::kState, f::kAttempts, f::kJob};
  auto rows = co_await client.list(posts_table, q);
  if (!rows) co_return rows.error();
  ResyncReport report;
  std::vector<queue::NewJob> jobs;
  for (const auto& row : *rows) {
    ++report.rows;
    const std::string key = text_field(row.fields, f::kPostKey);
    const std::string state = text_field(row.fields, f::kState);
    const long long attempts = row.fields.contains(f::kAttempts) && row.fields[f::kAttempts].is_number()
                                   ? row.fields[f::kAttempts].get<long long>()
                                   : 0;
    const std::string label = key.empty() ? row.id : key;
    if (!(state == "queued" || state == "scheduled" ||
          ((state == "retrying" || state == "deferred") && attempts == 0))) {
      std::string line = label;
      line += " (" + state + ", ";
      line += std::to_string(attempts) + " attempt(s))";
      report.started.push_back(std::move(line));
      continue;
    }
    const std::string job_json = text_field(row.fields, f::kJob);
    if (job_json.empty()) {
      report.invalid.push_back(label + ": the row has no job JSON");
      continue;
    }
    auto parsed = jobs::parse_job(job_json, context);
    if (!parsed.job) {
      report.invalid.push_back(label + ": " + (parsed.errors.empty() ? "unreadable" : parsed.errors.front().message));
      continue;
    }
    if (parsed.job->id.empty()) parsed.job->id = key;
    jobs.push_back(jobs::to_new_job(std::move(*parsed.job), default_max_attempts));
  }
  if (dry_run || jobs.empty()) {
    report.rebuilt = dry_run ? static_cast<long long>(jobs.size()) : 0;
    co_return report;
  }
  constexpr std::size_t kChunk = 100;
  for (std::size_t i = 0; i < jobs.size(); i += kChunk) {
    const std::vector<queue::NewJob> chunk(
        jobs.begin() + static_cast<std::ptrdiff_t>(i),
        jobs.begin() + static_cast<std::ptrdiff_t>(std::min(jobs.size(), i + kChunk)));
    auto results = co_await store.enqueue(chunk, now_epoch_ms());
    if (!results)
      co_return airtable::Error(airtable::ErrorKind::not_sent, 0, "REDIS",
                                "could not enqueue: " + results.error().message());
    for (const auto r : *results) (r == queue::EnqueueResult::duplicate ? report.present : report.rebuilt) += 1;
  }
  co_return report;
}

}  // namespace schedulo::outbox
