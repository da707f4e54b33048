#include "common/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/rfc3339.hpp"

namespace schedulo {
namespace {

using nlohmann::json;

// Installs the process logger over an in-memory stream; every test puts the default (text, info,
// stderr) logger back, so no test sees another's format, level or sink.
class LogTest : public ::testing::Test {
 protected:
  void install(log::Format format, spdlog::level::level_enum level = spdlog::level::info) {
    log::init(format, level, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  void TearDown() override { log::init(log::Format::text, spdlog::level::info); }

  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }
  // The single line written so far, parsed as JSON (fails the test otherwise).
  json only_json_line() const {
    const auto all = lines();
    EXPECT_EQ(all.size(), 1u) << out_.str();
    if (all.size() != 1) return json();
    EXPECT_TRUE(json::accept(all[0])) << all[0];
    return json::parse(all[0], nullptr, false);
  }

  std::ostringstream out_;
};

const std::regex kTextPrefix(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z )");

// --- text format ---------------------------------------------------------------------------------

TEST_F(LogTest, TextLineIsTimestampLevelAndMessage) {
  install(log::Format::text);
  log::info("hello {}", 42);
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(std::regex_search(all[0], kTextPrefix)) << all[0];
  EXPECT_TRUE(all[0].ends_with("Z info hello 42")) << all[0];
  EXPECT_EQ(out_.str().back(), '\n');
}

TEST_F(LogTest, TextWarnAndErrorUseSpdlogLevelNames) {
  install(log::Format::text);
  log::warn("careful");
  log::error("broken {}", "pipe");
  const auto all = lines();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].ends_with("Z warning careful")) << all[0];
  EXPECT_TRUE(all[1].ends_with("Z error broken pipe")) << all[1];
}

TEST_F(LogTest, LinesBelowTheLevelAreDropped) {
  install(log::Format::text, spdlog::level::warn);
  log::debug("d");
  log::info("i");
  log::warn("w");
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].ends_with(" warning w")) << all[0];
}

TEST_F(LogTest, DebugIsWrittenAtDebugLevel) {
  install(log::Format::text, spdlog::level::debug);
  log::debug("details {}", 7);
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].ends_with("Z debug details 7")) << all[0];
}

TEST_F(LogTest, TextJobLogLineCarriesJobId) {
  install(log::Format::text);
  const log::JobLog job("job-123");
  job.info("publishing to {}", "instagram");
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].ends_with("Z info job=job-123 publishing to instagram")) << all[0];
  EXPECT_EQ(job.job_id(), "job-123");
}

TEST_F(LogTest, TextFieldsComeBeforeTheMessage) {
  install(log::Format::text);
  log::write(spdlog::level::info, "done", {{"job", "j1"}, {"attempt", "2"}});
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].ends_with("Z info job=j1 attempt=2 done")) << all[0];
}

// --- JSON format ---------------------------------------------------------------------------------

TEST_F(LogTest, JsonLineHasTsLevelAndMsgOnly) {
  install(log::Format::json);
  log::info("hello {}", 42);
  const json line = only_json_line();
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line.size(), 3u);
  EXPECT_EQ(line.value("level", ""), "info");
  EXPECT_EQ(line.value("msg", ""), "hello 42");
  ASSERT_TRUE(line.contains("ts") && line["ts"].is_string());
  const auto ts = parse_rfc3339_ms(line["ts"].get<std::string>());
  ASSERT_TRUE(ts.has_value()) << line["ts"];
  EXPECT_GT(*ts, 1704067200000);  // after 2024-01-01
}

TEST_F(LogTest, JsonEveryLineIsAnObject) {
  install(log::Format::json);
  log::info("one");
  log::warn("two");
  log::error("three");
  const auto all = lines();
  ASSERT_EQ(all.size(), 3u);
  const char* levels[] = {"info", "warning", "error"};
  const char* msgs[] = {"one", "two", "three"};
  for (std::size_t i = 0; i < all.size(); ++i) {
    const json line = json::parse(all[i], nullptr, false);
    ASSERT_FALSE(line.is_discarded()) << all[i];
    EXPECT_EQ(line.value("level", ""), levels[i]);
    EXPECT_EQ(line.value("msg", ""), msgs[i]);
  }
}

TEST_F(LogTest, JsonJobLogLineCarriesJobField) {
  install(log::Format::json);
  const log::JobLog job("job-456");
  job.warn("retrying in {} s", 30);
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NE(all[0].find(R"("job":"job-456")"), std::string::npos) << all[0];
  const json line = json::parse(all[0]);
  EXPECT_EQ(line.value("job", ""), "job-456");
  EXPECT_EQ(line.value("msg", ""), "retrying in 30 s");
  EXPECT_EQ(line.value("level", ""), "warning");
}

TEST_F(LogTest, JsonEscapesQuotesNewlinesAndBackslashes) {
  install(log::Format::json);
  const std::string message = "say \"hi\"\nsecond line\tand \\ backslash \x01 end";
  log::info("{}", message);
  EXPECT_EQ(lines().size(), 1u);  // the newline did not split the event
  const json line = only_json_line();
  EXPECT_EQ(line.value("msg", ""), message);
}

TEST_F(LogTest, JsonEscapesFieldValues) {
  install(log::Format::json);
  const log::JobLog job("id\"with\nquote");
  job.error("x");
  const json line = only_json_line();
  EXPECT_EQ(line.value("job", ""), "id\"with\nquote");
}

TEST_F(LogTest, JsonReplacesInvalidUtf8AndStaysValid) {
  install(log::Format::json);
  log::info("bad {} byte", std::string("\xff"));
  const json line = only_json_line();
  EXPECT_EQ(line.value("msg", ""), "bad \xEF\xBF\xBD byte");
}

// --- secrets -------------------------------------------------------------------------------------

TEST_F(LogTest, RegisteredSecretIsRedactedInText) {
  install(log::Format::text);
  log::register_secret("sk-live-text-0123456789");
  log::info("token={} end", "sk-live-text-0123456789");
  const std::string out = out_.str();
  EXPECT_EQ(out.find("sk-live-text-0123456789"), std::string::npos) << out;
  EXPECT_NE(out.find("info token=[redacted] end\n"), std::string::npos) << out;
}

TEST_F(LogTest, SecretInsideLongerWordIsRedacted) {
  install(log::Format::text);
  log::register_secret("Hunter2Secret");
  log::info("xxHunter2Secretyy and Hunter2SecretHunter2Secret");
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].ends_with(" info xx[redacted]yy and [redacted][redacted]")) << all[0];
}

TEST_F(LogTest, SecretInFieldValueIsRedactedInText) {
  install(log::Format::text);
  log::register_secret("field-secret-777");
  log::write(spdlog::level::info, "m", {{"auth", "Bearer field-secret-777"}});
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].ends_with(" info auth=Bearer [redacted] m")) << all[0];
}

TEST_F(LogTest, RegisteredSecretIsRedactedInJson) {
  install(log::Format::json);
  log::register_secret("json-secret-abcdef");
  log::write(spdlog::level::warn, "Bearer json-secret-abcdef", {{"detail", "xjson-secret-abcdefx"}});
  const std::string out = out_.str();
  EXPECT_EQ(out.find("json-secret-abcdef"), std::string::npos) << out;
  const json line = only_json_line();
  EXPECT_EQ(line.value("msg", ""), "Bearer [redacted]");
  EXPECT_EQ(line.value("detail", ""), "x[redacted]x");
}

TEST_F(LogTest, SecretNeedingJsonEscapesIsRedactedInJson) {
  install(log::Format::json);
  const std::string secret = "pa\"ss\\word-42";
  log::register_secret(secret);
  log::info("password is {}", secret);
  const json line = only_json_line();
  EXPECT_EQ(line.value("msg", ""), "password is [redacted]");
}

TEST_F(LogTest, ScrubReplacesEveryOccurrence) {
  log::register_secret("scrub-me-please");
  EXPECT_EQ(log::scrub("a scrub-me-please b scrub-me-please"), "a [redacted] b [redacted]");
  EXPECT_EQ(log::scrub("nothing here"), "nothing here");
}

TEST_F(LogTest, RegisteringTheSameSecretTwiceStillRedactsOnce) {
  log::register_secret("twice-registered");
  log::register_secret("twice-registered");
  EXPECT_EQ(log::scrub("<twice-registered>"), "<[redacted]>");
}

TEST_F(LogTest, StringsShorterThanSixCharactersAreNotRegistered) {
  install(log::Format::text);
  log::register_secret("Qz5Kx");  // 5 characters
  EXPECT_EQ(log::scrub("aQz5Kxb"), "aQz5Kxb");
  log::info("value Qz5Kx");
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].ends_with(" info value Qz5Kx")) << all[0];
}

TEST_F(LogTest, SixCharacterStringIsRegistered) {
  log::register_secret("Wq6Jp3");
  EXPECT_EQ(log::scrub("aWq6Jp3b"), "a[redacted]b");
}

TEST_F(LogTest, URLEncodedSpellingsOfASecretAreRedactedToo) {
  log::register_secret("tok/en+1= x");
  EXPECT_EQ(log::scrub("q=tok%2Fen%2B1%3D%20x&r=tok%2fen%2b1%3d+x raw=tok/en+1= x"),
            "q=[redacted]&r=[redacted] raw=[redacted]");
}

// --- parsing names -------------------------------------------------------------------------------

TEST(LogParse, FormatNamesAreTextAndJson) {
  log::Format f = log::Format::json;
  EXPECT_TRUE(log::parse_format("text", f));
  EXPECT_EQ(f, log::Format::text);
  EXPECT_TRUE(log::parse_format("json", f));
  EXPECT_EQ(f, log::Format::json);
  EXPECT_FALSE(log::parse_format("xml", f));
  EXPECT_EQ(f, log::Format::json);
}

TEST(LogParse, LevelNamesIncludeWarnAndError) {
  auto level = spdlog::level::info;
  EXPECT_TRUE(log::parse_level("warn", level));
  EXPECT_EQ(level, spdlog::level::warn);
  EXPECT_TRUE(log::parse_level("error", level));
  EXPECT_EQ(level, spdlog::level::err);
  EXPECT_TRUE(log::parse_level("debug", level));
  EXPECT_EQ(level, spdlog::level::debug);
  EXPECT_TRUE(log::parse_level("off", level));
  EXPECT_EQ(level, spdlog::level::off);
  EXPECT_TRUE(log::parse_level("trace", level));
  EXPECT_EQ(level, spdlog::level::trace);
  EXPECT_FALSE(log::parse_level("verbose", level));
  EXPECT_EQ(level, spdlog::level::trace);
}

}  // namespace
}  // namespace schedulo
