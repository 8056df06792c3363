#include "csml/training/trainer.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/evaluation/metrics.h"
#include "csml/evaluation/quantile.h"
#include "csml/evaluation/reference_profile.h"
#include "csml/features/schema.h"
#include "csml/model/xgboost_booster.h"
#include "synthetic_data.h"

namespace csml {
namespace {

using testing::kTestAsOf;
using testing::MakeDataset;
using testing::SyntheticOptions;

TrainOptions FastOptions() {
  TrainOptions o;
  o.booster.eta = 0.3;
  o.booster.max_leaves = 8;
  o.booster.threads = 1;
  o.max_rounds = 60;
  o.early_stopping_rounds = 10;
  o.created_at = kTestAsOf + 3600;
  return o;
}

// Probabilities of a saved model for the given dataset rows.
std::vector<double> Predict(const std::string& model_json, const Dataset& d,
                            const std::vector<std::size_t>& rows) {
  auto booster = XgboostBooster::LoadJson(model_json).value();
  std::vector<double> x;
  for (std::size_t r : rows) {
    for (float v : d.data.features.Row(r)) x.push_back(v);
  }
  std::vector<double> out(rows.size());
  EXPECT_TRUE(booster.PredictDense(x, d.data.features.cols, out).has_value());
  return out;
}

std::vector<float> Labels(const Dataset& d, const std::vector<std::size_t>& rows) {
  std::vector<float> out;
  for (std::size_t r : rows) out.push_back(d.data.labels[r]);
  return out;
}

TEST(TrainModel, LearnsTheSignalAndRecordsWhatTheMetaNeeds) {
  const Dataset d = MakeDataset({});
  auto trained = TrainModel(d, FastOptions());
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  const ModelMeta& m = trained->meta;
  const TrainingReport& r = trained->report;
  EXPECT_EQ(m.algo, "xgb");
  EXPECT_EQ(m.created_at, kTestAsOf + 3600);
  EXPECT_EQ(m.features, FeatureEncoder::DefaultColumns());
  EXPECT_EQ(m.threshold_method, "validation_quantiles");
  EXPECT_EQ(m.window.as_of, kTestAsOf);
  EXPECT_EQ(m.window.from, kTestAsOf - 365 * kSecondsPerDay);
  EXPECT_EQ(m.window.days, 365);
  // Refit by default: the final model saw every row; validation rows are still counted.
  EXPECT_TRUE(r.refit);
  EXPECT_EQ(m.rows.train, static_cast<std::int64_t>(d.rows()));
  EXPECT_EQ(m.rows.validation, static_cast<std::int64_t>(r.split.validation.size()));
  EXPECT_GT(r.split.embargoed, 0u);
  EXPECT_TRUE(m.ValidateDraft().has_value()) << m.ValidateDraft().error().message;

  for (const char* key :
       {"auc", "auc_standard_error", "pr_auc", "logloss", "brier", "base_rate", "calibration_error",
        "top_decile_lift", "high_tier_precision", "high_tier_recall", "high_tier_lift"}) {
    ASSERT_TRUE(m.validation_metrics.count(key)) << key;
    EXPECT_TRUE(std::isfinite(m.validation_metrics.at(key))) << key;
  }
  EXPECT_GT(m.validation_metrics.at("auc"), 0.75);
  EXPECT_GT(m.validation_metrics.at("top_decile_lift"), 2.0);
  EXPECT_GT(m.train_metrics.at("auc"), 0.75);
  EXPECT_LE(r.best_round, r.rounds_run);
  EXPECT_GE(r.best_round, 1);

  // Importance puts a driver of churn first.
  ASSERT_FALSE(r.importance_gain.empty());
  const std::string& top = r.importance_gain.front().first;
  EXPECT_TRUE(top == "time_since_last_use_days" || top == "activity_7d" ||
              top == "failed_renewals_30d" || top == "usage_score")
      << top;
  for (const char* key :
       {"\"split\"", "\"embargoed_rows\"", "\"early_stopping\"", "\"final_model\"", "\"tiers\"",
        "\"churn_rate\"", "\"calibration\"", "\"feature_importance_gain\""}) {
    EXPECT_NE(m.extra_json.find(key), std::string::npos) << key;
  }
  // The reference profile: every row's features, the validation rows' served risk.
  ASSERT_TRUE(m.reference_profile.has_value());
  const ReferenceProfile& profile = *m.reference_profile;
  EXPECT_EQ(profile.rows, d.rows());
  EXPECT_EQ(profile.risk_rows, r.split.validation.size());
  const auto usage = static_cast<std::size_t>(NumericFeature::kUsageScore);
  EXPECT_EQ(profile.numeric[usage].edges.size(), 9u);
  double region_total = 0;
  for (const double share : profile.region) region_total += share;
  EXPECT_NEAR(region_total, 1.0, 1e-9);
  EXPECT_FALSE(profile.risk.edges.empty());
  // The served risk of the validation rows has no drift against its own reference.
  std::vector<RawFeatures> rows(r.split.validation.size());
  std::vector<double> risk = Predict(trained->model_json, d, r.split.validation);
  for (double& p : risk) p = m.calibration.Apply(p);
  EXPECT_LT(DriftOf(profile, rows, risk).risk_psi, 0.1);
  // Tier shares on validation follow the 70/20/10 quantiles.
  EXPECT_NEAR(r.tiers.of(Tier::kHigh).share, 0.1, 0.02);
  EXPECT_NEAR(r.tiers.of(Tier::kMedium).share, 0.2, 0.02);
}

TEST(TrainModel, ThresholdsAreTheValidationQuantilesOfTheModelsRisk) {
  const Dataset d = MakeDataset({});
  TrainOptions o = FastOptions();
  o.refit = RefitPolicy::kNone;  // then the served model is the one validated
  o.calibration = CalibrationMethod::kNone;
  auto trained = TrainModel(d, o);
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  const std::vector<double> risk =
      Predict(trained->model_json, d, trained->report.split.validation);
  EXPECT_NEAR(trained->meta.thresholds.medium, Quantile(risk, 0.7).value(), 1e-9);
  EXPECT_NEAR(trained->meta.thresholds.high, Quantile(risk, 0.9).value(), 1e-9);

  // And the recorded metrics are those of the same predictions.
  const std::vector<float> labels = Labels(d, trained->report.split.validation);
  const BinaryMetrics expected = ComputeBinaryMetrics(risk, labels).value();
  EXPECT_NEAR(trained->meta.validation_metrics.at("auc"), expected.auc, 1e-9);
  EXPECT_NEAR(trained->meta.validation_metrics.at("logloss"), expected.log_loss, 1e-6);
  EXPECT_NEAR(trained->meta.validation_metrics.at("brier"), expected.brier, 1e-6);
  EXPECT_EQ(trained->meta.rows.train,
            static_cast<std::int64_t>(trained->report.split.train.size()));
  EXPECT_NE(trained->meta.extra_json.find(R"("fit_on":"training_split")"), std::string::npos);
}

// Calibration (trainer.h step 3b): the map is fitted on the validation rows, recorded in the
// meta, and the tier thresholds are quantiles of the calibrated risk the server will compute.
TEST(TrainModel, CalibratesTheRiskAndTiersTheCalibratedRisk) {
  const Dataset d = MakeDataset({});
  TrainOptions o = FastOptions();
  o.refit = RefitPolicy::kNone;
  o.calibration = CalibrationMethod::kPlatt;
  auto trained = TrainModel(d, o);
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  const Calibration& c = trained->meta.calibration;
  ASSERT_EQ(c.method(), CalibrationMethod::kPlatt);
  EXPECT_EQ(trained->report.calibration_choice.calibration, c);
  const std::vector<double> raw = Predict(trained->model_json, d, trained->report.split.validation);
  const std::vector<float> labels = Labels(d, trained->report.split.validation);
  std::vector<double> risk;
  for (double p : raw) risk.push_back(c.Apply(p));
  EXPECT_NEAR(trained->meta.thresholds.medium, Quantile(risk, 0.7).value(), 1e-9);
  EXPECT_NEAR(trained->meta.thresholds.high, Quantile(risk, 0.9).value(), 1e-9);
  // The figures before calibration are the model's own; after, the cross-fitted risk's.
  EXPECT_NEAR(trained->report.validation_uncalibrated.log_loss,
              ComputeBinaryMetrics(raw, labels).value().log_loss, 1e-6);
  const auto& cross_fitted = trained->report.calibration_choice.cross_fitted;
  ASSERT_EQ(cross_fitted.size(), raw.size());
  EXPECT_NEAR(trained->meta.validation_metrics.at("logloss"),
              ComputeBinaryMetrics(cross_fitted, labels).value().log_loss, 1e-9);
  EXPECT_NE(trained->meta.extra_json.find(R"("method":"platt")"), std::string::npos);
  EXPECT_NE(trained->meta.extra_json.find(R"("table_before":)"), std::string::npos);
  EXPECT_NE(trained->meta.ToJson().find(R"("meta_format": 2)"), std::string::npos);
}

TEST(TrainModel, ChoosesTheCalibrationByCrossFittedLogLoss) {
  auto trained = TrainModel(MakeDataset({}), FastOptions());
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  const CalibrationChoice& c = trained->report.calibration_choice;
  ASSERT_TRUE(std::isfinite(c.logloss_none));
  double chosen = c.logloss_none;
  if (c.calibration.method() == CalibrationMethod::kPlatt) chosen = c.logloss_platt;
  if (c.calibration.method() == CalibrationMethod::kIsotonic) chosen = c.logloss_isotonic;
  // A map is kept only when it beats none by CalibrationChoiceOptions' margin, and then the
  // better of the two.
  const double bar = c.calibration.is_none()
                         ? c.logloss_none * (1 - CalibrationChoiceOptions{}.min_relative_gain)
                         : chosen;
  EXPECT_LE(chosen, c.logloss_none);
  if (std::isfinite(c.logloss_platt)) {
    EXPECT_LE(bar, c.logloss_platt + 1e-12);
  }
  if (std::isfinite(c.logloss_isotonic)) {
    EXPECT_LE(bar, c.logloss_isotonic + 1e-12);
  }
}

TEST(TrainModel, UsesFixedThresholdsWhenAsked) {
  TrainOptions o = FastOptions();
  o.thresholds.method = ThresholdOptions::Method::kFixed;
  o.thresholds.fixed = {0.4, 0.7};
  auto trained = TrainModel(MakeDataset({}), o);
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  EXPECT_EQ(trained->meta.thresholds.medium, 0.4);
  EXPECT_EQ(trained->meta.thresholds.high, 0.7);
  EXPECT_EQ(trained->meta.threshold_method, "fixed");
}

// The newest period follows the opposite rule. A time split judges the model on that period
// only, so the model (which learned the old rule) ranks it backwards; a random split would put
// mostly old-rule rows into validation and report a good AUC.
TEST(TrainModel, JudgesTheModelOnlyOnTheNewestPeriod) {
  SyntheticOptions options;
  options.weeks = 20;
  options.label_rule = [](const Snapshot& s, int week) {
    const bool idle = s.features.Get(NumericFeature::kTimeSinceLastUseDays) >= 20;
    return (week >= 16 ? !idle : idle) ? 1 : 0;
  };
  TrainOptions o = FastOptions();
  // The model's own ranking is judged; a calibration fitted on the reversed period would
  // flatten it (a monotone map cannot reverse a ranking).
  o.calibration = CalibrationMethod::kNone;
  auto trained = TrainModel(MakeDataset(options), o);
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  EXPECT_LT(trained->meta.validation_metrics.at("auc"), 0.1);
  EXPECT_GT(trained->meta.train_metrics.at("auc"), 0.9);
}

TEST(TrainModel, StopsEarlyAtTheBestRoundAndKeepsOnlyThoseTrees) {
  SyntheticOptions noisy;
  noisy.signal = 0.3;
  TrainOptions o = FastOptions();
  o.max_rounds = 400;
  o.refit = RefitPolicy::kNone;
  auto trained = TrainModel(MakeDataset(noisy), o);
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  const TrainingReport& r = trained->report;
  EXPECT_LT(r.rounds_run, 400);  // eta 0.3 on weak signal overfits long before
  EXPECT_EQ(r.rounds_run, r.best_round + o.early_stopping_rounds);
  auto booster = XgboostBooster::LoadJson(trained->model_json).value();
  EXPECT_EQ(booster.NumBoostedRounds().value(), r.best_round);
}

TEST(TrainModel, RefitsWithTheChosenNumberOfRounds) {
  auto trained = TrainModel(MakeDataset({}), FastOptions());
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  auto booster = XgboostBooster::LoadJson(trained->model_json).value();
  EXPECT_EQ(booster.NumBoostedRounds().value(), trained->report.best_round);
  EXPECT_NE(trained->meta.extra_json.find(R"("fit_on":"all_rows_in_window")"), std::string::npos);
}

TEST(TrainModel, IsDeterministicForAGivenSeedAndThreadCount) {
  const Dataset d = MakeDataset({});
  TrainOptions o = FastOptions();
  o.booster.threads = 2;
  o.booster.subsample = 0.8;  // randomness that the seed must pin down
  o.booster.seed = 42;
  auto a = TrainModel(d, o);
  auto b = TrainModel(d, o);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->model_json, b->model_json);
  EXPECT_EQ(a->meta.thresholds.medium, b->meta.thresholds.medium);
  o.booster.seed = 43;
  auto c = TrainModel(d, o);
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(a->model_json, c->model_json);
}

TEST(TrainModel, ReportsProgressEveryRound) {
  TrainOptions o = FastOptions();
  std::vector<TrainingProgress> seen;
  o.on_progress = [&seen](const TrainingProgress& p) { seen.push_back(p); };
  auto trained = TrainModel(MakeDataset({}), o);
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  const int es_rounds = trained->report.rounds_run;
  const int refit_rounds = trained->report.best_round;
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(es_rounds + refit_rounds));
  for (int i = 0; i < es_rounds; ++i) {
    EXPECT_EQ(seen[i].stage, TrainingProgress::Stage::kEarlyStopping);
    EXPECT_EQ(seen[i].round, i + 1);
    EXPECT_GE(seen[i].eta_seconds, 0.0);
  }
  EXPECT_EQ(seen.back().stage, TrainingProgress::Stage::kRefit);
  EXPECT_EQ(seen.back().round, refit_rounds);
  EXPECT_EQ(seen.back().eta_seconds, 0.0);
}

TEST(TrainModel, RefusesAValidationPeriodWithOneClass) {
  SyntheticOptions options;
  options.label_rule = [](const Snapshot& s, int week) {
    return week >= 16 ? 0 : (s.features.Get(NumericFeature::kUsageScore) < 0.3 ? 1 : 0);
  };
  auto trained = TrainModel(MakeDataset(options), FastOptions());
  ASSERT_FALSE(trained.has_value());
  EXPECT_EQ(trained.error().code, ErrorCode::kValidation);
  EXPECT_NE(trained.error().message.find("validation split"), std::string::npos)
      << trained.error().message;
  EXPECT_NE(trained.error().message.find("expected both labels"), std::string::npos);
}

TEST(TrainOptions, RefusesBadValuesNamingTheField) {
  EXPECT_TRUE(TrainOptions{}.Validate().has_value());
  const auto message = [](const TrainOptions& o) {
    auto s = o.Validate();
    return s ? std::string() : s.error().message;
  };
  TrainOptions o;
  o.max_rounds = 0;
  EXPECT_NE(message(o).find("max rounds"), std::string::npos);
  o = TrainOptions{};
  o.early_stopping_rounds = o.max_rounds + 1;
  EXPECT_NE(message(o).find("early stopping rounds"), std::string::npos);
  o = TrainOptions{};
  o.early_stopping_metric = "error";
  EXPECT_NE(message(o).find("early stopping metric"), std::string::npos);
  o = TrainOptions{};
  o.split.validation_fraction = 0.95;
  EXPECT_NE(message(o).find("validation fraction"), std::string::npos);
  o = TrainOptions{};
  o.booster.eta = 2;
  EXPECT_FALSE(o.Validate().has_value());
  EXPECT_FALSE(TrainModel(MakeDataset({}), o).has_value());
}

TEST(DefaultTrainingBoosterParams, GrowHistTreesLeafWise) {
  const BoosterParams p = DefaultTrainingBoosterParams();
  EXPECT_EQ(p.tree_method, "hist");
  EXPECT_EQ(p.grow_policy, "lossguide");
  EXPECT_TRUE(p.Validate().has_value());
}

}  // namespace
}  // namespace csml
