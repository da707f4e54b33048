#pragma once
// The `schedulo` subcommands. Each returns the process exit status documented in interface.md.
#include <string>
#include <vector>

namespace schedulo::daemon {

int command_run(const std::string& config_path);
// jobs: JSON texts; "-" reads one job per line from stdin.
int command_enqueue(const std::string& config_path, const std::vector<std::string>& jobs);
int command_config_check(const std::string& config_path);
int command_config_example();

}  // namespace schedulo::daemon
