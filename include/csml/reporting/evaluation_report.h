// The evaluation report of `csml test` (the seed's `test_model.py --days=30`): how one model
// version does on recently labeled snapshots, beside the figures it had at training time, and
// whether it is still fit to serve. CS leaders and ML engineers decide from this report
// whether a model goes (or stays) live.
//
// The report is a plain value built in two steps, both pure functions over values:
//   1. ScoreLabeledSnapshots scores the labeled snapshots with the version's BatchScorer, the
//      batch twin of the server's ServingModel, so every tier and reason is the one
//      `POST /score` would answer (tier from the risk rounded to 4 decimals, reasons from the
//      raw features); metrics use the risk at full precision, as training did;
//   2. BuildEvaluationReport computes the figures (evaluation/metrics.h), the curves
//      (evaluation/curves.h), tiers, reason frequencies and score distribution, reads the
//      training figures from the version's meta.json (ReadTrainingFigures), compares them and
//      runs the checks of EvaluationOptions.
// Renderers (report_renderer.h) turn the value into text, JSON and self-contained HTML.
//
// Thread-safety: functions only; safe from any thread. The report owns all its data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"
#include "csml/evaluation/curves.h"
#include "csml/evaluation/metrics.h"
#include "csml/evaluation/tier_stats.h"
#include "csml/reasons/reasons.h"
#include "csml/registry/model_meta.h"
#include "csml/serving/batch_scorer.h"
#include "csml/tiering/tiers.h"

namespace csml {

// The layout of report.json; bumped when a key changes meaning or goes away.
inline constexpr int kReportFormatVersion = 1;

// What the report checks, and how much worse than training a figure may get. A tolerance is
// absolute (in the metric's own units) or relative (a share of the training figure), as
// named; a figure the meta does not record is shown but not checked.
struct EvaluationOptions {
  double min_auc = 0.70;  // AUC below this fails, whatever training said
  // AUC may be this much (AUC points) below training. 0.05 is about two Hanley-McNeil
  // standard errors on a thousand rows with a 12% base rate: more is not sampling noise.
  double max_auc_drop = 0.05;
  // Calibration error (ECE, 10 bins) may rise this much (probability points).
  double max_calibration_error_rise = 0.05;
  // PR-AUC and top-decile lift may fall, log loss and Brier may rise, by this share of the
  // training figure (0.25 = 25%).
  double max_relative_change = 0.25;

  int calibration_bins = 10;           // reliability diagram bins over [0, 1], >= 1
  int score_histogram_bins = 20;       // score distribution bins, >= 1
  std::size_t max_curve_points = 201;  // ROC and PR curves are thinned to this many, >= 2

  // Tolerances finite and >= 0, min_auc in [0, 1], bins and points within their bounds. The
  // message names the field.
  [[nodiscard]] Status Validate() const;
};

// One scored, labeled snapshot.
struct EvaluatedRow {
  double risk = 0.0;               // the calibrated risk, full precision (BatchScore::risk)
  double model_probability = 0.0;  // the model's probability before calibration
  Tier tier = Tier::kLow;
  ReasonSet reasons;
  std::int8_t label = 0;     // 0 or 1
  UnixSeconds label_ts = 0;  // when the outcome was learned
};

// Scores labeled snapshots (label 0/1 and label_ts present; kInvalidArgument naming the first
// that is not) with `scorer` on options.threads threads, in input order.
Result<std::vector<EvaluatedRow>> ScoreLabeledSnapshots(const BatchScorer& scorer,
                                                        std::span<const Snapshot> labeled,
                                                        const BatchScoringOptions& options);

// Where the evaluated rows came from and what was left out on the way; filled by the caller
// (the CLI knows the source), copied into the report.
struct EvaluationSource {
  std::string origin;     // "file data.jsonl" or "GET http://host/path?days=30"
  UnixSeconds as_of = 0;  // the window is label_ts in (window_start, as_of]
  UnixSeconds window_start = 0;
  int days = 0;
  std::size_t records_seen = 0;    // every record read, invalid ones included
  std::size_t invalid = 0;         // broke the data contract; skipped
  std::size_t unlabeled = 0;       // label null: outcome not known
  std::size_t immature = 0;        // label_ts after the as-of time
  std::size_t outside_window = 0;  // outcome learned before the window
  bool served = false;             // the version is the one the registry serves
  UnixSeconds generated_at = 0;    // when the report was made
};

// A figure from training, as meta.json recorded it (NaN = not recorded).
struct TrainingFigures {
  std::int64_t validation_rows = 0;  // meta rows.validation
  double auc = std::numeric_limits<double>::quiet_NaN();
  double pr_auc = std::numeric_limits<double>::quiet_NaN();
  double log_loss = std::numeric_limits<double>::quiet_NaN();
  double brier = std::numeric_limits<double>::quiet_NaN();
  double calibration_error = std::numeric_limits<double>::quiet_NaN();
  double top_decile_lift = std::numeric_limits<double>::quiet_NaN();
  double base_rate = std::numeric_limits<double>::quiet_NaN();
  std::optional<TierReport> tiers;          // extra.tiers.validation, when recorded
  std::vector<CalibrationBin> calibration;  // extra.calibration.table; empty when absent
  std::vector<std::pair<std::string, double>> importance_gain;  // extra.feature_importance_
                                                                // gain, largest first
  // The configuration csml train chose (meta params, e.g. "eta 0.1, 7 leaves, ..."); empty
  // for a model imported from elsewhere.
  std::string configuration;
  std::string calibration_method = "none";  // the meta's calibration step
};

// Reads the training figures from a meta: validation_metrics for the scalar figures, and
// csml train's `extra` (tiers, calibration table, feature importance) when present. A model
// imported from elsewhere has none of them and gets NaN and empty tables. kParse when extra
// is not JSON or a recorded figure has the wrong type, naming the key.
Result<TrainingFigures> ReadTrainingFigures(const ModelMeta& meta);

enum class ToleranceKind : std::uint8_t {
  kAbsolute,  // test may be worse than training by `tolerance`, in the metric's units
  kRelative,  // ... by tolerance * |training|
  kNone,      // informational: shown, never checked
};

// One figure on the test window beside training.
struct MetricComparison {
  std::string key;    // "auc", "pr_auc", "logloss", ... (report.json and meta.json keys)
  std::string label;  // "AUC", "PR-AUC", "log loss", ...
  double test = 0.0;
  double training = std::numeric_limits<double>::quiet_NaN();
  bool higher_is_better = true;
  ToleranceKind kind = ToleranceKind::kNone;
  double tolerance = 0.0;
  bool checked = false;   // both figures finite and a tolerance applies
  bool degraded = false;  // checked and worse than training beyond the tolerance

  double change() const { return test - training; }  // NaN when training is not recorded
  // The largest allowed worsening in the metric's units (NaN when not checked).
  double allowed_worsening() const;
};

// One pass/fail rule of the verdict.
struct EvaluationCheck {
  std::string name;  // "min_auc", "auc_vs_training", ...
  bool passed = true;
  std::string detail;  // "AUC 0.7812 >= 0.70", "AUC 0.70 is 0.10 below training 0.80 ..."
};

struct ScoreHistogram {
  std::vector<double> edges;          // bins + 1 increasing edges; bin i is [edges[i], edges[i+1])
  std::vector<std::size_t> retained;  // label 0 rows per bin
  std::vector<std::size_t> churned;   // label 1 rows per bin
};

// Rows given a reason, and how many of them churned.
struct ReasonStats {
  Reason reason = Reason::kGeneralRiskFactors;
  std::size_t rows = 0;
  std::size_t churned = 0;
  double share = 0.0;             // rows / evaluated rows
  double churn_rate = 0.0;        // churned / rows; NaN when no row has it
  double share_of_churned = 0.0;  // churned / all churned rows; NaN with no churn
};

// One decile of rows ranked by risk (1 = the riskiest 10%).
struct DecileLift {
  int decile = 0;
  double lift = 0.0;             // churn in the decile / base rate (ties counted in proportion)
  double cumulative_lift = 0.0;  // churn in deciles 1..decile / base rate
  double captured = 0.0;         // share of all churned rows in deciles 1..decile
};

struct FeatureImportance {
  std::string feature;
  double gain = 0.0;   // total gain in training
  double share = 0.0;  // gain / sum of gains
};

struct ScoreQuantiles {
  static constexpr std::array<double, 5> kLevels = {0.1, 0.25, 0.5, 0.75, 0.9};
  std::array<double, 5> all{};  // NaN when the group is empty
  std::array<double, 5> retained{};
  std::array<double, 5> churned{};
};

// What the model's TreeSHAP contributions say over the evaluated rows, beside the seed's rules
// (docs/EXPLANATIONS.md "Agreement"). Contributions are in log-odds, per model column.
struct ExplanationSummary {
  static constexpr std::size_t kDependenceFeatures = 3;  // charted: the top columns
  static constexpr std::size_t kDependencePoints = 400;  // at most, evenly spaced over rows

  struct Importance {
    std::string feature;    // model column
    double mean_abs = 0.0;  // mean |contribution| over the rows
    double share = 0.0;     // mean_abs / sum over columns (NaN when all are 0)
  };
  struct Dependence {
    std::string feature;
    std::vector<std::pair<double, double>> points;  // (value the model saw, contribution);
                                                    // rows with the value missing left out
  };
  // One seed rule beside its feature's contribution, on the rows where the rule fired.
  struct RuleAgreement {
    Reason reason = Reason::kGeneralRiskFactors;
    std::string feature;       // the column the rule reads
    std::size_t fired = 0;     // rows where the rule fired
    std::size_t lowered = 0;   // ... and the feature's contribution was < 0 (the model disagreed)
    std::size_t raised = 0;    // ... and it was > 0
    double fired_share = 0.0;  // fired / rows
    double disagreement_rate = 0.0;  // lowered / fired; NaN when the rule never fired
  };

  bool available = false;  // false: the version has no node covers (nothing below is filled)
  std::size_t rows = 0;
  std::vector<Importance> importance;  // largest mean |contribution| first
  std::vector<Dependence> dependence;  // the top kDependenceFeatures of importance
  std::vector<RuleAgreement> rules;    // the seed's four rules, in the contract's order
};

// TreeSHAP over the rows with the version's explainer (available false when it has none).
ExplanationSummary SummarizeExplanations(const ServingModel& model, std::span<const Snapshot> rows);

struct EvaluationReport {
  ModelMeta model;  // the version's meta.json as read
  EvaluationSource source;
  std::size_t rows_in_training_window = 0;  // label_ts in the model's training window

  BinaryMetrics metrics;
  TrainingFigures training;
  std::vector<MetricComparison> comparisons;  // auc, pr_auc, logloss, brier,
                                              // calibration_error, top_decile_lift, base_rate
  std::vector<EvaluationCheck> checks;
  bool passed = false;  // every check passed

  TierReport tiers;                           // from each row's tier, as /score answers
  std::vector<ReasonStats> reasons;           // the five reasons in the contract's order
  std::vector<FeatureImportance> importance;  // training gain, largest first; may be empty
  ScoreQuantiles quantiles;

  // Curves; ROC and PR thinned to options.max_curve_points (first and last kept).
  std::vector<RocPoint> roc;
  std::size_t roc_points_total = 0;
  std::vector<PrPoint> precision_recall;
  std::size_t precision_recall_points_total = 0;
  std::vector<CalibrationBin> calibration;
  // The same window's reliability before the version's calibration step (the model's own
  // probability); empty when the version has no calibration.
  std::vector<CalibrationBin> calibration_before;
  double calibration_error_before = std::numeric_limits<double>::quiet_NaN();
  std::vector<GainPoint> gain;  // deciles
  std::vector<DecileLift> deciles;
  ScoreHistogram histogram;
  ExplanationSummary explanations;  // filled by EvaluateVersion; available false otherwise
  EvaluationOptions options;

  const MetricComparison* FindComparison(std::string_view key) const;
};

// Builds the report. kInvalidArgument for invalid options or no rows; a row that is not a
// probability or label is kInvalidArgument naming it (metrics.h conventions). Rows with only
// one class give NaN AUC, which fails the min_auc check rather than erroring: the data was
// read, it just cannot show the model ranks well.
Result<EvaluationReport> BuildEvaluationReport(std::span<const EvaluatedRow> rows,
                                               const ModelMeta& model,
                                               const EvaluationSource& source,
                                               const EvaluationOptions& options);

// The indices a curve of `points` points keeps when thinned to at most `max_points` (>= 2):
// the first, the last and evenly spaced ones between them, increasing. All of them when
// points <= max_points.
std::vector<std::size_t> ThinnedIndices(std::size_t points, std::size_t max_points);

}  // namespace csml
