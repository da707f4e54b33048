#pragma once
// The `schedulo run` process a TikTok test drives (tests/support/child_process.hpp behind a header of
// its own: that header and sandbox_process.hpp both define test::CommandResult).
#include <chrono>
#include <memory>
#include <string>

namespace schedulo::test {

class Child;

class DaemonChild {
 public:
  DaemonChild(const std::string& binary, const std::string& config, const std::string& log);
  ~DaemonChild();
  DaemonChild(const DaemonChild&) = delete;
  DaemonChild& operator=(const DaemonChild&) = delete;

  // Starts it and waits (within `limit`) until it consumes jobs; false when it did not.
  bool start(std::chrono::milliseconds limit);
  void kill9();
  std::string log() const;

 private:
  std::unique_ptr<Child> child_;
};

}  // namespace schedulo::test
