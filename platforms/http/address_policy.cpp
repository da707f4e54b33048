#include "platforms/http/address_policy.hpp"

#include "platforms/http/url.hpp"

#include <algorithm>
#include <charconv>

namespace schedulo::http {
namespace {

namespace ip = boost::asio::ip;
using Bytes6 = std::array<unsigned char, 16>;

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

constexpr std::uint32_t mask_v4(unsigned prefix) {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

constexpr bool in_v4(std::uint32_t address, std::uint32_t network, unsigned prefix) {
  return (address & mask_v4(prefix)) == network;
}

bool in_v6(const Bytes6& address, const Bytes6& network, unsigned prefix) {
  unsigned i = 0;
  for (; prefix >= 8; prefix -= 8, ++i)
    if (address[i] != network[i]) return false;
  if (prefix == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - prefix));
  return (address[i] & mask) == (network[i] & mask);
}

// Network prefix for IPv6 ranges written as leading 16-bit groups, e.g. {0xfe80} for fe80::.
Bytes6 net6(std::initializer_list<unsigned> groups) {
  Bytes6 b{};
  std::size_t i = 0;
  for (const unsigned g : groups) {
    b[i++] = static_cast<unsigned char>(g >> 8);
    b[i++] = static_cast<unsigned char>(g & 0xff);
  }
  return b;
}

std::uint32_t embedded_at(const Bytes6& b, std::size_t i) {
  return (std::uint32_t{b[i]} << 24) | (std::uint32_t{b[i + 1]} << 16) | (std::uint32_t{b[i + 2]} << 8) |
         std::uint32_t{b[i + 3]};
}

bool all_zero(const Bytes6& b, std::size_t from, std::size_t to) {
  return std::all_of(b.begin() + static_cast<std::ptrdiff_t>(from), b.begin() + static_cast<std::ptrdiff_t>(to),
                     [](unsigned char c) { return c == 0; });
}

// The IPv4 address a connection to this IPv6 address would reach, for the forms that carry one.
// (:: and ::1 are not IPv4-compatible addresses; callers classify them first.)
std::optional<std::uint32_t> embedded_v4(const Bytes6& b) {
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (SIIT translated)
  if (all_zero(b, 0, 10) && b[10] == 0xff && b[11] == 0xff) return embedded_at(b, 12);
  if (all_zero(b, 0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) return embedded_at(b, 12);
  // ::a.b.c.d (deprecated IPv4-compatible)
  if (all_zero(b, 0, 12)) return embedded_at(b, 12);
  // 64:ff9b::/96 (NAT64 well-known prefix)
  if (in_v6(b, net6({0x64, 0xff9b}), 96)) return embedded_at(b, 12);
  // 2002:AABB:CCDD::/48 (6to4)
  if (b[0] == 0x20 && b[1] == 0x02) return embedded_at(b, 2);
  return std::nullopt;
}

std::optional<std::string_view> classify_v4(std::uint32_t a) {
  struct Range {
    std::uint32_t network;
    unsigned prefix;
    std::string_view label;
  };
  // Most specific first: the metadata address sits inside link-local, broadcast inside 240/4.
  static constexpr Range kRanges[] = {
      {v4(0, 0, 0, 0), 32, "unspecified"},
      {v4(169, 254, 169, 254), 32, "cloud metadata"},
      {v4(255, 255, 255, 255), 32, "broadcast"},
      {v4(0, 0, 0, 0), 8, "reserved"},  // "this network"
      {v4(10, 0, 0, 0), 8, "private (RFC 1918)"},
      {v4(100, 64, 0, 0), 10, "carrier-grade NAT"},
      {v4(127, 0, 0, 0), 8, "loopback"},
      {v4(169, 254, 0, 0), 16, "link-local"},
      {v4(172, 16, 0, 0), 12, "private (RFC 1918)"},
      {v4(192, 0, 0, 0), 24, "reserved"},  // IETF protocol assignments
      {v4(192, 0, 2, 0), 24, "documentation"},
      {v4(192, 88, 99, 0), 24, "reserved"},  // deprecated 6to4 relay anycast
      {v4(192, 168, 0, 0), 16, "private (RFC 1918)"},
      {v4(198, 18, 0, 0), 15, "benchmarking"},
      {v4(198, 51, 100, 0), 24, "documentation"},
      {v4(203, 0, 113, 0), 24, "documentation"},
      {v4(224, 0, 0, 0), 4, "multicast"},
      {v4(240, 0, 0, 0), 4, "reserved"},
  };
  for (const auto& r : kRanges)
    if (in_v4(a, r.network, r.prefix)) return r.label;
  return std::nullopt;
}

std::optional<std::string_view> classify_v6(const Bytes6& b) {
  if (all_zero(b, 0, 16)) return "unspecified";
  if (all_zero(b, 0, 15) && b[15] == 1) return "loopback";
  if (const auto embedded = embedded_v4(b)) return classify_v4(*embedded);
  struct Range {
    Bytes6 network;
    unsigned prefix;
    std::string_view label;
  };
  static const Range kRanges[] = {
      {net6({0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254}), 128, "cloud metadata"},  // AWS IMDS over IPv6
      {net6({0x0064, 0xff9b, 0x0001}), 48, "reserved"},                        // local-use NAT64: could map anywhere
      {net6({0x0100}), 64, "reserved"},                                        // discard-only
      {net6({0x2001, 0x0db8}), 32, "documentation"},
      {net6({0x3fff}), 20, "documentation"},
      {net6({0x2001, 0x0002}), 48, "benchmarking"},
      {net6({0x2001}), 23, "reserved"},  // IETF protocol assignments (Teredo, ORCHID, ...)
      {net6({0xfc00}), 7, "unique-local"},
      {net6({0xfe80}), 10, "link-local"},
      {net6({0xfec0}), 10, "site-local"},
      {net6({0xff00}), 8, "multicast"},
  };
  for (const auto& r : kRanges)
    if (in_v6(b, r.network, r.prefix)) return r.label;
  // Only 2000::/3 is allocated as global unicast; anything else is unassigned or special.
  if ((b[0] & 0xe0) != 0x20) return "reserved";
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string normalise_host(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return lower(host);
}

std::optional<unsigned> parse_prefix(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

}  // namespace

AddressPolicyResult AddressPolicy::from_entries(const std::vector<std::string>& entries, std::string_view key) {
  AddressPolicy policy;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string_view entry = entries[i];
    const auto slash = entry.find('/');
    const std::string address_text(entry.substr(0, slash));
    boost::system::error_code ec;
    // A zone id ("fe80::1%eth0") names an interface, not a range: refused.
    const ip::address address =
        address_text.find('%') == std::string::npos ? ip::make_address(address_text, ec) : ip::address{};
    const bool is_address = address_text.find('%') == std::string::npos && !ec;
    bool ok = false;
    if (is_address && address.is_v4()) {
      const auto prefix =
          slash == std::string_view::npos ? std::optional<unsigned>(32) : parse_prefix(entry.substr(slash + 1), 32);
      if (prefix) {
        const std::uint32_t bits = address.to_v4().to_uint();
        policy.ranges_v4_.push_back({bits & mask_v4(*prefix), *prefix});
        ok = true;
      }
    } else if (is_address) {
      const auto prefix =
          slash == std::string_view::npos ? std::optional<unsigned>(128) : parse_prefix(entry.substr(slash + 1), 128);
      if (prefix) {
        RangeV6 range{address.to_v6().to_bytes(), *prefix};
        for (unsigned bit = *prefix; bit < 128; ++bit)
          range.network[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
        policy.ranges_v6_.push_back(range);
        ok = true;
      }
    } else if (slash == std::string_view::npos) {
      std::string host = normalise_host(entry);
      if (is_valid_host_name(host)) {
        policy.hosts_.push_back(std::move(host));
        ok = true;
      }
    }
    if (!ok) {
      // Config values are operator input, but keep the echo bounded and printable all the same
      // (entries are ASCII when valid; anything else is shown as '?').
      std::string shown(entry.substr(0, 64));
      for (char& c : shown)
        if (c < 0x20 || c > 0x7e) c = '?';
      if (entry.size() > 64) shown += "…";
      return {std::nullopt, std::string(key) + "[" + std::to_string(i) + "]: \"" + shown +
                                "\" is not a host name, IP address or CIDR range"};
    }
  }
  return {std::move(policy), {}};
}

bool AddressPolicy::host_allowed(std::string_view host) const {
  const std::string wanted = normalise_host(host);
  return std::find(hosts_.begin(), hosts_.end(), wanted) != hosts_.end();
}

bool AddressPolicy::in_allowed_v4(std::uint32_t address) const {
  return std::any_of(ranges_v4_.begin(), ranges_v4_.end(),
                     [&](const RangeV4& r) { return in_v4(address, r.network, r.prefix); });
}

bool AddressPolicy::in_allowed_v6(const std::array<unsigned char, 16>& address) const {
  return std::any_of(ranges_v6_.begin(), ranges_v6_.end(),
                     [&](const RangeV6& r) { return in_v6(address, r.network, r.prefix); });
}

bool AddressPolicy::address_allowed(const boost::asio::ip::address& address) const {
  if (!non_public_range(address)) return true;
  if (address.is_v4()) return in_allowed_v4(address.to_v4().to_uint());
  const Bytes6 bytes = address.to_v6().to_bytes();
  if (in_allowed_v6(bytes)) return true;
  const bool special = all_zero(bytes, 0, 16) || (all_zero(bytes, 0, 15) && bytes[15] == 1);
  if (special) return false;
  const auto embedded = embedded_v4(bytes);
  return embedded && in_allowed_v4(*embedded);
}

std::optional<std::string_view> AddressPolicy::non_public_range(const boost::asio::ip::address& address) {
  if (address.is_v4()) return classify_v4(address.to_v4().to_uint());
  return classify_v6(address.to_v6().to_bytes());
}

}  // namespace schedulo::http
