#pragma once
// The TikTok emulator (platform-apis.md section 2): OAuth v2 (authorize, code exchange, refresh with
// rotation, revoke), Content Posting (creator_info, Direct Post and inbox video init with FILE_UPLOAD
// or PULL_FROM_URL, the chunked PUT to upload_url, photo init, status, cancel), the Display API
// (user/info, video/query, video/list), the per-token per-minute limits and the v2 envelope
// {data, error:{code,message,log_id}}. API paths live under /tiktok (the daemon config's base_url),
// uploads under /tiktok-upload. Test controls under /_sandbox/tiktok (see tiktok.cpp, install()).
#include <functional>
#include <memory>
#include <string>

#include "sandbox/core/core.hpp"

namespace schedulo::sandbox::tiktok {

// The app the daemon's sandbox config names (daemon_config.cpp).
inline constexpr const char* kClientKey = "sbx-tiktok-client-id";
inline constexpr const char* kClientSecret = "sbx-tiktok-client-secret";

// PULL_FROM_URL downloads run on `executor`. `self_url` gives the sandbox's own scheme://host:port once
// it listens: upload_url points there when a request's Host header carries no port, and "{self}" in a
// verified URL prefix stands for it.
std::shared_ptr<void> install(Core& core, net::Executor executor, std::function<std::string()> self_url);

}  // namespace schedulo::sandbox::tiktok
