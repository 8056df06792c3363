#include "csml/serving/model_import.h"

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/core/json_writer.h"
#include "csml/serving/model_loader.h"
#include "testing/files.h"
#include "testing/fixture_cases.h"
#include "testing/temp_registry.h"

namespace csml {
namespace {

using testing::ReadWholeFile;

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(CSML_TEST_DATA_DIR) / "fixtures";

using Case = testing::FixtureCase;

// A fixture's cases.json and its encoding.json's feature order (throw when unreadable).
std::vector<Case> LoadCases(const std::string& fixture) {
  return testing::LoadFixtureCases(fixture).value();
}

std::vector<std::string> FeatureOrder(const std::string& fixture) {
  return testing::LoadFixtureFeatureOrder(fixture).value();
}

std::string ReplaceOnce(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// 1-based line of the first line starting with `prefix`.
std::size_t LineStarting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.starts_with(prefix)) return n;
  }
  return 0;
}

// A fresh registry directory per test, removed afterwards.
class ModelImportTest : public testing::TempRegistryTest {
 protected:
  ImportOptions Options() const {
    ImportOptions options;
    options.created_at = 1755853200;  // 2025-08-22T09:00:00Z
    options.source = "model-file";
    return options;
  }

  // Imports, loads the served version as the server does, and scores every fixture case.
  void ExpectServesTheLibraryProbabilities(const std::string& fixture, const std::string& file,
                                           const std::string& algo, double tolerance) {
    const std::string bytes = ReadWholeFile(kFixtures / fixture / file);
    auto meta = ImportModel(*registry_, bytes, Options());
    ASSERT_TRUE(meta.has_value()) << meta.error().message;
    EXPECT_EQ(meta->algo, algo);
    EXPECT_EQ(meta->version, "risk-" + algo + "-2025-08-22-0900");
    EXPECT_EQ(meta->model_file, meta->version + std::string(ModelFileSuffix(algo)));
    EXPECT_EQ(meta->features, FeatureOrder(fixture));
    EXPECT_EQ(meta->threshold_method, "fixed");
    EXPECT_EQ(ReadWholeFile(registry_->ModelPath(*meta)), bytes)
        << "the bytes are published unchanged";

    auto served = LoadServedModel(*registry_);
    ASSERT_TRUE(served.has_value()) << served.error().message;
    EXPECT_EQ((*served)->version(), meta->version);
    const std::vector<Case> cases = LoadCases(fixture);
    ASSERT_EQ(cases.size(), 200u);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      Result<ScoreResult> score = (*served)->Score(cases[i].features);
      ASSERT_TRUE(score.has_value()) << score.error().message;
      EXPECT_NEAR(score->risk, RoundTo(cases[i].expected_risk, 4), tolerance) << "case " << i;
    }
  }
};

TEST_F(ModelImportTest, ALightgbmModelImportsAsLgbmAndServesLightgbmProbabilities) {
  ExpectServesTheLibraryProbabilities("lightgbm_synth", "model.txt", "lgbm", 0.0);
}

TEST_F(ModelImportTest, ACategoricalLightgbmModelImportsWithItsRegionCodeColumn) {
  ExpectServesTheLibraryProbabilities("lightgbm_synth_categorical", "model.txt", "lgbm", 0.0);
}

TEST_F(ModelImportTest, AnXgboostModelImportsAsXgbAfterAgreeingWithXgboost) {
  // Rounded to 4 decimals, a float32 difference can flip the last digit on a tie.
  ExpectServesTheLibraryProbabilities("xgboost_synth", "model.json", "xgb", 1e-4 + 1e-12);
  auto inspected =
      InspectModelForImport(ReadWholeFile(kFixtures / "xgboost_synth" / "model.json"), Options());
  ASSERT_TRUE(inspected.has_value()) << inspected.error().message;
  ASSERT_TRUE(inspected->cross_check_max_diff.has_value());
  EXPECT_LE(*inspected->cross_check_max_diff, 1e-6);
  EXPECT_EQ(inspected->num_trees, 84u);
}

TEST_F(ModelImportTest, ALightgbmModelWithInfiniteThresholdsImportsAndServesLightgbmsRouting) {
  // LightGBM writes threshold=inf (decision_type 8) for splits that separate missing from
  // present values; tests/data/lightgbm_inf_threshold/README.md describes the model.
  const std::string bytes =
      ReadWholeFile(fs::path(CSML_TEST_DATA_DIR) / "lightgbm_inf_threshold" / "model.txt");
  auto meta = ImportModel(*registry_, bytes, Options());
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_EQ(meta->algo, "lgbm");
  EXPECT_EQ(meta->features, (std::vector<std::string>{"activity_7d", "time_since_last_use_days",
                                                      "plan_value", "usage_score"}));
  auto read = registry_->ReadMeta(meta->version);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_NE(read->extra_json.find(R"("num_trees":10)"), std::string::npos) << read->extra_json;

  auto served = LoadServedModel(*registry_);
  ASSERT_TRUE(served.has_value()) << served.error().message;
  EXPECT_EQ((*served)->version(), meta->version);
  // Leaf j of tree t is worth (j + 1) / 16^t; the leaves each tree gives, by LightGBM's rules
  // (worked out in tests/unit/predict/lightgbm_infinite_threshold_test.cc).
  struct Row {
    double plan_value;
    std::vector<int> leaves;
  };
  const std::vector<Row> rows = {
      {std::nan(""), {2, 1, 0, 1, 1, 1, 1, 1, 1, 1}},  // missing plan_value: right at `<= inf`
      {120.0, {1, 1, 0, 1, 2, 1, 1, 1, 1, 1}},
      {20.0, {0, 1, 0, 1, 2, 1, 1, 1, 1, 1}},
  };
  for (const Row& row : rows) {
    RawFeatures features;
    features.Set(NumericFeature::kActivity7d, 5.0);
    features.Set(NumericFeature::kTimeSinceLastUseDays, 10.0);
    features.Set(NumericFeature::kPlanValue, row.plan_value);
    features.Set(NumericFeature::kUsageScore, 0.25);
    double margin = 0.0;
    for (std::size_t t = 0; t < row.leaves.size(); ++t) {
      margin += (row.leaves[t] + 1) / std::pow(16.0, static_cast<double>(t));
    }
    Result<ScoreResult> score = (*served)->Score(features);
    ASSERT_TRUE(score.has_value()) << score.error().message;
    EXPECT_EQ(score->risk, RoundTo(1.0 / (1.0 + std::exp(-margin)), 4)) << row.plan_value;
  }
}

TEST_F(ModelImportTest, TheMetaRecordsWhereTheModelCameFromAndNoTrainingFigures) {
  auto meta =
      ImportModel(*registry_, ReadWholeFile(kFixtures / "lightgbm_synth" / "model.txt"), Options());
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  auto read = registry_->ReadMeta(meta->version);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(read->extra_json,
            R"({"imported":{"source":"model-file","format":"lightgbm_text","num_trees":73}})");
  EXPECT_EQ(read->rows.train, 0);
  EXPECT_TRUE(std::isnan(read->base_rate));
  EXPECT_TRUE(read->validation_metrics.empty());
}

TEST_F(ModelImportTest, TheSameBytesTwiceAreRefusedNamingTheVersionThatHasThem) {
  const std::string bytes = ReadWholeFile(kFixtures / "lightgbm_synth" / "model.txt");
  auto first = ImportModel(*registry_, bytes, Options());
  ASSERT_TRUE(first.has_value()) << first.error().message;
  auto second = ImportModel(*registry_, bytes, Options());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(second.error().message.find("as version " + first->version), std::string::npos)
      << second.error().message;
  auto versions = registry_->List();
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ(versions->size(), 1u);
}

TEST_F(ModelImportTest, ThresholdsFromTheOptionsAreRecorded) {
  ImportOptions options = Options();
  options.thresholds = Thresholds{0.3, 0.6};
  auto meta =
      ImportModel(*registry_, ReadWholeFile(kFixtures / "lightgbm_synth" / "model.txt"), options);
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_EQ(meta->thresholds.medium, 0.3);
  EXPECT_EQ(meta->thresholds.high, 0.6);
}

TEST_F(ModelImportTest, AnUnknownLightgbmFeatureIsRefusedNamingItAndItsLine) {
  const std::string text = ReplaceOnce(ReadWholeFile(kFixtures / "lightgbm_synth" / "model.txt"),
                                       " region_EU", " region_JP");
  auto meta = ImportModel(*registry_, text, Options());
  ASSERT_FALSE(meta.has_value());
  EXPECT_EQ(meta.error().code, ErrorCode::kValidation);
  const std::size_t line = LineStarting(text, "feature_names=");
  ASSERT_GT(line, 0u);
  EXPECT_NE(meta.error().message.find("line " + std::to_string(line) + " (feature_names=)"),
            std::string::npos)
      << meta.error().message;
  EXPECT_NE(meta.error().message.find("feature 11 'region_JP'"), std::string::npos)
      << meta.error().message;
  EXPECT_TRUE(registry_->List()->empty()) << "nothing is published";
}

TEST_F(ModelImportTest, ARepeatedFeatureIsRefusedNamingBothColumns) {
  const std::string text = ReplaceOnce(ReadWholeFile(kFixtures / "lightgbm_synth" / "model.txt"),
                                       " tickets_30d", " tickets_7d");
  auto meta = ImportModel(*registry_, text, Options());
  ASSERT_FALSE(meta.has_value());
  EXPECT_NE(meta.error().message.find("feature 5 'tickets_7d' repeats feature 4"),
            std::string::npos)
      << meta.error().message;
}

TEST_F(ModelImportTest, AnUnknownXgboostFeatureIsRefusedNamingItsJsonPath) {
  const std::string json = ReplaceOnce(ReadWholeFile(kFixtures / "xgboost_synth" / "model.json"),
                                       "\"plan_value\"", "\"plan_tier\"");
  auto meta = ImportModel(*registry_, json, Options());
  ASSERT_FALSE(meta.has_value());
  EXPECT_NE(meta.error().message.find("learner.feature_names: feature 6 'plan_tier'"),
            std::string::npos)
      << meta.error().message;
}

TEST_F(ModelImportTest, AnXgboostModelWithoutFeatureNamesIsRefused) {
  std::string json = ReadWholeFile(kFixtures / "xgboost_synth" / "model.json");
  const std::size_t begin = json.find("\"feature_names\":[");
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = json.find(']', begin);
  json.replace(begin, end + 1 - begin, "\"feature_names\":[]");
  auto meta = ImportModel(*registry_, json, Options());
  ASSERT_FALSE(meta.has_value());
  EXPECT_NE(meta.error().message.find("expected the model's column names"), std::string::npos)
      << meta.error().message;
}

TEST_F(ModelImportTest, AModelThatCannotBeReadIsRefusedWithTheLoadersMessage) {
  std::string text = ReadWholeFile(kFixtures / "lightgbm_synth" / "model.txt");
  text.resize(text.find("end of trees"));
  auto truncated = ImportModel(*registry_, text, Options());
  ASSERT_FALSE(truncated.has_value());
  EXPECT_NE(truncated.error().message.find("end of trees"), std::string::npos)
      << truncated.error().message;

  auto not_a_model = ImportModel(*registry_, "name,value\nx,1\n", Options());
  ASSERT_FALSE(not_a_model.has_value());
  EXPECT_EQ(not_a_model.error().code, ErrorCode::kParse);
  EXPECT_TRUE(registry_->List()->empty());
}

TEST_F(ModelImportTest, InvalidOptionsAreRefusedBeforeReadingTheModel) {
  ImportOptions options = Options();
  options.thresholds = Thresholds{0.8, 0.5};
  auto meta =
      ImportModel(*registry_, ReadWholeFile(kFixtures / "lightgbm_synth" / "model.txt"), options);
  ASSERT_FALSE(meta.has_value());
  EXPECT_NE(meta.error().message.find("ImportOptions.thresholds"), std::string::npos)
      << meta.error().message;
}

}  // namespace
}  // namespace csml
