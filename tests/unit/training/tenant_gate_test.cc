// The tenant data gate (training/tenant_gate.h) and a tenant run of the pipeline: refused
// below either threshold without training or creating anything, published into the tenant's
// namespace above them, the global namespace untouched.
#include "csml/training/tenant_gate.h"

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/registry/registry.h"
#include "csml/training/train_pipeline.h"
#include "synthetic_data.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

TEST(TenantDataGateTest, PassesAtTheThresholdsAndNamesEachOneThatFails) {
  const TenantDataGate gate;  // 1000 rows, 50 positives
  EXPECT_TRUE(CheckTenantDataGate({1000, 50}, gate));
  EXPECT_TRUE(CheckTenantDataGate({5000, 400}, gate));

  Status rows = CheckTenantDataGate({999, 50}, gate);
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, ErrorCode::kValidation);
  EXPECT_NE(rows.error().message.find("999 labeled rows, fewer than min tenant rows 1000"),
            std::string::npos)
      << rows.error().message;
  EXPECT_EQ(rows.error().message.find("positives"), std::string::npos) << rows.error().message;

  Status positives = CheckTenantDataGate({2000, 49}, gate);
  ASSERT_FALSE(positives);
  EXPECT_NE(positives.error().message.find("49 positives (label 1), fewer than min tenant "
                                           "positives 50"),
            std::string::npos)
      << positives.error().message;
  EXPECT_EQ(positives.error().message.find("min tenant rows"), std::string::npos);

  Status both = CheckTenantDataGate({10, 1}, gate);
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("10 labeled rows"), std::string::npos);
  EXPECT_NE(both.error().message.find("1 positives"), std::string::npos);

  TenantDataGate none;
  none.min_rows = 1;
  none.min_positives = 0;
  EXPECT_TRUE(CheckTenantDataGate({1, 0}, none));
}

TEST(TenantDataGateTest, ValidatesItsThresholds) {
  TenantDataGate gate;
  EXPECT_TRUE(gate.Validate());
  gate.min_rows = 0;
  Status rows = gate.Validate();
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(rows.error().message, "min tenant rows: expected a number >= 1, got 0");
  gate.min_rows = 1;
  gate.min_positives = -1;
  Status positives = gate.Validate();
  ASSERT_FALSE(positives);
  EXPECT_EQ(positives.error().message, "min tenant positives: expected a number >= 0, got -1");
}

TEST(TenantDataGateTest, CountsRowsAndPositivesOfTheDataset) {
  testing::SyntheticOptions options;
  options.customers = 50;
  options.weeks = 4;
  const Dataset dataset = testing::MakeDataset(options);
  const TenantDataCounts counts = CountTenantData(dataset);
  EXPECT_EQ(counts.rows, dataset.rows());
  std::size_t ones = 0;
  for (float label : dataset.data.labels) ones += label == 1.0F ? 1 : 0;
  EXPECT_EQ(counts.positives, ones);
  EXPECT_GT(counts.positives, 0u);
  EXPECT_LT(counts.positives, counts.rows);
}

class TenantPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() / ("csml-tenant-pipeline-test-" + std::to_string(rd()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  TrainPipelineOptions Options(const std::string& tenant) const {
    TrainPipelineOptions o;
    o.model_dir = root_ / "store";
    o.tenant = tenant;
    o.train.booster.threads = 1;
    o.train.max_rounds = 30;
    o.train.early_stopping_rounds = 5;
    o.train.created_at = testing::kTestAsOf;
    return o;
  }

  static TrainingLoader Loader(std::vector<Snapshot> records) {
    return testing::RecordsLoader(std::move(records));
  }

  fs::path root_;
};

TEST_F(TenantPipelineTest, PublishesIntoTheTenantNamespaceOnly) {
  TrainPipelineOptions options = Options("acme");
  options.tenant_gate.min_rows = 100;
  options.tenant_gate.min_positives = 5;
  auto pipeline = TrainPipeline::Create(options);
  ASSERT_TRUE(pipeline.has_value()) << pipeline.error().message;
  TrainObserver observer;
  auto result = pipeline->Run(Loader(testing::MakeSnapshots({})), observer);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_FALSE(result->tenant_refused) << result->tenant_refusal;
  EXPECT_EQ(result->tenant, "acme");
  EXPECT_EQ(result->registry_dir, root_ / "store" / "tenants" / "acme");
  EXPECT_EQ(result->tenant_counts.rows, result->rows);
  EXPECT_TRUE(result->published.decision.promote);

  auto tenant = Registry::OpenTenant(root_ / "store", "acme", RegistryOpenMode::kReadOnly);
  ASSERT_TRUE(tenant.has_value()) << tenant.error().message;
  auto served = tenant->ResolveServed();
  ASSERT_TRUE(served.has_value()) << served.error().message;
  EXPECT_EQ(*served, result->published.meta.version);
  auto global = Registry::Open(root_ / "store", RegistryOpenMode::kReadOnly);
  ASSERT_TRUE(global.has_value());
  auto listing = global->Scan();
  ASSERT_TRUE(listing.has_value());
  EXPECT_TRUE(listing->versions.empty());
  EXPECT_TRUE(listing->problems.empty());
  EXPECT_FALSE(fs::exists(root_ / "store" / kServingPointerFile));
}

TEST_F(TenantPipelineTest, RefusesTooLittleDataBeforeTrainingAndCreatesNothing) {
  TrainPipelineOptions options = Options("tiny");  // the default gate: 1000 rows, 50 positives
  testing::SyntheticOptions data;
  data.customers = 40;
  data.weeks = 5;
  auto pipeline = TrainPipeline::Create(options);
  ASSERT_TRUE(pipeline.has_value()) << pipeline.error().message;
  struct Stages final : TrainObserver {
    void OnStage(TrainStage stage) override { stages.push_back(stage); }
    std::vector<TrainStage> stages;
  } observer;
  auto result = pipeline->Run(Loader(testing::MakeSnapshots(data)), observer);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(result->tenant_refused);
  EXPECT_NE(result->tenant_refusal.find("fewer than min tenant rows 1000"), std::string::npos)
      << result->tenant_refusal;
  EXPECT_EQ(result->tenant_counts.rows, result->rows);
  EXPECT_LT(result->rows, 1000u);
  EXPECT_EQ(observer.stages, (std::vector<TrainStage>{TrainStage::kLoad, TrainStage::kValidate,
                                                      TrainStage::kDataset}));
  EXPECT_FALSE(fs::exists(root_ / "store"));
}

TEST_F(TenantPipelineTest, TheGateDoesNotApplyToTheGlobalScope) {
  testing::SyntheticOptions data;
  data.customers = 40;
  data.weeks = 20;  // 800 rows: below the default gate, enough for the time split
  auto pipeline = TrainPipeline::Create(Options(""));
  ASSERT_TRUE(pipeline.has_value()) << pipeline.error().message;
  TrainObserver observer;
  auto result = pipeline->Run(Loader(testing::MakeSnapshots(data)), observer);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_FALSE(result->tenant_refused);
  EXPECT_EQ(result->registry_dir, root_ / "store");
  EXPECT_LT(result->rows, 1000u);
  EXPECT_FALSE(fs::exists(root_ / "store" / "tenants"));
}

TEST_F(TenantPipelineTest, OptionsRefuseBadTenantIdsAndThresholds) {
  for (const char* bad : {"..", "a/b", "-x"}) {
    auto pipeline = TrainPipeline::Create(Options(bad));
    ASSERT_FALSE(pipeline.has_value()) << bad;
    EXPECT_EQ(pipeline.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(pipeline.error().message.rfind("tenant id: ", 0), 0u) << pipeline.error().message;
  }
  TrainPipelineOptions options = Options("acme");
  options.tenant_gate.min_positives = -3;
  auto pipeline = TrainPipeline::Create(options);
  ASSERT_FALSE(pipeline.has_value());
  EXPECT_NE(pipeline.error().message.find("min tenant positives"), std::string::npos);
}

}  // namespace
}  // namespace csml
