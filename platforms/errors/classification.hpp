#pragma once
// The one error taxonomy (architecture: platforms/errors). Every answer from an external API, or the
// lack of one, becomes exactly one of these classes; what happens next follows from the class alone:
//
//   ok               the call did what was asked
//   transient        worth trying again later (5xx, network trouble before the request was sent,
//                    Graph's is_transient); `clears_at` when the platform said when (Retry-After)
//   rate_limited     refused for a limit; `clears_at` is when it lifts (Retry-After,
//                    x-rate-limit-reset, estimated_time_to_regain_access): defer, use no attempt
//   auth_expired     the token is no longer accepted but a refresh can fix it
//   auth_revoked     the user took access away (or changed password): only reconnecting helps
//   permanent        the request itself is wrong for the platform; trying again cannot help. Comes
//                    with the platform's code and a sentence for the user (messages.json)
//   outcome_unknown  the request may have been carried out (sent, then no answer): never sent again
//                    blindly; the job settles it by asking the platform (architecture rule 11)
//
// Each platform maps its own signals (Graph's error.code/error_subcode, TikTok's error.code with HTTP
// 200, X's problem types) and falls back on classify_http() for what it does not recognise.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "platforms/http/errors.hpp"
#include "platforms/http/message.hpp"

namespace schedulo::errors {

using SystemClock = std::chrono::system_clock;

enum class ErrorClass { ok, transient, rate_limited, auth_expired, auth_revoked, permanent, outcome_unknown };
std::string_view to_string(ErrorClass kind);

// Whether repeating the call could do the thing twice. Publishing, uploading a part, refreshing a
// rotating token are `unsafe`: once sent without an answer, their outcome is unknown.
enum class Safety { idempotent, unsafe };

struct Classified {
  ErrorClass kind = ErrorClass::ok;
  // rate_limited: when the limit lifts; transient: not before (Retry-After on a 503). Absent: unknown.
  std::optional<SystemClock::time_point> clears_at;
  int status = 0;            // the HTTP status; 0 when no response came
  std::string code;          // the platform's code ("190", "rate_limit_exceeded"); fallback: "http_503", "timeout"
  std::string subcode;       // the platform's subcode ("460"), if any
  std::string trace_id;      // fbtrace_id, TikTok's log_id, X's x-transaction-id
  std::string detail;        // technical text for the log (the platform's message); never user-facing
  std::string user_message;  // a plain sentence for the user; filled from the catalogue when empty
  std::string action;        // what the user can do about it; likewise

  bool ok() const { return kind == ErrorClass::ok; }
  // The raw code as stored in a job's `error_code`: "190/460", "rate_limit_exceeded", "http_503".
  std::string error_code() const;
  // Time until clears_at from `now` (zero when absent or past).
  std::chrono::milliseconds clears_in(SystemClock::time_point now) const;
};

// The HTTP-level classification, for answers a platform mapping does not recognise:
//  - no response: bad_url, refused_address, too_large, bad_media, media_rejected, too_many_redirects
//    -> permanent; resolve and tls (the request never left) -> transient; network and timeout ->
//    transient for idempotent calls, outcome_unknown for unsafe ones (it may have been sent);
//    cancelled -> transient
//  - 2xx ok; 3xx permanent (no API call should redirect); 401 auth_expired; 408 transient; 429
//    rate_limited (Retry-After, else `default_429_wait`); other 4xx permanent; 503 transient
//    (Retry-After honoured: "not processed, try later"); 500, 502, 504 and other 5xx transient for
//    idempotent calls and outcome_unknown for unsafe ones (a gateway may have passed it on).
Classified classify_http(const http::Result<http::Response>& answer, Safety safety,
                         SystemClock::time_point now = SystemClock::now(),
                         std::chrono::milliseconds default_429_wait = std::chrono::seconds(60));

// How long a platform's 429 without any reset information should block: TikTok counts per minute,
// Airtable's penalty is 30 s, X always sends its reset header (15 min windows).
std::chrono::milliseconds default_429_wait(std::string_view platform);

// The platform's trace id from the answer: x-fb-trace-id, x-transaction-id, x-tt-logid headers, or
// error.fbtrace_id / error.log_id / error.logid / log_id in a JSON body. "" when none.
std::string find_trace_id(const http::Response& response);

}  // namespace schedulo::errors
