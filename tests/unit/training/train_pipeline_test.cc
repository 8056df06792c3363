#include "csml/training/train_pipeline.h"

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/registry/registry.h"
#include "synthetic_data.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

class RecordingObserver final : public TrainObserver {
 public:
  void OnStage(TrainStage stage) override { stages.push_back(stage); }
  void OnDataFindings(const ValidationReport& /*report*/) override { ++findings_calls; }
  void OnProgress(const TrainingProgress& /*progress*/) override { ++progress_calls; }
  void OnTrainingEnd() override { ++ends; }

  std::vector<TrainStage> stages;
  int findings_calls = 0;
  int progress_calls = 0;
  int ends = 0;
};

class TrainPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() / ("csml-pipeline-test-" + std::to_string(rd()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  TrainPipelineOptions Options(const std::string& store) const {
    TrainPipelineOptions o;
    o.model_dir = root_ / store;
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

TEST_F(TrainPipelineTest, RunsEveryStageAndPublishesIntoANewRegistry) {
  auto pipeline = TrainPipeline::Create(Options("store"));
  ASSERT_TRUE(pipeline.has_value()) << pipeline.error().message;
  RecordingObserver observer;
  auto result = pipeline->Run(Loader(testing::MakeSnapshots({})), observer);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_FALSE(result->refused);
  EXPECT_EQ(observer.stages,
            (std::vector<TrainStage>{TrainStage::kLoad, TrainStage::kValidate, TrainStage::kDataset,
                                     TrainStage::kTrain, TrainStage::kPublish}));
  EXPECT_EQ(observer.findings_calls, 1);
  EXPECT_GT(observer.progress_calls, 0);
  EXPECT_EQ(observer.ends, 1);
  EXPECT_EQ(result->origin, "test records");
  EXPECT_EQ(result->rows, result->counts.rows);
  EXPECT_GT(result->rows, 0u);
  EXPECT_TRUE(result->published.decision.promote);
  EXPECT_EQ(result->published.served_after, result->published.meta.version);

  auto registry = Registry::Open(root_ / "store", RegistryOpenMode::kReadOnly);
  ASSERT_TRUE(registry.has_value()) << registry.error().message;
  auto meta = registry->ReadMeta(result->published.meta.version);
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  auto summary = TrainingSummary::FromJson(meta->extra_json);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  ASSERT_TRUE(summary->early_stopping.has_value());
  EXPECT_EQ(summary->early_stopping->best_round, result->training.best_round);
}

TEST_F(TrainPipelineTest, DataTheValidatorBlocksIsRefusedAndCreatesNoModelDir) {
  auto pipeline = TrainPipeline::Create(Options("refused"));
  ASSERT_TRUE(pipeline.has_value());
  std::vector<Snapshot> few = testing::MakeSnapshots({});
  few.resize(10);  // far fewer labeled records than the validator accepts
  RecordingObserver observer;
  auto result = pipeline->Run(Loader(few), observer);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(result->refused);
  EXPECT_TRUE(result->validation.BlocksTraining());
  EXPECT_EQ(observer.progress_calls, 0);
  EXPECT_FALSE(fs::exists(root_ / "refused"));
}

TEST_F(TrainPipelineTest, AFailedRunCreatesNoModelDir) {
  auto pipeline = TrainPipeline::Create(Options("failed"));
  ASSERT_TRUE(pipeline.has_value());
  RecordingObserver observer;
  auto load_error = pipeline->Run(
      []() -> Result<TrainingInput> { return MakeError(ErrorCode::kUnavailable, "no source"); },
      observer);
  ASSERT_FALSE(load_error.has_value());
  EXPECT_EQ(load_error.error().message, "no source");
  EXPECT_FALSE(fs::exists(root_ / "failed"));

  // Churn only in the older weeks: the validator lets the data through, but the validation
  // split holds one class and cannot judge a model.
  testing::SyntheticOptions options;
  options.label_rule = [](const Snapshot&, int week) { return week < 10 ? week % 2 : 0; };
  auto one_class = pipeline->Run(Loader(testing::MakeSnapshots(options)), observer);
  ASSERT_FALSE(one_class.has_value());
  EXPECT_EQ(one_class.error().code, ErrorCode::kValidation) << one_class.error().message;
  EXPECT_EQ(observer.ends, 1);
  EXPECT_FALSE(fs::exists(root_ / "failed"));
}

TEST_F(TrainPipelineTest, ChecksItsOptionsOnceAtCreation) {
  TrainPipelineOptions bad = Options("x");
  bad.train.max_rounds = 0;
  EXPECT_FALSE(TrainPipeline::Create(bad).has_value());
  bad = Options("x");
  bad.promotion.max_auc_drop = -1;
  EXPECT_FALSE(TrainPipeline::Create(bad).has_value());
  bad = Options("x");
  bad.model_dir.clear();
  auto empty = TrainPipeline::Create(bad);
  ASSERT_FALSE(empty.has_value());
  EXPECT_NE(empty.error().message.find("model_dir"), std::string::npos);

  // A model directory under a file fails before anything is loaded.
  const fs::path file = root_ / "a-file";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fclose(f);
  }
  TrainPipelineOptions under_file = Options("x");
  under_file.model_dir = file / "store";
  auto pipeline = TrainPipeline::Create(under_file);
  ASSERT_TRUE(pipeline.has_value());
  RecordingObserver observer;
  bool loaded = false;
  auto run = pipeline->Run(
      [&loaded]() -> Result<TrainingInput> {
        loaded = true;
        return TrainingInput();
      },
      observer);
  ASSERT_FALSE(run.has_value());
  EXPECT_FALSE(loaded);
  EXPECT_NE(run.error().message.find("is a file"), std::string::npos) << run.error().message;
}

}  // namespace
}  // namespace csml
