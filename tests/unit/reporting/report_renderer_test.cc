// The three forms of the report: the printed summary, report.json (every figure and curve)
// and report.html (self-contained, escaped, every chart present with data).
#include "csml/reporting/report_renderer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "ten_row_evaluation.h"

namespace csml {
namespace {

using testing::FixtureMeta;
using testing::FixtureRows;
using testing::FixtureSource;

EvaluationReport Build(const ModelMeta& meta = FixtureMeta(),
                       const EvaluationSource& source = FixtureSource()) {
  const std::vector<EvaluatedRow> rows = FixtureRows();
  auto report = BuildEvaluationReport(rows, meta, source, EvaluationOptions{});
  EXPECT_TRUE(report.has_value()) << report.error().message;
  if (!report) return EvaluationReport{};
  // A hand-made TreeSHAP summary (SummarizeExplanations has its own tests).
  ExplanationSummary& x = report->explanations;
  x.available = true;
  x.rows = 10;
  x.importance = {{"time_since_last_use_days", 0.6, 0.6}, {"usage_score", 0.4, 0.4}};
  x.dependence = {{"time_since_last_use_days", {{1, -0.5}, {20, 0.7}, {30, 0.9}}},
                  {"usage_score", {{0.1, 0.3}, {0.9, -0.2}}}};
  x.rules = {{Reason::kInactive14d, "time_since_last_use_days", 2, 1, 1, 0.2, 0.5}};
  return *report;
}

// The opening tag and content of <svg id="...">, or "" when absent.
std::string SvgElement(const std::string& html, std::string_view id) {
  const std::size_t at = html.find("<svg id=\"" + std::string(id) + "\"");
  if (at == std::string::npos) return "";
  const std::size_t end = html.find("</svg>", at);
  return end == std::string::npos ? "" : html.substr(at, end - at);
}

int DataPoints(const std::string& svg) {
  std::smatch m;
  static const std::regex kPoints("data-points=\"([0-9]+)\"");
  return std::regex_search(svg, m, kPoints) ? std::stoi(m[1]) : -1;
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST(RenderEvaluationJson, HoldsEveryFigureAndCurve) {
  const std::string json = RenderEvaluationJson(Build());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(simdjson::padded_string(json)).get(root), simdjson::SUCCESS) << json;
  const auto number = [&](const char* pointer) {
    double v = -1;
    EXPECT_EQ(root.at_pointer(pointer).get(v), simdjson::SUCCESS) << pointer;
    return v;
  };
  const auto count = [&](const char* pointer) {
    simdjson::dom::array a;
    EXPECT_EQ(root.at_pointer(pointer).get(a), simdjson::SUCCESS) << pointer;
    return a.size();
  };
  EXPECT_EQ(number("/report_format"), kReportFormatVersion);
  bool passed = false;
  ASSERT_EQ(root.at_pointer("/passed").get(passed), simdjson::SUCCESS);
  EXPECT_TRUE(passed);
  std::string_view version;
  ASSERT_EQ(root.at_pointer("/model/version").get(version), simdjson::SUCCESS);
  EXPECT_EQ(version, "risk-xgb-2025-06-01-0000");
  EXPECT_NEAR(number("/metrics/auc"), 20.0 / 24.0, 1e-12);
  EXPECT_DOUBLE_EQ(number("/metrics/base_rate"), 0.4);
  EXPECT_DOUBLE_EQ(number("/training_metrics/auc"), 0.85);
  EXPECT_EQ(number("/data/evaluated_rows"), 10);
  EXPECT_EQ(number("/data/rows_in_training_window"), 3);
  EXPECT_EQ(number("/tiers/test/high/rows"), 3);
  EXPECT_EQ(number("/tiers/training/high/rows"), 50);
  EXPECT_DOUBLE_EQ(number("/tiers/test/high_tier/recall"), 0.5);
  EXPECT_EQ(count("/comparisons"), 7u);
  EXPECT_EQ(count("/checks"), 7u);
  EXPECT_EQ(count("/reasons"), 5u);
  EXPECT_EQ(count("/feature_importance"), 3u);
  EXPECT_EQ(count("/curves/roc/points"), 11u);
  EXPECT_EQ(count("/curves/precision_recall/points"), 10u);
  EXPECT_EQ(count("/curves/calibration"), 10u);
  EXPECT_EQ(count("/curves/training_calibration"), 2u);
  EXPECT_EQ(count("/curves/gain"), 10u);
  EXPECT_EQ(count("/curves/deciles"), 10u);
  EXPECT_EQ(count("/curves/score_distribution/bin_edges"), 21u);
  EXPECT_NEAR(number("/score_quantiles/all/p50"), 0.505, 1e-12);
  // Values JSON cannot hold are null: the first ROC threshold (+infinity), an empty
  // reason's churn rate, base rate's tolerance.
  EXPECT_TRUE(root.at_pointer("/curves/roc/points/0/threshold").is_null());
  EXPECT_TRUE(root.at_pointer("/reasons/2/churn_rate").is_null());
  EXPECT_TRUE(root.at_pointer("/comparisons/6/tolerance").is_null());
}

TEST(RenderEvaluationHtml, DrawsEveryChartWithData) {
  const std::string html = RenderEvaluationHtml(Build());
  for (const std::string_view id : kReportChartIds) {
    const std::string svg = SvgElement(html, id);
    ASSERT_FALSE(svg.empty()) << id;
    EXPECT_GT(DataPoints(svg), 0) << id;
    EXPECT_GT(Count(svg, "class=\"mark\""), 0u) << id;
    EXPECT_NE(svg.find("class=\"chart-title\""), std::string::npos) << id;
    EXPECT_NE(svg.find("class=\"legend\""), std::string::npos) << id;
  }
  // Axis titles carry units.
  EXPECT_NE(html.find("False positive rate (% of retained customers flagged)"), std::string::npos);
  EXPECT_NE(html.find("Lift (churn rate ÷ base rate)"), std::string::npos);
  // Charts in page order.
  std::size_t previous = 0;
  for (const std::string_view id : kReportChartIds) {
    const std::size_t at = html.find("<svg id=\"" + std::string(id) + "\"");
    EXPECT_GT(at, previous) << id;
    previous = at;
  }
  EXPECT_NE(html.find("id=\"verdict\">PASS<"), std::string::npos);
  EXPECT_NE(html.find("Optimistic figures"), std::string::npos);
}

TEST(RenderEvaluationHtml, CountsTheDataMarksOfEachChart) {
  const std::string html = RenderEvaluationHtml(Build());
  // Lift: ten bars and a ten-point cumulative line.
  EXPECT_EQ(DataPoints(SvgElement(html, "chart-lift")), 20);
  // ROC: an 11-point curve and two tier thresholds.
  EXPECT_EQ(DataPoints(SvgElement(html, "chart-roc")), 13);
  // Tiers: three tiers, this window and training, share and churn rate.
  EXPECT_EQ(DataPoints(SvgElement(html, "chart-tiers")), 12);
  // Reasons: five reasons, all customers and churned customers.
  EXPECT_EQ(DataPoints(SvgElement(html, "chart-reasons")), 10);
  EXPECT_EQ(DataPoints(SvgElement(html, "chart-feature-importance")), 3);
}

TEST(RenderEvaluationHtml, SaysSoWhenFeatureImportanceWasNotRecorded) {
  ModelMeta meta = FixtureMeta();
  meta.extra_json = "{}";
  const std::string html = RenderEvaluationHtml(Build(meta));
  const std::string svg = SvgElement(html, "chart-feature-importance");
  EXPECT_EQ(DataPoints(svg), 0);
  EXPECT_NE(svg.find("Not recorded"), std::string::npos);
  // Without training tiers the tier chart draws this window only.
  EXPECT_EQ(DataPoints(SvgElement(html, "chart-tiers")), 6);
}

TEST(RenderEvaluationHtml, IsSelfContained) {
  const std::string html = RenderEvaluationHtml(Build());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  for (const char* external : {"<script", "src=", "href=", "url(", "@import", "http://", "https://",
                               "<link", "<img", "<iframe"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
}

TEST(RenderEvaluationHtml, EscapesTextFromTheData) {
  EvaluationSource source = FixtureSource();
  source.origin = "file <script>alert('x')</script>&\".jsonl";
  const EvaluationReport r = Build(FixtureMeta(), source);
  const std::string html = RenderEvaluationHtml(r);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("file &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;.jsonl"),
            std::string::npos);
  ModelMeta meta = FixtureMeta();
  meta.extra_json = R"({"feature_importance_gain":{"<b>x</b>":1}})";
  const std::string with_feature = RenderEvaluationHtml(Build(meta));
  EXPECT_EQ(with_feature.find("<b>x</b>"), std::string::npos);
  EXPECT_NE(with_feature.find("&lt;b&gt;x&lt;/b&gt;"), std::string::npos);
  // JSON escapes for its own context.
  EXPECT_NE(RenderEvaluationJson(r).find(R"(file <script>alert('x')</script>&\".jsonl)"),
            std::string::npos);
}

TEST(RenderEvaluationHtml, RendersTheSameReportToTheSameBytes) {
  const EvaluationReport r = Build();
  EXPECT_EQ(RenderEvaluationHtml(r), RenderEvaluationHtml(r));
  EXPECT_EQ(RenderEvaluationJson(r), RenderEvaluationJson(r));
}

TEST(RenderEvaluationText, PrintsFiguresBesideTrainingAndTheVerdict) {
  const std::string text = RenderEvaluationText(Build());
  EXPECT_NE(text.find("csml test: risk-xgb-2025-06-01-0000 (served) on 10 labeled snapshots: "
                      "PASS"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("AUC                    0.8333    0.8500   -0.0167   -0.0500  ok"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  high            3    30.0%       66.7%            10.0%            80.0%"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("inactive_14d              20.0%       100.0%         50.0%"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("WARNING     3 of 10 rows (30.0%)"), std::string::npos) << text;
  EXPECT_NE(text.find("verdict     PASS: all 7 checks passed"), std::string::npos) << text;

  ModelMeta meta = FixtureMeta();
  meta.validation_metrics["auc"] = 0.95;
  const std::string failed = RenderEvaluationText(Build(meta));
  EXPECT_NE(failed.find("DEGRADED"), std::string::npos) << failed;
  EXPECT_NE(failed.find("verdict     FAIL: 1 of 7 checks failed"), std::string::npos) << failed;
  EXPECT_NE(failed.find("FAIL auc_vs_training: AUC 0.8333 is 0.1167 below training 0.9500"),
            std::string::npos)
      << failed;
}

class ReportFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("csml-report-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ReportFilesTest, WritesBothFilesIntoANewDirectoryWithNoLeftovers) {
  const EvaluationReport r = Build();
  const std::filesystem::path out = dir_ / "reports" / "v" / "20250601T120000Z";
  auto files = WriteEvaluationReport(r, out);
  ASSERT_TRUE(files.has_value()) << files.error().message;
  EXPECT_EQ(files->json, out / "report.json");
  EXPECT_EQ(files->html, out / "report.html");
  std::ifstream html(files->html);
  std::stringstream text;
  text << html.rdbuf();
  EXPECT_EQ(text.str(), RenderEvaluationHtml(r));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(out)) ++entries;
  EXPECT_EQ(entries, 2u);
}

TEST_F(ReportFilesTest, ReportsADirectoryItCannotCreate) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  auto files = WriteEvaluationReport(Build(), dir_ / "file" / "report");
  ASSERT_FALSE(files.has_value());
  EXPECT_EQ(files.error().code, ErrorCode::kIo);
  EXPECT_NE(files.error().message.find((dir_ / "file" / "report").string()), std::string::npos)
      << files.error().message;
}

TEST(DefaultReportDir, IsVersionThenACompactUtcTimestamp) {
  EXPECT_EQ(DefaultReportDir("reports", "risk-xgb-2025-06-01-0000", 1748779200),
            std::filesystem::path("reports/risk-xgb-2025-06-01-0000/20250601T120000Z"));
}

}  // namespace
}  // namespace csml
