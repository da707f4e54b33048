// HTTPS over real sockets (label `http`): certificates made for each test with the openssl command
// line; the client trusts the system store plus tls.ca_file, checks the host name or IP, sends SNI.
#include <gtest/gtest.h>

#include <chrono>

#include "platforms/http/client.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/run.hpp"

namespace schedulo::http {
namespace {

using namespace std::chrono_literals;
using test::HttpTestServer;
using test::ServerReply;
using test::ServerRequest;

class Https : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::make_ca(dir_.path())) << "openssl could not make the test CA";
    ASSERT_TRUE(test::make_certificate(dir_.path(), "good", "DNS:localhost,IP:127.0.0.1"));
    ASSERT_TRUE(test::make_certificate(dir_.path(), "other", "DNS:other.example"));
  }

  std::unique_ptr<HttpTestServer> serve(const std::string& cert) {
    test::ServerOptions options;
    options.cert_file = dir_.file(cert + ".crt");
    options.key_file = dir_.file(cert + ".key");
    return std::make_unique<HttpTestServer>([](const ServerRequest& r) {
      ServerReply reply;
      reply.body = "secure " + r.header("host");
      return reply;
    }, options);
  }

  ClientOptions options(bool with_ca) const {
    ClientOptions o;
    o.policy = *AddressPolicy::from_entries({"localhost", "127.0.0.0/8"}).policy;
    if (with_ca) o.ca_file = dir_.file("ca.crt");
    return o;
  }

  Result<Response> fetch(HttpClient& client, const std::string& url) {
    Request request;
    request.url = url;
    request.timeouts.connect = 5s;
    return test::run_for(io_, client.request(request), 30s);
  }

  test::TempDir dir_;
  boost::asio::io_context io_;
};

TEST_F(Https, CertificateChainingToTheConfiguredCaIsAcceptedByName) {
  auto server = serve("good");
  HttpClient client(options(true));
  auto result = fetch(client, server->url("/x", "localhost"));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->body, "secure localhost:" + std::to_string(server->port()));
}

TEST_F(Https, CertificateWithTheIpAddressIsAcceptedForAnIpLiteral) {
  auto server = serve("good");
  HttpClient client(options(true));
  auto result = fetch(client, server->url("/x"));
  ASSERT_TRUE(result) << result.error().message;
}

TEST_F(Https, CertificateFromAnUnknownCaIsRefused) {
  auto server = serve("good");
  HttpClient client(options(false));  // the test CA is self-signed and in no trust store
  auto result = fetch(client, server->url("/x", "localhost"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::tls);
  EXPECT_NE(result.error().message.find("local issuer certificate"), std::string::npos) << result.error().message;
  EXPECT_EQ(server->requests(), 0u);
}

TEST_F(Https, CertificateForAnotherHostNameIsRefused) {
  auto server = serve("other");
  HttpClient client(options(true));
  auto result = fetch(client, server->url("/x", "localhost"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::tls);
  EXPECT_NE(result.error().message.find("hostname mismatch"), std::string::npos) << result.error().message;
  EXPECT_EQ(server->requests(), 0u);
}

TEST_F(Https, CertificateWithoutTheIpAddressIsRefusedForAnIpLiteral) {
  auto server = serve("other");
  HttpClient client(options(true));
  auto result = fetch(client, server->url("/x"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::tls);
}

TEST_F(Https, ProtocolRelativeUrlIsFetchedOverHttps) {
  auto server = serve("good");
  HttpClient client(options(true));
  auto result = fetch(client, "//localhost:" + std::to_string(server->port()) + "/bubble-file.jpg");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->url.rfind("https://", 0), 0u);
}

TEST_F(Https, SecondRequestReusesTheTlsConnection) {
  auto server = serve("good");
  HttpClient client(options(true));
  ASSERT_TRUE(fetch(client, server->url("/a", "localhost")));
  auto second = fetch(client, server->url("/b", "localhost"));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(server->connections(), 1u);
}

TEST(HttpsConfig, UnreadableCaFileIsAStartUpError) {
  ClientOptions o;
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(HttpClient client(o), std::runtime_error);
}

}  // namespace
}  // namespace schedulo::http
