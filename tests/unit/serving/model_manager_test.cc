#include "csml/serving/model_manager.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_predictor.h"

namespace csml {
namespace {

using ::csml::testing::FakePredictor;

std::shared_ptr<const ServingModel> MakeModel(const std::string& version, double risk) {
  const auto& columns = FeatureEncoder::DefaultColumns();
  return ServingModel::Create(version, columns, Thresholds{},
                              FakePredictor::Returning(columns.size(), risk))
      .value();
}

TEST(ModelManager, ServesNothingUntilAModelIsLoaded) {
  ModelManager manager;
  EXPECT_EQ(manager.Current(), nullptr);
}

TEST(ModelManager, LoadInstallsTheLoadedModel) {
  ModelManager manager;
  ASSERT_TRUE(manager.Load([] { return MakeModel("v1", 0.5); }));
  ASSERT_NE(manager.Current(), nullptr);
  EXPECT_EQ(manager.Current()->version(), "v1");
}

TEST(ModelManager, KeepsServingWhenLoadFails) {
  ModelManager manager;
  ASSERT_TRUE(manager.Load([] { return MakeModel("v1", 0.5); }));
  const Status failed = manager.Load([]() -> Result<std::shared_ptr<const ServingModel>> {
    return MakeError(ErrorCode::kValidation, "sha256 mismatch");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "sha256 mismatch");
  EXPECT_EQ(manager.Current()->version(), "v1");
  EXPECT_FALSE(manager.Load([]() -> Result<std::shared_ptr<const ServingModel>> {
    return std::shared_ptr<const ServingModel>();
  }));
  EXPECT_EQ(manager.Current()->version(), "v1");
}

TEST(ModelManager, SwapReturnsTheReplacedModelAndRequestsKeepTheirs) {
  ModelManager manager;
  manager.Swap(MakeModel("v1", 0.2));
  const std::shared_ptr<const ServingModel> held = manager.Current();  // a request in flight
  const std::shared_ptr<const ServingModel> old = manager.Swap(MakeModel("v2", 0.8));
  EXPECT_EQ(old, held);
  EXPECT_EQ(manager.Current()->version(), "v2");
  EXPECT_EQ(held->version(), "v1");
  EXPECT_EQ(held->Score(RawFeatures{})->risk, 0.2);
}

TEST(ModelManager, ReadersNeverSeeAHalfSwappedModel) {
  ModelManager manager;
  manager.Swap(MakeModel("v0", 0.0));
  std::atomic<bool> stop{false};
  std::atomic<int> mismatches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto model = manager.Current();
        // Each version's predictor returns the risk its name encodes.
        const double expected = std::stod(model->version().substr(1)) / 1000.0;
        if (model->Score(RawFeatures{})->risk != expected) ++mismatches;
      }
    });
  }
  for (int i = 1; i <= 500; ++i) {
    manager.Swap(MakeModel("v" + std::to_string(i), i / 1000.0));
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(manager.Current()->version(), "v500");
}

}  // namespace
}  // namespace csml
