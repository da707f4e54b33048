#include "platforms/graph/errors.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "platforms/errors/rate_feedback.hpp"

namespace schedulo::graph {
namespace {

using errors::Classified;
using errors::ErrorClass;
using json = nlohmann::json;

// Codes arrive as numbers; be lenient with strings of digits.
long long number_of(const json& o, const char* name) {
  const auto it = o.find(name);
  if (it == o.end()) return 0;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

std::string text_of(const json& o, const char* name) {
  const auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_auth_code(long long code) {
  return code == 190 || code == 102;
}

bool revoked_subcode(long long s) {
  switch (s) {
    case 456:  // malformed (historic)
    case 458:  // app not installed
    case 459:  // user checkpointed
    case 460:  // password changed
    case 461:  // app reinstalled (historic)
    case 464:  // unconfirmed user
    case 466:  // invalidated through the API (historic)
    case 467:  // logged out or revoked
    case 468:  // not used for long (historic)
    case 492:  // no role on the Page any more
      return true;
    default:
      return false;
  }
}

bool throttle_code(long long code) {
  return code == 4 || code == 17 || code == 32 || code == 341 || code == 613 || (code >= 80000 && code <= 80014);
}

}  // namespace

std::optional<GraphError> parse_error(std::string_view body) {
  if (body.empty() || body.front() != '{') return std::nullopt;
  const auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto it = doc.find("error");
  if (it == doc.end() || !it->is_object()) return std::nullopt;
  const auto& e = *it;
  GraphError out;
  out.code = number_of(e, "code");
  out.subcode = number_of(e, "error_subcode");
  out.message = text_of(e, "message");
  out.type = text_of(e, "type");
  out.user_title = text_of(e, "error_user_title");
  out.user_message = text_of(e, "error_user_msg");
  if (const auto t = e.find("is_transient"); t != e.end() && t->is_boolean()) out.is_transient = t->get<bool>();
  out.fbtrace_id = text_of(e, "fbtrace_id");
  return out;
}

Classified classify_error(const GraphError& error, int status, const http::Headers& headers, errors::Safety safety,
                          errors::SystemClock::time_point now, const ClassifyOptions& options) {
  Classified c;
  c.status = status;
  c.code = std::to_string(error.code);
  if (error.subcode != 0) c.subcode = std::to_string(error.subcode);
  c.trace_id = error.fbtrace_id;
  c.detail = error.message;
  if (!error.user_message.empty() && error.user_message != error.message) c.detail += " (" + error.user_message + ")";

  const long long code = error.code;
  const long long sub = error.subcode;
  auto throttled = [&] {
    c.kind = ErrorClass::rate_limited;
    c.clears_at = errors::meta_regain_at(headers, now).value_or(now + options.throttle_wait);
  };

  if (is_auth_code(code)) {
    c.kind = revoked_subcode(sub) ? ErrorClass::auth_revoked : ErrorClass::auth_expired;
  } else if (code == 4 && sub == 2207051) {
    c.kind = ErrorClass::permanent;  // "activity restricted": stop and tell the user, do not retry
  } else if (throttle_code(code) || code == 9) {
    throttled();
  } else if (code == 368) {
    c.kind = ErrorClass::transient;
    c.clears_at = now + options.policy_block_wait;
  } else if (code == 9007 || sub == 2207003 || sub == 2207001 || sub == 2207032 || sub == 2207082) {
    c.kind = ErrorClass::transient;
  } else if (code == 1 || code == 2 || error.is_transient) {
    // The server's own trouble. An unsafe call that met a 5xx may still have been carried out.
    c.kind = (safety == errors::Safety::unsafe && status >= 500) ? ErrorClass::outcome_unknown : ErrorClass::transient;
  } else {
    c.kind = ErrorClass::permanent;
  }
  return c;
}

Classified classify(const http::Result<http::Response>& answer, errors::Safety safety,
                    errors::SystemClock::time_point now, const ClassifyOptions& options) {
  if (answer && !answer->ok()) {
    if (const auto error = parse_error(answer->body))
      return classify_error(*error, answer->status, answer->headers, safety, now, options);
  }
  return errors::classify_http(answer, safety, now);
}

bool not_ready(const Classified& c) {
  return c.code == "9007" || c.subcode == "2207027";
}

bool container_gone(const Classified& c) {
  return c.subcode == "2207020" || c.subcode == "2207053" || c.subcode == "2207008";
}

}  // namespace schedulo::graph
