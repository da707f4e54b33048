// The token lifecycle's notifications end to end (issue 13, label `lifecycle`): needs_reauth (with
// the reason), token_expiring (with the date) and reconnected, recorded through queue::Notifier as
// the sweep, the provider and the connect routes do, reach a running `schedulo run` that writes each
// as an Events row (the sandbox's Airtable) AND posts it to notifications.webhook_url (the sandbox's
// Bubble workflow endpoint), once: a duplicate within notifications.window_s is neither.
// Waits poll the sandbox and Redis with an overall limit that fails the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "common/rfc3339.hpp"
#include "queue/notifier.hpp"
#include "queue/outbox.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"
#include "tokens/notices.hpp"

namespace schedulo::tokens {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::run_for;

constexpr const char* kBase = "appSandboxBase001";
constexpr const char* kAirtableToken =
    "patSbxReadWrite01.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr const char* kBubbleToken = "sbx-bubble-admin-api-token-0001";

bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(200ms);
  }
  return true;
}

TEST(LifecycleNotices, ReachEventsAndWebhookOnce) {
  test::SandboxProcess sandbox;
  const std::string base = "http://127.0.0.1:" + std::to_string(sandbox.port());
  boost::asio::io_context io;
  std::string error;
  redis::ClientOptions o;
  o.url = *redis::parse_redis_url(test::shared_redis_url(), error);
  redis::Client client(io.get_executor(), o);
  client.start();
  // A short prefix (redis.prefix: at most 64 characters).
  const queue::Keys keys("lcn:" + std::to_string(::getpid()));
  const auto dir = std::filesystem::temp_directory_path() / ("schedulo-lcn-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string webhook = base + "/api/1.1/wf/schedulo-notice";
  const json config{{"redis", {{"url", test::shared_redis_url()}, {"prefix", keys.prefix()}}},
                    {"workers", {{"mode", "noop"}, {"id", "lcn-" + std::to_string(::getpid())}}},
                    {"airtable",
                     {{"base_url", base},
                      {"base_id", kBase},
                      {"token", kAirtableToken},
                      {"batch_linger_ms", 50},
                      {"account_sweep_interval_s", 0}}},
                    {"bubble", {{"api_token", kBubbleToken}, {"callback_hosts", {"127.0.0.1"}}}},
                    {"notifications", {{"webhook_url", webhook}}},
                    {"sweep", {{"interval_s", 0}}},
                    {"security", {{"allow_private_hosts", {"127.0.0.0/8"}}}}};
  const std::string config_path = (dir / "config.json").string();
  std::ofstream(config_path) << config.dump(2);
  test::Child daemon({SCHEDULO_BIN, "run", "--config", config_path}, (dir / "daemon.log").string());
  daemon.start();

  // What the lifecycle records, each twice: the second of each kind within the window is dropped.
  queue::Notifier notifier(client, keys);
  const AccountRef x{"x", "acct-n"};
  const AccountRef tiktok{"tiktok", "acct-e"};
  const std::int64_t expires_at = 1893456000000;  // 2030-01-01T00:00:00Z
  EXPECT_TRUE(run_for(io, notify_needs_reauth(notifier, x, "X refused the refresh token (invalid_grant)")));
  EXPECT_FALSE(run_for(io, notify_needs_reauth(notifier, x, "X refused the refresh token (invalid_grant)")));
  EXPECT_TRUE(run_for(io, notify_expiring(notifier, tiktok, expires_at, "its refresh token expires")));
  EXPECT_FALSE(run_for(io, notify_expiring(notifier, tiktok, expires_at, "its refresh token expires")));
  const AccountRef ig{"instagram", "acct-r"};
  EXPECT_TRUE(run_for(io, notify_reconnected(notifier, client, keys, ig)));

  auto events = [&] {
    std::map<std::string, json> out;  // Code -> fields
    const auto reply = test::http(sandbox.port(), "GET", "/v0/" + std::string(kBase) + "/Events?pageSize=100", "",
                                  {{"Authorization", std::string("Bearer ") + kAirtableToken}});
    for (const auto& r : reply.json().value("records", json::array())) out[r["fields"].value("Code", "")] = r["fields"];
    return out;
  };
  auto calls = [&] {
    std::vector<json> out;
    const json all = test::http_json(sandbox.port(), "GET", "/_sandbox/bubble/calls");
    for (const auto& c : all.value("calls", json::array()))
      if (c.value("workflow", "") == "schedulo-notice") out.push_back(c["params"]);
    return out;
  };
  queue::Outbox outbox(client, keys);
  auto drained = [&] {
    auto stats = run_for(io, outbox.stats(now_epoch_ms()));
    if (!stats) return false;
    long long pending = stats->claimed;
    for (const auto& [dest, n] : stats->pending) pending += n;
    auto left = run_for(io, client.exec("LLEN", keys.notifications()));
    return pending == 0 && left && left->integer == 0;
  };
  // Redis first: the Events table is read only once the outbox is empty, since every read counts
  // against the sandbox base's 5 requests/s, which the daemon's writes share.
  const bool arrived = eventually([&] { return drained() && calls().size() >= 3 && events().size() >= 3; });
  ASSERT_TRUE(arrived) << "events " << events().size() << ", webhook calls " << calls().size() << "\n"
                       << test::read_file((dir / "daemon.log").string());

  // Exactly one of each, in both places.
  const auto rows = events();
  const auto posted = calls();
  EXPECT_EQ(rows.size(), 3u);
  EXPECT_EQ(posted.size(), 3u);
  std::map<std::string, json> by_kind;
  for (const auto& p : posted) by_kind[p.value("kind", "")] = p;
  ASSERT_EQ(by_kind.size(), 3u);
  // needs_reauth, with the reason.
  ASSERT_TRUE(rows.count("needs_reauth"));
  EXPECT_NE(rows.at("needs_reauth").value("Message", "").find("invalid_grant"), std::string::npos);
  const auto& reauth = by_kind.at("needs_reauth");
  EXPECT_EQ(reauth["event"], "notification");
  EXPECT_EQ(reauth["platform"], "x");
  EXPECT_EQ(reauth["account"], "acct-n");
  EXPECT_NE(reauth["message"].get<std::string>().find("invalid_grant"), std::string::npos) << reauth;
  // token_expiring, with the date.
  ASSERT_TRUE(rows.count("token_expiring"));
  const std::string date = format_rfc3339_ms(expires_at);
  EXPECT_NE(rows.at("token_expiring").value("Message", "").find(date), std::string::npos);
  const auto& expiring = by_kind.at("token_expiring");
  EXPECT_NE(expiring["message"].get<std::string>().find(date), std::string::npos) << expiring;
  EXPECT_EQ(expiring["account"], "acct-e");
  // reconnected.
  ASSERT_TRUE(rows.count("reconnected"));
  EXPECT_EQ(by_kind.at("reconnected")["account"], "acct-r");
  // The Events row and the request name the same notification.
  EXPECT_EQ(rows.at("needs_reauth").value("Event Key", ""), reauth["id"]);

  daemon.terminate();
  EXPECT_TRUE(daemon.wait_exit(30s).has_value());
  run_for(io, [&]() -> net::awaitable<int> {
    auto all = co_await client.exec("KEYS", keys.prefix() + ":*");
    for (const auto& k : all->elements) co_await client.exec("DEL", k.str);
    co_return 0;
  }());
  client.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace schedulo::tokens
