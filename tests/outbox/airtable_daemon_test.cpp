// The real `schedulo` binary against the sandbox (label `airtable`): a daemon SIGKILLed after Airtable
// took a batch but before the outbox heard of it leaves no duplicate row once it restarts; and
// `schedulo airtable check|init` find and create missing tables and fields through the meta API.
// Waits poll a condition read from the sandbox or Redis, with an overall limit that fails the test.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "common/rfc3339.hpp"
#include "platforms/airtable/schema.hpp"
#include "queue/outbox.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"

extern char** environ;

namespace schedulo::outbox {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::run_for;
namespace f = airtable::field;

constexpr const char* kBase = "appSandboxBase001";
constexpr const char* kToken = "patSbxReadWrite01.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// Polls `done` every 20 ms until it holds or `limit` passes; the test fails at the limit.
bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

class DaemonProcess {
 public:
  DaemonProcess(std::string config, std::string log) : config_(std::move(config)), log_(std::move(log)) {}
  ~DaemonProcess() { kill9(); }
  void start() {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<std::string> args{SCHEDULO_DAEMON_BIN, "run", "--config", config_}, env;
    for (char** e = environ; e && *e; ++e)
      if (std::string_view(*e).substr(0, 9) != "SCHEDULO_") env.emplace_back(*e);  // no config overrides
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot spawn the daemon");
  }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string config_, log_;
  pid_t pid_ = -1;
};

class AirtableDaemon : public ::testing::Test {
 protected:
  AirtableDaemon() : sandbox(std::vector<std::string>{}) {
    std::string error;
    redis::ClientOptions o;
    o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client = std::make_unique<redis::Client>(io.get_executor(), o);
    client->start();
    // A short prefix of its own: redis.prefix takes at most 64 characters (unique_prefix() holds the
    // test's long name).
    static int serial = 0;
    keys = std::make_unique<queue::Keys>("atd:" + std::to_string(::getpid()) + ":" + std::to_string(++serial));
    outbox = std::make_unique<queue::Outbox>(*client, *keys);
    dir = std::filesystem::temp_directory_path() / ("schedulo-atd-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
    const json config{{"redis", {{"url", test::shared_redis_url()}, {"prefix", keys->prefix()}}},
                      {"workers", {{"mode", "noop"}, {"id", "atd-" + std::to_string(::getpid())}}},
                      {"airtable",
                       {{"base_url", "http://127.0.0.1:" + std::to_string(sandbox.port())},
                        {"base_id", kBase},
                        {"token", kToken},
                        {"batch_linger_ms", 50},
                        {"account_sweep_interval_s", 0}}},
                      {"security", {{"allow_private_hosts", {"127.0.0.0/8"}}}}};
    config_path = (dir / "config.json").string();
    std::ofstream(config_path) << config.dump(2);
  }
  ~AirtableDaemon() override {
    run_for(io, [&]() -> net::awaitable<int> {
      auto all = co_await client->exec("KEYS", keys->prefix() + ":*");
      for (const auto& k : all->elements) co_await client->exec("DEL", k.str);
      co_return 0;
    }());
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  json admin(const std::string& method, const std::string& target, const json& body = nullptr) {
    return test::http_json(sandbox.port(), method, target, body);
  }
  std::map<std::string, int> post_keys() {
    std::map<std::string, int> out;
    const auto reply = test::http(sandbox.port(), "GET", "/v0/" + std::string(kBase) + "/Posts?pageSize=100", "",
                                  {{"Authorization", std::string("Bearer ") + kToken}});
    for (const auto& r : reply.json().value("records", json::array())) ++out[r["fields"].value("Post Key", "")];
    return out;
  }
  long long redis_int(const std::vector<std::string>& args) {
    auto r = run_for(io, client->exec_args(args));
    return r && r->is_integer() ? r->integer : -1;
  }
  std::string log_text() {
    std::ifstream in(dir / "daemon.log");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  test::SandboxProcess sandbox;
  boost::asio::io_context io{1};
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<queue::Keys> keys;
  std::unique_ptr<queue::Outbox> outbox;
  std::filesystem::path dir;
  std::string config_path;
};

TEST_F(AirtableDaemon, KilledBetweenTheAirtableWriteAndTheAckLeavesNoDuplicateRow) {
  // A Redis of the test's own, so it can be paused: the daemon then gets Airtable's answer but cannot
  // ack it, and is killed in that state.
  test::RedisProcess redis({"--maxmemory-policy", "noeviction"});
  redis.start();
  redis::ClientOptions o;
  std::string error;
  o.url = *redis::parse_redis_url(redis.url(), error);
  o.command_timeout = 2s;
  redis::Client own(io.get_executor(), o);
  own.start();
  queue::Outbox box(own, *keys);
  auto config = json::parse(std::ifstream(config_path));
  config["redis"]["url"] = redis.url();
  std::ofstream(config_path) << config.dump(2);

  std::vector<queue::OutboxEntry> entries;
  for (int i = 0; i < 10; ++i) {
    queue::OutboxEntry e;
    e.dest = std::string(airtable::kPostsDest);
    e.key = "k-" + std::to_string(i);
    e.set(f::kPostKey, e.key).set(f::kState, "succeeded");
    entries.push_back(std::move(e));
  }
  ASSERT_TRUE(run_for(io, box.append(entries, now_epoch_ms())));
  // The sandbox holds the batch 1.5 s before writing and answering it: long enough to pause Redis.
  admin("POST", "/_sandbox/faults", {{"kind", "latency"}, {"route", "airtable.update"}, {"ms", 1500}, {"count", 1}});
  DaemonProcess daemon(config_path, (dir / "daemon.log").string());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return !admin("GET", "/_sandbox/log?route=airtable.update")["entries"].empty(); }))
      << log_text();
  redis.pause();
  ASSERT_TRUE(eventually([&] {
    const auto e = admin("GET", "/_sandbox/log?route=airtable.update")["entries"];
    return !e.empty() && e[0]["status"] == 200;
  })) << "the write is answered while the daemon cannot reach Redis";
  daemon.kill9();
  redis.resume();
  EXPECT_EQ(post_keys().size(), 10u);
  auto claimed = run_for(io, own.exec("ZCARD", keys->outbox_claimed()));
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->integer, 10) << "no ack: the outbox still holds the batch as claimed";

  daemon.start();  // same worker id: its claims come back at once
  ASSERT_TRUE(eventually([&] {
    auto c = run_for(io, own.exec("ZCARD", keys->outbox_claimed()));
    auto q = run_for(io, own.exec("ZCARD", keys->outbox_queue(airtable::kPostsDest)));
    return c && q && c->integer == 0 && q->integer == 0;
  })) << log_text();
  EXPECT_EQ(daemon.terminate(), 0);
  const auto rows = post_keys();
  EXPECT_EQ(rows.size(), 10u);
  for (const auto& [key, count] : rows) EXPECT_EQ(count, 1) << key << " must be one row";
  EXPECT_EQ(admin("GET", "/_sandbox/log?route=airtable.update")["entries"].size(), 2u)
      << "the same batch written twice, as one upsert each time";
  own.stop();
}

TEST_F(AirtableDaemon, CheckListsWhatIsMissingAndInitCreatesIt) {
  admin("DELETE", "/_sandbox/airtable/bases/" + std::string(kBase) + "/tables/Events");
  // Posts without its Job and Run At fields.
  json fields = json::array();
  for (const auto& fs : airtable::spec(airtable::Table::posts).fields)
    if (fs.name != f::kJob && fs.name != f::kRunAt) fields.push_back({{"name", fs.name}, {"type", fs.type}});
  admin("PUT", "/_sandbox/airtable/bases/" + std::string(kBase) + "/tables/Posts", {{"fields", fields}});

  auto check = test::run_shell({SCHEDULO_DAEMON_BIN, "airtable", "check", "--config", config_path});
  EXPECT_EQ(check.status, 1) << check.out;
  EXPECT_NE(check.out.find("table \"Events\" is missing"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("field \"Job\""), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("field \"Run At\""), std::string::npos) << check.out;

  auto init = test::run_shell({SCHEDULO_DAEMON_BIN, "airtable", "init", "--config", config_path});
  EXPECT_EQ(init.status, 0) << init.out;
  EXPECT_NE(init.out.find("created table Events"), std::string::npos) << init.out;
  EXPECT_NE(init.out.find("created field Posts.Job"), std::string::npos) << init.out;

  auto again = test::run_shell({SCHEDULO_DAEMON_BIN, "airtable", "check", "--config", config_path});
  EXPECT_EQ(again.status, 0) << again.out;
  const auto tables = test::http(sandbox.port(), "GET", "/v0/meta/bases/" + std::string(kBase) + "/tables", "",
                                 {{"Authorization", std::string("Bearer ") + kToken}})
                          .json()["tables"];
  for (const auto& t : tables) {
    if (t["name"] == "Events") {
      EXPECT_EQ(t["fields"].size(), airtable::spec(airtable::Table::events).fields.size());
    }
  }
  EXPECT_EQ(check.out.find(kToken), std::string::npos) << "no secret in the output";
}

}  // namespace
}  // namespace schedulo::outbox
