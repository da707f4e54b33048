#pragma once
// A publish step of a Graph platform (Instagram, Facebook Pages) staging one media item: downloaded,
// inspected and checked against the target's limits (platforms/http/staging.hpp), or the outcome that
// ends the step when it cannot be.
#include <string>

#include "common/net.hpp"
#include "jobs/job_context.hpp"
#include "jobs/platform.hpp"
#include "platforms/http/staging.hpp"

namespace schedulo::graph {

// How the platform words a media item it cannot stage: the start of the message when no retry can
// help (the file breaks a rule, the URL is refused) and when another attempt may (the download
// failed); an empty code stands for the staging error's kind (bad_media, http_status, ...).
struct StageWording {
  std::string permanent;
  std::string transient;
  std::string permanent_code;
  std::string transient_code;
};

// Stages `url` for `target` in `dir` into `staged`; nullopt when it is there, else the job fails
// (a permanent error) or is retried, with the error's message after the wording's start.
net::awaitable<jobs::StepResult> stage_for_publish(http::HttpClient& client, jobs::JobContext& job,
                                                   const std::string& url, http::MediaTarget target,
                                                   const std::string& dir, const StageWording& wording,
                                                   http::StagedMedia& staged);

}  // namespace schedulo::graph
