#pragma once
// The one place where `workers.mode: "live"` gets its platform adapters and token calls. Each
// platform folder (platforms/instagram, facebook, tiktok, x) adds itself in live_platforms.cpp, in a
// block of its own, from what every platform shares: the configuration, the guarded HTTP path, the
// token provider.
#include <map>
#include <memory>
#include <string>

#include "daemon/config.hpp"
#include "jobs/platform.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/http/client.hpp"
#include "platforms/token_calls.hpp"
#include "queue/store.hpp"
#include "tokens/provider.hpp"

namespace schedulo::daemon {

struct LivePlatformDeps {
  const Config& config;
  http::HttpClient& http;         // unguarded: token endpoints the provider calls under its own lock
  errors::CallGuard& guard;       // every job's platform call: limiter, breaker, classification
  tokens::TokenProvider* tokens;  // null without a vault (then only noop mode can run jobs)
  queue::Store& store;
};

void add_live_platforms(const LivePlatformDeps& deps,
                        std::map<std::string, std::unique_ptr<jobs::PlatformAdapter>>& adapters,
                        std::map<std::string, std::unique_ptr<platforms::TokenCalls>>& token_calls);

// The live platforms' token calls alone (refresh, revoke, introspect), without adapters: what
// `schedulo sweep` introspects Page tokens with, as a running daemon's sweep does.
std::map<std::string, std::unique_ptr<platforms::TokenCalls>> live_token_calls(const Config& config,
                                                                               http::HttpClient& http);

}  // namespace schedulo::daemon
