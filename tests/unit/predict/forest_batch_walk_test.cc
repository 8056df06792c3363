// The vectorized batch walk (src/predict/forest_batch_walk.h) against the portable lockstep
// walk and the single-row path: bit for bit, on every fixture (with NaN put into the rows),
// and on generated LightGBM models whose trees take each of the walk's paths (32-leaf masks,
// 64-leaf masks, the one-row walk's groups of eight trees, and the per-tree fallback for wider
// trees and zero-as-missing splits), with rows that sit exactly on thresholds and NaN on both
// default directions.
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "csml/predict/forest.h"
#include "testing/fixture_cases.h"

namespace csml {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}

// Scores rows through PredictBatch, PredictBatchPortable, PredictRisk (the one-row walk on
// AVX2 CPUs) and the margins of both one-row walks, and expects the same bits from all.
void ExpectAllPathsIdentical(const Forest& forest, const std::vector<double>& rows) {
  const std::size_t width = forest.num_features();
  const std::size_t n = rows.size() / width;
  std::vector<double> batch(n);
  std::vector<double> portable(n);
  forest.PredictBatch(rows, batch);
  forest.PredictBatchPortable(rows, portable);
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const double single =
        forest.PredictRisk(std::span<const double>(rows).subspan(r * width, width));
    const bool same = std::memcmp(&batch[r], &portable[r], sizeof(double)) == 0 &&
                      std::memcmp(&single, &portable[r], sizeof(double)) == 0;
    if (!same && ++mismatches <= 5) {
      ADD_FAILURE() << fmt::format("row {}: batch {:.17g}, portable {:.17g}, single row {:.17g}", r,
                                   batch[r], portable[r], single);
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << n << " rows";
  // Batches that end mid-chunk and start mid-way score the same as the whole.
  for (const std::size_t count : {std::size_t{1}, std::size_t{33}}) {
    if (n < 7 + count) continue;
    std::vector<double> part(count);
    forest.PredictBatch(std::span<const double>(rows).subspan(7 * width, count * width), part);
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(part[i], portable[7 + i]) << count;
  }
}

// ---- fixtures -----------------------------------------------------------------------------

class BatchWalkFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(BatchWalkFixture, BatchEqualsPortableWalkAndSingleRowBitForBit) {
  const std::string name = GetParam();
  const char* file = name.rfind("xgboost", 0) == 0 ? "model.json" : "model.txt";
  auto bytes = testing::ReadFile(testing::FixturePath(name, file));
  ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
  auto forest = LoadForest(*bytes);
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  auto cases = testing::LoadFixtureCases(name);
  ASSERT_TRUE(cases.has_value()) << cases.error().message;
  auto encoder = FeatureEncoder::Create(forest->feature_names());
  ASSERT_TRUE(encoder.has_value()) << encoder.error().message;
  const std::size_t width = encoder->num_columns();

  // The cases as they are, then again with one value in three turned into NaN.
  std::vector<double> rows(2 * cases->size() * width);
  std::mt19937 rng(5);
  for (std::size_t i = 0; i < cases->size(); ++i) {
    const std::span<double> row(rows.data() + i * width, width);
    encoder->Encode((*cases)[i].features, row);
    const std::span<double> holed(rows.data() + (cases->size() + i) * width, width);
    std::copy(row.begin(), row.end(), holed.begin());
    for (double& x : holed) {
      if (rng() % 3 == 0) x = kNan;
    }
  }
  EXPECT_EQ(forest->batch_vectorized(), CpuHasAvx2());
  if (name == "lightgbm_synth_categorical") {
    EXPECT_GT(forest->batch_scalar_trees(), 0u) << "categorical trees take the fallback";
  } else {
    EXPECT_EQ(forest->batch_scalar_trees(), 0u);
  }
  ExpectAllPathsIdentical(*forest, rows);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchWalkFixture,
                         ::testing::Values("lightgbm_synth", "lightgbm_synth_missing",
                                           "lightgbm_synth_categorical", "xgboost_synth"));

// ---- generated models ---------------------------------------------------------------------

// The grid thresholds and row values come from, so rows often sit exactly on a threshold.
constexpr double kGrid[] = {-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0};
constexpr int kFeatures = 3;

// One LightGBM tree of num_leaves leaves grown by splitting random leaves. decision_type:
// bit 1 default left; missing type NaN (8) or None (0), or Zero (4) when zero_as_missing.
std::string LightgbmTree(int index, int num_leaves, bool zero_as_missing, std::mt19937& rng) {
  std::vector<int> left;
  std::vector<int> right;
  // Where each leaf hangs: (internal node, 0 left / 1 right); the root leaf hangs nowhere.
  std::vector<std::pair<int, int>> parent = {{-1, 0}};
  for (int leaf = 1; leaf < num_leaves; ++leaf) {
    const int split_leaf = static_cast<int>(rng() % static_cast<unsigned>(leaf));
    const int node = static_cast<int>(left.size());
    left.push_back(~split_leaf);
    right.push_back(~leaf);
    const auto [p, side] = parent[static_cast<std::size_t>(split_leaf)];
    if (p >= 0) (side == 0 ? left : right)[static_cast<std::size_t>(p)] = node;
    parent[static_cast<std::size_t>(split_leaf)] = {node, 0};
    parent.emplace_back(node, 1);
  }
  std::string features;
  std::string thresholds;
  std::string types;
  for (std::size_t i = 0; i < left.size(); ++i) {
    features += fmt::format("{} ", rng() % kFeatures);
    thresholds += fmt::format("{:.17g} ", kGrid[rng() % std::size(kGrid)]);
    const int missing = zero_as_missing ? 4 : (rng() % 2 == 0 ? 8 : 0);
    types += fmt::format("{} ", missing | static_cast<int>(rng() % 2) * 2);
  }
  std::string leaves;
  std::uniform_real_distribution<double> value(-0.3, 0.3);
  for (int leaf = 0; leaf < num_leaves; ++leaf) leaves += fmt::format("{:.17g} ", value(rng));
  return fmt::format(
      "Tree={}\nnum_leaves={}\nnum_cat=0\nsplit_feature={}\nthreshold={}\ndecision_type={}\n"
      "left_child={}\nright_child={}\nleaf_value={}\nis_linear=0\nshrinkage=1\n\n",
      index, num_leaves, features, thresholds, types, fmt::join(left, " "), fmt::join(right, " "),
      leaves);
}

std::string LightgbmModel(const std::vector<std::pair<int, bool>>& trees, unsigned seed) {
  std::mt19937 rng(seed);
  std::string text =
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
      "max_feature_idx=2\nobjective=binary sigmoid:1\nfeature_names=a b c\n\n";
  for (std::size_t t = 0; t < trees.size(); ++t) {
    text += LightgbmTree(static_cast<int>(t), trees[t].first, trees[t].second, rng);
  }
  return text + "end of trees\n";
}

// Values on the grid, between grid points, beyond it, signed zeros and NaN.
std::vector<double> GridRows(std::size_t n, unsigned seed) {
  static constexpr double kValues[] = {-1.0, -0.5, 0.0,  -0.0, 0.5,  1.0,  1.5,  2.0,
                                       -7.0, 0.25, 1.75, 3.0,  kNan, kNan, 1e-40};
  std::mt19937 rng(seed);
  std::vector<double> rows(n * kFeatures);
  for (double& x : rows) x = kValues[rng() % std::size(kValues)];
  return rows;
}

TEST(BatchWalk, TreesOfEveryWidthAndMissingRuleMatchThePortableWalk) {
  // Tree order mixes the paths, so a fallback tree's leaf must land in its place in the sum.
  const std::vector<std::pair<int, bool>> trees = {
      {7, false}, {31, false}, {32, false}, {33, false}, {80, false}, {64, false},
      {12, true}, {2, false},  {50, false}, {65, false}, {20, false}, {5, true}};
  auto forest = LoadForest(LightgbmModel(trees, 11));
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  ASSERT_EQ(forest->num_trees(), trees.size());
  // 80 and 65 leaves are beyond the masks; the two zero-as-missing trees need their rule.
  EXPECT_EQ(forest->batch_scalar_trees(), 4u);
  EXPECT_EQ(forest->batch_vectorized(), CpuHasAvx2());
  ExpectAllPathsIdentical(*forest, GridRows(3001, 3));
}

TEST(BatchWalk, ManyRandomModelsMatchThePortableWalk) {
  std::mt19937 rng(17);
  for (unsigned seed = 0; seed < 20; ++seed) {
    std::vector<std::pair<int, bool>> trees;
    const std::size_t num_trees = 1 + rng() % 30;
    for (std::size_t t = 0; t < num_trees; ++t) {
      trees.emplace_back(2 + static_cast<int>(rng() % 63), rng() % 10 == 0);
    }
    auto forest = LoadForest(LightgbmModel(trees, seed));
    ASSERT_TRUE(forest.has_value()) << forest.error().message;
    SCOPED_TRACE(fmt::format("model seed {}", seed));
    ExpectAllPathsIdentical(*forest, GridRows(300, seed));
  }
}

TEST(BatchWalk, WrongSizesGiveNanOnEveryPath) {
  auto forest = LoadForest(LightgbmModel({{9, false}}, 1));
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  const std::vector<double> rows = GridRows(4, 1);
  std::vector<double> out(5, 0.0);
  forest->PredictBatch(rows, out);
  for (double v : out) EXPECT_TRUE(std::isnan(v));
}

}  // namespace
}  // namespace csml
