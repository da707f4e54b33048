#pragma once
// X (platform-apis.md section 3) as the daemon uses it: the publish steps, analytics, revoke and the
// token calls, built from the configuration's platforms.x block (daemon/live_platforms.cpp).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "jobs/platform.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/http/client.hpp"
#include "platforms/token_calls.hpp"
#include "queue/rate_limiter.hpp"
#include "tokens/provider.hpp"

namespace schedulo::x {

struct XSettings {
  std::string base_url = "https://api.x.com";    // platforms.x.base_url (paths start with /2/)
  std::string upload_url = "https://api.x.com";  // platforms.x.upload_url (media upload v2)
  std::string client_id;
  std::string client_secret;                    // empty: a public client (client_id in the form, no Basic header)
  std::uint64_t chunk_bytes = 1 << 20;          // platforms.x.upload_chunk_bytes: one append segment
  std::chrono::milliseconds inline_wait{2000};  // platforms.x.inline_wait_ms: longer processing -> waiting
  int reconcile_posts = 100;                    // platforms.x.reconcile_posts: recent posts searched
  std::size_t text_limit = 280;                 // platforms.x.text_limit: weighted characters per post
  std::string staging_dir = "/tmp";             // where media files are staged for upload
};

std::unique_ptr<platforms::TokenCalls> make_token_calls(const XSettings& settings, http::HttpClient& http);
// The token endpoint's answer to a refresh (3.1), read and classified; the body is wiped. Pure: fuzzed
// (tests/fuzz/oauth_answers_fuzz.cpp).
platforms::TokenCallResult read_refresh_answer(http::Response& answer, errors::SystemClock::time_point now);

// The adapter of live mode. `http` (unguarded) downloads media and makes the token calls; every API
// call of a job goes through `guard`, with buckets from `limits`.
std::unique_ptr<jobs::PlatformAdapter> make_platform(XSettings settings, http::HttpClient& http,
                                                     errors::CallGuard& guard, tokens::TokenProvider& tokens,
                                                     queue::LimitTable limits);

}  // namespace schedulo::x
