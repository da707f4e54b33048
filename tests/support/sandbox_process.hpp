#pragma once
// Test support for the sandbox: the schedulo-sandbox binary as a child process on a port it picks
// itself (it prints the port on its first stdout line), and a plain HTTP/1.1 client on POSIX sockets
// that is deliberately not the daemon's client: it reports what came over the wire, including a
// connection closed before any answer, a reset and a short body.
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/support/command.hpp"  // run_shell, for the sandbox binary's command line

namespace schedulo::test {

class SandboxProcess {
 public:
  explicit SandboxProcess(std::vector<std::string> extra_args = {"--frozen-clock"});
  ~SandboxProcess();
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM and wait (the sandbox saves --state on the way out); returns the exit status.
  int stop();

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

struct HttpReply {
  bool answered = false;     // a status line arrived
  bool complete = false;     // and the whole announced body
  bool reset = false;        // the connection was reset (ECONNRESET)
  bool closed_early = false; // EOF before any byte of an answer
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::uint64_t content_length = 0;

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// One HTTP/1.1 connection; requests are answered in order (keep-alive).
class HttpConnection {
 public:
  explicit HttpConnection(std::uint16_t port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  HttpReply request(const std::string& method, const std::string& target, const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {}, bool close = false);
  // Sends `bytes` as they are (a malformed request, say) and reads one answer.
  HttpReply raw(const std::string& bytes, bool head_request = false);

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;  // for the Host header (emulators build URLs of their own from it)
  std::string buffered_;
};

// Sends a GET and reads the head and at most `max_body` bytes of the body, then closes: for files too
// large to keep. `body_bytes` gets how many body bytes arrived in all (read and dropped past max_body)
// when `drain` is set.
HttpReply http_get_prefix(std::uint16_t port, const std::string& target, std::size_t max_body, bool drain,
                          std::uint64_t& body_bytes);

// One request on a fresh connection (Connection: close).
HttpReply http(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body = "",
               const std::vector<std::pair<std::string, std::string>>& headers = {});

// The JSON answer of an admin or JSON route; fails the test when it is not JSON.
nlohmann::json http_json(std::uint16_t port, const std::string& method, const std::string& target,
                         const nlohmann::json& body = nullptr);

}  // namespace schedulo::test
