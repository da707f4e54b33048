#pragma once
// The daemon's HTTP API (shared/design/interface.md, "HTTP API"), on common/http_server:
//   POST   /v1/jobs              one job or an array; 202 with ids (same path as the inbox and CLI)
//   POST   /v1/jobs?validate=1   every check that needs no publishing; nothing enqueued; 200
//   GET    /v1/jobs/{id}         the job record
//   PUT    /v1/jobs/{id}         replace before start (409 once started)
//   DELETE /v1/jobs/{id}         cancel before start (409 once started)
//   GET    /v1/jobs?account=&state=&platform=&limit=
//   GET    /v1/stats             queue figures
//   GET    /healthz              200 only while consuming, Redis answers, due lag under the limit
//   GET    /metrics              Prometheus text
// Bearer http.token on every route but /healthz and (by default) /metrics, compared in constant
// time. Every error is {"error":{"code","message","field"}}. Every route is idempotent: Bubble
// retries a call that takes long, so a job without an id may carry an Idempotency-Key header.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/http_server.hpp"
#include "common/net.hpp"
#include "daemon/api_request.hpp"  // token_matches, the pure request handling
#include "jobs/job_validation.hpp"

namespace schedulo::queue {
class Store;
class Outbox;
}  // namespace schedulo::queue
namespace schedulo::http {
class HttpClient;
}  // namespace schedulo::http

namespace schedulo::daemon {

class Metrics;
class OAuthRoutes;

struct ApiOptions {
  std::string token;  // http.token (required)
  bool public_metrics = true;
  std::size_t max_batch = 500;
  std::chrono::milliseconds health_max_lag{60000};
  std::chrono::milliseconds validate_media_timeout{700};
  bool accounts_required = false;  // workers.mode is live (DeepCheckContext)
  int default_max_attempts = 5;
  jobs::ValidationContext validation;
  std::vector<std::string> platforms{"instagram", "facebook", "tiktok", "x"};
  server::ServerOptions server;
};

// What the API needs from the rest of the daemon. Null outbox / media client: those checks and
// figures are left out.
struct ApiDependencies {
  queue::Store& store;
  queue::Outbox* outbox = nullptr;
  http::HttpClient* media_client = nullptr;
  Metrics& metrics;
  std::function<bool()> consuming;
  // Figures read at scrape time from other parts (circuits, Airtable budget, token states); may be empty.
  std::function<net::awaitable<void>(Metrics&)> gather{};
  OAuthRoutes* oauth = nullptr;  // the OAuth connect routes (issue 13); null: not served
};

class ApiServer {
 public:
  ApiServer(const net::Executor& executor, ApiDependencies deps, ApiOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  net::error_code listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  void start();
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::unique_ptr<server::Server> server_;
};

// Deep validation for validate-only: what the job's account and media look like now. Appends to
// `errors` (problems) and `warnings` (could not check). Defined in api_validate.cpp.
struct DeepCheckContext {
  queue::Store& store;
  http::HttpClient* media_client;
  std::chrono::milliseconds media_timeout;
  // Live mode: an account without a token record is not connected (an error); in noop mode no
  // account needs tokens, so it is only a warning.
  bool accounts_required = false;
};
net::awaitable<void> deep_check(const jobs::Job& job, DeepCheckContext& context,
                                std::vector<jobs::ValidationError>& errors,
                                std::vector<jobs::ValidationError>& warnings);

}  // namespace schedulo::daemon
