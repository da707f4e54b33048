#include "platforms/errors/rate_headers.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

namespace schedulo::errors {
namespace {

using json = nlohmann::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Times a header may name, in seconds: an epoch before 2242 and a wait under ten years. Larger ones
// are ignored: they overflowed system_clock's nanoseconds, which end in 2262 (found by
// tests/fuzz/x_answers_fuzz.cpp; a first bound of 2^34 s, year 2514, still let 2262..2514 overflow).
constexpr long long kMaxEpochS = 1LL << 33;
constexpr long long kMaxWaitS = 10LL * 366 * 24 * 3600;

std::optional<long long> whole(std::string_view s) {
  s = trim(s);
  long long v = 0;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end) return std::nullopt;
  return v;
}

int month_index(const char* name) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (std::strncmp(name, kMonths[i], 3) == 0 && name[3] == '\0') return i;
  return -1;
}

// RFC 9110 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept.
std::optional<SystemTime> parse_http_date(std::string_view text) {
  const std::string s(trim(text));
  std::tm tm{};
  char wday[16] = {}, mon[4] = {}, zone[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  bool parsed = false;
  if (std::sscanf(s.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d %3s", wday, &day, mon, &year, &hh, &mm, &ss, zone) == 8 &&
      std::strcmp(zone, "GMT") == 0) {
    parsed = true;  // Sun, 06 Nov 1994 08:49:37 GMT
  } else if (std::sscanf(s.c_str(), "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s", wday, &day, mon, &year, &hh, &mm, &ss,
                         zone) == 8 &&
             std::strcmp(zone, "GMT") == 0) {
    year += year < 70 ? 2000 : 1900;  // Sunday, 06-Nov-94 08:49:37 GMT
    parsed = true;
  } else if (std::sscanf(s.c_str(), "%3s %3s %d %2d:%2d:%2d %4d", wday, mon, &day, &hh, &mm, &ss, &year) == 7) {
    parsed = true;  // Sun Nov  6 08:49:37 1994
  }
  const int m = month_index(mon);
  if (!parsed || m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = m;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  const std::time_t t = ::timegm(&tm);
  if (t == static_cast<std::time_t>(-1) || t >= kMaxEpochS) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

// A usage value: Meta documents whole numbers, but a string holding one is read too.
std::optional<int> percent_value(const json& v) {
  if (v.is_number_integer()) return static_cast<int>(v.get<long long>());
  if (v.is_number()) {
    const double d = v.get<double>();  // the cast is undefined outside int's range
    return d > -2e9 && d < 2e9 ? std::optional<int>(static_cast<int>(d)) : std::nullopt;
  }
  if (v.is_string())
    if (auto n = whole(v.get<std::string>())) return static_cast<int>(*n);
  return std::nullopt;
}

XRateWindow window_of(const http::Headers& h, std::string_view prefix) {
  XRateWindow w;
  const std::string p(prefix);
  if (auto v = h.get(p + "limit")) w.limit = whole(*v);
  if (auto v = h.get(p + "remaining")) w.remaining = whole(*v);
  if (auto v = h.get(p + "reset"))
    if (auto epoch = whole(*v); epoch && *epoch >= 0 && *epoch < kMaxEpochS)
      w.reset = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(*epoch));
  return w;
}

std::string string_field(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::optional<SystemTime> parse_retry_after(std::string_view value, SystemTime now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (auto seconds = whole(value)) {
    if (*seconds < 0 || *seconds > kMaxWaitS) return std::nullopt;
    return now + std::chrono::seconds(*seconds);
  }
  auto date = parse_http_date(value);
  if (!date) return std::nullopt;
  return std::max(*date, now);
}

std::optional<SystemTime> retry_after(const http::Headers& headers, SystemTime now) {
  const auto v = headers.get("Retry-After");
  return v ? parse_retry_after(*v, now) : std::nullopt;
}

XRateLimits parse_x_rate_limits(const http::Headers& headers) {
  return XRateLimits{window_of(headers, "x-rate-limit-"), window_of(headers, "x-user-limit-24hour-"),
                     window_of(headers, "x-app-limit-24hour-")};
}

std::optional<SystemTime> x_limit_clears_at(const XRateLimits& limits) {
  std::optional<SystemTime> day;
  for (const auto* w : {&limits.user_24h, &limits.app_24h})
    if (w->exhausted() && w->reset) day = day ? std::max(*day, *w->reset) : *w->reset;
  if (day) return day;
  return limits.window.reset;
}

int AppUsage::percent() const {
  return std::max({call_count, total_time, total_cputime});
}
int BucUsage::percent() const {
  return std::max({call_count, total_time, total_cputime});
}

std::optional<AppUsage> parse_app_usage(std::string_view value) {
  auto doc = json::parse(value, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  AppUsage u;
  bool any = false;
  for (auto [name, field] : {std::pair{"call_count", &u.call_count}, std::pair{"total_time", &u.total_time},
                             std::pair{"total_cputime", &u.total_cputime}}) {
    if (auto it = doc.find(name); it != doc.end())
      if (auto v = percent_value(*it)) {
        *field = *v;
        any = true;
      }
  }
  if (auto it = doc.find("estimated_time_to_regain_access"); it != doc.end()) u.regain_minutes = percent_value(*it);
  if (!any) return std::nullopt;
  return u;
}

std::vector<BucUsage> parse_buc_usage(std::string_view value) {
  std::vector<BucUsage> out;
  auto doc = json::parse(value, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it.value().is_array()) continue;
    for (const auto& entry : it.value()) {
      if (!entry.is_object()) continue;
      BucUsage u;
      u.object_id = it.key();
      u.type = string_field(entry, "type");
      for (auto [name, field] : {std::pair{"call_count", &u.call_count}, std::pair{"total_time", &u.total_time},
                                 std::pair{"total_cputime", &u.total_cputime},
                                 std::pair{"estimated_time_to_regain_access", &u.regain_minutes}}) {
        if (auto f = entry.find(name); f != entry.end())
          if (auto v = percent_value(*f)) *field = *v;
      }
      out.push_back(std::move(u));
    }
  }
  return out;
}

std::optional<TikTokError> parse_tiktok_error(std::string_view body) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto it = doc.find("error");
  if (it == doc.end()) return std::nullopt;
  TikTokError e;
  if (it->is_object()) {
    e.code = string_field(*it, "code");
    e.message = string_field(*it, "message");
    e.log_id = string_field(*it, "log_id");
    if (e.log_id.empty()) e.log_id = string_field(*it, "logid");
  } else if (it->is_string()) {  // OAuth endpoints: flat shape
    e.code = it->get<std::string>();
    e.message = string_field(doc, "error_description");
  } else {
    return std::nullopt;
  }
  if (e.log_id.empty()) e.log_id = string_field(doc, "log_id");
  if (e.code.empty()) return std::nullopt;
  return e;
}

std::optional<AirtableError> parse_airtable_error(std::string_view body) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto it = doc.find("error");
  if (it == doc.end()) return std::nullopt;
  AirtableError e;
  if (it->is_string()) {
    e.type = it->get<std::string>();
  } else if (it->is_object()) {
    e.type = string_field(*it, "type");
    e.message = string_field(*it, "message");
  }
  if (e.type.empty()) return std::nullopt;
  return e;
}

}  // namespace schedulo::errors
