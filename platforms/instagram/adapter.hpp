#pragma once
// The Instagram platform (issue 9): the publish steps, analytics and token jobs as a
// jobs::PlatformAdapter, and the token calls for the token core. Wired in daemon/live_platforms.cpp.
#include <memory>

#include "jobs/platform.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/instagram/options.hpp"
#include "platforms/token_calls.hpp"
#include "tokens/provider.hpp"

namespace schedulo::instagram {

// `guard` for every job's call; `http` (unguarded) for staging and token calls; `tokens` null
// without a vault (jobs then fail saying so).
std::unique_ptr<jobs::PlatformAdapter> make_adapter(errors::CallGuard& guard, http::HttpClient& http,
                                                    tokens::TokenProvider* tokens, InstagramOptions options);

}  // namespace schedulo::instagram
