#pragma once
// Runs a command line through /bin/sh and returns its exit status and output (stdout, and stderr
// when asked), for tests that drive the `schedulo` binary or system tools such as dpkg. CommandResult
// is also what run_command(args, input) of child_process.hpp returns (stderr apart there).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace schedulo::test {

struct CommandResult {
  int status = -1;  // the exit status; -1 when it did not exit normally (child_process.hpp: 128 + signal)
  std::string out;  // what it printed on stdout (with stderr when the line asked for it)
  std::string err;  // stderr, when it was captured apart (child_process.hpp's run_command)
};

// Add "2>&1" to the line to capture stderr as well.
inline CommandResult run_command(const std::string& line) {
  CommandResult result;
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) result.out.append(buffer.data(), n);
  const int raw = ::pclose(pipe);
  result.status = (raw != -1 && WIFEXITED(raw)) ? WEXITSTATUS(raw) : -1;
  return result;
}

// Single-quotes a word for the shell.
inline std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs `argv` through the shell, stdout and stderr together in `out`.
inline CommandResult run_shell(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& word : argv) line += shell_quote(word) + " ";
  return run_command(line + "2>&1");
}

}  // namespace schedulo::test
