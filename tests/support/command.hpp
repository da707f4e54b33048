#pragma once
// Runs a command line through /bin/sh and returns its exit status and output (stdout, and stderr
// when asked), for tests that drive the `schedulo` binary or system tools such as dpkg.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace schedulo::test {

struct CommandResult {
  int status = -1;     // the exit status; -1 when it did not exit normally
  std::string output;  // what it printed
};

// Add "2>&1" to the line to capture stderr as well.
inline CommandResult run_command(const std::string& line) {
  CommandResult result;
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
    result.output.append(buffer.data(), n);
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

}  // namespace schedulo::test
