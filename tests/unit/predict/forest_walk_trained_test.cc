// The vectorized walks on models csml trains (XGBoost through csml's XgboostBooster, as
// `csml train` does), bit for bit against the portable walks on 100,000 rows of simulated
// snapshots (another simulation than the training one; nulls and unknown regions included):
// the batch walk (PredictBatch) against PredictBatchPortable, the one-row walk (PredictMargin,
// which PredictRisk and /score use) against PredictMarginPortable. The cases reach each form
// of the one-row walk (3, 6 and 12 columns: one, two and four registers of ranks) and the batch
// walk's one- and two-word masks (depth-6 trees have up to 64 leaves).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/ensemble/xgboost_json.h"
#include "csml/features/schema.h"
#include "csml/model/dense_matrix.h"
#include "csml/predict/forest.h"
#include "testing/trained_model.h"

namespace csml {
namespace {

constexpr std::size_t kRows = 100'000;

bool SameBits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}

struct WalkCase {
  const char* name;
  std::size_t columns;  // the first `columns` of the default column order
  int rounds;
  BoosterParams params;
  bool two_word_masks;  // some tree has 33-64 leaves (the batch walk's two-word masks)
};

BoosterParams LeafWise(int leaves) {
  BoosterParams p = testing::LeafWise31Params();
  p.max_leaves = leaves;
  p.eta = 0.1;
  return p;
}

BoosterParams Depthwise6() {
  BoosterParams p;
  p.grow_policy = "depthwise";
  p.max_leaves = 0;
  p.max_depth = 6;
  p.eta = 0.1;
  p.min_child_weight = 0.5;
  p.threads = 1;
  return p;
}

// The first `columns` columns of every row.
std::vector<double> FirstColumns(const std::vector<double>& rows, std::size_t width,
                                 std::size_t columns) {
  std::vector<double> out;
  out.reserve(rows.size() / width * columns);
  for (std::size_t at = 0; at < rows.size(); at += width) {
    out.insert(out.end(), rows.begin() + static_cast<std::ptrdiff_t>(at),
               rows.begin() + static_cast<std::ptrdiff_t>(at + columns));
  }
  return out;
}

LabeledMatrix FirstColumns(const LabeledMatrix& train, std::size_t columns) {
  LabeledMatrix out;
  out.labels = train.labels;
  out.features = DenseMatrix::Missing(train.features.rows, columns);
  out.features.column_names.assign(
      train.features.column_names.begin(),
      train.features.column_names.begin() + static_cast<std::ptrdiff_t>(columns));
  for (std::size_t r = 0; r < train.features.rows; ++r) {
    const auto row = train.features.Row(r);
    std::copy(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(columns),
              out.features.Row(r).begin());
  }
  return out;
}

// The training matrix and the 100,000 encoded rows, made once for every case.
struct WalkData {
  LabeledMatrix train;
  std::vector<double> rows;
  std::string error;  // why they could not be made
};

WalkData Failed(std::string why) {
  WalkData data;
  data.error = std::move(why);
  return data;
}

WalkData MakeData() {
  WalkData data;
  auto train_records = testing::SimulateHistory(300, 90, 11);
  if (!train_records) return Failed(train_records.error().message);
  auto train = testing::EncodeLabeled(*train_records);
  if (!train) return Failed(train.error().message);
  data.train = std::move(*train);

  auto records = testing::SimulateHistory(4800, 150, 29);
  if (!records) return Failed(records.error().message);
  if (records->size() < kRows) {
    return Failed(
        fmt::format("the simulation gave {} rows, fewer than {}", records->size(), kRows));
  }
  const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
  auto encoder = FeatureEncoder::Create(columns);
  if (!encoder) return Failed(encoder.error().message);
  data.rows.resize(kRows * columns.size());
  for (std::size_t r = 0; r < kRows; ++r) {
    encoder->Encode((*records)[r].features,
                    std::span<double>(data.rows).subspan(r * columns.size(), columns.size()));
  }
  return data;
}

const WalkData& Data() {
  static const WalkData kData = MakeData();
  return kData;
}

class TrainedModelWalks : public ::testing::TestWithParam<WalkCase> {};

TEST_P(TrainedModelWalks, BatchAndOneRowWalksGiveThePortableBitsOn100kRows) {
  const WalkData& data = Data();
  ASSERT_TRUE(data.error.empty()) << data.error;
  const WalkCase& c = GetParam();
  const std::size_t width = FeatureEncoder::DefaultColumns().size();
  auto json = testing::TrainModelJson(c.params, c.rounds, FirstColumns(data.train, c.columns));
  ASSERT_TRUE(json.has_value()) << json.error().message;
  auto forest = LoadXgboostJson(*json);
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  ASSERT_EQ(forest->num_features(), c.columns);
  ASSERT_EQ(forest->num_trees(), static_cast<std::size_t>(c.rounds));
  auto model = ReadXgboostJson(*json);
  ASSERT_TRUE(model.has_value()) << model.error().message;
  std::size_t widest = 0;
  for (const XgboostJsonTree& tree : model->trees) {
    std::size_t leaves = 0;
    for (std::size_t i = 0; i < tree.num_nodes(); ++i) leaves += tree.is_leaf(i) ? 1 : 0;
    widest = std::max(widest, leaves - tree.num_deleted);
  }
  EXPECT_EQ(widest > 32, c.two_word_masks) << "the widest tree has " << widest << " leaves";
  EXPECT_EQ(forest->batch_vectorized(), CpuHasAvx2());
  EXPECT_EQ(forest->row_vectorized(), CpuHasAvx2());
  EXPECT_EQ(forest->batch_scalar_trees(), 0u);

  const std::vector<double> rows = FirstColumns(data.rows, width, c.columns);
  std::vector<double> batch(kRows);
  std::vector<double> portable(kRows);
  forest->PredictBatch(rows, batch);
  forest->PredictBatchPortable(rows, portable);
  std::size_t batch_mismatches = 0;
  std::size_t row_mismatches = 0;
  std::size_t distinct = 0;
  for (std::size_t r = 0; r < kRows; ++r) {
    const std::span<const double> row(rows.data() + r * c.columns, c.columns);
    const double margin = forest->PredictMargin(row);
    const double expected = forest->PredictMarginPortable(row);
    if (!SameBits(batch[r], portable[r]) && ++batch_mismatches <= 3) {
      ADD_FAILURE() << fmt::format("row {} ({}): batch {:.17g}, portable {:.17g}", r,
                                   fmt::join(row, ", "), batch[r], portable[r]);
    }
    if (!SameBits(margin, expected) && ++row_mismatches <= 3) {
      ADD_FAILURE() << fmt::format("row {} ({}): one-row margin {:a}, portable {:a}", r,
                                   fmt::join(row, ", "), margin, expected);
    }
    distinct += (r == 0 || portable[r] != portable[r - 1]) ? 1 : 0;
  }
  EXPECT_EQ(batch_mismatches, 0u);
  EXPECT_EQ(row_mismatches, 0u);
  // The rows must spread the model's output, or agreement would say little.
  EXPECT_GT(distinct, kRows / 4);
}

INSTANTIATE_TEST_SUITE_P(
    CsmlModels, TrainedModelWalks,
    ::testing::Values(WalkCase{"leafwise_31_leaves_12_columns", 12, 60, LeafWise(31), false},
                      WalkCase{"depthwise_6_6_columns", 6, 40, Depthwise6(), true},
                      WalkCase{"leafwise_7_leaves_3_columns", 3, 60, LeafWise(7), false}),
    [](const ::testing::TestParamInfo<WalkCase>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace csml
