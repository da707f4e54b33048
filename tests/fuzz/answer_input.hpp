#pragma once
// What the answer-parser fuzz targets share: an input is one HTTP answer as `curl -si` prints it (and
// as scripts/fuzz-seed stores the sandbox's real answers): a status line ("HTTP/1.1 200 OK", or just
// "200"), header lines "Name: value", a blank line, then the body. Any bytes are accepted: a status
// that cannot be read is 200, a header line without ':' is skipped, no blank line means no body.
// Plus the invariants every classification must keep.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "platforms/errors/classification.hpp"
#include "platforms/http/message.hpp"

namespace schedulo::fuzz {

// A failed invariant: a crash libFuzzer records (and the replay reports by dying).
[[noreturn]] inline void fail() {
  __builtin_trap();
}
inline void check(bool ok) {
  if (!ok) fail();
}

inline std::string_view take_line(std::string_view& in) {
  const auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

inline http::Response answer_from(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  http::Response r;
  r.status = 200;
  std::string_view status_line = take_line(in);
  if (status_line.starts_with("HTTP/")) {
    const auto sp = status_line.find(' ');
    status_line.remove_prefix(sp == std::string_view::npos ? status_line.size() : sp + 1);
  }
  int status = 0;
  std::size_t digits = 0;
  while (digits < status_line.size() && digits < 3 && status_line[digits] >= '0' && status_line[digits] <= '9')
    status = status * 10 + (status_line[digits++] - '0');
  if (digits == 3 && status >= 100) r.status = status;
  bool blank = false;
  while (!in.empty()) {
    const std::string_view line = take_line(in);
    if (line.empty()) {
      blank = true;
      break;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    r.headers.add(line.substr(0, colon), value);
  }
  if (blank) r.body = std::string(in);
  r.body_bytes = r.body.size();
  return r;
}

// Every classification: a known kind; ok only for a 2xx; an error has a code to store; a wait is
// never negative; a throttle says when it lifts (or the caller's default applies: clears_in 0).
inline void check_classified(const errors::Classified& c, int status, errors::SystemClock::time_point now) {
  const auto kind = static_cast<int>(c.kind);
  check(kind >= static_cast<int>(errors::ErrorClass::ok) &&
        kind <= static_cast<int>(errors::ErrorClass::outcome_unknown));
  check(!errors::to_string(c.kind).empty());
  if (c.ok()) check(status >= 200 && status < 300);
  if (!c.ok()) check(!c.error_code().empty());
  check(c.clears_in(now).count() >= 0);
  check(c.status == status);
}

inline bool same(const errors::Classified& a, const errors::Classified& b) {
  return a.kind == b.kind && a.code == b.code && a.subcode == b.subcode && a.clears_at == b.clears_at &&
         a.detail == b.detail;
}

// A fixed clock: a run is reproducible.
inline errors::SystemClock::time_point fuzz_now() {
  return errors::SystemClock::time_point(std::chrono::seconds(1'795'000'000));  // November 2026
}

}  // namespace schedulo::fuzz
