#pragma once
// Which addresses the daemon may connect to on behalf of untrusted input (architecture rule 13).
// Media and callback URLs come from the inbox; without this check a job could make the daemon fetch
// from loopback, the LAN or a cloud metadata service (SSRF). Everything that is not a public unicast
// address is refused unless the operator allow-listed it (`security.allow_private_hosts`, e.g. the
// sandbox on 127.0.0.1). The URL check uses it for IP literals today; the HTTP client reuses it for
// every address a name resolves to.
#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::http {

struct AddressPolicyResult;

class AddressPolicy {
 public:
  // Allows nothing private: only public addresses pass.
  AddressPolicy() = default;

  // Builds from `security.allow_private_hosts`: exact host names (case-insensitive, a trailing dot
  // ignored), IP literals and CIDR ranges ("127.0.0.0/8", "::1/128"). Host bits below the prefix are
  // ignored ("127.0.0.1/8" is 127.0.0.0/8). `key` names the setting in error messages.
  static AddressPolicyResult from_entries(const std::vector<std::string>& entries,
                                          std::string_view key = "security.allow_private_hosts");

  // True when `host` (a name, already lower-case, as Url holds it) is allow-listed by exact name.
  bool host_allowed(std::string_view host) const;

  // True when the address is public, or non-public but inside an allow-listed range. IPv4-mapped,
  // IPv4-compatible, NAT64 and 6to4 addresses are also matched by their embedded IPv4 address.
  bool address_allowed(const boost::asio::ip::address& address) const;

  // Why the address is not public ("loopback", "private (RFC 1918)", "cloud metadata", ...), or
  // nullopt for a public unicast address. Addresses that embed an IPv4 address (IPv4-mapped and
  // -compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the embedded address, since that
  // is where a connection would end up.
  static std::optional<std::string_view> non_public_range(const boost::asio::ip::address& address);

 private:
  struct RangeV4 {
    std::uint32_t network = 0;
    unsigned prefix = 0;
  };
  struct RangeV6 {
    std::array<unsigned char, 16> network{};
    unsigned prefix = 0;
  };

  bool in_allowed_v4(std::uint32_t address) const;
  bool in_allowed_v6(const std::array<unsigned char, 16>& address) const;

  std::vector<std::string> hosts_;
  std::vector<RangeV4> ranges_v4_;
  std::vector<RangeV6> ranges_v6_;
};

// The policy, or (policy empty) an error naming the bad entry.
struct AddressPolicyResult {
  std::optional<AddressPolicy> policy;
  std::string error;
};

}  // namespace schedulo::http
