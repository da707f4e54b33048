#include "jobs/noop_platform.hpp"

namespace schedulo::jobs {
namespace {

class NoopSteps final : public PublishSteps {
 public:
  net::awaitable<StepResult> run(PublishStep step, JobContext& job, nlohmann::json& ids) override {
    if (step == PublishStep::publish) ids["published_id"] = "noop-" + job.lease().id;
    co_return std::nullopt;
  }
  net::awaitable<Existence> find_existing(JobContext&, nlohmann::json& ids) override {
    co_return ids.contains("published_id") ? Existence::found : Existence::not_found;
  }
  std::chrono::milliseconds deadline(PublishStep) const override { return std::chrono::seconds(10); }
};

class NoopPlatform final : public PlatformAdapter {
 public:
  explicit NoopPlatform(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<PublishSteps> publish_steps() override { return std::make_unique<NoopSteps>(); }
  net::awaitable<Outcome> refresh_token(JobContext&) override { co_return Outcome::success({{"refreshed", true}}); }
  net::awaitable<Outcome> fetch_analytics(JobContext&) override { co_return Outcome::success({{"metrics", {}}}); }
  net::awaitable<Outcome> revoke_token(JobContext&) override { co_return Outcome::success({{"revoked", true}}); }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_noop_platform(std::string name) {
  return std::make_unique<NoopPlatform>(std::move(name));
}

}  // namespace schedulo::jobs
