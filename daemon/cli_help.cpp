#include "daemon/cli_help.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <utility>

namespace schedulo::daemon {
namespace {

constexpr const char* kGenericExit =
    "Exit status: 0 on success; 1 when the operation failed (the message says why); 2 on a bad argument\n"
    "or configuration.";

constexpr const char* kConfigNote =
    "--config FILE is the daemon's configuration ('schedulo config example' prints every key);\n"
    "SCHEDULO_<KEY> environment variables (SCHEDULO_REDIS__URL) override it.";

// Keyed by the command's path without "schedulo".
const std::map<std::string, std::string>& footers() {
  static const std::map<std::string, std::string> texts{
      {"",
       "Run 'schedulo COMMAND --help' for a command's options, examples and exit statuses.\n"
       "Every command that talks to Redis takes --config FILE (the package installs\n"
       "/etc/schedulo/schedulo.json.example); SCHEDULO_<KEY> environment variables override the file and\n"
       "systemd credentials supply secrets. Documentation: /usr/share/doc/schedulo/."},
      {"run",
       "Runs in the foreground until SIGTERM or SIGINT, then stops leasing, lets jobs in flight finish\n"
       "within workers.shutdown_grace_ms and hands the rest back. Logs go to stderr. Under systemd\n"
       "(NOTIFY_SOCKET set) it reports READY, STATUS, WATCHDOG and STOPPING.\n"
       "Example: schedulo run --config /etc/schedulo/schedulo.json\n"
       "Exit status: 0 after a clean shutdown; 1 when Redis is not durable (appendonly yes and\n"
       "maxmemory-policy noeviction are required unless redis.require_durability is false) or on a fatal\n"
       "error; 2 on a bad configuration (each error names its key)."},
      {"enqueue",
       "Every job is validated before any is enqueued; the same id twice is one job.\n"
       "Examples:\n"
       "  schedulo enqueue --config F "
       "'{\"type\":\"publish\",\"platform\":\"x\",\"account\":\"acct-1\",\"post\":{\"text\":\"Hi\"}}'\n"
       "  schedulo enqueue --config F - < jobs.jsonl        (one job per line)\n"
       "Exit status: 0 when all are enqueued (each id printed, duplicates marked); 2 when a job is invalid\n"
       "(nothing is enqueued; each problem names its field) or on a bad configuration; 1 when Redis failed."},
      {"cancel",
       "Example: schedulo cancel --config F post-123\n"
       "Exit status: 0 when cancelled, or when the id is not known yet (the cancel waits for it within the\n"
       "idempotency window); 1 when the job already started or ended (the message says which) or Redis\n"
       "failed; 2 on a bad configuration."},
      {"status",
       "Prints the job's record (state, attempts, error, error_code, result, attempt log) as JSON.\n"
       "Example: schedulo status --config F post-123\n"
       "Exit status: 0 when printed; 1 when there is no such job or Redis failed; 2 on a bad configuration."},
      {"jobs",
       "Example: schedulo jobs --config F --platform tiktok --account acct-1 --state dead\n"
       "Exit status: 0; 1 when Redis failed; 2 on a bad argument or configuration."},
      {"stats",
       "Prints jobs per state and platform, the inbox and control lengths, and how late the oldest due but\n"
       "not started job is (oldest_due_not_started_ms).\n"
       "Exit status: 0; 1 when Redis failed; 2 on a bad configuration."},
      {"dead",
       "Jobs end dead when their attempts are used up, and needs_review when a publish could not be\n"
       "settled (a person checks the platform before retrying). Run 'schedulo dead COMMAND --help'."},
      {"dead list",
       "Lists up to 1000 dead and needs_review jobs, newest first, one JSON object per line (payload left\n"
       "out).\n"
       "Exit status: 0; 1 when Redis failed; 2 on a bad configuration."},
      {"dead retry",
       "Examples:\n"
       "  schedulo dead retry --config F post-123 post-124\n"
       "  schedulo dead retry --config F --all --platform tiktok --before 2026-12-01T00:00:00Z\n"
       "  schedulo dead list --config F | jq -r .id | schedulo dead retry --config F -\n"
       "Progress goes to stderr: a redrawn line on a terminal, otherwise a line every 5 s and a summary.\n"
       "A refused inbox entry (an invalid job) has nothing to run: fix it and enqueue it again.\n"
       "Exit status: 0 when every job was queued again; 1 when some could not be (each is named on\n"
       "stderr) or Redis failed; 2 on a bad argument or configuration."},
      {"dead purge",
       "Deletes dead and needs_review jobs in batches of 500, with progress on stderr; their ids stay\n"
       "duplicates for jobs.idempotency_window_s, so a Bubble retry cannot bring one back.\n"
       "Example: schedulo dead purge --config F --before 2026-11-01T00:00:00Z\n"
       "Exit status: 0 (the count is printed); 1 when Redis failed; 2 on a bad --before or configuration."},
      {"pause",
       "Jobs of a paused platform or account wait without using an attempt; jobs already running finish.\n"
       "Every daemon sharing the Redis prefix obeys at once.\n"
       "Examples: schedulo pause --config F tiktok        schedulo pause --config F tiktok:acct-1\n"
       "Exit status: 0; 1 when Redis failed; 2 when the target names no platform or on a bad configuration."},
      {"resume",
       "Example: schedulo resume --config F tiktok\n"
       "Exit status: 0; 1 when Redis failed; 2 when the target names no platform or on a bad configuration."},
      {"config", "Run 'schedulo config COMMAND --help'."},
      {"config check",
       "Validates the file with the environment overrides and systemd credentials applied, as 'run' would.\n"
       "Example: schedulo config check /etc/schedulo/schedulo.json\n"
       "Exit status: 0 when valid; 2 when not (every error printed, each naming its key)."},
      {"config example",
       "Prints every key with its description and default: JSON with comments, accepted by --config as it\n"
       "is. The package installs it as /usr/share/doc/schedulo/examples/schedulo.all-keys.json, and a\n"
       "shorter deployment example as /etc/schedulo/schedulo.json.example.\n"
       "Exit status: 0."},
      {"resync",
       "Rebuilds publish jobs that Redis lost (a restore from an older snapshot) from the Airtable Posts\n"
       "table: rows still queued or scheduled whose job is not in Redis are enqueued again from the job JSON\n"
       "they keep; a job Redis still has is left alone. Progress on stderr.\n"
       "Example: schedulo resync --config F --dry-run\n"
       "Exit status: 0; 1 when Airtable or Redis failed; 2 when Airtable is not configured."},
      {"airtable", "Run 'schedulo airtable COMMAND --help'."},
      {"airtable check",
       "Reads the base's schema (the token needs schema.bases:read) and lists each table or field the\n"
       "daemon writes that is missing or of another type (docs/airtable.md).\n"
       "Exit status: 0 when nothing is missing; 1 when something is (listed) or Airtable failed; 2 when\n"
       "Airtable is not configured."},
      {"airtable init",
       "Creates the missing tables and fields (the token needs schema.bases:write); existing ones are\n"
       "left as they are.\n"
       "Exit status: 0; 1 when Airtable refused a change (named); 2 when Airtable is not configured."},
      {"outbox", "Run 'schedulo outbox COMMAND --help'."},
      {"outbox stats",
       "Pending, due, claimed and dead outbox items, and the month's Airtable calls against\n"
       "airtable.monthly_call_budget, as JSON.\n"
       "Exit status: 0; 1 when Redis failed."},
      {"outbox dead",
       "Items an output refused for good (a row Airtable rejects, a callback that kept failing), one JSON\n"
       "object per line with the reason.\n"
       "Exit status: 0; 1 when Redis failed."},
      {"outbox retry",
       "Queues a dead item again, named as 'outbox dead' lists it (\"<dest>|<key>\"), or all of them.\n"
       "Example: schedulo outbox retry --config F 'airtable:posts|post-123'\n"
       "Exit status: 0; 1 when no such item is dead or Redis failed."},
      // Token lifecycle (issue 13)
      {"sweep",
       "One sweep pass now, as the fleet's sweep leader runs every sweep.interval_s: refresh_token jobs for\n"
       "the accounts inside their refresh windows (ids per account and hour, so nothing is enqueued twice),\n"
       "for accounts with a post due within sweep.posts_ahead_s, and token_expiring notices. Page tokens due\n"
       "for their check (sweep.check_every_s) are introspected here as a daemon's sweep does (debug_token:\n"
       "invalid -> needs_reauth, data_access_expires_at inside sweep.expiring_notice_s -> token_expiring),\n"
       "with the platforms of the configuration, when workers.mode is live (as the daemons'). Prints JSON.\n"
       "Example: schedulo sweep --config /etc/schedulo/schedulo.json\n"
       "Exit status: 0; 1 when Redis failed part way (run it again); 2 on a bad configuration or no vault."},
  };
  return texts;
}

bool takes_config(const CLI::App& command) {
  for (const auto* option : command.get_options())
    if (option->get_name() == "--config") return true;
  return false;
}

void describe(CLI::App& command, const std::string& path) {
  const auto& texts = footers();
  std::string footer;
  if (const auto it = texts.find(path); it != texts.end()) {
    footer = it->second;
  } else {
    footer = kGenericExit;
  }
  if (!path.empty() && takes_config(command)) footer = std::string(kConfigNote) + "\n" + footer;
  command.footer(footer);
  for (auto* sub : command.get_subcommands([](CLI::App*) { return true; }))
    describe(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name());
}

// The command the parser reached ("schedulo dead retry"): the chain of selected subcommands.
std::pair<std::string, const CLI::App*> reached(const CLI::App* app) {
  std::string path = "schedulo";
  const CLI::App* node = app;
  for (auto subs = app->get_subcommands(); !subs.empty(); subs = subs.front()->get_subcommands()) {
    node = subs.front();
    path += " " + node->get_name();
  }
  return {path, node};
}

std::string failure(const CLI::App* app, const CLI::Error& e) {
  const auto [path, node] = reached(app);
  std::string what = e.what();
  // "schedulo bogus" reads as a missing command to CLI11; say which word was not one.
  const auto extra = app->remaining(true);
  if (!node->get_subcommands([](const CLI::App*) { return true; }).empty() && !extra.empty())
    what = "'" + extra.front() + "' is not a command of " + path;
  return path + ": " + what + "\nRun '" + path + " --help' for its usage.\n";
}

}  // namespace

void describe_commands(CLI::App& app) {
  app.name("schedulo");  // usage lines say "schedulo run", not the path the binary was started by
  describe(app, "");
  app.failure_message(failure);
}

}  // namespace schedulo::daemon
