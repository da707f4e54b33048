#include "jobs/validation_checker.hpp"

#include "platforms/http/url.hpp"

#include <algorithm>

namespace schedulo::jobs::validation {

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

void Checker::add(std::string field, std::string_view code, std::string message) {
  errors_.push_back({std::move(field), std::string(code), std::move(message)});
}

void Checker::refuse_unknown(const json& object, const std::string& path, std::initializer_list<std::string_view> known,
                             std::string_view owner) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string field = path.empty() ? excerpt(key) : path + "." + excerpt(key);
    add(field, "unknown_field",
        "unknown field " + in_quotes(key) + (path.empty() ? "" : " in " + path) + "; " + std::string(owner) + " has " +
            join(known));
  }
}

const std::string* Checker::string_value(const json& v, const std::string& field, std::string_view expected) {
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

bool Checker::text_ok(const std::string& s, const std::string& field, std::size_t max, bool line_breaks,
                      std::string_view owner) {
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

std::optional<bool> Checker::bool_value(const json& v, const std::string& field) {
  if (v.is_boolean()) return v.get<bool>();
  add(field, "wrong_type", field + " must be true or false, not " + type_name(v));
  return std::nullopt;
}

std::optional<std::string> Checker::url_value(const json& v, const std::string& field, bool callback) {
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

}  // namespace schedulo::jobs::validation
