// TikTok's rules as pure functions (label `tiktok`): the chunk arithmetic of section 2.5, the server's
// Content-Range, and the classification of v2 and OAuth answers (failures with HTTP 200 included).
#include <gtest/gtest.h>

#include <vector>

#include "platforms/errors/messages.hpp"
#include "platforms/tiktok/api.hpp"

namespace schedulo::tiktok {
namespace {

http::Result<http::Response> answer(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string envelope(const std::string& code) {
  return R"({"data":{},"error":{"code":")" + code + R"(","message":"m","log_id":"202611261200ABC"}})";
}

TEST(TikTokChunks, TheWorkedExampleOfTheReference) {
  // 50,000,123 bytes in 10,000,000-byte chunks: 5 chunks, the last 10,000,123 bytes. (Chunks are
  // clamped to 5-64 MiB; 10,000,000 is inside.)
  const auto plan = plan_chunks(50'000'123, 10'000'000);
  EXPECT_EQ(plan.chunk, 10'000'000U);
  EXPECT_EQ(plan.count, 5U);
  EXPECT_EQ(plan.offset(4), 40'000'000U);
  EXPECT_EQ(plan.length(4), 10'000'123U);
  EXPECT_EQ(plan.length(0), 10'000'000U);
}

TEST(TikTokChunks, SmallFilesAreOneChunk) {
  for (const std::uint64_t size : std::vector<std::uint64_t>{1, 1'000'000, 5 * kMiB - 1, 6'000'000, 10 * kMiB}) {
    const auto plan = plan_chunks(size, 10 * kMiB);
    EXPECT_EQ(plan.count, 1U) << size;
    EXPECT_EQ(plan.chunk, size) << size;
    EXPECT_EQ(plan.length(0), size) << size;
  }
}

TEST(TikTokChunks, LargeFilesStayWithinTheLimits) {
  for (const std::uint64_t size : std::vector<std::uint64_t>{70'000'000, 300'000'000, 2ULL << 30, 4ULL << 30}) {
    for (const std::uint64_t preferred : std::vector<std::uint64_t>{1, 5 * kMiB, 10 * kMiB, 64 * kMiB, 1ULL << 30}) {
      const auto plan = plan_chunks(size, preferred);
      ASSERT_GE(plan.chunk, 5 * kMiB);
      ASSERT_LE(plan.chunk, 64 * kMiB);
      EXPECT_EQ(plan.count, size / plan.chunk);
      EXPECT_LE(plan.count, 1000U);
      EXPECT_LE(plan.length(plan.count - 1), 128 * kMiB);
      EXPECT_EQ(plan.offset(plan.count - 1) + plan.length(plan.count - 1), size);
    }
  }
  const auto plan = plan_chunks(70'000'000, 10 * kMiB);
  EXPECT_EQ(plan.index_at(2 * 10 * kMiB), 2U);
  EXPECT_FALSE(plan.index_at(123));
  EXPECT_FALSE(plan.index_at(70'000'000));
}

TEST(TikTokChunks, TheServersRange) {
  EXPECT_EQ(received_from_range("bytes 0-9999999/50000123"), 10'000'000U);
  EXPECT_EQ(received_from_range("bytes */50000123"), 0U);
  EXPECT_FALSE(received_from_range(""));
  EXPECT_FALSE(received_from_range("bytes 0-x/5"));
}

TEST(TikTokClassification, TheBodyDecidesEvenWithHttp200) {
  const auto now = errors::SystemClock::now();
  auto c = classify(answer(200, envelope("ok")), errors::Safety::idempotent, now);
  EXPECT_TRUE(c.ok());
  c = classify(answer(200, envelope("spam_risk_too_many_posts")), errors::Safety::idempotent, now);
  EXPECT_EQ(c.kind, errors::ErrorClass::permanent);
  EXPECT_EQ(c.code, "spam_risk_too_many_posts");
  EXPECT_EQ(c.trace_id, "202611261200ABC");
  c = classify(answer(401, envelope("access_token_invalid")), errors::Safety::idempotent, now);
  EXPECT_EQ(c.kind, errors::ErrorClass::auth_expired);
  c = classify(answer(429, envelope("rate_limit_exceeded")), errors::Safety::idempotent, now);
  EXPECT_EQ(c.kind, errors::ErrorClass::rate_limited);
  ASSERT_TRUE(c.clears_at);
  EXPECT_GE(*c.clears_at, now + std::chrono::seconds(59));
  c = classify(answer(403, envelope("privacy_level_option_mismatch")), errors::Safety::unsafe, now);
  EXPECT_EQ(c.kind, errors::ErrorClass::permanent);
  c = classify(answer(500, envelope("internal_error")), errors::Safety::unsafe, now);
  EXPECT_EQ(c.kind, errors::ErrorClass::outcome_unknown);
  c = classify(answer(500, envelope("internal_error")), errors::Safety::idempotent, now);
  EXPECT_EQ(c.kind, errors::ErrorClass::transient);
  c = classify(answer(200, R"({"error":"invalid_grant","error_description":"d","log_id":"x"})"), errors::Safety::unsafe,
               now);
  EXPECT_EQ(c.kind, errors::ErrorClass::auth_revoked);
  c = classify(answer(502, "<html>bad gateway</html>"), errors::Safety::unsafe, now);
  EXPECT_EQ(c.kind, errors::ErrorClass::outcome_unknown);
}

TEST(TikTokFailReasons, RetryOrNot) {
  for (const char* r : {"internal", "video_pull_failed", "photo_pull_failed"})
    EXPECT_TRUE(retryable_fail_reason(r)) << r;
  for (const char* r : {"file_format_check_failed", "duration_check_failed", "frame_rate_check_failed",
                        "picture_size_check_failed", "publish_cancelled", "auth_removed", "spam_risk_too_many_posts",
                        "spam_risk_user_banned_from_posting", "spam_risk_text", "spam_risk"})
    EXPECT_FALSE(retryable_fail_reason(r)) << r;
}

// Every fail_reason of section 2.7 has a message of TikTok's own (the job's `error`), not the generic one.
TEST(TikTokFailReasons, EachHasItsOwnMessage) {
  const auto generic = errors::friendly_message("tiktok", "no_such_code", "", errors::ErrorClass::permanent).text();
  for (const char* r :
       {"file_format_check_failed", "duration_check_failed", "frame_rate_check_failed", "picture_size_check_failed",
        "internal", "video_pull_failed", "photo_pull_failed", "publish_cancelled", "auth_removed",
        "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "spam_risk_text", "spam_risk"}) {
    const auto text = errors::friendly_message("tiktok", r, "", errors::ErrorClass::permanent).text();
    EXPECT_NE(text, generic) << r;
    EXPECT_FALSE(text.empty()) << r;
  }
}

}  // namespace
}  // namespace schedulo::tiktok
