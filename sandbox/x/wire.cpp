#include "sandbox/x/wire.hpp"

#include <openssl/sha.h>

#include <array>
#include <cctype>

#include "common/http_server.hpp"

namespace schedulo::sandbox::x {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// The value of `key=` in a header such as `form-data; name="media"; filename="a.mp4"`.
std::string header_param(std::string_view header, std::string_view key) {
  std::size_t at = 0;
  while (at < header.size()) {
    auto semi = header.find(';', at);
    auto item = trim(header.substr(at, semi == std::string_view::npos ? std::string_view::npos : semi - at));
    at = semi == std::string_view::npos ? header.size() : semi + 1;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || lower(trim(item.substr(0, eq))) != key) continue;
    auto value = trim(item.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return {};
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> sha256(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

// One UTF-8 code point from `text` at `at` (advanced past it); nullopt when malformed.
std::optional<char32_t> next_code_point(std::string_view text, std::size_t& at) {
  const auto b0 = static_cast<unsigned char>(text[at]);
  int extra = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++at;
    return b0;
  }
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    return std::nullopt;
  }
  if (at + static_cast<std::size_t>(extra) >= text.size()) return std::nullopt;
  for (int i = 1; i <= extra; ++i) {
    const auto b = static_cast<unsigned char>(text[at + static_cast<std::size_t>(i)]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  at += static_cast<std::size_t>(extra) + 1;
  return cp;
}

bool light(char32_t cp) {
  return cp <= 0x10FF || (cp >= 0x2000 && cp <= 0x200A) || (cp >= 0x2028 && cp <= 0x202F) || cp == 0x2060 ||
         (cp >= 0x20A0 && cp <= 0x20BF);
}

}  // namespace

std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type, std::string_view body) {
  if (!lower(content_type).starts_with("multipart/form-data")) return std::nullopt;
  const auto boundary = header_param(content_type, "boundary");
  if (boundary.empty()) return std::nullopt;
  const std::string delimiter = "--" + boundary;
  std::vector<FormPart> parts;
  auto at = body.find(delimiter);
  if (at == std::string_view::npos) return std::nullopt;
  while (true) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(at, 2) != "\r\n") return std::nullopt;
    at += 2;
    const auto head_end = body.find("\r\n\r\n", at);
    if (head_end == std::string_view::npos) return std::nullopt;
    FormPart part;
    auto head = body.substr(at, head_end - at);
    while (!head.empty()) {
      const auto eol = head.find("\r\n");
      const auto line = head.substr(0, eol);
      head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const auto name = lower(trim(line.substr(0, colon)));
      const auto value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = header_param(value, "name");
        part.filename = header_param(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    const auto data_start = head_end + 4;
    const auto next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string_view::npos) return std::nullopt;
    part.data = std::string(body.substr(data_start, next - data_start));
    parts.push_back(std::move(part));
    at = next + 2;
  }
}

std::map<std::string, std::string> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : server::parse_query(body)) out.emplace(std::move(k), std::move(v));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = base64_value(c);
    if (v < 0 || padding) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3F]);
  return out;
}

std::string pkce_s256(std::string_view verifier) {
  const auto digest = sha256(verifier);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool valid_code_verifier(std::string_view verifier) {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  for (char c : verifier)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_' && c != '~') return false;
  return true;
}

std::string sha256_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : sha256(bytes)) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  return out;
}

std::optional<BasicCredentials> parse_basic(std::optional<std::string_view> header) {
  if (!header || header->size() < 6 || lower(header->substr(0, 6)) != "basic ") return std::nullopt;
  auto decoded = base64_decode(trim(header->substr(6)));
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{server::percent_decode(decoded->substr(0, colon), false),
                          server::percent_decode(decoded->substr(colon + 1), false)};
}

std::optional<std::size_t> weighted_length(std::string_view text) {
  constexpr std::size_t kUrlWeight = 23;
  std::size_t length = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const bool word_start = at == 0 || std::isspace(static_cast<unsigned char>(text[at - 1]));
    if (word_start && (text.substr(at).starts_with("https://") || text.substr(at).starts_with("http://"))) {
      while (at < text.size() && !std::isspace(static_cast<unsigned char>(text[at]))) ++at;
      length += kUrlWeight;
      continue;
    }
    auto cp = next_code_point(text, at);
    if (!cp) return std::nullopt;
    length += light(*cp) ? 1 : 2;
  }
  return length;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
  }
  return out;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    auto item = trim(text.substr(at, comma - at));
    if (!item.empty()) out.emplace_back(item);
    at = comma + 1;
  }
  return out;
}

}  // namespace schedulo::sandbox::x
