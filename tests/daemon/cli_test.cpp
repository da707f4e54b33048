// The `schedulo` command line as an operator meets it (label `ops`): --help on every command
// (found by walking the help itself, so commands added later are covered too), bad arguments
// refused with exit status 2 and a message that names the command and the argument, and `dead
// retry` / `dead purge` of many jobs against the test Redis, with their progress and summaries.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/rfc3339.hpp"
#include "daemon/config_schema.hpp"
#include "queue/store.hpp"
#include "tests/support/command.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::run_command;
using test::shell_quote;

test::CommandResult schedulo(const std::vector<std::string>& args, const std::string& redirect = " 2>&1") {
  std::string line = shell_quote(SCHEDULO_BIN);
  for (const auto& a : args) line += " " + shell_quote(a);
  return run_command(line + redirect);
}

// The names under "Subcommands:" in a help text.
std::vector<std::string> subcommands(const std::string& help) {
  std::vector<std::string> names;
  const auto start = help.find("\nSubcommands:\n");
  if (start == std::string::npos) return names;
  std::istringstream in(help.substr(start + 14));
  for (std::string line; std::getline(in, line) && !line.empty();) {
    if (line.size() < 3 || line[0] != ' ' || line[2] == ' ') continue;  // a wrapped description
    names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("schedulo-cli-" + test::unique_prefix())) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  fs::path path_;
};

// Every command that does something ("run", "dead retry", ...; not the groups "dead" and "config"),
// found by walking the help texts, so commands added later are covered too.
std::vector<std::string> all_commands() {
  std::vector<std::string> found;
  std::vector<std::vector<std::string>> pending{{}};
  while (!pending.empty()) {
    const auto path = pending.back();
    pending.pop_back();
    auto args = path;
    args.push_back("--help");
    const auto subs = subcommands(schedulo(args, " 2>/dev/null").out);
    if (subs.empty()) {
      std::string name = "schedulo";
      for (const auto& p : path) name += " " + p;
      found.push_back(name);
    }
    for (const auto& s : subs) {
      auto next = path;
      next.push_back(s);
      pending.push_back(next);
    }
  }
  return found;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(CliTest, EveryCommandAnswersHelpWithUsageExamplesAndExitStatuses) {
  std::vector<std::vector<std::string>> pending{{}};
  int leaves = 0;
  while (!pending.empty()) {
    const auto path = pending.back();
    pending.pop_back();
    auto args = path;
    args.push_back("--help");
    const auto r = schedulo(args, " 2>/dev/null");
    std::string name = "schedulo";
    for (const auto& p : path) name += " " + p;
    EXPECT_EQ(r.status, 0) << name << " --help";
    EXPECT_NE(r.out.find("Usage: " + name), std::string::npos) << r.out;
    const auto subs = subcommands(r.out);
    if (subs.empty()) {
      ++leaves;
      EXPECT_NE(r.out.find("Exit status:"), std::string::npos) << name << " --help names no exit status:\n" << r.out;
      EXPECT_NE(r.out.find("-h,--help"), std::string::npos) << r.out;
    } else {
      EXPECT_NE(r.out.find("--help"), std::string::npos) << name << " --help does not say where to look next";
    }
    for (const auto& s : subs) {
      auto next = path;
      next.push_back(s);
      pending.push_back(next);
    }
  }
  EXPECT_GE(leaves, 13)
      << "run enqueue cancel status jobs stats dead{list,retry,purge} pause resume config{check,example}";
  // -h is the same as --help.
  EXPECT_EQ(schedulo({"dead", "retry", "-h"}).out, schedulo({"dead", "retry", "--help"}).out);
  const auto top = schedulo({"--help"}).out;
  EXPECT_NE(top.find("/etc/schedulo/schedulo.json.example"), std::string::npos) << top;
}

TEST(CliTest, BadArgumentsAreNamedAndExitWith2) {
  TempDir dir;
  // A configuration that would do (nothing below reaches Redis: each mistake is caught first).
  const auto config = dir.write("ok.json", R"({"redis":{"url":"redis://127.0.0.1:1/0"}})");
  const auto unknown_key = dir.write("bad.json", R"({"redis":{"urll":"redis://127.0.0.1:1/0"}})");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases{
      {{}, "schedulo: A subcommand is required"},
      {{"bogus"}, "schedulo: 'bogus' is not a command of schedulo"},
      {{"dead", "bogus", "--config", config}, "schedulo dead: 'bogus' is not a command of schedulo dead"},
      {{"jobs", "--config", config, "--limit", "0"}, "schedulo jobs: --limit: Value 0 not in range"},
      {{"jobs", "--config", config, "--platform", "myspace"}, "schedulo jobs: --platform: myspace not in"},
      {{"dead", "retry", "--config", config, "--platform", "myspace", "a"}, "schedulo dead retry: --platform:"},
      {{"status", "--config", config}, "schedulo status: id is required"},
      {{"status", "some-id"}, "schedulo status: --config is required"},
      {{"run", "--config", config, "--bogus"}, "schedulo run: The following argument was not expected: --bogus"},
      {{"dead", "retry", "--config", config},
       "schedulo dead retry: give job ids (or - to read them from stdin) or --all"},
      {{"dead", "retry", "--config", config, "--all", "a"}, "not both"},
      {{"dead", "retry", "--config", config, "a", "--before", "2026-01-01T00:00:00Z"}, "--before goes with --all"},
      {{"dead", "retry", "--config", config, "--all", "--before", "yesterday"}, "--before must be an RFC 3339 time"},
      {{"dead", "purge", "--config", config, "--before", "yesterday"},
       "schedulo dead purge: --before must be an RFC 3339 time"},
      {{"pause", "--config", config, "myspace"}, "PLATFORM[:ACCOUNT] must start with instagram, facebook, tiktok or x"},
      {{"status", "--config", "/nonexistent/schedulo.json", "a"}, "cannot read /nonexistent/schedulo.json"},
      {{"config", "check", unknown_key}, "redis.urll: unknown key (did you mean \"redis.url\"?)"},
  };
  for (const auto& c : cases) {
    std::string shown = "schedulo";
    for (const auto& a : c.args) shown += " " + a;
    const auto r = schedulo(c.args);
    EXPECT_EQ(r.status, 2) << shown << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << shown << " said:\n" << r.out;
  }
  // Parse errors point at the right help.
  EXPECT_NE(schedulo({"jobs", "--config", config, "--limit", "0"}).out.find("Run 'schedulo jobs --help'"),
            std::string::npos);
}

// docs/integration-points.md lists every command and every configuration key (the docs grow with
// the code: a key or command added without its line fails here).
TEST(DocsTest, IntegrationPointsNameEveryCommandAndConfigurationKey) {
  const auto doc = read_file(std::string(SCHEDULO_SOURCE_DIR) + "/docs/integration-points.md");
  ASSERT_FALSE(doc.empty());
  const auto commands = all_commands();
  EXPECT_GE(commands.size(), 13U);
  for (const auto& name : commands)
    EXPECT_TRUE(doc.find("`" + name + " ") != std::string::npos || doc.find("`" + name + "`") != std::string::npos)
        << name << " is not in docs/integration-points.md";
  for (const auto& setting : daemon::config_schema()) {
    std::string generic = setting.key;  // platforms.tiktok.client_id may be listed as platforms.<name>.client_id
    for (const char* p : {"instagram", "facebook", "tiktok", "x"}) {
      const std::string part = std::string(".") + p + ".";
      if (const auto at = generic.find(part); at != std::string::npos) generic.replace(at, part.size(), ".<name>.");
    }
    EXPECT_TRUE(doc.find("`" + setting.key + "`") != std::string::npos ||
                doc.find("`" + generic + "`") != std::string::npos)
        << setting.key << " is not in docs/integration-points.md";
  }
}

TEST(CliTest, TheExampleConfigurationIsValid) {
  const auto r = schedulo({"config", "check", std::string(SCHEDULO_SOURCE_DIR) + "/systemd/schedulo.json.example"});
  EXPECT_EQ(r.status, 0) << r.out;
}

// A listening API without a token is a configuration mistake: exit 2, which the unit does not restart.
TEST(CliTest, RunRefusesAnApiWithoutATokenWithExit2) {
  TempDir dir;
  const auto config = dir.write("c.json", R"({"http":{"listen":"127.0.0.1:1"},"redis":{"url":"redis://127.0.0.1:1"}})");
  const auto r = schedulo({"run", "--config", config});
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("http.token is empty"), std::string::npos) << r.out;
}

// Many dead jobs of two platforms in the test Redis, under a prefix of the test's own.
class DeadJobsTest : public ::testing::Test {
 protected:
  DeadJobsTest() {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    queue::QueueSettings settings;
    settings.per_account_limit = 0;
    // A short prefix: the configuration allows 64 characters, unique_prefix() can be longer.
    store = std::make_unique<queue::Store>(*client, queue::Keys("t:cli:" + std::to_string(::getpid())), settings);
    config = dir.write("config.json", R"({"redis":{"url":")" + test::shared_redis_url() + R"(","prefix":")" +
                                          store->keys().prefix() + R"(","require_durability":false}})");
  }
  ~DeadJobsTest() override {
    test::run_for(io, [&]() -> net::awaitable<int> {
      auto keys = co_await client->exec("KEYS", store->keys().prefix() + ":*");
      for (const auto& k : keys->elements) co_await client->exec("DEL", k.str);
      co_return 0;
    }());
  }

  // n jobs per platform, each leased and settled dead; ids "<platform>-<i>".
  void make_dead(int n, const std::vector<std::string>& platforms) {
    // Finished a moment ago: `--all` and `purge` take jobs finished before the command runs.
    const std::int64_t now = now_epoch_ms() - 1000;
    std::vector<queue::NewJob> jobs;
    for (const auto& p : platforms)
      for (int i = 0; i < n; ++i)
        jobs.push_back({p + "-" + std::to_string(i), "publish", p, "acct", R"({"id":"x"})", 0, 1});
    ASSERT_TRUE(test::run_for(io, store->enqueue(jobs, now)));
    std::vector<std::pair<std::string, int>> caps;
    for (const auto& p : platforms) caps.emplace_back(p, 500);
    for (std::size_t settled = 0; settled < jobs.size();) {
      auto batch = test::run_for(io, store->lease(now, "w", 500, caps));
      ASSERT_TRUE(batch);
      ASSERT_FALSE(batch->jobs.empty());
      std::vector<queue::Settle> items;
      for (const auto& l : batch->jobs)
        items.push_back({l.id, l.token, queue::Settlement::dead, 0, "boom", "E1", "", ""});
      ASSERT_TRUE(test::run_for(io, store->settle(items, now)));
      settled += items.size();
    }
  }
  std::string state(const std::string& id) {
    auto r = test::run_for(io, client->exec("HGET", store->keys().job(id), "state"));
    return r && r->is_string() ? r->str : "<nil>";
  }
  long long dead_count() { return test::run_for(io, store->dead_count(4'000'000'000'000)).value(); }

  TempDir dir;
  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<queue::Store> store;
  std::string config;
};

TEST_F(DeadJobsTest, RetryAllOfOnePlatformQueuesThemWithASummaryAndLeavesTheOthers) {
  make_dead(600, {"tiktok", "x"});
  ASSERT_EQ(dead_count(), 1200);
  const auto err = dir.write("stderr.txt", "");
  const auto r = schedulo({"dead", "retry", "--config", config, "--all", "--platform", "tiktok"}, " 2>" + err);
  std::ifstream in(err);
  const std::string stderr_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(r.status, 0) << r.out << stderr_text;
  EXPECT_EQ(r.out, "queued again: 600 (tiktok only; 600 of other platforms left); not queued: 0\n");
  // Not a terminal: no redraws, a summary line (a run this short prints no periodic line).
  EXPECT_NE(stderr_text.find("dead retry: 1200/1200 done in "), std::string::npos) << stderr_text;
  EXPECT_EQ(stderr_text.find('\r'), std::string::npos) << stderr_text;
  EXPECT_EQ(state("tiktok-0"), "queued");
  EXPECT_EQ(state("tiktok-599"), "queued");
  EXPECT_EQ(state("x-0"), "dead");
  EXPECT_EQ(dead_count(), 600);
}

TEST_F(DeadJobsTest, RetryByIdNamesEachOneAndFailsForThoseThatCannotRun) {
  make_dead(3, {"instagram"});
  auto r = schedulo({"dead", "retry", "--config", config, "instagram-0", "no-such-job"});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("instagram-0: queued again with fresh attempts"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("schedulo dead retry: no-such-job: not a dead or needs_review job"), std::string::npos) << r.out;
  EXPECT_EQ(state("instagram-0"), "queued");
  // Ids from stdin, one per line.
  r = run_command("printf 'instagram-1\\n\\n  instagram-2 \\n' | " + shell_quote(SCHEDULO_BIN) +
                  " dead retry --config " + shell_quote(config) + " - 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("instagram-2: queued again"), std::string::npos) << r.out;
  EXPECT_EQ(dead_count(), 0);
  r = schedulo({"dead", "retry", "--config", config, "--all"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "no dead or needs_review jobs to retry\n");
}

TEST_F(DeadJobsTest, PurgeGoesInBatchesWithProgressAndCountsThemAll) {
  make_dead(1100, {"facebook"});
  const auto r = schedulo({"dead", "purge", "--config", config});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("dead purge: 1100/1100 done in "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("purged 1100 job(s)\n"), std::string::npos) << r.out;
  EXPECT_EQ(dead_count(), 0);
  EXPECT_EQ(state("facebook-7"), "<nil>");
}

}  // namespace
}  // namespace schedulo
