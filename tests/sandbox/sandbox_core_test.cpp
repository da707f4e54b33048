// The sandbox core over plain HTTP: the clock, every fault kind, the request log, the demo accounts,
// Bubble's workflow endpoint, keep-alive, --state, --print-config and --tls.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/support/sandbox_process.hpp"

namespace schedulo::test {
namespace {

using json = nlohmann::json;

constexpr const char* kToken = "patSbxReadWrite01.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr const char* kBubbleToken = "sbx-bubble-admin-api-token-0001";
const std::string kPosts = "/v0/appSandboxBase001/Posts";

std::vector<std::pair<std::string, std::string>> airtable_headers() {
  return {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", "application/json"}};
}

std::string temp_dir() {
  char tmpl[] = "/tmp/schedulo-sandbox-test.XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
  return tmpl;
}

class SandboxCore : public ::testing::Test {
 protected:
  json add_fault(const json& fault) {
    const auto answer = http_json(sandbox.port(), "POST", "/_sandbox/faults", fault);
    EXPECT_TRUE(answer.contains("ids")) << answer.dump();
    return answer;
  }
  HttpReply create_post(const std::string& key) {
    return http(sandbox.port(), "POST", kPosts, json{{"fields", {{"Post Key", key}}}}.dump(), airtable_headers());
  }
  std::size_t posts_with_key(const std::string& key) {
    const auto reply = http(sandbox.port(), "GET", kPosts + "?filterByFormula=%7BPost%20Key%7D%3D'" + key + "'", "",
                            airtable_headers());
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json()["records"].size();
  }

  SandboxProcess sandbox;
};

TEST_F(SandboxCore, FrozenClockMovesOnlyWhenAdvanced) {
  const auto before = http_json(sandbox.port(), "GET", "/_sandbox/clock");
  EXPECT_TRUE(before["frozen"].get<bool>());
  EXPECT_EQ(http_json(sandbox.port(), "GET", "/_sandbox/clock")["now_ms"], before["now_ms"]);
  const auto after = http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"advance_ms", 90000}});
  EXPECT_EQ(after["now_ms"].get<std::int64_t>(), before["now_ms"].get<std::int64_t>() + 90000);
  http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"set", "2030-01-02T03:04:05Z"}});
  const auto created = create_post("clock");
  EXPECT_EQ(created.json()["createdTime"], "2030-01-02T03:04:05.000Z") << "the emulators read the sandbox clock";
}

TEST_F(SandboxCore, LatencyFaultHoldsTheAnswerAtLeastThatLong) {
  add_fault({{"kind", "latency"}, {"route", "airtable.list"}, {"ms", 300}});
  const auto start = std::chrono::steady_clock::now();
  const auto reply = http(sandbox.port(), "GET", kPosts, "", airtable_headers());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reply.status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  const auto log = http_json(sandbox.port(), "GET", "/_sandbox/log?api=airtable");
  EXPECT_EQ(log["entries"].back()["fault"], "latency");
}

TEST_F(SandboxCore, ErrorFaultAtHalfRateFailsEverySecondRequestInTheApisShape) {
  add_fault({{"kind", "error"}, {"route", "airtable.list"}, {"status", 503}, {"rate", 0.5}});
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) {
    const auto reply = http(sandbox.port(), "GET", kPosts, "", airtable_headers());
    statuses.push_back(reply.status);
    if (reply.status == 503) {
      EXPECT_EQ(reply.json()["error"]["type"], "RETRIABLE_ERROR");
    }
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 503, 200, 503}));
}

TEST_F(SandboxCore, OutageWindowEndsWhenTheClockPassesIt) {
  add_fault({{"kind", "outage"}, {"api", "airtable"}, {"for_ms", 60000}});
  EXPECT_EQ(http(sandbox.port(), "GET", kPosts, "", airtable_headers()).status, 503);
  http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"advance_ms", 59999}});
  EXPECT_EQ(http(sandbox.port(), "GET", kPosts, "", airtable_headers()).status, 503);
  http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"advance_ms", 1}});
  EXPECT_EQ(http(sandbox.port(), "GET", kPosts, "", airtable_headers()).status, 200);
}

TEST_F(SandboxCore, RateLimitFaultSendsABurstOf429sWithThePlatformsSignals) {
  add_fault({{"kind", "rate_limit"}, {"api", "airtable"}, {"count", 2}});
  for (int i = 0; i < 2; ++i) {
    const auto reply = http(sandbox.port(), "GET", kPosts, "", airtable_headers());
    EXPECT_EQ(reply.status, 429);
    EXPECT_EQ(reply.json()["error"]["type"], "RATE_LIMIT_REACHED");
  }
  EXPECT_EQ(http(sandbox.port(), "GET", kPosts, "", airtable_headers()).status, 200) << "the burst is over";
  add_fault({{"kind", "rate_limit"}, {"api", "bubble"}, {"count", 1}});
  const auto bubble = http(sandbox.port(), "POST", "/api/1.1/wf/post-done", "{}",
                           {{"Authorization", std::string("Bearer ") + kBubbleToken}});
  EXPECT_EQ(bubble.status, 429);
  EXPECT_EQ(bubble.header("retry-after"), "60");
}

TEST_F(SandboxCore, DropRequestClosesTheConnectionAndNothingHappens) {
  add_fault({{"kind", "drop_request"}, {"route", "airtable.create"}, {"count", 1}});
  const auto reply = create_post("dropped");
  EXPECT_FALSE(reply.answered);
  EXPECT_TRUE(reply.closed_early);
  EXPECT_EQ(posts_with_key("dropped"), 0u);
}

TEST_F(SandboxCore, CommitThenLoseKeepsTheEffectThoughTheClientSawNoAnswer) {
  add_fault({{"kind", "commit_then_lose"}, {"route", "airtable.create"}, {"count", 1}});
  const auto reply = create_post("committed");
  EXPECT_FALSE(reply.answered) << "the client saw a dropped connection";
  EXPECT_EQ(posts_with_key("committed"), 1u) << "but the record exists";
  const auto log = http_json(sandbox.port(), "GET", "/_sandbox/log?route=airtable.create");
  EXPECT_EQ(log["entries"].back()["outcome"], "dropped");
  EXPECT_EQ(log["entries"].back()["fault"], "commit_then_lose");
  EXPECT_EQ(log["entries"].back()["status"], 200) << "the log tells what the answer would have been";
}

TEST_F(SandboxCore, ResetMidBodyCutsTheAnswerAfterTheEffect) {
  add_fault({{"kind", "reset_mid_body"}, {"route", "airtable.create"}, {"count", 1}});
  const auto reply = create_post("reset");
  EXPECT_FALSE(reply.complete);
  EXPECT_TRUE(reply.reset || (reply.answered && reply.body.size() < reply.content_length));
  EXPECT_EQ(posts_with_key("reset"), 1u);
}

TEST_F(SandboxCore, FaultsApplyOnlyToTheirRouteAndCanBeRemoved) {
  const auto id = add_fault({{"kind", "error"}, {"route", "airtable.create"}, {"status", 500}})["ids"][0];
  EXPECT_EQ(create_post("a").status, 500);
  EXPECT_EQ(http(sandbox.port(), "GET", kPosts, "", airtable_headers()).status, 200);
  const auto listed = http_json(sandbox.port(), "GET", "/_sandbox/faults");
  EXPECT_EQ(listed["faults"][0]["hits"], 1);
  http_json(sandbox.port(), "DELETE", "/_sandbox/faults/" + id.dump());
  EXPECT_EQ(create_post("a").status, 200);
  const auto bad = http(sandbox.port(), "POST", "/_sandbox/faults", R"({"kind":"explode"})");
  EXPECT_EQ(bad.status, 400);
}

TEST_F(SandboxCore, RequestLogRecordsRequestsInOrderWithTheirAnswers) {
  create_post("one");
  http(sandbox.port(), "GET", kPosts, "", airtable_headers());
  http(sandbox.port(), "GET", "/cdn/png?bytes=1000&width=4&height=4");
  const auto all = http_json(sandbox.port(), "GET", "/_sandbox/log");
  ASSERT_EQ(all["entries"].size(), 3u);
  EXPECT_EQ(all["entries"][0]["method"], "POST");
  EXPECT_EQ(all["entries"][0]["route"], "airtable.create");
  EXPECT_EQ(all["entries"][0]["body"]["fields"]["Post Key"], "one");
  EXPECT_EQ(all["entries"][0]["status"], 200);
  EXPECT_EQ(all["entries"][1]["route"], "airtable.list");
  EXPECT_EQ(all["entries"][2]["api"], "cdn");
  const auto since = http_json(sandbox.port(), "GET", "/_sandbox/log?since=" + all["entries"][1]["seq"].dump());
  ASSERT_EQ(since["entries"].size(), 1u);
  EXPECT_EQ(since["entries"][0]["api"], "cdn");
  http_json(sandbox.port(), "DELETE", "/_sandbox/log");
  EXPECT_TRUE(http_json(sandbox.port(), "GET", "/_sandbox/log")["entries"].empty());
}

TEST_F(SandboxCore, FourDemoAccountsAreConnectedAtStart) {
  const auto accounts = http_json(sandbox.port(), "GET", "/_sandbox/accounts")["accounts"];
  for (const char* key : {"demo-instagram", "demo-facebook", "demo-tiktok", "demo-x"}) {
    ASSERT_TRUE(accounts.contains(key)) << key;
    EXPECT_EQ(accounts[key]["status"], "connected");
    EXPECT_FALSE(accounts[key]["access_token"].get<std::string>().empty());
  }
  EXPECT_FALSE(accounts["demo-tiktok"]["refresh_token"].is_null()) << "TikTok tokens come with a refresh token";
}

TEST_F(SandboxCore, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpConnection connection(sandbox.port());
  for (int i = 0; i < 3; ++i) {
    const auto reply = connection.request("GET", "/_sandbox/health");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("connection"), "keep-alive");
  }
}

TEST_F(SandboxCore, BubbleWorkflowsNeedTheBearerTokenAndAreRecorded) {
  EXPECT_EQ(http(sandbox.port(), "POST", "/api/1.1/wf/post-done", R"({"job":"j1"})").status, 401);
  EXPECT_EQ(http(sandbox.port(), "POST", "/api/1.1/wf/post-done", R"({"job":"j1"})", {{"Authorization", "Bearer wrong"}}).status,
            401);
  const auto live = http(sandbox.port(), "POST", "/api/1.1/wf/post-done", R"({"job":"j1","state":"succeeded"})",
                         {{"Authorization", std::string("Bearer ") + kBubbleToken}, {"Content-Type", "application/json"}});
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.json(), json::parse(R"({"status":"success","response":{}})"));
  EXPECT_EQ(http(sandbox.port(), "POST", "/version-test/api/1.1/wf/post-done", R"({"job":"j2"})",
                 {{"Authorization", std::string("Bearer ") + kBubbleToken}})
                .status,
            200);
  const auto calls = http_json(sandbox.port(), "GET", "/_sandbox/bubble/calls")["calls"];
  ASSERT_EQ(calls.size(), 2u) << "refused calls are not workflow runs";
  EXPECT_EQ(calls[0]["workflow"], "post-done");
  EXPECT_EQ(calls[0]["version"], "live");
  EXPECT_EQ(calls[0]["params"]["state"], "succeeded");
  EXPECT_EQ(calls[1]["version"], "test");
  const auto log = http_json(sandbox.port(), "GET", "/_sandbox/log?api=bubble");
  EXPECT_EQ(log["entries"].size(), 4u) << "the request log has every call, refused ones included";
}

TEST_F(SandboxCore, BubbleFailsOnDemand) {
  add_fault({{"kind", "error"}, {"api", "bubble"}, {"status", 502}, {"count", 1}});
  const auto headers = std::vector<std::pair<std::string, std::string>>{{"Authorization", std::string("Bearer ") + kBubbleToken}};
  EXPECT_EQ(http(sandbox.port(), "POST", "/api/1.1/wf/post-done", "{}", headers).status, 502);
  EXPECT_EQ(http(sandbox.port(), "POST", "/api/1.1/wf/post-done", "{}", headers).status, 200);
}

TEST(SandboxProcessTest, StateSurvivesARestart) {
  const auto dir = temp_dir();
  const std::string state = dir + "/state.json";
  std::string id;
  {
    SandboxProcess first({"--frozen-clock", "--state", state});
    const auto created = http(first.port(), "POST", kPosts, R"({"fields":{"Post Key":"kept"}})", airtable_headers());
    ASSERT_EQ(created.status, 200);
    id = created.json()["id"];
    EXPECT_EQ(first.stop(), 0);
  }
  SandboxProcess second({"--state", state});
  const auto got = http(second.port(), "GET", kPosts + "/" + id, "", airtable_headers());
  EXPECT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json()["fields"]["Post Key"], "kept");
  std::filesystem::remove_all(dir);
}

TEST(SandboxProcessTest, PrintedConfigPassesTheDaemonsConfigCheck) {
  const auto dir = temp_dir();
  for (bool tls : {false, true}) {
    std::vector<std::string> args{SCHEDULO_SANDBOX_BIN, "--listen", "127.0.0.1:18700", "--print-config"};
    if (tls) args.insert(args.end(), {"--tls", "--tls-dir", dir});
    const auto printed = run_shell(args);
    ASSERT_EQ(printed.status, 0) << printed.out;
    const auto config = json::parse(printed.out);
    EXPECT_EQ(config["airtable"]["base_url"], std::string(tls ? "https" : "http") + "://127.0.0.1:18700");
    EXPECT_FALSE(config["security"]["allow_private_hosts"].empty());
    if (tls) {
      EXPECT_TRUE(std::filesystem::exists(config["tls"]["ca_file"].get<std::string>()));
    }
    std::ofstream(dir + "/config.json") << printed.out;
    const auto check = run_shell({SCHEDULO_DAEMON_BIN, "config", "check", dir + "/config.json"});
    EXPECT_EQ(check.status, 0) << "tls=" << tls << ": " << check.out;
  }
  std::filesystem::remove_all(dir);
}

// A TLS client of OpenSSL's own that trusts only the printed CA and checks the name 127.0.0.1.
std::string tls_get(std::uint16_t port, const std::string& ca_file, const std::string& target) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) return "<cannot load CA>";
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "<cannot connect>";
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1");
  SSL_set_fd(ssl.get(), fd);
  std::string out;
  if (SSL_connect(ssl.get()) == 1) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
    char buf[4096];
    for (int n; (n = SSL_read(ssl.get(), buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  } else {
    out = "<handshake failed: verify result " + std::to_string(SSL_get_verify_result(ssl.get())) + ">";
  }
  ::close(fd);
  return out;
}

TEST(SandboxProcessTest, TlsServesACertificateSignedByThePrintedCa) {
  const auto dir = temp_dir();
  SandboxProcess sandbox({"--tls", "--tls-dir", dir});
  const auto printed = run_shell({SCHEDULO_SANDBOX_BIN, "--listen", "127.0.0.1:" + std::to_string(sandbox.port()),
                                    "--print-config", "--tls", "--tls-dir", dir});
  const auto ca_file = json::parse(printed.out)["tls"]["ca_file"].get<std::string>();
  const auto answer = tls_get(sandbox.port(), ca_file, "/_sandbox/health");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_NE(answer.find(R"({"ok":true})"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace schedulo::test
