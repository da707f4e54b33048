#include "tests/support/sandbox_process.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <stdexcept>

extern char** environ;

namespace schedulo::test {

SandboxProcess::SandboxProcess(std::vector<std::string> extra_args) {
  std::array<int, 2> pipe_fds{};
  if (::pipe(pipe_fds.data()) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args{SCHEDULO_SANDBOX_BIN, "--listen", "127.0.0.1:0", "--log-level", "warn",
                                "--exit-with-parent"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // none of the test's pipes or locks
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error("cannot spawn " + args[0]);
  }
  // Readiness: the first stdout line names the port, written once the socket listens. A blocking read
  // (the child's exit ends it with EOF), not a poll.
  std::string line;
  char c = 0;
  while (::read(pipe_fds[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(pipe_fds[0]);
  const auto colon = line.rfind(':');
  if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
    stop();
    throw std::runtime_error("schedulo-sandbox did not start: '" + line + "'");
  }
  port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
}

SandboxProcess::~SandboxProcess() { stop(); }

int SandboxProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

HttpConnection::HttpConnection(std::uint16_t port) : port_(port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{30, 0};  // a hang fails the test instead of blocking it forever
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

HttpReply HttpConnection::request(const std::string& method, const std::string& target, const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers, bool close) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT")
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n" + body;
  return raw(out, method == "HEAD");
}

HttpReply HttpConnection::raw(const std::string& out, bool head_request) {
  for (std::size_t sent = 0; sent < out.size();) {
    const auto n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    sent += static_cast<std::size_t>(n);
  }
  HttpReply reply;
  auto fill = [&]() -> bool {  // false at EOF or error
    std::array<char, 65536> buf{};
    const auto n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n > 0) {
      buffered_.append(buf.data(), static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == ECONNRESET) reply.reset = true;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) throw std::runtime_error("no answer within 30 s");
    return false;
  };
  std::size_t head_end = std::string::npos;
  while ((head_end = buffered_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) {
      reply.closed_early = buffered_.empty() && !reply.reset;
      return reply;
    }
  }
  const std::string head = buffered_.substr(0, head_end);
  buffered_.erase(0, head_end + 4);
  reply.answered = true;
  reply.status = std::stoi(head.substr(9, 3));
  std::size_t line_start = head.find("\r\n");
  while (line_start != std::string::npos && line_start + 2 < head.size()) {
    const auto next = head.find("\r\n", line_start + 2);
    const auto line = head.substr(line_start + 2, next == std::string::npos ? std::string::npos : next - line_start - 2);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      reply.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    line_start = next;
  }
  reply.content_length = std::stoull(reply.header("content-length").empty() ? "0" : reply.header("content-length"));
  const bool has_body = !head_request;
  const std::uint64_t want = has_body ? reply.content_length : 0;
  while (buffered_.size() < want) {
    if (!fill()) break;
  }
  const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(want, buffered_.size()));
  reply.body = buffered_.substr(0, take);
  buffered_.erase(0, take);
  reply.complete = reply.body.size() == want;
  return reply;
}

HttpReply http_get_prefix(std::uint16_t port, const std::string& target, std::size_t max_body, bool drain,
                          std::uint64_t& body_bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  HttpReply reply;
  body_bytes = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return reply;
  }
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string data;
  std::array<char, 65536> buf{};
  std::size_t head_end = std::string::npos;
  for (;;) {
    const auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    if (head_end == std::string::npos) {
      data.append(buf.data(), static_cast<std::size_t>(n));
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        reply.answered = true;
        reply.status = std::stoi(data.substr(9, 3));
        const auto cl = data.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) reply.content_length = std::stoull(data.substr(cl + 16));
        reply.body = data.substr(head_end + 4);
        body_bytes = reply.body.size();
      }
    } else {
      body_bytes += static_cast<std::uint64_t>(n);
      if (reply.body.size() < max_body) reply.body.append(buf.data(), static_cast<std::size_t>(n));
    }
    if (head_end != std::string::npos && reply.body.size() >= max_body && !drain) break;
  }
  ::close(fd);
  if (reply.body.size() > max_body) reply.body.resize(max_body);
  reply.complete = body_bytes == reply.content_length;
  return reply;
}

HttpReply http(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpConnection connection(port);
  return connection.request(method, target, body, headers, true);
}

nlohmann::json http_json(std::uint16_t port, const std::string& method, const std::string& target,
                         const nlohmann::json& body) {
  const auto reply = http(port, method, target, body.is_null() ? "" : body.dump(),
                          {{"Content-Type", "application/json"}});
  auto parsed = reply.json();
  EXPECT_FALSE(parsed.is_discarded()) << method << " " << target << " answered " << reply.status << ": " << reply.body;
  return parsed;
}

}  // namespace schedulo::test
