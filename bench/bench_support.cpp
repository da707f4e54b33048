#include "bench/bench_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>
#include <thread>

extern char** environ;

namespace schedulo::bench {
namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

void die(const std::string& program, const std::string& why) {
  std::cerr << program << ": " << why << "\n";
  std::exit(1);
}

void parse_options(const std::string& program, int argc, char** argv, RunPaths& paths, const OptionReader& own) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--url")
      paths.url = v;
    else if (k == "--daemon")
      paths.daemon = v;
    else if (k == "--sandbox")
      paths.sandbox = v;
    else if (k == "--dir")
      paths.dir = v;
    else if (!own(k, v))
      die(program, "unknown option " + k);
  }
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log, const std::vector<std::string>& extra_env) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> a = args;
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (std::string_view(*e).substr(0, 9) != "SCHEDULO_") env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv;
  std::vector<char*> envp;
  argv.reserve(a.size() + 1);
  envp.reserve(env.size() + 1);
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) die("bench", "cannot spawn " + args[0]);
  return pid;
}

void stop(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
}

bool exited(pid_t pid) {
  return ::waitpid(pid, nullptr, WNOHANG) == pid;
}

Sandbox start_sandbox(const std::string& binary, const std::string& log) {
  Sandbox s;
  s.pid = spawn({binary, "--listen", "127.0.0.1:0", "--log-level", "warn"}, log);
  // It prints "schedulo-sandbox listening on http://127.0.0.1:PORT" once it serves.
  for (int i = 0; i < 200 && s.port == 0; ++i) {
    const auto text = slurp(log);
    const auto at = text.find("listening on http://127.0.0.1:");
    if (at != std::string::npos) {
      s.port = static_cast<std::uint16_t>(std::stoi(text.substr(at + 30)));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (s.port == 0) die("bench", "the sandbox did not start: " + slurp(log));
  s.base = "http://127.0.0.1:" + std::to_string(s.port);
  return s;
}

std::string http(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bench", "cannot reach the sandbox");
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  for (std::size_t sent = 0; sent < req.size();) {
    const auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) die("bench", "cannot send to the sandbox");
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto at = answer.find("\r\n\r\n");
  if (at == std::string::npos) die("bench", "the sandbox answered nothing to " + target);
  const std::string head = answer.substr(0, at);
  std::string rest = answer.substr(at + 4);
  if (head.find("chunked") == std::string::npos) return rest;
  std::string out;  // chunked transfer coding
  for (std::size_t p = 0;;) {
    const auto eol = rest.find("\r\n", p);
    const std::size_t size = std::stoul(rest.substr(p, eol - p), nullptr, 16);
    if (size == 0) break;
    out += rest.substr(eol + 2, size);
    p = eol + 2 + size + 2;
  }
  return out;
}

json http_json(std::uint16_t port, const std::string& method, const std::string& target, const json& body) {
  const auto text = http(port, method, target, body.is_null() ? "" : body.dump());
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) die("bench", "not JSON from " + target + ": " + text.substr(0, 200));
  return j;
}

std::string run(const std::string& command, int* status) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) die("bench", "cannot run " + command);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int rc = ::pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

void write_vault_key(const std::string& schedulo, const std::string& path) {
  int rc = 0;
  const auto key = run(quote(schedulo) + " vault keygen", &rc);
  if (rc != 0 || key.empty()) die("bench", "schedulo vault keygen failed");
  {
    std::ofstream f(path, std::ios::trunc);
    f << key;
  }
  ::chmod(path.c_str(), 0600);
}

void add_account(const std::string& schedulo, const std::string& config, const std::string& target,
                 const json& tokens) {
  json in = {{"access_token", tokens.at("access_token")}, {"expires_in", tokens.value("expires_in", 7200)}};
  if (tokens.contains("refresh_token")) in["refresh_token"] = tokens["refresh_token"];
  if (tokens.contains("refresh_expires_in")) in["refresh_expires_in"] = tokens["refresh_expires_in"];
  if (tokens.contains("scope")) in["scopes"] = tokens["scope"];
  const std::string file = config + ".tokens";
  {
    std::ofstream f(file, std::ios::trunc);
    f << in.dump();
  }
  ::chmod(file.c_str(), 0600);
  int rc = 0;
  run(quote(schedulo) + " account add --config " + quote(config) + " " + quote(target) + " < " + quote(file) +
          " > /dev/null",
      &rc);
  ::unlink(file.c_str());
  if (rc != 0) die("bench", "schedulo account add " + target + " failed");
}

long status_kib(pid_t pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  const std::string prefix = std::string(field) + ":";
  for (std::string line; std::getline(f, line);)
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  return 0;
}

std::string machine_load() {
  std::ifstream f("/proc/loadavg");
  std::string load1 = "na";
  f >> load1;
  return "cpus=" + std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " load1=" + load1;
}

bool wait_for_log(const std::string& log, const std::string& needle, int count, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const auto text = slurp(log);
    int n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    if (n >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace schedulo::bench
