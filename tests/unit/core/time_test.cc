#include "csml/core/time.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace csml {
namespace {

// 2025-08-22T09:00:00Z, computed independently: date -u -d 2025-08-22T09:00:00Z +%s
constexpr UnixSeconds kAug22At9 = 1755853200;

struct ValidCase {
  std::string_view text;
  UnixSeconds expected;
};

class ParseRfc3339Valid : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ParseRfc3339Valid, GivesTheUtcSecond) {
  const auto parsed = ParseRfc3339(GetParam().text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Texts, ParseRfc3339Valid,
                         ::testing::Values(ValidCase{"1970-01-01T00:00:00Z", 0},
                                           ValidCase{"2025-08-22T09:00:00Z", kAug22At9},
                                           ValidCase{"2025-08-22t09:00:00z", kAug22At9},
                                           ValidCase{"2025-08-22T09:00:00.999Z", kAug22At9},
                                           ValidCase{"2025-08-22T09:00:00.1234567890123Z",
                                                     kAug22At9},
                                           ValidCase{"2025-08-22T11:00:00+02:00", kAug22At9},
                                           ValidCase{"2025-08-22T03:30:00-05:30", kAug22At9},
                                           ValidCase{"2025-08-22T09:00:00+00:00", kAug22At9},
                                           ValidCase{"2025-08-22T09:00:00-00:00", kAug22At9},
                                           ValidCase{"2025-08-23T00:00:00+14:59", kAug22At9 + 60},
                                           ValidCase{"2024-02-29T00:00:00Z", 1709164800},
                                           ValidCase{"2000-02-29T12:00:00Z", 951825600},
                                           ValidCase{"1969-12-31T23:59:59Z", -1},
                                           ValidCase{"1969-12-31T23:59:59.5Z", -1},
                                           ValidCase{"0000-01-01T00:00:00Z", -62167219200},
                                           ValidCase{"9999-12-31T23:59:59Z", 253402300799}));

struct InvalidCase {
  std::string_view text;
  std::string_view reason;  // a fragment the message must contain
};

class ParseRfc3339Invalid : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ParseRfc3339Invalid, FailsSayingWhatWasWrong) {
  const auto parsed = ParseRfc3339(GetParam().text);
  ASSERT_FALSE(parsed.has_value()) << GetParam().text << " parsed as " << *parsed;
  EXPECT_EQ(parsed.error().code, ErrorCode::kParse);
  EXPECT_NE(parsed.error().message.find("expected an RFC 3339 date-time"), std::string::npos)
      << parsed.error().message;
  EXPECT_NE(parsed.error().message.find(GetParam().reason), std::string::npos)
      << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Texts, ParseRfc3339Invalid,
    ::testing::Values(InvalidCase{"", "YYYY-MM-DD"}, InvalidCase{"2025-08-22", "'T'"},
                      InvalidCase{"2025-08-22 09:00:00Z", "'T'"},
                      InvalidCase{"2025-8-22T09:00:00Z", "YYYY-MM-DD"},
                      InvalidCase{"2025-13-01T00:00:00Z", "month 13"},
                      InvalidCase{"2025-00-01T00:00:00Z", "month 00"},
                      InvalidCase{"2025-02-29T00:00:00Z", "day 29 is not in 01..28 for 2025-02"},
                      InvalidCase{"1900-02-29T00:00:00Z", "01..28"},
                      InvalidCase{"2025-04-31T00:00:00Z", "01..30"},
                      InvalidCase{"2025-01-00T00:00:00Z", "day 00"},
                      InvalidCase{"2025-08-22T24:00:00Z", "hour 24"},
                      InvalidCase{"2025-08-22T09:60:00Z", "minute 60"},
                      InvalidCase{"2025-08-22T23:59:60Z", "leap second"},
                      InvalidCase{"2025-08-22T09:00:61Z", "second 61"},
                      InvalidCase{"2025-08-22T09:00Z", "HH:MM:SS"},
                      InvalidCase{"2025-08-22T09:00:00", "time zone"},
                      InvalidCase{"2025-08-22T09:00:00.Z", "digits after '.'"},
                      InvalidCase{"2025-08-22T09:00:00+0200", "+HH:MM"},
                      InvalidCase{"2025-08-22T09:00:00+24:00", "offset 24:00"},
                      InvalidCase{"2025-08-22T09:00:00+02:60", "offset 02:60"},
                      InvalidCase{"2025-08-22T09:00:00ZZ", "after the time zone"},
                      InvalidCase{"2025-08-22T09:00:00Z ", "after the time zone"},
                      InvalidCase{"2025-08-22T09:00:00 UTC", "time zone"},
                      InvalidCase{"-025-08-22T09:00:00Z", "YYYY-MM-DD"}));

TEST(ParseRfc3339, QuotesWhatCameAndShortensLongInput) {
  const std::string junk(500, 'x');
  const auto parsed = ParseRfc3339(junk);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().message.find("(500 bytes)"), std::string::npos);
  EXPECT_LT(parsed.error().message.size(), 250u);
}

TEST(ParseDate, GivesMidnightUtc) {
  const auto parsed = ParseDate("2025-08-22");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, kAug22At9 - 9 * 3600);
  EXPECT_EQ(*ParseDate("2024-02-29"), 1709164800);
}

TEST(ParseDate, RejectsImpossibleDatesAndTrailingText) {
  for (const std::string_view text : {"2025-02-29", "2025-13-01", "2025-08-22T00:00:00Z",
                                      "2025-08-2", "", "20250822", "2025-08-22 "}) {
    const auto parsed = ParseDate(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kParse);
    EXPECT_NE(parsed.error().message.find("expected a date YYYY-MM-DD"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(FormatRfc3339, WritesUtcWithZ) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kAug22At9), "2025-08-22T09:00:00Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(1709164800 + 86399), "2024-02-29T23:59:59Z");
}

TEST(FormatRfc3339, ClampsToFourDigitYears) {
  EXPECT_EQ(FormatRfc3339(INT64_MAX), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(INT64_MIN), "0000-01-01T00:00:00Z");
}

TEST(FormatRfc3339, RoundTripsThroughParseEveryFewHoursAcrossCenturies) {
  // Steps of 7h 13m 17s from 1899 to 2101 hit every hour, month end and leap day pattern.
  for (UnixSeconds t = -2240524800; t < 4133980800; t += 7 * 3600 + 13 * 60 + 17) {
    const std::string text = FormatRfc3339(t);
    const auto back = ParseRfc3339(text);
    ASSERT_TRUE(back.has_value()) << text << ": " << back.error().message;
    ASSERT_EQ(*back, t) << text;
  }
}

TEST(NowUtc, IsAfterThisCodeWasWrittenAndFormatsAsRfc3339) {
  const UnixSeconds now = NowUtc();
  EXPECT_GT(now, *ParseDate("2025-01-01"));
  EXPECT_TRUE(ParseRfc3339(FormatRfc3339(now)).has_value());
}

}  // namespace
}  // namespace csml
