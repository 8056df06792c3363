// Parity on models csml trains: XGBoost (the trainer and the reference) and csml's forest
// (what the server and `csml predict` score with) must agree within 1e-6 on 100,000 rows.
//
// Each case simulates CS data in process, trains binary:logistic trees through csml's
// XgboostBooster (leaf-wise 31 leaves, or depth-wise with row and column sampling), saves the model
// as JSON, loads it both ways and compares every probability on 100,000 snapshots of a second
// simulation (other seed, so other customers; nulls and unknown regions included), through
// the forest's batch path and its single-row path alike. The batch path (vectorized on AVX2
// CPUs) must also give the portable lockstep walk's bits on all 100,000 rows.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "csml/model/dense_matrix.h"
#include "csml/model/xgboost_booster.h"
#include "csml/model/xgboost_predictor.h"
#include "csml/predict/forest.h"
#include "csml/simulate/simulator.h"
#include "testing/trained_model.h"

namespace csml {
namespace {

constexpr std::size_t kParityRows = 100'000;
constexpr double kTolerance = 1e-6;

struct ParityCase {
  const char* name;
  int rounds;
  BoosterParams params;
};

// Leaf-wise trees of 31 leaves: the model size issue 7 sizes the forest for. One OpenMP thread: the
// test's time then depends on the work, not on how busy the machine's other cores are (OpenMP
// threads spin while they wait for each other).
BoosterParams LeafWise31() { return testing::LeafWise31Params(); }

// The shape `csml train` grows by default: small leaf-wise trees, stronger regularization.
BoosterParams TrainLike() {
  BoosterParams p = LeafWise31();
  p.max_leaves = 7;
  p.eta = 0.1;
  p.min_child_weight = 10.0;
  return p;
}

BoosterParams DepthwiseSampled() {
  BoosterParams p;
  p.grow_policy = "depthwise";
  p.max_leaves = 0;
  p.max_depth = 6;
  p.subsample = 0.8;
  p.colsample_bytree = 0.8;
  p.eta = 0.1;
  p.seed = 7;
  p.threads = 1;
  return p;
}

std::vector<Snapshot> Simulate(std::size_t customers, int days, std::uint64_t seed) {
  auto records = testing::SimulateHistory(customers, days, seed);
  EXPECT_TRUE(records.has_value()) << records.error().message;
  return records ? std::move(*records) : std::vector<Snapshot>{};
}

// Trains on the labeled records, as the trainer encodes them.
std::string TrainModelJson(const ParityCase& c) {
  auto train = testing::EncodeLabeled(Simulate(600, 120, 11));
  EXPECT_TRUE(train.has_value()) << train.error().message;
  if (!train) return {};
  auto json = testing::TrainModelJson(c.params, c.rounds, *train);
  EXPECT_TRUE(json.has_value()) << json.error().message;
  return json.value_or(std::string());
}

// 100,000 encoded rows from another simulation (snapshots of every kind, labeled or not).
std::vector<double> ParityRows() {
  std::vector<Snapshot> records = Simulate(4800, 150, 29);
  EXPECT_GE(records.size(), kParityRows);
  records.resize(std::min(records.size(), kParityRows));
  const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
  auto encoder = FeatureEncoder::Create(columns);
  std::vector<double> rows(records.size() * columns.size());
  for (std::size_t r = 0; r < records.size(); ++r) {
    encoder->Encode(records[r].features,
                    std::span<double>(rows).subspan(r * columns.size(), columns.size()));
  }
  return rows;
}

class TrainedModelParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(TrainedModelParity, ForestAndXgboostAgreeWithin1e6On100kSimulatedRows) {
  const auto start = std::chrono::steady_clock::now();
  const ParityCase& c = GetParam();
  const std::string model_json = TrainModelJson(c);
  ASSERT_FALSE(model_json.empty());

  auto forest = LoadXgboostJson(model_json);
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  ASSERT_EQ(forest->num_trees(), static_cast<std::size_t>(c.rounds));
  auto reference = XgboostPredictor::FromJson(model_json, {.threads = 1});
  ASSERT_TRUE(reference.has_value()) << reference.error().message;

  const std::vector<double> rows = ParityRows();
  const std::size_t width = forest->num_features();
  const std::size_t n = rows.size() / width;
  ASSERT_EQ(n, kParityRows);
  std::vector<double> expected(n);
  ASSERT_TRUE((*reference)->PredictBatch(rows, expected));
  std::vector<double> batch(n);
  forest->PredictBatch(rows, batch);
  // The vectorized walk (on AVX2 CPUs) takes every tree of these models and gives the
  // portable walk's bits, not merely values within the tolerance.
  __builtin_cpu_init();
  EXPECT_EQ(forest->batch_vectorized(), __builtin_cpu_supports("avx2") != 0);
  EXPECT_EQ(forest->batch_scalar_trees(), 0u);
  std::vector<double> portable(n);
  forest->PredictBatchPortable(rows, portable);
  std::size_t walk_mismatches = 0;
  for (std::size_t r = 0; r < n; ++r) {
    walk_mismatches += std::memcmp(&batch[r], &portable[r], sizeof(double)) != 0 ? 1 : 0;
  }
  EXPECT_EQ(walk_mismatches, 0u) << "rows where the batch walk and the portable walk differ";

  double max_batch_diff = 0.0;
  double max_single_diff = 0.0;
  std::size_t worst = 0;
  std::size_t distinct_checked = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const double single =
        forest->PredictRisk(std::span<const double>(rows).subspan(r * width, width));
    const double batch_diff = std::fabs(batch[r] - expected[r]);
    const double single_diff = std::fabs(single - expected[r]);
    // NaN fails both comparisons, so a NaN risk counts as a disagreement.
    if (!(batch_diff <= max_batch_diff)) {
      max_batch_diff = std::isnan(batch_diff) ? INFINITY : batch_diff;
      worst = r;
    }
    if (!(single_diff <= max_single_diff)) {
      max_single_diff = std::isnan(single_diff) ? INFINITY : single_diff;
    }
    distinct_checked += (r == 0 || expected[r] != expected[r - 1]) ? 1 : 0;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "[parity %s] %zu trees, %zu nodes, %zu rows: max |forest - xgboost| batch %.3g, "
      "single row %.3g (worst row %zu: %.9g vs %.9g); %.1f s\n",
      c.name, forest->num_trees(), forest->num_nodes(), n, max_batch_diff, max_single_diff, worst,
      batch[worst], expected[worst], seconds);
  RecordProperty("max_abs_diff_batch", std::to_string(max_batch_diff));
  RecordProperty("max_abs_diff_single", std::to_string(max_single_diff));
  EXPECT_LE(max_batch_diff, kTolerance);
  EXPECT_LE(max_single_diff, kTolerance);
  // The rows must spread the model's output, or agreement would say little.
  EXPECT_GT(distinct_checked, n / 2);
}

INSTANTIATE_TEST_SUITE_P(
    CsmlModels, TrainedModelParity,
    ::testing::Values(ParityCase{"leafwise_31_leaves_300_rounds", 300, LeafWise31()},
                      ParityCase{"train_like_7_leaves_300_rounds", 300, TrainLike()},
                      ParityCase{"depthwise_sampled_100_rounds", 100, DepthwiseSampled()}),
    [](const ::testing::TestParamInfo<ParityCase>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace csml
