#include "report_charts.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "csml/core/number_format.h"
#include "svg_chart.h"

namespace csml::reporting_internal {
namespace {

// One palette for every chart: this window in blue, training in grey, churned red, retained
// teal; chosen to stay apart for the common color-vision deficiencies.
constexpr char kTestColor[] = "#2563eb";
constexpr char kTrainingColor[] = "#94a3b8";
constexpr char kTrainingLineColor[] = "#64748b";
constexpr char kBaselineColor[] = "#9ca3af";
constexpr char kChurnedColor[] = "#dc2626";
constexpr char kRetainedColor[] = "#0d9488";
constexpr char kThresholdColor[] = "#7c3aed";
constexpr char kCountColor[] = "#93c5fd";
constexpr char kBeforeCalibrationColor[] = "#d97706";

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kWidth = 560;
constexpr double kHeight = 400;
// The plot area of a one-panel chart: room on the left for tick labels and the y title, on
// top for the title and the legend, below for tick labels and the x title.
constexpr Rect kPlotArea{72, 86, 462, 246};

using Points = std::vector<std::pair<double, double>>;

Style Line(const char* color, double width = 2.5, const char* dash = "") {
  return Style{color, "none", width, dash, 1};
}

Style Filled(const char* color) { return Style{"#ffffff", color, 1.5, "", 1}; }

// The high tier and the medium-or-high tiers as "will churn" predictions: where the tier
// thresholds sit on the ROC and precision-recall curves.
struct OperatingPoint {
  std::string label;
  double false_positive_rate = 0;
  double true_positive_rate = 0;  // = recall
  double precision = 0;
  double threshold = 0;
};

std::vector<OperatingPoint> OperatingPoints(const EvaluationReport& r) {
  const TierStats& high = r.tiers.of(Tier::kHigh);
  const TierStats& medium = r.tiers.of(Tier::kMedium);
  const double positives = static_cast<double>(r.metrics.positives);
  const double negatives = static_cast<double>(r.metrics.rows - r.metrics.positives);
  const auto make = [&](std::string label, std::size_t rows, std::size_t tp, double threshold) {
    const double fp = static_cast<double>(rows - tp);
    return OperatingPoint{std::move(label), negatives > 0 ? fp / negatives : kNan,
                          positives > 0 ? static_cast<double>(tp) / positives : kNan,
                          rows > 0 ? static_cast<double>(tp) / static_cast<double>(rows) : kNan,
                          threshold};
  };
  return {make("high tier", high.rows, high.positives, r.model.thresholds.high),
          make("medium + high tiers", high.rows + medium.rows, high.positives + medium.positives,
               r.model.thresholds.medium)};
}

// A tick every 10% on a risk axis that ends at a tenth (0.9 -> 9 ticks).
int TenthTicks(double axis_max) {
  return std::max(1, static_cast<int>(std::lround(axis_max * 10)));
}

std::string TrainingNote(double value, int decimals = 3) {
  return std::isfinite(value) ? fmt::format("training {}", Fixed(value, decimals))
                              : std::string("training: not recorded");
}

}  // namespace

std::string RocChart(const EvaluationReport& r) {
  SvgChart chart("chart-roc", "ROC curve",
                 "True positive rate against false positive rate as the risk threshold falls, "
                 "with the random-ranking diagonal and the tier thresholds marked.",
                 kWidth, kHeight);
  const Panel p = chart.AddPanel(
      kPlotArea,
      AxisSpec{"False positive rate (% of retained customers flagged)", 0, 1,
               NumberFormat::kPercent, 5},
      AxisSpec{"True positive rate (% of churners flagged)", 0, 1, NumberFormat::kPercent, 5});
  chart.ReferenceLine(p, 0, 0, 1, 1, Line(kBaselineColor, 1.5, "5 4"));
  Points points;
  for (const RocPoint& pt : r.roc) {
    points.emplace_back(pt.false_positive_rate, pt.true_positive_rate);
  }
  chart.Polyline(p, points, Line(kTestColor),
                 fmt::format("ROC, {} of {} points shown", r.roc.size(), r.roc_points_total));
  for (const OperatingPoint& op : OperatingPoints(r)) {
    chart.Point(p, op.false_positive_rate, op.true_positive_rate, 5, Filled(kThresholdColor),
                fmt::format("{} (risk >= {}): flags {} of churners, {} of retained", op.label,
                            Fixed(op.threshold), Percent(op.true_positive_rate),
                            Percent(op.false_positive_rate)));
    chart.Text(p.x(op.false_positive_rate) + 8, p.y(op.true_positive_rate) + 14, op.label,
               Anchor::kStart, 11, "annotation");
  }
  const std::array<LegendEntry, 3> legend = {
      LegendEntry{fmt::format("This window (AUC {}; {})", Fixed(r.metrics.auc, 3),
                              TrainingNote(r.training.auc)),
                  LegendSymbol::kLine, kTestColor},
      LegendEntry{"Random (AUC 0.5)", LegendSymbol::kDashedLine, kBaselineColor},
      LegendEntry{"Tier thresholds", LegendSymbol::kPoint, kThresholdColor}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string PrecisionRecallChart(const EvaluationReport& r) {
  SvgChart chart("chart-precision-recall", "Precision-recall curve",
                 "Precision against recall as the risk threshold falls, with the base rate "
                 "(the precision of flagging everyone) and the tier thresholds marked.",
                 kWidth, kHeight);
  const Panel p = chart.AddPanel(
      kPlotArea, AxisSpec{"Recall (% of churners flagged)", 0, 1, NumberFormat::kPercent, 5},
      AxisSpec{"Precision (% of flagged who churned)", 0, 1, NumberFormat::kPercent, 5});
  chart.ReferenceLine(p, 0, r.metrics.base_rate, 1, r.metrics.base_rate,
                      Line(kBaselineColor, 1.5, "5 4"));
  Points points;
  for (const PrPoint& pt : r.precision_recall) points.emplace_back(pt.recall, pt.precision);
  chart.Polyline(p, points, Line(kTestColor),
                 fmt::format("precision-recall, {} of {} points shown", r.precision_recall.size(),
                             r.precision_recall_points_total));
  for (const OperatingPoint& op : OperatingPoints(r)) {
    chart.Point(
        p, op.true_positive_rate, op.precision, 5, Filled(kThresholdColor),
        fmt::format("{} (risk >= {}): recall {}, precision {}", op.label, Fixed(op.threshold),
                    Percent(op.true_positive_rate), Percent(op.precision)));
    chart.Text(p.x(op.true_positive_rate) + 8, p.y(op.precision) - 8, op.label, Anchor::kStart, 11,
               "annotation");
  }
  const std::array<LegendEntry, 3> legend = {
      LegendEntry{fmt::format("This window (PR-AUC {}; {})", Fixed(r.metrics.pr_auc, 3),
                              TrainingNote(r.training.pr_auc)),
                  LegendSymbol::kLine, kTestColor},
      LegendEntry{fmt::format("Base rate {}", Percent(r.metrics.base_rate)),
                  LegendSymbol::kDashedLine, kBaselineColor},
      LegendEntry{"Tier thresholds", LegendSymbol::kPoint, kThresholdColor}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string CalibrationChart(const EvaluationReport& r) {
  constexpr double kHeightCalibration = 470;
  SvgChart chart("chart-calibration", "Calibration (reliability diagram)",
                 "Observed churn rate against mean predicted risk per risk bin, with the "
                 "diagonal of perfect calibration, training's bins for comparison, and the "
                 "number of customers in each bin below.",
                 kWidth, kHeightCalibration);
  // Zoom to the bins that hold rows: churn risks crowd the low end of [0, 1].
  double x_max = 0.1;
  double y_max = 0.1;
  for (const auto* bins : {&r.calibration, &r.training.calibration, &r.calibration_before}) {
    for (const CalibrationBin& b : *bins) {
      if (b.rows == 0) continue;
      x_max = std::max(x_max, b.upper);
      if (std::isfinite(b.observed_rate)) y_max = std::max(y_max, b.observed_rate);
    }
  }
  x_max = std::min(1.0, std::ceil(x_max * 10 - 1e-9) / 10);
  y_max = std::min(1.0, std::ceil(std::max(y_max, x_max) * 10 - 1e-9) / 10);

  const Panel top = chart.AddPanel(
      Rect{72, 86, 462, 216}, AxisSpec{"", 0, x_max, NumberFormat::kPercent, TenthTicks(x_max)},
      AxisSpec{"Observed churn rate (%)", 0, y_max, NumberFormat::kPercent, 5});
  chart.ReferenceLine(top, 0, 0, std::min(x_max, y_max), std::min(x_max, y_max),
                      Line(kBaselineColor, 1.5, "5 4"));
  Points training;
  for (const CalibrationBin& b : r.training.calibration) {
    if (b.rows > 0) training.emplace_back(b.mean_score, b.observed_rate);
  }
  if (!training.empty()) {
    chart.Polyline(top, training, Line(kTrainingLineColor, 1.5, "2 3"),
                   "training validation rows, per bin");
  }
  Points test;
  std::size_t max_rows = 1;
  for (const CalibrationBin& b : r.calibration) {
    max_rows = std::max(max_rows, b.rows);
    if (b.rows > 0) test.emplace_back(b.mean_score, b.observed_rate);
  }
  Points before;
  for (const CalibrationBin& b : r.calibration_before) {
    if (b.rows > 0) before.emplace_back(b.mean_score, b.observed_rate);
  }
  if (!before.empty()) {
    chart.Polyline(top, before, Line(kBeforeCalibrationColor, 1.5, "6 3"),
                   "this window before the calibration step, per bin");
  }
  chart.Polyline(top, test, Line(kTestColor, 2), "this window, per bin");
  for (const CalibrationBin& b : r.calibration) {
    if (b.rows == 0) continue;
    const double radius =
        3 + 5 * std::sqrt(static_cast<double>(b.rows) / static_cast<double>(max_rows));
    chart.Point(top, b.mean_score, b.observed_rate, radius, Filled(kTestColor),
                fmt::format("risk {} to {}: {} customers, mean risk {}, churned {} ({})",
                            Percent(b.lower, 0), Percent(b.upper, 0), b.rows, Percent(b.mean_score),
                            Percent(b.observed_rate), b.positives));
  }

  // Counts per bin, on the same x axis.
  const Rect count_area{72, 336, 462, 80};
  const Panel bottom = chart.AddPanel(
      count_area,
      AxisSpec{"Predicted risk (%)", 0, x_max, NumberFormat::kPercent, TenthTicks(x_max)},
      AxisSpec{"Customers", 0, NiceCeiling(static_cast<double>(max_rows) * 1.15, 2),
               NumberFormat::kInteger, 2});
  for (const CalibrationBin& b : r.calibration) {
    if (b.lower >= x_max - 1e-12) continue;
    const double x0 = bottom.x(b.lower) + 1.5;
    const double x1 = bottom.x(std::min(b.upper, x_max)) - 1.5;
    const double y = bottom.y(static_cast<double>(b.rows));
    chart.Bar(x0, y, x1 - x0, bottom.y(0) - y, kCountColor,
              fmt::format("risk {} to {}: {} customers", Percent(b.lower, 0), Percent(b.upper, 0),
                          b.rows));
    chart.Text((x0 + x1) / 2, y - 3,
               FormatValue(static_cast<double>(b.rows), NumberFormat::kInteger), Anchor::kMiddle,
               10, "value");
  }
  std::vector<LegendEntry> legend = {
      LegendEntry{fmt::format("This window (error {})", Fixed(r.metrics.calibration_error, 3)),
                  LegendSymbol::kPoint, kTestColor}};
  if (!training.empty()) {
    legend.push_back(
        LegendEntry{fmt::format("Training (error {})", Fixed(r.training.calibration_error, 3)),
                    LegendSymbol::kDashedLine, kTrainingLineColor});
  }
  if (!before.empty()) {
    legend.push_back(LegendEntry{
        fmt::format("Before calibration (error {})", Fixed(r.calibration_error_before, 3)),
        LegendSymbol::kDashedLine, kBeforeCalibrationColor});
  }
  legend.push_back(LegendEntry{"Perfect calibration", LegendSymbol::kDashedLine, kBaselineColor});
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string ScoreDistributionChart(const EvaluationReport& r) {
  SvgChart chart("chart-score-distribution", "Risk score distribution by outcome",
                 "Share of retained and of churned customers in each predicted-risk bin, with "
                 "the tier thresholds.",
                 kWidth, kHeight);
  const ScoreHistogram& h = r.histogram;
  std::size_t retained_total = 0;
  std::size_t churned_total = 0;
  for (std::size_t i = 0; i + 1 < h.edges.size(); ++i) {
    retained_total += h.retained[i];
    churned_total += h.churned[i];
  }
  const auto share = [](std::size_t n, std::size_t total) {
    return total == 0 ? 0.0 : static_cast<double>(n) / static_cast<double>(total);
  };
  double y_max = 0.05;
  for (std::size_t i = 0; i + 1 < h.edges.size(); ++i) {
    y_max =
        std::max({y_max, share(h.retained[i], retained_total), share(h.churned[i], churned_total)});
  }
  const double x_max = h.edges.empty() ? 1.0 : h.edges.back();
  const double y_top = std::min(1.0, NiceCeiling(y_max * 1.08));
  const Panel p = chart.AddPanel(
      kPlotArea,
      AxisSpec{"Predicted risk (%)", 0, x_max, NumberFormat::kPercent, TenthTicks(x_max)},
      AxisSpec{"Customers in the bin (% of their outcome)", 0, y_top, NumberFormat::kPercent, 5});
  for (std::size_t i = 0; i + 1 < h.edges.size(); ++i) {
    const double x0 = p.x(h.edges[i]) + 1;
    const double x1 = p.x(h.edges[i + 1]) - 1;
    const double mid = (x0 + x1) / 2;
    const double retained = share(h.retained[i], retained_total);
    const double churned = share(h.churned[i], churned_total);
    const std::string range =
        fmt::format("risk {} to {}", Percent(h.edges[i]), Percent(h.edges[i + 1]));
    chart.Bar(x0, p.y(retained), mid - x0, p.y(0) - p.y(retained), kRetainedColor,
              fmt::format("{}: {} retained ({})", range, h.retained[i], Percent(retained)));
    chart.Bar(mid, p.y(churned), x1 - mid, p.y(0) - p.y(churned), kChurnedColor,
              fmt::format("{}: {} churned ({})", range, h.churned[i], Percent(churned)));
  }
  const std::array<std::pair<const char*, double>, 2> thresholds = {
      std::pair{"medium", r.model.thresholds.medium}, std::pair{"high", r.model.thresholds.high}};
  double label_y = p.area.y + 12;
  for (const auto& [name, t] : thresholds) {
    if (!(t >= 0 && t <= x_max)) continue;
    chart.ReferenceLine(p, t, 0, t, y_top, Line(kThresholdColor, 1.5, "6 3"));
    // Labels on alternate lines so close thresholds stay readable; right of the line unless
    // that runs off the panel.
    const bool left = p.x(t) > p.area.x + p.area.width - 60;
    chart.Text(p.x(t) + (left ? -4 : 4), label_y, name, left ? Anchor::kEnd : Anchor::kStart, 11,
               "annotation");
    label_y += 15;
  }
  const std::array<LegendEntry, 3> legend = {
      LegendEntry{fmt::format("Retained (n = {})", retained_total), LegendSymbol::kBar,
                  kRetainedColor},
      LegendEntry{fmt::format("Churned (n = {})", churned_total), LegendSymbol::kBar,
                  kChurnedColor},
      LegendEntry{fmt::format("Tier thresholds (medium ≥ {}, high ≥ {})",
                              Percent(r.model.thresholds.medium), Percent(r.model.thresholds.high)),
                  LegendSymbol::kDashedLine, kThresholdColor}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string GainChart(const EvaluationReport& r) {
  SvgChart chart("chart-gain", "Cumulative gain",
                 "Share of all churners found when contacting the riskiest customers first, "
                 "against random contact and a perfect ranking.",
                 kWidth, kHeight);
  const Panel p = chart.AddPanel(
      kPlotArea,
      AxisSpec{"Customers contacted (%, riskiest first)", 0, 1, NumberFormat::kPercent, 10},
      AxisSpec{"Churners captured (% of all churners)", 0, 1, NumberFormat::kPercent, 5});
  chart.ReferenceLine(p, 0, 0, 1, 1, Line(kBaselineColor, 1.5, "5 4"));
  const double base = r.metrics.base_rate;
  if (std::isfinite(base) && base > 0) {
    chart.ReferenceLine(p, 0, 0, base, 1, Line(kTrainingLineColor, 1.5, "2 3"));
    chart.ReferenceLine(p, base, 1, 1, 1, Line(kTrainingLineColor, 1.5, "2 3"));
  }
  Points points = {{0, 0}};
  for (const GainPoint& g : r.gain) points.emplace_back(g.population_share, g.positives_captured);
  chart.Polyline(p, points, Line(kTestColor), "cumulative gain by decile");
  for (std::size_t i = 0; i < r.gain.size(); ++i) {
    const GainPoint& g = r.gain[i];
    chart.Point(
        p, g.population_share, g.positives_captured, 4, Filled(kTestColor),
        fmt::format("top {} of customers: {} of churners (lift {})", Percent(g.population_share, 0),
                    Percent(g.positives_captured), Fixed(g.lift, 2)));
    if (i < 3 && std::isfinite(g.positives_captured)) {
      chart.Text(p.x(g.population_share) + 6, p.y(g.positives_captured) + 14,
                 Percent(g.positives_captured, 0), Anchor::kStart, 11, "value");
    }
  }
  const std::array<LegendEntry, 3> legend = {
      LegendEntry{"This window", LegendSymbol::kLine, kTestColor},
      LegendEntry{"Random contact", LegendSymbol::kDashedLine, kBaselineColor},
      LegendEntry{"Perfect ranking", LegendSymbol::kDashedLine, kTrainingLineColor}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string LiftChart(const EvaluationReport& r) {
  SvgChart chart("chart-lift", "Lift by decile",
                 "Churn rate of each tenth of customers ranked by risk, divided by the base "
                 "rate, and the cumulative lift of the top deciles.",
                 kWidth, kHeight);
  double y_max = 1.5;
  for (const DecileLift& d : r.deciles) {
    if (std::isfinite(d.lift)) y_max = std::max(y_max, d.lift);
    if (std::isfinite(d.cumulative_lift)) y_max = std::max(y_max, d.cumulative_lift);
  }
  std::vector<std::string> categories;
  for (const DecileLift& d : r.deciles) categories.push_back(std::to_string(d.decile));
  double band = 0;
  const Panel p = chart.AddCategoryPanel(
      kPlotArea, categories, "Decile of customers by predicted risk (1 = riskiest 10%)",
      AxisSpec{"Lift (churn rate ÷ base rate)", 0, NiceCeiling(y_max * 1.1), NumberFormat::kDecimal,
               5},
      &band);
  Points cumulative;
  for (std::size_t i = 0; i < r.deciles.size(); ++i) {
    const DecileLift& d = r.deciles[i];
    const double left = p.x(static_cast<double>(i));
    const double lift = std::isfinite(d.lift) ? d.lift : 0;
    chart.Bar(left + band * 0.18, p.y(lift), band * 0.64, p.y(0) - p.y(lift), kTestColor,
              fmt::format("decile {}: lift {} (cumulative {}, {} of churners so far)", d.decile,
                          Fixed(d.lift, 2), Fixed(d.cumulative_lift, 2), Percent(d.captured)));
    chart.Text(left + band / 2, p.y(lift) - 4, fmt::format("{}×", Fixed(d.lift, 1)),
               Anchor::kMiddle, 10, "value");
    cumulative.emplace_back(static_cast<double>(i) + 0.5, d.cumulative_lift);
  }
  chart.ReferenceLine(p, 0, 1, static_cast<double>(r.deciles.size()), 1,
                      Line(kBaselineColor, 1.5, "5 4"));
  // The category scale maps a band index to its left edge; +0.5 is the band's middle.
  chart.Polyline(p, cumulative, Line(kChurnedColor, 2), "cumulative lift");
  const std::array<LegendEntry, 3> legend = {
      LegendEntry{"Lift of the decile", LegendSymbol::kBar, kTestColor},
      LegendEntry{"Cumulative lift", LegendSymbol::kLine, kChurnedColor},
      LegendEntry{"Random (1.0)", LegendSymbol::kDashedLine, kBaselineColor}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string TierChart(const EvaluationReport& r) {
  SvgChart chart("chart-tiers", "Tier mix and churn rate per tier",
                 "Share of customers in each risk tier and the churn rate in each tier, in this "
                 "window and in training's validation rows.",
                 kWidth, kHeight);
  const std::vector<std::string> categories = {"low", "medium", "high"};
  const bool has_training = r.training.tiers.has_value();
  double rate_max = std::isfinite(r.metrics.base_rate) ? r.metrics.base_rate : 0.0;
  for (const TierStats& t : r.tiers.tiers) {
    if (std::isfinite(t.churn_rate)) rate_max = std::max(rate_max, t.churn_rate);
  }
  if (has_training) {
    for (const TierStats& t : r.training.tiers->tiers) {
      if (std::isfinite(t.churn_rate)) rate_max = std::max(rate_max, t.churn_rate);
    }
  }
  double band = 0;
  const Panel share = chart.AddCategoryPanel(
      Rect{72, 86, 180, 246}, categories, "Tier",
      AxisSpec{"Customers in the tier (%)", 0, 1, NumberFormat::kPercent, 5}, &band);
  double rate_band = 0;
  const Panel rate =
      chart.AddCategoryPanel(Rect{352, 86, 180, 246}, categories, "Tier",
                             AxisSpec{"Churn rate in the tier (%)", 0,
                                      std::min(1.0, NiceCeiling(std::max(rate_max, 0.01) * 1.12)),
                                      NumberFormat::kPercent, 5},
                             &rate_band);
  const auto bars = [&](const Panel& p, double width, auto value_of, const char* what) {
    for (std::size_t i = 0; i < 3; ++i) {
      const auto tier = static_cast<Tier>(i);
      const double left = p.x(static_cast<double>(i));
      const double test = value_of(r.tiers.of(tier));
      const double bar = has_training ? width * 0.36 : width * 0.6;
      const double x0 = has_training ? left + width * 0.12 : left + width * 0.2;
      const double shown = std::isfinite(test) ? test : 0;
      chart.Bar(
          x0, p.y(shown), bar, p.y(0) - p.y(shown), kTestColor,
          fmt::format("{} tier, this window: {} {} ({} customers, {} churned)", TierName(tier),
                      what, Percent(test), r.tiers.of(tier).rows, r.tiers.of(tier).positives));
      chart.Text(x0 + bar / 2, p.y(shown) - 4, Percent(test, 0), Anchor::kMiddle, 10, "value");
      if (has_training) {
        const TierStats& t = r.training.tiers->of(tier);
        const double train = value_of(t);
        const double train_shown = std::isfinite(train) ? train : 0;
        chart.Bar(x0 + bar + width * 0.04, p.y(train_shown), bar, p.y(0) - p.y(train_shown),
                  kTrainingColor,
                  fmt::format("{} tier, training: {} {} ({} customers, {} churned)", TierName(tier),
                              what, Percent(train), t.rows, t.positives));
        chart.Text(x0 + bar * 1.5 + width * 0.04, p.y(train_shown) - 4, Percent(train, 0),
                   Anchor::kMiddle, 10, "value");
      }
    }
  };
  bars(
      share, band, [](const TierStats& t) { return t.share; }, "share");
  bars(
      rate, rate_band, [](const TierStats& t) { return t.churn_rate; }, "churn rate");
  if (std::isfinite(r.metrics.base_rate)) {
    chart.ReferenceLine(rate, 0, r.metrics.base_rate, 3, r.metrics.base_rate,
                        Line(kChurnedColor, 1.5, "5 4"));
  }
  std::vector<LegendEntry> legend = {LegendEntry{"This window", LegendSymbol::kBar, kTestColor}};
  if (has_training) legend.push_back({"Training", LegendSymbol::kBar, kTrainingColor});
  legend.push_back({fmt::format("Base rate {}", Percent(r.metrics.base_rate)),
                    LegendSymbol::kDashedLine, kChurnedColor});
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string FeatureImportanceChart(const EvaluationReport& r) {
  const std::size_t n = r.importance.size();
  const double height = n == 0 ? 200 : 110 + 24.0 * static_cast<double>(n);
  SvgChart chart("chart-feature-importance", "Feature importance (training gain)",
                 "Each feature's share of the total split gain of the model's trees, as "
                 "recorded at training time.",
                 kWidth, height);
  if (n == 0) {
    chart.EmptyMessage("Not recorded in this version's meta.json (imported model)");
    return chart.Finish();
  }
  double x_max = 0.05;
  std::vector<std::string> names;
  for (const FeatureImportance& f : r.importance) {
    names.push_back(f.feature);
    if (std::isfinite(f.share)) x_max = std::max(x_max, f.share);
  }
  double band = 0;
  const Panel p = chart.AddHorizontalCategoryPanel(
      Rect{196, 60, 320, 24.0 * static_cast<double>(n)}, names,
      AxisSpec{"Share of total gain (%)", 0, std::min(1.0, NiceCeiling(x_max * 1.12)),
               NumberFormat::kPercent, 5},
      &band);
  for (std::size_t i = 0; i < n; ++i) {
    const FeatureImportance& f = r.importance[i];
    const double top = p.y(static_cast<double>(i)) + band * 0.18;
    const double share = std::isfinite(f.share) ? f.share : 0;
    chart.Bar(p.x(0), top, p.x(share) - p.x(0), band * 0.64, kTestColor,
              fmt::format("{}: {} of total gain (gain {})", f.feature, Percent(f.share),
                          Fixed(f.gain, 1)));
    chart.Text(p.x(share) + 4, top + band * 0.32 + 4, Percent(f.share), Anchor::kStart, 10,
               "value");
  }
  const std::array<LegendEntry, 1> legend = {
      LegendEntry{"Gain share, all trees", LegendSymbol::kBar, kTestColor}};
  chart.Legend(16, 44, legend);
  return chart.Finish();
}

std::string DependenceChart(const EvaluationReport& r) {
  const ExplanationSummary& x = r.explanations;
  const std::size_t n = x.dependence.size();
  constexpr double kPanelStep = 200;
  const double height = n == 0 ? 200 : 70 + kPanelStep * static_cast<double>(n);
  SvgChart chart("chart-dependence", "Dependence: what each top feature's value did to the risk",
                 "For the features with the largest mean absolute TreeSHAP contribution, one "
                 "point per evaluated customer (a sample of at most 400): the value the model "
                 "saw across, its contribution to the margin (log-odds) up; above zero raised "
                 "the risk.",
                 kWidth, height);
  if (n == 0) {
    chart.EmptyMessage("Not available: the model file has no node covers to explain with");
    return chart.Finish();
  }
  for (std::size_t k = 0; k < n; ++k) {
    const ExplanationSummary::Dependence& d = x.dependence[k];
    double x_lo = 0;
    double x_hi = 1;
    double y_abs = 0.1;
    bool first = true;
    for (const auto& [value, contribution] : d.points) {
      x_lo = first ? value : std::min(x_lo, value);
      x_hi = first ? value : std::max(x_hi, value);
      first = false;
      if (std::isfinite(contribution)) y_abs = std::max(y_abs, std::fabs(contribution));
    }
    if (!(x_hi > x_lo)) x_hi = x_lo + 1;
    const double y_max = NiceCeiling(y_abs * 1.1);
    const Panel p = chart.AddPanel(
        Rect{72, 60 + kPanelStep * static_cast<double>(k), 462, 130},
        AxisSpec{d.feature + " (value the model saw)", x_lo, x_hi, NumberFormat::kDecimal, 5},
        AxisSpec{"Contribution (log-odds)", -y_max, y_max, NumberFormat::kDecimal, 4});
    chart.ReferenceLine(p, x_lo, 0, x_hi, 0, Line(kBaselineColor, 1, "4 3"));
    for (const auto& [value, contribution] : d.points) {
      chart.Point(p, value, contribution, 2.2,
                  Style{"none", contribution > 0 ? kChurnedColor : kRetainedColor, 0, "", 0.55},
                  fmt::format("{} = {}: contribution {}", d.feature, Fixed(value, 3),
                              Fixed(contribution, 4)));
    }
  }
  const std::array<LegendEntry, 2> legend = {
      LegendEntry{"Raised the risk", LegendSymbol::kPoint, kChurnedColor},
      LegendEntry{"Lowered the risk", LegendSymbol::kPoint, kRetainedColor}};
  chart.Legend(16, 44, legend);
  return chart.Finish();
}

std::string ReasonsChart(const EvaluationReport& r) {
  SvgChart chart("chart-reasons", "Reason frequency",
                 "Share of all customers, and of churned customers, given each reason; the "
                 "churn rate among the customers given it is written beside the bars.",
                 kWidth, kHeight);
  std::vector<std::string> names;
  double x_max = 0.05;
  for (const ReasonStats& s : r.reasons) {
    names.emplace_back(ReasonName(s.reason));
    if (std::isfinite(s.share)) x_max = std::max(x_max, s.share);
    if (std::isfinite(s.share_of_churned)) x_max = std::max(x_max, s.share_of_churned);
  }
  double band = 0;
  const Panel p = chart.AddHorizontalCategoryPanel(
      Rect{170, 86, 330, 246}, names,
      AxisSpec{"Customers given the reason (%)", 0, std::min(1.0, NiceCeiling(x_max * 1.12)),
               NumberFormat::kPercent, 5},
      &band);
  for (std::size_t i = 0; i < r.reasons.size(); ++i) {
    const ReasonStats& s = r.reasons[i];
    const double top = p.y(static_cast<double>(i)) + band * 0.14;
    const double bar = band * 0.34;
    const double all = std::isfinite(s.share) ? s.share : 0;
    const double churned = std::isfinite(s.share_of_churned) ? s.share_of_churned : 0;
    const std::string_view name = ReasonName(s.reason);
    chart.Bar(p.x(0), top, p.x(all) - p.x(0), bar, kTestColor,
              fmt::format("{}: {} customers ({} of all); {} of them churned ({})", name, s.rows,
                          Percent(s.share), s.churned, Percent(s.churn_rate)));
    chart.Bar(p.x(0), top + bar, p.x(churned) - p.x(0), bar, kChurnedColor,
              fmt::format("{}: {} of churned customers had it", name, Percent(s.share_of_churned)));
    chart.Text(p.x(std::max(all, churned)) + 4, top + bar + 4,
               fmt::format("{} · churn {}", Percent(s.share, 0), Percent(s.churn_rate, 0)),
               Anchor::kStart, 10, "value");
  }
  const std::array<LegendEntry, 2> legend = {
      LegendEntry{"All customers", LegendSymbol::kBar, kTestColor},
      LegendEntry{"Churned customers", LegendSymbol::kBar, kChurnedColor}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

}  // namespace csml::reporting_internal
