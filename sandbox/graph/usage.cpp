#include "sandbox/graph/usage.hpp"

#include <algorithm>

namespace schedulo::sandbox::graph {
namespace {

constexpr std::int64_t kMinuteMs = 60 * 1000;

int pct(std::int64_t used, std::int64_t limit) {
  if (limit <= 0) return 0;
  return static_cast<int>(std::min<std::int64_t>(100, used * 100 / limit));
}

}  // namespace

void UsageWindow::prune(std::int64_t window_ms, std::int64_t now_ms) {
  while (!entries_.empty() && entries_.front().at_ms <= now_ms - window_ms) entries_.pop_front();
}

UsagePercent UsageWindow::percent(std::int64_t limit, std::int64_t window_ms, std::int64_t now_ms) {
  prune(window_ms, now_ms);
  std::int64_t calls = 0;
  std::int64_t time = 0;
  std::int64_t cpu = 0;
  for (const auto& e : entries_) {
    calls += e.calls;
    time += e.time;
    cpu += e.cpu;
  }
  UsagePercent p{pct(calls, limit), pct(time, limit), pct(cpu, limit), 0};
  if (!p.throttled() || limit <= 0) return p;
  // Usage falls below 100 % once enough of the oldest entries have left the window: for each unit,
  // find the entry whose departure brings the sum under the limit.
  std::int64_t regain_at = now_ms;
  auto when_under = [&](std::int64_t total, std::int64_t UsageEntry::*unit) {
    if (total < limit) return;
    std::int64_t left = total;
    for (const auto& e : entries_) {
      left -= e.*unit;
      if (left < limit) {
        regain_at = std::max(regain_at, e.at_ms + window_ms);
        return;
      }
    }
  };
  when_under(calls, &UsageEntry::calls);
  when_under(time, &UsageEntry::time);
  when_under(cpu, &UsageEntry::cpu);
  p.regain_minutes = (regain_at - now_ms + kMinuteMs - 1) / kMinuteMs;
  return p;
}

void UsageWindow::raise_to(int calls_pct, int time_pct, int cpu_pct, std::int64_t limit, std::int64_t window_ms,
                           std::int64_t now_ms) {
  prune(window_ms, now_ms);
  std::int64_t calls = 0;
  std::int64_t time = 0;
  std::int64_t cpu = 0;
  for (const auto& e : entries_) {
    calls += e.calls;
    time += e.time;
    cpu += e.cpu;
  }
  auto need = [&](int want, std::int64_t have) -> std::int64_t {
    if (want < 0) return 0;
    const std::int64_t target = (static_cast<std::int64_t>(want) * limit + 99) / 100;
    return std::max<std::int64_t>(0, target - have);
  };
  UsageEntry e{now_ms, need(calls_pct, calls), need(time_pct, time), need(cpu_pct, cpu)};
  if (e.calls > 0 || e.time > 0 || e.cpu > 0) entries_.push_back(e);
}

nlohmann::json UsageWindow::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries_) out.push_back({e.at_ms, e.calls, e.time, e.cpu});
  return out;
}

void UsageWindow::from_json(const nlohmann::json& j) {
  entries_.clear();
  for (const auto& e : j)
    entries_.push_back({e.at(0).get<std::int64_t>(), e.at(1).get<std::int64_t>(), e.at(2).get<std::int64_t>(),
                        e.at(3).get<std::int64_t>()});
}

}  // namespace schedulo::sandbox::graph
