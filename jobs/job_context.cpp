#include "jobs/job_context.hpp"

#include <algorithm>

#include "common/rfc3339.hpp"

namespace schedulo::jobs {

JobContext::JobContext(queue::Store& store, Job job, queue::Lease lease, Clock::time_point lease_deadline)
    : store_(store), job_(std::move(job)), lease_(std::move(lease)), lease_deadline_(lease_deadline),
      log_(lease_.id) {
  if (!lease_.checkpoint.empty()) checkpoint_ = nlohmann::json::parse(lease_.checkpoint, nullptr, false);
  if (checkpoint_.is_discarded()) checkpoint_ = nullptr;
}

net::awaitable<bool> JobContext::save_checkpoint(nlohmann::json checkpoint, std::chrono::milliseconds covering) {
  if (lost_) co_return false;
  const auto sent_at = Clock::now();
  const auto length = covering.count() > 0
                          ? std::max(store_.settings().lease,
                                     std::chrono::duration_cast<std::chrono::milliseconds>(covering + 2 * kLeaseMargin))
                          : store_.settings().lease;
  auto saved = co_await store_.checkpoint(lease_.id, lease_.token, checkpoint.dump(), now_epoch_ms(), length);
  if (!saved) co_return false;  // Redis unreachable: progress not recorded, so do not go on
  if (!*saved) {
    lost_ = true;
    co_return false;
  }
  // Which saves a publish made, for the tests that check a step making no call is not saved alone.
  if (checkpoint.is_object() && spdlog::should_log(spdlog::level::debug)) {
    const auto done = checkpoint.find("done");
    const auto flag = [&](const char* name) {
      const auto it = checkpoint.find(name);
      return it != checkpoint.end() && it->is_boolean() && it->get<bool>();
    };
    log::write(spdlog::level::debug,
               fmt::format("progress saved: done={}{}{}",
                           done != checkpoint.end() && done->is_string() ? done->get<std::string>() : "-",
                           flag("publish_sent") ? " publish_sent" : "", flag("published") ? " published" : ""),
               {{"job", lease_.id}});
  }
  checkpoint_ = std::move(checkpoint);
  extend_lease(sent_at + length);
  co_return true;
}

bool JobContext::lease_covers(std::chrono::milliseconds step) const {
  return !lost_ && Clock::now() + step + kLeaseMargin <= lease_deadline_;
}

net::awaitable<bool> JobContext::ensure_lease_covers(std::chrono::milliseconds step) {
  if (lease_covers(step)) co_return true;
  if (lost_) co_return false;
  const auto sent_at = Clock::now();
  const std::vector<std::pair<std::string, std::uint64_t>> mine{{lease_.id, lease_.token}};
  const auto length = std::max(store_.settings().lease,
                               std::chrono::duration_cast<std::chrono::milliseconds>(step + 2 * kLeaseMargin));
  auto lost = co_await store_.heartbeat(now_epoch_ms(), mine, length);
  if (!lost) co_return false;
  if (!lost->empty()) {
    lost_ = true;
    co_return false;
  }
  extend_lease(sent_at + length);
  co_return lease_covers(step);
}

}  // namespace schedulo::jobs
