#pragma once
// The job validator's internals, shared by its parts: one Checker collects every problem of a job,
// each naming its field. Its members are defined by topic: validation_checker.cpp (typed values and
// their messages), validation_fields.cpp (the job's top-level fields), validation_post.cpp (the post,
// its media and each platform's options and content rules). Not part of the jobs interface:
// job_validation.hpp is.
#include "common/text.hpp"
#include "jobs/job.hpp"
#include "jobs/job_validation.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::jobs::validation {

using nlohmann::json;

inline constexpr std::size_t kMaxIdLength = 128;
inline constexpr std::size_t kMaxAccountLength = 256;
inline constexpr std::size_t kMaxAltTextLength = 1000;  // X's limit, the lowest (platform-apis.md §3.4)
inline constexpr std::size_t kMaxPostIdLength = 256;
inline constexpr std::size_t kMaxTargetPostIds = 100;
inline constexpr std::size_t kMaxThreadPosts = 25;
inline constexpr std::size_t kMaxXPostIdDigits = 20;        // X ids are unsigned 64-bit snowflakes
inline constexpr std::size_t kAirtableRecordIdLength = 17;  // "rec" + 14 alphanumerics
// run_at must survive format_rfc3339_ms and back: years 1970..9999.
inline constexpr std::int64_t kMaxRunAtMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

inline constexpr std::array<std::string_view, 4> kJobTypeNames = {"publish", "refresh_token", "fetch_analytics",
                                                                  "revoke_token"};
inline constexpr std::array<std::string_view, 4> kPlatformNames = {"instagram", "facebook", "tiktok", "x"};

// --- text helpers ---------------------------------------------------------------------------------

template <typename List>
std::string join(const List& items, std::string_view separator = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string in_quotes(std::string_view s);
std::string type_name(const json& v);
std::size_t count_chars(std::string_view s);
// C0 controls, DEL and C1 controls (U+0080..U+009F); tab and line breaks optionally allowed.
bool has_control(std::string_view s, bool allow_line_breaks);
bool is_alnum(char c);
std::string lower(std::string_view s);

// --- the checker ----------------------------------------------------------------------------------

class Checker {
 public:
  explicit Checker(const ValidationContext& context) : context_(context) {}

  std::vector<ValidationError> take() { return std::move(errors_); }
  std::size_t error_count() const { return errors_.size(); }

  // The member when present and not null: null reads as absent, since Bubble sends null for an
  // empty optional field.
  static const json* member(const json& object, std::string_view key) {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  // --- typed values (validation_checker.cpp) ---
  void add(std::string field, std::string_view code, std::string message);
  void refuse_unknown(const json& object, const std::string& path, std::initializer_list<std::string_view> known,
                      std::string_view owner);
  // A string value, or nullptr after recording why not.
  const std::string* string_value(const json& v, const std::string& field, std::string_view expected);
  // Free text: control characters and length. `owner` names who sets the limit ("instagram").
  bool text_ok(const std::string& s, const std::string& field, std::size_t max, bool line_breaks,
               std::string_view owner = {});
  std::optional<bool> bool_value(const json& v, const std::string& field);
  // An http(s) URL to a public host, normalised; for callbacks the host must also be allow-listed.
  std::optional<std::string> url_value(const json& v, const std::string& field, bool callback);
  template <std::size_t N>
  std::optional<std::size_t> enum_value(const json& v, const std::string& field,
                                        const std::array<std::string_view, N>& allowed) {
    const std::string expected = "one of " + join(allowed);
    if (!v.is_string()) {
      add(field, "wrong_type", field + " must be " + expected + ", not " + type_name(v));
      return std::nullopt;
    }
    const auto& s = v.get_ref<const std::string&>();
    for (std::size_t i = 0; i < N; ++i)
      if (allowed[i] == s) return i;
    add(field, "invalid_value", field + " must be " + expected + " (got " + in_quotes(s) + ")");
    return std::nullopt;
  }

  template <std::size_t N>
  std::optional<std::size_t> required_enum(const json& doc, const std::string& key,
                                           const std::array<std::string_view, N>& allowed) {
    const json* v = member(doc, key);
    if (!v) {
      add(key, "required", key + " is required: one of " + join(allowed));
      return std::nullopt;
    }
    return enum_value(*v, key, allowed);
  }

  template <std::size_t N>
  void enum_option(const json& block, const std::string& path, const char* key,
                   const std::array<std::string_view, N>& allowed, json& out) {
    if (const json* v = member(block, key))
      if (auto i = enum_value(*v, path + "." + key, allowed)) out[key] = allowed[*i];
  }

  // --- top-level fields (validation_fields.cpp) ---
  void id(const json& doc, Job& job);
  void account(const json& doc, Job& job);
  void run_at(const json& doc, Job& job);
  void post_record(const json& doc, Job& job);
  void callback_url(const json& doc, Job& job);
  void max_attempts(const json& doc, Job& job);
  void targets(const json& doc, std::optional<JobType> type, Job& job);

  // --- the post (validation_post.cpp) ---
  void post(const json& doc, std::optional<JobType> type, std::optional<Platform> platform, Job& job);

 private:
  // Validates post.media into `out`; false when any item is unusable (composite rules then skip).
  bool media_list(const json& media, std::optional<Platform> platform, std::vector<Media>& out);
  std::optional<Media> media_item(const json& v, const std::string& path);
  // post.options: only the job's own platform's block is read (Bubble sends one form for every
  // platform); the others are ignored, but keys that are no platform at all are refused as typos.
  void options_block(const json& options, std::optional<Platform> platform, json& out);
  void bool_option(const json& block, const std::string& path, const char* key, json& out);
  void instagram_options(const json& block, const std::string& path, json& out);
  void facebook_options(const json& block, const std::string& path, json& out);
  void tiktok_options(const json& block, const std::string& path, json& out);
  void x_options(const json& block, const std::string& path, json& out);
  void thread(const json& v, const std::string& field, json& out);
  // Rules across fields: what each platform can publish at all.
  void content_rules(Platform platform, const Post& post, bool has_text, bool has_link);

  const ValidationContext& context_;
  std::vector<ValidationError> errors_;
};

}  // namespace schedulo::jobs::validation
