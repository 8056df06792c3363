// The per-node rules of each format on tiny hand-written models, including the cases the
// fixtures do not reach: LightGBM's zero-as-missing type, categorical edge values, sigmoid
// scales; XGBoost's float32 comparison at every rounding boundary and base_score != 0.5.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/predict/forest.h"

namespace csml {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// A one-split LightGBM model over features a, b: split on a; left leaf -1, right leaf +1, so
// the margin says which way a row went.
std::string LightgbmStump(int decision_type, double threshold, std::string_view extra_tree_lines,
                          std::string_view objective = "binary sigmoid:1") {
  return fmt::format(
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
      "max_feature_idx=1\nobjective={}\nfeature_names=a b\nfeature_infos=[0:1] [0:1]\n"
      "tree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat={}\nsplit_feature=0\nsplit_gain=1\n"
      "threshold={:.17g}\ndecision_type={}\nleft_child=-1\nright_child=-2\nleaf_value=-1 1\n"
      "leaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=1\ninternal_count=2\n"
      "{}is_linear=0\nshrinkage=1\n\n\nend of trees\n\nfeature_importances:\na=1\n",
      objective, (decision_type & 1) ? 1 : 0, threshold, decision_type, extra_tree_lines);
}

std::optional<Forest> Load(const std::string& text) {
  auto forest = LoadForest(text);
  if (!forest.has_value()) {
    ADD_FAILURE() << forest.error().message;
    return std::nullopt;
  }
  return std::move(*forest);
}

enum class Way { kLeft, kRight };

Way WayOf(const Forest& forest, double a) {
  const std::vector<double> row = {a, 0.0};
  return forest.PredictMargin(row) < 0 ? Way::kLeft : Way::kRight;
}

struct LightgbmRuleCase {
  const char* name;
  int decision_type;
  double threshold;
  double x;
  Way expected;
};

class LightgbmNumericalRule : public ::testing::TestWithParam<LightgbmRuleCase> {};

TEST_P(LightgbmNumericalRule, SendsTheRowWhereLightgbmDoes) {
  const LightgbmRuleCase& c = GetParam();
  const std::optional<Forest> loaded = Load(LightgbmStump(c.decision_type, c.threshold, ""));
  ASSERT_TRUE(loaded.has_value());
  const Forest& forest = *loaded;
  EXPECT_EQ(WayOf(forest, c.x), c.expected);
}

// decision_type: bit 1 default left, bits 2-3 missing type (0 None, 1 Zero, 2 NaN).
INSTANTIATE_TEST_SUITE_P(
    Table, LightgbmNumericalRule,
    ::testing::Values(
        LightgbmRuleCase{"LessOrEqualGoesLeft", 8, 0.5, 0.5, Way::kLeft},
        LightgbmRuleCase{"AboveGoesRight", 8, 0.5, 0.5000000000000001, Way::kRight},
        LightgbmRuleCase{"NoneMissingReadsNanAsZeroLeft", 0, 0.5, kNan, Way::kLeft},
        LightgbmRuleCase{"NoneMissingReadsNanAsZeroRight", 2, -0.5, kNan, Way::kRight},
        LightgbmRuleCase{"NanMissingDefaultRight", 8, 0.5, kNan, Way::kRight},
        LightgbmRuleCase{"NanMissingDefaultLeft", 10, -0.5, kNan, Way::kLeft},
        LightgbmRuleCase{"NanMissingZeroIsAValue", 8, -0.5, 0.0, Way::kRight},
        LightgbmRuleCase{"ZeroMissingZeroTakesDefaultRight", 4, 0.5, 0.0, Way::kRight},
        LightgbmRuleCase{"ZeroMissingTinyTakesDefaultRight", 4, 0.5, 1e-36, Way::kRight},
        LightgbmRuleCase{"ZeroMissingNanTakesDefaultRight", 4, 0.5, kNan, Way::kRight},
        LightgbmRuleCase{"ZeroMissingZeroTakesDefaultLeft", 6, -0.5, -0.0, Way::kLeft},
        LightgbmRuleCase{"ZeroMissingValueComparesLeft", 4, 0.5, 0.25, Way::kLeft},
        LightgbmRuleCase{"ZeroMissingValueComparesRight", 6, 0.5, 0.75, Way::kRight},
        LightgbmRuleCase{"InfinityGoesRight", 8, 1e300, std::numeric_limits<double>::infinity(),
                         Way::kRight}),
    [](const ::testing::TestParamInfo<LightgbmRuleCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(LightgbmCategoricalRule, TestsTheTruncatedCategoryInTheBitset) {
  // Bitset 11 = categories 0, 1 and 3; categorical split (bit 0) with missing type NaN.
  const std::optional<Forest> loaded =
      Load(LightgbmStump(9, 0, "cat_boundaries=0 1\ncat_threshold=11\n"));
  ASSERT_TRUE(loaded.has_value());
  const Forest& forest = *loaded;
  EXPECT_EQ(WayOf(forest, 0), Way::kLeft);
  EXPECT_EQ(WayOf(forest, 1), Way::kLeft);
  EXPECT_EQ(WayOf(forest, 1.9), Way::kLeft);  // int(1.9) = 1
  EXPECT_EQ(WayOf(forest, 2), Way::kRight);
  EXPECT_EQ(WayOf(forest, 3), Way::kLeft);
  EXPECT_EQ(WayOf(forest, -0.5), Way::kLeft);  // int(-0.5) = 0, not negative
  EXPECT_EQ(WayOf(forest, -1), Way::kRight);   // negative
  EXPECT_EQ(WayOf(forest, kNan), Way::kRight);
  EXPECT_EQ(WayOf(forest, 32), Way::kRight);  // beyond the bitset
  EXPECT_EQ(WayOf(forest, 1e30), Way::kRight);
}

TEST(LightgbmCategoricalRule, ReadsBitsetsSpanningSeveralWordsAndSplits) {
  // Two bitsets: #0 = {40} (words 0, 256), #1 = {2}; split 0 uses #1, split 1 uses #0.
  const std::string text = fmt::format(
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nmax_feature_idx=0\n"
      "objective=binary sigmoid:1\nfeature_names=code\n\nTree=0\nnum_leaves=3\nnum_cat=2\n"
      "split_feature=0 0\nthreshold=1 0\ndecision_type=1 1\nleft_child=-1 -2\n"
      "right_child=1 -3\nleaf_value=1 2 4\ncat_boundaries=0 2 3\ncat_threshold=0 256 4\n"
      "is_linear=0\nshrinkage=1\n\nend of trees\n");
  const std::optional<Forest> loaded = Load(text);
  ASSERT_TRUE(loaded.has_value());
  const Forest& forest = *loaded;
  auto margin = [&](double code) { return forest.PredictMargin(std::vector<double>{code}); };
  EXPECT_EQ(margin(2), 1);
  EXPECT_EQ(margin(40), 2);
  EXPECT_EQ(margin(41), 4);
  EXPECT_EQ(margin(0), 4);
}

TEST(LightgbmModel, AppliesTheSigmoidScaleAndSumsTreesInDouble) {
  const std::optional<Forest> loaded = Load(LightgbmStump(8, 0.5, "", "binary sigmoid:2.5"));
  ASSERT_TRUE(loaded.has_value());
  const Forest& forest = *loaded;
  const std::vector<double> row = {1.0, 0.0};
  EXPECT_EQ(forest.PredictMargin(row), 1.0);
  EXPECT_DOUBLE_EQ(forest.PredictRisk(row), 1.0 / (1.0 + std::exp(-2.5)));
}

TEST(LightgbmModel, LoadsAOneLeafTree) {
  const std::string text =
      "tree\nmax_feature_idx=0\nobjective=binary sigmoid:1\nfeature_names=x\n\nTree=0\n"
      "num_leaves=1\nnum_cat=0\nsplit_feature=\nthreshold=\ndecision_type=\nleft_child=\n"
      "right_child=\nleaf_value=-0.75\nis_linear=0\nshrinkage=1\n\nend of trees\n";
  const std::optional<Forest> loaded = Load(text);
  ASSERT_TRUE(loaded.has_value());
  const Forest& forest = *loaded;
  EXPECT_EQ(forest.num_nodes(), 1u);
  EXPECT_EQ(forest.PredictMargin(std::vector<double>{123.0}), -0.75);
}

// ---- XGBoost --------------------------------------------------------------------------------

// A one-split XGBoost model over features f0, f1: split on f0 at `condition`; left leaf -1,
// right leaf +1.
std::string XgboostStump(float condition, int default_left, std::string_view base_score) {
  return fmt::format(
      R"({{"learner":{{"attributes":{{}},"feature_names":[],"feature_types":[],)"
      R"("gradient_booster":{{"model":{{"gbtree_model_param":{{"num_parallel_tree":"1",)"
      R"("num_trees":"1","size_leaf_vector":"0"}},"tree_info":[0],"trees":[{{)"
      R"("base_weights":[0,-1,1],"categories":[],"categories_nodes":[],)"
      R"("categories_segments":[],"categories_sizes":[],"default_left":[{},0,0],"id":0,)"
      R"("left_children":[1,-1,-1],"loss_changes":[1,0,0],"parents":[2147483647,0,0],)"
      R"("right_children":[2,-1,-1],"split_conditions":[{:.9g},-1E0,1E0],)"
      R"("split_indices":[0,0,0],"split_type":[0,0,0],"sum_hessian":[2,1,1],)"
      R"("tree_param":{{"num_deleted":"0","num_feature":"2","num_nodes":"3",)"
      R"("size_leaf_vector":"0"}}}}]}},"name":"gbtree"}},)"
      R"("learner_model_param":{{"base_score":"{}","boost_from_average":"1","num_class":"0",)"
      R"("num_feature":"2","num_target":"1"}},"objective":{{"name":"binary:logistic",)"
      R"("reg_loss_param":{{"scale_pos_weight":"1"}}}}}},"version":[1,7,4]}})",
      default_left, condition, base_score);
}

TEST(XgboostModel, NamesFeaturesLikeXgboostWhenTheModelHasNone) {
  const std::optional<Forest> loaded = Load(XgboostStump(0.5f, 0, "5E-1"));
  ASSERT_TRUE(loaded.has_value());
  const Forest& forest = *loaded;
  EXPECT_EQ(forest.format(), ForestFormat::kXgboostJson);
  EXPECT_EQ(forest.feature_names(), (std::vector<std::string>{"f0", "f1"}));
}

TEST(XgboostModel, MissingValuesFollowDefaultLeft) {
  const std::optional<Forest> left = Load(XgboostStump(0.5f, 1, "5E-1"));
  const std::optional<Forest> right = Load(XgboostStump(0.5f, 0, "5E-1"));
  ASSERT_TRUE(left.has_value() && right.has_value());
  EXPECT_EQ(WayOf(*left, kNan), Way::kLeft);
  EXPECT_EQ(WayOf(*right, kNan), Way::kRight);
}

TEST(XgboostModel, StartsFromTheLogitOfBaseScoreInFloat) {
  const std::optional<Forest> loaded = Load(XgboostStump(0.5f, 0, "2E-1"));
  ASSERT_TRUE(loaded.has_value());
  const Forest& forest = *loaded;
  const std::vector<double> row = {1.0, 0.0};  // right leaf, +1
  const float base = -std::log(1.0f / 0.2f - 1.0f);
  const float margin = base + 1.0f;
  EXPECT_EQ(forest.PredictMargin(row), static_cast<double>(margin));
  EXPECT_EQ(forest.PredictRisk(row), static_cast<double>(1.0f / (1.0f + std::exp(-margin))));
  // XGBoost 2.x writes base_score as "[2E-1]".
  const std::optional<Forest> bracketed = Load(XgboostStump(0.5f, 0, "[2E-1]"));
  ASSERT_TRUE(bracketed.has_value());
  EXPECT_EQ(bracketed->PredictMargin(row), forest.PredictMargin(row));
}

// XGBoost compares float32(x) < condition. The forest compares x in double against a bound
// derived at load; this checks the two agree on both sides of every rounding boundary,
// including ties, zeros, subnormals and the ends of the float range.
TEST(XgboostModel, DoubleBoundAgreesWithFloat32ComparisonAtEveryRoundingBoundary) {
  constexpr float kMax = std::numeric_limits<float>::max();
  std::vector<float> conditions = {0.0f,   -0.0f, 1.0f,  -1.0f,   0.5f, 19.99f, 1e-40f, -1e-40f,
                                   1e-45f, kMax,  -kMax, 3.0e38f, 0.1f, 7.5f,   -2.5f};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> wide(-1e6f, 1e6f);
  for (int i = 0; i < 200; ++i) conditions.push_back(wide(rng));
  std::size_t checked = 0;
  for (const float c : conditions) {
    const std::optional<Forest> loaded = Load(XgboostStump(c, 0, "5E-1"));
    ASSERT_TRUE(loaded.has_value());
    const Forest& forest = *loaded;
    const float below = std::nextafter(c, -std::numeric_limits<float>::infinity());
    const float above = std::nextafter(c, std::numeric_limits<float>::infinity());
    std::vector<double> probes = {static_cast<double>(c), static_cast<double>(below)};
    for (const float neighbour : {below, above}) {
      if (!std::isfinite(neighbour)) continue;
      // The midpoint is exact in double; it and its two double neighbours straddle the tie.
      const double mid = (static_cast<double>(c) + static_cast<double>(neighbour)) / 2.0;
      probes.push_back(mid);
      probes.push_back(std::nextafter(mid, -std::numeric_limits<double>::infinity()));
      probes.push_back(std::nextafter(mid, std::numeric_limits<double>::infinity()));
    }
    if (c == -kMax) {
      probes.push_back(-0x1p128 + 0x1p103);
      probes.push_back(std::nextafter(-0x1p128 + 0x1p103, 0.0));
      probes.push_back(-1e300);
    }
    for (const double x : probes) {
      // The reference: what XGBoost does after its DMatrix stores x as float32. Values
      // beyond the float range become +-infinity there.
      const float xf = std::fabs(x) >= 0x1p128 - 0x1p103
                           ? std::copysign(std::numeric_limits<float>::infinity(),
                                           static_cast<float>(x > 0 ? 1 : -1))
                           : static_cast<float>(x);
      const Way expected = xf < c ? Way::kLeft : Way::kRight;
      EXPECT_EQ(WayOf(forest, x), expected) << fmt::format("condition {:.9g}, x {:.17g}", c, x);
      ++checked;
    }
  }
  EXPECT_GT(checked, 1500u);
}

}  // namespace
}  // namespace csml
