#include "jobs/intake.hpp"

#include <regex>

namespace schedulo::jobs {
namespace {

constexpr std::size_t kKeptRawBytes = 4096;  // of a refused entry, for the person reading the error
constexpr std::size_t kFieldBytes = 128;

bool is_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-')) return false;
  return true;
}

// A string field of a refused entry, kept only when it is short, printable text.
std::string best_effort(const nlohmann::json& doc, const char* key) {
  if (!doc.is_object()) return {};
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return {};
  std::string v = it->get<std::string>();
  if (v.size() > kFieldBytes) return {};
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20) return {};
  return v;
}

}  // namespace

queue::NewJob to_new_job(Job job, int default_max_attempts) {
  if (job.id.empty()) job.id = generate_job_id();
  queue::NewJob n;
  n.id = job.id;
  n.type = std::string(to_string(job.type));
  n.platform = std::string(to_string(job.platform));
  n.account = job.account;
  n.run_at_ms = job.run_at_ms.value_or(0);
  n.max_attempts = job.max_attempts.value_or(default_max_attempts);
  n.payload = job.to_json().dump();
  return n;
}

queue::NewJob to_new_job(Job job, int default_max_attempts, const ValidationContext& context) {
  if (job.id.empty()) job.id = generate_job_id();
  std::string outbox = context.record_intake ? context.record_intake(job) : std::string();
  queue::NewJob n = to_new_job(std::move(job), default_max_attempts);
  n.outbox = std::move(outbox);
  return n;
}

queue::IntakeItem read_inbox_entry(std::string_view raw, const ValidationContext& context, int default_max_attempts) {
  queue::IntakeItem item;
  auto parsed = parse_job(raw, context);
  if (parsed.job) {
    item.job = to_new_job(std::move(*parsed.job), default_max_attempts, context);
    return item;
  }
  item.valid = false;
  auto& r = item.refused;
  // Only a small entry is parsed again for its id and names; a huge one is refused by size alone.
  nlohmann::json doc;
  if (raw.size() <= context.max_job_bytes) doc = nlohmann::json::parse(raw, nullptr, false);
  const std::string id = best_effort(doc, "id");
  r.id = is_id(id) ? id : generate_job_id();
  r.type = best_effort(doc, "type");
  r.platform = best_effort(doc, "platform");
  r.account = best_effort(doc, "account");
  r.raw = std::string(raw.substr(0, kKeptRawBytes));
  if (raw.size() > kKeptRawBytes) r.raw += "... (" + std::to_string(raw.size()) + " bytes in all)";
  for (const auto& e : parsed.errors) {
    if (!r.error.empty()) r.error += "; ";
    r.error += e.message;
  }
  r.error_code = parsed.errors.empty() ? "invalid_job" : parsed.errors.front().code;
  return item;
}

queue::ControlOp read_control_entry(std::string_view raw, const ValidationContext& context, int default_max_attempts,
                                    std::string& problem) {
  queue::ControlOp op;
  if (raw.size() > context.max_job_bytes + 1024) {
    problem = "control entry larger than jobs.max_job_bytes";
    return op;
  }
  const auto doc = nlohmann::json::parse(raw, nullptr, false);
  if (!doc.is_object() || !doc.contains("op") || !doc["op"].is_string()) {
    problem = "control entry is not a JSON object with an \"op\"";
    return op;
  }
  const auto kind = doc["op"].get<std::string>();
  if (kind == "cancel") {
    const std::string id = best_effort(doc, "id");
    if (!is_id(id)) {
      problem = "cancel needs an \"id\" of 1 to 128 characters from A-Z a-z 0-9 _ . : -";
      return op;
    }
    op.kind = queue::ControlOp::Kind::cancel;
    op.id = id;
    return op;
  }
  if (kind == "replace") {
    if (!doc.contains("job") || !doc["job"].is_object()) {
      problem = "replace needs a \"job\" object";
      return op;
    }
    auto parsed = validate_job(doc["job"], context);
    if (!parsed.job) {
      problem = "replace: " + (parsed.errors.empty() ? std::string("invalid job") : parsed.errors.front().message);
      return op;
    }
    if (parsed.job->id.empty()) {
      problem = "replace: the job needs the \"id\" of the job it replaces";
      return op;
    }
    op.kind = queue::ControlOp::Kind::replace;
    op.id = parsed.job->id;
    op.job = to_new_job(std::move(*parsed.job), default_max_attempts, context);
    return op;
  }
  problem = "unknown op \"" + kind.substr(0, 32) + "\" (known: cancel, replace)";
  return op;
}

}  // namespace schedulo::jobs
