#pragma once
// The Meta Graph emulator (platform-apis.md sections 1.0, 1 and 4): Instagram (Facebook Login and
// Instagram Login) and Facebook Pages on the Graph hosts, rupload, the token endpoints and dialogs of
// both logins, usage headers and throttles, with test controls under /_sandbox/graph. The hosts and
// every endpoint are listed in sandbox/graph/emulator.hpp and docs/sandbox-graph.md.
#include <memory>

#include "sandbox/core/core.hpp"

namespace schedulo::sandbox::graph {

// Registers the Graph, Instagram and Facebook APIs, their routes and their admin routes on the core.
// The routes point into the returned emulator: keep it as long as the server runs.
std::shared_ptr<void> install(Core& core);

}  // namespace schedulo::sandbox::graph
