#pragma once
// The `schedulo` subcommands. Each returns the process exit status documented in interface.md.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "jobs/platform.hpp"
#include "platforms/token_calls.hpp"
#include "tokens/provider.hpp"

namespace schedulo::daemon {

// What `schedulo run` is extended with before it starts consuming: platform adapters and their token
// calls, by platform name. Each platform registers its own; the token tests add a test platform
// (tests/tokens/token_worker.cpp) to run the real daemon against their endpoint.
struct RunContext {
  const Config& config;
  tokens::TokenProvider* tokens;  // null when no vault is configured
  std::map<std::string, std::unique_ptr<jobs::PlatformAdapter>>& adapters;
  std::map<std::string, std::unique_ptr<platforms::TokenCalls>>& token_calls;
};
using RunPlugin = std::function<void(RunContext&)>;

int command_run(const std::string& config_path, const RunPlugin& plugin = {});
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
// ids: job ids, "-" reads one per line from stdin; or all = every dead and needs_review job finished
// before `before` (RFC 3339, "" = now). platform: only that platform's jobs. Progress on stderr.
int command_dead_retry(const std::string& config_path, const std::vector<std::string>& ids, bool all,
                       const std::string& platform, const std::string& before);
// Purges in batches with progress on stderr.
int command_dead_purge(const std::string& config_path, const std::string& before);

// Airtable and the outbox (issue 7, docs/airtable.md).
int command_resync(const std::string& config_path, bool dry_run);
// action: "check" (exit 1 when something is missing) or "init".
int command_airtable(const std::string& config_path, const std::string& action);
// action: "stats", "dead" (list), "retry" (item "<dest>|<key>" or "all").
int command_outbox(const std::string& config_path, const std::string& action, const std::string& item);

}  // namespace schedulo::daemon
