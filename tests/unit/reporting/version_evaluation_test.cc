#include "csml/reporting/version_evaluation.h"

#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace csml {
namespace {

namespace fs = std::filesystem;

class VersionEvaluationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("csml-version-evaluation-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(VersionEvaluationTest, KnowsTheModelCannotLoadBeforeAnyDataIsFetched) {
  auto registry = Registry::Open(dir_, RegistryOpenMode::kReadOnly);
  ASSERT_TRUE(registry.has_value()) << registry.error().message;
  bool loaded = false;
  const EvaluationLoader load = [&loaded]() -> Result<EvaluationInput> {
    loaded = true;
    return EvaluationInput();
  };
  VersionEvaluationOptions options;
  auto nothing_served = EvaluateVersion(*registry, options, load);
  ASSERT_FALSE(nothing_served.has_value());
  EXPECT_NE(nothing_served.error().message.find(dir_.string()), std::string::npos)
      << nothing_served.error().message;
  options.version = "risk-xgb-1999-01-01-0000";
  auto missing = EvaluateVersion(*registry, options, load);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().message;
  EXPECT_FALSE(loaded);
}

TEST_F(VersionEvaluationTest, ChecksItsOptionsNamingTheField) {
  VersionEvaluationOptions options;
  options.evaluation.max_auc_drop = -1;
  auto bad = options.Validate();
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("max_auc_drop"), std::string::npos) << bad.error().message;
  options = VersionEvaluationOptions();
  options.scoring.threads = 1'000'000;
  auto threads = options.Validate();
  ASSERT_FALSE(threads.has_value());
  EXPECT_EQ(threads.error().message.rfind("threads: ", 0), 0u) << threads.error().message;
  options = VersionEvaluationOptions();
  options.generated_at = -1;
  EXPECT_FALSE(options.Validate().has_value());
  EXPECT_TRUE(VersionEvaluationOptions().Validate().has_value());
}

}  // namespace
}  // namespace csml
