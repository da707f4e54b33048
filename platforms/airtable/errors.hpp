#pragma once
// Airtable's answers as one classification (platform-apis.md 5.3): the error body is either
// {"error":"NOT_FOUND"} or {"error":{"type":..,"message":..}}; the kind decides what a caller does.
#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace schedulo::http {
struct Error;
class Headers;
}  // namespace schedulo::http

namespace schedulo::airtable {

enum class ErrorKind {
  rate_limited,      // 429 RATE_LIMIT_REACHED: the base (or token) is blocked for 30 s
  quota_exhausted,   // 429 PUBLIC_API_BILLING_LIMIT_EXCEEDED, 402: the plan's monthly calls are used up
  transient,         // 500/502/503/504, network trouble, timeouts: try again later, nothing is wrong
  auth,              // 401: the token is missing, wrong or revoked
  permission,        // 403: no access to the base or table, or the table does not exist
  not_found,         // 404: a record id (or a route) that does not exist
  invalid,           // 400/422: the request or one of its records is refused (field, value, option)
  too_large,         // 413
  iterator_expired,  // 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE: restart the listing from page 1
  bad_answer,        // a 2xx whose body is not what the API documents
  not_sent,          // the call was not made: the budget is spent or the caller is stopping
};

std::string_view to_string(ErrorKind kind);

struct Error {
  // Not an aggregate on purpose: C++20 would let any JSON value "construct" one, which makes
  // Result<nlohmann::json> ambiguous.
  Error() = default;
  Error(ErrorKind k, int s, std::string t, std::string m, std::optional<std::chrono::milliseconds> after = {})
      : kind(k), status(s), type(std::move(t)), message(std::move(m)), retry_after(after) {}

  ErrorKind kind = ErrorKind::transient;
  int status = 0;       // HTTP status; 0 when no answer came
  std::string type;     // Airtable's error type ("UNKNOWN_FIELD_NAME"), or the HTTP layer's kind
  std::string message;  // Airtable's message (never holds the token), or the HTTP layer's
  std::optional<std::chrono::milliseconds> retry_after;

  // A record-level refusal: splitting the batch finds the record (the others can be written).
  bool rejects_records() const {
    return kind == ErrorKind::invalid || kind == ErrorKind::not_found || kind == ErrorKind::too_large;
  }
  // "422 UNKNOWN_FIELD_NAME: Unknown field name: \"Sate\"": what goes in logs and dead items.
  std::string describe() const;
};

template <typename T>
using Result = boost::system::result<T, Error>;

[[noreturn]] void throw_exception_from_error(const Error& error, const boost::source_location& location);

// The classification of a non-2xx answer.
Error error_from_response(int status, std::string_view body, const http::Headers& headers);
// The classification of a call that got no answer.
Error error_from_http(const http::Error& error);
// The field named by a 422 message ("Unknown field name: \"X\"", "Field \"X\" cannot accept ..."),
// or empty: lets a batch split put the records that carry it apart first.
std::string field_named_in(std::string_view message);
// The record id named by a 404 message ("Could not find record recXXXX"), or empty.
std::string record_named_in(std::string_view message);

}  // namespace schedulo::airtable
