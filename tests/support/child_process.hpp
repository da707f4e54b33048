#pragma once
// Test support: child processes for tests that run the daemon (or a test binary over its code) and
// the command line. A Child's stdout and stderr append to one log file, kept across restarts, so a
// test can read (and grep) everything the process ever wrote.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/command.hpp"

namespace schedulo::test {

// Our environment without SCHEDULO_* variables, so an override set for the test run cannot point a
// child elsewhere.
std::vector<std::string> child_environment();

class Child {
 public:
  Child(std::vector<std::string> args, std::string log);
  ~Child();  // SIGKILL if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void start();
  void kill9();
  void terminate();  // SIGTERM
  bool running();
  // The exit status (128 + signal when a signal ended it) once it ended within `limit`.
  std::optional<int> wait_exit(std::chrono::milliseconds limit);
  const std::string& log_path() const { return log_; }
  std::string log() const;

 private:
  std::vector<std::string> args_;
  std::string log_;
  pid_t pid_ = -1;
};

// Runs a command to its end with `input` on stdin, capturing stdout and stderr apart.
CommandResult run_command(const std::vector<std::string>& args, const std::string& input = {});

std::string read_file(const std::string& path);

}  // namespace schedulo::test
