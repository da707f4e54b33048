#pragma once
// Faults injected per route (POST /_sandbox/faults). A fault matches requests by api, route name,
// method and path prefix (each optional), inside an optional window on the sandbox clock, for an
// optional number of requests, at an optional rate. Kinds:
//   latency           wait `ms` (wall clock) before handling; combines with any other fault
//   error             answer `status` (default 500) in the API's error shape (or `body`/`headers`)
//   outage            like error, default 503: meant for `from`/`until`/`for_ms` windows
//   rate_limit        answer the API's own 429 (its body and rate-limit headers); with `reset_in_ms`
//                     the limit it names clears that long after this answer: the emulator's reset
//                     headers are rewritten for it (x-rate-limit-reset and the 24-hour resets in epoch
//                     s, Retry-After in s, estimated_time_to_regain_access in X-App-Usage,
//                     X-Page-Usage and X-Business-Use-Case-Usage in minutes, each rounded up)
//   drop_request      close the connection without handling the request (no effect)
//   commit_then_lose  handle the request (it takes effect), then close without answering; with
//                     `cut_after` the handler sees only that many bytes of the request body (an
//                     upload whose connection broke at byte N: the server keeps what it received)
//   reset_mid_body    handle it, send the head and part of the body (`cut_after` bytes, default half),
//                     then reset the connection
// `rate` (0..1) selects requests deterministically: with 0.5 exactly every second matching request.
// `headers` (any kind) replace the emulator's header of each name (case-insensitive) for this answer,
// so a fault may give its own Retry-After or usage reading; reset_in_ms then rewrites the times.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.hpp"

namespace schedulo::sandbox {

enum class FaultKind { latency, error, outage, rate_limit, drop_request, commit_then_lose, reset_mid_body };

struct Fault {
  std::uint64_t id = 0;
  FaultKind kind = FaultKind::error;
  std::string api, route, method, path_prefix;
  std::optional<std::int64_t> remaining;  // requests left to affect ("count")
  double rate = 1.0;
  std::optional<std::int64_t> from_ms, until_ms;
  std::int64_t latency_ms = 0;
  int status = 0;
  nlohmann::json body;  // null: the API's shape
  std::vector<server::Header> headers;
  std::optional<std::uint64_t> cut_after;
  std::optional<std::int64_t> reset_in_ms;  // rate_limit: the limit clears this long after the answer
  std::uint64_t seen = 0;  // matching requests so far (for `rate`)
  std::uint64_t hits = 0;  // requests affected
};

std::string_view fault_kind_name(FaultKind kind);

// What the faults make of one request.
struct FaultDecision {
  std::int64_t latency_ms = 0;
  std::optional<Fault> terminal;  // a copy of the first non-latency fault applied, if any
  std::string names;                // kinds applied, comma-separated, for the log
};

class Faults {
 public:
  // Adds one fault from its JSON; returns its id, or an error message naming the bad field.
  std::optional<std::uint64_t> add(const nlohmann::json& spec, std::int64_t now_ms, std::string& error);
  bool remove(std::uint64_t id);
  void clear() { faults_.clear(); }
  nlohmann::json to_json() const;

  // Decides (and counts) the faults for one request.
  FaultDecision decide(std::string_view api, std::string_view route, std::string_view method, std::string_view path,
                       std::int64_t now_ms);

 private:
  std::vector<Fault> faults_;
  std::uint64_t next_id_ = 1;
};

}  // namespace schedulo::sandbox
