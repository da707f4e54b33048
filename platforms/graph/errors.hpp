#pragma once
// Meta Graph errors (platform-apis.md 1.0 and the Instagram publishing table of 1.1), for Instagram and
// Facebook Pages alike: the error body, and its class in the one taxonomy (platforms/errors).
//
// Classified on error.code and error.error_subcode, never on the HTTP status (Meta answers 400 for
// throttles and server trouble alike):
//
//   190 / 102 with 463 (expired), or without a subcode     auth_expired (a refresh may fix it)
//   190 / 102 with 458, 459, 460, 464, 467, 492 (and the    auth_revoked (only reconnecting helps)
//     historic 456, 461, 466, 468)
//   4, 17, 32, 341, 613, 80001-80014; 9 (publishing cap,    rate_limited until the latest
//     400 containers a day)                                  estimated_time_to_regain_access, else a default
//   4 / 2207051 (activity restricted as spam)               permanent
//   1, 2, and any error marked is_transient                 transient (outcome_unknown for an unsafe call
//                                                            answered with a 5xx)
//   368 (blocked for a policy)                              transient, not before an hour ("do not hammer")
//   9007 / 2207027 (not ready), -2/2207003, -1/2207001,     transient: the Instagram adapter polls or
//     -1/2207032, 2207082                                   retries; -2/2207020, -1/2207053, 24/2207008
//                                                            (the container is gone) are permanent, and the
//                                                            adapter recreates the container once
//   anything else in an error body                          permanent (parameters, permissions, media)
//
// An answer without a Graph error body falls back on errors::classify_http().
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "platforms/errors/classification.hpp"

namespace schedulo::graph {

struct GraphError {
  long long code = 0;
  long long subcode = 0;  // 0 when absent
  std::string message;
  std::string type;
  std::string user_title;
  std::string user_message;
  bool is_transient = false;
  std::string fbtrace_id;
};

// The `error` object of a Graph answer; nullopt when the body is not one.
std::optional<GraphError> parse_error(std::string_view body);

struct ClassifyOptions {
  // A throttle without a regain time defers this long.
  std::chrono::milliseconds throttle_wait{std::chrono::minutes(5)};
  // 368: not again before this.
  std::chrono::milliseconds policy_block_wait{std::chrono::hours(1)};
};

// The class of a Graph error (body parsed), for an answer with HTTP `status` and headers carrying the
// usage (estimated_time_to_regain_access). The detail is the platform's message; the user message is
// left to the catalogue (messages.json, section "graph").
errors::Classified classify_error(const GraphError& error, int status, const http::Headers& headers,
                                  errors::Safety safety, errors::SystemClock::time_point now,
                                  const ClassifyOptions& options = {});

// The whole answer: its Graph error body when there is one, else the HTTP fallback.
errors::Classified classify(const http::Result<http::Response>& answer, errors::Safety safety,
                            errors::SystemClock::time_point now, const ClassifyOptions& options = {});

// Whether a class-and-code is Instagram's "media not ready" (9007 / 2207027).
bool not_ready(const errors::Classified& c);
// Whether the container the call used is gone for good (expired, failed upload, builder expired): the
// Instagram adapter makes a new one.
bool container_gone(const errors::Classified& c);

}  // namespace schedulo::graph
