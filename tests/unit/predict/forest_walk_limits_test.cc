// The vectorized walks (src/predict/forest_batch_walk.h) at and over each of their limits,
// bit for bit against the portable walks:
//  - the one-row walk (PredictMargin, so PredictRisk and /score) holds a row's ranks in one, two
//    or four AVX2 registers of eight, two ranks per feature the mask trees' splits use: 1-4,
//    5-8 and 9-16 features; over 16 it is not built and PredictMargin is the portable walk.
//    Features used only by trees the masks do not take do not count;
//  - the batch walk keeps two rank rows per feature for 64 features; over 64 it is not built;
//  - a tree of up to 32 leaves is one mask word (the one-row walk's only form), 33-64 leaves two
//    words (batch walk; the one-row walk walks it on its own), more leaves, or a zero-as-missing
//    split, the scalar walk, tree by tree in its place;
//  - the one-row walk takes up to eight consecutive 32-leaf trees per group, each padded to the
//    group's longest with splits that never go right;
//  - the batch walk scores 32 rows a chunk.
// Every model is read by a loader, so built by ForestBuilder, from LightGBM text or XGBoost
// JSON generated here (XGBoost: float32 sums; LightGBM: double sums, +-inf thresholds, trees of
// one leaf). Each row compares PredictMargin with PredictMarginPortable, PredictRisk and
// PredictBatch with PredictBatchPortable, by their bits; NaN goes both default directions.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <ostream>
#include <random>
#include <span>
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
constexpr double kInf = std::numeric_limits<double>::infinity();

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}

bool SameBits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// ---- generated trees ----------------------------------------------------------------------

struct Node {
  int feature = -1;  // -1: a leaf
  double threshold = 0.0;
  bool default_left = false;
  int missing = 2;  // LightGBM's missing type: 0 None, 1 Zero, 2 NaN (XGBoost: always NaN)
  int left = -1;    // children, as indices into the tree's nodes
  int right = -1;
  double value = 0.0;  // a leaf's
};
using Tree = std::vector<Node>;  // nodes[0] is the root

enum class Format { kLightgbm, kXgboost };

std::string FormatName(Format f) { return f == Format::kLightgbm ? "lightgbm" : "xgboost"; }

// Thresholds exact in float32 (so XGBoost's and LightGBM's trees mean the same), and the
// values rows take: on thresholds, between, beyond, signed zeros, a value that rounds to a
// threshold in float32, infinities and NaN.
constexpr double kGrid[] = {-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 1e6};
const std::vector<double>& RowValues() {
  static const std::vector<double> kValues = {
      -2.0, -1.0,  -0.5, 0.0,  0.25,  0.5,        1.0,
      1.5,  2.0,   3.0,  1e6,  -0.0,  -7.0,       -1.5,
      0.1,  0.75,  1.25, 2.5,  1e300, 0.5 + 1e-9, std::nextafter(0.5, 1.0),
      kInf, -kInf, kNan, kNan, kNan};
  return kValues;
}

class Generator {
 public:
  Generator(std::size_t num_features, unsigned seed) : num_features_(num_features), rng_(seed) {}

  // The first splits of the model take the features in turn, so every feature is used.
  int NextFeature() {
    if (next_feature_ < num_features_) return static_cast<int>(next_feature_++);
    return static_cast<int>(rng_() % num_features_);
  }

  double Leaf() { return std::uniform_real_distribution<double>(-0.3, 0.3)(rng_); }

  void MakeSplit(Tree& tree, std::size_t at, int feature, double threshold, bool zero) {
    Node split;
    split.feature = feature;
    split.threshold = threshold;
    split.default_left = rng_() % 2 == 0;
    split.missing = zero ? 1 : (rng_() % 4 == 0 ? 0 : 2);
    split.left = static_cast<int>(tree.size());
    split.right = static_cast<int>(tree.size()) + 1;
    tree.push_back(Node{.value = Leaf()});
    tree.push_back(Node{.value = Leaf()});
    tree[at] = split;
  }

  // num_leaves leaves grown by splitting random leaves; thresholds from the grid (and +-inf
  // in LightGBM models); zero: every split zero-as-missing (LightGBM only).
  Tree Random(std::size_t num_leaves, bool infinities, bool zero = false) {
    Tree tree = {Node{.value = Leaf()}};
    std::vector<std::size_t> leaves = {0};
    while (leaves.size() < num_leaves) {
      const std::size_t pick = rng_() % leaves.size();
      const std::size_t at = leaves[pick];
      double threshold = kGrid[rng_() % std::size(kGrid)];
      if (infinities && rng_() % 10 == 0) threshold = rng_() % 2 == 0 ? kInf : -kInf;
      MakeSplit(tree, at, NextFeature(), threshold, zero);
      leaves[pick] = static_cast<std::size_t>(tree[at].left);
      leaves.push_back(static_cast<std::size_t>(tree[at].right));
    }
    return tree;
  }

  // A caterpillar on one feature with thresholds 0, 1, ..., num_leaves - 2, every leaf
  // reachable. Right-leaning: split k sends x <= k to leaf k, so x > num_leaves - 2 reaches the
  // last leaf (the top bit of a full mask word); left-leaning: the first leaf is the deepest.
  Tree Chain(std::size_t num_leaves, int feature, bool right_leaning) {
    Tree tree = {Node{.value = Leaf()}};
    std::size_t at = 0;
    for (std::size_t k = 0; k + 1 < num_leaves; ++k) {
      const double threshold =
          right_leaning ? static_cast<double>(k) : static_cast<double>(num_leaves - 2 - k);
      MakeSplit(tree, at, feature, threshold, false);
      at = static_cast<std::size_t>(right_leaning ? tree[at].right : tree[at].left);
    }
    return tree;
  }

  std::mt19937& rng() { return rng_; }

 private:
  std::size_t num_features_;
  std::size_t next_feature_ = 0;
  std::mt19937 rng_;
};

std::string LightgbmText(const std::vector<Tree>& trees, std::size_t num_features) {
  std::vector<std::string> names;
  for (std::size_t f = 0; f < num_features; ++f) names.push_back(fmt::format("f{}", f));
  std::string text = fmt::format(
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
      "max_feature_idx={}\nobjective=binary sigmoid:1\nfeature_names={}\n\n",
      num_features - 1, fmt::join(names, " "));
  for (std::size_t t = 0; t < trees.size(); ++t) {
    const Tree& tree = trees[t];
    // LightGBM numbers splits and leaves separately; a child c < 0 is leaf ~c.
    std::vector<int> id(tree.size());
    int splits = 0;
    int leaves = 0;
    for (std::size_t i = 0; i < tree.size(); ++i) {
      id[i] = tree[i].feature < 0 ? ~leaves++ : splits++;
    }
    std::vector<std::string> feature, threshold, type, left, right, value;
    for (const Node& n : tree) {
      if (n.feature < 0) {
        value.push_back(fmt::format("{:.17g}", n.value));
        continue;
      }
      feature.push_back(std::to_string(n.feature));
      threshold.push_back(fmt::format("{:.17g}", n.threshold));
      type.push_back(std::to_string((n.missing << 2) | (n.default_left ? 2 : 0)));
      left.push_back(std::to_string(id[static_cast<std::size_t>(n.left)]));
      right.push_back(std::to_string(id[static_cast<std::size_t>(n.right)]));
    }
    text += fmt::format(
        "Tree={}\nnum_leaves={}\nnum_cat=0\nsplit_feature={}\nthreshold={}\ndecision_type={}\n"
        "left_child={}\nright_child={}\nleaf_value={}\nis_linear=0\nshrinkage=1\n\n",
        t, leaves, fmt::join(feature, " "), fmt::join(threshold, " "), fmt::join(type, " "),
        fmt::join(left, " "), fmt::join(right, " "), fmt::join(value, " "));
  }
  return text + "end of trees\n";
}

std::string XgboostJson(const std::vector<Tree>& trees, std::size_t num_features) {
  std::vector<std::string> out;
  for (std::size_t t = 0; t < trees.size(); ++t) {
    const Tree& tree = trees[t];
    std::vector<int> left, right, index, default_left, parents(tree.size(), 2147483647);
    std::vector<std::string> conditions, zeros, hessians;
    for (std::size_t i = 0; i < tree.size(); ++i) {
      const Node& n = tree[i];
      const bool leaf = n.feature < 0;
      left.push_back(leaf ? -1 : n.left);
      right.push_back(leaf ? -1 : n.right);
      index.push_back(leaf ? 0 : n.feature);
      default_left.push_back(!leaf && n.default_left ? 1 : 0);
      conditions.push_back(fmt::format("{:.9g}", static_cast<float>(leaf ? n.value : n.threshold)));
      zeros.push_back("0");
      hessians.push_back("1");
      if (!leaf) {
        parents[static_cast<std::size_t>(n.left)] = static_cast<int>(i);
        parents[static_cast<std::size_t>(n.right)] = static_cast<int>(i);
      }
    }
    out.push_back(fmt::format(
        R"({{"id":{},"tree_param":{{"num_deleted":"0","num_feature":"{}","num_nodes":"{}",)"
        R"("size_leaf_vector":"0"}},"left_children":[{}],"right_children":[{}],)"
        R"("split_indices":[{}],"split_conditions":[{}],"default_left":[{}],)"
        R"("base_weights":[{}],"parents":[{}],"loss_changes":[{}],"sum_hessian":[{}]}})",
        t, num_features, tree.size(), fmt::join(left, ","), fmt::join(right, ","),
        fmt::join(index, ","), fmt::join(conditions, ","), fmt::join(default_left, ","),
        fmt::join(zeros, ","), fmt::join(parents, ","), fmt::join(zeros, ","),
        fmt::join(hessians, ",")));
  }
  std::vector<int> tree_info(trees.size(), 0);
  return fmt::format(
      R"({{"learner":{{"objective":{{"name":"binary:logistic"}},)"
      R"("learner_model_param":{{"base_score":"3E-1","num_class":"0","num_feature":"{}",)"
      R"("num_target":"1"}},"gradient_booster":{{"name":"gbtree","model":{{)"
      R"("gbtree_model_param":{{"num_parallel_tree":"1","num_trees":"{}"}},)"
      R"("tree_info":[{}],"trees":[{}]}}}}}},"version":[1,7,4]}})",
      num_features, trees.size(), fmt::join(tree_info, ","), fmt::join(out, ","));
}

Forest Load(Format format, const std::vector<Tree>& trees, std::size_t num_features) {
  auto forest = format == Format::kLightgbm ? LoadLightgbmText(LightgbmText(trees, num_features))
                                            : LoadXgboostJson(XgboostJson(trees, num_features));
  EXPECT_TRUE(forest.has_value()) << forest.error().message;
  return std::move(forest).value();
}

// Rows of RowValues(); chain_span > 0 mixes in the integers and halves of [-1, chain_span] so
// chain trees reach every leaf.
std::vector<double> Rows(std::size_t n, std::size_t width, unsigned seed, int chain_span = 0) {
  std::mt19937 rng(seed);
  std::vector<double> rows(n * width);
  const std::vector<double>& values = RowValues();
  for (double& x : rows) {
    if (chain_span > 0 && rng() % 2 == 0) {
      x = static_cast<double>(static_cast<int>(rng() % static_cast<unsigned>(2 * chain_span + 4)) -
                              2) /
          2.0;
    } else {
      x = values[rng() % values.size()];
    }
  }
  return rows;
}

// ---- the check ----------------------------------------------------------------------------

struct Walks {
  bool row;                  // the one-row walk is built
  bool batch;                // the batch walk is built
  std::size_t scalar_trees;  // trees the batch walk leaves to the scalar walk
};

void ExpectWalks(const Forest& forest, const Walks& walks) {
  const bool avx2 = CpuHasAvx2();
  EXPECT_EQ(forest.row_vectorized(), avx2 && walks.row);
  EXPECT_EQ(forest.batch_vectorized(), avx2 && walks.batch);
  EXPECT_EQ(forest.batch_scalar_trees(), walks.batch ? walks.scalar_trees : forest.num_trees());
}

// Every path against the portable walks, bit for bit, and batches that start and end at and
// around the chunk boundaries.
void ExpectBitIdentical(const Forest& forest, const std::vector<double>& rows) {
  const std::size_t width = forest.num_features();
  const std::size_t n = rows.size() / width;
  std::vector<double> batch(n);
  std::vector<double> portable(n);
  forest.PredictBatch(rows, batch);
  forest.PredictBatchPortable(rows, portable);
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const std::span<const double> row(rows.data() + r * width, width);
    const double margin = forest.PredictMargin(row);
    const double expected_margin = forest.PredictMarginPortable(row);
    const double risk = forest.PredictRisk(row);
    const bool same = SameBits(margin, expected_margin) && SameBits(batch[r], portable[r]) &&
                      SameBits(risk, portable[r]);
    if (!same && ++mismatches <= 5) {
      ADD_FAILURE() << fmt::format(
          "row {} ({}): margin {:a} vs portable {:a}; batch {:.17g}, one-row risk {:.17g}, "
          "portable {:.17g}",
          r, fmt::join(row, ", "), margin, expected_margin, batch[r], risk, portable[r]);
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << n << " rows";
  constexpr std::size_t kChunk = 32;
  for (const auto& [start, count] : {std::pair<std::size_t, std::size_t>{0, 1},
                                     {0, kChunk - 1},
                                     {0, kChunk},
                                     {1, kChunk},
                                     {0, kChunk + 1},
                                     {5, 2 * kChunk},
                                     {3, 2 * kChunk + 1}}) {
    if (start + count > n) continue;
    std::vector<double> part(count);
    forest.PredictBatch(std::span<const double>(rows).subspan(start * width, count * width), part);
    for (std::size_t i = 0; i < count; ++i) {
      ASSERT_TRUE(SameBits(part[i], portable[start + i]))
          << fmt::format("batch of {} from row {}: row {}", count, start, start + i);
    }
  }
}

// ---- features per register, per rank buffer ------------------------------------------------

struct FeatureCase {
  Format format;
  std::size_t features;
};

std::ostream& operator<<(std::ostream& os, const FeatureCase& c) {
  return os << FormatName(c.format) << ", " << c.features << " features";
}

class FeatureLimits : public ::testing::TestWithParam<FeatureCase> {};

TEST_P(FeatureLimits, EveryWalkGivesThePortableBits) {
  const auto [format, features] = GetParam();
  Generator gen(features, static_cast<unsigned>(100 + features));
  const bool lgb = format == Format::kLightgbm;
  std::vector<Tree> trees;
  // Enough splits that every feature is used by a tree the masks take, up to 64 features.
  for (int t = 0; t < 30; ++t) {
    const std::size_t leaves = 2 + gen.rng()() % 31;  // 2..32: one mask word
    trees.push_back(gen.Random(leaves, lgb));
  }
  trees.push_back(gen.Random(48, lgb));  // two words
  trees.push_back(gen.Random(64, lgb));
  for (int t = 0; t < 9; ++t) trees.push_back(gen.Random(2 + gen.rng()() % 31, lgb));
  if (lgb) trees.push_back(gen.Random(1, lgb));  // a constant tree
  const Forest forest = Load(format, trees, features);
  ASSERT_EQ(forest.num_trees(), trees.size());
  ExpectWalks(forest, Walks{.row = features <= 16, .batch = features <= 64, .scalar_trees = 0});
  ExpectBitIdentical(forest, Rows(3000, features, static_cast<unsigned>(features)));
}

std::vector<FeatureCase> FeatureCases() {
  std::vector<FeatureCase> cases;
  for (const Format format : {Format::kLightgbm, Format::kXgboost}) {
    // 1-4: one register; 5-8: two; 9-16: four; 17: no one-row walk; 65: no batch walk.
    for (const std::size_t f : {1, 2, 4, 5, 8, 9, 12, 16, 17, 64, 65}) {
      cases.push_back({format, f});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Generated, FeatureLimits, ::testing::ValuesIn(FeatureCases()),
                         [](const ::testing::TestParamInfo<FeatureCase>& param_info) {
                           return fmt::format("{}_{}_features", FormatName(param_info.param.format),
                                              param_info.param.features);
                         });

TEST(WalkLimits, FeaturesOnlyScalarTreesUseDoNotCount) {
  // 16 (or 64) features in the mask trees, four more only in a zero-as-missing tree and a tree
  // too wide for the masks: the walks are still built.
  for (const std::size_t mask_features : {std::size_t{16}, std::size_t{64}}) {
    SCOPED_TRACE(fmt::format("{} mask features", mask_features));
    const std::size_t total = mask_features + 4;
    Generator gen(mask_features, 7);
    std::vector<Tree> trees;
    trees.reserve(14);
    for (int t = 0; t < 12; ++t) trees.push_back(gen.Random(32, true));
    Generator extra(4, 8);
    Tree zero = extra.Random(9, false, /*zero=*/true);
    Tree wide = extra.Random(70, true);
    for (Tree* tree : {&zero, &wide}) {
      for (Node& n : *tree)
        n.feature = n.feature < 0 ? -1 : n.feature + static_cast<int>(mask_features);
    }
    trees.insert(trees.begin() + 5, zero);
    trees.push_back(wide);
    const Forest forest = Load(Format::kLightgbm, trees, total);
    ExpectWalks(forest, Walks{.row = mask_features <= 16, .batch = true, .scalar_trees = 2});
    ExpectBitIdentical(forest, Rows(2000, total, 9));
  }
  // One more feature in a mask tree and the one-row walk is not built.
  Generator gen(17, 10);
  std::vector<Tree> trees;
  trees.reserve(6);
  for (int t = 0; t < 6; ++t) trees.push_back(gen.Random(32, true));
  const Forest forest = Load(Format::kLightgbm, trees, 17);
  ExpectWalks(forest, Walks{.row = false, .batch = true, .scalar_trees = 0});
  ExpectBitIdentical(forest, Rows(1000, 17, 11));
}

// ---- leaves per mask ----------------------------------------------------------------------

struct LeafCase {
  Format format;
  std::size_t leaves;
};

std::ostream& operator<<(std::ostream& os, const LeafCase& c) {
  return os << FormatName(c.format) << ", " << c.leaves << " leaves";
}

class LeafLimits : public ::testing::TestWithParam<LeafCase> {};

TEST_P(LeafLimits, ChainsAndRandomTreesOfThisWidthGiveThePortableBits) {
  const auto [format, leaves] = GetParam();
  const bool lgb = format == Format::kLightgbm;
  constexpr std::size_t kFeatures = 3;
  Generator gen(kFeatures, static_cast<unsigned>(leaves));
  // Between 32-leaf trees, so the one-row walk's groups are cut where a wider tree stands.
  std::vector<Tree> trees = {gen.Random(32, lgb),     gen.Chain(leaves, 0, /*right_leaning=*/true),
                             gen.Random(32, lgb),     gen.Chain(leaves, 1, /*right_leaning=*/false),
                             gen.Random(leaves, lgb), gen.Random(20, lgb)};
  const Forest forest = Load(format, trees, kFeatures);
  ExpectWalks(forest, Walks{.row = true, .batch = true, .scalar_trees = leaves > 64 ? 3u : 0u});
  ExpectBitIdentical(
      forest, Rows(4000, kFeatures, static_cast<unsigned>(leaves) + 1, static_cast<int>(leaves)));
}

std::vector<LeafCase> LeafCases() {
  std::vector<LeafCase> cases;
  for (const Format format : {Format::kLightgbm, Format::kXgboost}) {
    for (const std::size_t l : {1, 2, 31, 32, 33, 63, 64, 65}) {
      cases.push_back({format, l});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Generated, LeafLimits, ::testing::ValuesIn(LeafCases()),
                         [](const ::testing::TestParamInfo<LeafCase>& param_info) {
                           return fmt::format("{}_{}_leaves", FormatName(param_info.param.format),
                                              param_info.param.leaves);
                         });

// ---- trees per one-row group --------------------------------------------------------------

TEST(WalkLimits, GroupsOfEightTreesAtAndAroundTheirSizeGiveThePortableBits) {
  for (const Format format : {Format::kLightgbm, Format::kXgboost}) {
    const bool lgb = format == Format::kLightgbm;
    for (const std::size_t count : {1, 7, 8, 9, 15, 16, 17, 24, 25}) {
      SCOPED_TRACE(fmt::format("{}, {} trees", FormatName(format), count));
      Generator gen(6, static_cast<unsigned>(count));
      std::vector<Tree> trees;
      // Split counts differ within a group: the shorter trees are padded.
      for (std::size_t t = 0; t < count; ++t) {
        trees.push_back(gen.Random(1 + gen.rng()() % 32, lgb));
      }
      const Forest forest = Load(format, trees, 6);
      ExpectWalks(forest, Walks{.row = true, .batch = true, .scalar_trees = 0});
      ExpectBitIdentical(forest, Rows(1500, 6, static_cast<unsigned>(count) + 3));
    }
  }
  // Runs of 32-leaf trees cut by trees the one-row masks do not take (two-word, zero-as-missing,
  // too wide), at every position of a group.
  Generator gen(8, 99);
  std::vector<Tree> trees;
  std::size_t scalar = 0;
  for (const std::size_t run : {5, 9, 8, 0, 1, 7, 16, 3}) {
    for (std::size_t t = 0; t < run; ++t) trees.push_back(gen.Random(2 + gen.rng()() % 31, true));
    switch (trees.size() % 3) {
      case 0:
        trees.push_back(gen.Random(40, true));
        break;
      case 1:
        trees.push_back(gen.Random(6, false, /*zero=*/true));
        ++scalar;
        break;
      default:
        trees.push_back(gen.Random(70, true));
        ++scalar;
        break;
    }
  }
  const Forest forest = Load(Format::kLightgbm, trees, 8);
  ExpectWalks(forest, Walks{.row = true, .batch = true, .scalar_trees = scalar});
  ExpectBitIdentical(forest, Rows(3000, 8, 5));
}

TEST(WalkLimits, ModelsWithoutASplitTheMasksTakeGiveThePortableBits) {
  // No feature for the rank rows at all: constant trees only, then scalar trees only.
  Generator gen(3, 12);
  std::vector<Tree> constant;
  constant.reserve(11);
  for (int t = 0; t < 11; ++t) constant.push_back(gen.Random(1, true));
  const Forest constants = Load(Format::kLightgbm, constant, 3);
  ExpectWalks(constants, Walks{.row = true, .batch = true, .scalar_trees = 0});
  ExpectBitIdentical(constants, Rows(200, 3, 13));

  std::vector<Tree> scalar;
  scalar.reserve(10);
  for (int t = 0; t < 10; ++t) {
    scalar.push_back(t % 2 == 0 ? gen.Random(5, true, /*zero=*/true) : gen.Random(66, true));
  }
  const Forest scalars = Load(Format::kLightgbm, scalar, 3);
  ExpectWalks(scalars, Walks{.row = true, .batch = true, .scalar_trees = 10});
  ExpectBitIdentical(scalars, Rows(500, 3, 14));
}

// ---- every fixture ------------------------------------------------------------------------

TEST(WalkLimits, EveryFixtureGivesThePortableBitsWithNanInEveryColumn) {
  const std::filesystem::path root = std::filesystem::path(CSML_TEST_DATA_DIR) / "fixtures";
  std::size_t fixtures = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const bool xgb = std::filesystem::exists(entry.path() / "model.json");
    auto bytes = testing::ReadFile(testing::FixturePath(name, xgb ? "model.json" : "model.txt"));
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    auto forest = LoadForest(*bytes);
    ASSERT_TRUE(forest.has_value()) << forest.error().message;
    auto cases = testing::LoadFixtureCases(name);
    ASSERT_TRUE(cases.has_value()) << cases.error().message;
    auto encoder = FeatureEncoder::Create(forest->feature_names());
    ASSERT_TRUE(encoder.has_value()) << encoder.error().message;
    const std::size_t width = encoder->num_columns();
    // The cases, then each case with every column in turn NaN, then all NaN.
    std::vector<double> rows;
    std::vector<double> row(width);
    for (const testing::FixtureCase& c : *cases) {
      encoder->Encode(c.features, row);
      rows.insert(rows.end(), row.begin(), row.end());
      for (std::size_t f = 0; f < width; ++f) {
        std::vector<double> holed = row;
        holed[f] = kNan;
        rows.insert(rows.end(), holed.begin(), holed.end());
      }
    }
    rows.insert(rows.end(), width, kNan);
    // Every fixture's mask trees use at most 16 features: both walks are built.
    EXPECT_EQ(forest->row_vectorized(), CpuHasAvx2());
    EXPECT_EQ(forest->batch_vectorized(), CpuHasAvx2());
    ExpectBitIdentical(*forest, rows);
    ++fixtures;
  }
  EXPECT_GE(fixtures, 4u);
}

}  // namespace
}  // namespace csml
