#pragma once
// What `schedulo run` adds for the HTTP API and Bubble callbacks (issue 14), built from the
// configuration: the metrics registry, the API server on http.listen, and the callback sender
// draining the outbox's "bubble:callback" dest. Kept apart from commands.cpp so the command stays
// a short list of components.
#include <functional>
#include <memory>

#include "common/net.hpp"
#include "daemon/config.hpp"
#include "jobs/dispatcher.hpp"
#include "queue/store.hpp"

namespace schedulo::daemon {

class Metrics;
class OAuthRoutes;

class ApiRuntime {
 public:
  // Throws std::runtime_error on a start-up error (http.listen without http.token, bad tls.ca_file).
  ApiRuntime(const Config& config, const net::Executor& executor, queue::Store& store);
  ~ApiRuntime();
  ApiRuntime(const ApiRuntime&) = delete;
  ApiRuntime& operator=(const ApiRuntime&) = delete;

  Metrics& metrics();
  // Serves the OAuth connect routes (issue 13) from the next start().
  void set_oauth(OAuthRoutes* routes);
  // Counts every settlement and adds the callback's outbox entry to final ones.
  void attach(jobs::DispatcherOptions& options);
  // Listens on http.listen (when set) and starts the callback sender. False (logged) when the
  // address cannot be bound.
  bool start(std::function<bool()> consuming);
  // Figures /metrics reads from other parts at each scrape; set before start().
  void gather_with(std::function<net::awaitable<void>(Metrics&)> gather);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace schedulo::daemon
