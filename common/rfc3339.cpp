#include "common/rfc3339.hpp"

#include <chrono>
#include <cstdio>

namespace schedulo {
namespace {

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kSecondsPerDay = 86400;

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Howard Hinnant's days_from_civil: proleptic Gregorian date -> days since 1970-01-01.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool digits(int n, int& out) {
    if (i + static_cast<std::size_t>(n) > s.size()) return false;
    out = 0;
    for (int k = 0; k < n; ++k) {
      const char c = s[i++];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  }
  bool lit(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
};

}  // namespace

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) {
  Cursor c{text};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!c.digits(4, year) || !c.lit('-') || !c.digits(2, month) || !c.lit('-') || !c.digits(2, day))
    return std::nullopt;
  if (!(c.lit('T') || c.lit('t') || c.lit(' '))) return std::nullopt;
  if (!c.digits(2, hour) || !c.lit(':') || !c.digits(2, minute) || !c.lit(':') || !c.digits(2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60)
    return std::nullopt;
  std::int64_t millis = 0;
  if (c.lit('.')) {
    int scale = 100;
    std::size_t n = 0;
    while (c.i < text.size() && text[c.i] >= '0' && text[c.i] <= '9') {
      millis += (text[c.i] - '0') * scale;
      scale /= 10;
      ++c.i;
      ++n;
    }
    if (n == 0 || n > 9) return std::nullopt;
  }
  if (second == 60) {  // leap second: the last instant of the minute
    second = 59;
    millis = 999;
  }
  std::int64_t offset_s = 0;
  if (c.lit('Z') || c.lit('z')) {
  } else if (c.i < text.size() && (text[c.i] == '+' || text[c.i] == '-')) {
    const int sign = text[c.i++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!c.digits(2, oh) || !c.lit(':') || !c.digits(2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (c.i != text.size()) return std::nullopt;
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * kSecondsPerDay + hour * 3600 + minute * 60 + second - offset_s;
  return secs * kMsPerSecond + millis;
}

std::string format_rfc3339_ms(std::int64_t epoch_ms) {
  std::int64_t secs = epoch_ms / kMsPerSecond;
  std::int64_t ms = epoch_ms % kMsPerSecond;
  if (ms < 0) {
    ms += kMsPerSecond;
    --secs;
  }
  std::int64_t days = secs / kSecondsPerDay;
  std::int64_t sod = secs % kSecondsPerDay;
  if (sod < 0) {
    sod += kSecondsPerDay;
    --days;
  }
  // civil_from_days (Hinnant)
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                static_cast<long long>(ms));
  return buf;
}

std::int64_t now_epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace schedulo
