#pragma once
// Facebook Pages in live mode (issue 10; platform-apis.md sections 1.0 and 4): the publish steps of
// every post kind (answers.hpp), reconciliation, post insights, and the Page tokens' calls, all on the
// shared Graph client (platforms/graph) through the CallGuard.
//
// Accounts publish with Page tokens (from me/accounts; they do not expire but die with the user's
// password change, role removal or revocation: 190/460, 492, 467). The Page is the token's own
// (`GET /me` with a Page token), cached per account. A refresh_token job on Facebook is a validity
// check with debug_token: Page tokens cannot be renewed, only watched.
#include <chrono>
#include <memory>
#include <string>

#include "common/secret.hpp"
#include "jobs/platform.hpp"
#include "platforms/errors/call_guard.hpp"
#include "platforms/facebook/answers.hpp"
#include "platforms/http/client.hpp"
#include "platforms/token_calls.hpp"
#include "queue/rate_limiter.hpp"
#include "tokens/provider.hpp"

namespace schedulo::facebook {

// How a video reaches Facebook: `file_url` lets Facebook fetch the job's URL itself; `upload` stages
// the file and sends it (the start/transfer/finish phases for videos, rupload for reels), which also
// gives the video's id before the irreversible call; `auto` uploads when the media host is not a
// public address (Facebook could not fetch it) and uses file_url otherwise.
enum class VideoTransfer { automatic, file_url, upload };

struct FacebookOptions {
  std::string base_url;   // platforms.facebook.base_url (https://graph.facebook.com/v25.0)
  std::string video_url;  // platforms.facebook.upload_url (https://graph-video.facebook.com/v25.0)
  std::string app_id;     // platforms.facebook.client_id (debug_token and revocation use the app token)
  Secret app_secret;      // platforms.facebook.client_secret (also appsecret_proof)
  queue::LimitTable limits;
  VideoTransfer video_transfer = VideoTransfer::automatic;
  std::chrono::milliseconds status_poll{10000};  // between reads of a processing video or reel
  std::chrono::hours reconnect_ahead{24 * 7};    // ask for a reconnect this long before data access ends
  std::string staging_dir = "/tmp";
  std::chrono::milliseconds throttle_wait{std::chrono::minutes(5)};  // limits.graph_throttle_wait_ms
};

// The Pages a user manages and their Page tokens (4.1: GET /me/accounts, every page of results), from
// a long-lived user token: what connecting a Facebook account stores (a Page token from a long-lived
// user token does not expire). Unguarded: the connect flow calls it under its own deadline.
struct PagesAnswer {
  bool ok = false;
  std::vector<PageAccount> pages;
  std::string error;  // for people; never a token
};
net::awaitable<PagesAnswer> list_pages(http::HttpClient& http, const FacebookOptions& options,
                                       const Secret& user_token);

std::unique_ptr<jobs::PlatformAdapter> make_facebook_platform(errors::CallGuard& guard, http::HttpClient& http,
                                                              tokens::TokenProvider& provider,
                                                              const FacebookOptions& options);
std::unique_ptr<platforms::TokenCalls> make_facebook_token_calls(http::HttpClient& http,
                                                                 const FacebookOptions& options);

}  // namespace schedulo::facebook
