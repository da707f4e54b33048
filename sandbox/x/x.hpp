#pragma once
// The X API v2 emulator (platform-apis.md section 3), served under /x on the sandbox's port: OAuth 2.0
// with PKCE and single-use rotating refresh tokens, posts (create, delete, replies, duplicate
// refusal), reads with public, non-public and organic metrics, users/me and a user's timeline, media
// upload v2 with its processing state machine on the sandbox clock (and the legacy command= and v1.1
// forms), per-endpoint 15-minute windows, 24-hour caps and a monthly usage cap with X's headers and
// bodies. Test controls live under /_sandbox/x (see sandbox/x/README.md).
#include <memory>

#include "sandbox/core/core.hpp"

namespace schedulo::sandbox::x {

// The app the daemon's printed config names (a confidential client: Basic auth on the token calls).
inline constexpr const char* kClientId = "sbx-x-client-id";
inline constexpr const char* kClientSecret = "sbx-x-client-secret";
// The demo user of the core's "demo-x" account, and its tokens.
inline constexpr const char* kDemoUserId = "1500000000000000001";

std::shared_ptr<void> install(Core& core);

}  // namespace schedulo::sandbox::x
