// TreeSHAP parity on models csml trains: csml's ForestExplainer and XGBoost's own
// pred_contribs (through XgboostBooster::PredictContributions) must agree within 1e-5 per
// feature and on the bias, on 10,000 simulated rows of a small model and on 300 rows of the
// 300 trees x 31 leaves model the benches use. Rows come from another simulation than the
// training one (nulls and unknown regions included).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "csml/model/xgboost_booster.h"
#include "csml/predict/forest.h"
#include "csml/predict/forest_explainer.h"
#include "csml/simulate/simulator.h"
#include "testing/trained_model.h"

namespace csml {
namespace {

constexpr double kTolerance = 1e-5;

struct ContribCase {
  const char* name;
  int rounds;
  int max_leaves;
  std::size_t rows;
  // The explainer's pattern-table bound: the default, or small enough that some trees take
  // the node walk.
  std::size_t max_table_bytes = ForestExplainerOptions{}.max_table_bytes;
};

// Tables round each value to float once; the node walk computes in double.
constexpr double kTableVsWalkTolerance = 1e-6;

std::ostream& operator<<(std::ostream& os, const ContribCase& c) { return os << c.name; }

std::vector<double> EncodedRows(std::size_t n) {
  auto records = testing::SimulateHistory(1200, 150, 29);
  EXPECT_TRUE(records.has_value()) << records.error().message;
  if (!records) return {};
  EXPECT_GE(records->size(), n);
  records->resize(std::min(records->size(), n));
  const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
  auto encoder = FeatureEncoder::Create(columns);
  std::vector<double> rows(records->size() * columns.size());
  for (std::size_t r = 0; r < records->size(); ++r) {
    encoder->Encode((*records)[r].features,
                    std::span<double>(rows).subspan(r * columns.size(), columns.size()));
  }
  return rows;
}

class ExplainerParity : public ::testing::TestWithParam<ContribCase> {};

TEST_P(ExplainerParity, ContributionsMatchXgboostPredContribsWithin1e5) {
  const ContribCase& c = GetParam();
  auto records = testing::SimulateHistory(300, 120, 11);
  ASSERT_TRUE(records.has_value()) << records.error().message;
  auto train = testing::EncodeLabeled(*records);
  ASSERT_TRUE(train.has_value()) << train.error().message;
  BoosterParams params = testing::LeafWise31Params();
  params.max_leaves = c.max_leaves;
  auto json = testing::TrainModelJson(params, c.rounds, *train);
  ASSERT_TRUE(json.has_value()) << json.error().message;

  auto forest = LoadXgboostJson(*json);
  ASSERT_TRUE(forest.has_value()) << forest.error().message;
  ForestExplainerOptions options;
  options.max_table_bytes = c.max_table_bytes;
  auto explainer = ForestExplainer::Create(std::move(*forest), options);
  ASSERT_TRUE(explainer.has_value()) << explainer.error().message;
  // The fast path is what is checked: trees take tables (and the node walk where bounded).
  ASSERT_GT(explainer->num_table_trees(), 0u);
  if (c.max_table_bytes < ForestExplainerOptions{}.max_table_bytes) {
    ASSERT_GT(explainer->num_walk_trees(), 0u);
  }
  auto booster = XgboostBooster::LoadJson(*json);
  ASSERT_TRUE(booster.has_value()) << booster.error().message;
  ASSERT_TRUE(booster->SetThreads(1).has_value());

  const std::vector<double> rows = EncodedRows(c.rows);
  const std::size_t m = explainer->num_features();
  const std::size_t n = rows.size() / m;
  ASSERT_EQ(n, c.rows);
  std::vector<double> expected(n * (m + 1));
  auto status = booster->PredictContributions(rows, m, expected);
  ASSERT_TRUE(status.has_value()) << status.error().message;
  std::vector<double> phi(n * m);
  explainer->ExplainBatch(rows, phi);

  double worst = 0.0;
  double worst_bias = 0.0;
  double largest = 0.0;
  double worst_walk = 0.0;
  std::size_t worst_row = 0;
  std::vector<double> walk(m);
  for (std::size_t r = 0; r < n; ++r) {
    explainer->ExplainByNodeWalk(std::span<const double>(rows).subspan(r * m, m), walk);
    for (std::size_t f = 0; f < m; ++f) {
      const double diff = std::fabs(phi[r * m + f] - walk[f]);
      worst_walk = std::isnan(diff) ? INFINITY : std::max(worst_walk, diff);
    }
    for (std::size_t f = 0; f < m; ++f) {
      const double diff = std::fabs(phi[r * m + f] - expected[r * (m + 1) + f]);
      if (!(diff <= worst)) {
        worst = std::isnan(diff) ? INFINITY : diff;
        worst_row = r;
      }
      largest = std::max(largest, std::fabs(expected[r * (m + 1) + f]));
    }
    worst_bias = std::max(worst_bias, std::fabs(explainer->baseline() - expected[r * (m + 1) + m]));
  }
  std::printf(
      "[explain parity %s] %zu trees (%zu from tables, %zu by the node walk), %zu rows: max "
      "|csml - xgboost| %.3g per feature (row %zu), %.3g on the bias; max |tables - node "
      "walk| %.3g; largest |contribution| %.3g\n",
      c.name, explainer->forest().num_trees(), explainer->num_table_trees(),
      explainer->num_walk_trees(), n, worst, worst_row, worst_bias, worst_walk, largest);
  EXPECT_LE(worst, kTolerance);
  EXPECT_LE(worst_walk, kTableVsWalkTolerance);
  EXPECT_LE(worst_bias, kTolerance);
  // Contributions far from zero, so agreement says something.
  EXPECT_GT(largest, 0.5);
}

INSTANTIATE_TEST_SUITE_P(
    CsmlModels, ExplainerParity,
    ::testing::Values(ContribCase{"small_7_leaves_40_rounds_10k_rows", 40, 7, 10'000},
                      ContribCase{"leafwise_31_leaves_300_rounds_300_rows", 300, 31, 300},
                      // About half the trees in tables, the rest by the node walk.
                      ContribCase{"leafwise_31_leaves_300_rounds_mixed", 300, 31, 300,
                                  std::size_t{4} << 20}),
    [](const ::testing::TestParamInfo<ContribCase>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace csml
