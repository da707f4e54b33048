#include "jobs/noop_platform.hpp"

#include <tuple>

namespace schedulo::jobs {
namespace {

// Waits `delay` (none when zero); false when the wait was cancelled.
net::awaitable<bool> take_time(std::chrono::milliseconds delay) {
  bool completed = true;
  if (delay.count() > 0) {
    net::Timer timer(co_await net::asio::this_coro::executor);
    timer.expires_after(delay);
    const auto result = co_await timer.async_wait();
    completed = !std::get<0>(result);
  }
  co_return completed;
}

Outcome cancelled() {
  return Outcome::retry("the noop step was cancelled", "cancelled");
}

class NoopSteps final : public PublishSteps {
 public:
  explicit NoopSteps(std::chrono::milliseconds delay) : delay_(delay) {}
  net::awaitable<StepResult> run(PublishStep step, JobContext& job, nlohmann::json& ids) override {
    StepResult result;
    if (step == PublishStep::upload) {
      const bool completed = co_await take_time(delay_);
      if (!completed) result = cancelled();
    }
    if (step == PublishStep::publish) ids["published_id"] = "noop-" + job.lease().id;
    co_return result;
  }
  net::awaitable<Existence> find_existing(JobContext&, nlohmann::json& ids) override {
    co_return ids.contains("published_id") ? Existence::found : Existence::not_found;
  }
  std::chrono::milliseconds deadline(PublishStep) const override { return std::chrono::seconds(10) + delay_; }

 private:
  std::chrono::milliseconds delay_;
};

class NoopPlatform final : public PlatformAdapter {
 public:
  NoopPlatform(std::string name, std::chrono::milliseconds delay) : name_(std::move(name)), delay_(delay) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<PublishSteps> publish_steps() override { return std::make_unique<NoopSteps>(delay_); }
  net::awaitable<Outcome> refresh_token(JobContext&) override {
    const bool completed = co_await take_time(delay_);
    co_return completed ? Outcome::success({{"refreshed", true}}) : cancelled();
  }
  net::awaitable<Outcome> fetch_analytics(JobContext&) override {
    const bool completed = co_await take_time(delay_);
    co_return completed ? Outcome::success({{"metrics", {}}}) : cancelled();
  }
  net::awaitable<Outcome> revoke_token(JobContext&) override {
    const bool completed = co_await take_time(delay_);
    co_return completed ? Outcome::success({{"revoked", true}}) : cancelled();
  }

 private:
  std::string name_;
  std::chrono::milliseconds delay_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_noop_platform(std::string name, std::chrono::milliseconds delay) {
  return std::make_unique<NoopPlatform>(std::move(name), delay);
}

}  // namespace schedulo::jobs
