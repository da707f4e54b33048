// X's error mapping and text weighting (platforms/x/api.hpp) against the reference's own examples
// (platform-apis.md 3.2, 3.6, 3.7): pure functions, no network.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "platforms/x/api.hpp"

namespace schedulo::x {
namespace {

using errors::ErrorClass;
using std::chrono::seconds;

http::Result<http::Response> answer(int status, std::string body,
                                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  for (const auto& [k, v] : headers) r.headers.add(k, v);
  return r;
}

const auto kNow = errors::SystemClock::from_time_t(1'800'000'000);

TEST(XMapping, DuplicateContentIsPermanentWithItsOwnCode) {
  const auto c = classify(
      answer(
          403,
          R"({"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403})"),
      errors::Safety::unsafe, kNow);
  EXPECT_EQ(c.kind, ErrorClass::permanent);
  EXPECT_EQ(c.code, "duplicate");
}

TEST(XMapping, ForbiddenAndUnsupportedAuthentication) {
  const auto forbidden = classify(
      answer(
          403,
          R"({"detail":"You are not permitted to perform this action.","type":"about:blank","title":"Forbidden","status":403})"),
      errors::Safety::unsafe, kNow);
  EXPECT_EQ(forbidden.kind, ErrorClass::permanent);
  EXPECT_EQ(forbidden.code, "forbidden");
  const auto app_only =
      classify(answer(403, R"({"title":"Unsupported Authentication","detail":"x","type":"about:blank","status":403})"),
               errors::Safety::idempotent, kNow);
  EXPECT_EQ(app_only.kind, ErrorClass::auth_revoked);
}

TEST(XMapping, TooManyRequestsClearsAtTheWindowReset) {
  const auto c = classify(
      answer(429, R"({"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429})",
             {{"x-rate-limit-limit", "100"}, {"x-rate-limit-remaining", "0"}, {"x-rate-limit-reset", "1800000900"}}),
      errors::Safety::unsafe, kNow);
  EXPECT_EQ(c.kind, ErrorClass::rate_limited);
  ASSERT_TRUE(c.clears_at);
  EXPECT_EQ(*c.clears_at, kNow + seconds(900));
}

TEST(XMapping, ASpentDailyCapWinsOverTheWindow) {
  const auto c = classify(
      answer(429, R"({"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429})",
             {{"x-rate-limit-remaining", "99"},
              {"x-rate-limit-reset", "1800000900"},
              {"x-user-limit-24hour-limit", "100"},
              {"x-user-limit-24hour-remaining", "0"},
              {"x-user-limit-24hour-reset", "1800086400"}}),
      errors::Safety::unsafe, kNow);
  ASSERT_TRUE(c.clears_at);
  EXPECT_EQ(*c.clears_at, kNow + seconds(86400));
}

TEST(XMapping, MonthlyUsageCapWaitsForTheNextMonth) {
  const auto c = classify(
      answer(
          429,
          R"({"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped","period":"Monthly","scope":"Product"})",
          {{"x-rate-limit-remaining", "40"}, {"x-rate-limit-reset", "1800000900"}}),
      errors::Safety::unsafe, kNow);
  EXPECT_EQ(c.kind, ErrorClass::rate_limited);
  EXPECT_EQ(c.code, "usage-capped");
  ASSERT_TRUE(c.clears_at);
  // 1800000000 is 2027-01-15T08:00:00Z: the cap lifts on 2027-02-01.
  EXPECT_EQ(*c.clears_at, errors::SystemClock::from_time_t(1801440000));
}

TEST(XMapping, UnauthorizedAndTheOlderErrorsShape) {
  EXPECT_EQ(
      classify(answer(401, R"({"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"})"),
               errors::Safety::idempotent, kNow)
          .kind,
      ErrorClass::auth_expired);
  const auto v1 = classify(answer(429, R"({"errors":[{"code":88,"message":"Rate limit exceeded"}]})"),
                           errors::Safety::idempotent, kNow);
  EXPECT_EQ(v1.kind, ErrorClass::rate_limited);
  EXPECT_EQ(v1.code, "88");
  const auto invalid = classify(
      answer(
          400,
          R"({"errors":[{"parameters":{"text":["x"]},"message":"bad"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"})"),
      errors::Safety::unsafe, kNow);
  EXPECT_EQ(invalid.kind, ErrorClass::permanent);
  EXPECT_EQ(invalid.code, "invalid-request");
}

TEST(XMapping, ServerErrorsOfAPostAreUnknownButA503IsNot) {
  EXPECT_EQ(classify(answer(500, "{}"), errors::Safety::unsafe, kNow).kind, ErrorClass::outcome_unknown);
  EXPECT_EQ(classify(answer(503, R"({"title":"Service Unavailable","status":503})"), errors::Safety::unsafe, kNow).kind,
            ErrorClass::transient);
}

TEST(XMapping, WeightedLength) {
  EXPECT_EQ(weighted_length("hello"), 5u);
  EXPECT_EQ(weighted_length("caf\xC3\xA9"), 4u);               // é is below U+10FF: 1
  EXPECT_EQ(weighted_length("\xE6\x97\xA5\xE6\x9C\xAC"), 4u);  // two CJK characters: 2 each
  EXPECT_EQ(weighted_length("\xF0\x9F\x98\x80"), 2u);          // an emoji: 2
  EXPECT_EQ(weighted_length("\xE2\x82\xAC"), 1u);              // the euro sign, U+20AC: 1
  EXPECT_EQ(weighted_length("see https://example.com/a/very/long/path?q=1 now"), 4u + 23u + 4u);
  EXPECT_EQ(weighted_length(std::string(280, 'a')), 280u);
}

}  // namespace
}  // namespace schedulo::x
