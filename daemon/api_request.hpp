#pragma once
// The pure part of the HTTP API's request handling (api_server.cpp): the Bearer check, the job body
// read as one job or an array of jobs, and the JSON errors. No I/O and no Redis, so the fuzz target
// (tests/fuzz/api_request_fuzz.cpp) drives it with arbitrary methods, targets, headers and bodies.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.hpp"
#include "jobs/job_validation.hpp"

namespace schedulo::daemon {

// {"error":{"code","message","field"?}} with that status.
server::Response api_error(int status, std::string_view code, std::string_view message, std::string_view field = {});

// Constant-time equality of a presented token and the expected one (both hashed first, so neither
// the content nor the length leaks through timing). An empty expected token never matches.
bool token_matches(std::string_view presented, std::string_view expected);

// Whether the request's Authorization header is "Bearer <token>" (scheme case-insensitive, spaces
// around the token ignored).
bool bearer_authorised(const server::Request& request, std::string_view token);

// A job id of the API's routes: 1-128 of A-Z a-z 0-9 _ . : -.
bool is_job_id(std::string_view s);

// The raw texts of a JSON array's elements, found without building a document (each then goes
// through jobs::parse_job). False when the text is not an array or nests past jobs::kMaxJsonDepth.
bool split_json_array(std::string_view text, std::vector<std::string_view>& out);

// POST/PUT bodies: one job or an array of jobs, each parsed by jobs::parse_job.
struct ParsedJobs {
  bool is_array = false;
  std::vector<jobs::ParseResult> jobs;
  std::optional<server::Response> failure;  // the body as a whole is unusable
};
// An Idempotency-Key header gives each job without an id a stable one derived from the key.
ParsedJobs parse_jobs_body(const server::Request& request, std::size_t max_batch,
                           const jobs::ValidationContext& validation);

// The 400 answer of a body whose jobs have problems (the first one in "error", all in "errors",
// fields of an array prefixed "[i]"); nullopt when every job is valid.
std::optional<server::Response> validation_failure(const ParsedJobs& parsed);

}  // namespace schedulo::daemon
