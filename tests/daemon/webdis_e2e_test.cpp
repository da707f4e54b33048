// End to end through the Redis bridge (label `api`): the real daemon binary (noop platform mode,
// HTTP API on), a real Webdis configured as platform-apis.md 6.1a says (basic auth, only LPUSH) in
// front of the test Redis, and a loopback HTTP server standing in for Bubble's Workflow API. A job
// goes in exactly as Bubble's API Connector sends it (PUT /LPUSH/<prefix>:inbox, the job JSON as the
// body), succeeds, and its outcome comes back as a signed callback.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "platforms/http/client.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

extern char** environ;

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace schedulo;

constexpr const char* kApiToken = "e2e-api-token-0123456789abcdef";
constexpr const char* kBubbleToken = "e2e-bubble-admin-token-012345";
constexpr const char* kBridgeAuth = "bubble:bridge-secret-42";

class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ), 0) << argv[0];
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // SIGTERM and the exit status (-1 when it did not exit within `limit`).
  int terminate(std::chrono::milliseconds limit) {
    ::kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool signature_verifies(const test::ServerRequest& r, const std::string& secret) {
  const std::string message = r.header("X-Schedulo-Timestamp") + "." + r.body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &n);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < n; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return r.header("X-Schedulo-Signature") == std::string("v1=") + hex;
}

struct Answer {
  int status = -1;
  std::string body;
};

class Caller {
 public:
  Caller() {
    http::ClientOptions o;
    std::vector<std::string> allow{"127.0.0.1"};
    o.policy = std::move(*http::AddressPolicy::from_entries(allow).policy);
    client_ = std::make_unique<http::HttpClient>(o);
  }
  ~Caller() {
    client_.reset();
    io_.restart();
    io_.run_for(50ms);
  }
  Answer call(const std::string& method, const std::string& url, const std::string& body,
              const std::string& authorization) {
    http::Request r;
    r.method = method;
    r.url = url;
    if (!authorization.empty()) r.headers.set("Authorization", authorization);
    if (!body.empty()) r.body = body;
    r.timeouts.total = 5s;
    auto response = test::run_for(io_, client_->request(r), std::chrono::seconds(10));
    Answer a;
    if (response) {
      a.status = response->status;
      a.body = response->body;
    }
    return a;
  }

 private:
  boost::asio::io_context io_{1};
  std::unique_ptr<http::HttpClient> client_;
};

// Polls until `ok` holds or the limit passes.
bool eventually(const std::function<bool()>& ok, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return ok();
}

TEST(WebdisEndToEndTest, BubblePutThroughWebdisRunsTheJobAndGetsASignedCallback) {
  if (!fs::exists("/usr/bin/webdis")) GTEST_SKIP() << "webdis is not installed (Debian package webdis)";
  const std::string redis_url = test::shared_redis_url();
  const auto colon = redis_url.rfind(':');
  const std::string redis_port = redis_url.substr(colon + 1, redis_url.find('/', colon) - colon - 1);
  // Short (redis.prefix allows 64 characters) and without dots: Webdis reads a '.ext' at the end
  // of a path as the reply format.
  const std::string prefix = "t:webdis:" + std::to_string(::getpid());
  const fs::path dir = fs::temp_directory_path() / ("schedulo-webdis-" + std::to_string(::getpid()));
  fs::create_directories(dir);

  std::mutex m;
  std::vector<test::ServerRequest> callbacks;
  test::HttpTestServer bubble([&](const test::ServerRequest& r) {
    std::lock_guard lock(m);
    callbacks.push_back(r);
    test::ServerReply reply;
    reply.body = R"({"status":"success","response":{}})";
    return reply;
  });

  const auto api_port = test::free_port();
  json config = {
      {"redis", {{"url", redis_url}, {"prefix", prefix}}},
      {"http", {{"listen", "127.0.0.1:" + std::to_string(api_port)}, {"token", kApiToken}}},
      {"workers", {{"mode", "noop"}, {"id", "e2e-" + prefix}, {"idle_wait_ms", 50}}},
      {"bubble", {{"api_token", kBubbleToken}, {"callback_hosts", {"127.0.0.1"}}, {"callback_retry_base_ms", 100}}},
      {"security", {{"allow_private_hosts", {"127.0.0.1"}}}}};
  std::ofstream(dir / "daemon.json") << config.dump(2);
  Child daemon({SCHEDULO_BIN, "run", "--config", (dir / "daemon.json").string()}, (dir / "daemon.log").string());

  const auto webdis_port = test::free_port();
  json webdis = {
      {"redis_host", "127.0.0.1"},
      {"redis_port", std::stoi(redis_port)},
      {"redis_auth", nullptr},
      {"http_host", "127.0.0.1"},
      {"http_port", webdis_port},
      {"threads", 1},
      {"daemonize", false},
      {"database", 0},
      {"verbosity", 3},
      {"logfile", (dir / "webdis.log").string()},
      {"acl", json::array({{{"disabled", {"*"}}}, {{"http_basic_auth", kBridgeAuth}, {"enabled", {"LPUSH"}}}})}};
  std::ofstream(dir / "webdis.json") << webdis.dump(2);
  Child bridge({"/usr/bin/webdis", (dir / "webdis.json").string()}, (dir / "webdis.out").string());

  Caller caller;
  const std::string api = "http://127.0.0.1:" + std::to_string(api_port);
  const std::string bridge_url = "http://127.0.0.1:" + std::to_string(webdis_port);
  ASSERT_TRUE(eventually([&] { return caller.call("GET", api + "/healthz", "", "").status == 200; }, 20s))
      << "the daemon did not become healthy; log in " << dir;

  const std::string basic = "Basic " + base64(kBridgeAuth);
  const std::string callback = bubble.url("/version-test/api/1.1/wf/schedulo_done");
  const json job = {{"id", "bubble-e2e-1"},
                    {"type", "publish"},
                    {"platform", "tiktok"},
                    {"account", "demo-tiktok"},
                    {"post",
                     {{"text", "from Bubble / via Webdis"},  // a '/' that a GET path would break on
                      {"media", {{{"url", "https://cdn.example.com/v.mp4"}, {"kind", "video"}}}},
                      {"options", {{"tiktok", {{"mode", "direct"}, {"privacy_level", "SELF_ONLY"}}}}}}},
                    {"callback_url", callback}};
  Answer pushed;
  ASSERT_TRUE(eventually(
      [&] {
        pushed = caller.call("PUT", bridge_url + "/LPUSH/" + prefix + ":inbox", job.dump(), basic);
        return pushed.status == 200;
      },
      10s))
      << "webdis did not accept the push: " << pushed.status << " " << pushed.body;
  EXPECT_EQ(json::parse(pushed.body, nullptr, false)["LPUSH"].is_number(), true) << pushed.body;

  // The bridge refuses everything else: no credentials, wrong credentials, any other command.
  EXPECT_EQ(caller.call("PUT", bridge_url + "/LPUSH/" + prefix + ":inbox", job.dump(), "").status, 403);
  EXPECT_EQ(
      caller.call("PUT", bridge_url + "/LPUSH/" + prefix + ":inbox", job.dump(), "Basic " + base64("bubble:wrong"))
          .status,
      403);
  EXPECT_EQ(caller.call("GET", bridge_url + "/GET/" + prefix + ":inbox", "", basic).status, 403);
  EXPECT_EQ(caller.call("GET", bridge_url + "/FLUSHALL", "", basic).status, 403);

  // The job runs and succeeds.
  std::string state;
  ASSERT_TRUE(eventually(
      [&] {
        auto a = caller.call("GET", api + "/v1/jobs/bubble-e2e-1", "", std::string("Bearer ") + kApiToken);
        state = json::parse(a.body, nullptr, false).value("state", "");
        return state == "succeeded";
      },
      20s))
      << "state " << state;

  // Its outcome is posted to the "workflow", signed.
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(m);
        return !callbacks.empty();
      },
      20s));
  {
    std::lock_guard lock(m);
    const auto& r = callbacks.front();
    EXPECT_EQ(r.target, "/version-test/api/1.1/wf/schedulo_done");
    EXPECT_EQ(r.header("Authorization"), std::string("Bearer ") + kBubbleToken);
    EXPECT_TRUE(signature_verifies(r, kBubbleToken));  // no signing secret set: the api token signs
    const auto body = json::parse(r.body);
    EXPECT_EQ(body["job_id"], "bubble-e2e-1");
    EXPECT_EQ(body["state"], "succeeded");
  }

  // A second job through the daemon's own API, and the metrics that saw both.
  json second = job;
  second["id"] = "bubble-e2e-2";
  EXPECT_EQ(caller.call("POST", api + "/v1/jobs", second.dump(), std::string("Bearer ") + kApiToken).status, 202);
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(m);
        return callbacks.size() >= 2;
      },
      20s));
  const auto metrics = caller.call("GET", api + "/metrics", "", "").body;
  EXPECT_NE(metrics.find(R"(schedulo_job_attempts_total{outcome="succeeded",platform="tiktok",type="publish"} 2)"),
            std::string::npos)
      << metrics.substr(0, 3000);
  EXPECT_NE(metrics.find(R"(schedulo_callbacks_total{result="ok"} 2)"), std::string::npos);

  EXPECT_EQ(daemon.terminate(20s), 0);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
