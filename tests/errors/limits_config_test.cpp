// The limits.*, breaker.* and notifications.* configuration keys and what the daemon builds from
// them (label `errors`).
#include <gtest/gtest.h>

#include "daemon/config.hpp"
#include "daemon/runtime.hpp"

namespace schedulo::daemon {
namespace {

using namespace std::chrono_literals;

ConfigResult load(const std::string& text) {
  return load_config_text(text, ConfigSources{});
}

TEST(LimitsConfigTest, DefaultsComeFromTheReferenceAndTheAirtableShare) {
  auto r = load(R"({"airtable": {"requests_per_second": 2.5}})");
  ASSERT_TRUE(r.config) << format_errors(r.errors);
  const auto table = limit_table(*r.config);
  EXPECT_EQ(table.find("x", "account", "tweets_create"), (queue::BucketLimit{100, 15min, 99}));
  EXPECT_EQ(table.find("airtable", "app", "base"), (queue::BucketLimit{5, 2s, 0})) << "2.5/s as 5 per 2 s";
  EXPECT_EQ(limiter_options(*r.config).margin, 20ms);
  EXPECT_EQ(guard_options(*r.config).max_wait, 5000ms);
  EXPECT_EQ(breaker_options(*r.config).failure_threshold, 5);
  EXPECT_EQ(r.config->notifications.window_s, 3600);
}

TEST(LimitsConfigTest, RulesOverrideAndAddLimits) {
  auto r = load(R"({"limits": {"rules": ["x:account:tweets_create=17/24h", "bubble:app:workflow=10/1s+5"],
                               "max_wait_ms": 250, "margin_ms": 0},
                    "breaker": {"open_ms": 1000, "max_open_ms": 500}})");
  ASSERT_TRUE(r.config) << format_errors(r.errors);
  const auto table = limit_table(*r.config);
  EXPECT_EQ(table.find("x", "account", "tweets_create"), (queue::BucketLimit{17, 24h, 0}));
  EXPECT_EQ(table.find("bubble", "app", "workflow"), (queue::BucketLimit{10, 1s, 5}));
  EXPECT_EQ(guard_options(*r.config).max_wait, 250ms);
  EXPECT_EQ(limiter_options(*r.config).margin, 0ms);
  EXPECT_EQ(breaker_options(*r.config).max_open, 1000ms) << "never shorter than the first opening";
}

// Platform calls are not held back by the outbound pool: every worker can have a connection to one
// platform host, with room for the Airtable writers and token calls (16 capped 32 workers at 16 calls).
TEST(LimitsConfigTest, OutboundConnectionsPerHostFollowTheWorkers) {
  auto defaults = load("{}");
  ASSERT_TRUE(defaults.config) << format_errors(defaults.errors);
  EXPECT_GE(http_options(*defaults.config).max_connections_per_origin,
            static_cast<std::size_t>(defaults.config->workers.concurrency) + 8);
  auto many = load(R"({"workers": {"concurrency": 300}})");
  ASSERT_TRUE(many.config) << format_errors(many.errors);
  EXPECT_EQ(http_options(*many.config).max_connections_per_origin, 308U);
  auto few = load(R"({"workers": {"concurrency": 1}})");
  ASSERT_TRUE(few.config) << format_errors(few.errors);
  EXPECT_EQ(http_options(*few.config).max_connections_per_origin, 16U);
}

TEST(LimitsConfigTest, ABadRuleIsRefusedNamingTheKeyAndTheEntry) {
  auto r = load(R"({"limits": {"rules": ["x:account:tweets_create=100/15m", "x:user:t=1/1s"]}})");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].key, "limits.rules");
  EXPECT_EQ(r.errors[0].message, "entry 1: the scope must be app, account or endpoint");
  auto env = load_config_text("{}", ConfigSources{{{"SCHEDULO_LIMITS__RULES", "tiktok:account:video_init=6"}}, ""});
  ASSERT_FALSE(env.config);
  EXPECT_EQ(env.errors[0].key, "limits.rules");
}

}  // namespace
}  // namespace schedulo::daemon
