#pragma once
// HTTP/1.1 server plumbing on Beast and Asio coroutines, shared by the sandbox's emulators and (later)
// the daemon's HTTP API. Beast stays inside http_server.cpp: this header is plain C++ so the files
// that register routes do not pay for Beast's templates.
//
// What it does: accept loop, keep-alive, a body limit (413), a header limit, deadlines on reading a
// request and on writing each piece of a response, an optional deadline on the handler (503), optional
// TLS (PEM certificate and key), routing by method and path pattern. What a handler can ask of the
// connection beyond an ordinary answer: stream a body generated on the fly (BodySource), pace it
// (chunk_delay), reset the connection after part of the body (cut_after), or close it without
// answering (drop). The last two exist for fault injection: a client must survive them.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net.hpp"

namespace schedulo::server {

struct Header {
  std::string name;
  std::string value;
};

// "%41b+c" -> "Ab c" when `plus_is_space` (query strings); malformed escapes are kept as written.
std::string percent_decode(std::string_view text, bool plus_is_space);
// Splits "a=1&b=%20" into decoded pairs, in order.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // path and query as sent
  std::string path;    // the target before '?', still percent-encoded
  std::string query;   // after '?', still encoded
  std::vector<Header> headers;
  std::string body;
  std::map<std::string, std::string> params;  // the route pattern's {captures}, decoded; "*" = the rest
  std::string remote;                         // peer address:port
  std::uint64_t connection_id = 0;
  // The matched route's own handler deadline (Router::add); 0: the server's handler_timeout.
  std::chrono::milliseconds handler_timeout{0};

  // First header of that name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
  // Decoded query parameters in order.
  std::vector<std::pair<std::string, std::string>> query_params() const { return parse_query(query); }
  // The first value of a query parameter, or nullopt.
  std::optional<std::string> query_param(std::string_view name) const;
};

// A response body produced piece by piece, so a multi-gigabyte file never sits in memory.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Writes up to `max` bytes to `out` and returns how many; 0 means the end.
  virtual std::size_t read(char* out, std::size_t max) = 0;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // Content-Length and Connection are added by the server
  std::string body;
  // Streaming: when set, `stream_length` bytes are read from it instead of `body`.
  std::unique_ptr<BodySource> stream;
  std::uint64_t stream_length = 0;
  // Pacing: write the body in `chunk_size` pieces with `chunk_delay` between them.
  std::chrono::milliseconds chunk_delay{0};
  std::size_t chunk_size = 64 * 1024;
  // Send the head and this many body bytes, then reset the connection (RST): a reply cut mid-body.
  std::optional<std::uint64_t> cut_after;
  // Close the connection without any answer (the handler's effect, if any, stays).
  bool drop = false;

  void set_header(std::string name, std::string value);
  std::uint64_t body_length() const { return stream ? stream_length : body.size(); }

  static Response typed(int status, std::string body, std::string content_type);
  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
};

using Handler = std::function<net::awaitable<Response>(Request&)>;

// Routes by method and path pattern, first match in registration order. Patterns are
// "/v0/{base}/{table}" ({name} matches one non-empty segment, captured decoded) with an optional
// trailing "/*" matching any rest (captured as "*", possibly empty). Method "*" matches any method.
class Router {
 public:
  void add(std::string method, const std::string& pattern, Handler handler);
  // The same, with a handler deadline of its own instead of the server's handler_timeout (a route
  // that must wait on another service, like the OAuth callback's code exchange).
  void add(std::string method, const std::string& pattern, Handler handler, std::chrono::milliseconds handler_timeout);
  // Answers requests no route matches (default: 404 text).
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }
  // The handler for the request, with its params filled in; the fallback when none matches.
  const Handler& match(Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    bool rest = false;
    Handler handler;
    std::chrono::milliseconds handler_timeout{0};
  };
  std::vector<Route> routes_;
  Handler fallback_;
};

struct ServerOptions {
  std::size_t body_limit = 16 * 1024 * 1024;  // larger bodies get 413
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{30000};      // one request, first byte to last (also the idle keep-alive limit)
  std::chrono::milliseconds write_timeout{30000};     // each write of a response piece
  std::chrono::milliseconds handler_timeout{120000};  // a handler taking longer is answered 503
  std::string server_name = "schedulo";
  // The server's own answers (413, 431, 400, 500, 503) as {"error":{"code","message"}} instead of
  // plain text: the daemon's API promises JSON errors on every path.
  bool json_errors = false;
  // TLS when both are set (PEM text): the certificate chain and its private key.
  std::string tls_certificate_pem;
  std::string tls_private_key_pem;
};

class Server {
 public:
  Server(const net::Executor& executor, Router router, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens ("127.0.0.1", 0 picks a free port); returns the error instead of throwing.
  net::error_code listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  // Starts accepting on the executor (after listen()).
  void start();
  // Stops accepting and closes every connection.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace schedulo::server
