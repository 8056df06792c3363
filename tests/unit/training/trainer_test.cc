#include "csml/training/trainer.h"

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "csml/model/xgboost_predictor.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kAsOf = 1755853200;  // 2025-08-22T09:00:00Z

Snapshot MakeSnapshot(double days_idle, double usage, Region region, std::int8_t label, int i) {
  Snapshot s;
  s.user_id = "u_" + std::to_string(i);
  s.snapshot_ts = kAsOf - 40 * kSecondsPerDay;
  s.features.Set(NumericFeature::kActivity7d, days_idle >= 7 ? 0 : 3);
  s.features.Set(NumericFeature::kActivity30d, 10);
  s.features.Set(NumericFeature::kTimeSinceLastUseDays, days_idle);
  s.features.Set(NumericFeature::kFailedRenewals30d, 0);
  s.features.Set(NumericFeature::kTickets7d, 0);
  s.features.Set(NumericFeature::kPlanValue, 19.99);
  s.features.Set(NumericFeature::kUsageScore, usage);
  s.features.region = region;
  s.label = label;
  s.label_ts = kAsOf - kSecondsPerDay;
  return s;
}

// Customers idle for more than 14 days churn; usage and region are noise.
TrainingData MakeData(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> idle(0, 30);
  std::uniform_real_distribution<double> usage(0, 1);
  TrainingData data;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = idle(rng);
    data.window.records.push_back(MakeSnapshot(d, usage(rng), static_cast<Region>(i % 6),
                                               d > 14 ? 1 : 0, static_cast<int>(i)));
  }
  data.window.as_of = kAsOf;
  data.window.start = kAsOf - 90 * kSecondsPerDay;
  data.window.unlabeled = 5;
  data.window.immature = 2;
  data.window.outside_window = 11;
  data.invalid_records = 3;
  return data;
}

TrainOptions FastOptions() {
  TrainOptions o;
  o.rounds = 30;
  o.booster.eta = 0.3;
  o.booster.threads = 1;
  o.created_at = kAsOf + 3600;
  return o;
}

TEST(TrainModel, LearnsTheSignalAndFillsTheMeta) {
  const TrainingData data = MakeData(300, 1);
  auto trained = TrainModel(data, FastOptions());
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  const ModelMeta& m = trained->meta;
  EXPECT_EQ(m.algo, "xgb");
  EXPECT_EQ(m.created_at, kAsOf + 3600);
  EXPECT_EQ(m.features, FeatureEncoder::DefaultColumns());
  EXPECT_EQ(m.thresholds.medium, 0.4);
  EXPECT_EQ(m.thresholds.high, 0.7);
  EXPECT_EQ(m.threshold_method, "fixed");
  EXPECT_EQ(m.window.as_of, kAsOf);
  EXPECT_EQ(m.window.to, kAsOf);
  EXPECT_EQ(m.window.from, kAsOf - 90 * kSecondsPerDay);
  EXPECT_EQ(m.window.days, 90);
  EXPECT_EQ(m.rows.train, 300);
  EXPECT_EQ(m.rows.skipped_unlabeled, 7);
  EXPECT_EQ(m.rows.skipped_invalid, 3);
  EXPECT_EQ(m.rows.outside_window, 11);

  std::size_t positives = 0;
  for (const Snapshot& s : data.window.records) positives += (*s.label == 1);
  EXPECT_DOUBLE_EQ(m.base_rate, static_cast<double>(positives) / 300.0);
  EXPECT_GT(m.train_metrics.at("auc"), 0.98);
  EXPECT_LT(m.train_metrics.at("logloss"), 0.2);
  EXPECT_LT(m.train_metrics.at("brier"), 0.05);
  EXPECT_NE(m.params_json.find("\"rounds\":30"), std::string::npos) << m.params_json;
  EXPECT_TRUE(m.ValidateDraft().has_value());

  ASSERT_FALSE(trained->importance_gain.empty());
  EXPECT_EQ(trained->importance_gain.front().first, "time_since_last_use_days");
  EXPECT_NE(m.extra_json.find("feature_importance_gain"), std::string::npos);

  // The saved model scores by the recorded column order.
  auto predictor = XgboostPredictor::FromJson(trained->model_json);
  ASSERT_TRUE(predictor.has_value()) << predictor.error().message;
  auto encoder = FeatureEncoder::Create(m.features).value();
  std::vector<double> idle_row(encoder.num_columns());
  std::vector<double> active_row(encoder.num_columns());
  encoder.Encode(MakeSnapshot(25, 0.5, Region::kUS, 1, 0).features, idle_row);
  encoder.Encode(MakeSnapshot(2, 0.5, Region::kUS, 0, 0).features, active_row);
  EXPECT_GT((*predictor)->PredictRisk(idle_row).value(), 0.7);
  EXPECT_LT((*predictor)->PredictRisk(active_row).value(), 0.4);
}

TEST(TrainModel, IsDeterministicForAFixedSeed) {
  const TrainingData data = MakeData(120, 2);
  auto a = TrainModel(data, FastOptions());
  auto b = TrainModel(data, FastOptions());
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->model_json, b->model_json);
}

TEST(TrainModel, RefusesDataWithOneClassOrTooFewRecords) {
  TrainingData one_class = MakeData(50, 3);
  for (Snapshot& s : one_class.window.records) s.label = 0;
  auto r = TrainModel(one_class, FastOptions());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kValidation);
  EXPECT_NE(r.error().message.find("both labels"), std::string::npos) << r.error().message;

  TrainingData tiny = MakeData(1, 3);
  auto t = TrainModel(tiny, FastOptions());
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().message.find("at least 2"), std::string::npos);
}

TEST(TrainOptions, RefusesBadValuesNamingTheField) {
  TrainOptions o;
  EXPECT_TRUE(o.Validate().has_value());
  o.rounds = 0;
  auto rounds = o.Validate();
  ASSERT_FALSE(rounds.has_value());
  EXPECT_NE(rounds.error().message.find("rounds"), std::string::npos);
  o = TrainOptions{};
  o.booster.eta = 2;
  EXPECT_FALSE(o.Validate().has_value());
  o = TrainOptions{};
  o.thresholds = {0.9, 0.1};
  EXPECT_FALSE(o.Validate().has_value());
  EXPECT_FALSE(TrainModel(MakeData(10, 4), o).has_value());
}

TEST(TrainAndPublish, PublishesAVersionTheRegistryCanServe) {
  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() / ("csml-train-test-" + std::to_string(rd()));
  auto registry = Registry::Open(dir, RegistryOpenMode::kCreateIfMissing);
  ASSERT_TRUE(registry.has_value());
  auto meta = TrainAndPublish(MakeData(100, 5), FastOptions(), *registry);
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_EQ(meta->version, "risk-xgb-2025-08-22-1000");
  EXPECT_EQ(registry->ResolveServed().value(), meta->version);
  auto bytes = registry->ReadModelBytes(registry->ReadMeta(meta->version).value());
  ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
  EXPECT_TRUE(XgboostPredictor::FromJson(*bytes).has_value());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace csml
