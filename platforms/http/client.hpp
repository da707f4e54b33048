#pragma once
// The one HTTP client of the daemon (architecture: platforms/http). Every platform call, upload,
// download and callback goes through it. What it guarantees:
// - only absolute http(s) URLs; Bubble's //host/path means https; the host is resolved once, every
//   address checked against the address policy (security.allow_private_hosts) and the connection
//   pinned to the checked addresses (resolve.hpp);
// - HTTPS verifies the certificate chain against the system trust store plus tls.ca_file, and the
//   host name (or IP) against the certificate; SNI is sent for names;
// - connections are kept alive and pooled per origin, at most `max_connections_per_origin` open at
//   once; requests beyond that wait in line within their own deadline;
// - every step (connect, send, headers, body) has a deadline, and the request a total one: a call
//   always completes, with a response or an Error (errors.hpp), by then;
// - request bodies are streamed from a buffer or a file range, response bodies go to memory under a
//   cap or to a file (download), so memory stays bounded whatever the size;
// - redirects are followed by download() only (a bounded number, each hop checked like the first);
//   request() returns a 3xx as it is.
//
// Threading: a client lives on one executor (one io_context thread); call it only from there. The
// io_context must outlive the client (pooled connections hold its sockets).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/net.hpp"
#include "platforms/http/address_policy.hpp"
#include "platforms/http/body.hpp"
#include "platforms/http/errors.hpp"
#include "platforms/http/message.hpp"
#include "platforms/http/pool.hpp"

namespace schedulo::http {

struct ClientOptions {
  AddressPolicy policy;                              // security.allow_private_hosts
  std::string ca_file;                               // tls.ca_file: extra trust anchors (PEM)
  std::size_t max_connections_per_origin = 16;
  std::chrono::milliseconds max_idle{30'000};        // idle connections older than this are closed
};

struct DownloadOptions {
  std::uint64_t max_bytes = std::uint64_t{1} << 30;  // too_large past it (checked on Content-Length first)
  Timeouts timeouts;
  Headers headers;
  int max_redirects = 5;
  ProgressFn progress;                               // bytes so far and the declared total
  std::uint64_t progress_step = 1 << 20;             // at most one progress call per this many bytes
};

class HttpClient {
 public:
  // Throws std::runtime_error when tls.ca_file cannot be loaded (a start-up error).
  explicit HttpClient(ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request, the response body in memory (up to request.max_response_bytes). Any status is a
  // Response; redirects are not followed.
  net::awaitable<Result<Response>> request(const Request& request);

  // GET `url` into the open file `fd` (written from offset 0; a redirect's body is never written), following up
  // to options.max_redirects redirects. A final status other than 2xx is an Error (http_status).
  net::awaitable<Result<Response>> download(const std::string& url, int fd, const DownloadOptions& options);

  const PoolStats& pool_stats() const;
  const ClientOptions& options() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace schedulo::http
