#include "tests/tiktok/daemon_child.hpp"

#include <thread>

#include "tests/support/child_process.hpp"

namespace schedulo::test {
namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

DaemonChild::DaemonChild(const std::string& binary, const std::string& config, const std::string& log)
    : child_(std::make_unique<Child>(std::vector<std::string>{binary, "run", "--config", config}, log)) {}

DaemonChild::~DaemonChild() = default;

bool DaemonChild::start(std::chrono::milliseconds limit) {
  const auto before = count(child_->log(), "ready: consuming jobs");
  child_->start();
  const auto end = std::chrono::steady_clock::now() + limit;
  while (count(child_->log(), "ready: consuming jobs") <= before) {
    if (std::chrono::steady_clock::now() >= end || !child_->running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void DaemonChild::kill9() {
  child_->kill9();
}

std::string DaemonChild::log() const {
  return child_->log();
}

}  // namespace schedulo::test
