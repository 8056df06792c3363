// The summary `csml test` prints: figures beside training, tiers, reasons and the verdict.
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "csml/core/number_format.h"
#include "csml/reporting/report_renderer.h"

namespace csml {

namespace {

std::string StatusWord(const MetricComparison& c) {
  if (c.kind == ToleranceKind::kNone) return "-";
  if (!c.checked) return "not checked (no training figure)";
  return c.degraded ? "DEGRADED" : "ok";
}

std::string Allowed(const MetricComparison& c) {
  if (!c.checked) return "";
  const double allowed = c.allowed_worsening();
  return c.higher_is_better ? Signed(-allowed) : Signed(allowed);
}

}  // namespace

std::string RenderEvaluationText(const EvaluationReport& r) {
  std::string out;
  const auto line = [&out](const std::string& text) {
    out += text;
    out += '\n';
  };
  const EvaluationSource& s = r.source;
  line(fmt::format("csml test: {}{} on {} labeled snapshots: {}", r.model.version,
                   s.served ? " (served)" : "", r.metrics.rows, r.passed ? "PASS" : "FAIL"));
  line(fmt::format("  source      {}", s.origin));
  line(fmt::format("  window      label_ts in ({}, {}] ({} days)", FormatRfc3339(s.window_start),
                   FormatRfc3339(s.as_of), s.days));
  line(fmt::format(
      "  records     {} seen: {} evaluated ({} churned); skipped {} unlabeled, {} immature, {} "
      "invalid, {} outside the window",
      s.records_seen, r.metrics.rows, r.metrics.positives, s.unlabeled, s.immature, s.invalid,
      s.outside_window));
  line(fmt::format("  model       {}, created {}, thresholds medium >= {}, high >= {} ({})",
                   r.model.algo, FormatRfc3339(r.model.created_at),
                   Fixed(r.model.thresholds.medium), Fixed(r.model.thresholds.high),
                   r.model.threshold_method));
  if (!r.training.configuration.empty()) {
    line(fmt::format("  config      {}", r.training.configuration));
  }
  if (r.calibration_before.empty()) {
    line(fmt::format("  calibration {}", r.training.calibration_method));
  } else {
    line(fmt::format("  calibration {}: calibration error {} before, {} after on this window",
                     r.training.calibration_method, Fixed(r.calibration_error_before),
                     Fixed(r.metrics.calibration_error)));
  }
  if (r.model.window.to > 0) {
    line(fmt::format("  trained on  label_ts in ({}, {}], {} validation rows",
                     FormatRfc3339(r.model.window.from), FormatRfc3339(r.model.window.to),
                     r.training.validation_rows));
  }
  if (r.rows_in_training_window > 0) {
    line(fmt::format(
        "  WARNING     {} of {} rows ({}) have label_ts inside the model's training window; "
        "the model may have learned them, so these figures are optimistic",
        r.rows_in_training_window, r.metrics.rows,
        Percent(static_cast<double>(r.rows_in_training_window) /
                static_cast<double>(r.metrics.rows))));
  }
  line("");
  line(fmt::format("  {:<19} {:>9} {:>9} {:>9} {:>9}  {}", "figure", "test", "training", "change",
                   "allowed", "status"));
  for (const MetricComparison& c : r.comparisons) {
    line(fmt::format("  {:<19} {:>9} {:>9} {:>9} {:>9}  {}", c.label, Fixed(c.test),
                     Fixed(c.training), Signed(c.change()), Allowed(c), StatusWord(c)));
  }
  line(fmt::format("  (AUC standard error ± {}; Hanley-McNeil)",
                   Fixed(r.metrics.auc_standard_error)));
  line("");

  line(fmt::format("  {:<8} {:>8} {:>8} {:>11}   {:>14} {:>16}", "tier", "rows", "share",
                   "churn rate", "training share", "training churn"));
  for (const TierStats& t : r.tiers.tiers) {
    const TierStats* ref = r.training.tiers ? &r.training.tiers->of(t.tier) : nullptr;
    line(fmt::format("  {:<8} {:>8} {:>8} {:>11}   {:>14} {:>16}", TierName(t.tier), t.rows,
                     Percent(t.share), Percent(t.churn_rate),
                     ref ? Percent(ref->share) : std::string("n/a"),
                     ref ? Percent(ref->churn_rate) : std::string("n/a")));
  }
  line(fmt::format("  high tier as \"will churn\": precision {}, recall {}, lift {}",
                   Percent(r.tiers.high_precision), Percent(r.tiers.high_recall),
                   Fixed(r.tiers.high_lift, 2)));
  line(fmt::format("  top-decile lift {} (this window), {} (training)",
                   Fixed(r.metrics.top_decile_lift, 2), Fixed(r.training.top_decile_lift, 2)));
  line("");

  line(fmt::format("  {:<22} {:>8} {:>12} {:>13}", "reason", "share", "churn rate", "of churners"));
  for (const ReasonStats& rs : r.reasons) {
    line(fmt::format("  {:<22} {:>8} {:>12} {:>13}", ReasonName(rs.reason), Percent(rs.share),
                     Percent(rs.churn_rate), Percent(rs.share_of_churned)));
  }
  line("");

  const ExplanationSummary& x = r.explanations;
  if (x.available) {
    line(fmt::format("  explanations (TreeSHAP, {} rows; contributions in log-odds)", x.rows));
    line(fmt::format("  {:<26} {:>14} {:>8}", "feature", "mean |contrib|", "share"));
    for (const ExplanationSummary::Importance& f : x.importance) {
      line(fmt::format("  {:<26} {:>14} {:>8}", f.feature, Fixed(f.mean_abs), Percent(f.share)));
    }
    line(fmt::format("  {:<22} {:<26} {:>8} {:>8} {:>14}", "rule", "feature", "fired", "lowered",
                     "disagreement"));
    for (const ExplanationSummary::RuleAgreement& a : x.rules) {
      line(fmt::format("  {:<22} {:<26} {:>8} {:>8} {:>14}", ReasonName(a.reason), a.feature,
                       a.fired, a.lowered, Percent(a.disagreement_rate)));
    }
    line(
        "  (disagreement: rows where the rule fired but the model's contribution of its "
        "feature lowered the risk)");
  } else {
    line("  explanations: not available (the model file has no node covers)");
  }
  line("");

  std::size_t failed = 0;
  for (const EvaluationCheck& c : r.checks) failed += c.passed ? 0 : 1;
  line(failed == 0
           ? fmt::format("  verdict     PASS: all {} checks passed", r.checks.size())
           : fmt::format("  verdict     FAIL: {} of {} checks failed", failed, r.checks.size()));
  for (const EvaluationCheck& c : r.checks) {
    line(fmt::format("    {:<4} {}: {}", c.passed ? "ok" : "FAIL", c.name, c.detail));
  }
  return out;
}

}  // namespace csml
