#include "jobs/job_validation.hpp"

#include "common/rfc3339.hpp"
#include "common/text.hpp"
#include "platforms/http/url.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <set>

namespace schedulo::jobs {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdLength = 128;
constexpr std::size_t kMaxAccountLength = 256;
constexpr std::size_t kMaxAltTextLength = 1000;  // X's limit, the lowest (platform-apis.md §3.4)
constexpr std::size_t kMaxPostIdLength = 256;
constexpr std::size_t kMaxTargetPostIds = 100;
constexpr std::size_t kMaxThreadPosts = 25;
constexpr std::size_t kMaxXPostIdDigits = 20;        // X ids are unsigned 64-bit snowflakes
constexpr std::size_t kAirtableRecordIdLength = 17;  // "rec" + 14 alphanumerics
// run_at must survive format_rfc3339_ms and back: years 1970..9999.
constexpr std::int64_t kMaxRunAtMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

// Structural per-platform limits, checked at intake so a job that can never be published fails
// before it waits for its time. The exact counting rules (X's weighted characters, TikTok's UTF-16
// units) belong to the platform's publish step; here text length counts Unicode code points.
// Sources: shared/docs/platform-apis.md.
struct PlatformRules {
  std::size_t text_max;  // post.text and each X thread post
  std::size_t media_max;
  bool video_alone;     // a video must be the only media item
  bool media_required;  // the platform cannot post text alone
};
constexpr PlatformRules kRules[] = {
    // instagram, §1.1: caption ≤ 2200; carousel 2-10 children, images and videos mixed.
    {2200, 10, false, true},
    // facebook, §4.2: several photos go in attached_media (10 here); a video is a post of its own
    // (/videos, /video_reels). The message cap is not in the sheet: Facebook's 63,206 characters.
    {63206, 10, true, false},
    // tiktok, §2.3: title ≤ 2200 UTF-16 units; §2.6: photo posts up to 35 images (the 4000-character
    // photo description is a separate field); a video post has one video.
    {2200, 35, true, true},
    // x, §3.2: 280 weighted characters for non-Premium accounts, long posts up to 25,000 for Premium
    // (weighted counting happens at publish); 1-4 images, or one video/GIF alone.
    {25000, 4, true, false},
};

const PlatformRules& rules_for(Platform p) {
  return kRules[static_cast<std::size_t>(p)];
}

constexpr std::array<std::string_view, 4> kJobTypeNames = {"publish", "refresh_token", "fetch_analytics",
                                                           "revoke_token"};
constexpr std::array<std::string_view, 4> kPlatformNames = {"instagram", "facebook", "tiktok", "x"};
constexpr std::array<std::string_view, 2> kMediaKindNames = {"image", "video"};
constexpr std::array<std::string_view, 4> kTikTokPrivacyLevels = {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS",
                                                                  "FOLLOWER_OF_CREATOR", "SELF_ONLY"};

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

std::string in_quotes(std::string_view s) {
  return "\"" + excerpt(s) + "\"";
}

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a decimal number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

std::size_t count_chars(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// C0 controls, DEL and C1 controls (U+0080..U+009F); tab and line breaks optionally allowed.
bool has_control(std::string_view s, bool allow_line_breaks) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (allow_line_breaks && (c == '\t' || c == '\n' || c == '\r')) continue;
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return true;
  }
  return false;
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// --- the checker ----------------------------------------------------------------------------------

class Checker {
 public:
  explicit Checker(const ValidationContext& context) : context_(context) {}

  std::vector<ValidationError> take() { return std::move(errors_); }
  std::size_t error_count() const { return errors_.size(); }

  void add(std::string field, std::string_view code, std::string message) {
    errors_.push_back({std::move(field), std::string(code), std::move(message)});
  }

  // The member when present and not null: null reads as absent, since Bubble sends null for an
  // empty optional field.
  static const json* member(const json& object, std::string_view key) {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  void refuse_unknown(const json& object, const std::string& path, std::initializer_list<std::string_view> known,
                      std::string_view owner) {
    for (const auto& [key, value] : object.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      const std::string field = path.empty() ? excerpt(key) : path + "." + excerpt(key);
      add(field, "unknown_field",
          "unknown field " + in_quotes(key) + (path.empty() ? "" : " in " + path) + "; " + std::string(owner) +
              " has " + join(known));
    }
  }

  // A string value, or nullptr after recording why not.
  const std::string* string_value(const json& v, const std::string& field, std::string_view expected) {
    if (!v.is_string()) {
      add(field, "wrong_type", field + " must be " + std::string(expected) + ", not " + type_name(v));
      return nullptr;
    }
    const auto& s = v.get_ref<const std::string&>();
    if (!valid_utf8(s)) {
      add(field, "invalid_value", field + " must be valid UTF-8 text");
      return nullptr;
    }
    return &s;
  }

  // Free text: control characters and length. `owner` names who sets the limit ("instagram").
  bool text_ok(const std::string& s, const std::string& field, std::size_t max, bool line_breaks,
               std::string_view owner = {}) {
    bool ok = true;
    if (has_control(s, line_breaks)) {
      add(field, "invalid_value",
          field + (line_breaks ? " must not contain control characters other than tab and line breaks"
                               : " must not contain control characters"));
      ok = false;
    }
    if (const std::size_t n = count_chars(s); n > max) {
      add(field, "too_long",
          field + " is " + std::to_string(n) + " characters; " +
              (owner.empty() ? "at most " + std::to_string(max) + " are allowed"
                             : std::string(owner) + " allows at most " + std::to_string(max)));
      ok = false;
    }
    return ok;
  }

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

  std::optional<bool> bool_value(const json& v, const std::string& field) {
    if (v.is_boolean()) return v.get<bool>();
    add(field, "wrong_type", field + " must be true or false, not " + type_name(v));
    return std::nullopt;
  }

  // An http(s) URL to a public host, normalised; for callbacks the host must also be allow-listed.
  std::optional<std::string> url_value(const json& v, const std::string& field, bool callback) {
    const std::string* text = string_value(v, field, "an http(s) URL string");
    if (!text) return std::nullopt;
    auto parsed = http::parse_url(*text);
    if (!parsed.url) {
      add(field, "invalid_url", field + ": " + parsed.error);
      return std::nullopt;
    }
    const http::Url& url = *parsed.url;
    if (callback) {
      const bool listed =
          std::any_of(context_.callback_hosts.begin(), context_.callback_hosts.end(), [&](const std::string& h) {
            std::string_view host = h;
            if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
            return lower(host) == url.host;
          });
      if (!listed) {
        add(field, "not_allowed", field + " host " + in_quotes(url.host) + " is not in bubble.callback_hosts");
        return std::nullopt;
      }
    }
    if (auto refused = http::check_public_url(url, context_.private_hosts)) {
      add(field, "private_address", field + ": " + *refused);
      return std::nullopt;
    }
    return url.str();
  }

  // --- top-level fields ---

  void id(const json& doc, Job& job) {
    const json* v = member(doc, "id");
    if (!v) return;
    const std::string* s = string_value(*v, "id", "a string");
    if (!s) return;
    const bool ok = !s->empty() && s->size() <= kMaxIdLength && std::all_of(s->begin(), s->end(), [](char c) {
      return is_alnum(c) || c == '_' || c == '.' || c == ':' || c == '-';
    });
    if (!ok) {
      add("id", "invalid_value", "id must be 1 to 128 characters from A-Z a-z 0-9 _ . : - (got " + in_quotes(*s) + ")");
      return;
    }
    job.id = *s;
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

  void account(const json& doc, Job& job) {
    const json* v = member(doc, "account");
    if (!v) {
      add("account", "required", "account is required: the connected account's key");
      return;
    }
    const std::string* s = string_value(*v, "account", "a string");
    if (!s) return;
    if (s->empty()) {
      add("account", "invalid_value", "account must not be empty");
      return;
    }
    if (text_ok(*s, "account", kMaxAccountLength, false)) job.account = *s;
  }

  void run_at(const json& doc, Job& job) {
    const json* v = member(doc, "run_at");
    if (!v) return;
    const std::string* s = string_value(*v, "run_at", "an RFC 3339 time string");
    if (!s) return;
    const auto ms = parse_rfc3339_ms(*s);
    if (!ms) {
      add("run_at", "invalid_value",
          "run_at must be an RFC 3339 time such as 2026-05-01T09:30:00Z (got " + in_quotes(*s) + ")");
    } else if (*ms < 0 || *ms > kMaxRunAtMs) {
      add("run_at", "invalid_value", "run_at must be between 1970 and 9999 (got " + in_quotes(*s) + ")");
    } else {
      job.run_at_ms = *ms;
    }
  }

  void post_record(const json& doc, Job& job) {
    const json* v = member(doc, "post_record");
    if (!v) return;
    const std::string* s = string_value(*v, "post_record", "a string");
    if (!s) return;
    const bool ok = s->size() == kAirtableRecordIdLength && s->starts_with("rec") &&
                    std::all_of(s->begin() + 3, s->end(), is_alnum);
    if (!ok) {
      add("post_record", "invalid_value",
          "post_record must be an Airtable record id: \"rec\" and 14 letters or digits (got " + in_quotes(*s) + ")");
      return;
    }
    job.post_record = *s;
  }

  void callback_url(const json& doc, Job& job) {
    if (const json* v = member(doc, "callback_url"))
      if (auto url = url_value(*v, "callback_url", true)) job.callback_url = std::move(*url);
  }

  void max_attempts(const json& doc, Job& job) {
    const json* v = member(doc, "max_attempts");
    if (!v) return;
    const int limit = context_.max_attempts_limit;
    const std::string expected = "an integer from 1 to " + std::to_string(limit);
    if (!v->is_number_integer()) {
      add("max_attempts", "wrong_type", "max_attempts must be " + expected + ", not " + type_name(*v));
      return;
    }
    const bool in_range = v->is_number_unsigned() ? v->get<std::uint64_t>() <= static_cast<std::uint64_t>(limit) &&
                                                        v->get<std::uint64_t>() >= 1
                                                  : v->get<std::int64_t>() >= 1 && v->get<std::int64_t>() <= limit;
    if (!in_range) {
      add("max_attempts", "invalid_value", "max_attempts must be " + expected + " (got " + v->dump() + ")");
      return;
    }
    job.max_attempts = static_cast<int>(v->get<std::int64_t>());
  }

  void targets(const json& doc, std::optional<JobType> type, Job& job) {
    const json* v = member(doc, "targets");
    if (!v) return;
    if (type && *type != JobType::fetch_analytics) {
      add("targets", "not_allowed", "targets is only allowed in fetch_analytics jobs");
      return;
    }
    if (!v->is_object()) {
      add("targets", "wrong_type", "targets must be an object, not " + type_name(*v));
      return;
    }
    const std::size_t before = error_count();
    std::vector<std::string> ids;
    const json* list = member(*v, "post_ids");
    if (!list) {
      add("targets.post_ids", "required", "targets.post_ids is required: 1 to 100 platform post ids");
    } else if (!list->is_array()) {
      add("targets.post_ids", "wrong_type", "targets.post_ids must be an array of post ids, not " + type_name(*list));
    } else if (list->empty()) {
      add("targets.post_ids", "invalid_value",
          "targets.post_ids must list 1 to 100 post ids (leave out targets for the account's recent "
          "posts)");
    } else if (list->size() > kMaxTargetPostIds) {
      add("targets.post_ids", "too_many",
          "targets.post_ids has " + std::to_string(list->size()) + " items; at most 100 are allowed");
    } else {
      for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string field = "targets.post_ids[" + std::to_string(i) + "]";
        const std::string* s = string_value((*list)[i], field, "a post id string");
        if (!s) continue;
        if (s->empty()) {
          add(field, "invalid_value", field + " must not be empty");
        } else if (text_ok(*s, field, kMaxPostIdLength, false)) {
          ids.push_back(*s);
        }
      }
    }
    refuse_unknown(*v, "targets", {"post_ids"}, "targets");
    if (error_count() == before) job.target_post_ids = std::move(ids);
  }

  // --- post ---

  void post(const json& doc, std::optional<JobType> type, std::optional<Platform> platform, Job& job) {
    const json* v = member(doc, "post");
    if (type && *type != JobType::publish) {
      if (v) add("post", "not_allowed", "post is only allowed in publish jobs");
      return;
    }
    if (!v) {
      if (type) add("post", "required", "post is required for publish jobs");
      return;
    }
    if (!v->is_object()) {
      add("post", "wrong_type", "post must be an object, not " + type_name(*v));
      return;
    }
    Post post;
    const std::size_t before = error_count();

    const json* text = member(*v, "text");
    if (text) {
      const std::string* s = string_value(*text, "post.text", "a string");
      const std::size_t cap = platform ? rules_for(*platform).text_max : SIZE_MAX;
      const std::string owner = platform ? std::string(to_string(*platform)) : std::string();
      if (s && text_ok(*s, "post.text", cap, true, owner)) post.text = *s;
    }

    bool media_ok = true;
    if (const json* media = member(*v, "media")) {
      media_ok = media_list(*media, platform, post.media);
    }

    if (const json* options = member(*v, "options")) options_block(*options, platform, post.options);

    refuse_unknown(*v, "post", {"text", "media", "options"}, "post");

    // Cross-field rules need the media list intact; they look at what was sent (not at what passed),
    // so a caption that is too long is not also reported as missing.
    if (platform && media_ok) {
      // A text of the wrong type was reported already; it still counts as "sent".
      const bool has_text = text && !(text->is_string() && text->get_ref<const std::string&>().empty());
      const json* options = member(*v, "options");
      const json* facebook = options && options->is_object() ? member(*options, "facebook") : nullptr;
      const bool has_link = facebook && facebook->is_object() && member(*facebook, "link");
      content_rules(*platform, post, has_text, has_link);
    }
    if (error_count() == before) job.post = std::move(post);
  }

  // Validates post.media into `out`; false when any item is unusable (composite rules then skip).
  bool media_list(const json& media, std::optional<Platform> platform, std::vector<Media>& out) {
    if (!media.is_array()) {
      add("post.media", "wrong_type", "post.media must be an array of {url, kind} objects, not " + type_name(media));
      return false;
    }
    bool ok = true;
    if (platform && media.size() > rules_for(*platform).media_max) {
      add("post.media", "too_many",
          "post.media has " + std::to_string(media.size()) + " items; " + std::string(to_string(*platform)) +
              " allows at most " + std::to_string(rules_for(*platform).media_max));
      ok = false;
    }
    for (std::size_t i = 0; i < media.size(); ++i) {
      if (auto item = media_item(media[i], "post.media[" + std::to_string(i) + "]"))
        out.push_back(std::move(*item));
      else
        ok = false;
    }
    return ok;
  }

  std::optional<Media> media_item(const json& v, const std::string& path) {
    if (!v.is_object()) {
      add(path, "wrong_type", path + " must be an object with url and kind, not " + type_name(v));
      return std::nullopt;
    }
    const std::size_t before = error_count();
    Media media;
    if (const json* url = member(v, "url")) {
      if (auto normalised = url_value(*url, path + ".url", false)) media.url = std::move(*normalised);
    } else {
      add(path + ".url", "required", path + ".url is required");
    }
    if (const json* kind = member(v, "kind")) {
      if (auto k = enum_value(*kind, path + ".kind", kMediaKindNames)) media.kind = static_cast<MediaKind>(*k);
    } else {
      add(path + ".kind", "required", path + ".kind is required: one of image, video");
    }
    if (const json* alt = member(v, "alt_text")) {
      const std::string field = path + ".alt_text";
      const std::string* s = string_value(*alt, field, "a string");
      if (s && text_ok(*s, field, kMaxAltTextLength, true)) media.alt_text = *s;
    }
    refuse_unknown(v, path, {"url", "kind", "alt_text"}, "a media item");
    if (error_count() != before) return std::nullopt;
    return media;
  }

  // post.options: only the job's own platform's block is read (Bubble sends one form for every
  // platform); the others are ignored, but keys that are no platform at all are refused as typos.
  void options_block(const json& options, std::optional<Platform> platform, json& out) {
    if (!options.is_object()) {
      add("post.options", "wrong_type", "post.options must be an object, not " + type_name(options));
      return;
    }
    for (const auto& [key, value] : options.items()) {
      const auto named = platform_from_string(key);
      if (!named) {
        add("post.options." + excerpt(key), "unknown_field",
            "unknown field " + in_quotes(key) + " in post.options; post.options has " + join(kPlatformNames));
        continue;
      }
      if (!platform || *named != *platform || value.is_null()) continue;
      const std::string path = "post.options." + key;
      if (!value.is_object()) {
        add(path, "wrong_type", path + " must be an object, not " + type_name(value));
        continue;
      }
      switch (*platform) {
        case Platform::instagram:
          instagram_options(value, path, out);
          break;
        case Platform::facebook:
          facebook_options(value, path, out);
          break;
        case Platform::tiktok:
          tiktok_options(value, path, out);
          break;
        case Platform::x:
          x_options(value, path, out);
          break;
      }
    }
  }

  template <std::size_t N>
  void enum_option(const json& block, const std::string& path, const char* key,
                   const std::array<std::string_view, N>& allowed, json& out) {
    if (const json* v = member(block, key))
      if (auto i = enum_value(*v, path + "." + key, allowed)) out[key] = allowed[*i];
  }

  void bool_option(const json& block, const std::string& path, const char* key, json& out) {
    if (const json* v = member(block, key))
      if (auto b = bool_value(*v, path + "." + key)) out[key] = *b;
  }

  void instagram_options(const json& block, const std::string& path, json& out) {
    enum_option(block, path, "as", std::array<std::string_view, 3>{"feed", "reel", "story"}, out);
    bool_option(block, path, "share_to_feed", out);
    refuse_unknown(block, path, {"as", "share_to_feed"}, path);
  }

  void facebook_options(const json& block, const std::string& path, json& out) {
    enum_option(block, path, "as", std::array<std::string_view, 2>{"post", "reel"}, out);
    if (const json* link = member(block, "link"))
      if (auto url = url_value(*link, path + ".link", false)) out["link"] = std::move(*url);
    refuse_unknown(block, path, {"as", "link"}, path);
  }

  void tiktok_options(const json& block, const std::string& path, json& out) {
    enum_option(block, path, "mode", std::array<std::string_view, 2>{"direct", "inbox"}, out);
    enum_option(block, path, "source", std::array<std::string_view, 2>{"upload", "pull"}, out);
    enum_option(block, path, "privacy_level", kTikTokPrivacyLevels, out);
    bool_option(block, path, "disable_comment", out);
    bool_option(block, path, "disable_duet", out);
    bool_option(block, path, "disable_stitch", out);
    refuse_unknown(block, path,
                   {"mode", "source", "privacy_level", "disable_comment", "disable_duet", "disable_stitch"}, path);
  }

  void x_options(const json& block, const std::string& path, json& out) {
    if (const json* v = member(block, "reply_to")) {
      const std::string field = path + ".reply_to";
      if (const std::string* s = string_value(*v, field, "a post id string")) {
        const bool ok = !s->empty() && s->size() <= kMaxXPostIdDigits &&
                        std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; });
        if (ok)
          out["reply_to"] = *s;
        else
          add(field, "invalid_value", field + " must be a numeric post id (got " + in_quotes(*s) + ")");
      }
    }
    if (const json* v = member(block, "thread")) thread(*v, path + ".thread", out);
    refuse_unknown(block, path, {"reply_to", "thread"}, path);
  }

  void thread(const json& v, const std::string& field, json& out) {
    if (!v.is_array()) {
      add(field, "wrong_type", field + " must be an array of post texts, not " + type_name(v));
      return;
    }
    if (v.size() > kMaxThreadPosts) {
      add(field, "too_many",
          field + " has " + std::to_string(v.size()) + " items; at most " + std::to_string(kMaxThreadPosts) +
              " are allowed");
      return;
    }
    const std::size_t before = error_count();
    json posts = json::array();
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item = field + "[" + std::to_string(i) + "]";
      const std::string* s = string_value(v[i], item, "a string");
      if (!s) continue;
      if (s->empty())
        add(item, "invalid_value", item + " must not be empty");
      else if (text_ok(*s, item, rules_for(Platform::x).text_max, true, "x"))
        posts.push_back(*s);
    }
    if (error_count() == before) out["thread"] = std::move(posts);
  }

  // Rules across fields: what each platform can publish at all.
  void content_rules(Platform platform, const Post& post, bool has_text, bool has_link) {
    const PlatformRules& rules = rules_for(platform);
    const std::string name(to_string(platform));
    const auto& media = post.media;
    const auto videos =
        std::count_if(media.begin(), media.end(), [](const Media& m) { return m.kind == MediaKind::video; });
    const auto option = [&](const char* key) {
      const auto it = post.options.find(key);
      return it != post.options.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const bool one_video = media.size() == 1 && videos == 1;

    if (rules.media_required && media.empty()) {
      add("post.media", "required", "post.media must have at least one image or video for " + name);
    } else if (!rules.media_required && media.empty() && !has_text && !(platform == Platform::facebook && has_link)) {
      add("post", "required",
          platform == Platform::facebook ? "post needs text, media or options.facebook.link for facebook"
                                         : "post needs text or media for " + name);
    }
    if (rules.video_alone && videos > 0 && media.size() > 1)
      add("post.media", "invalid_value", "on " + name + " a video must be the only item in post.media");

    if (platform == Platform::instagram) {
      if (option("as") == "reel" && !one_video)
        add("post.media", "invalid_value", "an instagram reel needs exactly one video in post.media");
      if (option("as") == "story") {
        if (media.size() != 1)
          add("post.media", "invalid_value", "an instagram story needs exactly one image or video in post.media");
        if (has_text)
          add("post.text", "not_allowed",
              "post.text is not allowed in an instagram story (stories "
              "have no caption)");
      }
    }
    if (platform == Platform::facebook && option("as") == "reel" && !one_video)
      add("post.media", "invalid_value", "a facebook reel needs exactly one video in post.media");
    // §2.6: TikTok takes photos only by PULL_FROM_URL.
    if (platform == Platform::tiktok && option("source") == "upload" && videos == 0 && !media.empty())
      add("post.options.tiktok.source", "invalid_value",
          "post.options.tiktok.source must be pull for photo posts: tiktok takes photos only by URL");
  }

 private:
  const ValidationContext& context_;
  std::vector<ValidationError> errors_;
};

// --- raw input ------------------------------------------------------------------------------------

// True when brackets nest deeper than `limit` (strings skipped). Runs before the JSON parser, which
// recurses per level and would build the whole structure first.
bool nested_deeper_than(std::string_view raw, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : raw) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// Follows the parser's events to find the first key that appears twice in one object, with its path.
// Duplicates are refused: two readers of the same document (us and a bridge, or two versions of us)
// could otherwise keep different values.
class DuplicateKeyFinder {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack_.push_back({false, 0, {}, {}});
        break;
      case json::parse_event_t::array_start:
        stack_.push_back({true, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        Frame& frame = stack_.back();
        frame.key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.key).second && !duplicate_) duplicate_ = path();
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack_.empty()) stack_.pop_back();
        next_value();
        break;
      case json::parse_event_t::value:
        next_value();
        break;
    }
    return true;
  }

  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  struct Frame {
    bool is_array;
    std::size_t index;
    std::string key;
    std::set<std::string> keys;
  };

  void next_value() {
    if (!stack_.empty() && stack_.back().is_array) ++stack_.back().index;
  }

  std::string path() const {
    std::string out;
    for (const Frame& frame : stack_) {
      if (frame.is_array) {
        out += "[" + std::to_string(frame.index) + "]";
      } else {
        if (!out.empty()) out += ".";
        out += excerpt(frame.key);
      }
    }
    return out;
  }

  std::vector<Frame> stack_;
  std::optional<std::string> duplicate_;
};

ParseResult failure(std::string code, std::string message, std::string field = {}) {
  return {std::nullopt, {{std::move(field), std::move(code), std::move(message)}}};
}

}  // namespace

ParseResult parse_job(std::string_view raw, const ValidationContext& context) {
  if (raw.size() > context.max_job_bytes)
    return failure("too_large", "the job is " + std::to_string(raw.size()) + " bytes; at most " +
                                    std::to_string(context.max_job_bytes) + " are accepted");
  if (nested_deeper_than(raw, kMaxJsonDepth))
    return failure("too_deep", "the job is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json document;
  DuplicateKeyFinder duplicates;
  try {
    document = json::parse(raw.begin(), raw.end(), std::ref(duplicates));
  } catch (const json::parse_error& e) {
    // e.what() quotes the last token read; only the position is reported, not the input.
    return failure("malformed_json", "the job is not valid JSON: syntax error at byte " + std::to_string(e.byte));
  } catch (const json::out_of_range&) {
    return failure("malformed_json", "the job is not valid JSON: a number is too large");
  } catch (const json::exception&) {
    return failure("malformed_json", "the job is not valid JSON");
  }
  if (duplicates.duplicate())
    return failure("duplicate_key", *duplicates.duplicate() + " appears more than once; a key may appear only once",
                   *duplicates.duplicate());
  return validate_job(document, context);
}

ParseResult validate_job(const json& document, const ValidationContext& context) {
  Checker check(context);
  if (!document.is_object()) {
    check.add("", "wrong_type", "the job must be a JSON object, not " + type_name(document));
    return {std::nullopt, check.take()};
  }
  Job job;
  check.id(document, job);
  const auto type = check.required_enum(document, "type", kJobTypeNames);
  const auto platform = check.required_enum(document, "platform", kPlatformNames);
  check.account(document, job);
  check.run_at(document, job);
  const auto job_type = type ? std::optional<JobType>(static_cast<JobType>(*type)) : std::nullopt;
  const auto job_platform = platform ? std::optional<Platform>(static_cast<Platform>(*platform)) : std::nullopt;
  check.post(document, job_type, job_platform, job);
  check.targets(document, job_type, job);
  check.post_record(document, job);
  check.callback_url(document, job);
  check.max_attempts(document, job);
  check.refuse_unknown(
      document, "",
      {"id", "type", "platform", "account", "run_at", "post", "targets", "post_record", "callback_url", "max_attempts"},
      "a job");
  ParseResult result{std::nullopt, check.take()};
  if (result.errors.empty()) {
    job.type = *job_type;
    job.platform = *job_platform;
    result.job = std::move(job);
  }
  return result;
}

}  // namespace schedulo::jobs
