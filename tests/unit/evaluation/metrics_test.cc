#include "csml/training/metrics.h"

#include <cmath>
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

}  // namespace
}  // namespace csml
