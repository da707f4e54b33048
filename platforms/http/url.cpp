#include "platforms/http/url.hpp"

#include "platforms/http/address_policy.hpp"
#include "common/text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace schedulo::http {
namespace {

namespace ip = boost::asio::ip;

constexpr std::size_t kMaxHostLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

// True when the host's last label is a number (decimal, or 0x hex): such a host is an IPv4 literal
// to getaddrinfo, never a DNS name, whatever else it looks like (WHATWG's "ends in a number").
bool ends_in_number(std::string_view host) {
  const auto dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
    return std::all_of(last.begin() + 2, last.end(), is_hex);
  return std::all_of(last.begin(), last.end(), is_digit);
}

// Characters a request target may carry as they are; everything else (non-ASCII, quotes, braces,
// backslash, ...) is percent-encoded so the target is safe to put on the wire and in logs.
bool target_char_ok(unsigned char c) {
  if (c >= 0x80 || c <= 0x20 || c == 0x7f) return false;
  return std::string_view("\"<>\\^`{|}").find(static_cast<char>(c)) == std::string_view::npos;
}

std::string encode_target(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (target_char_ok(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

UrlResult fail(std::string message) {
  return {std::nullopt, std::move(message)};
}

constexpr std::string_view kNotAbsolute = "not an absolute URL: it must start with https:// or http://";

// Splits "scheme:" off the front. Returns the rest (after "//") and sets scheme, or an error.
std::optional<std::string> take_scheme(std::string_view& rest, std::string& scheme) {
  if (rest.starts_with("//")) {  // Bubble's protocol-relative file URLs
    scheme = "https";
    rest.remove_prefix(2);
    return std::nullopt;
  }
  std::size_t i = 0;
  if (rest.empty() || !is_alpha(rest[0])) return std::string(kNotAbsolute);
  while (i < rest.size() &&
         (is_alpha(rest[i]) || is_digit(rest[i]) || rest[i] == '+' || rest[i] == '-' || rest[i] == '.'))
    ++i;
  // "host:8080/x" reads as scheme "host" to a URL parser; say what is really wrong.
  if (i == rest.size() || rest[i] != ':' || (i + 1 < rest.size() && is_digit(rest[i + 1])))
    return std::string(kNotAbsolute);
  scheme = lower(rest.substr(0, i));
  if (scheme != "http" && scheme != "https")
    return "scheme \"" + excerpt(scheme) + "\" is not allowed: use http or https";
  rest.remove_prefix(i + 1);
  if (!rest.starts_with("//")) return std::string(kNotAbsolute);
  rest.remove_prefix(2);
  return std::nullopt;
}

std::optional<std::string> parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), is_digit) || ec != std::errc{} ||
      end != text.data() + text.size() || value < 1 || value > 65535)
    return "port \"" + excerpt(text) + "\" must be a number from 1 to 65535";
  port = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

// Parses the host part (brackets included for IPv6) into url.host / url.host_is_ip.
std::optional<std::string> parse_host(std::string_view raw, Url& url) {
  if (raw.empty()) return std::string("URL has no host");
  if (raw.front() == '[') {
    const std::string inner(raw.substr(1, raw.size() - 2));
    boost::system::error_code ec;
    const auto v6 = inner.find('%') == std::string::npos ? ip::make_address_v6(inner, ec) : ip::address_v6{};
    if (raw.back() != ']' || inner.find('%') != std::string::npos || ec)
      return "host \"" + excerpt(raw) + "\" is not a valid IPv6 address";
    url.host = v6.to_string();
    url.host_is_ip = true;
    return std::nullopt;
  }
  if (std::any_of(raw.begin(), raw.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
    return "host \"" + excerpt(raw) + "\" must be ASCII: use its punycode (xn--) form";
  std::string host = lower(raw);
  if (host.size() > 1 && host.back() == '.') host.pop_back();  // "example.com." is "example.com"
  if (ends_in_number(host)) {
    // inet_aton is what getaddrinfo applies to numeric hosts, so it decides what address this is.
    in_addr addr{};
    const bool charset_ok =
        std::all_of(host.begin(), host.end(), [](char c) { return is_hex(c) || c == 'x' || c == '.'; });
    if (!charset_ok || inet_aton(host.c_str(), &addr) == 0)
      return "host \"" + excerpt(raw) + "\" is not a valid IPv4 address";
    url.host = ip::address_v4(ntohl(addr.s_addr)).to_string();
    url.host_is_ip = true;
    return std::nullopt;
  }
  if (!is_valid_host_name(host)) return "host \"" + excerpt(raw) + "\" is not a valid host name";
  url.host = std::move(host);
  url.host_is_ip = false;
  return std::nullopt;
}

bool ends_with_label(std::string_view host, std::string_view suffix) {
  return host == suffix.substr(1) || host.ends_with(suffix);
}

}  // namespace

std::string_view article(std::string_view label) {
  if (label.starts_with("uni")) return "a";  // "a unique-local"
  return !label.empty() && std::string_view("aeiou").find(label.front()) != std::string_view::npos ? "an" : "a";
}

bool is_valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostLength || ends_in_number(host)) return false;
  std::size_t label = 0;
  for (const char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_')) return false;
    if (++label > kMaxLabelLength) return false;
  }
  return label != 0;
}

std::string Url::str() const {
  const bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  const bool v6 = host_is_ip && host.find(':') != std::string::npos;
  std::string out = scheme + "://" + (v6 ? "[" + host + "]" : host);
  if (!default_port) out += ":" + std::to_string(port);
  return out + target;
}

UrlResult parse_url(std::string_view text) {
  if (text.empty()) return fail("URL is empty");
  if (text.size() > kMaxUrlLength) return fail("URL is longer than " + std::to_string(kMaxUrlLength) + " characters");
  if (std::any_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      }))
    return fail("URL contains whitespace or control characters");

  Url url;
  std::string_view rest = text;
  if (auto error = take_scheme(rest, url.scheme)) return fail(std::move(*error));

  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos)
    return fail("credentials (user:password@) are not allowed in a URL: they would leak into logs");

  // Split host and port: after "]" for IPv6, else at the first ':'.
  std::size_t host_end = authority.find(':');
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    host_end = close == std::string_view::npos ? authority.size() : close + 1;
    if (host_end < authority.size() && authority[host_end] != ':')
      return fail("host \"" + excerpt(authority) + "\" is not a valid IPv6 address");
  }
  if (auto error = parse_host(authority.substr(0, host_end), url)) return fail(std::move(*error));
  url.port = url.scheme == "https" ? 443 : 80;
  if (host_end < authority.size())
    if (auto error = parse_port(authority.substr(host_end + 1), url.port)) return fail(std::move(*error));

  target = target.substr(0, target.find('#'));
  url.target = target.empty() || target.front() != '/' ? "/" + encode_target(target) : encode_target(target);
  return {std::move(url), {}};
}

std::optional<std::string> check_public_url(const Url& url, const AddressPolicy& policy) {
  constexpr std::string_view kHint = "; allow it in security.allow_private_hosts";
  if (url.host_is_ip) {
    boost::system::error_code ec;
    const auto address = ip::make_address(url.host, ec);
    if (ec) return "host " + excerpt(url.host) + " is not a valid IP address";
    if (policy.address_allowed(address)) return std::nullopt;
    const std::string_view range = AddressPolicy::non_public_range(address).value_or("non-public");
    return "host " + url.host + " is " + std::string(article(range)) + " " + std::string(range) + " address" +
           std::string(kHint);
  }
  if (policy.host_allowed(url.host)) return std::nullopt;
  // Names that never lead to the public internet: special-use domains (RFC 6761/6762/8375), cloud
  // metadata names, and single-label names, which only search domains or /etc/hosts can resolve.
  static constexpr std::string_view kInternalSuffixes[] = {".localhost", ".local", ".internal", ".home.arpa"};
  const bool single_label = url.host.find('.') == std::string::npos;
  const bool internal = std::any_of(std::begin(kInternalSuffixes), std::end(kInternalSuffixes),
                                    [&](std::string_view s) { return ends_with_label(url.host, s); });
  if (single_label || internal) return "host \"" + excerpt(url.host) + "\" is an internal name" + std::string(kHint);
  return std::nullopt;
}

}  // namespace schedulo::http
