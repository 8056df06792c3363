// ForestExplainer (TreeSHAP) on every interop fixture: the contributions plus the baseline
// add up to the forest's own margin, and they are the exact Shapley values of the
// path-dependent value function (checked against the definition, by enumerating every
// subset of features, on a few rows of each fixture). Both algorithms: the pattern tables
// (Explain) and the node walk (ExplainByNodeWalk), and the tables against the walk on every
// case, NaN and default directions included (the missing fixture has nulls in every row).
#include "csml/predict/forest_explainer.h"

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "csml/predict/forest.h"
#include "testing/fixture_cases.h"

namespace csml {
namespace {

// Shapley values by their definition: phi_i = sum over subsets S without i of
// |S|! (M - |S| - 1)! / M! * (v(S + i) - v(S)), v = ExpectedMargin.
std::vector<double> BruteForceShapley(const ForestExplainer& explainer,
                                      std::span<const double> row) {
  const std::size_t m = explainer.num_features();
  const std::size_t subsets = std::size_t{1} << m;
  std::vector<double> factorial(m + 1, 1.0);
  for (std::size_t k = 1; k <= m; ++k) factorial[k] = factorial[k - 1] * static_cast<double>(k);
  std::vector<double> value(subsets);
  std::vector<bool> known(m);
  for (std::size_t s = 0; s < subsets; ++s) {
    for (std::size_t f = 0; f < m; ++f) known[f] = ((s >> f) & 1u) != 0;
    value[s] = explainer.ExpectedMargin(row, known);
  }
  std::vector<double> expected(m, 0.0);
  for (std::size_t s = 0; s < subsets; ++s) {
    const auto size = static_cast<std::size_t>(__builtin_popcountll(s));
    for (std::size_t i = 0; i < m; ++i) {
      if ((s >> i) & 1u) continue;
      const double weight = factorial[size] * factorial[m - size - 1] / factorial[m];
      expected[i] += weight * (value[s | (std::size_t{1} << i)] - value[s]);
    }
  }
  return expected;
}

// The tables hold float values (rounded once from double sums); the node walk is double.
constexpr double kTableTolerance = 1e-6;

struct ExplainFixture {
  const char* name;
  const char* model_file;
  double additivity_tolerance;  // float32 sums (XGBoost) round more than double ones
};

std::ostream& operator<<(std::ostream& os, const ExplainFixture& f) { return os << f.name; }

class ExplainerOnFixture : public ::testing::TestWithParam<ExplainFixture> {
 protected:
  void SetUp() override {
    const ExplainFixture& f = GetParam();
    auto bytes = testing::ReadFile(testing::FixturePath(f.name, f.model_file));
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    auto forest = LoadForest(*bytes);
    ASSERT_TRUE(forest.has_value()) << forest.error().message;
    ASSERT_TRUE(forest->has_covers());
    auto explainer = ForestExplainer::Create(*forest);
    ASSERT_TRUE(explainer.has_value()) << explainer.error().message;
    explainer_.emplace(std::move(*explainer));

    auto cases = testing::LoadFixtureCases(f.name);
    ASSERT_TRUE(cases.has_value()) << cases.error().message;
    auto encoder = FeatureEncoder::Create(explainer_->forest().feature_names());
    ASSERT_TRUE(encoder.has_value()) << encoder.error().message;
    width_ = encoder->num_columns();
    ASSERT_EQ(width_, explainer_->num_features());
    rows_.resize(cases->size() * width_);
    for (std::size_t i = 0; i < cases->size(); ++i) {
      encoder->Encode((*cases)[i].features, std::span<double>(rows_).subspan(i * width_, width_));
    }
  }

  std::size_t num_rows() const { return rows_.size() / width_; }
  std::span<const double> Row(std::size_t i) const {
    return std::span<const double>(rows_).subspan(i * width_, width_);
  }

  std::optional<ForestExplainer> explainer_;
  std::vector<double> rows_;
  std::size_t width_ = 0;
};

TEST_P(ExplainerOnFixture, ContributionsPlusBaselineEqualTheMarginOnEveryCase) {
  const Forest& forest = explainer_->forest();
  ASSERT_GT(explainer_->num_table_trees(), 0u);
  std::vector<double> phi(width_);
  std::vector<double> walk(width_);
  std::vector<double> batch(rows_.size());
  explainer_->ExplainBatch(rows_, batch);
  double worst = 0.0;
  double worst_walk = 0.0;
  double spread = 0.0;
  for (std::size_t r = 0; r < num_rows(); ++r) {
    explainer_->Explain(Row(r), phi);
    explainer_->ExplainByNodeWalk(Row(r), walk);
    double sum = explainer_->baseline();
    double sum_walk = explainer_->baseline();
    for (std::size_t f = 0; f < width_; ++f) {
      sum += phi[f];
      sum_walk += walk[f];
      ASSERT_EQ(phi[f], batch[r * width_ + f]) << "row " << r << " feature " << f;
    }
    const double margin = forest.PredictMargin(Row(r));
    ASSERT_TRUE(std::isfinite(margin));
    worst = std::max(worst, std::fabs(sum - margin));
    worst_walk = std::max(worst_walk, std::fabs(sum_walk - margin));
    spread = std::max(spread, std::fabs(margin - explainer_->baseline()));
  }
  EXPECT_LE(worst, std::max(GetParam().additivity_tolerance, kTableTolerance));
  EXPECT_LE(worst_walk, GetParam().additivity_tolerance);
  // The rows move the margin well away from the baseline, so the sums say something.
  EXPECT_GT(spread, 0.5);
}

TEST_P(ExplainerOnFixture, TablesAgreeWithTheNodeWalkOnEveryCase) {
  std::vector<double> phi(width_);
  std::vector<double> walk(width_);
  double worst = 0.0;
  double largest = 0.0;
  for (std::size_t r = 0; r < num_rows(); ++r) {
    explainer_->Explain(Row(r), phi);
    explainer_->ExplainByNodeWalk(Row(r), walk);
    for (std::size_t f = 0; f < width_; ++f) {
      ASSERT_TRUE(std::isfinite(phi[f])) << "row " << r << " feature " << f;
      worst = std::max(worst, std::fabs(phi[f] - walk[f]));
      largest = std::max(largest, std::fabs(walk[f]));
    }
  }
  EXPECT_LE(worst, kTableTolerance);
  EXPECT_GT(largest, 0.1);
}

// The per-row direction pass in each width (AVX-512, AVX2, scalar; a width the processor
// lacks falls to the next): the same contributions, bit for bit.
TEST_P(ExplainerOnFixture, DirectionPassesOfEveryWidthAgree) {
  auto bytes = testing::ReadFile(testing::FixturePath(GetParam().name, GetParam().model_file));
  ASSERT_TRUE(bytes.has_value());
  auto forest = LoadForest(*bytes);
  ASSERT_TRUE(forest.has_value());
  std::vector<double> widest(width_), phi(width_);
  for (const std::uint32_t bits : {256u, 0u}) {
    ForestExplainerOptions options;
    options.max_vector_bits = bits;
    auto narrow = ForestExplainer::Create(*forest, options);
    ASSERT_TRUE(narrow.has_value()) << narrow.error().message;
    ASSERT_GT(narrow->num_table_trees(), 0u);
    for (std::size_t r = 0; r < num_rows(); ++r) {
      explainer_->Explain(Row(r), widest);
      narrow->Explain(Row(r), phi);
      for (std::size_t f = 0; f < width_; ++f) {
        ASSERT_EQ(phi[f], widest[f]) << bits << " bits, row " << r << " feature " << f;
      }
    }
  }
}

// Bounds on the tables: none (every tree by the node walk, bit for bit the reference), and
// half the memory the tables want (the trees left out fall back), agree on every case.
TEST_P(ExplainerOnFixture, BoundedTablesFallBackToTheNodeWalkPerTree) {
  auto bytes = testing::ReadFile(testing::FixturePath(GetParam().name, GetParam().model_file));
  ASSERT_TRUE(bytes.has_value());
  auto forest = LoadForest(*bytes);
  ASSERT_TRUE(forest.has_value());
  ForestExplainerOptions none;
  none.max_table_bytes = 0;
  auto walk_only = ForestExplainer::Create(*forest, none);
  ASSERT_TRUE(walk_only.has_value()) << walk_only.error().message;
  EXPECT_EQ(walk_only->num_table_trees(), 0u);
  EXPECT_EQ(walk_only->table_bytes(), 0u);
  ForestExplainerOptions half;
  half.max_table_bytes = explainer_->table_bytes() / 2;
  auto mixed = ForestExplainer::Create(*forest, half);
  ASSERT_TRUE(mixed.has_value()) << mixed.error().message;
  EXPECT_GT(mixed->num_walk_trees(), 0u);
  EXPECT_LT(mixed->num_walk_trees(), walk_only->num_walk_trees());
  EXPECT_LE(mixed->table_bytes(), half.max_table_bytes);
  ForestExplainerOptions shallow;
  shallow.max_path_features = 1;  // no tree of the fixtures is that shallow
  auto none_fit = ForestExplainer::Create(*forest, shallow);
  ASSERT_TRUE(none_fit.has_value()) << none_fit.error().message;
  EXPECT_EQ(none_fit->num_table_trees(), 0u);

  std::vector<double> walk(width_), a(width_), b(width_);
  for (std::size_t r = 0; r < num_rows(); ++r) {
    explainer_->ExplainByNodeWalk(Row(r), walk);
    walk_only->Explain(Row(r), a);
    mixed->Explain(Row(r), b);
    for (std::size_t f = 0; f < width_; ++f) {
      ASSERT_EQ(a[f], walk[f]) << "row " << r << " feature " << f;
      ASSERT_NEAR(b[f], walk[f], kTableTolerance) << "row " << r << " feature " << f;
    }
  }
}

TEST_P(ExplainerOnFixture, ValueFunctionEndsAreTheBaselineAndTheMargin) {
  const std::vector<bool> none(width_, false);
  const std::vector<bool> all(width_, true);
  for (std::size_t r = 0; r < num_rows(); r += 40) {
    EXPECT_NEAR(explainer_->ExpectedMargin(Row(r), none), explainer_->baseline(), 1e-9);
    EXPECT_NEAR(explainer_->ExpectedMargin(Row(r), all), explainer_->forest().PredictMargin(Row(r)),
                GetParam().additivity_tolerance);
  }
}

TEST_P(ExplainerOnFixture, ContributionsAreTheShapleyValuesOfTheValueFunction) {
  // Rows with and without nulls (the missing fixture has nulls in every row).
  for (const std::size_t r : {std::size_t{0}, std::size_t{50}}) {
    const std::vector<double> expected = BruteForceShapley(*explainer_, Row(r));
    std::vector<double> phi(width_);
    std::vector<double> walk(width_);
    explainer_->Explain(Row(r), phi);
    explainer_->ExplainByNodeWalk(Row(r), walk);
    for (std::size_t i = 0; i < width_; ++i) {
      EXPECT_NEAR(walk[i], expected[i], 1e-9) << "row " << r << " feature " << i;
      EXPECT_NEAR(phi[i], expected[i], kTableTolerance) << "row " << r << " feature " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, ExplainerOnFixture,
    ::testing::Values(ExplainFixture{"lightgbm_synth", "model.txt", 1e-9},
                      ExplainFixture{"lightgbm_synth_missing", "model.txt", 1e-9},
                      ExplainFixture{"lightgbm_synth_categorical", "model.txt", 1e-9},
                      ExplainFixture{"xgboost_synth", "model.json", 2e-5}),
    [](const ::testing::TestParamInfo<ExplainFixture>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(ForestExplainer, WrongSizesGiveNanNotReadsOutOfBounds) {
  auto bytes = testing::ReadFile(testing::FixturePath("xgboost_synth", "model.json"));
  ASSERT_TRUE(bytes.has_value());
  auto forest = LoadForest(*bytes);
  ASSERT_TRUE(forest.has_value());
  auto explainer = ForestExplainer::Create(*forest);
  ASSERT_TRUE(explainer.has_value());
  std::vector<double> row(explainer->num_features() - 1, 1.0);
  std::vector<double> phi(explainer->num_features(), 0.0);
  explainer->Explain(row, phi);
  for (const double v : phi) EXPECT_TRUE(std::isnan(v));
  std::vector<double> rows(explainer->num_features() * 2, 1.0);
  std::vector<double> out(explainer->num_features(), 0.0);
  explainer->ExplainBatch(rows, out);
  for (const double v : out) EXPECT_TRUE(std::isnan(v));
}

// A LightGBM model saved without internal_count / leaf_count scores but cannot explain.
TEST(ForestExplainer, RefusesAModelWithoutCovers) {
  const std::string model =
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
      "max_feature_idx=1\nobjective=binary sigmoid:1\nfeature_names=a b\n\n"
      "Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold=0.5\ndecision_type=2\n"
      "left_child=-1\nright_child=-2\nleaf_value=-1 1\nshrinkage=1\n\nend of trees\n";
  auto forest = LoadForest(model);
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  EXPECT_FALSE(forest->has_covers());
  auto explainer = ForestExplainer::Create(*forest);
  ASSERT_FALSE(explainer.has_value());
  EXPECT_NE(explainer.error().message.find("cover"), std::string::npos);
}

TEST(ForestExplainer, RefusesPathBoundsAbove16) {
  auto bytes = testing::ReadFile(testing::FixturePath("xgboost_synth", "model.json"));
  ASSERT_TRUE(bytes.has_value());
  auto forest = LoadForest(*bytes);
  ASSERT_TRUE(forest.has_value());
  ForestExplainerOptions options;
  options.max_path_features = 17;
  auto explainer = ForestExplainer::Create(*forest, options);
  ASSERT_FALSE(explainer.has_value());
  EXPECT_EQ(explainer.error().code, ErrorCode::kValidation);
}

// One split on a with covers 3 left / 1 right: baseline = (3 * -1 + 1 * 1) / 4, and the
// one feature takes the whole difference.
TEST(ForestExplainer, OneSplitByHand) {
  const std::string model =
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
      "max_feature_idx=1\nobjective=binary sigmoid:1\nfeature_names=a b\n\n"
      "Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold=0.5\ndecision_type=2\n"
      "left_child=-1\nright_child=-2\nleaf_value=-1 1\nleaf_count=3 1\ninternal_count=4\n"
      "shrinkage=1\n\nend of trees\n";
  auto forest = LoadForest(model);
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  auto explainer = ForestExplainer::Create(*forest);
  ASSERT_TRUE(explainer.has_value()) << explainer.error().message;
  EXPECT_DOUBLE_EQ(explainer->baseline(), -0.5);
  std::vector<double> phi(2);
  explainer->Explain(std::vector<double>{1.0, 7.0}, phi);
  EXPECT_DOUBLE_EQ(phi[0], 1.5);
  EXPECT_DOUBLE_EQ(phi[1], 0.0);
  explainer->Explain(std::vector<double>{0.0, 7.0}, phi);
  EXPECT_DOUBLE_EQ(phi[0], -0.5);
  // NaN with missing type NaN and default right (decision_type 2 = default left bit set).
  explainer->Explain(std::vector<double>{std::nan(""), 7.0}, phi);
  EXPECT_DOUBLE_EQ(phi[0], -0.5);
}

// Small trees with a repeated feature on a path (a, then b, then a again), checked
// against the definition for rows on every path, and missing values.
TEST(ForestExplainer, SmallTreesMatchTheDefinition) {
  const std::string model =
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
      "max_feature_idx=2\nobjective=binary sigmoid:1\nfeature_names=a b c\n\n"
      "Tree=0\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\nthreshold=0.5 0.5\n"
      "decision_type=2 2\nleft_child=1 -1\nright_child=-3 -2\nleaf_value=-1 2 0.5\n"
      "leaf_count=3 2 5\ninternal_count=10 5\nshrinkage=1\n\n"
      "Tree=1\nnum_leaves=4\nnum_cat=0\nsplit_feature=0 1 0\nthreshold=0.5 0.5 0.2\n"
      "decision_type=2 0 2\nleft_child=1 2 -1\nright_child=-3 -2 -4\n"
      "leaf_value=-1 2 0.5 3\nleaf_count=1 2 5 2\ninternal_count=10 5 3\nshrinkage=1\n\n"
      "end of trees\n";
  auto forest = LoadForest(model);
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  auto explainer = ForestExplainer::Create(*forest);
  ASSERT_TRUE(explainer.has_value()) << explainer.error().message;
  const double nan = std::nan("");
  for (const std::vector<double>& row :
       {std::vector<double>{0.0, 0.0, 0.0}, std::vector<double>{0.3, 0.0, 1.0},
        std::vector<double>{0.0, 1.0, 0.0}, std::vector<double>{1.0, 1.0, 1.0},
        std::vector<double>{nan, nan, nan}, std::vector<double>{0.3, nan, 0.0}}) {
    const std::vector<double> expected = BruteForceShapley(*explainer, row);
    std::vector<double> phi(3);
    std::vector<double> walk(3);
    explainer->Explain(row, phi);
    explainer->ExplainByNodeWalk(row, walk);
    double sum = explainer->baseline();
    double sum_walk = explainer->baseline();
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(walk[i], expected[i], 1e-12) << "feature " << i << " row " << row[0];
      EXPECT_NEAR(phi[i], expected[i], kTableTolerance) << "feature " << i << " row " << row[0];
      sum += phi[i];
      sum_walk += walk[i];
    }
    EXPECT_NEAR(sum_walk, forest->PredictMargin(row), 1e-12);
    EXPECT_NEAR(sum, forest->PredictMargin(row), kTableTolerance);
  }
}

}  // namespace
}  // namespace csml
