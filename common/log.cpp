#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

namespace schedulo::log {
namespace {

constexpr std::size_t kMinSecretLength = 6;

struct State {
  std::mutex mutex;
  std::vector<std::string> secrets;
  Format format = Format::text;
};

State& state() {
  static State s;
  return s;
}

std::string json_string(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
}

}  // namespace

void init(Format format, spdlog::level::level_enum level, spdlog::sink_ptr sink) {
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("schedulo", std::move(sink));
  // %v is already a complete fragment built by write(): "message k=v" or "\"msg\":...,\"k\":...".
  logger->set_pattern(format == Format::json ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})"
                                             : "%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                      spdlog::pattern_time_type::utc);
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  {
    std::lock_guard lock(state().mutex);
    state().format = format;
  }
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(level);
}

bool parse_format(std::string_view name, Format& out) {
  if (name == "text") out = Format::text;
  else if (name == "json") out = Format::json;
  else return false;
  return true;
}

bool parse_level(std::string_view name, spdlog::level::level_enum& out) {
  for (auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                     spdlog::level::warn, spdlog::level::err, spdlog::level::critical,
                     spdlog::level::off}) {
    const auto sv = spdlog::level::to_string_view(level);
    if (name == std::string_view(sv.data(), sv.size()) || (level == spdlog::level::warn && name == "warn") ||
        (level == spdlog::level::err && name == "error")) {
      out = level;
      return true;
    }
  }
  return false;
}

namespace {

// A secret also travels URL-encoded (a query string, a form body): each spelling is scrubbed.
std::vector<std::string> spellings(std::string_view secret) {
  std::vector<std::string> out{std::string(secret)};
  for (const char* hex : {"0123456789ABCDEF", "0123456789abcdef"}) {
    for (const bool form : {false, true}) {
      std::string encoded;
      for (const char c : secret) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
          encoded += c;
        } else if (form && c == ' ') {
          encoded += '+';
        } else {
          encoded += '%';
          encoded += hex[u >> 4];
          encoded += hex[u & 0xf];
        }
      }
      if (std::find(out.begin(), out.end(), encoded) == out.end()) out.push_back(std::move(encoded));
    }
  }
  return out;
}

}  // namespace

void register_secret(std::string_view secret) {
  if (secret.size() < kMinSecretLength) return;
  std::lock_guard lock(state().mutex);
  for (auto& spelling : spellings(secret)) {
    if (std::find(state().secrets.begin(), state().secrets.end(), spelling) != state().secrets.end()) continue;
    state().secrets.push_back(std::move(spelling));
  }
  // Longer spellings first: an encoded form is scrubbed whole before its raw part could match.
  std::stable_sort(state().secrets.begin(), state().secrets.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string scrub(std::string line) {
  std::lock_guard lock(state().mutex);
  for (const auto& secret : state().secrets) {
    for (auto pos = line.find(secret); pos != std::string::npos; pos = line.find(secret, pos)) {
      line.replace(pos, secret.size(), "[redacted]");
      pos += 10;
    }
  }
  return line;
}

void write(spdlog::level::level_enum level, std::string_view message,
           std::initializer_list<Field> fields) {
  if (!spdlog::should_log(level)) return;
  Format format;
  {
    std::lock_guard lock(state().mutex);
    format = state().format;
  }
  std::string line;
  if (format == Format::json) {
    // Scrub each value before JSON escaping: a secret holding '"', '\\' or a control character
    // no longer matches once escaped, so the whole-line scrub below would miss it.
    line = "\"msg\":" + json_string(scrub(std::string(message)));
    for (const auto& f : fields) {
      line += ',';
      line += json_string(f.key);
      line += ':';
      line += json_string(scrub(f.value));
    }
  } else {
    // One event, one line: control characters in job-supplied text must not forge a second line.
    for (const auto& f : fields) {
      line.append(f.key);
      line += '=';
      append_escaped(line, scrub(f.value));
      line += ' ';
    }
    append_escaped(line, scrub(std::string(message)));
  }
  spdlog::log(level, "{}", scrub(std::move(line)));
}

}  // namespace schedulo::log
