#pragma once
// What `schedulo run` and `schedulo sweep` add for the token lifecycle (issue 13), built from the
// configuration: the OAuth connect routes (served by the API server) and the fleet's token sweep.
// Kept apart from commands.cpp so the command stays a short list of components.
#include <memory>

#include "common/net.hpp"
#include "daemon/config.hpp"
#include "daemon/sweep_command.hpp"
#include "jobs/token_sweep.hpp"
#include "queue/notifier.hpp"
#include "queue/store.hpp"
#include "tokens/provider.hpp"
#include "tokens/token_store.hpp"

namespace schedulo::daemon {

class OAuthRoutes;

jobs::SweepOptions sweep_options(const Config& config);
// The provider's hook that turns an account marked needs_reauth into a notification.
std::function<net::awaitable<void>(const tokens::AccountRef&, const std::string&)> needs_reauth_notice(
    queue::Notifier& notifier);

class LifecycleRuntime {
 public:
  // `provider` may be null (no token calls: Page tokens are not introspected).
  LifecycleRuntime(const Config& config, queue::Store& store, tokens::TokenStore& tokens,
                   tokens::TokenProvider* provider, queue::Notifier& notifier);
  ~LifecycleRuntime();
  LifecycleRuntime(const LifecycleRuntime&) = delete;
  LifecycleRuntime& operator=(const LifecycleRuntime&) = delete;

  OAuthRoutes& oauth();
  jobs::TokenSweep& sweep();
  // Starts the sweep loop (every sweep.interval_s, when this daemon holds the lease).
  void start(const net::Executor& executor);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace schedulo::daemon
