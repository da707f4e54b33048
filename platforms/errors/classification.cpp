#include "platforms/errors/classification.hpp"

#include <nlohmann/json.hpp>

#include "platforms/errors/rate_headers.hpp"

namespace schedulo::errors {
namespace {

using std::chrono::milliseconds;

Classified make(ErrorClass kind, std::string code, std::string detail, int status = 0) {
  Classified c;
  c.kind = kind;
  c.code = std::move(code);
  c.detail = std::move(detail);
  c.status = status;
  return c;
}

// Unsafe calls that may have reached the platform have no known outcome; safe ones are retried.
ErrorClass maybe_done(Safety safety) {
  return safety == Safety::unsafe ? ErrorClass::outcome_unknown : ErrorClass::transient;
}

}  // namespace

std::string_view to_string(ErrorClass kind) {
  switch (kind) {
    case ErrorClass::ok:
      return "ok";
    case ErrorClass::transient:
      return "transient";
    case ErrorClass::rate_limited:
      return "rate_limited";
    case ErrorClass::auth_expired:
      return "auth_expired";
    case ErrorClass::auth_revoked:
      return "auth_revoked";
    case ErrorClass::permanent:
      return "permanent";
    case ErrorClass::outcome_unknown:
      return "outcome_unknown";
  }
  return "?";
}

std::string Classified::error_code() const {
  if (subcode.empty()) return code;
  return code + "/" + subcode;
}

std::chrono::milliseconds Classified::clears_in(SystemClock::time_point now) const {
  if (!clears_at || *clears_at <= now) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(*clears_at - now);
}

std::chrono::milliseconds default_429_wait(std::string_view platform) {
  if (platform == "airtable") return std::chrono::seconds(30);  // "must wait 30 seconds"
  if (platform == "tiktok") return std::chrono::seconds(60);    // 1-minute sliding windows
  if (platform == "x") return std::chrono::minutes(15);         // its 15-minute windows, when no reset came
  return std::chrono::seconds(60);
}

Classified classify_http(const http::Result<http::Response>& answer, Safety safety, SystemClock::time_point now,
                         milliseconds default_429) {
  if (!answer) {
    const auto& e = answer.error();
    const std::string kind(http::to_string(e.kind));
    switch (e.kind) {
      case http::ErrorKind::bad_url:
      case http::ErrorKind::refused_address:
      case http::ErrorKind::too_large:
      case http::ErrorKind::too_many_redirects:
      case http::ErrorKind::bad_media:
      case http::ErrorKind::media_rejected:
      case http::ErrorKind::io:
        return make(ErrorClass::permanent, kind, e.message);
      case http::ErrorKind::resolve:
      case http::ErrorKind::tls:
      case http::ErrorKind::cancelled:
        return make(ErrorClass::transient, kind, e.message);  // nothing reached the platform
      case http::ErrorKind::network:
      case http::ErrorKind::timeout:
      case http::ErrorKind::protocol:
        return make(maybe_done(safety), kind, e.message);
      case http::ErrorKind::http_status:
        break;  // download(): classified by its status below
    }
    http::Response r;
    r.status = e.status;
    return classify_http(http::Result<http::Response>(std::move(r)), safety, now, default_429);
  }
  const auto& r = *answer;
  const int s = r.status;
  Classified c;
  c.status = s;
  c.trace_id = find_trace_id(r);
  c.code = "http_" + std::to_string(s);
  if (s >= 200 && s < 300) {
    c.kind = ErrorClass::ok;
    c.code.clear();
    return c;
  }
  c.detail = "HTTP " + std::to_string(s);
  if (s == 429) {
    c.kind = ErrorClass::rate_limited;
    c.clears_at = retry_after(r.headers, now).value_or(now + default_429);
  } else if (s == 401) {
    c.kind = ErrorClass::auth_expired;
  } else if (s == 408) {
    c.kind = ErrorClass::transient;
  } else if (s == 503) {
    c.kind = ErrorClass::transient;  // "unavailable": not processed
    c.clears_at = retry_after(r.headers, now);
  } else if (s >= 500) {
    c.kind = maybe_done(safety);
    c.clears_at = retry_after(r.headers, now);
  } else {
    c.kind = ErrorClass::permanent;  // 3xx and the other 4xx: the request itself is wrong
  }
  return c;
}

std::string find_trace_id(const http::Response& response) {
  for (const char* header : {"x-fb-trace-id", "x-transaction-id", "x-tt-logid"})
    if (auto v = response.headers.get(header); v && !v->empty()) return std::string(*v);
  if (response.body.empty() || response.body.front() != '{') return {};
  auto doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return {};
  auto text = [](const nlohmann::json& o, const char* name) -> std::string {
    const auto it = o.find(name);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (auto it = doc.find("error"); it != doc.end() && it->is_object()) {
    for (const char* name : {"fbtrace_id", "log_id", "logid"})
      if (auto v = text(*it, name); !v.empty()) return v;
  }
  return text(doc, "log_id");
}

}  // namespace schedulo::errors
