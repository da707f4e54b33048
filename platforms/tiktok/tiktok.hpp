#pragma once
// TikTok for the daemon (platform-apis.md section 2): the publish steps (creator_info, FILE_UPLOAD in
// chunks streamed from the staged file or PULL_FROM_URL, photo posts, inbox drafts, status polling),
// reconciliation by publish_id, analytics (video/query, user/info) and the rotating OAuth tokens.
// daemon/live_platforms.cpp builds both from the configuration.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jobs/platform.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/http/client.hpp"
#include "platforms/token_calls.hpp"
#include "queue/rate_limiter.hpp"
#include "tokens/provider.hpp"

namespace schedulo::tiktok {

struct Settings {
  std::string base_url = "https://open.tiktokapis.com";  // platforms.tiktok.base_url
  std::string client_key;                                // platforms.tiktok.client_id
  std::string client_secret;                             // platforms.tiktok.client_secret
  // Media URL prefixes verified with TikTok (platforms.tiktok.verified_prefixes): a video under one
  // is posted by PULL_FROM_URL unless the job asks for an upload; photos must be under one.
  std::vector<std::string> verified_prefixes;
  std::uint64_t chunk_bytes = 10ULL << 20;                   // platforms.tiktok.chunk_bytes (5-64 MiB)
  std::chrono::milliseconds status_poll{5000};               // platforms.tiktok.status_poll_ms
  std::chrono::milliseconds public_id_wait{10 * 60 * 1000};  // platforms.tiktok.public_id_wait_ms
  std::string staging_dir = "/tmp";
};

std::unique_ptr<platforms::TokenCalls> make_token_calls(const Settings& settings, http::HttpClient& http);
// The token endpoint's answer to a refresh (2.1), read and classified; the body is wiped. Pure: fuzzed
// (tests/fuzz/oauth_answers_fuzz.cpp).
platforms::TokenCallResult read_refresh_answer(http::Response& answer);

// `limits`: the fleet's table (daemon::limit_table); the buckets use errors/default_limits.cpp's
// tiktok rules. `calls` are the token calls registered for "tiktok" (the revoke_token job uses them).
std::unique_ptr<jobs::PlatformAdapter> make_adapter(const Settings& settings, queue::LimitTable limits,
                                                    errors::CallGuard& guard, tokens::TokenProvider& provider,
                                                    platforms::TokenCalls& calls);

}  // namespace schedulo::tiktok
