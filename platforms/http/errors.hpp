#pragma once
// The HTTP layer's failures as values: one kind per way a request can fail (userver's ErrorKind is
// the model), with a message fit for a job's `error` field. A response with a 4xx/5xx status is not
// an Error for request(); download() and media staging turn it into one (kind http_status).
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace schedulo::http {

enum class ErrorKind {
  bad_url,              // not an absolute http(s) URL we accept
  refused_address,      // the host is, or resolves to, a non-public address not allow-listed
  resolve,              // DNS gave no address
  network,              // refused, reset or closed connection, broken pipe
  timeout,              // a step or the whole request ran past its deadline
  tls,                  // handshake failed: certificate not trusted, host name mismatch, protocol
  protocol,             // the peer did not speak HTTP/1.1 as we understand it
  too_large,            // the response body is longer than its cap
  too_many_redirects,   // more hops than allowed (downloads only follow redirects)
  http_status,          // a download or staging got a non-2xx status
  io,                   // a local file could not be read or written
  bad_media,            // a staged file is not a media type we know, or is truncated or corrupt
  media_rejected,       // a staged file breaks a platform's limit
  cancelled,            // the caller cancelled
};

std::string_view to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::network;
  std::string message;
  int status = 0;  // the HTTP status for kind http_status

  // True when trying again cannot help: the input itself is wrong (URL, address, size, media, 4xx
  // other than 408/429). Network trouble, timeouts, TLS and 5xx are worth a retry.
  bool permanent() const;
};

template <typename T>
using Result = boost::system::result<T, Error>;

// Called by Result<T>::value() on an error (found by argument-dependent lookup).
[[noreturn]] void throw_exception_from_error(const Error& error, const boost::source_location& location);

}  // namespace schedulo::http
