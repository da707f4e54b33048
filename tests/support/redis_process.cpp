#include "tests/support/redis_process.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace schedulo::test {
namespace {

std::string run_capture(const std::vector<std::string>& argv) {
  std::string command;
  for (const auto& a : argv) {
    command += '\'';
    for (char c : a) {
      if (c == '\'')
        command += "'\\''";
      else
        command += c;
    }
    command += "' ";
  }
  command += "2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return {};
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe.get())) out.append(buf.data(), n);
  return out;
}

}  // namespace

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

RedisProcess::RedisProcess(std::vector<std::string> extra, std::uint16_t port)
    : extra_(std::move(extra)), port_(port ? port : free_port()) {
  char tmpl[] = "/tmp/schedulo-test-redis.XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  for (std::size_t i = 0; i + 1 < extra_.size(); ++i)
    if (extra_[i] == "--requirepass") password_ = extra_[i + 1];
}

RedisProcess::~RedisProcess() {
  if (pid_ > 0) kill9();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisProcess::url(int db) const {
  return "redis://" + (password_.empty() ? "" : ":" + password_ + "@") + "127.0.0.1:" + std::to_string(port_) + "/" +
         std::to_string(db);
}

void RedisProcess::use_sentinel_config(const std::string& config_text) {
  sentinel_ = true;
  std::ofstream(dir_ + "/sentinel.conf") << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\n" << config_text;
}

void RedisProcess::start() {
  std::vector<std::string> args;
  if (sentinel_) {
    args = {"redis-sentinel", dir_ + "/sentinel.conf", "--logfile", dir_ + "/sentinel.log"};
  } else {
    args = {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", dir_,
            "--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", dir_ + "/redis.log"};
  }
  args.insert(args.end(), extra_.begin(), extra_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Only stdin/out/err reach the server: it must not keep a pipe or a lock of the test's open.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  const int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn " + args[0]);
  // Wait until it answers: a readiness condition, polled, with an overall limit.
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::vector<std::string> ping{"redis-cli", "-p", std::to_string(port_)};
  if (!password_.empty() && !sentinel_) ping.insert(ping.end(), {"-a", password_, "--no-auth-warning"});
  ping.push_back("PING");
  while (std::chrono::steady_clock::now() < limit) {
    if (run_capture(ping).find("PONG") != std::string::npos) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(args[0] + " exited at start; see " + dir_);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error(args[0] + " did not answer PING on port " + std::to_string(port_));
}

void RedisProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string RedisProcess::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"redis-cli", "-p", std::to_string(port_)};
  if (!password_.empty() && !sentinel_) argv.insert(argv.end(), {"-a", password_, "--no-auth-warning"});
  argv.insert(argv.end(), args.begin(), args.end());
  return run_capture(argv);
}

std::string shared_redis_url() {
  if (const char* url = std::getenv("SCHEDULO_TEST_REDIS_URL"); url && *url) return url;
  static RedisProcess* own = [] {
    auto* p = new RedisProcess();  // lives for the whole test binary
    p->start();
    return p;
  }();
  return own->url();
}

std::string unique_prefix() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "test";
  for (auto& c : name)
    if (c == '/') c = '_';
  return "t:" + name + ":" + std::to_string(::getpid());
}

}  // namespace schedulo::test
