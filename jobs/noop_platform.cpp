#include "jobs/noop_platform.hpp"

#include <optional>
#include <tuple>

#include "platforms/http/client.hpp"

namespace schedulo::jobs {
namespace {

Outcome cancelled() {
  return Outcome::retry("the noop step was cancelled", "cancelled");
}

// The one step of a noop job: the configured call, else a wait of `delay` (none when zero). An
// outcome when the step did not complete (cancelled, or the call failed).
net::awaitable<std::optional<Outcome>> take_time(std::chrono::milliseconds delay, const NoopCall& call) {
  if (call.client != nullptr) {
    http::Request request;
    request.url = call.url;
    request.timeouts.connect = std::chrono::seconds(5);
    request.timeouts.headers = std::chrono::seconds(10) + delay;
    request.timeouts.body = std::chrono::seconds(10);
    request.timeouts.total = std::chrono::seconds(20) + delay;
    request.max_response_bytes = 1 << 20;
    auto response = co_await call.client->request(request);
    if (!response) {
      const auto& e = response.error();
      co_return Outcome::retry("the noop call failed: " + std::string(http::to_string(e.kind)) + ": " + e.message,
                               "noop_call");
    }
    if (!response->ok())
      co_return Outcome::retry("the noop call answered HTTP " + std::to_string(response->status), "noop_call");
    co_return std::nullopt;
  }
  if (delay.count() > 0) {
    net::Timer timer(co_await net::asio::this_coro::executor);
    timer.expires_after(delay);
    const auto result = co_await timer.async_wait();
    if (std::get<0>(result)) co_return cancelled();
  }
  co_return std::nullopt;
}

class NoopSteps final : public PublishSteps {
 public:
  NoopSteps(std::chrono::milliseconds delay, const NoopCall& call) : delay_(delay), call_(call) {}
  net::awaitable<StepResult> run(PublishStep step, JobContext& job, nlohmann::json& ids) override {
    StepResult result;
    if (step == PublishStep::upload) {
      auto failed = co_await take_time(delay_, call_);
      if (failed) result = std::move(*failed);
    }
    if (step == PublishStep::publish) ids["published_id"] = "noop-" + job.lease().id;
    co_return result;
  }
  net::awaitable<Existence> find_existing(JobContext&, nlohmann::json& ids) override {
    co_return ids.contains("published_id") ? Existence::found : Existence::not_found;
  }
  // Only the upload step takes time (the configured call or wait); the others only compute.
  bool calls_out(PublishStep step, const JobContext&, const nlohmann::json&) const override {
    if (step == PublishStep::upload) return call_.client != nullptr || delay_.count() > 0;
    return step == PublishStep::publish;
  }
  std::chrono::milliseconds deadline(PublishStep) const override {
    return std::chrono::seconds(call_.client != nullptr ? 30 : 10) + delay_;
  }

 private:
  std::chrono::milliseconds delay_;
  const NoopCall& call_;
};

class NoopPlatform final : public PlatformAdapter {
 public:
  NoopPlatform(std::string name, std::chrono::milliseconds delay, NoopCall call)
      : name_(std::move(name)), delay_(delay), call_(std::move(call)) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<PublishSteps> publish_steps() override { return std::make_unique<NoopSteps>(delay_, call_); }
  net::awaitable<Outcome> refresh_token(JobContext&) override {
    auto failed = co_await take_time(delay_, call_);
    co_return failed ? std::move(*failed) : Outcome::success({{"refreshed", true}});
  }
  net::awaitable<Outcome> fetch_analytics(JobContext&) override {
    auto failed = co_await take_time(delay_, call_);
    co_return failed ? std::move(*failed) : Outcome::success({{"metrics", {}}});
  }
  net::awaitable<Outcome> revoke_token(JobContext&) override {
    auto failed = co_await take_time(delay_, call_);
    co_return failed ? std::move(*failed) : Outcome::success({{"revoked", true}});
  }

 private:
  std::string name_;
  std::chrono::milliseconds delay_;
  NoopCall call_;
};

}  // namespace

std::unique_ptr<PlatformAdapter> make_noop_platform(std::string name, std::chrono::milliseconds delay, NoopCall call) {
  return std::make_unique<NoopPlatform>(std::move(name), delay, std::move(call));
}

}  // namespace schedulo::jobs
