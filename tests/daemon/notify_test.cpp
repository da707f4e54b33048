// The daemon under a fake systemd (label `ops`): READY once Redis is usable, STATUS, WATCHDOG pings
// that keep coming while Redis is down (architecture rule 16), STOPPING on SIGTERM, then exit 0.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/redis_process.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

class FakeSystemd {
 public:
  explicit FakeSystemd(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    ::unlink(path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~FakeSystemd() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // The next datagram containing `needle`, or "" when none came within `limit`.
  std::string wait_for(const std::string& needle, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long long>(1, left.count()))) <= 0) continue;
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string msg(buf, static_cast<std::size_t>(n));
      received.push_back(msg);
      if (msg.find(needle) != std::string::npos) return msg;
    }
    return {};
  }
  std::vector<std::string> received;

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(SystemdNotifyTest, ReadyWatchdogThroughARedisOutageAndStoppingOnSigterm) {
  schedulo::test::RedisProcess redis({"--maxmemory-policy", "noeviction"});
  redis.start();
  const std::string dir = std::filesystem::temp_directory_path() / ("schedulo-notify-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << R"({"redis":{"url":")" << redis.url()
                                      << R"(","command_timeout_ms":300,"connect_timeout_ms":300},)"
                                      << R"("workers":{"mode":"noop","id":"notify-test"}})";
  FakeSystemd systemd(dir + "/notify.sock");

  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  env_store.push_back("NOTIFY_SOCKET=" + dir + "/notify.sock");
  env_store.push_back("WATCHDOG_USEC=200000");  // a ping every 100 ms
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);
  std::string bin = SCHEDULO_BIN, run = "run", flag = "--config", config = dir + "/config.json";
  std::vector<char*> argv{bin.data(), run.data(), flag.data(), config.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, (dir + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), env.data()), 0);
  posix_spawn_file_actions_destroy(&actions);

  EXPECT_NE(systemd.wait_for("READY=1", 20s), "") << "no READY";
  const auto status = systemd.wait_for("STATUS=", 5s);
  EXPECT_NE(status.find("STATUS=consuming"), std::string::npos) << status;
  EXPECT_NE(systemd.wait_for("WATCHDOG=1", 5s), "");

  redis.kill9();
  // Redis is gone: the event loop still turns, so pings go on (five in a row).
  for (int i = 0; i < 5; ++i) EXPECT_NE(systemd.wait_for("WATCHDOG=1", 5s), "") << "ping " << i << " after Redis died";
  EXPECT_NE(systemd.wait_for("not consuming", 10s), "") << "STATUS should say the daemon is not consuming";

  ::kill(pid, SIGTERM);
  EXPECT_NE(systemd.wait_for("STOPPING=1", 20s), "");
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
