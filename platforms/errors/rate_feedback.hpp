#pragma once
// From a platform's answer to what the fleet's rate limiter should know (queue::RateObservation),
// built on the parsers of rate_headers.hpp. Each platform's CallSpec::feedback calls the one for its
// headers; the buckets are the platform's own (its issue decides their names).
//
//   X       a set whose remaining reached 0 blocks its bucket until its reset (15-minute window,
//           24-hour user and app sets of POST /2/tweets)
//   Meta    X-App-Usage and X-Page-Usage become usage readings of the app (page) bucket; each
//           X-Business-Use-Case-Usage entry one of its object's bucket, blocked until
//           estimated_time_to_regain_access when throttled
//   429s    when a platform's 429 clears (x_rate_limit_clears_at, tiktok_..., airtable_...): for a
//           classifier's Classified::clears_at; the CallGuard then blocks the call's first bucket
#include <functional>
#include <optional>
#include <vector>

#include "platforms/errors/rate_headers.hpp"
#include "platforms/http/message.hpp"
#include "queue/rate_limiter.hpp"

namespace schedulo::errors {

struct XBuckets {
  const queue::Bucket* window = nullptr;    // the endpoint's 15-minute bucket
  const queue::Bucket* user_24h = nullptr;  // POST /2/tweets per user per 24 h
  const queue::Bucket* app_24h = nullptr;   // POST /2/tweets per app per 24 h
};
std::vector<queue::RateObservation> x_observations(const http::Headers& headers, SystemTime now, const XBuckets& b);

struct MetaBuckets {
  const queue::Bucket* app = nullptr;   // X-App-Usage
  const queue::Bucket* page = nullptr;  // X-Page-Usage (legacy; read when sent)
  // The bucket of one BUC entry's business object (its id and type), or nullopt to ignore it.
  std::function<std::optional<queue::Bucket>(const BucUsage&)> buc;
};
std::vector<queue::RateObservation> meta_observations(const http::Headers& headers, const MetaBuckets& b);

// When Meta's throttle (codes 4, 17, 32, 613, 80001, 80002 in the platform's mapping) clears: the
// latest estimated_time_to_regain_access among the BUC entries and X-Page-Usage, nullopt when none
// gives one (the mapping then uses its default).
std::optional<SystemTime> meta_regain_at(const http::Headers& headers, SystemTime now);

// When a 429 (or X v1.1's code 88 body) clears: the 24-hour reset when that set is exhausted, else the
// window's reset; 15 minutes when X sent no reset.
std::optional<SystemTime> x_rate_limit_clears_at(const http::Response& response, SystemTime now);
// TikTok sends no headers: a rate_limit_exceeded body (any status) clears after its 1-minute window.
std::optional<SystemTime> tiktok_rate_limit_clears_at(const http::Response& response, SystemTime now);
// Airtable: 429 (or a RATE_LIMIT_REACHED body) -> Retry-After when sent, else its documented 30 s.
std::optional<SystemTime> airtable_rate_limit_clears_at(const http::Response& response, SystemTime now);

}  // namespace schedulo::errors
