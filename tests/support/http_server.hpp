#pragma once
// Test support: a small HTTP/1.1 server on Beast, plain or TLS, on 127.0.0.1 (or ::1) port 0, with
// its own thread and io_context, so tests drive the client over real sockets. A handler decides each
// reply, including misbehaviour (stall before the headers, stall mid-body, reset, close). Request
// bodies are hashed (SHA-256) as they stream in, so a 64 MB upload costs the server no memory. The
// counters let tests assert connection reuse and the pool cap. Also used by bench/http_bench.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schedulo::test {

struct ServerRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::uint64_t body_bytes = 0;
  std::string body_sha256;  // hex
  std::string body;         // the first 1 MiB
  std::string header(std::string_view name) const;  // case-insensitive; empty when absent
};

struct ServerReply {
  enum class Action {
    respond,               // status, headers, body
    respond_then_drop,     // respond (with keep-alive), then close the connection while idle
    stall_before_headers,  // read the request, never answer (until the server stops)
    stall_mid_body,        // send the headers and the first `stall_after` bytes of body, then nothing
    reset,                 // close with SO_LINGER 0: the client sees a connection reset
  };
  Action action = Action::respond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::size_t stall_after = 0;
  bool close = false;    // Connection: close
  bool chunked = false;  // Transfer-Encoding: chunked instead of Content-Length
};

using Handler = std::function<ServerReply(const ServerRequest&)>;

struct ServerOptions {
  std::string cert_file;  // TLS when set (PEM), with key_file
  std::string key_file;
  std::string address = "127.0.0.1";
  int threads = 1;
};

class HttpTestServer {
 public:
  explicit HttpTestServer(Handler handler, ServerOptions options = {});
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  std::uint16_t port() const;
  // scheme://address:port/path (IPv6 bracketed); `host` replaces the address when given.
  std::string url(std::string_view path = "/", std::string_view host = {}) const;

  std::uint64_t connections() const;  // accepted TCP connections
  std::uint64_t requests() const;     // requests read in full
  std::uint64_t max_open() const;     // most connections open at once

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A directory of the test's own, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// With the openssl command line, in `dir`: ca.crt/ca.key (a self-signed CA made for the test) and
// <name>.crt/<name>.key signed by it with subjectAltName `san` ("DNS:localhost,IP:127.0.0.1").
// Returns false when openssl failed.
bool make_ca(const std::string& dir);
bool make_certificate(const std::string& dir, const std::string& name, const std::string& san);

// A TCP listener on 127.0.0.1 whose accept queue is full: a connect to its port gets no answer, so
// it hangs until the connecting side gives up (a connect timeout that never leaves the machine).
class FullBacklogListener {
 public:
  FullBacklogListener();
  ~FullBacklogListener();
  FullBacklogListener(const FullBacklogListener&) = delete;
  FullBacklogListener& operator=(const FullBacklogListener&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  std::vector<int> fillers_;
  std::uint16_t port_ = 0;
};

// SHA-256 (hex) of `length` bytes of the file from `offset`.
std::string sha256_of_file_range(const std::string& path, std::uint64_t offset, std::uint64_t length);

}  // namespace schedulo::test
