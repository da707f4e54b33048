#pragma once
// The sandbox core: what every emulated API shares. An emulator registers itself (ApiSpec: its name,
// its error and 429 shapes, its persisted state) and its routes; the core wraps every route so that it
// is logged, faults apply to it, and state is saved after a successful change. The admin routes
// (/_sandbox/...) read and steer the core: clock, faults, request log, accounts, state.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/http_server.hpp"
#include "sandbox/core/clock.hpp"
#include "sandbox/core/faults.hpp"
#include "sandbox/core/request_log.hpp"

namespace schedulo::sandbox {

using json = nlohmann::json;
using server::Request;
using server::Response;

// A synchronous route handler: emulators compute their answer at once (time passes on the clock).
using RouteHandler = std::function<Response(Request&)>;
// An asynchronous one, for the few answers that wait on I/O of their own (an emulator fetching a
// media URL the way the platform would). It must not keep pointers into the emulator's state across
// a co_await: other requests run meanwhile.
using AsyncRouteHandler = std::function<net::awaitable<Response>(Request&)>;

// What an API that routes itself (Graph: /{node-id}/{edge}, where the node's kind decides the
// endpoint) makes of one request: the api and route names that faults and the log see, and the handler.
struct Dispatch {
  std::string api;
  std::string name;
  AsyncRouteHandler handler;
};
using Dispatcher = std::function<Dispatch(Request&)>;

struct ApiSpec {
  std::string name;  // "airtable", "bubble", "cdn", ...
  // The API's own error answer for an injected status (error and outage faults).
  std::function<Response(int status)> error;
  // The API's own 429 (body and rate-limit headers) for rate_limit faults.
  std::function<Response()> throttled;
  // Persisted state (--state): what to save, and how to restore it. Either may be empty.
  std::function<json()> save;
  std::function<void(const json&)> load;
};

struct CoreOptions {
  std::string state_file;  // empty: nothing persisted
  bool frozen_clock = false;
  std::size_t log_capacity = 10000;
  // How clients reach the sandbox ("http" or "https"): emulators that hand out URLs of their own
  // (upload URIs) build them from it and the request's Host.
  std::string scheme = "http";
  // Extra trust anchor (PEM file) for the emulators' own outgoing fetches (the sandbox's CA with --tls).
  std::string ca_file;
};

class Core {
 public:
  Core(const net::Executor& executor, CoreOptions options);

  void add_api(ApiSpec spec);
  // An emulated API's route, named "<api>.<what>" for faults and the log.
  void route(const std::string& api, std::string name, std::string method, std::string pattern, RouteHandler handler);
  // A route whose api and name are decided per request by `dispatcher` (registered APIs only).
  void route_dynamic(std::string method, std::string pattern, Dispatcher dispatcher);
  // An admin route under /_sandbox (not logged, never faulted).
  void admin_route(std::string method, const std::string& pattern, RouteHandler handler);
  // Every route, the admin ones first; unknown paths get `fallback` (default: 404 JSON).
  server::Router build_router(RouteHandler fallback = {});

  Clock& clock() { return clock_; }
  RequestLog& log() { return log_; }
  Faults& faults() { return faults_; }
  const CoreOptions& options() const { return options_; }
  net::Executor executor() const { return executor_; }
  // Connected accounts, by key ("demo-instagram"): one JSON record each (what the token issues read).
  json& accounts() { return accounts_; }

  // Restores --state (false with `error` set when the file exists but cannot be read).
  bool load_state(std::string& error);
  // Writes --state atomically (temporary file, then rename); no-op without a state file.
  void save_state();
  json state() const;

 private:
  struct PendingRoute {
    std::string method;
    std::string pattern;
    server::Handler handler;
  };
  net::awaitable<Response> run(const ApiSpec& api, const std::string& name, const AsyncRouteHandler& handler,
                               Request& req);
  const ApiSpec* find_api(const std::string& name) const;
  void add_admin_routes();
  void connect_demo_accounts();

  net::Executor executor_;
  CoreOptions options_;
  Clock clock_;
  RequestLog log_;
  Faults faults_;
  json accounts_ = json::object();
  std::vector<std::unique_ptr<ApiSpec>> apis_;
  std::vector<PendingRoute> admin_;
  std::vector<PendingRoute> routes_;
};

// Makes an emulator (constructed from the core, with an install() registering its API and routes)
// and hands it back: the routes point into it, so keep it while the server runs.
template <typename Emulator>
std::shared_ptr<void> install_emulator(Core& core) {
  auto emulator = std::make_shared<Emulator>(core);
  emulator->install();
  return emulator;
}

// Helpers for handlers.
Response json_response(int status, const json& body);
// A request body parsed as JSON, or nullopt (bad JSON).
std::optional<json> parse_body(const Request& request);
// The Bearer token of the Authorization header, or empty.
std::string bearer_token(const Request& request);

}  // namespace schedulo::sandbox
