// The client follows a Sentinel failover and speaks TLS (label `redis`). Each test runs its own
// servers: a primary, a replica and one sentinel; or a TLS-only server with a CA made for the test.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "queue/redis/client.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::redis {
namespace {

using namespace std::chrono_literals;
using test::run_for;

ClientOptions options_for(const std::string& url_text, std::chrono::milliseconds command_timeout) {
  std::string error;
  auto url = parse_redis_url(url_text, error);
  EXPECT_TRUE(url) << error;
  ClientOptions o;
  o.url = *url;
  o.command_timeout = command_timeout;
  o.connect_timeout = 1000ms;
  o.reconnect_max = 200ms;
  return o;
}

// Polls a condition that another process makes true, with an overall limit.
template <typename F>
bool eventually(F condition, std::chrono::seconds limit = 30s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(RedisSentinelTest, ClientFollowsThePromotedReplicaAfterThePrimaryIsKilled) {
  test::RedisProcess primary;
  primary.start();
  test::RedisProcess replica({"--replicaof", "127.0.0.1", std::to_string(primary.port())});
  replica.start();
  ASSERT_TRUE(eventually([&] { return replica.cli({"INFO", "replication"}).find("master_link_status:up") != std::string::npos; }));
  test::RedisProcess sentinel;
  sentinel.use_sentinel_config("sentinel monitor mymaster 127.0.0.1 " + std::to_string(primary.port()) +
                               " 1\nsentinel down-after-milliseconds mymaster 500\n"
                               "sentinel failover-timeout mymaster 3000\n");
  sentinel.start();
  ASSERT_TRUE(eventually([&] {
    return sentinel.cli({"SENTINEL", "replicas", "mymaster"}).find(std::to_string(replica.port())) != std::string::npos;
  })) << "the sentinel never discovered the replica";

  boost::asio::io_context io(1);
  Client client(io.get_executor(), options_for("redis-sentinel://127.0.0.1:" + std::to_string(sentinel.port()) + "/mymaster", 500ms));
  client.start();
  auto before = run_for(io, client.exec("SET", "written-before", "kept"));
  ASSERT_TRUE(before);
  EXPECT_EQ(client.stats().endpoint, "127.0.0.1:" + std::to_string(primary.port()));
  auto synced = run_for(io, client.exec("WAIT", "1", "2000"));
  ASSERT_TRUE(synced);
  ASSERT_EQ(synced->integer, 1) << "the replica must hold the write before the primary dies";

  primary.kill9();
  int failures = 0;
  auto after = run_for(io, [&]() -> net::awaitable<Reply> {
    for (;;) {
      auto r = co_await client.exec("SET", "written-after", "yes");
      if (r && !r->is_error()) co_return r;
      ++failures;
    }
  }(), 60s);
  ASSERT_TRUE(after);
  EXPECT_GE(failures, 1) << "writes during the failover must fail, not hang or vanish";
  EXPECT_EQ(client.stats().endpoint, "127.0.0.1:" + std::to_string(replica.port()));
  auto kept = run_for(io, client.exec("GET", "written-before"));
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->str, "kept");
  EXPECT_EQ(replica.cli({"GET", "written-after"}), "yes\n");
}

TEST(RedisSentinelTest, UnknownMasterNameFailsCallsWithNoPrimary) {
  test::RedisProcess sentinel;
  sentinel.use_sentinel_config("");
  sentinel.start();
  boost::asio::io_context io(1);
  Client client(io.get_executor(), options_for("redis-sentinel://127.0.0.1:" + std::to_string(sentinel.port()) + "/nosuch", 300ms));
  client.start();
  auto r = run_for(io, client.exec("PING"), 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::not_connected);
  EXPECT_GE(client.stats().failed_connects, 1u);
}

class RedisTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = server_dir_template();
    const std::string d = dir_;
    std::ofstream(d + "/ext.cnf") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    const std::string script =
        "cd " + d + " && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt "
        "-days 2 -subj /CN=schedulo-test-ca && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr "
        "-subj /CN=localhost && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
        "-extfile ext.cnf";
    ASSERT_EQ(std::system((script + " >/dev/null 2>&1").c_str()), 0) << "openssl could not make the test CA";
    tls_port_ = test::free_port();
    server_ = std::make_unique<test::RedisProcess>(std::vector<std::string>{
        "--tls-port", std::to_string(tls_port_), "--tls-cert-file", d + "/server.crt", "--tls-key-file",
        d + "/server.key", "--tls-ca-cert-file", d + "/ca.crt", "--tls-auth-clients", "no"});
    server_->start();
  }
  void TearDown() override {
    server_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  static std::string server_dir_template() {
    char tmpl[] = "/tmp/schedulo-tls.XXXXXX";
    return ::mkdtemp(tmpl);
  }
  std::string dir_;
  std::uint16_t tls_port_ = 0;
  std::unique_ptr<test::RedisProcess> server_;
};

TEST_F(RedisTlsTest, RedissConnectsWhenTheServerCertificateChainsToTheConfiguredCa) {
  boost::asio::io_context io(1);
  auto options = options_for("rediss://localhost:" + std::to_string(tls_port_) + "/0", 2000ms);
  options.tls_ca_file = dir_ + "/ca.crt";
  Client client(io.get_executor(), options);
  client.start();
  auto r = run_for(io, client.exec("ECHO", "over-tls"), 20s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->str, "over-tls");
}

TEST_F(RedisTlsTest, RedissRefusesACertificateItCannotVerify) {
  boost::asio::io_context io(1);
  Client client(io.get_executor(), options_for("rediss://localhost:" + std::to_string(tls_port_) + "/0", 500ms));
  client.start();  // no tls_ca_file: the test CA is not in the system store
  auto r = run_for(io, client.exec("PING"), 20s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::not_connected);
  EXPECT_EQ(client.stats().connects, 0u);
}

}  // namespace
}  // namespace schedulo::redis
