#include "daemon/live_platforms.hpp"

#include <cstdlib>

#include "daemon/runtime.hpp"
#include "platforms/x/x.hpp"

namespace schedulo::daemon {

void add_live_platforms(const LivePlatformDeps& deps,
                        std::map<std::string, std::unique_ptr<jobs::PlatformAdapter>>& adapters,
                        std::map<std::string, std::unique_ptr<platforms::TokenCalls>>& token_calls) {
  // One block per platform, each added by its own issue; a platform without a block has no adapter,
  // and its jobs fail with platform_unavailable (jobs/dispatcher.cpp).
  (void)deps;
  (void)adapters;
  (void)token_calls;
  // -- instagram (issue 9) --
  // -- facebook (issue 10) --
  // -- tiktok (issue 11) --
  // -- x (issue 12) --
  {
    const auto& p = deps.config.platforms.at("x");
    x::XSettings xs;
    xs.base_url = p.base_url;
    xs.upload_url = p.upload_url;
    xs.client_id = p.client_id;
    xs.client_secret = p.client_secret;
    xs.chunk_bytes = static_cast<std::uint64_t>(deps.config.x.upload_chunk_bytes);
    xs.inline_wait = std::chrono::milliseconds(deps.config.x.inline_wait_ms);
    xs.reconcile_posts = deps.config.x.reconcile_posts;
    xs.text_limit = static_cast<std::size_t>(deps.config.x.text_limit);
    if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) xs.staging_dir = tmp;
    token_calls["x"] = x::make_token_calls(xs, deps.http);
    if (deps.tokens)
      adapters["x"] = x::make_platform(xs, deps.http, deps.guard, *deps.tokens, limit_table(deps.config));
  }
}

}  // namespace schedulo::daemon
