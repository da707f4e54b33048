#pragma once
// Test support: a redis-server (or redis-sentinel) child process of the test's own, for tests that
// kill, pause or reconfigure the server. Tests that only need a server use shared_redis_url(), the
// private server scripts/test starts (or one started here when run outside the script).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace schedulo::test {

class RedisProcess {
 public:
  // extra: additional redis-server arguments ("--requirepass", "pw", ...).
  explicit RedisProcess(std::vector<std::string> extra = {}, std::uint16_t port = 0);
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string url(int db = 0) const;

  void start();             // waits until it answers PING (or throws)
  void kill9();             // SIGKILL and reap
  void stop();              // SIGTERM and reap
  void pause();             // SIGSTOP: the server holds connections but answers nothing
  void resume();            // SIGCONT
  bool running() const { return pid_ > 0; }
  // Runs redis-cli against this server and returns its stdout (for checks independent of our client).
  std::string cli(const std::vector<std::string>& args) const;

  // For sentinels: the binary and the config file to run instead.
  void use_sentinel_config(const std::string& config_text);

 private:
  std::vector<std::string> extra_;
  std::uint16_t port_;
  std::string dir_;
  pid_t pid_ = -1;
  bool sentinel_ = false;
  std::string password_;
};

std::uint16_t free_port();
// SCHEDULO_TEST_REDIS_URL, or a server started once for this test binary.
std::string shared_redis_url();
// A key prefix unique to this test and process, so tests can share one server under ctest -j.
std::string unique_prefix();

}  // namespace schedulo::test
