// Parity with the library itself: the shared fixture's model, saved by XGBoost 1.7.4's
// Python package, must score its 200 cases exactly as Python's Booster.predict did.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/features/schema.h"
#include "csml/model/xgboost_booster.h"
#include "csml/model/xgboost_predictor.h"

namespace csml {
namespace {

const std::string kFixtureDir = std::string(CSML_TEST_DATA_DIR) + "/fixtures/xgboost_synth";

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

RawFeatures FeaturesFrom(simdjson::dom::object obj) {
  RawFeatures f;
  for (auto [key, value] : obj) {
    if (key == kRegionFeatureName) {
      std::string_view region;
      if (value.get(region) == simdjson::SUCCESS) f.region = ParseRegion(region);
      continue;
    }
    NumericFeature feature{};
    double number = 0;
    if (FindNumericFeature(key, &feature) && value.get(number) == simdjson::SUCCESS) {
      f.Set(feature, number);
    }
  }
  return f;
}

TEST(XgboostFixture, ReproducesPythonPredictionsExactly) {
  auto predictor = XgboostPredictor::FromJson(ReadText(kFixtureDir + "/model.json"));
  ASSERT_TRUE(predictor.has_value()) << predictor.error().message;
  auto booster = XgboostBooster::LoadJson(ReadText(kFixtureDir + "/model.json"));
  ASSERT_TRUE(booster.has_value());
  EXPECT_EQ(booster->FeatureNames().value(), FeatureEncoder::DefaultColumns());
  auto encoder = FeatureEncoder::Create(FeatureEncoder::DefaultColumns()).value();

  simdjson::dom::parser parser;
  const simdjson::padded_string cases_text(ReadText(kFixtureDir + "/cases.json"));
  simdjson::dom::array cases;
  ASSERT_EQ(parser.parse(cases_text).get(cases), simdjson::SUCCESS);
  ASSERT_EQ(cases.size(), 200u);
  std::size_t index = 0;
  std::vector<double> row(encoder.num_columns());
  for (simdjson::dom::element c : cases) {
    simdjson::dom::object features;
    double expected = 0;
    ASSERT_EQ(c["features"].get(features), simdjson::SUCCESS);
    ASSERT_EQ(c["expected_risk"].get(expected), simdjson::SUCCESS);
    encoder.Encode(FeaturesFrom(features), row);
    auto risk = (*predictor)->PredictRisk(row);
    ASSERT_TRUE(risk.has_value()) << risk.error().message;
    EXPECT_EQ(*risk, expected) << "case " << index;
    ++index;
  }
}

}  // namespace
}  // namespace csml
