#pragma once
// What the sandbox was asked and what it answered, for tests and for people building Bubble flows
// (GET /_sandbox/log). Entries are kept in arrival order with a sequence number, up to a capacity;
// the oldest are forgotten first.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "common/http_server.hpp"

namespace schedulo::sandbox {

struct LogEntry {
  std::uint64_t seq = 0;
  std::int64_t at_ms = 0;  // sandbox clock
  std::string api;
  std::string route;
  std::string method;
  std::string path;
  std::string query;
  nlohmann::json params;
  nlohmann::json headers;  // name -> value, lower-case names
  nlohmann::json body;     // parsed when JSON, else the text (cut at kMaxBody)
  int status = 0;
  std::string outcome = "pending";  // answered | dropped | reset | pending
  std::string fault;                // the injected fault's kind, if any
  nlohmann::json response;          // the JSON body answered (small bodies only)
  nlohmann::json response_headers;  // of error answers (status >= 400): name -> value, lower-case names
};

struct LogFilter {
  std::string api;
  std::string route;
  std::uint64_t since = 0;  // entries with seq > since
  std::size_t limit = 1000;
};

class RequestLog {
 public:
  static constexpr std::size_t kMaxBody = 64 * 1024;

  explicit RequestLog(std::size_t capacity = 10000) : capacity_(capacity) {}

  // Records the request and returns its sequence number.
  std::uint64_t begin(const server::Request& request, std::string api, std::string route, std::int64_t now_ms);
  // Completes an entry (no-op when it was already forgotten).
  void finish(std::uint64_t seq, const server::Response& response, std::string outcome, std::string fault);
  LogEntry* find(std::uint64_t seq);

  nlohmann::json to_json(const LogFilter& filter) const;
  void clear() { entries_.clear(); }
  std::uint64_t last_seq() const { return next_seq_ - 1; }

 private:
  std::size_t capacity_;
  std::deque<LogEntry> entries_;
  std::uint64_t next_seq_ = 1;
};

// A JSON body parsed, or the text itself (cut at `limit`) when it is not JSON.
nlohmann::json body_as_json(const std::string& body, std::size_t limit);

}  // namespace schedulo::sandbox
