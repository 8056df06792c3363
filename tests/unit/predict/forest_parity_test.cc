// Parity with the libraries: every case of every interop fixture, encoded by csml's
// FeatureEncoder in the model's own column order, must score what LightGBM / XGBoost printed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "csml/predict/forest.h"
#include "testing/fixture_cases.h"

namespace csml {
namespace {

struct ParityFixture {
  const char* name;
  const char* model_file;
  ForestFormat format;
  std::size_t num_trees;
  double tolerance;
};

std::ostream& operator<<(std::ostream& os, const ParityFixture& f) { return os << f.name; }

class ForestParity : public ::testing::TestWithParam<ParityFixture> {
 protected:
  void SetUp() override {
    const ParityFixture& f = GetParam();
    auto bytes = testing::ReadFile(testing::FixturePath(f.name, f.model_file));
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    auto forest = LoadForest(*bytes);
    ASSERT_TRUE(forest.has_value()) << forest.error().message;
    forest_.emplace(std::move(*forest));

    auto cases_json = testing::ReadFile(testing::FixturePath(f.name, "cases.json"));
    ASSERT_TRUE(cases_json.has_value()) << cases_json.error().message;
    auto cases = testing::LoadCases(*cases_json);
    ASSERT_TRUE(cases.has_value()) << cases.error().message;
    cases_ = std::move(*cases);

    auto encoder = FeatureEncoder::Create(forest_->feature_names());
    ASSERT_TRUE(encoder.has_value()) << encoder.error().message;
    const std::size_t width = encoder->num_columns();
    rows_.resize(cases_.size() * width);
    for (std::size_t i = 0; i < cases_.size(); ++i) {
      encoder->Encode(cases_[i].features, std::span<double>(rows_).subspan(i * width, width));
    }
  }

  std::span<const double> Row(std::size_t i) const {
    const std::size_t width = forest_->num_features();
    return std::span<const double>(rows_).subspan(i * width, width);
  }

  std::optional<Forest> forest_;
  std::vector<testing::FixtureCase> cases_;
  std::vector<double> rows_;
};

TEST_P(ForestParity, LoadsTheModelWithItsFeatureOrderAndTreeCount) {
  const ParityFixture& f = GetParam();
  EXPECT_EQ(forest_->format(), f.format);
  EXPECT_EQ(forest_->num_trees(), f.num_trees);
  auto encoding = testing::ReadFile(testing::FixturePath(f.name, "encoding.json"));
  ASSERT_TRUE(encoding.has_value());
  auto order = testing::LoadFeatureOrder(*encoding);
  ASSERT_TRUE(order.has_value()) << order.error().message;
  EXPECT_EQ(forest_->feature_names(), *order);
}

TEST_P(ForestParity, EveryCaseScoresWhatTheLibraryPrinted) {
  const ParityFixture& f = GetParam();
  ASSERT_EQ(cases_.size(), 200u);
  double max_diff = 0.0;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < cases_.size(); ++i) {
    const double risk = forest_->PredictRisk(Row(i));
    ASSERT_TRUE(std::isfinite(risk)) << "case " << i;
    const double diff = std::fabs(risk - cases_[i].expected_risk);
    EXPECT_LE(diff, f.tolerance) << "case " << i << ": got " << risk << ", library said "
                                 << cases_[i].expected_risk;
    if (diff > max_diff) {
      max_diff = diff;
      worst = i;
    }
  }
  RecordProperty("max_abs_diff", std::to_string(max_diff));
  std::printf("[ %s ] max |risk - expected_risk| = %.3g (case %zu)\n", f.name, max_diff, worst);
}

TEST_P(ForestParity, BatchScoresEqualSingleRowScoresBitForBit) {
  std::vector<double> batch(cases_.size());
  forest_->PredictBatch(rows_, batch);
  for (std::size_t i = 0; i < cases_.size(); ++i) {
    EXPECT_EQ(batch[i], forest_->PredictRisk(Row(i))) << "case " << i;
  }
  // A batch whose size is not a multiple of the block size, starting mid-way.
  const std::size_t offset = 7;
  const std::size_t count = 45;
  std::vector<double> part(count);
  forest_->PredictBatch(std::span<const double>(rows_).subspan(offset * forest_->num_features(),
                                                               count * forest_->num_features()),
                        part);
  for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(part[i], batch[offset + i]);
}

TEST_P(ForestParity, MarginAndRiskAgree) {
  for (std::size_t i = 0; i < cases_.size(); i += 17) {
    const double margin = forest_->PredictMargin(Row(i));
    const double risk = forest_->PredictRisk(Row(i));
    EXPECT_NEAR(risk, 1.0 / (1.0 + std::exp(-margin)), 1e-6) << "case " << i;
  }
}

TEST_P(ForestParity, RowsOfTheWrongSizeGiveNanNotAnOutOfBoundsRead) {
  const std::vector<double> short_row(forest_->num_features() - 1, 0.0);
  EXPECT_TRUE(std::isnan(forest_->PredictRisk(short_row)));
  std::vector<double> out(3, 0.0);
  forest_->PredictBatch(std::span<const double>(rows_).first(2 * forest_->num_features()), out);
  for (double v : out) EXPECT_TRUE(std::isnan(v));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ForestParity,
                         ::testing::Values(ParityFixture{"lightgbm_synth", "model.txt",
                                                         ForestFormat::kLightgbmText, 73, 1e-12},
                                           ParityFixture{"lightgbm_synth_missing", "model.txt",
                                                         ForestFormat::kLightgbmText, 73, 1e-12},
                                           ParityFixture{"lightgbm_synth_categorical", "model.txt",
                                                         ForestFormat::kLightgbmText, 66, 1e-12},
                                           ParityFixture{"xgboost_synth", "model.json",
                                                         ForestFormat::kXgboostJson, 84, 1e-6}),
                         [](const ::testing::TestParamInfo<ParityFixture>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace csml
