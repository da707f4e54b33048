#include "common/rfc3339.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace schedulo {
namespace {

constexpr std::int64_t k2024 = 1704067200000;  // 2024-01-01T00:00:00Z

// --- valid forms ---------------------------------------------------------------------------------

TEST(ParseRfc3339, EpochWithUpperCaseZIsZero) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), std::optional<std::int64_t>(0));
}

TEST(ParseRfc3339, UtcDateTimeGivesMillisecondsSinceEpoch) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00Z"), k2024);
}

TEST(ParseRfc3339, LowerCaseZIsAccepted) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00z"), k2024);
}

TEST(ParseRfc3339, LowerCaseTSeparatorIsAccepted) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01t00:00:00Z"), k2024);
}

TEST(ParseRfc3339, SpaceSeparatorIsAccepted) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01 00:00:00Z"), k2024);
}

TEST(ParseRfc3339, PositiveOffsetIsSubtracted) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T01:00:00+01:00"), k2024);
}

TEST(ParseRfc3339, NegativeOffsetWithMinutesIsAdded) {
  EXPECT_EQ(parse_rfc3339_ms("2023-12-31T18:30:00-05:30"), k2024);
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00-05:30"), k2024 + 19800000);
}

TEST(ParseRfc3339, ZeroOffsetEqualsZ) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00+00:00"), k2024);
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00-00:00"), k2024);
}

TEST(ParseRfc3339, OneFractionDigitIsTenthsOfASecond) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00.5Z"), k2024 + 500);
}

TEST(ParseRfc3339, TwoFractionDigitsAreHundredths) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00.25Z"), k2024 + 250);
}

TEST(ParseRfc3339, ThreeFractionDigitsAreMilliseconds) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00.123Z"), k2024 + 123);
}

TEST(ParseRfc3339, FractionDigitsBeyondMillisecondsAreTruncated) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00.1239Z"), k2024 + 123);
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00.999999Z"), k2024 + 999);
}

TEST(ParseRfc3339, NineFractionDigitsAreAccepted) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T00:00:00.123456789Z"), k2024 + 123);
}

TEST(ParseRfc3339, FractionWorksWithOffset) {
  EXPECT_EQ(parse_rfc3339_ms("2024-01-01T02:00:00.042+02:00"), k2024 + 42);
}

TEST(ParseRfc3339, LeapDayInLeapYearIsAccepted) {
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T12:34:56.789Z"), 1709210096789);
}

TEST(ParseRfc3339, LeapDayInYearDivisibleBy400IsAccepted) {
  EXPECT_EQ(parse_rfc3339_ms("2000-02-29T00:00:00Z"), 951782400000);
}

TEST(ParseRfc3339, LeapSecondIsReadAsLastMillisecondOfTheMinute) {
  EXPECT_EQ(parse_rfc3339_ms("2016-12-31T23:59:60Z"), 1483228800000 - 1);
}

TEST(ParseRfc3339, LeapSecondFractionIsIgnored) {
  EXPECT_EQ(parse_rfc3339_ms("2016-12-31T23:59:60.123Z"), 1483228800000 - 1);
}

TEST(ParseRfc3339, LastMillisecondBeforeEpochIsMinusOne) {
  EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59.999Z"), -1);
}

TEST(ParseRfc3339, HalfSecondBeforeEpochIsMinus500) {
  EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59.5Z"), -500);
}

TEST(ParseRfc3339, PreEpochDatesAreNegative) {
  EXPECT_EQ(parse_rfc3339_ms("1960-06-15T08:30:00.250Z"), -301246199750);
  EXPECT_EQ(parse_rfc3339_ms("1900-01-01T00:00:00Z"), -2208988800000);
  EXPECT_EQ(parse_rfc3339_ms("0001-01-01T00:00:00Z"), -62135596800000);
}

TEST(ParseRfc3339, LastRepresentableInstantOfYear9999) {
  EXPECT_EQ(parse_rfc3339_ms("9999-12-31T23:59:59.999Z"), 253402300799999);
}

// --- invalid forms -------------------------------------------------------------------------------

TEST(ParseRfc3339, Feb29InCommonYearIsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-02-29T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, Feb29InCenturyYearNotDivisibleBy400IsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("1900-02-29T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, Day31InThirtyDayMonthIsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2024-04-31T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, MonthThirteenIsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-13-01T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, MonthZeroAndDayZeroAreRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-00-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2023-01-00T00:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, Hour24IsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T24:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, Minute60IsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:60:00Z"), std::nullopt);
}

TEST(ParseRfc3339, Second61IsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:61Z"), std::nullopt);
}

TEST(ParseRfc3339, MissingZoneIsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00.123"), std::nullopt);
}

TEST(ParseRfc3339, TrailingJunkIsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00Zjunk"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00Z "), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00+01:00x"), std::nullopt);
}

TEST(ParseRfc3339, TenFractionDigitsAreRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00.1234567890Z"), std::nullopt);
}

TEST(ParseRfc3339, EmptyFractionIsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00.Z"), std::nullopt);
}

TEST(ParseRfc3339, SingleDigitOffsetHourIsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00+2:00"), std::nullopt);
}

TEST(ParseRfc3339, OffsetWithoutColonIsRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00+0200"), std::nullopt);
}

TEST(ParseRfc3339, OffsetHour24AndMinute60AreRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00+24:00"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00:00:00+01:60"), std::nullopt);
}

TEST(ParseRfc3339, OtherSeparatorsAreRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01X00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2023/01/01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T00-00-00Z"), std::nullopt);
}

TEST(ParseRfc3339, ShortFieldsAreRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-1-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("23-01-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01T0:00:00Z"), std::nullopt);
}

TEST(ParseRfc3339, DateOnlyAndEmptyAreRejected) {
  EXPECT_EQ(parse_rfc3339_ms("2023-01-01"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms(""), std::nullopt);
}

TEST(ParseRfc3339, TruncatedInputIsRejected) {
  const std::string full = "2023-01-01T00:00:00.5+01:00";
  for (std::size_t n = 0; n < full.size(); ++n)
    EXPECT_EQ(parse_rfc3339_ms(full.substr(0, n)), std::nullopt) << full.substr(0, n);
  EXPECT_TRUE(parse_rfc3339_ms(full).has_value());
}

// --- formatting ----------------------------------------------------------------------------------

TEST(FormatRfc3339, EpochIsFormattedWithMillisecondsAndZ) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339, LeapDayIsFormatted) {
  EXPECT_EQ(format_rfc3339_ms(1709210096789), "2024-02-29T12:34:56.789Z");
}

TEST(FormatRfc3339, MinusOneIsLastMillisecondOf1969) {
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339, PreEpochInstantsAreFormatted) {
  EXPECT_EQ(format_rfc3339_ms(-301246199750), "1960-06-15T08:30:00.250Z");
  EXPECT_EQ(format_rfc3339_ms(-2208988800000), "1900-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(-62135596800000), "0001-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339, LastInstantOfYear9999IsFormatted) {
  EXPECT_EQ(format_rfc3339_ms(253402300799999), "9999-12-31T23:59:59.999Z");
}

// --- round trips ---------------------------------------------------------------------------------

TEST(Rfc3339RoundTrip, FormatOfParseReproducesCanonicalText) {
  for (const char* text : {"1970-01-01T00:00:00.000Z", "2024-02-29T23:59:59.999Z", "2000-02-29T00:00:00.001Z",
                           "1969-12-31T23:59:59.999Z", "1960-06-15T08:30:00.250Z", "1900-03-01T00:00:00.000Z",
                           "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "2038-01-19T03:14:08.000Z"}) {
    const auto ms = parse_rfc3339_ms(text);
    ASSERT_TRUE(ms.has_value()) << text;
    EXPECT_EQ(format_rfc3339_ms(*ms), text);
  }
}

TEST(Rfc3339RoundTrip, NonCanonicalTextFormatsToCanonicalUtc) {
  EXPECT_EQ(format_rfc3339_ms(*parse_rfc3339_ms("2024-01-01 05:30:00.5+05:30")), "2024-01-01T00:00:00.500Z");
  EXPECT_EQ(format_rfc3339_ms(*parse_rfc3339_ms("2023-12-31t19:00:00z")), "2023-12-31T19:00:00.000Z");
}

TEST(Rfc3339RoundTrip, ParseOfFormatReproducesMilliseconds) {
  for (const std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{-999},
                                std::int64_t{-1000}, std::int64_t{-1001}, std::int64_t{86399999},
                                std::int64_t{-86400000}, k2024 + 123, std::int64_t{-62135596800000},
                                std::int64_t{253402300799999}}) {
    const auto back = parse_rfc3339_ms(format_rfc3339_ms(ms));
    ASSERT_TRUE(back.has_value()) << ms;
    EXPECT_EQ(*back, ms);
  }
}

TEST(NowEpochMs, IsAfter2024) {
  EXPECT_GT(now_epoch_ms(), k2024);
}

}  // namespace
}  // namespace schedulo
