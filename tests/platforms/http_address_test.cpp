// URL safety in the client (label `http`, architecture rule 13): every non-public address class is
// refused before any connection is made, a name is resolved once and each of its addresses checked,
// and the allow-list (security.allow_private_hosts) admits exactly what it names.
#include <gtest/gtest.h>

#include <chrono>

#include "platforms/http/client.hpp"
#include "platforms/http/resolve.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/run.hpp"

namespace schedulo::http {
namespace {

using namespace std::chrono_literals;
namespace ip = boost::asio::ip;
using test::HttpTestServer;
using test::ServerReply;
using test::ServerRequest;

AddressPolicy policy_of(const std::vector<std::string>& entries) {
  return *AddressPolicy::from_entries(entries).policy;
}

// The io_context must outlive the client: pooled connections hold sockets of it.
Result<Response> fetch(boost::asio::io_context& io, HttpClient& client, const std::string& url) {
  Request request;
  request.url = url;
  request.timeouts.connect = 300ms;
  return test::run_for(io, client.request(request), 30s);
}

ServerReply ok(const ServerRequest&) {
  ServerReply reply;
  reply.body = "reached";
  return reply;
}

class RefusedAddress : public ::testing::TestWithParam<std::string> {};

TEST_P(RefusedAddress, IsRefusedBeforeAnyConnection) {
  HttpTestServer v4(ok);
  std::string url = GetParam();  // PORT: the test server's, so a connection would be counted
  url.replace(url.find("PORT"), 4, std::to_string(v4.port()));
  boost::asio::io_context io;
  HttpClient client(ClientOptions{});
  auto result = fetch(io, client, url);
  ASSERT_FALSE(result) << url;
  EXPECT_EQ(result.error().kind, ErrorKind::refused_address) << result.error().message;
  EXPECT_TRUE(result.error().permanent());
  EXPECT_NE(result.error().message.find("security.allow_private_hosts"), std::string::npos);
  EXPECT_EQ(v4.connections(), 0u);
}

INSTANTIATE_TEST_SUITE_P(EachClass, RefusedAddress,
                         ::testing::Values("http://127.0.0.1:PORT/a.jpg", "http://10.1.2.3:PORT/a.jpg",
                                           "http://169.254.169.254:PORT/latest/meta-data", "http://[::1]:PORT/a.jpg",
                                           "http://[fd12:3456::1]:PORT/a.jpg", "http://[fc00::5]:PORT/a.jpg",
                                           "http://localhost:PORT/a.jpg", "http://192.168.1.10:PORT/a.jpg",
                                           "http://[::ffff:10.0.0.1]:PORT/a.jpg", "http://2130706433:PORT/a.jpg"));

TEST(AddressSafety, NameResolvingToLoopbackIsRefusedAfterResolution) {
  boost::asio::io_context io;
  Url url;
  url.scheme = "http";
  url.host = "localhost";  // resolved for real, through the system resolver
  url.port = 80;
  auto result = test::run_for(io, resolve_pinned(url, AddressPolicy{}, Clock::now() + 5s));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::refused_address);
  EXPECT_NE(result.error().message.find("host localhost resolves to "), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("loopback"), std::string::npos) << result.error().message;
}

TEST(AddressSafety, NameAllowListedByNameMayResolveToLoopback) {
  boost::asio::io_context io;
  Url url;
  url.scheme = "http";
  url.host = "localhost";
  url.port = 8080;
  auto result = test::run_for(io, resolve_pinned(url, policy_of({"localhost"}), Clock::now() + 5s));
  ASSERT_TRUE(result) << result.error().message;
  for (const auto& endpoint : *result) {
    EXPECT_TRUE(endpoint.address().is_loopback());
    EXPECT_EQ(endpoint.port(), 8080);
  }
}

TEST(AddressSafety, OneNonPublicAnswerAmongPublicOnesRefusesTheHost) {
  const Endpoints answers{{ip::make_address("93.184.215.14"), 443}, {ip::make_address("10.0.0.7"), 443}};
  auto result = check_resolved("cdn.example", answers, AddressPolicy{});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("resolves to 10.0.0.7, a private (RFC 1918) address"), std::string::npos)
      << result.error().message;
}

TEST(AddressSafety, PublicAnswersAreReturnedAsThePinnedEndpoints) {
  const Endpoints answers{{ip::make_address("93.184.215.14"), 443}, {ip::make_address("2606:2800:21f:cb07::1"), 443}};
  auto result = check_resolved("cdn.example", answers, AddressPolicy{});
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, answers);
}

struct AllowCase {
  std::string address;
  std::string entry;
};

class AllowList : public ::testing::TestWithParam<AllowCase> {};

TEST_P(AllowList, AdmitsTheAllowListedRangeOnly) {
  const Endpoints answers{{ip::make_address(GetParam().address), 80}};
  EXPECT_FALSE(check_resolved("media.internal.example", answers, AddressPolicy{}));
  EXPECT_TRUE(check_resolved("media.internal.example", answers, policy_of({GetParam().entry})));
  EXPECT_FALSE(check_resolved("media.internal.example", answers, policy_of({"203.0.113.0/24"})));
}

INSTANTIATE_TEST_SUITE_P(EachClass, AllowList,
                         ::testing::Values(AllowCase{"127.0.0.1", "127.0.0.0/8"}, AllowCase{"10.20.30.40", "10.0.0.0/8"},
                                           AllowCase{"169.254.169.254", "169.254.169.254"},
                                           AllowCase{"::1", "::1"}, AllowCase{"fd12:3456::1", "fc00::/7"}));

class AllowListedLoopback : public ::testing::TestWithParam<std::string> {};

TEST_P(AllowListedLoopback, IsReachedOverARealSocket) {
  test::ServerOptions bind;
  bind.address = GetParam();
  HttpTestServer server(ok, bind);
  ClientOptions options;
  options.policy = policy_of({GetParam()});
  boost::asio::io_context io;
  HttpClient client(options);
  auto result = fetch(io, client, server.url("/media.jpg"));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->body, "reached");
}

INSTANTIATE_TEST_SUITE_P(Ipv4AndIpv6, AllowListedLoopback, ::testing::Values("127.0.0.1", "::1"));

TEST(AddressSafety, NonHttpSchemeIsABadUrl) {
  boost::asio::io_context io;
  HttpClient client(ClientOptions{});
  auto result = fetch(io, client, "file:///etc/passwd");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::bad_url);
}

}  // namespace
}  // namespace schedulo::http
