#pragma once
// Bubble's Workflow API (platform-apis.md section 6.2): POST or GET /api/1.1/wf/NAME (live) and
// /version-test/api/1.1/wf/NAME (development), with the Bearer API token; each call is recorded
// (GET /_sandbox/bubble/calls, and the request log) and answered {"status":"success","response":{}}.
#include <memory>

#include "sandbox/core/core.hpp"

namespace schedulo::sandbox::bubble {

inline constexpr const char* kApiToken = "sbx-bubble-admin-api-token-0001";

std::shared_ptr<void> install(Core& core);

}  // namespace schedulo::sandbox::bubble
