// The evaluation report on the ten-row fixture of ten_row_evaluation.h, every figure checked
// against the hand computation written next to it.
#include "csml/reporting/evaluation_report.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ten_row_evaluation.h"

namespace csml {
namespace {

using testing::FixtureMeta;
using testing::FixtureRows;
using testing::FixtureSource;

EvaluationReport Build(const ModelMeta& meta = FixtureMeta(),
                       const EvaluationOptions& options = EvaluationOptions{}) {
  const std::vector<EvaluatedRow> rows = FixtureRows();
  auto report = BuildEvaluationReport(rows, meta, FixtureSource(), options);
  EXPECT_TRUE(report.has_value()) << report.error().message;
  return report ? *report : EvaluationReport{};
}

TEST(EvaluationReport, ComputesTheFiguresOfTheHandCheckedFixture) {
  const EvaluationReport r = Build();
  EXPECT_EQ(r.metrics.rows, 10u);
  EXPECT_EQ(r.metrics.positives, 4u);
  EXPECT_DOUBLE_EQ(r.metrics.base_rate, 0.4);
  EXPECT_NEAR(r.metrics.auc, 20.0 / 24.0, 1e-12);
  // Average precision: recall steps of 1/4 at precisions 1, 1, 3/4, 4/7.
  EXPECT_NEAR(r.metrics.pr_auc, 0.25 * (1 + 1 + 0.75 + 4.0 / 7.0), 1e-12);
  // Squared errors .0064 .0361 .5329 .1296 .3025 .2116 .3969 .0784 .0361 .0025.
  EXPECT_NEAR(r.metrics.brier, 0.1733, 1e-12);
  // One row per 0.1 bin: |risk - label| averaged.
  EXPECT_NEAR(r.metrics.calibration_error, 0.352, 1e-12);
  // The top 10% is the one row at .92, churned: 1 / 0.4.
  EXPECT_NEAR(r.metrics.top_decile_lift, 2.5, 1e-12);
  const double log_loss =
      -(std::log(0.92) + std::log(0.81) + std::log(0.64) + std::log(0.37) + std::log(0.27) +
        std::log(0.45) + std::log(0.54) + std::log(0.72) + std::log(0.81) + std::log(0.95)) /
      10;
  EXPECT_NEAR(r.metrics.log_loss, log_loss, 1e-12);
}

TEST(EvaluationReport, CountsTiersFromEachRowsTierAsScoreAnswers) {
  const EvaluationReport r = Build();
  const TierStats& high = r.tiers.of(Tier::kHigh);
  const TierStats& medium = r.tiers.of(Tier::kMedium);
  const TierStats& low = r.tiers.of(Tier::kLow);
  EXPECT_EQ(high.rows, 3u);
  EXPECT_EQ(high.positives, 2u);
  EXPECT_DOUBLE_EQ(high.share, 0.3);
  EXPECT_DOUBLE_EQ(high.churn_rate, 2.0 / 3.0);
  EXPECT_EQ(medium.rows, 3u);
  EXPECT_EQ(medium.positives, 1u);
  EXPECT_EQ(low.rows, 4u);
  EXPECT_EQ(low.positives, 1u);
  EXPECT_DOUBLE_EQ(low.churn_rate, 0.25);
  EXPECT_DOUBLE_EQ(r.tiers.high_recall, 0.5);
  EXPECT_NEAR(r.tiers.high_lift, (2.0 / 3.0) / 0.4, 1e-12);

  // The tier a row carries wins over its risk: a row scored 0.69996 is rounded to 0.7 by
  // /score and is high there, so it must count as high here.
  std::vector<EvaluatedRow> rows = FixtureRows();
  rows[3].tier = Tier::kHigh;
  auto moved = BuildEvaluationReport(rows, FixtureMeta(), FixtureSource(), EvaluationOptions{});
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->tiers.of(Tier::kHigh).rows, 4u);
  EXPECT_EQ(moved->tiers.of(Tier::kMedium).rows, 2u);
}

TEST(EvaluationReport, CountsReasonsInTheContractsOrder) {
  const EvaluationReport r = Build();
  ASSERT_EQ(r.reasons.size(), 5u);
  EXPECT_EQ(r.reasons[0].reason, Reason::kInactive14d);
  EXPECT_EQ(r.reasons[0].rows, 2u);
  EXPECT_EQ(r.reasons[0].churned, 2u);
  EXPECT_DOUBLE_EQ(r.reasons[0].share, 0.2);
  EXPECT_DOUBLE_EQ(r.reasons[0].churn_rate, 1.0);
  EXPECT_DOUBLE_EQ(r.reasons[0].share_of_churned, 0.5);
  EXPECT_EQ(r.reasons[1].reason, Reason::kPaymentIssueRecent);
  EXPECT_EQ(r.reasons[1].rows, 1u);
  EXPECT_DOUBLE_EQ(r.reasons[1].share_of_churned, 0.25);
  EXPECT_EQ(r.reasons[2].rows, 0u);
  EXPECT_TRUE(std::isnan(r.reasons[2].churn_rate));
  EXPECT_EQ(r.reasons[4].reason, Reason::kGeneralRiskFactors);
  EXPECT_EQ(r.reasons[4].rows, 8u);
  EXPECT_EQ(r.reasons[4].churned, 2u);
  EXPECT_DOUBLE_EQ(r.reasons[4].churn_rate, 0.25);
}

TEST(EvaluationReport, DerivesDecileLiftFromTheGainCurve) {
  const EvaluationReport r = Build();
  ASSERT_EQ(r.deciles.size(), 10u);
  // Ten rows: each decile is one row, so its lift is label / base rate.
  const std::vector<double> lifts = {2.5, 2.5, 0, 2.5, 0, 0, 2.5, 0, 0, 0};
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_NEAR(r.deciles[i].lift, lifts[i], 1e-12) << "decile " << i + 1;
    EXPECT_EQ(r.deciles[i].decile, static_cast<int>(i + 1));
  }
  EXPECT_NEAR(r.deciles[2].captured, 0.5, 1e-12);
  EXPECT_NEAR(r.deciles[2].cumulative_lift, 0.5 / 0.3, 1e-12);
  EXPECT_NEAR(r.deciles[9].cumulative_lift, 1.0, 1e-12);
}

TEST(EvaluationReport, HistogramsScoresByLabelUpToTheTopScoreRoundedUpToATenth) {
  EvaluationOptions options;
  options.score_histogram_bins = 4;
  const EvaluationReport r = Build(FixtureMeta(), options);
  // Top score .92 -> the axis ends at 1.0; bins of 0.25.
  EXPECT_EQ(r.histogram.edges, (std::vector<double>{0, 0.25, 0.5, 0.75, 1.0}));
  EXPECT_EQ(r.histogram.retained, (std::vector<std::size_t>{2, 2, 2, 0}));
  EXPECT_EQ(r.histogram.churned, (std::vector<std::size_t>{0, 1, 1, 2}));
}

TEST(EvaluationReport, ComputesScoreQuantilesPerOutcome) {
  const EvaluationReport r = Build();
  // Type 7: the median of ten values is the mean of the 5th and 6th.
  EXPECT_NEAR(r.quantiles.all[2], (0.46 + 0.55) / 2, 1e-12);
  EXPECT_NEAR(r.quantiles.all[0], 0.05 + 0.9 * (0.19 - 0.05), 1e-12);
  EXPECT_NEAR(r.quantiles.churned[2], (0.64 + 0.81) / 2, 1e-12);
  EXPECT_NEAR(r.quantiles.retained[2], (0.28 + 0.46) / 2, 1e-12);
}

TEST(EvaluationReport, KeepsEveryCurvePointOfASmallCurveAndThinsALongOne) {
  const EvaluationReport full = Build();
  EXPECT_EQ(full.roc.size(), 11u);  // ten distinct scores and the start
  EXPECT_EQ(full.roc_points_total, 11u);
  EXPECT_EQ(full.precision_recall.size(), 10u);
  EXPECT_EQ(full.calibration.size(), 10u);
  EXPECT_EQ(full.gain.size(), 10u);

  EvaluationOptions options;
  options.max_curve_points = 3;
  const EvaluationReport thin = Build(FixtureMeta(), options);
  ASSERT_EQ(thin.roc.size(), 3u);
  EXPECT_EQ(thin.roc_points_total, 11u);
  EXPECT_TRUE(std::isinf(thin.roc[0].threshold));
  // The middle point is after the five riskiest rows: 3 of 4 churners, 2 of 6 retained.
  EXPECT_DOUBLE_EQ(thin.roc[1].threshold, 0.55);
  EXPECT_DOUBLE_EQ(thin.roc[1].true_positive_rate, 0.75);
  EXPECT_DOUBLE_EQ(thin.roc[1].false_positive_rate, 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(thin.roc[2].threshold, 0.05);
}

TEST(EvaluationReport, ReadsTrainingFiguresAndCountsRowsTheModelMayHaveSeen) {
  const EvaluationReport r = Build();
  EXPECT_DOUBLE_EQ(r.training.auc, 0.85);
  EXPECT_EQ(r.training.validation_rows, 500);
  ASSERT_TRUE(r.training.tiers.has_value());
  EXPECT_EQ(r.training.tiers->of(Tier::kHigh).rows, 50u);
  EXPECT_DOUBLE_EQ(r.training.tiers->of(Tier::kMedium).churn_rate, 0.4);
  ASSERT_EQ(r.importance.size(), 3u);
  EXPECT_EQ(r.importance[0].feature, "time_since_last_use_days");
  EXPECT_DOUBLE_EQ(r.importance[0].share, 0.6);
  EXPECT_EQ(r.importance[2].feature, "plan_value");
  // Training window (0, 1250]: label_ts 1000, 1100 and 1200.
  EXPECT_EQ(r.rows_in_training_window, 3u);
}

TEST(EvaluationReport, PassesWhenEveryFigureIsWithinTolerance) {
  const EvaluationReport r = Build();
  EXPECT_TRUE(r.passed);
  ASSERT_EQ(r.checks.size(), 7u);  // min_auc and six comparisons (base rate is not checked)
  EXPECT_EQ(r.checks[0].name, "min_auc");
  EXPECT_EQ(r.checks[1].name, "auc_vs_training");
  for (const EvaluationCheck& c : r.checks) EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
  const MetricComparison* base = r.FindComparison("base_rate");
  ASSERT_NE(base, nullptr);
  EXPECT_FALSE(base->checked);
  EXPECT_NEAR(base->change(), 0.05, 1e-12);
}

TEST(EvaluationReport, FailsBelowTheMinimumAuc) {
  EvaluationOptions options;
  options.min_auc = 0.9;
  const EvaluationReport r = Build(FixtureMeta(), options);
  EXPECT_FALSE(r.passed);
  EXPECT_FALSE(r.checks[0].passed);
  EXPECT_NE(r.checks[0].detail.find("is below the minimum 0.9000"), std::string::npos)
      << r.checks[0].detail;
}

TEST(EvaluationReport, FailsTheAucCheckWhenTheRowsHoldOneClass) {
  std::vector<EvaluatedRow> rows = FixtureRows();
  for (EvaluatedRow& row : rows) row.label = 0;
  auto r = BuildEvaluationReport(rows, FixtureMeta(), FixtureSource(), EvaluationOptions{});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(std::isnan(r->metrics.auc));
  EXPECT_FALSE(r->passed);
  EXPECT_NE(r->checks[0].detail.find("all 10 evaluated rows are retained"), std::string::npos)
      << r->checks[0].detail;
}

TEST(EvaluationReport, ChecksOnlyTheMinimumAucForAModelWithoutTrainingFigures) {
  ModelMeta meta = FixtureMeta();
  meta.validation_metrics.clear();
  meta.extra_json = "{}";
  const EvaluationReport r = Build(meta);
  EXPECT_TRUE(r.passed);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_FALSE(r.training.tiers.has_value());
  EXPECT_TRUE(r.importance.empty());
  EXPECT_TRUE(r.training.calibration.empty());
  for (const MetricComparison& c : r.comparisons) EXPECT_FALSE(c.checked) << c.key;
}

struct DegradationCase {
  const char* metric;
  double training;
  double relative_tolerance;
  bool degraded;
};

class EvaluationReportDegradation : public ::testing::TestWithParam<DegradationCase> {};

// Fixture figures: AUC 0.8333, PR-AUC 0.8304, log loss 0.5049, Brier 0.1733, calibration
// error 0.352, top-decile lift 2.5.
TEST_P(EvaluationReportDegradation, FlagsAFigureWorseThanTrainingBeyondItsTolerance) {
  const DegradationCase& c = GetParam();
  ModelMeta meta = FixtureMeta();
  meta.validation_metrics[c.metric] = c.training;
  EvaluationOptions options;
  options.max_relative_change = c.relative_tolerance;
  const EvaluationReport r = Build(meta, options);
  const MetricComparison* m = r.FindComparison(c.metric);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->checked);
  EXPECT_EQ(m->degraded, c.degraded) << m->label << " test " << m->test << " training "
                                     << m->training << " allowed " << m->allowed_worsening();
  EXPECT_EQ(r.passed, !c.degraded);
}

INSTANTIATE_TEST_SUITE_P(
    Table, EvaluationReportDegradation,
    ::testing::Values(
        // AUC: absolute 0.05 below training.
        DegradationCase{"auc", 0.88, 0.25, false}, DegradationCase{"auc", 0.89, 0.25, true},
        DegradationCase{"auc", 20.0 / 24.0 + 0.05, 0.25, false},  // exactly at the limit
        // PR-AUC falls: relative, here 2%: limit training > 0.8304 / 0.98 = 0.8473.
        DegradationCase{"pr_auc", 0.84, 0.02, false}, DegradationCase{"pr_auc", 0.86, 0.02, true},
        // Log loss rises: training < 0.5049 / 1.25 = 0.4039 is degraded.
        DegradationCase{"logloss", 0.41, 0.25, false}, DegradationCase{"logloss", 0.40, 0.25, true},
        // Brier rises: training < 0.1733 / 1.25 = 0.13864.
        DegradationCase{"brier", 0.14, 0.25, false}, DegradationCase{"brier", 0.13, 0.25, true},
        // Calibration error rises: absolute 0.05, training < 0.302.
        DegradationCase{"calibration_error", 0.31, 0.25, false},
        DegradationCase{"calibration_error", 0.30, 0.25, true},
        // Top-decile lift falls: training > 2.5 / 0.75 = 3.333.
        DegradationCase{"top_decile_lift", 3.3, 0.25, false},
        DegradationCase{"top_decile_lift", 3.4, 0.25, true}));

struct BadOptionsCase {
  const char* field;
  EvaluationOptions options;
};

class EvaluationOptionsValidation : public ::testing::TestWithParam<BadOptionsCase> {};

TEST_P(EvaluationOptionsValidation, RefusesAnOptionOutsideItsRangeNamingIt) {
  const Status s = GetParam().options.Validate();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find(GetParam().field), std::string::npos) << s.error().message;
  const std::vector<EvaluatedRow> rows = FixtureRows();
  EXPECT_FALSE(
      BuildEvaluationReport(rows, FixtureMeta(), FixtureSource(), GetParam().options).has_value());
}

EvaluationOptions With(void (*change)(EvaluationOptions&)) {
  EvaluationOptions o;
  change(o);
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Table, EvaluationOptionsValidation,
    ::testing::Values(
        BadOptionsCase{"min_auc", With([](EvaluationOptions& o) { o.min_auc = 1.5; })},
        BadOptionsCase{"min_auc", With([](EvaluationOptions& o) { o.min_auc = std::nan(""); })},
        BadOptionsCase{"max_auc_drop", With([](EvaluationOptions& o) { o.max_auc_drop = -0.1; })},
        BadOptionsCase{"max_calibration_error_rise",
                       With([](EvaluationOptions& o) { o.max_calibration_error_rise = INFINITY; })},
        BadOptionsCase{"max_relative_change",
                       With([](EvaluationOptions& o) { o.max_relative_change = -1; })},
        BadOptionsCase{"calibration_bins",
                       With([](EvaluationOptions& o) { o.calibration_bins = 0; })},
        BadOptionsCase{"score_histogram_bins",
                       With([](EvaluationOptions& o) { o.score_histogram_bins = 0; })},
        BadOptionsCase{"max_curve_points",
                       With([](EvaluationOptions& o) { o.max_curve_points = 1; })}));

TEST(EvaluationReport, RefusesNoRowsAndRowsThatAreNotProbabilities) {
  const std::vector<EvaluatedRow> none;
  auto empty = BuildEvaluationReport(none, FixtureMeta(), FixtureSource(), EvaluationOptions{});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);

  std::vector<EvaluatedRow> rows = FixtureRows();
  rows[4].risk = std::nan("");
  auto nan = BuildEvaluationReport(rows, FixtureMeta(), FixtureSource(), EvaluationOptions{});
  ASSERT_FALSE(nan.has_value());
  EXPECT_EQ(nan.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(nan.error().message.find("4"), std::string::npos) << nan.error().message;
}

TEST(TrainingFigures, RefusesARecordedFigureOfTheWrongTypeNamingTheKey) {
  ModelMeta meta = FixtureMeta();
  meta.extra_json = R"({"tiers":{"validation":{"low":{"rows":"many"}}}})";
  auto bad = ReadTrainingFigures(meta);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kParse);
  EXPECT_NE(bad.error().message.find("extra.tiers.validation.low.rows"), std::string::npos)
      << bad.error().message;

  meta.extra_json = R"({"feature_importance_gain":{"usage_score":true}})";
  auto importance = ReadTrainingFigures(meta);
  ASSERT_FALSE(importance.has_value());
  EXPECT_NE(importance.error().message.find("feature_importance_gain.usage_score"),
            std::string::npos)
      << importance.error().message;

  meta.extra_json = R"({"calibration":{"table":{}}})";
  EXPECT_FALSE(ReadTrainingFigures(meta).has_value());
  meta.extra_json = "[1]";
  EXPECT_FALSE(ReadTrainingFigures(meta).has_value());
}

TEST(TrainingFigures, ReadsNullFiguresAsNotRecorded) {
  ModelMeta meta = FixtureMeta();
  meta.extra_json = R"({"calibration":{"table":[{"lower":0.9,"upper":1,"rows":0,"churned":0,
      "mean_risk":null,"churn_rate":null}]}})";
  auto figures = ReadTrainingFigures(meta);
  ASSERT_TRUE(figures.has_value()) << figures.error().message;
  ASSERT_EQ(figures->calibration.size(), 1u);
  EXPECT_TRUE(std::isnan(figures->calibration[0].mean_score));
  EXPECT_EQ(figures->calibration[0].rows, 0u);
}

TEST(ThinnedIndices, KeepsTheEndsAndEvenlySpacedPointsBetween) {
  EXPECT_EQ(ThinnedIndices(5, 10), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ThinnedIndices(11, 3), (std::vector<std::size_t>{0, 5, 10}));
  EXPECT_EQ(ThinnedIndices(10, 4), (std::vector<std::size_t>{0, 3, 6, 9}));
  EXPECT_EQ(ThinnedIndices(1, 2), (std::vector<std::size_t>{0}));
  EXPECT_TRUE(ThinnedIndices(0, 2).empty());
  const std::vector<std::size_t> many = ThinnedIndices(100'001, 201);
  ASSERT_EQ(many.size(), 201u);
  EXPECT_EQ(many.back(), 100'000u);
  for (std::size_t i = 1; i < many.size(); ++i) EXPECT_GT(many[i], many[i - 1]);
}

}  // namespace
}  // namespace csml
