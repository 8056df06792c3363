// LightGBM text models whose numerical splits have threshold inf or -inf (LightGBM writes inf
// itself for a split that separates missing from present values, e.g. decision_type 8).
//
// tests/data/lightgbm_inf_threshold/model.txt is built by hand from the format's rules (its
// README says how): ten trees with +-inf thresholds under every missing type (None, Zero,
// NaN) and both default directions, next to finite thresholds on the same feature. Leaf j of
// tree t is worth (j + 1) / 16^t, so every margin is an exact double that spells out the
// leaves taken. The expected margins come from two sources that do not use csml's walk:
// leaves worked out by hand for chosen rows, and a reference walk below that applies
// LightGBM's Tree::NumericalDecision rules to the same trees, written out here as data.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/predict/forest.h"
#include "csml/predict/forest_explainer.h"
#include "testing/fixture_cases.h"

namespace csml {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMax = std::numeric_limits<double>::max();
constexpr std::size_t kFeatures = 4;
constexpr std::size_t kTrees = 10;

std::string FixtureFile() {
  return fmt::format("{}/lightgbm_inf_threshold/model.txt", CSML_TEST_DATA_DIR);
}

// ---- the reference: LightGBM's rules on the fixture's trees -----------------------------

struct Split {
  int feature;
  double threshold;
  int decision_type;  // bit 1 default left, bits 2-3 missing type (0 None, 1 Zero, 2 NaN)
  int left;           // >= 0 a split, < 0 leaf ~child
  int right;
};

// The fixture's trees, as its model.txt lists them.
const std::vector<std::vector<Split>>& Trees() {
  static const std::vector<std::vector<Split>> kTreesTable = {
      {{2, kInf, 8, 1, -3}, {2, 49.500000000000007, 8, -1, -2}},
      {{1, -kInf, 10, -1, -2}},
      {{3, kInf, 0, -1, -2}},
      {{3, -kInf, 2, -1, -2}},
      {{2, 0.5, 10, 1, 2}, {2, -kInf, 8, -1, -2}, {2, kInf, 10, -3, -4}},
      {{1, kInf, 8, 1, -3}, {0, -kInf, 8, -1, -2}},
      {{3, -kInf, 10, -1, -2}},
      {{0, 3.5000000000000004, 2, -1, -2}},
      {{0, kInf, 4, 1, -3}, {0, -kInf, 6, -1, -2}},
      {{3, -kInf, 4, -1, -2}},
  };
  return kTreesTable;
}

double LeafValue(std::size_t tree, int leaf) {
  return static_cast<double>(leaf + 1) / std::pow(16.0, static_cast<double>(tree));
}

// LightGBM's NumericalDecision: NaN reads as 0.0 unless the missing type is NaN; a missing
// value (Zero: |x| <= 1e-35f, NaN: NaN) takes the default child; otherwise x <= threshold
// goes left.
int ReferenceLeaf(const std::vector<Split>& tree, const double* row) {
  int node = 0;
  while (node >= 0) {
    const Split& s = tree[static_cast<std::size_t>(node)];
    double x = row[s.feature];
    const int missing = (s.decision_type >> 2) & 3;
    const bool default_left = (s.decision_type & 2) != 0;
    if (std::isnan(x) && missing != 2) x = 0.0;
    const bool is_zero = x >= -static_cast<double>(1e-35f) && x <= static_cast<double>(1e-35f);
    if ((missing == 1 && is_zero) || (missing == 2 && std::isnan(x))) {
      node = default_left ? s.left : s.right;
    } else {
      node = x <= s.threshold ? s.left : s.right;
    }
  }
  return ~node;
}

// LightGBM's raw score: the leaves added in tree order, in double.
double ReferenceMargin(const double* row) {
  double sum = 0.0;
  for (std::size_t t = 0; t < kTrees; ++t) sum += LeafValue(t, ReferenceLeaf(Trees()[t], row));
  return sum;
}

double Sigmoid(double margin) { return 1.0 / (1.0 + std::exp(-margin)); }

// ---- rows worked out by hand ------------------------------------------------------------

struct HandRow {
  std::vector<double> row;  // activity_7d, time_since_last_use_days, plan_value, usage_score
  std::vector<int> leaves;  // the leaf of each tree, derived from the rules by hand
};

// Per tree, what decides (x0..x3 the four columns):
//  0: x2 NaN -> 2 (default right); x2 <= 49.500000000000007 -> 0; above (and +inf) -> 1
//  1: x1 NaN or -inf -> 0 (default left; -inf <= -inf); otherwise 1
//  2: always 0 (missing None: NaN reads as 0.0, and everything is <= inf)
//  3: x3 == -inf -> 0; otherwise 1 (None: NaN reads as 0.0, 0 > -inf)
//  4: x2 NaN -> 1 (left at 0.5, then default right); -inf -> 0; other <= 0.5 -> 1; above -> 2
//  5: x1 NaN -> 2; otherwise x0 == -inf -> 0, else 1 (NaN x0 defaults right)
//  6: x3 NaN or -inf -> 0; otherwise 1
//  7: x0 <= 3.5000000000000004 or NaN (None: 0.0) -> 0; otherwise 1
//  8: x0 NaN or |x0| <= 1e-35 -> 2 (Zero, default right); -inf -> 0; otherwise 1
//  9: x3 == -inf -> 0; otherwise 1 (NaN and zero default right)
std::vector<HandRow> HandRows() {
  return {
      {{kNan, kNan, kNan, kNan}, {2, 0, 0, 1, 1, 2, 0, 0, 2, 1}},
      {{0.0, 0.0, 0.0, 0.0}, {0, 1, 0, 1, 1, 1, 1, 0, 2, 1}},
      {{-kInf, -kInf, -kInf, -kInf}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {{kInf, kInf, kInf, kInf}, {1, 1, 0, 1, 2, 1, 1, 1, 1, 1}},
      {{5.0, 10.0, 49.5, 0.25}, {0, 1, 0, 1, 2, 1, 1, 1, 1, 1}},
      {{1e-40, 1e308, 49.500000000000007, -1e-40}, {0, 1, 0, 1, 2, 1, 1, 0, 2, 1}},
      {{kMax, -kMax, 50.0, kNan}, {1, 1, 0, 1, 2, 1, 0, 1, 1, 1}},
      {{-kMax, kNan, kMax, -kMax}, {1, 0, 0, 1, 2, 2, 1, 0, 1, 1}},
      {{-0.0, 3.0, 0.5, 1e-35}, {0, 1, 0, 1, 1, 1, 1, 0, 2, 1}},
      {{3.5000000000000004, 1.0, kNan, -kInf}, {2, 1, 0, 0, 1, 1, 0, 0, 1, 0}},
  };
}

double HandMargin(const HandRow& r) {
  double sum = 0.0;
  for (std::size_t t = 0; t < kTrees; ++t) sum += LeafValue(t, r.leaves[t]);
  return sum;
}

Forest LoadFixture() {
  auto bytes = testing::ReadFile(FixtureFile());
  EXPECT_TRUE(bytes.has_value()) << bytes.error().message;
  auto forest = LoadForest(bytes.value_or(std::string()));
  EXPECT_TRUE(forest.has_value()) << forest.error().message;
  return std::move(forest).value();
}

bool SameBits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// ---- tests ------------------------------------------------------------------------------

TEST(LightgbmInfiniteThreshold, TheFixtureLoadsWithEveryTree) {
  const Forest forest = LoadFixture();
  EXPECT_EQ(forest.format(), ForestFormat::kLightgbmText);
  EXPECT_EQ(forest.num_trees(), kTrees);
  EXPECT_EQ(forest.num_features(), kFeatures);
  // Trees 8 and 9 have zero-as-missing splits: the batch walk leaves them to the scalar walk.
  EXPECT_EQ(forest.batch_scalar_trees(), 2u);
}

TEST(LightgbmInfiniteThreshold, TheHandRowsAgreeWithTheReferenceWalk) {
  // Guards the reference (and the hand table) before either is used to judge the forest.
  for (const HandRow& r : HandRows()) {
    for (std::size_t t = 0; t < kTrees; ++t) {
      EXPECT_EQ(ReferenceLeaf(Trees()[t], r.row.data()), r.leaves[t])
          << fmt::format("tree {}, row ({})", t, fmt::join(r.row, ", "));
    }
  }
}

TEST(LightgbmInfiniteThreshold, EveryPathGivesTheHandWorkedMarginsAndProbabilities) {
  const Forest forest = LoadFixture();
  const std::vector<HandRow> rows = HandRows();
  std::vector<double> flat;
  for (const HandRow& r : rows) flat.insert(flat.end(), r.row.begin(), r.row.end());
  std::vector<double> batch(rows.size());
  std::vector<double> portable(rows.size());
  forest.PredictBatch(flat, batch);
  forest.PredictBatchPortable(flat, portable);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(fmt::format("row {} ({})", i, fmt::join(rows[i].row, ", ")));
    const double margin = HandMargin(rows[i]);
    // The leaves are powers of two apart: the sums are exact, in any order.
    EXPECT_EQ(forest.PredictMarginPortable(rows[i].row), margin);
    EXPECT_EQ(forest.PredictMargin(rows[i].row), margin);
    EXPECT_NEAR(forest.PredictRisk(rows[i].row), Sigmoid(margin), 1e-12);
    EXPECT_NEAR(batch[i], Sigmoid(margin), 1e-12);
    EXPECT_TRUE(SameBits(batch[i], portable[i])) << batch[i] << " vs " << portable[i];
  }
}

TEST(LightgbmInfiniteThreshold, RandomRowsOfSpecialValuesMatchTheReferenceOnEveryPath) {
  const Forest forest = LoadFixture();
  // Values on each threshold, on both sides of LightGBM's zero, the extremes and NaN.
  static constexpr double kValues[] = {kNan,
                                       0.0,
                                       -0.0,
                                       1e-40,
                                       -1e-40,
                                       1e-35,
                                       0.5,
                                       0.25,
                                       3.5,
                                       3.5000000000000004,
                                       49.5,
                                       50.0,
                                       -5.0,
                                       1e308,
                                       kMax,
                                       -kMax,
                                       kInf,
                                       -kInf,
                                       49.500000000000007};
  std::mt19937 rng(23);
  constexpr std::size_t kRows = 20'000;
  std::vector<double> rows(kRows * kFeatures);
  for (double& x : rows) x = kValues[rng() % std::size(kValues)];
  std::vector<double> batch(kRows);
  std::vector<double> portable(kRows);
  forest.PredictBatch(rows, batch);
  forest.PredictBatchPortable(rows, portable);
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < kRows; ++r) {
    const std::span<const double> row(rows.data() + r * kFeatures, kFeatures);
    const double expected = ReferenceMargin(row.data());
    const double margin = forest.PredictMarginPortable(row);
    const bool ok = margin == expected && SameBits(forest.PredictMargin(row), margin) &&
                    std::fabs(batch[r] - Sigmoid(expected)) <= 1e-12 &&
                    SameBits(batch[r], portable[r]) &&
                    SameBits(forest.PredictRisk(row), portable[r]);
    if (!ok && ++mismatches <= 5) {
      ADD_FAILURE() << fmt::format(
          "row ({}): reference margin {:a}, portable {:a}, one-row {:a}; batch {:.17g}, "
          "portable risk {:.17g}",
          fmt::join(row, ", "), expected, margin, forest.PredictMargin(row), batch[r], portable[r]);
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << kRows << " rows";
}

TEST(LightgbmInfiniteThreshold, ExplanationsAddUpToTheMargin) {
  auto explainer = ForestExplainer::Create(LoadFixture());
  ASSERT_TRUE(explainer.has_value()) << explainer.error().message;
  for (const HandRow& r : HandRows()) {
    std::vector<double> contributions(kFeatures);
    explainer->Explain(r.row, contributions);
    double sum = explainer->baseline();
    for (double c : contributions) sum += c;
    EXPECT_NEAR(sum, HandMargin(r), 1e-12) << fmt::format("row ({})", fmt::join(r.row, ", "));
  }
}

// A one-split model: `x <= threshold` with the given spelling and decision_type, leaves 1, 2.
std::string OneSplitModel(std::string_view threshold, int decision_type) {
  return fmt::format(
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
      "max_feature_idx=0\nobjective=binary sigmoid:1\nfeature_names=plan_value\n\n"
      "Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold={}\ndecision_type={}\n"
      "left_child=-1\nright_child=-2\nleaf_value=1 2\nis_linear=0\nshrinkage=1\n\n"
      "end of trees\n",
      threshold, decision_type);
}

TEST(LightgbmInfiniteThreshold, EverySpellingStrtodReadsAsInfinityLoads) {
  // LightGBM reads numbers with strtod (after its fast parser), so these all load there.
  for (const char* spelling : {"inf", "+inf", "INF", "Inf", "infinity", "Infinity"}) {
    auto forest = LoadForest(OneSplitModel(spelling, 8));
    ASSERT_TRUE(forest.has_value()) << spelling << ": " << forest.error().message;
    for (const double x : {-kInf, -kMax, 0.0, 1e308, kMax, kInf}) {
      EXPECT_EQ(forest->PredictMargin(std::vector<double>{x}), 1.0) << spelling << " " << x;
    }
    EXPECT_EQ(forest->PredictMargin(std::vector<double>{kNan}), 2.0) << spelling;
  }
  for (const char* spelling : {"-inf", "-INF", "-infinity", "-Infinity"}) {
    auto forest = LoadForest(OneSplitModel(spelling, 10));
    ASSERT_TRUE(forest.has_value()) << spelling << ": " << forest.error().message;
    EXPECT_EQ(forest->PredictMargin(std::vector<double>{-kInf}), 1.0) << spelling;
    EXPECT_EQ(forest->PredictMargin(std::vector<double>{kNan}), 1.0) << spelling;
    for (const double x : {-kMax, 0.0, kMax, kInf}) {
      EXPECT_EQ(forest->PredictMargin(std::vector<double>{x}), 2.0) << spelling << " " << x;
    }
  }
  // A leading '+' on a finite number is strtod's too.
  auto plus = LoadForest(OneSplitModel("+1.5", 0));
  ASSERT_TRUE(plus.has_value()) << plus.error().message;
  EXPECT_EQ(plus->PredictMargin(std::vector<double>{1.5}), 1.0);
  EXPECT_EQ(plus->PredictMargin(std::vector<double>{1.75}), 2.0);
}

TEST(LightgbmInfiniteThreshold, NanAndMalformedThresholdsAreRefused) {
  for (const char* spelling : {"nan", "-nan", "NaN"}) {
    auto forest = LoadForest(OneSplitModel(spelling, 8));
    ASSERT_FALSE(forest.has_value()) << spelling;
    EXPECT_EQ(forest.error().code, ErrorCode::kValidation);
    EXPECT_NE(forest.error().message.find("(tree 0, threshold): item 0 = nan: a numerical split "
                                          "needs a number (inf and -inf are allowed)"),
              std::string::npos)
        << forest.error().message;
  }
  for (const char* spelling : {"++inf", "+-inf", "+", "infx", "in"}) {
    auto forest = LoadForest(OneSplitModel(spelling, 8));
    ASSERT_FALSE(forest.has_value()) << spelling;
    EXPECT_EQ(forest.error().code, ErrorCode::kParse) << forest.error().message;
  }
}

}  // namespace
}  // namespace csml
