#include "csml/serving/model_loader.h"

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/core/json_writer.h"
#include "csml/reasons/reasons.h"
#include "csml/serving/batch_scorer.h"
#include "testing/feature_rows.h"
#include "testing/files.h"
#include "testing/temp_registry.h"

namespace csml {
namespace {

using testing::ReadWholeFile;

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth";

// A fresh registry directory per test, removed afterwards.
class ModelLoaderTest : public testing::TempRegistryTest {
 protected:
  ModelMeta Draft() const {
    ModelMeta draft;
    draft.algo = "xgb";
    draft.created_at = 1755853200;  // 2025-08-22T09:00:00Z
    draft.features = FeatureEncoder::DefaultColumns();
    draft.thresholds = Thresholds{0.35, 0.65};
    return draft;
  }

  ModelMeta Publish(const ModelMeta& draft) {
    auto meta = registry_->Publish(ReadWholeFile(kFixture / "model.json"), draft);
    EXPECT_TRUE(meta.has_value()) << meta.error().message;
    return meta.value_or(ModelMeta{});
  }
};

RawFeatures FeaturesFrom(simdjson::dom::object json) {
  RawFeatures f;
  for (auto [key, value] : json) {
    NumericFeature feature{};
    if (FindNumericFeature(key, &feature)) {
      if (!value.is_null()) f.Set(feature, value.get_double().value());
    } else if (key == "region" && !value.is_null()) {
      f.region = ParseRegion(value.get_string().value());
    }
  }
  return f;
}

TEST_F(ModelLoaderTest, LoadsAPublishedVersionThatScoresAsXgboostDoes) {
  const ModelMeta meta = Publish(Draft());
  auto model = LoadServingModel(*registry_, meta.version);
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ((*model)->version(), meta.version);
  EXPECT_EQ((*model)->thresholds().medium, 0.35);
  EXPECT_EQ((*model)->thresholds().high, 0.65);

  simdjson::dom::parser parser;
  const simdjson::padded_string cases(ReadWholeFile(kFixture / "cases.json"));
  int checked = 0;
  for (simdjson::dom::element c : parser.parse(cases).get_array()) {
    const RawFeatures features = FeaturesFrom(c["features"].get_object().value());
    const double expected = c["expected_risk"].get_double().value();
    Result<ScoreResult> r = (*model)->Score(features);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    // Rounded to 4 decimals: within half a unit of the last place (plus float32 noise).
    EXPECT_NEAR(r->risk, expected, 0.00005 + 1e-6);
    EXPECT_EQ(r->tier, (Thresholds{0.35, 0.65}.Classify(r->risk)));
    ++checked;
  }
  EXPECT_EQ(checked, 200);
}

// /score?explain=true's one pass (ScoreExplained) gives what Score and Explain give apart, bit
// for bit: risk, tier, reasons, every contribution, the baseline and the margin.
TEST_F(ModelLoaderTest, ScoreExplainedIsScoreAndExplainAtOnce) {
  const ModelMeta meta = Publish(Draft());
  auto model = LoadServingModel(*registry_, meta.version);
  ASSERT_TRUE(model.has_value()) << model.error().message;
  ASSERT_TRUE((*model)->can_explain());
  simdjson::dom::parser parser;
  const simdjson::padded_string cases(ReadWholeFile(kFixture / "cases.json"));
  int checked = 0;
  for (simdjson::dom::element c : parser.parse(cases).get_array()) {
    const RawFeatures features = FeaturesFrom(c["features"].get_object().value());
    const Result<ScoreResult> alone = (*model)->Score(features);
    const Result<ScoreExplanation> explained_alone = (*model)->Explain(features);
    ScoreExplanation explanation;
    const Result<ScoreResult> both = (*model)->ScoreExplained(features, &explanation);
    ASSERT_TRUE(alone.has_value() && explained_alone.has_value() && both.has_value());
    EXPECT_EQ(both->risk, alone->risk);
    EXPECT_EQ(both->tier, alone->tier);
    EXPECT_EQ(both->reasons, alone->reasons);
    ASSERT_EQ(explanation.num_columns, explained_alone->num_columns);
    for (std::size_t i = 0; i < explanation.num_columns; ++i) {
      EXPECT_EQ(explanation.contributions[i], explained_alone->contributions[i]);
    }
    EXPECT_EQ(explanation.baseline, explained_alone->baseline);
    EXPECT_EQ(explanation.margin, explained_alone->margin);
    ++checked;
  }
  EXPECT_EQ(checked, 200);
}

// Every scoring path (POST /score and /score/batch through ServingModel::Score, csml predict and
// csml test through BatchScorer) gives risk = calibration(model probability), the probability
// itself still the library's, and the same tier.
TEST_F(ModelLoaderTest, EveryScoringPathAppliesTheVersionsCalibration) {
  const ModelMeta plain = Publish(Draft());
  ModelMeta calibrated_draft = Draft();
  calibrated_draft.created_at += 3600;
  calibrated_draft.calibration = Calibration::Platt(0.6, -0.4).value();
  const ModelMeta calibrated = Publish(calibrated_draft);
  ASSERT_EQ(calibrated.calibration, calibrated_draft.calibration);

  auto raw_model = LoadServingModel(*registry_, plain.version);
  auto loaded = LoadVersion(*registry_, calibrated.version);
  ASSERT_TRUE(raw_model.has_value()) << raw_model.error().message;
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const ServingModel& model = *loaded->model;
  EXPECT_EQ(loaded->meta.calibration, calibrated_draft.calibration);
  EXPECT_EQ(model.calibration(), calibrated_draft.calibration);
  auto batch = BatchScorer::ForModel(loaded->model);
  ASSERT_TRUE(batch.has_value());

  simdjson::dom::parser parser;
  const simdjson::padded_string cases(ReadWholeFile(kFixture / "cases.json"));
  std::vector<Snapshot> snapshots;
  std::vector<double> expected_probability;
  for (simdjson::dom::element c : parser.parse(cases).get_array()) {
    Snapshot snapshot;
    snapshot.user_id = fmt::format("u{}", snapshots.size());
    snapshot.features = FeaturesFrom(c["features"].get_object().value());
    snapshots.push_back(snapshot);
    expected_probability.push_back(c["expected_risk"].get_double().value());
  }
  std::vector<BatchScore> scores(snapshots.size());
  ASSERT_TRUE(batch->Score(snapshots, scores, BatchScoringOptions{}));
  int changed = 0;
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    std::array<double, ServingModel::kMaxColumns> row{};
    const std::span<double> encoded(row.data(), model.encoder().num_columns());
    model.encoder().Encode(snapshots[i].features, encoded);
    const double probability = model.predictor().PredictRisk(encoded).value();
    // The raw probability keeps parity with XGBoost (the fixture's expected risk).
    EXPECT_NEAR(probability, expected_probability[i], 1e-6);
    const double risk = calibrated_draft.calibration.Apply(probability);
    const Result<ScoreResult> served = model.Score(snapshots[i].features);
    ASSERT_TRUE(served.has_value()) << served.error().message;
    EXPECT_EQ(served->risk, RoundTo(risk, 4));
    EXPECT_EQ(served->tier, model.thresholds().Classify(RoundTo(risk, 4)));
    EXPECT_EQ(scores[i].risk, risk);
    EXPECT_EQ(scores[i].model_probability, probability);
    EXPECT_EQ(scores[i].tier, served->tier);
    const Result<ScoreResult> uncalibrated = (*raw_model)->Score(snapshots[i].features);
    ASSERT_TRUE(uncalibrated.has_value());
    EXPECT_EQ(uncalibrated->risk, RoundTo(probability, 4));
    if (uncalibrated->risk != served->risk) ++changed;
  }
  EXPECT_GT(changed, 100);  // the calibration is not the identity on these rows
}

// Reasons: the version's meta.json setting (extra.reasons), overridden by LoadOptions; a
// catalog in the meta is the one used; a broken one refuses the version.
TEST_F(ModelLoaderTest, ReasonsFollowTheMetaUnlessTheCallerChooses) {
  const ModelMeta rules = Publish(Draft());
  ModelMeta with_model = Draft();
  with_model.created_at += 3600;
  const ReasonCatalog only_plan =
      ReasonCatalog::FromJson(
          R"({"format":1,"version":"only-plan-1","entries":[{"column":"plan_value","when":">=","value":0,"code":"high_plan_value"}]})")
          .value();
  with_model.extra_json =
      R"({"reasons":)" + ReasonSettings{ReasonMode::kModel, only_plan}.ToJson() + "}";
  const ModelMeta model = Publish(with_model);

  auto a = LoadServingModel(*registry_, rules.version);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ((*a)->reason_mode(), ReasonMode::kRules);
  auto b = LoadServingModel(*registry_, model.version);
  ASSERT_TRUE(b.has_value()) << b.error().message;
  EXPECT_EQ((*b)->reason_mode(), ReasonMode::kModel);
  EXPECT_EQ((*b)->reason_catalog_version(), "only-plan-1");
  auto forced =
      LoadServingModel(*registry_, model.version, LoadOptions{ReasonMode::kRules, std::nullopt});
  ASSERT_TRUE(forced.has_value());
  EXPECT_EQ((*forced)->reason_mode(), ReasonMode::kRules);
  auto defaulted =
      LoadServingModel(*registry_, rules.version, LoadOptions{ReasonMode::kModel, std::nullopt});
  ASSERT_TRUE(defaulted.has_value());
  EXPECT_EQ((*defaulted)->reason_catalog_version(), "csml-default-1");

  // The seed customer: rules give the seed's three codes; the one-entry catalog can only say
  // high_plan_value, and does exactly when plan_value's contribution raised the risk.
  const RawFeatures seed = testing::SeedFeatures();
  const ScoreResult by_rules = (*a)->Score(seed).value();
  EXPECT_EQ(by_rules.reasons, ExplainRisk(seed));
  const ScoreResult by_model = (*b)->Score(seed).value();
  const ScoreExplanation e = (*b)->Explain(seed).value();
  const auto& columns = (*b)->encoder().column_names();
  const std::size_t plan = static_cast<std::size_t>(
      std::find(columns.begin(), columns.end(), "plan_value") - columns.begin());
  ReasonSet expected;
  expected.Add(e.contributions[plan] > 0 ? Reason::kHighPlanValue : Reason::kGeneralRiskFactors);
  EXPECT_EQ(by_model.reasons, expected);
  // The batch path (ScoreMany) agrees with Score.
  const RawFeatures* rows[] = {&seed};
  Result<ScoreResult> many[1];
  (*b)->ScoreMany(rows, many);
  ASSERT_TRUE(many[0].has_value());
  EXPECT_EQ(many[0]->reasons, by_model.reasons);

  ModelMeta broken = Draft();
  broken.created_at += 7200;
  broken.extra_json =
      R"({"reasons":{"mode":"model","catalog":{"format":1,"version":"x","entries":[{"column":"plan_value","when":"<","value":1,"code":"made_up"}]}}})";
  const ModelMeta bad = Publish(broken);
  auto refused = LoadServingModel(*registry_, bad.version);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("extra.reasons.catalog"), std::string::npos)
      << refused.error().message;
}

TEST_F(ModelLoaderTest, LoadServedModelPicksThePromotedVersion) {
  const ModelMeta first = Publish(Draft());
  ModelMeta later = Draft();
  later.created_at += 3600;
  const ModelMeta second = Publish(later);
  auto newest = LoadServedModel(*registry_);
  ASSERT_TRUE(newest.has_value()) << newest.error().message;
  EXPECT_EQ((*newest)->version(), second.version);
  ASSERT_TRUE(registry_->Promote(first.version));
  auto promoted = LoadServedModel(*registry_);
  ASSERT_TRUE(promoted.has_value());
  EXPECT_EQ((*promoted)->version(), first.version);
}

TEST_F(ModelLoaderTest, AnEmptyRegistryHasNothingToServe) {
  auto model = LoadServedModel(*registry_);
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code, ErrorCode::kNotFound);
}

TEST_F(ModelLoaderTest, RefusesAModelWhoseBytesChanged) {
  const ModelMeta meta = Publish(Draft());
  std::string bytes = ReadWholeFile(registry_->ModelPath(meta));
  bytes[bytes.size() / 2] = bytes[bytes.size() / 2] == '1' ? '2' : '1';
  std::ofstream(registry_->ModelPath(meta), std::ios::binary | std::ios::trunc) << bytes;
  auto model = LoadServingModel(*registry_, meta.version);
  ASSERT_FALSE(model.has_value());
  EXPECT_NE(model.error().message.find(meta.version), std::string::npos) << model.error().message;
}

TEST_F(ModelLoaderTest, RefusesAMetaWhoseFeatureOrderIsNotTheModels) {
  ModelMeta draft = Draft();
  std::swap(draft.features[0], draft.features[1]);
  const ModelMeta meta = Publish(draft);
  auto model = LoadServingModel(*registry_, meta.version);
  ASSERT_FALSE(model.has_value());
  EXPECT_NE(model.error().message.find("feature column 0"), std::string::npos)
      << model.error().message;
}

TEST_F(ModelLoaderTest, RefusesAnUnknownVersion) {
  auto model = LoadServingModel(*registry_, "risk-xgb-2030-01-01-0000");
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace csml
