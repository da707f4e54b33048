#include "sandbox/graph/params.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace schedulo::sandbox::graph {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

// The value of `key=` in a header such as `form-data; name="x"; filename="y"` (quotes removed).
std::string header_attribute(std::string_view header, std::string_view key) {
  std::size_t at = 0;
  while (at < header.size()) {
    auto semi = header.find(';', at);
    if (semi == std::string_view::npos) semi = header.size();
    const std::string item = trim(header.substr(at, semi - at));
    const auto eq = item.find('=');
    if (eq != std::string::npos && lower(trim(item.substr(0, eq))) == key) {
      std::string value = trim(item.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return value;
    }
    at = semi + 1;
  }
  return {};
}

bool parse_multipart(const std::string& body, const std::string& boundary, Params& out) {
  const std::string delimiter = "--" + boundary;
  auto at = body.find(delimiter);
  if (at == std::string::npos) return false;
  for (;;) {
    at += delimiter.size();
    if (body.compare(at, 2, "--") == 0) return true;  // the closing delimiter
    if (body.compare(at, 2, "\r\n") != 0) return false;
    at += 2;
    const auto head_end = body.find("\r\n\r\n", at);
    if (head_end == std::string::npos) return false;
    std::string name;
    FilePart part;
    bool is_file = false;
    for (std::size_t line = at; line < head_end;) {
      auto eol = body.find("\r\n", line);
      if (eol == std::string::npos || eol > head_end) eol = head_end;
      const std::string header = body.substr(line, eol - line);
      const auto colon = header.find(':');
      if (colon != std::string::npos) {
        const auto key = lower(trim(header.substr(0, colon)));
        const auto value = trim(header.substr(colon + 1));
        if (key == "content-disposition") {
          name = header_attribute(value, "name");
          if (value.find("filename=") != std::string::npos) {
            is_file = true;
            part.filename = header_attribute(value, "filename");
          }
        } else if (key == "content-type") {
          part.content_type = value;
        }
      }
      line = eol + 2;
    }
    const auto data_start = head_end + 4;
    const auto next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string::npos) return false;  // cut short: nothing after this part is trusted
    std::string data = body.substr(data_start, next - data_start);
    if (is_file) {
      part.data = std::move(data);
      out.files[name] = std::move(part);
    } else {
      out.values[name] = std::move(data);
    }
    at = next + 2;
  }
}

}  // namespace

std::string Params::str(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

std::optional<bool> Params::boolean(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  const auto v = lower(it->second);
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return std::nullopt;
}

std::optional<std::int64_t> Params::integer(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty() || it->second.size() > 18) return std::nullopt;
  std::size_t start = it->second.front() == '-' ? 1 : 0;
  if (start == it->second.size() || it->second.find_first_not_of("0123456789", start) != std::string::npos)
    return std::nullopt;
  return std::stoll(it->second);
}

Params parse_params(const server::Request& request) {
  Params p;
  for (auto& [k, v] : request.query_params()) p.values[k] = v;
  if (request.body.empty()) return p;
  const std::string type = lower(request.header("Content-Type").value_or(""));
  if (type.starts_with("multipart/form-data")) {
    const auto boundary = header_attribute(request.header("Content-Type").value_or(""), "boundary");
    if (boundary.empty() || !parse_multipart(request.body, boundary, p)) p.body_error = "malformed multipart body";
  } else if (type.starts_with("application/json")) {
    auto parsed = nlohmann::json::parse(request.body, nullptr, false);
    if (parsed.is_object()) {
      for (auto it = parsed.begin(); it != parsed.end(); ++it)
        p.values[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    } else {
      p.body_error = "the JSON body is not an object";
    }
  } else if (type.starts_with("application/x-www-form-urlencoded") || type.empty()) {
    for (auto& [k, v] : server::parse_query(request.body)) p.values[k] = v;
  }
  // Any other type (application/octet-stream on an upload) is the payload itself, not parameters.
  return p;
}

namespace {

struct FieldParser {
  const std::string& s;
  std::size_t at = 0;
  std::string error;

  void skip_space() {
    while (at < s.size() && std::isspace(static_cast<unsigned char>(s[at]))) ++at;
  }
  std::string name() {
    skip_space();
    const auto start = at;
    while (at < s.size() && (std::isalnum(static_cast<unsigned char>(s[at])) || s[at] == '_')) ++at;
    return s.substr(start, at - start);
  }
  // A comma list up to `close` (or the end when close is 0).
  bool list(char close, std::vector<FieldSel>& out) {
    for (;;) {
      FieldSel f;
      f.name = name();
      if (f.name.empty()) {
        error = "a field name is expected at offset " + std::to_string(at);
        return false;
      }
      for (;;) {
        skip_space();
        if (at < s.size() && s[at] == '.') {
          ++at;
          const auto modifier = name();
          skip_space();
          if (modifier.empty() || at >= s.size() || s[at] != '(') {
            error = "a modifier needs (arguments) at offset " + std::to_string(at);
            return false;
          }
          const auto end = s.find(')', at);
          if (end == std::string::npos) {
            error = "unbalanced ( in fields";
            return false;
          }
          f.modifiers[modifier] = trim(s.substr(at + 1, end - at - 1));
          at = end + 1;
        } else if (at < s.size() && s[at] == '{') {
          ++at;
          if (!list('}', f.subfields)) return false;
        } else {
          break;
        }
      }
      out.push_back(std::move(f));
      skip_space();
      if (at >= s.size()) {
        if (close != 0) {
          error = std::string("unbalanced ") + (close == '}' ? "{" : "(") + " in fields";
          return false;
        }
        return true;
      }
      if (s[at] == ',') {
        ++at;
        continue;
      }
      if (close != 0 && s[at] == close) {
        ++at;
        return true;
      }
      error = std::string("unexpected '") + s[at] + "' in fields at offset " + std::to_string(at);
      return false;
    }
  }
};

}  // namespace

bool parse_fields(const std::string& text, std::vector<FieldSel>& out, std::string& error) {
  out.clear();
  if (trim(text).empty()) return true;
  FieldParser parser{text, 0, {}};
  if (!parser.list(0, out)) {
    error = parser.error;
    return false;
  }
  return true;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    auto item = trim(std::string_view(text).substr(at, comma - at));
    if (!item.empty()) out.push_back(std::move(item));
    at = comma + 1;
  }
  return out;
}

}  // namespace schedulo::sandbox::graph
