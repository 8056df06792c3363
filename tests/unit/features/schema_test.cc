#include "csml/features/schema.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/feature_rows.h"

namespace csml {
namespace {

// The seed customer, in Singapore.
RawFeatures Example() { return testing::SeedFeatures().In(Region::kSG); }

TEST(FeatureEncoder, EncodesTheDefaultOneHotOrder) {
  auto enc = FeatureEncoder::Create(FeatureEncoder::DefaultColumns());
  ASSERT_TRUE(enc.has_value()) << enc.error().message;
  ASSERT_EQ(enc->num_columns(), 12u);
  std::vector<double> row(12);
  enc->Encode(Example(), row);
  EXPECT_EQ(row[0], 2);
  EXPECT_EQ(row[2], 15);
  EXPECT_TRUE(std::isnan(row[5]));  // tickets_30d absent -> missing
  EXPECT_EQ(row[7], 0.2);
  EXPECT_EQ((std::vector<double>(row.begin() + 8, row.end())), (std::vector<double>{0, 1, 0, 0}));
}

TEST(FeatureEncoder, UnknownAndMissingRegionsAreAllZeroOneHot) {
  auto enc = FeatureEncoder::Create(FeatureEncoder::DefaultColumns());
  ASSERT_TRUE(enc.has_value());
  for (Region r : {Region::kOther, Region::kMissing}) {
    RawFeatures f = Example();
    f.region = r;
    std::vector<float> row(12);
    enc->Encode(f, row);
    EXPECT_EQ((std::vector<float>(row.begin() + 8, row.end())), (std::vector<float>{0, 0, 0, 0}));
  }
}

TEST(FeatureEncoder, FollowsTheModelsRecordedOrderAndRegionCode) {
  const std::vector<std::string> cols = {"region_code", "usage_score", "activity_7d"};
  auto enc = FeatureEncoder::Create(cols);
  ASSERT_TRUE(enc.has_value());
  std::vector<double> row(3);
  RawFeatures f = Example();
  enc->Encode(f, row);
  EXPECT_EQ(row, (std::vector<double>{1, 0.2, 2}));
  f.region = Region::kOther;
  enc->Encode(f, row);
  EXPECT_EQ(row[0], 4);
  f.region = Region::kMissing;
  enc->Encode(f, row);
  EXPECT_TRUE(std::isnan(row[0]));
}

TEST(FeatureEncoder, RefusesUnknownAndRepeatedColumnsNamingThem) {
  const std::vector<std::string> unknown = {"activity_7d", "mood"};
  auto a = FeatureEncoder::Create(unknown);
  ASSERT_FALSE(a.has_value());
  EXPECT_NE(a.error().message.find("'mood'"), std::string::npos);
  const std::vector<std::string> repeated = {"activity_7d", "activity_7d"};
  auto b = FeatureEncoder::Create(repeated);
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().message.find("repeats"), std::string::npos);
}

TEST(Schema, RangeChecksSayWhatWasExpected) {
  EXPECT_TRUE(CheckRange(NumericFeature::kUsageScore, 1.0).has_value());
  auto high = CheckRange(NumericFeature::kUsageScore, 1.5);
  ASSERT_FALSE(high.has_value());
  EXPECT_EQ(high.error().message, "expected a number in [0, 1], got 1.5");
  auto neg = CheckRange(NumericFeature::kTickets7d, -1);
  ASSERT_FALSE(neg.has_value());
  EXPECT_EQ(neg.error().message, "expected a number >= 0, got -1");
}

// Training data and score requests read region codes alike: any ASCII letter case.
TEST(Schema, ParsesRegionCodesInAnyLetterCase) {
  EXPECT_EQ(ParseRegion("IN"), Region::kIN);
  EXPECT_EQ(ParseRegion("EU"), Region::kEU);
  EXPECT_EQ(ParseRegion("in"), Region::kIN);
  EXPECT_EQ(ParseRegion("sG"), Region::kSG);
  EXPECT_EQ(ParseRegion("BR"), Region::kOther);
  EXPECT_EQ(ParseRegion("IND"), Region::kOther);
  EXPECT_EQ(ParseRegion("\xc4\xb1n"), Region::kOther);  // dotless i is no ASCII letter
  EXPECT_EQ(ParseRegion(""), Region::kOther);
}

}  // namespace
}  // namespace csml
