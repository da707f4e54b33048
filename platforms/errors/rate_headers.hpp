#pragma once
// Parsers for what each platform says about its limits (shared/docs/platform-apis.md, "Rate-limit
// signalling at a glance"), each tested against the reference's examples. Lenient in what they read
// (a bad field is left out, never guessed) and pure: times are computed from the `now` passed in.
//
//   Retry-After                 delta-seconds or an HTTP-date (Airtable 503, Bubble, generic 429/503)
//   x-rate-limit-*              X: limit, remaining, reset (epoch s), and the 24-hour user/app sets
//   X-App-Usage, X-Page-Usage   Meta platform usage in % (X-Page-Usage may add a regain time)
//   X-Business-Use-Case-Usage   Meta BUC usage per business object, with estimated_time_to_regain_access
//                               (minutes)
//   TikTok error bodies         {"error":{"code":"rate_limit_exceeded","message","log_id"}} (429, no headers)
//   Airtable error bodies       {"error":{"type":"RATE_LIMIT_REACHED",...}} or {"error":"NOT_FOUND"}
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platforms/http/headers.hpp"

namespace schedulo::errors {

using SystemTime = std::chrono::system_clock::time_point;

// Retry-After: "120" (seconds) or an HTTP-date (IMF-fixdate, RFC 850 or asctime form). A date in the
// past gives `now`. nullopt when absent or unreadable.
std::optional<SystemTime> parse_retry_after(std::string_view value, SystemTime now);
std::optional<SystemTime> retry_after(const http::Headers& headers, SystemTime now);

// One x-rate-limit set: each field present only when its header is a number.
struct XRateWindow {
  std::optional<long long> limit;
  std::optional<long long> remaining;
  std::optional<SystemTime> reset;  // from epoch seconds
  bool present() const { return limit || remaining || reset; }
  bool exhausted() const { return remaining && *remaining <= 0; }
};

struct XRateLimits {
  XRateWindow window;    // x-rate-limit-{limit,remaining,reset} (the 15-minute window)
  XRateWindow user_24h;  // x-user-limit-24hour-*  (POST /2/tweets)
  XRateWindow app_24h;   // x-app-limit-24hour-*
};
XRateLimits parse_x_rate_limits(const http::Headers& headers);
// When a 429 from X clears: the latest reset among exhausted 24-hour sets, else the window's reset.
std::optional<SystemTime> x_limit_clears_at(const XRateLimits& limits);

// X-App-Usage / X-Page-Usage: {"call_count":28,"total_time":25,"total_cputime":25}. Values are whole
// percentages; Meta throttles when any reaches 100.
struct AppUsage {
  int call_count = 0;
  int total_time = 0;
  int total_cputime = 0;
  std::optional<int> regain_minutes;  // estimated_time_to_regain_access (X-Page-Usage only, if sent)
  int percent() const;                // the highest of the three
};
std::optional<AppUsage> parse_app_usage(std::string_view value);

// X-Business-Use-Case-Usage: {"<object id>":[{"type":"pages","call_count":97,...,
// "estimated_time_to_regain_access":0}], ...} (up to 32 objects, each with one entry per type).
struct BucUsage {
  std::string object_id;  // the Page, IG user or ad account id
  std::string type;       // pages, instagram, ads_insights, ...
  int call_count = 0;
  int total_time = 0;
  int total_cputime = 0;
  int regain_minutes = 0;  // estimated_time_to_regain_access; 0 = not throttled
  int percent() const;
  std::chrono::minutes regain() const { return std::chrono::minutes(regain_minutes); }
};
std::vector<BucUsage> parse_buc_usage(std::string_view value);

// TikTok's v2 envelope error, and the flat OAuth one ({"error":"invalid_grant","error_description",
// "log_id"}). `code` "ok" means success (also with HTTP 200 for failures: always read the body).
struct TikTokError {
  std::string code;
  std::string message;
  std::string log_id;  // "log_id" in examples, "logid" in the docs' tables: both are read
  bool ok() const { return code == "ok"; }
  bool rate_limited() const { return code == "rate_limit_exceeded"; }
};
std::optional<TikTokError> parse_tiktok_error(std::string_view body);

// Airtable's error body: `error` as an object {type, message} or a bare string ("NOT_FOUND").
struct AirtableError {
  std::string type;
  std::string message;
  bool rate_limited() const { return type == "RATE_LIMIT_REACHED"; }
};
std::optional<AirtableError> parse_airtable_error(std::string_view body);

}  // namespace schedulo::errors
