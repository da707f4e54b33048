#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace schedulo::test {
namespace {

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& in, const std::string& out,
            const std::string& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (err.empty())
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  else
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  // Nothing else the test holds reaches the child: a daemon that outlives a crashed test must not
  // keep a pipe or a lock of the caller's open (a build lock held by `flock` did, and stalled builds).
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<std::string> arg_copy = args, env = child_environment();
  std::vector<char*> argv, envp;
  for (auto& a : arg_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn " + args[0] + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (std::string_view(*e).substr(0, 9) != "SCHEDULO_") env.emplace_back(*e);
  return env;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Child::Child(std::vector<std::string> args, std::string log) : args_(std::move(args)), log_(std::move(log)) {}

Child::~Child() {
  kill9();
}

void Child::start() {
  if (pid_ > 0) throw std::logic_error(args_[0] + " is already running");
  std::ofstream(log_, std::ios::app) << "---- test: start\n";
  pid_ = spawn(args_, "/dev/null", log_, {});
}

void Child::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Child::terminate() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

bool Child::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::optional<int> Child::wait_exit(std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return exit_code(status);
    }
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::string Child::log() const {
  return read_file(log_);
}

CommandResult run_command(const std::vector<std::string>& args, const std::string& input) {
  char tmpl[] = "/tmp/schedulo-cmd.XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  const std::string dir = tmpl;
  const std::string in = dir + "/in", out = dir + "/out", err = dir + "/err";
  {
    std::ofstream f(in, std::ios::binary);
    f << input;
  }
  ::chmod(in.c_str(), 0600);
  const pid_t pid = spawn(args, in, out, err);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CommandResult r{exit_code(status), read_file(out), read_file(err)};
  for (const auto& f : {in, out, err}) ::unlink(f.c_str());
  ::rmdir(dir.c_str());
  return r;
}

}  // namespace schedulo::test
