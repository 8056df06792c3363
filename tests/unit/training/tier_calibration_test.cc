#include "csml/training/tier_calibration.h"

#include <vector>

#include <gtest/gtest.h>

#include "csml/evaluation/quantile.h"

namespace csml {
namespace {

TEST(CalibrateThresholds, TakesTheSeventiethAndNinetiethPercentilesOfValidationRisk) {
  // 0.1, 0.2, ..., 1.0: h = 9 * 0.7 = 6.3 -> 0.7 + 0.3 * 0.1; h = 8.1 -> 0.9 + 0.1 * 0.1.
  std::vector<double> risk;
  for (int i = 10; i >= 1; --i) risk.push_back(i / 10.0);
  const Thresholds t = CalibrateThresholds(risk, ThresholdOptions{}).value();
  EXPECT_NEAR(t.medium, 0.73, 1e-12);
  EXPECT_NEAR(t.high, 0.91, 1e-12);
}

TEST(CalibrateThresholds, UsesTheQuantilesAskedFor) {
  std::vector<double> risk;
  for (int i = 0; i < 1000; ++i) risk.push_back((i * 7919 % 1000) / 1000.0);
  ThresholdOptions options;
  options.medium_quantile = 0.5;
  options.high_quantile = 0.95;
  const Thresholds t = CalibrateThresholds(risk, options).value();
  EXPECT_DOUBLE_EQ(t.medium, Quantile(risk, 0.5).value());
  EXPECT_DOUBLE_EQ(t.high, Quantile(risk, 0.95).value());
}

TEST(CalibrateThresholds, PassesFixedThresholdsThrough) {
  ThresholdOptions options;
  options.method = ThresholdOptions::Method::kFixed;
  options.fixed = {0.4, 0.7};
  const Thresholds t = CalibrateThresholds(std::vector<double>{0.1, 0.2}, options).value();
  EXPECT_EQ(t.medium, 0.4);
  EXPECT_EQ(t.high, 0.7);
  EXPECT_EQ(ThresholdMethodName(options.method), "fixed");
  EXPECT_EQ(ThresholdMethodName(ThresholdOptions::Method::kValidationQuantiles),
            "validation_quantiles");
}

TEST(CalibrateThresholds, RefusesBadQuantilesAndNoRisk) {
  ThresholdOptions options;
  options.medium_quantile = 0.95;
  options.high_quantile = 0.9;
  EXPECT_EQ(CalibrateThresholds(std::vector<double>{0.1}, options).error().code,
            ErrorCode::kInvalidArgument);
  options = ThresholdOptions{};
  options.high_quantile = 1.0;
  EXPECT_FALSE(options.Validate().has_value());
  EXPECT_FALSE(CalibrateThresholds(std::vector<double>{}, ThresholdOptions{}).has_value());
}

struct PairCase {
  const char* text;
  bool ok;
  double medium;
  double high;
};

class ParseThresholdPairTable : public ::testing::TestWithParam<PairCase> {};

TEST_P(ParseThresholdPairTable, ReadsMediumThenHigh) {
  const PairCase& c = GetParam();
  auto parsed = ParseThresholdPair(c.text, "--thresholds");
  ASSERT_EQ(parsed.has_value(), c.ok) << c.text;
  if (c.ok) {
    EXPECT_DOUBLE_EQ(parsed->medium, c.medium);
    EXPECT_DOUBLE_EQ(parsed->high, c.high);
  } else {
    EXPECT_NE(parsed.error().message.find("--thresholds"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseThresholdPairTable,
    ::testing::Values(PairCase{"0.4,0.7", true, 0.4, 0.7},
                      PairCase{" 0.25 , 0.5 ", true, 0.25, 0.5},
                      PairCase{"0.5,0.5", true, 0.5, 0.5}, PairCase{"0.7,0.4", false, 0, 0},
                      PairCase{"0.4", false, 0, 0}, PairCase{"0.4,0.7,0.9", false, 0, 0},
                      PairCase{"a,0.7", false, 0, 0}, PairCase{"0.4,1.5", false, 0, 0},
                      PairCase{"", false, 0, 0}));

}  // namespace
}  // namespace csml
