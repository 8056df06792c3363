#include "csml/serving/model_loader.h"

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

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
