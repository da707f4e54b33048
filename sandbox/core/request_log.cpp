#include "sandbox/core/request_log.hpp"

#include <algorithm>
#include <cctype>

#include "common/rfc3339.hpp"
#include "common/text.hpp"

namespace schedulo::sandbox {

using json = nlohmann::json;

namespace {
std::string lower(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}
}  // namespace

json body_as_json(const std::string& body, std::size_t limit) {
  if (body.empty()) return nullptr;
  if (body.size() <= limit) {
    auto parsed = json::parse(body, nullptr, false);
    if (!parsed.is_discarded()) return parsed;
  }
  // Binary bodies (media chunks) are not text: logged as their size, so the log stays valid JSON. A
  // text cut at `limit` loses the character it splits.
  std::string_view head = std::string_view(body).substr(0, limit);
  for (int i = 0; i < 3 && !head.empty() && head.size() < body.size() && !valid_utf8(head); ++i) head.remove_suffix(1);
  if (!valid_utf8(head)) return json{{"binary_bytes", body.size()}};
  return std::string(head);
}

std::uint64_t RequestLog::begin(const server::Request& request, std::string api, std::string route,
                                std::int64_t now_ms) {
  LogEntry e;
  e.seq = next_seq_++;
  e.at_ms = now_ms;
  e.api = std::move(api);
  e.route = std::move(route);
  e.method = request.method;
  e.path = request.path;
  e.query = request.query;
  e.params = request.params;
  e.headers = json::object();
  for (const auto& h : request.headers) e.headers[lower(h.name)] = h.value;
  e.body = body_as_json(request.body, kMaxBody);
  entries_.push_back(std::move(e));
  while (entries_.size() > capacity_) entries_.pop_front();
  return next_seq_ - 1;
}

LogEntry* RequestLog::find(std::uint64_t seq) {
  if (entries_.empty() || seq < entries_.front().seq) return nullptr;
  const auto index = seq - entries_.front().seq;
  return index < entries_.size() ? &entries_[index] : nullptr;
}

void RequestLog::finish(std::uint64_t seq, const server::Response& response, std::string outcome, std::string fault) {
  LogEntry* e = find(seq);
  if (!e) return;
  e->status = response.status;
  e->outcome = std::move(outcome);
  e->fault = std::move(fault);
  if (!response.stream && response.body.size() <= 4096) e->response = body_as_json(response.body, 4096);
  // What an error answer said about when to come back (Retry-After, x-rate-limit-reset, usage).
  if (response.status >= 400) {
    e->response_headers = json::object();
    for (const auto& h : response.headers) e->response_headers[lower(h.name)] = h.value;
  }
}

json RequestLog::to_json(const LogFilter& filter) const {
  json out = json::array();
  for (const auto& e : entries_) {
    if (e.seq <= filter.since) continue;
    if (!filter.api.empty() && e.api != filter.api) continue;
    if (!filter.route.empty() && e.route != filter.route) continue;
    out.push_back({{"seq", e.seq},
                   {"at_ms", e.at_ms},
                   {"at", format_rfc3339_ms(e.at_ms)},
                   {"api", e.api},
                   {"route", e.route},
                   {"method", e.method},
                   {"path", e.path},
                   {"query", e.query},
                   {"params", e.params},
                   {"headers", e.headers},
                   {"body", e.body},
                   {"status", e.status},
                   {"outcome", e.outcome},
                   {"fault", e.fault.empty() ? json(nullptr) : json(e.fault)},
                   {"response", e.response},
                   {"response_headers", e.response_headers}});
    if (out.size() >= filter.limit) break;
  }
  return {{"entries", out}, {"last_seq", last_seq()}};
}

}  // namespace schedulo::sandbox
