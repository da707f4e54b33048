#include "platforms/http/errors.hpp"

#include <stdexcept>

namespace schedulo::http {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_url: return "bad_url";
    case ErrorKind::refused_address: return "refused_address";
    case ErrorKind::resolve: return "resolve";
    case ErrorKind::network: return "network";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::tls: return "tls";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::too_large: return "too_large";
    case ErrorKind::too_many_redirects: return "too_many_redirects";
    case ErrorKind::http_status: return "http_status";
    case ErrorKind::io: return "io";
    case ErrorKind::bad_media: return "bad_media";
    case ErrorKind::media_rejected: return "media_rejected";
    case ErrorKind::cancelled: return "cancelled";
  }
  return "unknown";
}

bool Error::permanent() const {
  switch (kind) {
    case ErrorKind::bad_url:
    case ErrorKind::refused_address:
    case ErrorKind::too_large:
    case ErrorKind::too_many_redirects:
    case ErrorKind::bad_media:
    case ErrorKind::media_rejected: return true;
    case ErrorKind::http_status: return status >= 400 && status < 500 && status != 408 && status != 429;
    default: return false;
  }
}

void throw_exception_from_error(const Error& error, const boost::source_location& /*location*/) {
  throw std::runtime_error(std::string(to_string(error.kind)) + ": " + error.message);
}

}  // namespace schedulo::http
