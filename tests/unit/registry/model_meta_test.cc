#include "csml/registry/model_meta.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "csml/evaluation/reference_profile.h"
#include "csml/registry/sha256.h"

namespace csml {
namespace {

ModelMeta FullMeta() {
  ModelMeta m;
  m.version = "risk-xgb-2025-08-22-0900";
  m.algo = "xgb";
  m.created_at = 1755853200;  // 2025-08-22T09:00:00Z
  m.features = {"activity_7d", "usage_score", "region_IN"};
  m.thresholds = {0.35, 0.65};
  m.threshold_method = "fixed";
  m.window = {1748077200, 1755853200, 1755853200, 90};
  m.rows = {1200, 300, 40, 2, 7};
  m.base_rate = 0.2125;
  m.train_metrics = {{"auc", 0.91}, {"logloss", 0.31}};
  m.validation_metrics = {{"auc", std::nan("")}};
  m.model_file = "risk-xgb-2025-08-22-0900.model.json";
  m.model_sha256 = std::string(64, 'a');
  m.model_size_bytes = 12345;
  m.params_json = R"({"eta":0.05,"rounds":300})";
  m.extra_json = R"({"future_field":[1,2,3]})";
  return m;
}

TEST(ModelMeta, RoundTripsEveryFieldThroughJson) {
  const ModelMeta m = FullMeta();
  const std::string json = m.ToJson();
  auto back = ModelMeta::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().message << "\n" << json;
  EXPECT_EQ(back->version, m.version);
  EXPECT_EQ(back->algo, m.algo);
  EXPECT_EQ(back->created_at, m.created_at);
  EXPECT_EQ(back->features, m.features);
  EXPECT_EQ(back->thresholds.medium, 0.35);
  EXPECT_EQ(back->thresholds.high, 0.65);
  EXPECT_EQ(back->threshold_method, "fixed");
  EXPECT_EQ(back->window.from, m.window.from);
  EXPECT_EQ(back->window.to, m.window.to);
  EXPECT_EQ(back->window.as_of, m.window.as_of);
  EXPECT_EQ(back->window.days, 90);
  EXPECT_EQ(back->rows.train, 1200);
  EXPECT_EQ(back->rows.validation, 300);
  EXPECT_EQ(back->rows.skipped_unlabeled, 40);
  EXPECT_EQ(back->rows.skipped_invalid, 2);
  EXPECT_EQ(back->rows.outside_window, 7);
  EXPECT_EQ(back->base_rate, 0.2125);
  EXPECT_EQ(back->train_metrics, m.train_metrics);
  ASSERT_EQ(back->validation_metrics.count("auc"), 1u);
  EXPECT_TRUE(std::isnan(back->validation_metrics.at("auc")));
  EXPECT_EQ(back->model_file, m.model_file);
  EXPECT_EQ(back->model_sha256, m.model_sha256);
  EXPECT_EQ(back->model_size_bytes, 12345);
  EXPECT_EQ(back->params_json, m.params_json);
  EXPECT_EQ(back->extra_json, m.extra_json);
  EXPECT_EQ(back->ToJson(), json);
}

TEST(ModelMeta, WritesTimesAsRfc3339AndOneTopLevelKeyPerLine) {
  const std::string json = FullMeta().ToJson();
  EXPECT_NE(json.find("\n  \"created_at\": \"2025-08-22T09:00:00Z\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"validation_metrics\": {\"auc\":null}"), std::string::npos) << json;
}

TEST(ModelMeta, IgnoresUnknownKeysFromANewerWriterOfTheSameFormat) {
  std::string json = FullMeta().ToJson();
  json.insert(1, "\n  \"added_later\": {\"x\": 1},");
  auto back = ModelMeta::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->version, "risk-xgb-2025-08-22-0900");
}

TEST(ModelMeta, AnUncalibratedVersionIsStillWrittenAsFormatOne) {
  const std::string json = FullMeta().ToJson();
  EXPECT_NE(json.find("\"meta_format\": 1,"), std::string::npos) << json;
  EXPECT_EQ(json.find("calibration"), std::string::npos) << json;
  auto back = ModelMeta::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_TRUE(back->calibration.is_none());
}

TEST(ModelMeta, RoundTripsAPlattCalibrationAsFormatTwo) {
  ModelMeta m = FullMeta();
  m.calibration = Calibration::Platt(0.8, -0.25).value();
  const std::string json = m.ToJson();
  EXPECT_NE(json.find("\"meta_format\": 2,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"calibration\": {\"method\":\"platt\",\"slope\":0.8,\"intercept\":-0.25}"),
            std::string::npos)
      << json;
  auto back = ModelMeta::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->calibration, m.calibration);
  EXPECT_EQ(back->ToJson(), json);
}

TEST(ModelMeta, RoundTripsAnIsotonicCalibrationExactly) {
  ModelMeta m = FullMeta();
  m.calibration = Calibration::Isotonic({0.01, 0.1234567890123, 0.7}, {0.02, 0.2, 0.9}).value();
  auto back = ModelMeta::FromJson(m.ToJson());
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->calibration, m.calibration);
  EXPECT_EQ(back->calibration.Apply(0.5), m.calibration.Apply(0.5));
}

TEST(ModelMeta, RefusesACalibrationThatIsNotAMonotoneMap) {
  ModelMeta m = FullMeta();
  m.calibration = Calibration::Isotonic({0.1, 0.7}, {0.2, 0.9}).value();
  std::string json = m.ToJson();
  const std::string from = "\"y\":[0.2,0.9]";
  ASSERT_NE(json.find(from), std::string::npos) << json;
  json.replace(json.find(from), from.size(), "\"y\":[0.9,0.2]");
  auto back = ModelMeta::FromJson(json);
  ASSERT_FALSE(back.has_value());
  EXPECT_NE(back.error().message.find("calibration"), std::string::npos) << back.error().message;
  // A calibration in a format-1 file is refused too: an older csml would not apply it.
  std::string old = m.ToJson();
  old.replace(old.find("\"meta_format\": 2"), 16, "\"meta_format\": 1");
  EXPECT_FALSE(ModelMeta::FromJson(old).has_value());
}

TEST(ModelMeta, AMetaWrittenBeforeCalibrationExistedLoadsUncalibrated) {
  // meta.json as csml wrote it before format 2 (no calibration key).
  const std::string old = R"({
  "meta_format": 1,
  "version": "risk-xgb-2025-08-22-0900",
  "algo": "xgb",
  "created_at": "2025-08-22T09:00:00Z",
  "model_file": "risk-xgb-2025-08-22-0900.model.json",
  "model_sha256": "aaaa",
  "model_size_bytes": 10,
  "features": ["activity_7d"],
  "thresholds": {"medium":0.3,"high":0.6,"method":"validation_quantiles"},
  "params": {},
  "extra": {"calibration":{"bins":10,"error":0.01,"table":[]}}
}
)";
  auto meta = ModelMeta::FromJson(old);
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_TRUE(meta->calibration.is_none());
  EXPECT_EQ(meta->calibration.Apply(0.4321), 0.4321);
  EXPECT_FALSE(meta->reference_profile.has_value()) << "no drift figures for older versions";
  auto summary = TrainingSummary::FromJson(meta->extra_json);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  ASSERT_TRUE(summary->calibration.has_value());
  EXPECT_TRUE(summary->calibration->method.empty());
  EXPECT_TRUE(summary->calibration->table_before.empty());
}

// A profile with uneven bins, a feature of two bins (ties merged) and one with no present value.
ReferenceProfile SmallProfile() {
  ReferenceProfile p;
  p.rows = 1000;
  p.risk_rows = 200;
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    p.numeric[f] = {{1.5, 4.0, 10.25}, {0.3, 0.2, 0.25, 0.2}, 0.05};
  }
  p.numeric[static_cast<std::size_t>(NumericFeature::kFailedRenewals30d)] = {{0.0}, {0.9, 0.1}, 0};
  p.numeric[static_cast<std::size_t>(NumericFeature::kTickets30d)] = {{}, {0.0}, 1.0};
  p.region = {0.4, 0.1, 0.3, 0.15, 0.04, 0.01};
  p.risk = {{0.1234567890123, 0.5}, {0.6, 0.3, 0.1}, 0};
  return p;
}

TEST(ModelMeta, RoundTripsAReferenceProfileExactlyWithoutANewFormat) {
  ModelMeta m = FullMeta();
  m.reference_profile = SmallProfile();
  const std::string json = m.ToJson();
  // A profile changes nothing that is served: the file stays format 1 (or 2 when calibrated).
  EXPECT_NE(json.find("\"meta_format\": 1,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"reference_profile\": {\"rows\":1000,\"risk_rows\":200,\"bins\":10,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"region\":{\"IN\":0.4,\"SG\":0.1,\"US\":0.3,\"EU\":0.15,\"other\":0.04,"
                      "\"missing\":0.01}"),
            std::string::npos)
      << json;
  auto back = ModelMeta::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().message << "\n" << json;
  ASSERT_TRUE(back->reference_profile.has_value());
  EXPECT_EQ(*back->reference_profile, *m.reference_profile);
  EXPECT_EQ(back->ToJson(), json);
}

TEST(ModelMeta, AMetaWithoutAProfileLoadsWithNone) {
  const std::string json = FullMeta().ToJson();
  EXPECT_EQ(json.find("reference_profile"), std::string::npos) << json;
  auto back = ModelMeta::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_FALSE(back->reference_profile.has_value());
}

TEST(ModelMeta, RefusesAProfileThatIsNoDistributionNamingTheKey) {
  ModelMeta m = FullMeta();
  m.reference_profile = SmallProfile();
  const std::string good = m.ToJson();
  const auto refused = [&](const std::string& from, const std::string& to) {
    std::string json = good;
    const std::size_t at = json.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at == std::string::npos) return std::string();
    json.replace(at, from.size(), to);
    auto back = ModelMeta::FromJson(json);
    EXPECT_FALSE(back.has_value()) << to;
    return back ? std::string() : back.error().message;
  };
  EXPECT_NE(refused("\"risk\":{\"edges\":[0.1234567890123,0.5]", "\"risk\":{\"edges\":[0.5,0.1]")
                .find("reference_profile.risk.edges[1]"),
            std::string::npos);
  EXPECT_NE(refused("\"shares\":[0.6,0.3,0.1]", "\"shares\":[0.6,0.3]")
                .find("reference_profile.risk.shares: expected 3 shares"),
            std::string::npos);
  EXPECT_NE(refused("\"shares\":[0.6,0.3,0.1]", "\"shares\":[0.6,0.3,0.3]")
                .find("reference_profile.risk.shares: expected shares that sum to 1"),
            std::string::npos);
  EXPECT_NE(refused("\"usage_score\":", "\"usage_scorez\":")
                .find("reference_profile.features.usage_score: expected a value"),
            std::string::npos);
  EXPECT_NE(refused("\"other\":0.04", "\"other\":0.5").find("reference_profile.features.region"),
            std::string::npos);
}

struct BadMetaCase {
  std::string name;
  std::string from;
  std::string to;
  std::string expected_fragment;
};

class ModelMetaRefuses : public ::testing::TestWithParam<BadMetaCase> {};

TEST_P(ModelMetaRefuses, NamingTheKey) {
  std::string json = FullMeta().ToJson();
  const std::size_t at = json.find(GetParam().from);
  ASSERT_NE(at, std::string::npos) << GetParam().from;
  json.replace(at, GetParam().from.size(), GetParam().to);
  auto meta = ModelMeta::FromJson(json);
  ASSERT_FALSE(meta.has_value());
  EXPECT_EQ(meta.error().code, ErrorCode::kParse);
  EXPECT_NE(meta.error().message.find(GetParam().expected_fragment), std::string::npos)
      << meta.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ModelMetaRefuses,
    ::testing::Values(
        BadMetaCase{"HighThresholdAboveOne", "\"high\":0.65", "\"high\":2",
                    "thresholds.high: expected a number in [0, 1], got 2"},
        BadMetaCase{"InvertedThresholds", "\"high\":0.65", "\"high\":0.1", "thresholds"},
        BadMetaCase{"VersionEscapingTheDirectory", "\"version\": \"risk-xgb-2025-08-22-0900\"",
                    "\"version\": \"../etc\"", "version"},
        BadMetaCase{"NewerFormat", "\"meta_format\": 1", "\"meta_format\": 9", "meta_format"},
        BadMetaCase{"MissingFeatures", "\"features\"", "\"featurez\"",
                    "features: expected a value, got nothing"},
        BadMetaCase{"EmptyFeatures", "[\"activity_7d\",\"usage_score\",\"region_IN\"]", "[]",
                    "features"},
        BadMetaCase{"NumericFeatureName", "\"usage_score\"", "7", "features[1]"},
        BadMetaCase{"BadCreatedAt", "2025-08-22T09:00:00Z", "yesterday", "created_at"},
        BadMetaCase{"NegativeRows", "\"train\":1200", "\"train\":-1", "rows.train"},
        BadMetaCase{"UnknownAlgo", "\"algo\": \"xgb\"", "\"algo\": \"svm\"", "algo"},
        BadMetaCase{"NotJson", "{", "[", "expected"}),
    [](const ::testing::TestParamInfo<BadMetaCase>& tc) { return tc.param.name; });

TEST(ModelMeta, DraftValidationRefusesWhatTheRegistryCannotPublish) {
  ModelMeta m = FullMeta();
  EXPECT_TRUE(m.ValidateDraft().has_value());
  m.features.push_back("usage_score");
  auto repeated = m.ValidateDraft();
  ASSERT_FALSE(repeated.has_value());
  EXPECT_NE(repeated.error().message.find("features[3]"), std::string::npos);
  m = FullMeta();
  m.params_json = "{not json";
  EXPECT_FALSE(m.ValidateDraft().has_value());
  m = FullMeta();
  m.extra_json = "[1]";
  EXPECT_FALSE(m.ValidateDraft().has_value());
  m = FullMeta();
  m.created_at = 0;
  EXPECT_FALSE(m.ValidateDraft().has_value());
  m = FullMeta();
  m.thresholds = {0.8, 0.2};
  EXPECT_FALSE(m.ValidateDraft().has_value());
}

TEST(VersionName, AllowsOnlyLowerCaseDigitsAndDashes) {
  EXPECT_TRUE(IsValidVersionName("risk-xgb-2025-08-22-0900"));
  EXPECT_TRUE(IsValidVersionName("risk-xgb-2025-08-22-0900-12"));
  for (const char* bad : {"", "..", "../x", "a/b", "-x", ".hidden", "Risk", "a b", "a.b", "x\n"}) {
    EXPECT_FALSE(IsValidVersionName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidVersionName(std::string(101, 'a')));
}

TEST(Sha256Hex, MatchesTheKnownDigests) {
  EXPECT_EQ(Sha256Hex("").value(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc").value(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace csml
