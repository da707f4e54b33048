#include "sandbox/core/faults.hpp"

#include <cmath>

#include "common/rfc3339.hpp"

namespace schedulo::sandbox {

using json = nlohmann::json;

namespace {

struct KindName {
  FaultKind kind;
  std::string_view name;
};
constexpr KindName kKinds[] = {{FaultKind::latency, "latency"},
                               {FaultKind::error, "error"},
                               {FaultKind::outage, "outage"},
                               {FaultKind::rate_limit, "rate_limit"},
                               {FaultKind::drop_request, "drop_request"},
                               {FaultKind::commit_then_lose, "commit_then_lose"},
                               {FaultKind::reset_mid_body, "reset_mid_body"}};

// A time given as RFC 3339 text or as epoch milliseconds.
std::optional<std::int64_t> time_field(const json& spec, const char* key, std::string& error) {
  if (!spec.contains(key)) return std::nullopt;
  const auto& v = spec[key];
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) {
    if (auto ms = parse_rfc3339_ms(v.get<std::string>())) return ms;
  }
  error = std::string(key) + ": must be an RFC 3339 time or epoch milliseconds";
  return std::nullopt;
}

std::string string_field(const json& spec, const char* key, std::string& error) {
  if (!spec.contains(key)) return {};
  if (!spec[key].is_string()) {
    error = std::string(key) + ": must be a string";
    return {};
  }
  return spec[key].get<std::string>();
}

}  // namespace

std::string_view fault_kind_name(FaultKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "?";
}

std::optional<std::uint64_t> Faults::add(const json& spec, std::int64_t now_ms, std::string& error) {
  if (!spec.is_object()) {
    error = "a fault must be a JSON object";
    return std::nullopt;
  }
  Fault f;
  const std::string kind = string_field(spec, "kind", error);
  bool known = false;
  for (const auto& k : kKinds) {
    if (k.name == kind) {
      f.kind = k.kind;
      known = true;
    }
  }
  if (!known) {
    error = "kind: must be one of latency, error, outage, rate_limit, drop_request, commit_then_lose, reset_mid_body";
    return std::nullopt;
  }
  f.api = string_field(spec, "api", error);
  f.route = string_field(spec, "route", error);
  f.method = string_field(spec, "method", error);
  f.path_prefix = string_field(spec, "path_prefix", error);
  if (!error.empty()) return std::nullopt;
  if (spec.contains("count")) {
    if (!spec["count"].is_number_integer() || spec["count"].get<std::int64_t>() < 1) {
      error = "count: must be a positive integer";
      return std::nullopt;
    }
    f.remaining = spec["count"].get<std::int64_t>();
  }
  if (spec.contains("rate")) {
    if (!spec["rate"].is_number() || spec["rate"].get<double>() <= 0 || spec["rate"].get<double>() > 1) {
      error = "rate: must be a number in (0, 1]";
      return std::nullopt;
    }
    f.rate = spec["rate"].get<double>();
  }
  f.from_ms = time_field(spec, "from", error);
  f.until_ms = time_field(spec, "until", error);
  if (!error.empty()) return std::nullopt;
  if (spec.contains("for_ms")) {
    if (!spec["for_ms"].is_number_integer()) {
      error = "for_ms: must be an integer";
      return std::nullopt;
    }
    if (!f.from_ms) f.from_ms = now_ms;
    f.until_ms = *f.from_ms + spec["for_ms"].get<std::int64_t>();
  }
  if (f.kind == FaultKind::latency) {
    if (!spec.contains("ms") || !spec["ms"].is_number_integer() || spec["ms"].get<std::int64_t>() < 0) {
      error = "ms: a latency fault needs a non-negative integer ms";
      return std::nullopt;
    }
    f.latency_ms = spec["ms"].get<std::int64_t>();
  }
  f.status = f.kind == FaultKind::outage ? 503 : 500;
  if (spec.contains("status")) {
    if (!spec["status"].is_number_integer() || spec["status"].get<int>() < 100 || spec["status"].get<int>() > 599) {
      error = "status: must be an HTTP status";
      return std::nullopt;
    }
    f.status = spec["status"].get<int>();
  }
  if (spec.contains("body")) f.body = spec["body"];
  if (spec.contains("headers")) {
    if (!spec["headers"].is_object()) {
      error = "headers: must be an object of strings";
      return std::nullopt;
    }
    for (auto it = spec["headers"].begin(); it != spec["headers"].end(); ++it)
      f.headers.push_back({it.key(), it.value().is_string() ? it.value().get<std::string>() : it.value().dump()});
  }
  if (spec.contains("cut_after")) {
    if (!spec["cut_after"].is_number_unsigned()) {
      error = "cut_after: must be a non-negative integer (bytes of body sent before the reset)";
      return std::nullopt;
    }
    f.cut_after = spec["cut_after"].get<std::uint64_t>();
  }
  if (spec.contains("reset_in_ms")) {
    if (f.kind != FaultKind::rate_limit || !spec["reset_in_ms"].is_number_integer() ||
        spec["reset_in_ms"].get<std::int64_t>() < 0) {
      error = "reset_in_ms: a rate_limit fault's non-negative integer (ms after the answer the limit clears)";
      return std::nullopt;
    }
    f.reset_in_ms = spec["reset_in_ms"].get<std::int64_t>();
  }
  f.id = next_id_++;
  faults_.push_back(std::move(f));
  return faults_.back().id;
}

bool Faults::remove(std::uint64_t id) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->id == id) {
      faults_.erase(it);
      return true;
    }
  }
  return false;
}

json Faults::to_json() const {
  json out = json::array();
  for (const auto& f : faults_) {
    json j{{"id", f.id}, {"kind", fault_kind_name(f.kind)}, {"hits", f.hits}, {"rate", f.rate}};
    if (!f.api.empty()) j["api"] = f.api;
    if (!f.route.empty()) j["route"] = f.route;
    if (!f.method.empty()) j["method"] = f.method;
    if (!f.path_prefix.empty()) j["path_prefix"] = f.path_prefix;
    if (f.remaining) j["remaining"] = *f.remaining;
    if (f.from_ms) j["from"] = format_rfc3339_ms(*f.from_ms);
    if (f.until_ms) j["until"] = format_rfc3339_ms(*f.until_ms);
    if (f.kind == FaultKind::latency) j["ms"] = f.latency_ms;
    if (f.kind == FaultKind::error || f.kind == FaultKind::outage) j["status"] = f.status;
    if (f.cut_after) j["cut_after"] = *f.cut_after;
    if (f.reset_in_ms) j["reset_in_ms"] = *f.reset_in_ms;
    out.push_back(std::move(j));
  }
  return out;
}

FaultDecision Faults::decide(std::string_view api, std::string_view route, std::string_view method,
                             std::string_view path, std::int64_t now_ms) {
  FaultDecision d;
  for (auto& f : faults_) {
    if (!f.api.empty() && f.api != api) continue;
    if (!f.route.empty() && f.route != route) continue;
    if (!f.method.empty() && f.method != method) continue;
    if (!f.path_prefix.empty() && !path.starts_with(f.path_prefix)) continue;
    if (f.from_ms && now_ms < *f.from_ms) continue;
    if (f.until_ms && now_ms >= *f.until_ms) continue;
    if (f.remaining && *f.remaining <= 0) continue;
    if (f.kind != FaultKind::latency && d.terminal) continue;  // one terminal fault per request
    // Deterministic rate: request n is selected when floor(n * rate) grows.
    ++f.seen;
    const auto before = std::floor(static_cast<double>(f.seen - 1) * f.rate);
    const auto after = std::floor(static_cast<double>(f.seen) * f.rate);
    if (after <= before) continue;
    ++f.hits;
    if (f.remaining) --*f.remaining;
    if (f.kind == FaultKind::latency)
      d.latency_ms += f.latency_ms;
    else
      d.terminal = f;
    if (!d.names.empty()) d.names += ",";
    d.names += fault_kind_name(f.kind);
  }
  return d;
}

}  // namespace schedulo::sandbox
