#pragma once
// Logging: spdlog underneath, one line per event, text or JSON lines. Every line a job writes carries
// its job id (JobLog). Secrets registered here are replaced by "[redacted]" in every line, whatever
// path they took to get there; code should still never format a secret in the first place.
#include <spdlog/spdlog.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace schedulo::log {

enum class Format { text, json };

struct Field {
  std::string_view key;
  std::string value;
};

// Installs the process logger writing to `sink` (stderr when null).
void init(Format format, spdlog::level::level_enum level, spdlog::sink_ptr sink = nullptr);
bool parse_format(std::string_view name, Format& out);
bool parse_level(std::string_view name, spdlog::level::level_enum& out);

// Values shorter than 6 characters are not registered: scrubbing them would mangle ordinary text.
void register_secret(std::string_view secret);
// The line with every registered secret replaced.
std::string scrub(std::string line);

void write(spdlog::level::level_enum level, std::string_view message,
           std::initializer_list<Field> fields = {});

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(spdlog::level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(spdlog::level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(spdlog::level::err, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (spdlog::should_log(spdlog::level::debug))
    write(spdlog::level::debug, fmt::format(f, std::forward<Args>(args)...));
}

// A logger bound to one job: every line it writes carries `job=<id>`.
class JobLog {
 public:
  explicit JobLog(std::string job_id) : job_id_(std::move(job_id)) {}
  const std::string& job_id() const { return job_id_; }

  template <typename... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) const {
    emit(spdlog::level::info, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) const {
    emit(spdlog::level::warn, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> f, Args&&... args) const {
    emit(spdlog::level::err, fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  void emit(spdlog::level::level_enum level, std::string_view message) const {
    write(level, message, {{"job", job_id_}});
  }
  std::string job_id_;
};

}  // namespace schedulo::log
