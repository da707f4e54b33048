#pragma once
// The `schedulo` subcommands. Each returns the process exit status documented in interface.md.
#include <string>
#include <vector>

namespace schedulo::daemon {

int command_run(const std::string& config_path);
// jobs: JSON texts; "-" reads one job per line from stdin. Validates all, then enqueues all.
int command_enqueue(const std::string& config_path, const std::vector<std::string>& jobs);
int command_cancel(const std::string& config_path, const std::string& id);
int command_status(const std::string& config_path, const std::string& id);
int command_jobs(const std::string& config_path, const std::string& platform, const std::string& account,
                 const std::string& state, int limit);
int command_stats(const std::string& config_path);
int command_dead(const std::string& config_path, const std::string& action, const std::string& id,
                 const std::string& before);
int command_pause(const std::string& config_path, const std::string& target, bool pause);
int command_config_check(const std::string& config_path);
int command_config_example();

// Airtable and the outbox (issue 7, docs/airtable.md).
int command_resync(const std::string& config_path, bool dry_run);
// action: "check" (exit 1 when something is missing) or "init".
int command_airtable(const std::string& config_path, const std::string& action);
// action: "stats", "dead" (list), "retry" (item "<dest>|<key>" or "all").
int command_outbox(const std::string& config_path, const std::string& action, const std::string& item);

}  // namespace schedulo::daemon
