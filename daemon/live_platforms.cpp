#include "daemon/live_platforms.hpp"

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
}

}  // namespace schedulo::daemon
