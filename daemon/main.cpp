// schedulo: the worker daemon and its command line (interface.md, "Command line").
#include <CLI/CLI.hpp>

#include <iostream>

#include "daemon/cli_help.hpp"
#include "daemon/commands.hpp"
#include "daemon/sweep_command.hpp"
#include "daemon/token_commands.hpp"

int main(int argc, char** argv) {
  using namespace schedulo::daemon;
  CLI::App app{"Schedulo worker daemon: publishes, refreshes tokens and fetches analytics for Bubble"};
  app.require_subcommand(1);
  std::string config_path;
  auto with_config = [&](CLI::App* cmd) { cmd->add_option("--config", config_path, "configuration file")->required(); };

  auto* run = app.add_subcommand("run", "run the daemon in the foreground");
  with_config(run);

  std::vector<std::string> jobs;
  auto* enqueue = app.add_subcommand("enqueue", "validate jobs and enqueue them; prints each id");
  with_config(enqueue);
  enqueue->add_option("jobs", jobs, "job JSON, or - to read one job per line from stdin")->required();

  std::string id;
  auto* cancel = app.add_subcommand("cancel", "cancel a job that has not started");
  with_config(cancel);
  cancel->add_option("id", id, "job id")->required();
  auto* status = app.add_subcommand("status", "print a job record as JSON");
  with_config(status);
  status->add_option("id", id, "job id")->required();

  std::string platform, account, state;
  int limit = 100;
  auto* list = app.add_subcommand("jobs", "list jobs, newest first (one JSON object per line)");
  with_config(list);
  list->add_option("--platform", platform, "instagram, facebook, tiktok or x")
      ->check(CLI::IsMember({"instagram", "facebook", "tiktok", "x"}));
  list->add_option("--account", account, "the account's key");
  list->add_option("--state", state, "queued, scheduled, running, ...");
  list->add_option("--limit", limit, "at most this many")->check(CLI::Range(1, 100000));

  auto* stats = app.add_subcommand("stats", "print queue figures as JSON");
  with_config(stats);

  std::string before;
  auto* dead = app.add_subcommand("dead", "the dead (and needs_review) jobs");
  dead->require_subcommand(1);
  auto* dead_list = dead->add_subcommand("list", "list them");
  with_config(dead_list);
  std::vector<std::string> retry_ids;
  bool retry_all = false;
  std::string retry_platform;
  auto* dead_retry = dead->add_subcommand("retry", "queue dead jobs again with fresh attempts (progress on stderr)");
  with_config(dead_retry);
  dead_retry->add_option("ids", retry_ids, "job ids, or - to read one id per line from stdin");
  dead_retry->add_flag("--all", retry_all, "every dead and needs_review job (narrowed by --platform, --before)");
  dead_retry->add_option("--platform", retry_platform, "only this platform's jobs")
      ->check(CLI::IsMember({"instagram", "facebook", "tiktok", "x"}));
  dead_retry->add_option("--before", before, "with --all: only those finished before this RFC 3339 time");
  auto* dead_purge = dead->add_subcommand("purge", "delete them (ids stay duplicates for the idempotency window)");
  with_config(dead_purge);
  dead_purge->add_option("--before", before, "only those finished before this RFC 3339 time");

  std::string target;
  auto* pause = app.add_subcommand("pause", "stop leasing jobs of a platform or one account");
  with_config(pause);
  pause->add_option("target", target, "PLATFORM or PLATFORM:ACCOUNT")->required();
  auto* resume = app.add_subcommand("resume", "lease them again");
  with_config(resume);
  resume->add_option("target", target, "PLATFORM or PLATFORM:ACCOUNT")->required();

  auto* config = app.add_subcommand("config", "check or print the configuration");
  config->require_subcommand(1);
  std::string check_path;
  auto* check = config->add_subcommand("check", "validate a configuration file");
  check->add_option("file", check_path, "configuration file")->required();
  auto* example = config->add_subcommand("example", "print a complete commented example");

  // ---- token core: accounts and the vault (daemon/token_commands.hpp) ----
  std::string account_target, account_platform, account_status, key_id;
  auto* account_cmd = app.add_subcommand("account", "connected accounts and their tokens (never shown)");
  account_cmd->require_subcommand(1);
  auto* account_add = account_cmd->add_subcommand(
      "add",
      "import tokens obtained elsewhere, as one JSON object on stdin: access_token, refresh_token, "
      "expires_in or access_expires_at, refresh_expires_in or refresh_expires_at, scopes");
  with_config(account_add);
  account_add->add_option("account", account_target, "PLATFORM:ACCOUNT")->required();
  auto* account_show = account_cmd->add_subcommand("show", "status, expiry, scopes and version of one account");
  with_config(account_show);
  account_show->add_option("account", account_target, "PLATFORM:ACCOUNT")->required();
  auto* account_list = account_cmd->add_subcommand("list", "every account, one JSON object per line");
  with_config(account_list);
  account_list->add_option("--platform", account_platform, "instagram, facebook, tiktok or x");
  account_list->add_option("--status", account_status, "active, expiring, needs_reauth or revoked");
  auto* vault_cmd = app.add_subcommand("vault", "the token vault's keys");
  vault_cmd->require_subcommand(1);
  auto* vault_rotate = vault_cmd->add_subcommand("rotate", "re-seal every stored token with the key file's first key");
  with_config(vault_rotate);
  auto* vault_keygen = vault_cmd->add_subcommand("keygen", "print a new key line for vault.key_file");
  vault_keygen->add_option("--id", key_id, "the key's id (default: k<date>T<time>)");

  // ---- Airtable and the outbox (issue 7) ----
  bool dry_run = false;
  auto* resync = app.add_subcommand("resync", "rebuild not-yet-started publish jobs from the Airtable Posts table");
  with_config(resync);
  resync->add_flag("--dry-run", dry_run, "only count what would be rebuilt");
  auto* airtable_cmd = app.add_subcommand("airtable", "the Airtable base's tables and fields");
  airtable_cmd->require_subcommand(1);
  auto* airtable_check = airtable_cmd->add_subcommand("check", "list missing tables or fields (exit 1 when any)");
  with_config(airtable_check);
  auto* airtable_init = airtable_cmd->add_subcommand("init", "create the missing tables and fields");
  with_config(airtable_init);
  std::string outbox_item;
  auto* outbox_cmd = app.add_subcommand("outbox", "what waits to be written to Airtable and other outputs");
  outbox_cmd->require_subcommand(1);
  auto* outbox_stats =
      outbox_cmd->add_subcommand("stats", "pending, due, claimed and dead items; Airtable calls this month");
  with_config(outbox_stats);
  auto* outbox_dead =
      outbox_cmd->add_subcommand("dead", "items refused permanently, with the reason (one JSON per line)");
  with_config(outbox_dead);
  auto* outbox_retry = outbox_cmd->add_subcommand("retry", "queue a dead item again");
  with_config(outbox_retry);
  outbox_retry->add_option("item", outbox_item, "\"<dest>|<key>\" as listed, or all")->required();
  // Token lifecycle (issue 13)
  auto* sweep = app.add_subcommand("sweep", "one token sweep pass now (refresh jobs, expiring notices)");
  with_config(sweep);

  describe_commands(app);  // after every command is declared: footers and the error format

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (*run) return command_run(config_path);
    if (*enqueue) return command_enqueue(config_path, jobs);
    if (*cancel) return command_cancel(config_path, id);
    if (*status) return command_status(config_path, id);
    if (*list) return command_jobs(config_path, platform, account, state, limit);
    if (*stats) return command_stats(config_path);
    if (*dead_list) return command_dead(config_path, "list", id, before);
    if (*dead_retry) return command_dead_retry(config_path, retry_ids, retry_all, retry_platform, before);
    if (*dead_purge) return command_dead_purge(config_path, before);
    if (*pause) return command_pause(config_path, target, true);
    if (*resume) return command_pause(config_path, target, false);
    if (*account_add) return command_account_add(config_path, account_target);
    if (*account_show) return command_account_show(config_path, account_target);
    if (*account_list) return command_account_list(config_path, account_platform, account_status);
    if (*vault_rotate) return command_vault_rotate(config_path);
    if (*vault_keygen) return command_vault_keygen(key_id);
    if (*sweep) return command_sweep(config_path);
    if (*check) return command_config_check(check_path);
    if (*example) return command_config_example();
    if (*resync) return command_resync(config_path, dry_run);
    if (*airtable_check) return command_airtable(config_path, "check");
    if (*airtable_init) return command_airtable(config_path, "init");
    if (*outbox_stats) return command_outbox(config_path, "stats", "");
    if (*outbox_dead) return command_outbox(config_path, "dead", "");
    if (*outbox_retry) return command_outbox(config_path, "retry", outbox_item);
  } catch (const std::exception& e) {
    std::cerr << "schedulo: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
