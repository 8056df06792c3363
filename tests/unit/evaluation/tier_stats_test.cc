#include "csml/evaluation/tier_stats.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

const std::vector<double> kScores = {0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1};
const std::vector<float> kLabels = {1, 1, 0, 1, 0, 0, 1, 0, 0, 0};

TEST(ComputeTierReport, CountsRowsAndChurnPerTier) {
  // high: 0.9, 0.8 (both churned); medium: 0.7 .. 0.5 (one of four); low: the rest (one).
  const TierReport r = ComputeTierReport(kScores, kLabels, Thresholds{0.5, 0.8}).value();
  EXPECT_EQ(r.of(Tier::kHigh).rows, 2u);
  EXPECT_EQ(r.of(Tier::kHigh).positives, 2u);
  EXPECT_EQ(r.of(Tier::kMedium).rows, 4u);
  EXPECT_EQ(r.of(Tier::kMedium).positives, 1u);
  EXPECT_DOUBLE_EQ(r.of(Tier::kMedium).churn_rate, 0.25);
  EXPECT_DOUBLE_EQ(r.of(Tier::kMedium).share, 0.4);
  EXPECT_EQ(r.of(Tier::kLow).rows, 4u);
  EXPECT_EQ(r.of(Tier::kLow).tier, Tier::kLow);
  EXPECT_DOUBLE_EQ(r.base_rate, 0.4);
  EXPECT_DOUBLE_EQ(r.high_precision, 1.0);
  EXPECT_DOUBLE_EQ(r.high_recall, 0.5);
  EXPECT_DOUBLE_EQ(r.high_lift, 2.5);
}

TEST(ComputeTierReport, LeavesAnEmptyHighTierUndefinedNotZero) {
  const TierReport r = ComputeTierReport(kScores, kLabels, Thresholds{0.95, 0.99}).value();
  EXPECT_EQ(r.of(Tier::kHigh).rows, 0u);
  EXPECT_TRUE(std::isnan(r.high_precision));
  EXPECT_TRUE(std::isnan(r.high_lift));
  EXPECT_DOUBLE_EQ(r.high_recall, 0.0);
}

TEST(ComputeTierReport, RefusesInvalidThresholds) {
  EXPECT_FALSE(ComputeTierReport(kScores, kLabels, Thresholds{0.8, 0.5}).has_value());
}

}  // namespace
}  // namespace csml
