// URL parsing and the private-address refusal (architecture rule 13).
#include "platforms/http/url.hpp"
#include "platforms/http/address_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace schedulo::http {
namespace {

namespace ip = boost::asio::ip;

Url parse_ok(std::string_view text) {
  auto result = parse_url(text);
  EXPECT_TRUE(result.url) << text << ": " << result.error;
  return result.url.value_or(Url{});
}

std::string parse_error(std::string_view text) {
  auto result = parse_url(text);
  EXPECT_FALSE(result.url) << text << " parsed as " << (result.url ? result.url->str() : "");
  return result.error;
}

AddressPolicy policy_of(const std::vector<std::string>& entries) {
  auto result = AddressPolicy::from_entries(entries);
  EXPECT_TRUE(result.policy) << result.error;
  return result.policy.value_or(AddressPolicy{});
}

std::optional<std::string_view> range_of(std::string_view address) {
  return AddressPolicy::non_public_range(ip::make_address(std::string(address)));
}

// --- parsing and normalisation ---

TEST(ParseUrl, SplitsAnHttpsUrlIntoItsParts) {
  const Url url = parse_ok("https://cdn.example.com/media/a.jpg?sig=abc");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host, "cdn.example.com");
  EXPECT_EQ(url.port, 443);
  EXPECT_EQ(url.target, "/media/a.jpg?sig=abc");
  EXPECT_FALSE(url.host_is_ip);
  EXPECT_EQ(url.str(), "https://cdn.example.com/media/a.jpg?sig=abc");
}

TEST(ParseUrl, LowerCasesSchemeAndHostButNotThePath) {
  EXPECT_EQ(parse_ok("HTTPS://CDN.Example.COM/A/B.JPG").str(), "https://cdn.example.com/A/B.JPG");
}

TEST(ParseUrl, DefaultsPortByScheme) {
  EXPECT_EQ(parse_ok("http://example.com/").port, 80);
  EXPECT_EQ(parse_ok("https://example.com/").port, 443);
}

TEST(ParseUrl, KeepsANonDefaultPortAndDropsADefaultOne) {
  EXPECT_EQ(parse_ok("https://example.com:8443/x").str(), "https://example.com:8443/x");
  EXPECT_EQ(parse_ok("https://example.com:443/x").str(), "https://example.com/x");
  EXPECT_EQ(parse_ok("http://example.com:80/x").str(), "http://example.com/x");
  EXPECT_EQ(parse_ok("http://example.com:443/x").str(), "http://example.com:443/x");
}

TEST(ParseUrl, EmptyPathBecomesSlash) {
  EXPECT_EQ(parse_ok("https://example.com").target, "/");
  EXPECT_EQ(parse_ok("https://example.com?a=1").target, "/?a=1");
}

TEST(ParseUrl, DropsTheFragment) {
  EXPECT_EQ(parse_ok("https://example.com/p?q=1#frag").target, "/p?q=1");
  EXPECT_EQ(parse_ok("https://example.com#frag").target, "/");
}

TEST(ParseUrl, TurnsBubblesProtocolRelativeFormIntoHttps) {
  EXPECT_EQ(parse_ok("//s3.amazonaws.com/appforest_uf/f1/cat.jpg").str(),
            "https://s3.amazonaws.com/appforest_uf/f1/cat.jpg");
}

TEST(ParseUrl, DropsATrailingDotFromTheHost) {
  EXPECT_EQ(parse_ok("https://example.com./x").host, "example.com");
}

TEST(ParseUrl, PercentEncodesNonAsciiAndUnsafeTargetCharacters) {
  EXPECT_EQ(parse_ok("https://example.com/caf\xc3\xa9/a|b\\c").target, "/caf%C3%A9/a%7Cb%5Cc");
}

TEST(ParseUrl, NormalisedFormParsesToTheSameUrl) {
  for (const char* text :
       {"HTTPS://Example.com:443/caf\xc3\xa9?x=1#f", "//example.com", "http://[::1]:8080", "http://0x7f.1/"}) {
    const Url first = parse_ok(text);
    EXPECT_EQ(parse_ok(first.str()), first) << text;
  }
}

TEST(ParseUrl, AcceptsBracketedIpv6AndStoresItWithoutBrackets) {
  const Url url = parse_ok("http://[2001:DB8::1]:8080/x");
  EXPECT_EQ(url.host, "2001:db8::1");
  EXPECT_TRUE(url.host_is_ip);
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.str(), "http://[2001:db8::1]:8080/x");
}

TEST(ParseUrl, RefusesSchemesOtherThanHttpAndHttps) {
  EXPECT_EQ(parse_error("ftp://example.com/a"), "scheme \"ftp\" is not allowed: use http or https");
  EXPECT_EQ(parse_error("FILE:///etc/passwd"), "scheme \"file\" is not allowed: use http or https");
  EXPECT_EQ(parse_error("javascript:alert(1)"), "scheme \"javascript\" is not allowed: use http or https");
  EXPECT_EQ(parse_error("data:image/png;base64,AAAA"), "scheme \"data\" is not allowed: use http or https");
  EXPECT_EQ(parse_error("gopher://example.com"), "scheme \"gopher\" is not allowed: use http or https");
}

TEST(ParseUrl, RefusesRelativeAndSchemelessUrls) {
  const std::string expected = "not an absolute URL: it must start with https:// or http://";
  EXPECT_EQ(parse_error("/media/a.jpg"), expected);
  EXPECT_EQ(parse_error("example.com/a.jpg"), expected);
  EXPECT_EQ(parse_error("example.com:8080/a.jpg"), expected);
  EXPECT_EQ(parse_error("https:example.com"), expected);
  EXPECT_EQ(parse_error("https:/example.com"), expected);
}

TEST(ParseUrl, RefusesCredentials) {
  const std::string expected = "credentials (user:password@) are not allowed in a URL: they would leak into logs";
  EXPECT_EQ(parse_error("https://user:secret@example.com/"), expected);
  EXPECT_EQ(parse_error("https://user@example.com/"), expected);
  EXPECT_EQ(parse_error("https://good.com@evil.com/"), expected);
}

TEST(ParseUrl, AllowsAnAtSignInThePath) {
  EXPECT_EQ(parse_ok("https://example.com/@user/a.jpg").target, "/@user/a.jpg");
}

TEST(ParseUrl, RefusesWhitespaceAndControlCharacters) {
  const std::string expected = "URL contains whitespace or control characters";
  EXPECT_EQ(parse_error(" https://example.com/"), expected);
  EXPECT_EQ(parse_error("https://example.com/a b"), expected);
  EXPECT_EQ(parse_error("https://example.com/\r\nX-Injected: 1"), expected);
  EXPECT_EQ(parse_error(std::string_view("https://example.com/\0", 21)), expected);
  EXPECT_EQ(parse_error("https://exa\tmple.com/"), expected);
}

TEST(ParseUrl, RefusesEmptyAndOverlongUrls) {
  EXPECT_EQ(parse_error(""), "URL is empty");
  const std::string long_url = "https://example.com/" + std::string(kMaxUrlLength, 'a');
  EXPECT_EQ(parse_error(long_url), "URL is longer than 2048 characters");
  const std::string just_fits = "https://example.com/" + std::string(kMaxUrlLength - 20, 'a');
  EXPECT_TRUE(parse_url(just_fits).url);
}

TEST(ParseUrl, RefusesAMissingOrInvalidHost) {
  EXPECT_EQ(parse_error("https:///path"), "URL has no host");
  EXPECT_EQ(parse_error("https://:443/"), "URL has no host");
  EXPECT_EQ(parse_error("https://exa$mple.com/"), "host \"exa$mple.com\" is not a valid host name");
  EXPECT_EQ(parse_error("https://a..b/"), "host \"a..b\" is not a valid host name");
  EXPECT_EQ(parse_error("https://%6cocalhost/"), "host \"%6cocalhost\" is not a valid host name");
  EXPECT_EQ(parse_error("https://evil.com\\@good.com/"),
            "credentials (user:password@) are not allowed in a URL: they would leak into logs");
  EXPECT_EQ(parse_error("https://evil.com\\.good.com/"), "host \"evil.com\\.good.com\" is not a valid host name");
  EXPECT_EQ(parse_error("https://caf\xc3\xa9.com/"),
            "host \"caf\xc3\xa9.com\" must be ASCII: use its punycode (xn--) form");
  EXPECT_EQ(parse_error("https://" + std::string(64, 'a') + ".com/"),
            "host \"" + std::string(64, 'a') + "…\" is not a valid host name");
}

TEST(ParseUrl, ErrorsShowBrokenUtf8AsQuestionMarks) {
  EXPECT_EQ(parse_error("https://caf\xc3.com/"), "host \"caf?.com\" must be ASCII: use its punycode (xn--) form");
  EXPECT_EQ(parse_error("https://\xed\xa0\x80.com/"), "host \"???.com\" must be ASCII: use its punycode (xn--) form");
}

TEST(ParseUrl, RefusesBadIpv6Literals) {
  EXPECT_EQ(parse_error("http://[::1/"), "host \"[::1\" is not a valid IPv6 address");
  EXPECT_EQ(parse_error("http://[fe80::1%25eth0]/"), "host \"[fe80::1%25eth0]\" is not a valid IPv6 address");
  EXPECT_EQ(parse_error("http://[::1]x/"), "host \"[::1]x\" is not a valid IPv6 address");
  EXPECT_EQ(parse_error("http://[nope]/"), "host \"[nope]\" is not a valid IPv6 address");
}

TEST(ParseUrl, RefusesPortsOutsideOneTo65535) {
  EXPECT_EQ(parse_error("https://example.com:0/"), "port \"0\" must be a number from 1 to 65535");
  EXPECT_EQ(parse_error("https://example.com:65536/"), "port \"65536\" must be a number from 1 to 65535");
  EXPECT_EQ(parse_error("https://example.com:/"), "port \"\" must be a number from 1 to 65535");
  EXPECT_EQ(parse_error("https://example.com:+80/"), "port \"+80\" must be a number from 1 to 65535");
  EXPECT_EQ(parse_error("https://example.com:80:80/"), "port \"80:80\" must be a number from 1 to 65535");
  EXPECT_EQ(parse_ok("https://example.com:65535/").port, 65535);
}

TEST(ParseUrl, ErrorsNeverRepeatThePathOrQuery) {
  for (const char* text : {"ftp://example.com/secret?token=SECRET", "https://u:p@example.com/?token=SECRET",
                           "https://example.com:99999/?token=SECRET"}) {
    const std::string error = parse_error(text);
    EXPECT_EQ(error.find("SECRET"), std::string::npos) << error;
  }
}

// --- numeric hosts: every spelling inet_aton accepts is an IPv4 literal ---

TEST(ParseUrl, ReadsInetAtonSpellingsAsIpv4Literals) {
  const struct {
    const char* host;
    const char* address;
  } cases[] = {
      {"2130706433", "127.0.0.1"}, {"0x7f.1", "127.0.0.1"},
      {"127.1", "127.0.0.1"},      {"0177.0.0.1", "127.0.0.1"},
      {"0x7f000001", "127.0.0.1"}, {"127.0.1", "127.0.0.1"},
      {"0X7F.0.0.1", "127.0.0.1"}, {"169.254.43518", "169.254.169.254"},
      {"127.0.0.1.", "127.0.0.1"}, {"0", "0.0.0.0"},
  };
  for (const auto& c : cases) {
    const Url url = parse_ok(std::string("http://") + c.host + "/");
    EXPECT_TRUE(url.host_is_ip) << c.host;
    EXPECT_EQ(url.host, c.address) << c.host;
  }
}

TEST(ParseUrl, RefusesNumericHostsThatAreNoValidIpv4) {
  EXPECT_EQ(parse_error("http://256.1.1.1/"), "host \"256.1.1.1\" is not a valid IPv4 address");
  EXPECT_EQ(parse_error("http://1.2.3.4.5/"), "host \"1.2.3.4.5\" is not a valid IPv4 address");
  EXPECT_EQ(parse_error("http://example.123/"), "host \"example.123\" is not a valid IPv4 address");
  EXPECT_EQ(parse_error("http://4294967296/"), "host \"4294967296\" is not a valid IPv4 address");
}

TEST(ParseUrl, TreatsNamesWithNumericMiddleLabelsAsNames) {
  const Url url = parse_ok("https://1.2.3.example.com/");
  EXPECT_FALSE(url.host_is_ip);
  EXPECT_FALSE(parse_ok("https://0x7f.example/").host_is_ip);
}

// --- address classes ---

TEST(NonPublicRange, NamesEveryIpv4SpecialRange) {
  const struct {
    const char* address;
    const char* range;
  } cases[] = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "reserved"},
      {"10.0.0.1", "private (RFC 1918)"},
      {"10.255.255.255", "private (RFC 1918)"},
      {"100.64.0.1", "carrier-grade NAT"},
      {"100.127.255.255", "carrier-grade NAT"},
      {"127.0.0.1", "loopback"},
      {"127.255.0.9", "loopback"},
      {"169.254.169.254", "cloud metadata"},
      {"169.254.1.1", "link-local"},
      {"172.16.0.1", "private (RFC 1918)"},
      {"172.31.255.255", "private (RFC 1918)"},
      {"192.0.0.8", "reserved"},
      {"192.0.2.1", "documentation"},
      {"192.88.99.1", "reserved"},
      {"192.168.1.1", "private (RFC 1918)"},
      {"198.18.0.1", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"198.51.100.7", "documentation"},
      {"203.0.113.9", "documentation"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.255", "broadcast"},
  };
  for (const auto& c : cases) {
    const auto range = range_of(c.address);
    ASSERT_TRUE(range) << c.address;
    EXPECT_EQ(*range, c.range) << c.address;
  }
}

TEST(NonPublicRange, LeavesPublicIpv4AddressesAlone) {
  for (const char* address :
       {"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0", "192.169.0.1",
        "198.17.255.255", "198.20.0.0", "223.255.255.255", "169.253.255.255", "11.0.0.1"})
    EXPECT_FALSE(range_of(address)) << address << ": " << range_of(address).value_or("");
}

TEST(NonPublicRange, NamesEveryIpv6SpecialRange) {
  const struct {
    const char* address;
    const char* range;
  } cases[] = {
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"fe80::1", "link-local"},
      {"febf::1", "link-local"},
      {"fec0::1", "site-local"},
      {"fc00::1", "unique-local"},
      {"fd12:3456::1", "unique-local"},
      {"fd00:ec2::254", "cloud metadata"},
      {"ff02::1", "multicast"},
      {"2001:db8::1", "documentation"},
      {"2001:2::1", "benchmarking"},
      {"2001::1", "reserved"},
      {"100::1", "reserved"},
      {"64:ff9b:1::1", "reserved"},
      {"4000::1", "reserved"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:10.1.2.3", "private (RFC 1918)"},
      {"::ffff:169.254.169.254", "cloud metadata"},
      {"::ffff:0:192.168.0.1", "private (RFC 1918)"},
      {"::127.0.0.1", "loopback"},
      {"::0.0.0.2", "reserved"},
      {"64:ff9b::127.0.0.1", "loopback"},
      {"64:ff9b::a9fe:a9fe", "cloud metadata"},
      {"2002:7f00:1::", "loopback"},
      {"2002:c0a8:101::1", "private (RFC 1918)"},
  };
  for (const auto& c : cases) {
    const auto range = range_of(c.address);
    ASSERT_TRUE(range) << c.address;
    EXPECT_EQ(*range, c.range) << c.address;
  }
}

TEST(NonPublicRange, LeavesPublicIpv6AddressesAlone) {
  for (const char* address : {"2606:4700:4700::1111", "2a00:1450:4001:800::200e", "::ffff:8.8.8.8", "64:ff9b::808:808",
                              "2002:808:808::1", "2001:200::1"})
    EXPECT_FALSE(range_of(address)) << address << ": " << range_of(address).value_or("");
}

// --- the allow-list ---

TEST(AddressPolicy, DefaultPolicyAllowsOnlyPublicAddresses) {
  const AddressPolicy policy;
  EXPECT_TRUE(policy.address_allowed(ip::make_address("93.184.216.34")));
  EXPECT_FALSE(policy.address_allowed(ip::make_address("127.0.0.1")));
  EXPECT_FALSE(policy.address_allowed(ip::make_address("::1")));
  EXPECT_FALSE(policy.host_allowed("localhost"));
}

TEST(AddressPolicy, AllowsAddressesInsideAnAllowedCidrOnly) {
  const AddressPolicy policy = policy_of({"127.0.0.0/8", "::1/128", "10.1.0.0/16"});
  EXPECT_TRUE(policy.address_allowed(ip::make_address("127.0.0.1")));
  EXPECT_TRUE(policy.address_allowed(ip::make_address("127.9.9.9")));
  EXPECT_TRUE(policy.address_allowed(ip::make_address("::1")));
  EXPECT_TRUE(policy.address_allowed(ip::make_address("10.1.200.3")));
  EXPECT_FALSE(policy.address_allowed(ip::make_address("10.2.0.1")));
  EXPECT_FALSE(policy.address_allowed(ip::make_address("169.254.169.254")));
  EXPECT_FALSE(policy.address_allowed(ip::make_address("fe80::1")));
}

TEST(AddressPolicy, MatchesIpv4MappedAddressesAgainstIpv4Ranges) {
  const AddressPolicy policy = policy_of({"127.0.0.0/8"});
  EXPECT_TRUE(policy.address_allowed(ip::make_address("::ffff:127.0.0.1")));
  EXPECT_FALSE(policy.address_allowed(ip::make_address("::ffff:10.0.0.1")));
}

TEST(AddressPolicy, ReadsASingleAddressAsAHostRoute) {
  const AddressPolicy policy = policy_of({"192.168.1.10", "fd00::5"});
  EXPECT_TRUE(policy.address_allowed(ip::make_address("192.168.1.10")));
  EXPECT_FALSE(policy.address_allowed(ip::make_address("192.168.1.11")));
  EXPECT_TRUE(policy.address_allowed(ip::make_address("fd00::5")));
  EXPECT_FALSE(policy.address_allowed(ip::make_address("fd00::6")));
}

TEST(AddressPolicy, IgnoresHostBitsBelowThePrefix) {
  const AddressPolicy policy = policy_of({"127.0.0.1/8", "fd00::1/16"});
  EXPECT_TRUE(policy.address_allowed(ip::make_address("127.1.2.3")));
  EXPECT_TRUE(policy.address_allowed(ip::make_address("fd00:1::9")));
}

TEST(AddressPolicy, MatchesHostNamesExactlyAndCaseInsensitively) {
  const AddressPolicy policy = policy_of({"LocalHost", "sandbox.internal."});
  EXPECT_TRUE(policy.host_allowed("localhost"));
  EXPECT_TRUE(policy.host_allowed("LOCALHOST"));
  EXPECT_TRUE(policy.host_allowed("sandbox.internal"));
  EXPECT_FALSE(policy.host_allowed("a.localhost"));
  EXPECT_FALSE(policy.host_allowed("internal"));
}

TEST(AddressPolicy, NamesTheBadEntry) {
  const struct {
    std::vector<std::string> entries;
    const char* error;
  } cases[] = {
      {{"127.0.0.0/8", "::1/128", "10.0.0.0/33"},
       "security.allow_private_hosts[2]: \"10.0.0.0/33\" is not a host name, IP address or CIDR range"},
      {{"::1/129"}, "security.allow_private_hosts[0]: \"::1/129\" is not a host name, IP address or CIDR range"},
      {{""}, "security.allow_private_hosts[0]: \"\" is not a host name, IP address or CIDR range"},
      {{"localhost", "host name/8"},
       "security.allow_private_hosts[1]: \"host name/8\" is not a host name, IP address or CIDR range"},
      {{"10.0.0.0/"}, "security.allow_private_hosts[0]: \"10.0.0.0/\" is not a host name, IP address or CIDR range"},
      {{"127.1"}, "security.allow_private_hosts[0]: \"127.1\" is not a host name, IP address or CIDR range"},
      {{"fe80::1%eth0"},
       "security.allow_private_hosts[0]: \"fe80::1%eth0\" is not a host name, IP address or CIDR range"},
      {{"bad\xffhost"}, "security.allow_private_hosts[0]: \"bad?host\" is not a host name, IP address or CIDR range"},
      {{"*.example.com"},
       "security.allow_private_hosts[0]: \"*.example.com\" is not a host name, IP address or CIDR range"},
  };
  for (const auto& c : cases) {
    const auto result = AddressPolicy::from_entries(c.entries);
    EXPECT_FALSE(result.policy);
    EXPECT_EQ(result.error, c.error);
  }
}

// --- check_public_url ---

std::optional<std::string> check(std::string_view text, const AddressPolicy& policy = {}) {
  return check_public_url(parse_ok(text), policy);
}

TEST(CheckPublicUrl, PassesPublicNamesAndAddresses) {
  EXPECT_FALSE(check("https://cdn.example.com/a.jpg"));
  EXPECT_FALSE(check("https://93.184.216.34/a.jpg"));
  EXPECT_FALSE(check("https://[2606:4700:4700::1111]/"));
}

TEST(CheckPublicUrl, NamesTheRangeOfALiteralAddress) {
  EXPECT_EQ(check("http://127.0.0.1:8080/"),
            "host 127.0.0.1 is a loopback address; allow it in security.allow_private_hosts");
  EXPECT_EQ(check("http://169.254.169.254/latest/meta-data/"),
            "host 169.254.169.254 is a cloud metadata address; allow it in security.allow_private_hosts");
  EXPECT_EQ(check("http://10.0.0.5/"),
            "host 10.0.0.5 is a private (RFC 1918) address; allow it in security.allow_private_hosts");
  EXPECT_EQ(check("http://0.0.0.0/"),
            "host 0.0.0.0 is an unspecified address; allow it in security.allow_private_hosts");
  EXPECT_EQ(check("http://[fd12::1]/"),
            "host fd12::1 is a unique-local address; allow it in security.allow_private_hosts");
  EXPECT_EQ(check("http://[::ffff:7f00:1]/"),
            "host ::ffff:127.0.0.1 is a loopback address; allow it in security.allow_private_hosts");
  EXPECT_EQ(check("http://[fd00:ec2::254]/"),
            "host fd00:ec2::254 is a cloud metadata address; allow it in security.allow_private_hosts");
}

TEST(CheckPublicUrl, CatchesInetAtonSpellingsOfLoopbackAndMetadata) {
  for (const char* text : {"http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://0177.0.0.1/"})
    EXPECT_EQ(check(text), "host 127.0.0.1 is a loopback address; allow it in security.allow_private_hosts") << text;
  EXPECT_EQ(check("http://2852039166/"),
            "host 169.254.169.254 is a cloud metadata address; allow it in security.allow_private_hosts");
}

TEST(CheckPublicUrl, RefusesNamesThatAreAlwaysInternal) {
  for (const char* host : {"localhost", "LOCALHOST", "app.localhost", "metadata", "metadata.google.internal",
                           "printer.local", "db.internal", "nas.home.arpa", "redis"}) {
    const auto error = check(std::string("http://") + host + "/");
    ASSERT_TRUE(error) << host;
    EXPECT_NE(error->find("is an internal name; allow it in security.allow_private_hosts"), std::string::npos)
        << *error;
  }
  EXPECT_EQ(check("http://metadata.google.internal/computeMetadata/v1/"),
            "host \"metadata.google.internal\" is an internal name; allow it in "
            "security.allow_private_hosts");
}

TEST(CheckPublicUrl, AllowsWhatThePolicyAllows) {
  const AddressPolicy policy = policy_of({"127.0.0.0/8", "::1/128", "localhost"});
  EXPECT_FALSE(check("http://127.0.0.1:9000/cdn/jpeg", policy));
  EXPECT_FALSE(check("http://127.1:9000/", policy));
  EXPECT_FALSE(check("http://[::1]:9000/", policy));
  EXPECT_FALSE(check("http://localhost:9000/", policy));
  EXPECT_TRUE(check("http://app.localhost/", policy));
  EXPECT_TRUE(check("http://10.0.0.1/", policy));
  EXPECT_TRUE(check("http://169.254.169.254/", policy));
}

}  // namespace
}  // namespace schedulo::http
