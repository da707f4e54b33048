#pragma once
// The error log line: every failed external call is logged once, with what an operator needs to
// find it on the platform's side, and nothing a thief could use. Fields (text: key=value; json:
// members): job, platform, endpoint, status, class, code, subcode, trace_id, latency_ms, and the
// message "external call failed: <detail>".
//
// Secrets: the call's own credentials (CallSpec::secrets: the access token, client secret, refresh
// token, ...) are replaced by [redacted] in every field, as they are and in their URL-encoded
// (percent and form) spellings; the endpoint never carries a query string (Graph sends
// access_token= there). Process-wide secrets are scrubbed by common/log as well.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "platforms/errors/classification.hpp"
#include "platforms/http/message.hpp"

namespace schedulo::errors {

struct CallRecord {
  std::string job_id;
  std::string platform;
  std::string endpoint;
  std::chrono::milliseconds latency{0};
  const Classified* classified = nullptr;
};

// Writes the line (level warn; error for auth_revoked and outcome_unknown).
void log_call_failure(const CallRecord& record, const std::vector<std::string>& secrets);

// `text` with each secret (as is, percent-encoded, form-encoded) replaced by [redacted].
std::string redact(std::string text, const std::vector<std::string>& secrets);

// "METHOD host/path" of a request: no scheme, port, user info, query or fragment.
std::string endpoint_of(const http::Request& request);

// The spellings a secret can take in a request or a message: as is, percent-encoded (upper- and
// lower-case hex), form-encoded (space as '+').
std::vector<std::string> secret_spellings(std::string_view secret);

}  // namespace schedulo::errors
