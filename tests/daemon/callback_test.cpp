// Bubble callbacks (label `api`): the outbox entry a final settlement carries, and the sender that
// drains "bubble:callback" against a real HTTP server on loopback: Bearer token, HMAC signature a
// receiver can verify, retries with back-off, an unreachable endpoint, a host outside the allow-list.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>

#include "common/rfc3339.hpp"
#include "daemon/callbacks.hpp"
#include "daemon/metrics.hpp"
#include "jobs/job_validation.hpp"
#include "platforms/http/client.hpp"
#include "queue/outbox.hpp"
#include "queue/store.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

namespace schedulo::daemon {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kApiToken = "bubble-admin-token-0123456789";
constexpr const char* kSecret = "signing-secret-abcdef";

// What a receiver does: recompute the HMAC from the timestamp header and the raw body.
bool signature_verifies(const test::ServerRequest& r, const std::string& secret) {
  const std::string ts = r.header("X-Schedulo-Timestamp");
  const std::string message = ts + "." + r.body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &n);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < n; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  const long long age = now_epoch_ms() / 1000 - std::stoll(ts.empty() ? "0" : ts);
  return r.header("X-Schedulo-Signature") == std::string("v1=") + hex && age >= 0 && age < 300;
}

jobs::Job job_with_callback(const std::string& id, const std::string& url) {
  jobs::ValidationContext v;
  std::vector<std::string> allow{"127.0.0.1"};
  v.private_hosts = std::move(*http::AddressPolicy::from_entries(allow).policy);
  v.callback_hosts = {"127.0.0.1", "localhost"};
  json j = {{"id", id},
            {"type", "publish"},
            {"platform", "x"},
            {"account", "x-1"},
            {"post", {{"text", "hi"}}},
            {"callback_url", url},
            {"post_record", "recPost0000000001"}};
  auto parsed = jobs::validate_job(j, v);
  EXPECT_TRUE(parsed.job) << (parsed.errors.empty() ? "" : parsed.errors[0].message);
  return parsed.job.value_or(jobs::Job{});
}

TEST(CallbackEntryTest, OnlyFinalSettlementsOfJobsWithACallbackUrlAreAnnounced) {
  const auto job = job_with_callback("cb-1", "http://127.0.0.1:9/wf/done");
  queue::Lease lease;
  lease.attempt = 1;
  lease.max_attempts = 3;
  queue::Settle s;
  s.outcome = queue::Settlement::succeeded;
  s.result = R"({"post_id":"123"})";
  auto e = callback_entry(job, lease, s, now_epoch_ms());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->dest, kCallbackDest);
  EXPECT_EQ(e->key, "cb-1");
  json body;
  for (const auto& [k, v] : e->fields)
    if (k == "body") body = json::parse(v);
  EXPECT_EQ(body["state"], "succeeded");
  EXPECT_EQ(body["result"]["post_id"], "123");
  EXPECT_EQ(body["post_record"], "recPost0000000001");

  s.outcome = queue::Settlement::retry;
  EXPECT_FALSE(callback_entry(job, lease, s, 0));  // attempts left: not final
  lease.attempt = 3;
  auto dead = callback_entry(job, lease, s, 0);  // the last attempt: the script records it dead
  ASSERT_TRUE(dead);
  EXPECT_NE(dead->fields[1].second.find(R"("state":"dead")"), std::string::npos);
  s.outcome = queue::Settlement::defer;
  EXPECT_FALSE(callback_entry(job, lease, s, 0));
  jobs::Job plain = job;
  plain.callback_url.clear();
  s.outcome = queue::Settlement::failed;
  EXPECT_FALSE(callback_entry(plain, lease, s, 0));

  // Added beside entries others put on the settlement.
  queue::Settle both;
  queue::OutboxEntry other;
  other.dest = "airtable:posts";
  other.key = "recPost0000000001";
  other.set("Status", "published");
  both.outbox = queue::encode_outbox({other});
  add_outbox_entry(both, *e);
  const auto merged = json::parse(both.outbox);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0]["dest"], "airtable:posts");
  EXPECT_EQ(merged[1]["dest"], "bubble:callback");
}

TEST(CallbackSignatureTest, IsHmacSha256OfTimestampDotBody) {
  // Fixed vector, computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
  EXPECT_EQ(callback_signature("key", 1700000000, "{}"),
            "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
  EXPECT_EQ(callback_signature("key", 1700000000, "{}").size(), 3u + 64u);
  EXPECT_NE(callback_signature("key", 1700000000, "{}"), callback_signature("key", 1700000001, "{}"));
  EXPECT_NE(callback_signature("key", 1700000000, "{}"), callback_signature("kez", 1700000000, "{}"));
}

class CallbackSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis::ClientOptions ro;
    std::string error;
    ro.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client_ = std::make_unique<redis::Client>(io_.get_executor(), ro);
    client_->start();
    keys_ = std::make_unique<queue::Keys>(test::unique_prefix());
    outbox_ = std::make_unique<queue::Outbox>(*client_, *keys_);
    http::ClientOptions co;
    std::vector<std::string> allow{"127.0.0.1"};
    co.policy = std::move(*http::AddressPolicy::from_entries(allow).policy);
    http_ = std::make_unique<http::HttpClient>(co);
  }
  void TearDown() override {
    if (sender_) sender_->stop();
    pump_until([&] { return sender_done_; }, 10s);
    client_->stop();
    io_.restart();
    io_.run_for(100ms);
  }

  void start_sender(int max_attempts = 4) {
    CallbackOptions o;
    o.worker_id = "cb-test";
    o.api_token = kApiToken;
    o.signing_secret = kSecret;
    o.allowed_hosts = {"127.0.0.1"};
    o.timeout = 500ms;
    o.max_attempts = max_attempts;
    o.retry_base = 50ms;
    o.retry_cap = 200ms;
    o.poll = 20ms;
    sender_ = std::make_unique<CallbackSender>(*outbox_, *http_, o, &metrics_);
    sender_done_ = false;
    boost::asio::co_spawn(io_, sender_->run(), [this](const std::exception_ptr&) { sender_done_ = true; });
  }

  void append(const std::string& id, const std::string& url) {
    // Built directly: a URL outside the allow-list can only reach the outbox if the list changed
    // after intake.
    jobs::Job job;
    job.id = id;
    job.platform = jobs::Platform::x;
    job.account = "x-1";
    job.callback_url = url;
    queue::Lease lease;
    lease.attempt = 1;
    lease.max_attempts = 5;
    queue::Settle s;
    s.outcome = queue::Settlement::succeeded;
    s.result = R"({"post_id":"p-)" + id + R"("})";
    const auto entry = callback_entry(job, lease, s, now_epoch_ms());
    ASSERT_TRUE(entry);
    std::vector<queue::OutboxEntry> entries{*entry};
    auto r = test::run_for(io_, outbox_->append(entries, now_epoch_ms()));
    ASSERT_TRUE(r);
  }

  void pump_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
      io_.restart();
      io_.run_for(20ms);
    }
  }

  long long dead_count() {
    auto st = test::run_for(io_, outbox_->stats(now_epoch_ms()));
    return st ? st->dead : -1;
  }
  std::vector<queue::DeadOutboxItem> dead_items() {
    auto d = test::run_for(io_, outbox_->dead_list(100));
    return d ? *d : std::vector<queue::DeadOutboxItem>{};
  }

  boost::asio::io_context io_{1};
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<queue::Keys> keys_;
  std::unique_ptr<queue::Outbox> outbox_;
  std::unique_ptr<http::HttpClient> http_;
  Metrics metrics_;
  std::unique_ptr<CallbackSender> sender_;
  bool sender_done_ = true;
};

TEST_F(CallbackSenderTest, OutcomeIsPostedWithBearerTokenAndAVerifiableSignature) {
  std::mutex m;
  std::vector<test::ServerRequest> seen;
  test::HttpTestServer bubble([&](const test::ServerRequest& r) {
    std::lock_guard lock(m);
    seen.push_back(r);
    test::ServerReply reply;
    reply.body = R"({"status":"success","response":{}})";
    return reply;
  });
  append("cb-ok", bubble.url("/version-test/api/1.1/wf/post_done"));
  start_sender();
  pump_until([&] { return sender_->delivered() == 1; }, 10s);
  ASSERT_EQ(sender_->delivered(), 1u);
  std::lock_guard lock(m);
  ASSERT_EQ(seen.size(), 1u);
  const auto& r = seen[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/version-test/api/1.1/wf/post_done");
  EXPECT_EQ(r.header("Authorization"), std::string("Bearer ") + kApiToken);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_TRUE(signature_verifies(r, kSecret));
  EXPECT_FALSE(signature_verifies(r, "another secret"));
  const auto body = json::parse(r.body);
  EXPECT_EQ(body["job_id"], "cb-ok");
  EXPECT_EQ(body["state"], "succeeded");
  EXPECT_EQ(body["result"]["post_id"], "p-cb-ok");
  EXPECT_NE(metrics_.text().find(R"(schedulo_callbacks_total{result="ok"} 1)"), std::string::npos);
}

TEST_F(CallbackSenderTest, AJobCancelledBeforeItStartsIsAnnouncedAsCancelledAndOnlyThen) {
  std::mutex m;
  std::vector<test::ServerRequest> seen;
  test::HttpTestServer bubble([&](const test::ServerRequest& r) {
    std::lock_guard lock(m);
    seen.push_back(r);
    test::ServerReply reply;
    reply.body = R"({"status":"success","response":{}})";
    return reply;
  });
  queue::Store store(*client_, *keys_, queue::QueueSettings{});
  auto enqueue = [&](const std::string& id) {
    const auto job = job_with_callback(id, bubble.url("/version-test/api/1.1/wf/post_done"));
    const auto entry = cancel_callback_entry(job);
    ASSERT_TRUE(entry);
    queue::NewJob nj{job.id, "publish", "x", job.account, job.to_json().dump()};
    nj.run_at_ms = now_epoch_ms() + 3600 * 1000;  // scheduled: it cannot start during the test
    nj.outbox = queue::encode_outbox({*entry});
    const std::vector<queue::NewJob> batch{nj};
    auto r = test::run_for(io_, store.enqueue(batch, now_epoch_ms()));
    ASSERT_TRUE(r);
  };
  enqueue("cb-cancel");
  enqueue("cb-kept");
  // Nothing is announced for a job that was only created.
  auto before = test::run_for(io_, outbox_->stats(now_epoch_ms()));
  ASSERT_TRUE(before);
  EXPECT_EQ(before->pending.count(std::string(kCallbackDest)), 0u);
  auto cancelled = test::run_for(io_, store.cancel("cb-cancel", now_epoch_ms()));
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(*cancelled, "cancelled");
  start_sender();
  pump_until([&] { return sender_->delivered() == 1; }, 10s);
  ASSERT_EQ(sender_->delivered(), 1u);
  std::lock_guard lock(m);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].header("Authorization"), std::string("Bearer ") + kApiToken);
  EXPECT_TRUE(signature_verifies(seen[0], kSecret));
  const auto body = json::parse(seen[0].body);
  EXPECT_EQ(body["job_id"], "cb-cancel");
  EXPECT_EQ(body["state"], "cancelled");
  EXPECT_EQ(body["error_code"], "cancelled");
  EXPECT_EQ(body["post_record"], "recPost0000000001");
}

TEST_F(CallbackSenderTest, ServerErrorsAreRetriedWithBackOffUntilAccepted) {
  std::atomic<int> calls{0};
  test::HttpTestServer bubble([&](const test::ServerRequest&) {
    test::ServerReply reply;
    reply.status = ++calls <= 2 ? 503 : 200;  // two failures, then accepted
    return reply;
  });
  append("cb-retry", bubble.url("/api/1.1/wf/done"));
  start_sender(5);
  pump_until([&] { return sender_->delivered() == 1; }, 15s);
  EXPECT_EQ(sender_->delivered(), 1u);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(dead_count(), 0);
  EXPECT_NE(metrics_.text().find(R"(schedulo_callbacks_total{result="retry"} 2)"), std::string::npos);
}

TEST_F(CallbackSenderTest, AnUnreachableEndpointIsRetriedThenGivenUpWithoutHoldingOthers) {
  std::atomic<int> calls{0};
  test::HttpTestServer bubble([&](const test::ServerRequest&) {
    ++calls;
    return test::ServerReply{};
  });
  const auto closed_port = test::free_port();  // nothing listens there
  append("cb-unreachable", "http://127.0.0.1:" + std::to_string(closed_port) + "/wf/done");
  append("cb-fine", bubble.url("/wf/done"));
  start_sender(3);
  pump_until([&] { return dead_count() == 1 && sender_->delivered() == 1; }, 20s);
  EXPECT_EQ(sender_->delivered(), 1u);
  EXPECT_EQ(calls.load(), 1);
  const auto dead = dead_items();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0].item.find("cb-unreachable"), std::string::npos);
  EXPECT_NE(dead[0].hash.at("reason").find("after 3 attempts"), std::string::npos) << dead[0].hash.at("reason");
}

TEST_F(CallbackSenderTest, HostsOutsideTheAllowListAreNeverCalled) {
  std::atomic<int> calls{0};
  test::HttpTestServer elsewhere([&](const test::ServerRequest&) {
    ++calls;
    return test::ServerReply{};
  });
  // "localhost" passed the allow-list when the job was taken; the list no longer has it.
  append("cb-refused", elsewhere.url("/wf/done", "localhost"));
  start_sender();
  pump_until([&] { return dead_count() == 1; }, 10s);
  ASSERT_EQ(dead_count(), 1);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_NE(dead_items()[0].hash.at("reason").find("bubble.callback_hosts"), std::string::npos);
}

TEST_F(CallbackSenderTest, ClientErrorsAreNotRetried) {
  std::atomic<int> calls{0};
  test::HttpTestServer bubble([&](const test::ServerRequest&) {
    ++calls;
    test::ServerReply reply;
    reply.status = 404;  // workflow not found: retrying cannot help
    return reply;
  });
  append("cb-404", bubble.url("/wf/missing"));
  start_sender(5);
  pump_until([&] { return dead_count() == 1; }, 10s);
  EXPECT_EQ(dead_count(), 1);
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace schedulo::daemon
