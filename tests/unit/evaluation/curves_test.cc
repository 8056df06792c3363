#include "csml/evaluation/curves.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "csml/evaluation/metrics.h"

namespace csml {
namespace {

// 4 positives, 6 negatives, no ties (the same rows as metrics_test.cc).
const std::vector<double> kScores = {0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1};
const std::vector<float> kLabels = {1, 1, 0, 1, 0, 0, 1, 0, 0, 0};

TEST(RocCurve, StepsFromTheOriginToTheCornerOneDistinctScoreAtATime) {
  const std::vector<RocPoint> roc = RocCurve(kScores, kLabels).value();
  ASSERT_EQ(roc.size(), 11u);
  EXPECT_TRUE(std::isinf(roc[0].threshold));
  EXPECT_EQ(roc[0].false_positive_rate, 0.0);
  EXPECT_EQ(roc[0].true_positive_rate, 0.0);
  EXPECT_EQ(roc[1].threshold, 0.9);
  EXPECT_DOUBLE_EQ(roc[1].true_positive_rate, 0.25);
  EXPECT_DOUBLE_EQ(roc[3].false_positive_rate, 1.0 / 6.0);  // after 0.7, a negative
  EXPECT_DOUBLE_EQ(roc[3].true_positive_rate, 0.5);
  EXPECT_DOUBLE_EQ(roc.back().false_positive_rate, 1.0);
  EXPECT_DOUBLE_EQ(roc.back().true_positive_rate, 1.0);
  // The trapezoids under the curve add up to the AUC.
  double area = 0;
  for (std::size_t i = 1; i < roc.size(); ++i) {
    area += (roc[i].false_positive_rate - roc[i - 1].false_positive_rate) *
            (roc[i].true_positive_rate + roc[i - 1].true_positive_rate) / 2;
  }
  EXPECT_NEAR(area, RocAuc(kScores, kLabels).value(), 1e-12);
}

TEST(RocCurve, MakesATiedGroupOneDiagonalStep) {
  const std::vector<RocPoint> roc =
      RocCurve(std::vector<double>{0.5, 0.5, 0.5, 0.5}, std::vector<float>{1, 0, 1, 0}).value();
  ASSERT_EQ(roc.size(), 2u);
  EXPECT_DOUBLE_EQ(roc[1].false_positive_rate, 1.0);
  EXPECT_DOUBLE_EQ(roc[1].true_positive_rate, 1.0);
}

TEST(PrecisionRecallCurve, GivesPrecisionAndRecallAtEachThreshold) {
  const std::vector<PrPoint> pr = PrecisionRecallCurve(kScores, kLabels).value();
  ASSERT_EQ(pr.size(), 10u);
  EXPECT_DOUBLE_EQ(pr[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(pr[0].recall, 0.25);
  EXPECT_DOUBLE_EQ(pr[3].threshold, 0.6);
  EXPECT_DOUBLE_EQ(pr[3].precision, 0.75);
  EXPECT_DOUBLE_EQ(pr[3].recall, 0.75);
  EXPECT_DOUBLE_EQ(pr.back().precision, 0.4);
  EXPECT_DOUBLE_EQ(pr.back().recall, 1.0);
}

TEST(CalibrationBins, CountsRowsPositivesAndMeansPerBin) {
  const std::vector<CalibrationBin> bins = CalibrationBins(kScores, kLabels, 5).value();
  ASSERT_EQ(bins.size(), 5u);
  // [0, 0.2): 0.1; [0.2, 0.4): 0.3, 0.2; [0.4, 0.6): 0.55, 0.5, 0.4 (one positive);
  // [0.6, 0.8): 0.7, 0.6 (one positive); [0.8, 1]: 0.9, 0.8 (two positives).
  EXPECT_EQ(bins[0].rows, 1u);
  EXPECT_EQ(bins[1].rows, 2u);
  EXPECT_EQ(bins[2].rows, 3u);
  EXPECT_EQ(bins[2].positives, 1u);
  EXPECT_NEAR(bins[2].mean_score, (0.55 + 0.5 + 0.4) / 3, 1e-15);
  EXPECT_NEAR(bins[2].observed_rate, 1.0 / 3, 1e-15);
  EXPECT_EQ(bins[4].rows, 2u);
  EXPECT_DOUBLE_EQ(bins[4].observed_rate, 1.0);
  EXPECT_DOUBLE_EQ(bins[4].lower, 0.8);
  EXPECT_DOUBLE_EQ(bins[4].upper, 1.0);
}

TEST(CalibrationBins, KeepsEmptyBinsWithNanMeans) {
  const std::vector<CalibrationBin> bins =
      CalibrationBins(std::vector<double>{1.0}, std::vector<float>{1}, 10).value();
  ASSERT_EQ(bins.size(), 10u);
  EXPECT_EQ(bins[9].rows, 1u);  // 1.0 belongs to the last bin
  EXPECT_EQ(bins[0].rows, 0u);
  EXPECT_TRUE(std::isnan(bins[0].mean_score));
  EXPECT_TRUE(std::isnan(bins[0].observed_rate));
  EXPECT_FALSE(CalibrationBins(std::vector<double>{1.2}, std::vector<float>{1}).has_value());
}

TEST(GainCurve, ReportsTheShareOfChurnersCapturedPerDecile) {
  const std::vector<GainPoint> gain = GainCurve(kScores, kLabels).value();
  ASSERT_EQ(gain.size(), 10u);
  EXPECT_DOUBLE_EQ(gain[0].population_share, 0.1);
  EXPECT_DOUBLE_EQ(gain[0].positives_captured, 0.25);
  EXPECT_DOUBLE_EQ(gain[0].lift, 2.5);
  EXPECT_DOUBLE_EQ(gain[4].positives_captured, 0.75);  // top 5 rows hold 3 positives
  EXPECT_DOUBLE_EQ(gain[4].lift, 1.5);
  EXPECT_DOUBLE_EQ(gain[9].positives_captured, 1.0);
  EXPECT_DOUBLE_EQ(gain[9].lift, 1.0);
  EXPECT_FALSE(GainCurve(kScores, kLabels, 0).has_value());
}

TEST(Curves, RefuseMismatchedInput) {
  EXPECT_FALSE(RocCurve(std::vector<double>{0.1}, std::vector<float>{0, 1}).has_value());
  EXPECT_FALSE(PrecisionRecallCurve(std::vector<double>{}, std::vector<float>{}).has_value());
  EXPECT_FALSE(GainCurve(std::vector<double>{std::numeric_limits<double>::quiet_NaN()},
                         std::vector<float>{1})
                   .has_value());
}

}  // namespace
}  // namespace csml
