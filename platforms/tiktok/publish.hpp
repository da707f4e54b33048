#pragma once
// The TikTok publish steps (publish.cpp), made per attempt by the adapter (adapter.cpp).
#include <memory>

#include "jobs/platform.hpp"
#include "platforms/tiktok/api.hpp"

namespace schedulo::tiktok {

std::unique_ptr<jobs::PublishSteps> make_publish_steps(Api& api, tokens::TokenProvider& provider);

}  // namespace schedulo::tiktok
