// schedulo: the worker daemon and its command line (interface.md, "Command line").
#include <CLI/CLI.hpp>

#include <iostream>

#include "daemon/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Schedulo worker daemon: publishes, refreshes tokens and fetches analytics for Bubble"};
  app.require_subcommand(1);
  std::string config_path;

  auto* run = app.add_subcommand("run", "run the daemon in the foreground");
  run->add_option("--config", config_path, "configuration file")->required();

  std::vector<std::string> jobs;
  auto* enqueue = app.add_subcommand("enqueue", "validate jobs and push them to the inbox; prints each id");
  enqueue->add_option("--config", config_path, "configuration file")->required();
  enqueue->add_option("jobs", jobs, "job JSON, or - to read one job per line from stdin")->required();

  auto* config = app.add_subcommand("config", "check or print the configuration");
  config->require_subcommand(1);
  std::string check_path;
  auto* check = config->add_subcommand("check", "validate a configuration file");
  check->add_option("file", check_path, "configuration file")->required();
  auto* example = config->add_subcommand("example", "print a complete commented example");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : 2;
  }
  try {
    if (*run) return schedulo::daemon::command_run(config_path);
    if (*enqueue) return schedulo::daemon::command_enqueue(config_path, jobs);
    if (*check) return schedulo::daemon::command_config_check(check_path);
    if (*example) return schedulo::daemon::command_config_example();
  } catch (const std::exception& e) {
    std::cerr << "schedulo: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
