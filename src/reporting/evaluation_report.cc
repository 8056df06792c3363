#include "csml/reporting/evaluation_report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "csml/core/number_format.h"
#include "csml/evaluation/quantile.h"

namespace csml {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double Ratio(std::size_t part, std::size_t whole) {
  return whole == 0 ? kNan : static_cast<double>(part) / static_cast<double>(whole);
}

Status CheckTolerance(double value, std::string_view name) {
  if (!std::isfinite(value) || value < 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("evaluation options: {}: expected a finite number >= 0, got {}", name, value));
  }
  return {};
}

double MetaMetric(const ModelMeta& meta, const char* key) {
  const auto it = meta.validation_metrics.find(key);
  return it == meta.validation_metrics.end() ? kNan : it->second;
}

MetricComparison Compare(std::string key, std::string label, double test, double training,
                         bool higher_is_better, ToleranceKind kind, double tolerance) {
  MetricComparison c;
  c.key = std::move(key);
  c.label = std::move(label);
  c.test = test;
  c.training = training;
  c.higher_is_better = higher_is_better;
  c.kind = kind;
  c.tolerance = tolerance;
  c.checked = kind != ToleranceKind::kNone && std::isfinite(test) && std::isfinite(training);
  if (c.checked) {
    const double worsening = higher_is_better ? training - test : test - training;
    // A hair of slack so a figure equal to the limit in decimal is not failed by rounding.
    c.degraded = worsening > c.allowed_worsening() + 1e-12;
  }
  return c;
}

std::string ComparisonDetail(const MetricComparison& c) {
  const double worsening = c.higher_is_better ? c.training - c.test : c.test - c.training;
  const char* direction = c.higher_is_better ? "below" : "above";
  const std::string allowed =
      c.kind == ToleranceKind::kAbsolute
          ? fmt::format("{} {}", Fixed(c.tolerance, 4), direction)
          : fmt::format("{} {}, {:.0f}% of training", Fixed(c.allowed_worsening(), 4), direction,
                        c.tolerance * 100);
  if (worsening <= 0) {
    return fmt::format("{} {} is not worse than training {} (allowed: {})", c.label,
                       Fixed(c.test, 4), Fixed(c.training, 4), allowed);
  }
  return fmt::format("{} {} is {} {} training {} (allowed: {})", c.label, Fixed(c.test, 4),
                     Fixed(worsening, 4), direction, Fixed(c.training, 4), allowed);
}

std::array<double, 5> QuantilesOf(std::vector<double> values) {
  std::array<double, 5> out;
  out.fill(kNan);
  if (values.empty()) return out;
  auto qs = Quantiles(values, ScoreQuantiles::kLevels);
  if (!qs) return out;
  std::copy(qs->begin(), qs->end(), out.begin());
  return out;
}

ScoreHistogram MakeHistogram(std::span<const double> scores, std::span<const float> labels,
                             int bins) {
  // The axis ends at the highest score rounded up to a tenth: churn scores crowd the low
  // end, and a [0, 1] axis would squeeze them into two bins.
  const double max_score = *std::max_element(scores.begin(), scores.end());
  const double upper = std::clamp(std::ceil(max_score * 10.0 - 1e-9) / 10.0, 0.1, 1.0);
  ScoreHistogram h;
  const auto n = static_cast<std::size_t>(bins);
  h.edges.resize(n + 1);
  for (std::size_t i = 0; i <= n; ++i) {
    h.edges[i] = upper * static_cast<double>(i) / static_cast<double>(bins);
  }
  h.edges[n] = upper;
  h.retained.assign(n, 0);
  h.churned.assign(n, 0);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double position = scores[i] / upper * static_cast<double>(bins);
    const auto bin = std::min(n - 1, static_cast<std::size_t>(std::max(0.0, position)));
    (labels[i] > 0.5f ? h.churned : h.retained)[bin] += 1;
  }
  return h;
}

}  // namespace

Status EvaluationOptions::Validate() const {
  if (!(min_auc >= 0.0 && min_auc <= 1.0)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("evaluation options: min_auc: expected a number in [0, 1], got {}", min_auc));
  }
  if (auto s = CheckTolerance(max_auc_drop, "max_auc_drop"); !s) return s;
  if (auto s = CheckTolerance(max_calibration_error_rise, "max_calibration_error_rise"); !s) {
    return s;
  }
  if (auto s = CheckTolerance(max_relative_change, "max_relative_change"); !s) return s;
  if (calibration_bins < 1 || calibration_bins > 1000) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("evaluation options: calibration_bins: expected an integer in "
                                 "[1, 1000], got {}",
                                 calibration_bins));
  }
  if (score_histogram_bins < 1 || score_histogram_bins > 1000) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("evaluation options: score_histogram_bins: expected an integer "
                                 "in [1, 1000], got {}",
                                 score_histogram_bins));
  }
  if (max_curve_points < 2 || max_curve_points > 100'000) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("evaluation options: max_curve_points: expected an integer in "
                                 "[2, 100000], got {}",
                                 max_curve_points));
  }
  return {};
}

double MetricComparison::allowed_worsening() const {
  switch (kind) {
    case ToleranceKind::kAbsolute:
      return tolerance;
    case ToleranceKind::kRelative:
      return tolerance * std::fabs(training);
    case ToleranceKind::kNone:
      break;
  }
  return kNan;
}

const MetricComparison* EvaluationReport::FindComparison(std::string_view key) const {
  for (const MetricComparison& c : comparisons) {
    if (c.key == key) return &c;
  }
  return nullptr;
}

std::vector<std::size_t> ThinnedIndices(std::size_t points, std::size_t max_points) {
  std::vector<std::size_t> out;
  if (points == 0) return out;
  const std::size_t keep = std::min(points, std::max<std::size_t>(max_points, 2));
  out.reserve(keep);
  if (keep == points || points == 1) {
    for (std::size_t i = 0; i < points; ++i) out.push_back(i);
    return out;
  }
  for (std::size_t k = 0; k < keep; ++k) {
    // Rounded to the nearest index; strictly increasing because keep <= points.
    const std::size_t index = (k * (points - 1) + (keep - 1) / 2) / (keep - 1);
    if (out.empty() || index > out.back()) out.push_back(index);
  }
  return out;
}

Result<std::vector<EvaluatedRow>> ScoreLabeledSnapshots(const BatchScorer& scorer,
                                                        std::span<const Snapshot> labeled,
                                                        const BatchScoringOptions& options) {
  for (std::size_t i = 0; i < labeled.size(); ++i) {
    const Snapshot& s = labeled[i];
    if (!s.label.has_value() || (*s.label != 0 && *s.label != 1) || !s.label_ts.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("snapshot {} (userId {}): expected a label 0 or 1 and a "
                                   "label_ts, got {}",
                                   i, s.user_id, s.label.has_value() ? "no label_ts" : "no label"));
    }
  }
  std::vector<BatchScore> scores(labeled.size());
  CSML_TRY(scorer.Score(labeled, scores, options));
  std::vector<EvaluatedRow> rows(labeled.size());
  for (std::size_t i = 0; i < labeled.size(); ++i) {
    rows[i].risk = scores[i].risk;
    rows[i].model_probability = scores[i].model_probability;
    rows[i].tier = scores[i].tier;
    rows[i].reasons = scores[i].reasons;
    rows[i].label = *labeled[i].label;
    rows[i].label_ts = *labeled[i].label_ts;
  }
  return rows;
}

Result<TrainingFigures> ReadTrainingFigures(const ModelMeta& meta) {
  TrainingFigures f;
  f.validation_rows = meta.rows.validation;
  f.auc = MetaMetric(meta, "auc");
  f.pr_auc = MetaMetric(meta, "pr_auc");
  f.log_loss = MetaMetric(meta, "logloss");
  f.brier = MetaMetric(meta, "brier");
  f.calibration_error = MetaMetric(meta, "calibration_error");
  f.top_decile_lift = MetaMetric(meta, "top_decile_lift");
  f.base_rate = MetaMetric(meta, "base_rate");

  CSML_ASSIGN_OR_RETURN(const TrainingSummary summary, TrainingSummary::FromJson(meta.extra_json));
  if (summary.tiers && summary.tiers->validation) {
    f.tiers = summary.tiers->validation;
    f.tiers->base_rate = f.base_rate;
  }
  if (summary.calibration) f.calibration = summary.calibration->table;
  f.importance_gain = summary.feature_importance_gain;
  f.calibration_method = std::string(CalibrationMethodName(meta.calibration.method()));
  CSML_ASSIGN_OR_RETURN(const TrainingParams params, TrainingParams::FromJson(meta.params_json));
  if (!params.tree_method.empty()) f.configuration = params.Summary();
  if (summary.search && !f.configuration.empty()) {
    const SearchRecord& s = *summary.search;
    if (!s.skipped.empty()) {
      f.configuration += fmt::format("; fixed (model search skipped: {})", s.skipped);
    } else if (s.winner >= 0) {
      const SearchRecord::Trial& w = s.trials[static_cast<std::size_t>(s.winner)];
      f.configuration += fmt::format(
          "; chosen by a model search: {} candidates, {} rolling-origin folds, mean fold AUC "
          "{:.4f}{}",
          s.candidates_planned, s.folds.size(), w.mean_auc,
          s.scale_pos_weight_kept ? ", scale_pos_weight kept" : "");
    }
  }
  return f;
}

Result<EvaluationReport> BuildEvaluationReport(std::span<const EvaluatedRow> rows,
                                               const ModelMeta& model,
                                               const EvaluationSource& source,
                                               const EvaluationOptions& options) {
  CSML_TRY(options.Validate());
  if (rows.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "evaluation: expected at least one labeled row, got none");
  }
  if (auto s = model.thresholds.Validate(); !s) {
    return tl::unexpected(s.error().WithContext("evaluation: model thresholds"));
  }
  EvaluationReport r;
  r.model = model;
  r.source = source;
  r.options = options;

  std::vector<double> scores(rows.size());
  std::vector<float> labels(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    scores[i] = rows[i].risk;
    labels[i] = static_cast<float>(rows[i].label);
  }
  auto metrics = ComputeBinaryMetrics(scores, labels);
  if (!metrics) return tl::unexpected(metrics.error().WithContext("evaluation"));
  r.metrics = *metrics;

  auto training = ReadTrainingFigures(model);
  if (!training) return tl::unexpected(training.error().WithContext(model.version));
  r.training = std::move(*training);

  if (model.window.to > 0) {
    for (const EvaluatedRow& row : rows) {
      if (row.label_ts > model.window.from && row.label_ts <= model.window.to) {
        ++r.rows_in_training_window;
      }
    }
  }

  // Tiers as each row was tiered (from the rounded risk, as /score answers).
  const std::size_t positives = r.metrics.positives;
  for (const Tier tier : {Tier::kLow, Tier::kMedium, Tier::kHigh}) {
    r.tiers.tiers[static_cast<std::size_t>(tier)].tier = tier;
  }
  for (const EvaluatedRow& row : rows) {
    TierStats& t = r.tiers.tiers[static_cast<std::size_t>(row.tier)];
    ++t.rows;
    t.positives += static_cast<std::size_t>(row.label);
  }
  for (TierStats& t : r.tiers.tiers) {
    t.share = Ratio(t.rows, rows.size());
    t.churn_rate = Ratio(t.positives, t.rows);
  }
  r.tiers.base_rate = r.metrics.base_rate;
  r.tiers.high_precision = r.tiers.of(Tier::kHigh).churn_rate;
  r.tiers.high_recall = Ratio(r.tiers.of(Tier::kHigh).positives, positives);
  r.tiers.high_lift = r.tiers.high_precision / r.metrics.base_rate;
  if (!std::isfinite(r.tiers.high_lift)) r.tiers.high_lift = kNan;

  // Reasons, in the contract's order: the seed's five always, the model reasons' codes when
  // a row has them.
  for (std::uint8_t i = 0; i < kNumReasons; ++i) {
    ReasonStats stats;
    stats.reason = static_cast<Reason>(i);
    for (const EvaluatedRow& row : rows) {
      if (row.reasons.Contains(stats.reason)) {
        ++stats.rows;
        stats.churned += static_cast<std::size_t>(row.label);
      }
    }
    if (stats.rows == 0 && i > static_cast<std::uint8_t>(Reason::kGeneralRiskFactors)) continue;
    stats.share = Ratio(stats.rows, rows.size());
    stats.churn_rate = Ratio(stats.churned, stats.rows);
    stats.share_of_churned = Ratio(stats.churned, positives);
    r.reasons.push_back(stats);
  }

  double total_gain = 0;
  for (const auto& [name, gain] : r.training.importance_gain) total_gain += gain;
  for (const auto& [name, gain] : r.training.importance_gain) {
    r.importance.push_back({name, gain, total_gain > 0 ? gain / total_gain : kNan});
  }

  // Curves.
  auto roc = RocCurve(scores, labels);
  auto pr = PrecisionRecallCurve(scores, labels);
  auto calibration = CalibrationBins(scores, labels, options.calibration_bins);
  auto gain = GainCurve(scores, labels, 10);
  if (!roc) return tl::unexpected(roc.error().WithContext("evaluation"));
  if (!pr) return tl::unexpected(pr.error().WithContext("evaluation"));
  if (!calibration) return tl::unexpected(calibration.error().WithContext("evaluation"));
  if (!gain) return tl::unexpected(gain.error().WithContext("evaluation"));
  r.roc_points_total = roc->size();
  for (std::size_t i : ThinnedIndices(roc->size(), options.max_curve_points)) {
    r.roc.push_back((*roc)[i]);
  }
  r.precision_recall_points_total = pr->size();
  for (std::size_t i : ThinnedIndices(pr->size(), options.max_curve_points)) {
    r.precision_recall.push_back((*pr)[i]);
  }
  r.calibration = std::move(*calibration);
  if (!model.calibration.is_none()) {
    std::vector<double> before;
    before.reserve(rows.size());
    for (const EvaluatedRow& row : rows) before.push_back(row.model_probability);
    auto bins = CalibrationBins(before, labels, options.calibration_bins);
    auto error = ExpectedCalibrationError(before, labels, options.calibration_bins);
    if (!bins) return tl::unexpected(bins.error().WithContext("evaluation, before calibration"));
    if (!error) return tl::unexpected(error.error().WithContext("evaluation, before calibration"));
    r.calibration_before = std::move(*bins);
    r.calibration_error_before = *error;
  }
  r.gain = std::move(*gain);
  double previous = 0;
  for (std::size_t i = 0; i < r.gain.size(); ++i) {
    const GainPoint& g = r.gain[i];
    DecileLift d;
    d.decile = static_cast<int>(i + 1);
    d.captured = g.positives_captured;
    d.cumulative_lift = g.lift;
    d.lift = (g.positives_captured - previous) * static_cast<double>(r.gain.size());
    previous = g.positives_captured;
    r.deciles.push_back(d);
  }
  r.histogram = MakeHistogram(scores, labels, options.score_histogram_bins);

  std::vector<double> retained;
  std::vector<double> churned;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    (rows[i].label == 1 ? churned : retained).push_back(scores[i]);
  }
  r.quantiles.all = QuantilesOf(scores);
  r.quantiles.retained = QuantilesOf(std::move(retained));
  r.quantiles.churned = QuantilesOf(std::move(churned));

  // Beside training, and the verdict.
  const TrainingFigures& t = r.training;
  const BinaryMetrics& m = r.metrics;
  const double rel = options.max_relative_change;
  r.comparisons = {
      Compare("auc", "AUC", m.auc, t.auc, true, ToleranceKind::kAbsolute, options.max_auc_drop),
      Compare("pr_auc", "PR-AUC", m.pr_auc, t.pr_auc, true, ToleranceKind::kRelative, rel),
      Compare("logloss", "log loss", m.log_loss, t.log_loss, false, ToleranceKind::kRelative, rel),
      Compare("brier", "Brier score", m.brier, t.brier, false, ToleranceKind::kRelative, rel),
      Compare("calibration_error", "calibration error", m.calibration_error, t.calibration_error,
              false, ToleranceKind::kAbsolute, options.max_calibration_error_rise),
      Compare("top_decile_lift", "top-decile lift", m.top_decile_lift, t.top_decile_lift, true,
              ToleranceKind::kRelative, rel),
      Compare("base_rate", "base rate", m.base_rate, t.base_rate, true, ToleranceKind::kNone, 0),
  };

  EvaluationCheck min_auc{"min_auc", true, ""};
  if (std::isnan(m.auc)) {
    min_auc.passed = false;
    min_auc.detail =
        fmt::format("AUC is undefined: all {} evaluated rows are {}, so ranking cannot be measured",
                    m.rows, m.positives == 0 ? "retained (label 0)" : "churned (label 1)");
  } else {
    min_auc.passed = m.auc >= options.min_auc;
    min_auc.detail = fmt::format("AUC {} {} the minimum {}", Fixed(m.auc, 4),
                                 min_auc.passed ? ">=" : "is below", Fixed(options.min_auc, 4));
  }
  r.checks.push_back(std::move(min_auc));
  for (const MetricComparison& c : r.comparisons) {
    if (!c.checked) continue;
    r.checks.push_back({c.key + "_vs_training", !c.degraded, ComparisonDetail(c)});
  }
  r.passed = std::all_of(r.checks.begin(), r.checks.end(),
                         [](const EvaluationCheck& c) { return c.passed; });
  return r;
}

}  // namespace csml
