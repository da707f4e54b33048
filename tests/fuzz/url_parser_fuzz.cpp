// libFuzzer target: the URL parser and the public-URL check on arbitrary text. Invariants: a parsed
// URL prints (str()) to text without whitespace or control characters that parses back to the same
// URL, unless percent-encoding made it longer than kMaxUrlLength (found by this target: 0xff bytes
// triple in size); the address check never crashes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "platforms/http/address_policy.hpp"
#include "platforms/http/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace schedulo::http;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_url(text);
  if (!parsed.url) return 0;
  const Url& url = *parsed.url;
  (void)check_public_url(url, AddressPolicy{});
  const std::string printed = url.str();
  for (const char c : printed)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) __builtin_trap();
  if (printed.size() > kMaxUrlLength) return 0;
  const auto again = parse_url(printed);
  if (!again.url || !(*again.url == url)) __builtin_trap();
  return 0;
}
