#include "platforms/errors/call_log.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "platforms/http/url.hpp"

namespace schedulo::errors {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string encode(std::string_view s, const char* hex, bool form) {
  std::string out;
  for (const unsigned char c : s) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else if (form && c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

void replace_all(std::string& text, std::string_view needle) {
  if (needle.empty()) return;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + kRedacted.size()))
    text.replace(pos, needle.size(), kRedacted);
}

}  // namespace

std::vector<std::string> secret_spellings(std::string_view secret) {
  std::vector<std::string> out{std::string(secret)};
  for (const char* hex : {"0123456789ABCDEF", "0123456789abcdef"})
    for (bool form : {false, true}) {
      auto s = encode(secret, hex, form);
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
    }
  // Longest first: a raw secret is a prefix-free part of its encodings only when nothing needed encoding.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    for (const auto& spelling : secret_spellings(secret)) replace_all(text, spelling);
  }
  return text;
}

std::string endpoint_of(const http::Request& request) {
  std::string out = request.method + " ";
  auto parsed = http::parse_url(request.url);
  if (!parsed.url) return out + "(unparsable URL)";
  std::string path = parsed.url->target;
  if (const auto q = path.find('?'); q != std::string::npos) path.resize(q);
  return out + parsed.url->host + path;
}

void log_call_failure(const CallRecord& r, const std::vector<std::string>& secrets) {
  static const Classified kNone;
  const Classified& c = r.classified ? *r.classified : kNone;
  const auto level = c.kind == ErrorClass::auth_revoked || c.kind == ErrorClass::outcome_unknown ? spdlog::level::err
                                                                                                 : spdlog::level::warn;
  auto clean = [&](std::string s) { return redact(std::move(s), secrets); };
  log::write(level, clean("external call failed: " + (c.detail.empty() ? std::string(to_string(c.kind)) : c.detail)),
             {{"job", clean(r.job_id)},
              {"platform", r.platform},
              {"endpoint", clean(r.endpoint)},
              {"status", std::to_string(c.status)},
              {"class", std::string(to_string(c.kind))},
              {"code", clean(c.code)},
              {"subcode", clean(c.subcode)},
              {"trace_id", clean(c.trace_id)},
              {"latency_ms", std::to_string(r.latency.count())}});
}

}  // namespace schedulo::errors
