// SummarizeExplanations and its three renderings: TreeSHAP over rows scored by the
// xgboost_synth fixture model, beside the seed's rules.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/predict/forest.h"
#include "csml/predict/forest_explainer.h"
#include "csml/predict/forest_predictor.h"
#include "csml/reporting/evaluation_report.h"
#include "csml/reporting/report_renderer.h"
#include "ten_row_evaluation.h"

namespace csml {
namespace {

std::shared_ptr<const ServingModel> FixtureModel(bool with_explainer) {
  std::ifstream in(CSML_TEST_DATA_DIR "/fixtures/xgboost_synth/model.json", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  Result<Forest> forest = LoadForest(bytes.str());
  EXPECT_TRUE(forest.has_value()) << forest.error().message;
  if (!forest) return nullptr;
  std::shared_ptr<const ForestExplainer> explainer;
  if (with_explainer) {
    Result<ForestExplainer> made = ForestExplainer::Create(*forest);
    EXPECT_TRUE(made.has_value()) << made.error().message;
    if (made) explainer = std::make_shared<const ForestExplainer>(std::move(*made));
  }
  auto model = ServingModel::Create("v1", FeatureEncoder::DefaultColumns(), Thresholds{},
                                    std::make_unique<const ForestPredictor>(std::move(*forest)),
                                    Calibration{}, explainer);
  EXPECT_TRUE(model.has_value()) << model.error().message;
  return model ? *model : nullptr;
}

// Customers spread over the ranges, some with missing values; every rule fires on some.
std::vector<Snapshot> Rows(std::size_t n) {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Snapshot> rows(n);
  const Region regions[] = {Region::kIN, Region::kSG, Region::kUS, Region::kEU};
  for (std::size_t i = 0; i < n; ++i) {
    RawFeatures& f = rows[i].features;
    f.Set(NumericFeature::kActivity7d, std::floor(u(rng) * 8));
    f.Set(NumericFeature::kActivity30d, std::floor(u(rng) * 30));
    f.Set(NumericFeature::kTimeSinceLastUseDays, std::floor(u(rng) * 40));
    f.Set(NumericFeature::kFailedRenewals30d, u(rng) < 0.2 ? 1 : 0);
    f.Set(NumericFeature::kTickets7d, std::floor(u(rng) * 3));
    if (i % 7 != 0) f.Set(NumericFeature::kTickets30d, std::floor(u(rng) * 6));
    f.Set(NumericFeature::kPlanValue, 10 + std::floor(u(rng) * 150));
    if (i % 11 != 0) f.Set(NumericFeature::kUsageScore, u(rng));
    f.region = regions[i % 4];
  }
  return rows;
}

TEST(SummarizeExplanations, ImportanceDependenceAndRuleAgreementAddUp) {
  const auto model = FixtureModel(true);
  ASSERT_NE(model, nullptr);
  const std::vector<Snapshot> rows = Rows(1000);
  const ExplanationSummary x = SummarizeExplanations(*model, rows);
  ASSERT_TRUE(x.available);
  EXPECT_EQ(x.rows, rows.size());
  const auto& columns = model->encoder().column_names();
  ASSERT_EQ(x.importance.size(), columns.size());
  double shares = 0;
  for (std::size_t i = 0; i < x.importance.size(); ++i) {
    shares += x.importance[i].share;
    if (i > 0) {
      EXPECT_GE(x.importance[i - 1].mean_abs, x.importance[i].mean_abs);
    }
  }
  EXPECT_NEAR(shares, 1.0, 1e-9);
  EXPECT_GT(x.importance[0].mean_abs, 0.0);
  // Mean |contribution| of the top column, recomputed row by row.
  const std::size_t top = static_cast<std::size_t>(
      std::find(columns.begin(), columns.end(), x.importance[0].feature) - columns.begin());
  double sum = 0;
  for (const Snapshot& r : rows) sum += std::fabs(model->Explain(r.features)->contributions[top]);
  EXPECT_NEAR(x.importance[0].mean_abs, sum / static_cast<double>(rows.size()), 1e-12);

  ASSERT_EQ(x.dependence.size(), ExplanationSummary::kDependenceFeatures);
  for (std::size_t k = 0; k < x.dependence.size(); ++k) {
    EXPECT_EQ(x.dependence[k].feature, x.importance[k].feature);
    EXPECT_FALSE(x.dependence[k].points.empty());
    EXPECT_LE(x.dependence[k].points.size(), ExplanationSummary::kDependencePoints);
  }

  ASSERT_EQ(x.rules.size(), 4u);
  const Reason seed[] = {Reason::kInactive14d, Reason::kPaymentIssueRecent,
                         Reason::kNoRecentActivity, Reason::kLowFeatureUsage};
  for (std::size_t k = 0; k < 4; ++k) {
    const ExplanationSummary::RuleAgreement& a = x.rules[k];
    EXPECT_EQ(a.reason, seed[k]);
    std::size_t fired = 0;
    for (const Snapshot& r : rows) fired += ExplainRisk(r.features).Contains(seed[k]) ? 1 : 0;
    EXPECT_EQ(a.fired, fired) << ReasonName(a.reason);
    EXPECT_GT(a.fired, 0u) << ReasonName(a.reason);
    EXPECT_LE(a.lowered + a.raised, a.fired);
    EXPECT_DOUBLE_EQ(a.disagreement_rate,
                     static_cast<double>(a.lowered) / static_cast<double>(a.fired));
  }
}

TEST(SummarizeExplanations, NotAvailableWithoutCovers) {
  const auto model = FixtureModel(false);
  ASSERT_NE(model, nullptr);
  const ExplanationSummary x = SummarizeExplanations(*model, Rows(10));
  EXPECT_FALSE(x.available);
  EXPECT_TRUE(x.importance.empty());
}

TEST(SummarizeExplanations, RenderedInTextJsonAndHtml) {
  const auto model = FixtureModel(true);
  ASSERT_NE(model, nullptr);
  const std::vector<EvaluatedRow> evaluated = testing::FixtureRows();
  auto report = BuildEvaluationReport(evaluated, testing::FixtureMeta(), testing::FixtureSource(),
                                      EvaluationOptions{});
  ASSERT_TRUE(report.has_value()) << report.error().message;
  report->explanations = SummarizeExplanations(*model, Rows(200));
  const ExplanationSummary& x = report->explanations;
  const std::string text = RenderEvaluationText(*report);
  EXPECT_NE(text.find("explanations (TreeSHAP, 200 rows"), std::string::npos) << text;
  EXPECT_NE(text.find(x.importance[0].feature), std::string::npos);
  EXPECT_NE(text.find("disagreement"), std::string::npos);
  const std::string json = RenderEvaluationJson(*report);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(simdjson::padded_string(json)).get(root), simdjson::SUCCESS);
  std::uint64_t lowered = 0;
  ASSERT_EQ(root.at_pointer("/explanations/rule_agreement/0/lowered").get(lowered),
            simdjson::SUCCESS);
  EXPECT_EQ(lowered, x.rules[0].lowered);
  std::string_view feature;
  ASSERT_EQ(root.at_pointer("/explanations/importance/0/feature").get(feature), simdjson::SUCCESS);
  EXPECT_EQ(feature, x.importance[0].feature);
  simdjson::dom::array points;
  ASSERT_EQ(root.at_pointer("/explanations/dependence/0/points").get(points), simdjson::SUCCESS);
  EXPECT_EQ(points.size(), x.dependence[0].points.size());
  const std::string html = RenderEvaluationHtml(*report);
  const std::size_t chart = html.find("<svg id=\"chart-dependence\"");
  ASSERT_NE(chart, std::string::npos);
  std::size_t expected_points = 0;
  for (const auto& d : x.dependence) expected_points += d.points.size();
  EXPECT_NE(html.find("data-points=\"" + std::to_string(expected_points) + "\"", chart),
            std::string::npos);
  EXPECT_NE(html.find("id=\"rule-agreement\""), std::string::npos);
  // Without covers the page says so and the chart is empty.
  report->explanations = ExplanationSummary{};
  EXPECT_NE(RenderEvaluationHtml(*report).find("no node covers"), std::string::npos);
  EXPECT_NE(RenderEvaluationText(*report).find("explanations: not available"), std::string::npos);
}

}  // namespace
}  // namespace csml
