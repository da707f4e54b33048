#include "platforms/airtable/errors.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include "common/text.hpp"
#include "platforms/http/errors.hpp"
#include "platforms/http/headers.hpp"

namespace schedulo::airtable {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::rate_limited:
      return "rate_limited";
    case ErrorKind::quota_exhausted:
      return "quota_exhausted";
    case ErrorKind::transient:
      return "transient";
    case ErrorKind::auth:
      return "auth";
    case ErrorKind::permission:
      return "permission";
    case ErrorKind::not_found:
      return "not_found";
    case ErrorKind::invalid:
      return "invalid";
    case ErrorKind::too_large:
      return "too_large";
    case ErrorKind::iterator_expired:
      return "iterator_expired";
    case ErrorKind::bad_answer:
      return "bad_answer";
    case ErrorKind::not_sent:
      return "not_sent";
  }
  return "unknown";
}

std::string Error::describe() const {
  std::string out;
  if (status > 0) out += std::to_string(status) + " ";
  out += type.empty() ? std::string(to_string(kind)) : type;
  if (!message.empty()) out += ": " + message;
  return out;
}

void throw_exception_from_error(const Error& error, const boost::source_location& /*location*/) {
  throw std::runtime_error("airtable: " + error.describe());
}

Error error_from_response(int status, std::string_view body, const http::Headers& headers) {
  Error e;
  e.status = status;
  // Both shapes of section 5.3; anything else (a proxy's HTML page) keeps only the status.
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error")) {
    const auto& err = doc["error"];
    if (err.is_string()) {
      e.type = err.get<std::string>();
    } else if (err.is_object()) {
      if (err.contains("type") && err["type"].is_string()) e.type = err["type"].get<std::string>();
      if (err.contains("message") && err["message"].is_string())
        e.message = excerpt(err["message"].get<std::string>(), 300);
    }
  }
  if (auto after = headers.get("Retry-After")) {
    char* end = nullptr;
    const std::string text(*after);
    const long seconds = std::strtol(text.c_str(), &end, 10);
    if (end != text.c_str() && *end == '\0' && seconds >= 0 && seconds < 24 * 3600)
      e.retry_after = std::chrono::seconds(seconds);
  }
  switch (status) {
    case 400:
      e.kind = ErrorKind::invalid;
      break;
    case 401:
      e.kind = ErrorKind::auth;
      break;
    case 402:
      e.kind = ErrorKind::quota_exhausted;
      break;  // billing limit (UNCONFIRMED): never retried at once
    case 403:
      e.kind = ErrorKind::permission;
      break;
    case 404:
      e.kind = ErrorKind::not_found;
      break;
    case 413:
      e.kind = ErrorKind::too_large;
      break;
    case 422:
      e.kind = e.type == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE" ? ErrorKind::iterator_expired : ErrorKind::invalid;
      break;
    case 429:
      e.kind = e.type == "PUBLIC_API_BILLING_LIMIT_EXCEEDED" ? ErrorKind::quota_exhausted : ErrorKind::rate_limited;
      break;
    default:
      // 408, 5xx and anything unexpected: the request may be retried (writes are upserts by key).
      e.kind = status >= 400 && status < 500 && status != 408 ? ErrorKind::invalid : ErrorKind::transient;
  }
  return e;
}

Error error_from_http(const http::Error& error) {
  Error e;
  e.kind = error.kind == http::ErrorKind::cancelled ? ErrorKind::not_sent : ErrorKind::transient;
  e.type = std::string(http::to_string(error.kind));
  e.message = error.message;
  return e;
}

namespace {

// The text between the first pair of double quotes after `after`, or empty.
std::string quoted_after(std::string_view message, std::string_view after) {
  const auto at = message.find(after);
  if (at == std::string_view::npos) return {};
  const auto open = message.find('"', at + after.size());
  if (open == std::string_view::npos) return {};
  const auto close = message.find('"', open + 1);
  if (close == std::string_view::npos) return {};
  return std::string(message.substr(open + 1, close - open - 1));
}

}  // namespace

std::string field_named_in(std::string_view message) {
  if (auto f = quoted_after(message, "Unknown field name"); !f.empty()) return f;
  if (auto f = quoted_after(message, "Field "); !f.empty()) return f;
  return {};
}

std::string record_named_in(std::string_view message) {
  // The first word that is "rec" and 14 letters or digits ("Could not find record recXXXX...").
  for (auto at = message.find("rec"); at != std::string_view::npos; at = message.find("rec", at + 1)) {
    if (at > 0 && std::isalnum(static_cast<unsigned char>(message[at - 1]))) continue;
    std::size_t end = at + 3;
    while (end < message.size() && std::isalnum(static_cast<unsigned char>(message[end]))) ++end;
    if (end - at == 17) return std::string(message.substr(at, end - at));
  }
  return {};
}

}  // namespace schedulo::airtable
