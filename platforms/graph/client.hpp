#pragma once
// The Graph client shared by Instagram and Facebook Pages (platform-apis.md 1.0): one guarded call to
// the versioned Graph API and its answer as parsed JSON plus its class in the error taxonomy.
//
// - the base URL (with its version, "https://graph.facebook.com/v25.0") comes from configuration
//   (platforms.<p>.base_url); a call names a path under it or an absolute URL (rupload, graph-video);
// - the token is sent as `access_token` (query for GET and DELETE, form field for a form POST, query
//   for JSON and raw bodies) or as `Authorization: OAuth <token>` (rupload); with an app secret
//   configured, `appsecret_proof` = hex HMAC-SHA256(app secret, token) goes along;
// - the token, the app secret and the proof are the call's secrets: never logged (CallSpec::secrets);
// - every call goes through errors::CallGuard: the account's Business Use Case bucket
//   (<p>:account:buc:<object id>) and the app bucket (<p>:app:app_usage) run in usage mode on
//   X-Business-Use-Case-Usage, X-App-Usage and X-Page-Usage; a throttle answer blocks the first;
// - classification by error.code and error_subcode (graph/errors.hpp).
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/net.hpp"
#include "common/secret.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/graph/errors.hpp"

namespace schedulo::graph {

using Params = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded (also right for a query string).
std::string form_encode(const Params& params);
// Hex HMAC-SHA256 of the token keyed with the app secret.
std::string appsecret_proof(std::string_view token, std::string_view app_secret);

struct GraphOptions {
  std::string platform;  // "instagram" or "facebook": buckets, catalogue, breaker, logs
  std::string base_url;  // platforms.<p>.base_url, e.g. https://graph.facebook.com/v25.0
  Secret app_secret;     // platforms.<p>.client_secret; empty: no appsecret_proof
  queue::LimitTable limits;
  http::Timeouts timeouts;
  ClassifyOptions classify;
};

enum class TokenPlacement { param, oauth_header, none };

// A raw request body (rupload bytes, a multipart body built by the caller).
struct RawBody {
  std::string content_type;
  std::variant<std::string, http::FileRange> data;
};

struct GraphCall {
  std::string method = "GET";
  std::string path;                    // "/{id}/media" under base_url, or an absolute http(s) URL
  Params params;                       // GET, DELETE: the query; POST: the form body (unless json or raw)
  std::optional<nlohmann::json> json;  // POST a JSON body (params then go in the query)
  std::optional<RawBody> raw;          // POST raw bytes (params then go in the query)
  http::Headers headers;               // extra headers (rupload's offset, file_size)
  const Secret* token = nullptr;       // the account's token (not owned)
  TokenPlacement token_in = TokenPlacement::param;
  errors::Safety safety = errors::Safety::idempotent;
  std::string endpoint;                // stable name for logs: "POST /{ig-user-id}/media_publish"
  std::string job_id;                  // for the log line
  std::string account;                 // the account's id in the core (notifications)
  std::string object_id;               // the Business Use Case object (IG user id, Page id): its bucket
  std::vector<queue::Bucket> buckets;  // more buckets, after the BUC and app ones
  std::optional<http::Timeouts> timeouts;
  bool breaker = true;
};

struct GraphAnswer {
  errors::GuardedCall call;
  nlohmann::json body;  // the parsed body (null when empty or not JSON)

  bool ok() const { return call.ok(); }
  bool deferred() const { return call.deferred.has_value(); }
  const errors::Classified& classified() const { return call.classified; }
  // Throttled (a rate-limit answer: Graph codes 4, 17, 32, 613, ..., HTTP 429) or held back by the
  // limiter or the breaker before it was sent: a check that ended so tells nothing yet.
  bool throttled_or_held() const { return deferred() || call.classified.kind == errors::ErrorClass::rate_limited; }
  // A member of the body as a string ("id"); "" when absent. Numbers are turned into text exactly.
  std::string text(std::string_view name) const;
};

// The HTTP request of a call, token and proof included (token endpoints use it unguarded).
http::Request build_request(const GraphOptions& options, const GraphCall& call);
// The CallSpec of a call: buckets, secrets, classification and usage feedback.
errors::CallSpec build_spec(const GraphOptions& options, const GraphCall& call);
// The absolute URL of a path under the base URL (an absolute URL stays as it is).
std::string graph_url(const GraphOptions& options, std::string_view path);

class GraphClient {
 public:
  GraphClient(errors::CallGuard& guard, GraphOptions options);

  net::awaitable<GraphAnswer> call(const GraphCall& call);

  http::Request request(const GraphCall& call) const { return build_request(options_, call); }
  std::string url(std::string_view path) const { return graph_url(options_, path); }
  errors::CallSpec spec(const GraphCall& call) const { return build_spec(options_, call); }

  const GraphOptions& options() const { return options_; }
  errors::CallGuard& guard() { return guard_; }

 private:
  errors::CallGuard& guard_;
  GraphOptions options_;
};

// Usage feedback of a Graph answer for `platform`'s buckets (CallSpec::feedback).
errors::Feedback usage_feedback(const std::string& platform, const queue::LimitTable& limits);
// The buckets of a call about `object_id` ("" = app only): BUC first, then the app.
std::vector<queue::Bucket> graph_buckets(const std::string& platform, const queue::LimitTable& limits,
                                         std::string_view object_id);

// Reads a JSON body leniently: null when it is empty or not JSON.
nlohmann::json parse_body(std::string_view body);

}  // namespace schedulo::graph
