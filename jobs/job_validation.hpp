#pragma once
// Validation of job JSON from untrusted sources (the inbox, the HTTP API, the command line): one
// schema and one set of messages for all of them. Every problem is reported at once, each naming its
// field, so the validate-only route can show them together.
#include "jobs/job.hpp"
#include "platforms/http/address_policy.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::jobs {

struct ValidationError {
  // Path of the offending value, e.g. "post.media[1].url"; empty for the job as a whole.
  std::string field;
  // Machine code: malformed_json, too_large, too_deep, duplicate_key, wrong_type, required,
  // invalid_value, too_long, too_many, not_allowed, unknown_field, invalid_url, private_address.
  std::string code;
  // User-facing: names the field and says what is expected. Repeats at most 64 characters of the
  // input and never a URL's path or query (they may hold tokens).
  std::string message;

  bool operator==(const ValidationError&) const = default;
};

struct ValidationContext {
  http::AddressPolicy private_hosts;        // security.allow_private_hosts
  std::vector<std::string> callback_hosts;  // bubble.callback_hosts (case-insensitive)
  std::size_t max_job_bytes = 64 * 1024;
  int max_attempts_limit = 25;
  // Not a check: what intake records in the outbox with a job it creates or replaces (its Posts row,
  // outbox/records.hpp), as queue::encode_outbox text; unset = nothing.
  std::function<std::string(const Job&)> record_intake;
};

struct ParseResult {
  std::optional<Job> job;  // set only when errors is empty
  std::vector<ValidationError> errors;

  bool ok() const { return errors.empty(); }
};

inline constexpr std::size_t kMaxJsonDepth = 32;

// Raw bytes -> Job: size limit, nesting limit (checked before the JSON parser sees the input),
// well-formed JSON without duplicate keys, then validate_job. Never throws for any input.
ParseResult parse_job(std::string_view raw, const ValidationContext& context);

// A parsed document -> Job, or every problem found.
ParseResult validate_job(const nlohmann::json& document, const ValidationContext& context);

}  // namespace schedulo::jobs
