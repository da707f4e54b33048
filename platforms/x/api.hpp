#pragma once
// The X calls a job makes, in one place: each endpoint's rate-limit buckets (platform-apis.md 3.6),
// X's error mapping (3.7) and the Bearer token of the job's account (jobs/token_use.hpp: a 401 renews
// the token once and the call is made once more).
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobs/job_context.hpp"
#include "jobs/platform.hpp"
#include "jobs/token_use.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/x/x.hpp"

namespace schedulo::x {

// X's signals (problem+json and the older errors[] shape) as the error taxonomy: 403 duplicate content
// (code "duplicate", permanent), 429 with x-rate-limit-reset or the exhausted 24-hour set, the monthly
// usage cap ("usage-capped", until the next month), 401 auth_expired, "Unsupported Authentication"
// auth_revoked; the rest by classify_http.
errors::Classified classify(const http::Result<http::Response>& answer, errors::Safety safety,
                            errors::SystemClock::time_point now);

// The X endpoints a job calls; each names its limit rules in platforms/errors/default_limits.cpp.
enum class Endpoint {
  tweets_create,
  tweets_lookup,
  users_me,
  user_tweets,
  media_initialize,
  media_append,
  media_finalize,
  media_status,
  media_metadata,
};

// One call's answer: `stop` when the attempt ends here (a deferral, a token the account cannot use);
// otherwise `call` holds the guarded answer, which may be an error the caller maps.
struct XCall {
  jobs::StepResult stop;
  errors::GuardedCall call;
  bool ok() const { return !stop && call.ok(); }
  nlohmann::json json() const;  // the answer's body (discarded when not JSON)
};

class XApi {
 public:
  XApi(const XSettings& settings, errors::CallGuard& guard, tokens::TokenProvider& tokens,
       const queue::LimitTable& limits)
      : settings_(settings), guard_(guard), tokens_(tokens), limits_(limits) {}

  // `request` without its Authorization header: the account's token is added here.
  net::awaitable<XCall> call(jobs::JobContext& job, Endpoint endpoint, http::Request request);

  const XSettings& settings() const { return settings_; }
  tokens::TokenProvider& tokens() { return tokens_; }
  std::string api(std::string_view path) const { return settings_.base_url + std::string(path); }
  std::string upload(std::string_view path) const { return settings_.upload_url + std::string(path); }

 private:
  errors::CallSpec spec(const jobs::JobContext& job, Endpoint endpoint) const;

  const XSettings& settings_;
  errors::CallGuard& guard_;
  tokens::TokenProvider& tokens_;
  const queue::LimitTable& limits_;
};

// Answers read leniently (a member of another type than documented counts as absent: nlohmann's
// value() and get() threw on one, found by tests/fuzz/x_answers_fuzz.cpp). Pure.
// users/me: data.id, "" when absent.
std::string user_id_of(const nlohmann::json& answer);
// A tweets lookup page: adds each post's metrics (public, non-public, organic, created_at) to
// `metrics` by id, and the ids X answers "Not Found Error" for to `missing`.
void read_metrics_page(const nlohmann::json& answer, nlohmann::json& metrics, nlohmann::json& missing);

// The outcome of a call that did not succeed (deferral or classification).
jobs::Outcome failure(const XCall& answer, bool can_reconcile = true);

// application/x-www-form-urlencoded / query component encoding.
std::string url_encode(std::string_view text);
// An http::Request with X's JSON body.
http::Request json_request(std::string method, std::string url, const nlohmann::json& body);
// Per-call deadlines: short for API calls, longer for segments.
http::Timeouts api_timeouts();
http::Timeouts upload_timeouts();

// Weighted length of a post's text (platform-apis.md 3.2): code points in U+0000-10FF, U+2000-200A,
// U+2028-202F, U+2060, U+20A0-20BF count 1, others 2, every http(s) URL 23.
std::size_t weighted_length(std::string_view text);

}  // namespace schedulo::x
