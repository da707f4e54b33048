#pragma once
// Graph's rate-limit model (platform-apis.md 1.0): usage as whole percentages of a limit over a rolling
// window, reported on every response (X-App-Usage; X-Business-Use-Case-Usage for Page-token Pages calls
// and every Instagram call) and enforced at 100 with the throttle codes. Each counter keeps (time,
// calls, time units, CPU units) entries on the sandbox clock, so usage ages out as the clock moves and
// `estimated_time_to_regain_access` is exact. A real call costs one of each unit; tests add phantom
// usage (POST /_sandbox/graph/usage) to reach a percentage without making thousands of calls.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace schedulo::sandbox::graph {

struct UsageEntry {
  std::int64_t at_ms = 0;
  std::int64_t calls = 0;
  std::int64_t time = 0;
  std::int64_t cpu = 0;
};

struct UsagePercent {
  int call_count = 0;
  int total_time = 0;
  int total_cputime = 0;
  std::int64_t regain_minutes = 0;  // 0 unless throttled
  bool throttled() const { return call_count >= 100 || total_time >= 100 || total_cputime >= 100; }
};

class UsageWindow {
 public:
  void add(UsageEntry entry) { entries_.push_back(entry); }
  // Percentages of `limit` over the `window_ms` before now (entries older than that are forgotten).
  UsagePercent percent(std::int64_t limit, std::int64_t window_ms, std::int64_t now_ms);
  // Adds phantom usage now so that each given percentage (negative: leave alone) is reached at least.
  void raise_to(int calls_pct, int time_pct, int cpu_pct, std::int64_t limit, std::int64_t window_ms,
                std::int64_t now_ms);
  nlohmann::json to_json() const;
  void from_json(const nlohmann::json& j);

 private:
  void prune(std::int64_t window_ms, std::int64_t now_ms);
  std::deque<UsageEntry> entries_;
};

// The counters one deployment has, by key: "app", "user:{id}", "page_user:{page-id}",
// "pages:{page-id}", "instagram:{ig-user-id}".
using UsageCounters = std::map<std::string, UsageWindow>;

}  // namespace schedulo::sandbox::graph
