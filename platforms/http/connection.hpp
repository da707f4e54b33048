#pragma once
// One HTTP/1.1 connection, plain or TLS, to a pinned address. Beast lives in connection.cpp only;
// this header stays light (pimpl). A connection serves one exchange at a time: send(), then
// read_head(), then read_body(); afterwards reusable() says whether it may go back to the pool.
#include <memory>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "platforms/http/body.hpp"
#include "platforms/http/errors.hpp"
#include "platforms/http/message.hpp"
#include "platforms/http/resolve.hpp"

namespace boost::asio::ssl {
class context;
}

namespace schedulo::http {

struct ResponseHead {
  int status = 0;
  Headers headers;
  std::optional<std::uint64_t> content_length;
};

class Connection {
 public:
  // Connects to the first of `endpoints` that answers (no DNS here: they were checked), then for
  // TLS (`tls` not null) handshakes with SNI `url.host` and verifies the certificate chain and the
  // host name (or IP address) against it. Ends by `deadline`.
  static net::awaitable<Result<std::unique_ptr<Connection>>> open(const Url& url, const Endpoints& endpoints,
                                                                  boost::asio::ssl::context* tls,
                                                                  Clock::time_point deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Writes the request line, headers and (from `body`, when not null) the body in chunks.
  net::awaitable<std::optional<Error>> send(const std::string& method, const Url& url, const Headers& headers,
                                            BodySource* body, Clock::time_point deadline);
  net::awaitable<Result<ResponseHead>> read_head(Clock::time_point deadline);
  // The body into `sink`, chunk by chunk.
  net::awaitable<std::optional<Error>> read_body(BodySink& sink, Clock::time_point deadline);

  // The last exchange completed and both sides allow keep-alive.
  bool reusable() const;
  // No byte or close has arrived while idle: worth reusing (checked without blocking).
  bool looks_alive() const;
  // True once the response has started to arrive (a failed reused connection before that point was
  // most likely closed by the server while idle, and the request can be sent again).
  bool response_started() const;
  Clock::time_point idle_since() const;
  const std::string& peer() const;

  struct Impl;  // defined in connection.cpp (Beast)

 private:
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace schedulo::http
