#include "queue/redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace schedulo::redis {
namespace {

TEST(RedisUrlTest, PlainUrlWithPasswordAndDatabase) {
  std::string error;
  auto u = parse_redis_url("redis://:p%40ss@cache.example.com:6380/4", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->mode, RedisUrl::Mode::direct);
  ASSERT_EQ(u->endpoints.size(), 1u);
  EXPECT_EQ(u->endpoints[0].host, "cache.example.com");
  EXPECT_EQ(u->endpoints[0].port, 6380);
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->db, 4);
  EXPECT_EQ(u->redacted(), "redis://:***@cache.example.com:6380/4");
}

TEST(RedisUrlTest, DefaultsArePort6379AndDatabase0) {
  std::string error;
  auto u = parse_redis_url("redis://localhost", error);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->endpoints[0].port, 6379);
  EXPECT_EQ(u->db, 0);
}

TEST(RedisUrlTest, UserAndPasswordAndIpv6) {
  std::string error;
  auto u = parse_redis_url("rediss://worker:pw@[::1]:7000/2", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->mode, RedisUrl::Mode::tls);
  EXPECT_EQ(u->username, "worker");
  EXPECT_EQ(u->password, "pw");
  EXPECT_EQ(u->endpoints[0].host, "::1");
  EXPECT_EQ(u->endpoints[0].port, 7000);
  EXPECT_EQ(u->redacted(), "rediss://worker:***@[::1]:7000/2");
}

TEST(RedisUrlTest, SentinelListMasterAndDatabase) {
  std::string error;
  auto u = parse_redis_url("redis-sentinel://:pw@s1:26379,s2,s3:26380/mymaster/1?sentinel_password=sp", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->mode, RedisUrl::Mode::sentinel);
  ASSERT_EQ(u->endpoints.size(), 3u);
  EXPECT_EQ(u->endpoints[1].host, "s2");
  EXPECT_EQ(u->endpoints[1].port, 26379);
  EXPECT_EQ(u->endpoints[2].port, 26380);
  EXPECT_EQ(u->master_name, "mymaster");
  EXPECT_EQ(u->db, 1);
  EXPECT_EQ(u->sentinel_password, "sp");
  EXPECT_EQ(u->redacted().find("pw"), std::string::npos);
  EXPECT_EQ(u->redacted().find("sp"), std::string::npos);
}

struct BadUrl {
  const char* text;
  const char* message;
};

void PrintTo(const BadUrl& b, std::ostream* os) { *os << b.text; }

class RedisUrlRejects : public ::testing::TestWithParam<BadUrl> {};

TEST_P(RedisUrlRejects, WithAMessageThatSaysWhy) {
  std::string error;
  EXPECT_FALSE(parse_redis_url(GetParam().text, error));
  EXPECT_EQ(error, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RedisUrlRejects,
    ::testing::Values(BadUrl{"http://x", "must start with redis://, rediss:// or redis-sentinel://"},
                      BadUrl{"redis://h:0", "port \"0\" is not a number from 1 to 65535"},
                      BadUrl{"redis://h:99999", "port \"99999\" is not a number from 1 to 65535"},
                      BadUrl{"redis://h/x", "database \"x\" is not a number from 0 to 15999"},
                      BadUrl{"redis://a,b", "several hosts are only allowed with redis-sentinel://"},
                      BadUrl{"redis-sentinel://s1:26379",
                             "redis-sentinel:// needs the master's name as its path (redis-sentinel://host:26379/mymaster)"},
                      BadUrl{"redis://:%zz@h", "bad %-escape in the user or password part"},
                      BadUrl{"redis://h?tls=1", "unknown parameter \"tls\" (known: sentinel_password)"},
                      BadUrl{"redis://", "missing host"}));

}  // namespace
}  // namespace schedulo::redis
