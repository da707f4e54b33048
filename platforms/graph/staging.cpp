#include "platforms/graph/staging.hpp"

namespace schedulo::graph {

net::awaitable<jobs::StepResult> stage_for_publish(http::HttpClient& client, jobs::JobContext& job,
                                                   const std::string& url, http::MediaTarget target,
                                                   const std::string& dir, const StageWording& wording,
                                                   http::StagedMedia& staged) {
  http::StageOptions options;
  options.dir = dir;
  auto result = co_await http::stage_media(client, url, target, options);
  if (!result) {
    const auto& e = result.error();
    job.log().warn("staging media failed: {}", e.message);
    const std::string kind(http::to_string(e.kind));
    if (e.permanent())
      co_return jobs::Outcome::fail(wording.permanent + e.message,
                                    wording.permanent_code.empty() ? kind : wording.permanent_code);
    co_return jobs::Outcome::retry(wording.transient + e.message,
                                   wording.transient_code.empty() ? kind : wording.transient_code);
  }
  staged = std::move(*result);
  co_return std::nullopt;
}

}  // namespace schedulo::graph
