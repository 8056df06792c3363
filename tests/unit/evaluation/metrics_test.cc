#include "csml/evaluation/metrics.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

TEST(RocAuc, MatchesTheTextbookExample) {
  // Pairs (positive, negative): 0.35 > 0.1, 0.35 < 0.4, 0.8 > 0.1, 0.8 > 0.4 -> 3 of 4.
  const std::vector<double> scores = {0.1, 0.4, 0.35, 0.8};
  const std::vector<float> labels = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(RocAuc(scores, labels).value(), 0.75);
}

TEST(RocAuc, CountsTiesAsHalfAPair) {
  // Positive 0.5 vs negatives 0.5 (tie, 1/2) and 0.2 (win, 1); positive 0.9 wins both: 3.5/4.
  const std::vector<double> scores = {0.5, 0.5, 0.2, 0.9};
  const std::vector<float> labels = {1, 0, 0, 1};
  EXPECT_DOUBLE_EQ(RocAuc(scores, labels).value(), 3.5 / 4.0);
  const std::vector<double> all_tied = {0.3, 0.3, 0.3};
  const std::vector<float> mixed = {1, 0, 1};
  EXPECT_DOUBLE_EQ(RocAuc(all_tied, mixed).value(), 0.5);
}

TEST(RocAuc, IsOneForAPerfectRankingAndNanForOneClass) {
  const std::vector<double> scores = {0.1, 0.2, 0.8, 0.9};
  EXPECT_DOUBLE_EQ(RocAuc(scores, std::vector<float>{0, 0, 1, 1}).value(), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc(scores, std::vector<float>{1, 1, 0, 0}).value(), 0.0);
  EXPECT_TRUE(std::isnan(RocAuc(scores, std::vector<float>{1, 1, 1, 1}).value()));
}

TEST(LogLoss, MatchesAHandComputedValue) {
  // -(ln 0.9 + ln 0.8) / 2
  const std::vector<double> scores = {0.9, 0.2};
  const std::vector<float> labels = {1, 0};
  EXPECT_NEAR(LogLoss(scores, labels).value(), (0.10536051565782628 + 0.2231435513142097) / 2,
              1e-15);
}

TEST(LogLoss, ClipsCertainMistakesToAFiniteCost) {
  const std::vector<double> scores = {0.0, 1.0};
  const std::vector<float> labels = {1, 0};
  const double loss = LogLoss(scores, labels).value();
  EXPECT_TRUE(std::isfinite(loss));
  // Both rows cost about -ln(1e-15); the upper clip 1 - 1e-15 is not exact in binary.
  EXPECT_NEAR(loss, (-std::log(1e-15) - std::log(1.0 - (1.0 - 1e-15))) / 2, 1e-12);
}

TEST(BrierScore, IsTheMeanSquaredError) {
  const std::vector<double> scores = {0.9, 0.2};
  const std::vector<float> labels = {1, 0};
  EXPECT_NEAR(BrierScore(scores, labels).value(), (0.01 + 0.04) / 2, 1e-15);
}

TEST(BaseRate, IsTheShareOfPositives) {
  EXPECT_DOUBLE_EQ(BaseRate(std::vector<float>{1, 0, 0, 0}).value(), 0.25);
  EXPECT_FALSE(BaseRate(std::vector<float>{}).has_value());
}

TEST(ComputeBinaryMetrics, AgreesWithTheSingleMetrics) {
  const std::vector<double> scores = {0.1, 0.4, 0.35, 0.8};
  const std::vector<float> labels = {0, 0, 1, 1};
  const BinaryMetrics m = ComputeBinaryMetrics(scores, labels).value();
  EXPECT_EQ(m.rows, 4u);
  EXPECT_EQ(m.positives, 2u);
  EXPECT_DOUBLE_EQ(m.base_rate, 0.5);
  EXPECT_DOUBLE_EQ(m.auc, 0.75);
  EXPECT_DOUBLE_EQ(m.log_loss, LogLoss(scores, labels).value());
  EXPECT_DOUBLE_EQ(m.brier, BrierScore(scores, labels).value());
}

TEST(Metrics, RefuseMismatchedOrInvalidInput) {
  const std::vector<double> two = {0.1, 0.2};
  const std::vector<float> three = {0, 1, 0};
  auto mismatch = RocAuc(two, three);
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code, ErrorCode::kInvalidArgument);
  auto bad_label = LogLoss(two, std::vector<float>{0, 2});
  ASSERT_FALSE(bad_label.has_value());
  EXPECT_NE(bad_label.error().message.find("label 1: expected 0 or 1, got 2"), std::string::npos);
  EXPECT_FALSE(BrierScore(std::vector<double>{NAN, 0.1}, std::vector<float>{0, 1}).has_value());
  EXPECT_FALSE(ComputeBinaryMetrics(std::vector<double>{}, std::vector<float>{}).has_value());
}

// Ten rows checked by hand throughout this file: 4 positives, 6 negatives, no ties.
const std::vector<double> kScores = {0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1};
const std::vector<float> kLabels = {1, 1, 0, 1, 0, 0, 1, 0, 0, 0};

TEST(RocAuc, CountsEachPositivesNegativesBelowIt) {
  // Negatives below each positive: 0.9 -> 6, 0.8 -> 6, 0.6 -> 5, 0.4 -> 3; of 4 * 6 pairs.
  EXPECT_DOUBLE_EQ(RocAuc(kScores, kLabels).value(), 20.0 / 24.0);
}

TEST(AucStandardError, FollowsHanleyAndMcNeil) {
  // A = 0.75 on 2 + 2 rows: Q1 = 0.6, Q2 = 9/14;
  // var = (0.1875 + (0.6 - 0.5625) + (9/14 - 0.5625)) / 4.
  const double variance = (0.1875 + 0.0375 + (9.0 / 14.0 - 0.5625)) / 4.0;
  EXPECT_NEAR(AucStandardError(0.75, 2, 2), std::sqrt(variance), 1e-12);
  EXPECT_TRUE(std::isnan(AucStandardError(0.75, 0, 2)));
  // More rows, less doubt.
  EXPECT_LT(AucStandardError(0.8, 2000, 8000), AucStandardError(0.8, 200, 800));
}

TEST(AveragePrecision, SumsPrecisionAtEachPositive) {
  // Positives at ranks 1, 2, 4, 7: precision 1, 1, 3/4, 4/7.
  EXPECT_NEAR(AveragePrecision(kScores, kLabels).value(), (1 + 1 + 0.75 + 4.0 / 7.0) / 4, 1e-15);
}

TEST(AveragePrecision, TreatsATiedGroupAsOneStep) {
  // All tied: one step with precision 2/4 at recall 1.
  EXPECT_DOUBLE_EQ(
      AveragePrecision(std::vector<double>{0.3, 0.3, 0.3, 0.3}, std::vector<float>{1, 0, 1, 0})
          .value(),
      0.5);
  EXPECT_TRUE(std::isnan(
      AveragePrecision(std::vector<double>{0.3, 0.4}, std::vector<float>{0, 0}).value()));
}

TEST(ExpectedCalibrationError, WeighsEachBinsGapByItsRows) {
  // One row per bin except bin 5 (0.55 and 0.5, both negative): sum over bins of
  // |sum of scores - positives| = 0.1 + 0.2 + 0.7 + 0.4 + 1.05 + 0.6 + 0.3 + 0.2 + 0.1 = 3.65.
  EXPECT_NEAR(ExpectedCalibrationError(kScores, kLabels).value(), 0.365, 1e-12);
  // Two bins: [0, 0.5) holds 0.4 .. 0.1 (1 positive, scores sum 1.0), [0.5, 1] the rest
  // (3 positives, scores sum 4.05).
  EXPECT_NEAR(ExpectedCalibrationError(kScores, kLabels, 2).value(), (0.0 + 1.05) / 10, 1e-12);
}

TEST(ExpectedCalibrationError, IsZeroWhenEachBinMatchesItsRate) {
  const std::vector<double> scores = {0.25, 0.25, 0.25, 0.25, 1.0};
  const std::vector<float> labels = {1, 0, 0, 0, 1};
  EXPECT_DOUBLE_EQ(ExpectedCalibrationError(scores, labels).value(), 0.0);
}

TEST(ExpectedCalibrationError, RefusesScoresThatAreNotProbabilities) {
  EXPECT_FALSE(
      ExpectedCalibrationError(std::vector<double>{1.5}, std::vector<float>{1}).has_value());
  EXPECT_FALSE(ExpectedCalibrationError(kScores, kLabels, 0).has_value());
}

TEST(TopFractionLift, ComparesTheTopSliceWithTheBaseRate) {
  // Top 10% = the 0.9 row, a positive: rate 1 against base 0.4.
  EXPECT_DOUBLE_EQ(TopFractionLift(kScores, kLabels, 0.1).value(), 2.5);
  // Top 25% = 2.5 rows: two positives and half of the 0.7 negative -> 2 / 2.5 = 0.8.
  EXPECT_DOUBLE_EQ(TopFractionLift(kScores, kLabels, 0.25).value(), 2.0);
  EXPECT_DOUBLE_EQ(TopFractionLift(kScores, kLabels, 1.0).value(), 1.0);
  EXPECT_FALSE(TopFractionLift(kScores, kLabels, 0.0).has_value());
  EXPECT_FALSE(TopFractionLift(kScores, kLabels, 1.5).has_value());
}

TEST(TopFractionLift, CountsATiedGroupAtTheEdgeInProportion) {
  // The top 10% (1 row) falls inside a tie of 4 rows holding 1 positive: 1/4 of a positive.
  std::vector<double> scores(10, 0.1);
  std::vector<float> labels(10, 0.0f);
  for (std::size_t i = 0; i < 4; ++i) scores[i] = 0.9;
  labels[0] = 1;
  labels[9] = 1;
  EXPECT_DOUBLE_EQ(TopFractionLift(scores, labels, 0.1).value(), 0.25 / 0.2);
}

TEST(ComputeBinaryMetrics, FillsEveryMetricFromOneCheck) {
  const BinaryMetrics m = ComputeBinaryMetrics(kScores, kLabels).value();
  EXPECT_EQ(m.rows, 10u);
  EXPECT_EQ(m.positives, 4u);
  EXPECT_DOUBLE_EQ(m.base_rate, 0.4);
  EXPECT_DOUBLE_EQ(m.auc, 20.0 / 24.0);
  EXPECT_DOUBLE_EQ(m.auc_standard_error, AucStandardError(20.0 / 24.0, 4, 6));
  EXPECT_NEAR(m.pr_auc, (1 + 1 + 0.75 + 4.0 / 7.0) / 4, 1e-15);
  EXPECT_NEAR(m.brier, (0.01 + 0.04 + 0.49 + 0.16 + 0.3025 + 0.25 + 0.36 + 0.09 + 0.04 + 0.01) / 10,
              1e-15);
  const double log_loss =
      -(std::log(0.9) + std::log(0.8) + std::log(0.3) + std::log(0.6) + std::log(0.45) +
        std::log(0.5) + std::log(0.4) + std::log(0.7) + std::log(0.8) + std::log(0.9)) /
      10;
  EXPECT_NEAR(m.log_loss, log_loss, 1e-12);
  EXPECT_NEAR(m.calibration_error, 0.365, 1e-12);
  EXPECT_DOUBLE_EQ(m.top_decile_lift, 2.5);
  EXPECT_FALSE(ComputeBinaryMetrics(std::vector<double>{-0.1}, std::vector<float>{0}).has_value());
}

}  // namespace
}  // namespace csml
