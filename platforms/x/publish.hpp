#pragma once
// X's publish steps (publish.cpp explains the state machine and its checkpoint).
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jobs/platform.hpp"
#include "platforms/http/staging.hpp"
#include "platforms/x/api.hpp"

namespace schedulo::x {

// The step of a media answer's processing_info (initialize, finalize, STATUS): "ready" (none, or
// succeeded), "processing" or "failed". Pure: fuzzed (tests/fuzz/x_answers_fuzz.cpp).
struct Processing {
  std::string state = "ready";
  std::chrono::seconds check_after{1};
  std::string error;
};
Processing processing_of(const nlohmann::json& data);

class XPublishSteps final : public jobs::PublishSteps {
 public:
  XPublishSteps(XApi& api, http::HttpClient& http);
  ~XPublishSteps() override;
  XPublishSteps(const XPublishSteps&) = delete;
  XPublishSteps& operator=(const XPublishSteps&) = delete;

  net::awaitable<jobs::StepResult> run(jobs::PublishStep step, jobs::JobContext& job, nlohmann::json& ids) override;
  net::awaitable<jobs::StepResult> before_publish(jobs::JobContext& job) override;
  net::awaitable<jobs::Existence> find_existing(jobs::JobContext& job, nlohmann::json& ids) override;
  std::chrono::milliseconds deadline(jobs::PublishStep step) const override;
  bool calls_out(jobs::PublishStep step, const jobs::JobContext& job, const nlohmann::json& ids) const override;

 private:
  struct Timeline {
    std::optional<nlohmann::json> posts;  // the account's recent posts, newest first
    bool full = false;                    // as many as asked for: older ones may exist
    std::optional<jobs::Outcome> failure;
  };

  jobs::StepResult validate(const jobs::JobContext& job) const;
  net::awaitable<jobs::StepResult> stage(jobs::JobContext& job, nlohmann::json& ids);
  net::awaitable<jobs::StepResult> stage_one(std::size_t i, const jobs::Media& media);
  net::awaitable<http::Result<http::StagedMedia>> stage_file(const jobs::Media& media);
  net::awaitable<jobs::StepResult> upload(jobs::JobContext& job, nlohmann::json& ids);
  net::awaitable<jobs::StepResult> upload_one(jobs::JobContext& job, const http::StagedMedia& file,
                                              const jobs::Media& media, nlohmann::json& entry);
  net::awaitable<jobs::StepResult> publish(jobs::JobContext& job, nlohmann::json& ids);
  net::awaitable<Timeline> recent_posts(jobs::JobContext& job, nlohmann::json& ids);
  net::awaitable<std::optional<std::string>> locate(jobs::JobContext& job, nlohmann::json& ids,
                                                    const std::vector<std::string>& texts, const nlohmann::json& posts,
                                                    std::size_t k);
  // Appends to `posts` the ids of the job's next posts found in `timeline`, in order, stopping at the
  // first one not there.
  static void match(const jobs::JobContext& job, const nlohmann::json& ids, const std::vector<std::string>& texts,
                    const nlohmann::json& timeline, nlohmann::json& posts);

  XApi& api_;
  http::HttpClient& http_;
  std::vector<std::optional<http::StagedMedia>> staged_;  // this attempt's staged files
};

}  // namespace schedulo::x
