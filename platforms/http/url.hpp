#pragma once
// URLs from untrusted input (media, links, callbacks): parsed strictly, normalised once, and checked
// against the address policy (architecture rule 13). Only literal addresses and names that are always
// internal are judged here; names are resolved, checked and pinned by the HTTP client.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace schedulo::http {

class AddressPolicy;

inline constexpr std::size_t kMaxUrlLength = 2048;

struct Url {
  std::string scheme;      // "http" or "https"
  std::string host;        // lower-case, no trailing dot; IPv4 dotted quad or IPv6 without brackets
  std::uint16_t port = 0;  // explicit, or 80/443 by scheme
  std::string target;      // path and query, "/" when empty; fragment dropped; non-ASCII percent-encoded
  bool host_is_ip = false;

  // scheme://host[:port]target, the port only when not the scheme's default, IPv6 bracketed.
  std::string str() const;

  bool operator==(const Url&) const = default;
};

// The URL, or (url empty) a user-facing reason that never repeats the path or query.
struct UrlResult {
  std::optional<Url> url;
  std::string error;
};

// Absolute http(s) URLs only; Bubble's protocol-relative "//host/path" becomes https. Refuses
// credentials (user:pass@), whitespace and control characters, bad ports, and more than
// kMaxUrlLength bytes. A host that ends in a number is an IPv4 literal in any form inet_aton reads
// ("127.1", "0x7f.1", "2130706433") and is normalised to a dotted quad, so such spellings cannot slip
// past the range check as "names".
UrlResult parse_url(std::string_view text);

// Nullopt when the URL may be fetched as far as can be told without DNS; otherwise why not, naming
// the range ("host 127.0.0.1 is a loopback address; allow it in security.allow_private_hosts") or
// the internal name (localhost, *.localhost, *.local, *.internal, metadata, single-label names).
std::optional<std::string> check_public_url(const Url& url, const AddressPolicy& policy);

// DNS host name syntax as accepted here: ASCII letters, digits, '-', '_' and '.', labels of 1..63,
// at most 253 in all, last label not numeric (that would be an IPv4 literal). No trailing dot.
bool is_valid_host_name(std::string_view host);

// "a" or "an" before a range label in a message ("an unspecified", "a unique-local").
std::string_view article(std::string_view label);

}  // namespace schedulo::http
