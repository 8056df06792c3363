// report.json: every figure and curve of the report, NaN as null, keys in a fixed order.
#include <cmath>
#include <string>

#include "csml/core/json_writer.h"
#include "csml/reporting/report_renderer.h"

namespace csml {
namespace {

std::string_view KindName(ToleranceKind kind) {
  switch (kind) {
    case ToleranceKind::kAbsolute:
      return "absolute";
    case ToleranceKind::kRelative:
      return "relative";
    case ToleranceKind::kNone:
      break;
  }
  return "none";
}

void WriteTier(JsonWriter& w, const TierStats& t) {
  w.Key(TierName(t.tier));
  WriteTierStatsJson(w, t);
}

void WriteTierReport(JsonWriter& w, const TierReport& r) {
  w.BeginObject();
  for (const TierStats& t : r.tiers) WriteTier(w, t);
  w.Key("high_tier")
      .BeginObject()
      .Key("precision")
      .Double(r.high_precision)
      .Key("recall")
      .Double(r.high_recall)
      .Key("lift")
      .Double(r.high_lift)
      .EndObject();
  w.EndObject();
}

void WriteQuantiles(JsonWriter& w, const std::array<double, 5>& values) {
  w.BeginObject();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto percentile = static_cast<int>(std::lround(ScoreQuantiles::kLevels[i] * 100));
    w.Key("p" + std::to_string(percentile)).Double(values[i]);
  }
  w.EndObject();
}

void WriteCounts(JsonWriter& w, const std::vector<std::size_t>& counts) {
  w.BeginArray();
  for (const std::size_t c : counts) w.Uint(c);
  w.EndArray();
}

}  // namespace

std::string RenderEvaluationJson(const EvaluationReport& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("report_format").Int(kReportFormatVersion);
  w.Key("generated_at").String(FormatRfc3339(r.source.generated_at));
  w.Key("passed").Bool(r.passed);

  const ModelMeta& m = r.model;
  w.Key("model")
      .BeginObject()
      .Key("version")
      .String(m.version)
      .Key("algo")
      .String(m.algo)
      .Key("created_at")
      .String(FormatRfc3339(m.created_at))
      .Key("served")
      .Bool(r.source.served)
      .Key("thresholds")
      .BeginObject()
      .Key("medium")
      .Double(m.thresholds.medium)
      .Key("high")
      .Double(m.thresholds.high)
      .Key("method")
      .String(m.threshold_method)
      .EndObject()
      .Key("configuration")
      .String(r.training.configuration)
      .Key("calibration")
      .String(r.training.calibration_method);
  w.Key("training_window");
  if (m.window.to > 0) {
    w.BeginObject()
        .Key("from")
        .String(FormatRfc3339(m.window.from))
        .Key("to")
        .String(FormatRfc3339(m.window.to))
        .Key("days")
        .Int(m.window.days)
        .EndObject();
  } else {
    w.Null();
  }
  w.EndObject();

  const EvaluationSource& s = r.source;
  w.Key("data")
      .BeginObject()
      .Key("source")
      .String(s.origin)
      .Key("window_from")
      .String(FormatRfc3339(s.window_start))
      .Key("as_of")
      .String(FormatRfc3339(s.as_of))
      .Key("days")
      .Int(s.days)
      .Key("records_seen")
      .Uint(s.records_seen)
      .Key("evaluated_rows")
      .Uint(r.metrics.rows)
      .Key("churned_rows")
      .Uint(r.metrics.positives)
      .Key("unlabeled")
      .Uint(s.unlabeled)
      .Key("immature")
      .Uint(s.immature)
      .Key("invalid")
      .Uint(s.invalid)
      .Key("outside_window")
      .Uint(s.outside_window)
      .Key("rows_in_training_window")
      .Uint(r.rows_in_training_window)
      .EndObject();

  const BinaryMetrics& bm = r.metrics;
  w.Key("metrics")
      .BeginObject()
      .Key("rows")
      .Uint(bm.rows)
      .Key("churned")
      .Uint(bm.positives)
      .Key("base_rate")
      .Double(bm.base_rate)
      .Key("auc")
      .Double(bm.auc)
      .Key("auc_standard_error")
      .Double(bm.auc_standard_error)
      .Key("pr_auc")
      .Double(bm.pr_auc)
      .Key("logloss")
      .Double(bm.log_loss)
      .Key("brier")
      .Double(bm.brier)
      .Key("calibration_error")
      .Double(bm.calibration_error)
      .Key("top_decile_lift")
      .Double(bm.top_decile_lift)
      .EndObject();

  const TrainingFigures& t = r.training;
  w.Key("training_metrics")
      .BeginObject()
      .Key("validation_rows")
      .Int(t.validation_rows)
      .Key("base_rate")
      .Double(t.base_rate)
      .Key("auc")
      .Double(t.auc)
      .Key("pr_auc")
      .Double(t.pr_auc)
      .Key("logloss")
      .Double(t.log_loss)
      .Key("brier")
      .Double(t.brier)
      .Key("calibration_error")
      .Double(t.calibration_error)
      .Key("top_decile_lift")
      .Double(t.top_decile_lift)
      .EndObject();

  w.Key("comparisons").BeginArray();
  for (const MetricComparison& c : r.comparisons) {
    w.BeginObject()
        .Key("metric")
        .String(c.key)
        .Key("label")
        .String(c.label)
        .Key("test")
        .Double(c.test)
        .Key("training")
        .Double(c.training)
        .Key("change")
        .Double(c.change())
        .Key("higher_is_better")
        .Bool(c.higher_is_better)
        .Key("tolerance_kind")
        .String(KindName(c.kind))
        .Key("tolerance")
        .Double(c.kind == ToleranceKind::kNone ? std::nan("") : c.tolerance)
        .Key("allowed_worsening")
        .Double(c.allowed_worsening())
        .Key("checked")
        .Bool(c.checked)
        .Key("degraded")
        .Bool(c.degraded)
        .EndObject();
  }
  w.EndArray();

  w.Key("checks").BeginArray();
  for (const EvaluationCheck& c : r.checks) {
    w.BeginObject()
        .Key("name")
        .String(c.name)
        .Key("passed")
        .Bool(c.passed)
        .Key("detail")
        .String(c.detail)
        .EndObject();
  }
  w.EndArray();

  const EvaluationOptions& o = r.options;
  w.Key("options")
      .BeginObject()
      .Key("min_auc")
      .Double(o.min_auc)
      .Key("max_auc_drop")
      .Double(o.max_auc_drop)
      .Key("max_calibration_error_rise")
      .Double(o.max_calibration_error_rise)
      .Key("max_relative_change")
      .Double(o.max_relative_change)
      .Key("calibration_bins")
      .Int(o.calibration_bins)
      .Key("score_histogram_bins")
      .Int(o.score_histogram_bins)
      .Key("max_curve_points")
      .Uint(o.max_curve_points)
      .EndObject();

  w.Key("tiers").BeginObject().Key("test");
  WriteTierReport(w, r.tiers);
  w.Key("training");
  if (t.tiers) {
    WriteTierReport(w, *t.tiers);
  } else {
    w.Null();
  }
  w.EndObject();

  w.Key("reasons").BeginArray();
  for (const ReasonStats& s2 : r.reasons) {
    w.BeginObject()
        .Key("reason")
        .String(ReasonName(s2.reason))
        .Key("rows")
        .Uint(s2.rows)
        .Key("share")
        .Double(s2.share)
        .Key("churned")
        .Uint(s2.churned)
        .Key("churn_rate")
        .Double(s2.churn_rate)
        .Key("share_of_churned")
        .Double(s2.share_of_churned)
        .EndObject();
  }
  w.EndArray();

  w.Key("feature_importance").BeginArray();
  for (const FeatureImportance& f : r.importance) {
    w.BeginObject()
        .Key("feature")
        .String(f.feature)
        .Key("gain")
        .Double(f.gain)
        .Key("share")
        .Double(f.share)
        .EndObject();
  }
  w.EndArray();

  // TreeSHAP over the rows beside the seed's rules (docs/EXPLANATIONS.md "Agreement").
  const ExplanationSummary& x = r.explanations;
  w.Key("explanations").BeginObject().Key("available").Bool(x.available);
  if (x.available) {
    w.Key("rows").Uint(x.rows).Key("importance").BeginArray();
    for (const ExplanationSummary::Importance& f : x.importance) {
      w.BeginObject()
          .Key("feature")
          .String(f.feature)
          .Key("mean_abs_contribution")
          .Double(f.mean_abs)
          .Key("share")
          .Double(f.share)
          .EndObject();
    }
    w.EndArray().Key("dependence").BeginArray();
    for (const ExplanationSummary::Dependence& d : x.dependence) {
      w.BeginObject().Key("feature").String(d.feature).Key("points").BeginArray();
      for (const auto& [value, contribution] : d.points) {
        w.BeginArray().Double(value).Double(contribution).EndArray();
      }
      w.EndArray().EndObject();
    }
    w.EndArray().Key("rule_agreement").BeginArray();
    for (const ExplanationSummary::RuleAgreement& a : x.rules) {
      w.BeginObject()
          .Key("reason")
          .String(ReasonName(a.reason))
          .Key("feature")
          .String(a.feature)
          .Key("fired")
          .Uint(a.fired)
          .Key("fired_share")
          .Double(a.fired_share)
          .Key("lowered")
          .Uint(a.lowered)
          .Key("raised")
          .Uint(a.raised)
          .Key("disagreement_rate")
          .Double(a.disagreement_rate)
          .EndObject();
    }
    w.EndArray();
  }
  w.EndObject();

  w.Key("score_quantiles").BeginObject().Key("all");
  WriteQuantiles(w, r.quantiles.all);
  w.Key("retained");
  WriteQuantiles(w, r.quantiles.retained);
  w.Key("churned");
  WriteQuantiles(w, r.quantiles.churned);
  w.EndObject();

  w.Key("curves").BeginObject();
  w.Key("roc")
      .BeginObject()
      .Key("points_total")
      .Uint(r.roc_points_total)
      .Key("points")
      .BeginArray();
  for (const RocPoint& p : r.roc) {
    w.BeginObject()
        .Key("threshold")
        .Double(p.threshold)
        .Key("false_positive_rate")
        .Double(p.false_positive_rate)
        .Key("true_positive_rate")
        .Double(p.true_positive_rate)
        .EndObject();
  }
  w.EndArray().EndObject();
  w.Key("precision_recall")
      .BeginObject()
      .Key("points_total")
      .Uint(r.precision_recall_points_total)
      .Key("points")
      .BeginArray();
  for (const PrPoint& p : r.precision_recall) {
    w.BeginObject()
        .Key("threshold")
        .Double(p.threshold)
        .Key("recall")
        .Double(p.recall)
        .Key("precision")
        .Double(p.precision)
        .EndObject();
  }
  w.EndArray().EndObject();
  w.Key("calibration");
  WriteCalibrationBinsJson(w, r.calibration);
  w.Key("training_calibration");
  WriteCalibrationBinsJson(w, t.calibration);
  w.Key("calibration_before");  // the model's own probability; [] without a calibration step
  WriteCalibrationBinsJson(w, r.calibration_before);
  w.Key("calibration_error_before").Double(r.calibration_error_before);
  w.Key("gain").BeginArray();
  for (const GainPoint& g : r.gain) {
    w.BeginObject()
        .Key("population_share")
        .Double(g.population_share)
        .Key("churners_captured")
        .Double(g.positives_captured)
        .Key("lift")
        .Double(g.lift)
        .EndObject();
  }
  w.EndArray();
  w.Key("deciles").BeginArray();
  for (const DecileLift& d : r.deciles) {
    w.BeginObject()
        .Key("decile")
        .Int(d.decile)
        .Key("lift")
        .Double(d.lift)
        .Key("cumulative_lift")
        .Double(d.cumulative_lift)
        .Key("churners_captured")
        .Double(d.captured)
        .EndObject();
  }
  w.EndArray();
  w.Key("score_distribution").BeginObject().Key("bin_edges").BeginArray();
  for (const double e : r.histogram.edges) w.Double(e);
  w.EndArray().Key("retained");
  WriteCounts(w, r.histogram.retained);
  w.Key("churned");
  WriteCounts(w, r.histogram.churned);
  w.EndObject();
  w.EndObject();  // curves

  w.EndObject();
  out += '\n';
  return out;
}

}  // namespace csml
