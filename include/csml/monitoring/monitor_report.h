// `csml monitor` without its command line: the prediction log joined with the outcomes that
// arrived later, and the figures per model version and week (docs/MONITORING.md, "csml
// monitor").
//
// The join rule. A prediction of customer u at time t (the log's unix_ms) is matched to the
// snapshot of u with the latest snapshot_ts <= t, provided t - snapshot_ts <= match_window;
// no such snapshot: the prediction is *unmatched*. The snapshot's label says whether u churned
// in the label horizon (30 days) after snapshot_ts, the question the score answered. The
// outcome is *known* when the matched snapshot has a label and label_ts <= as_of; otherwise
// the prediction is *pending* (too recent: its 30 days are not over, or the CS API has not
// labeled it yet). A pending outcome is never read as "stayed". An older labeled snapshot is
// never used in place of a newer one whose outcome is pending: it answers another period.
//
// What counts. Only the records whose score the client got (role served or canary) are
// predictions; a shadow record is counted in shadow_records and nowhere else, so a version's
// volume and outcome figures are those of its answers (csml monitor --compare reads the
// shadow ones).
//
// The unit. Volume, tier mix and PSI count every logged prediction (what the server saw, as
// /metrics does). Outcome figures (AUC, PR-AUC, calibration, churn per tier) and revenue count
// each customer once per version and week: its latest prediction by that version in that
// week, so a customer scored daily weighs as much as one scored weekly.
//
// Weeks are ISO weeks, Monday 00:00 UTC, of the prediction time.
//
// Memory: a prediction is kept as a 24-byte row (interned user, time, version, risk in
// 1e-4 as the log holds it, plan value, tier) and its features are binned as they are read, so 10
// million predictions need about 240 MB plus the outcomes (24 bytes each) and the user table.
// Single-threaded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"
#include "csml/evaluation/drift.h"
#include "csml/features/schema.h"
#include "csml/monitoring/prediction_record.h"
#include "csml/tiering/tiers.h"

namespace csml {

// The layout of the monitor's report.json; bumped when a key changes meaning or goes away.
inline constexpr int kMonitorReportFormatVersion = 1;

// The drift features: the eight numeric features in schema order, then region.
inline constexpr std::size_t kNumDriftFeatures = kNumNumericFeatures + 1;
inline constexpr std::size_t kRegionDriftIndex = kNumNumericFeatures;
std::string_view DriftFeatureName(std::size_t index);

// Region as a binned value: IN 0, SG 1, US 2, EU 3, other 4, missing NaN; with the edges
// {0, 1, 2, 3} a BinnedDistribution holds one bin per region.
double RegionBinValue(Region region);

// A version's training reference (meta.json's profile), as the monitor uses it. A feature
// without a reference has no PSI.
struct MonitorReference {
  std::array<std::optional<BinnedDistribution>, kNumDriftFeatures> features;
  std::optional<BinnedDistribution> score;  // the risk
};

struct MonitorOptions {
  UnixSeconds match_window = 7 * kSecondsPerDay;  // prediction time - snapshot time, at most
  UnixSeconds as_of = 0;                          // outcomes with label_ts after this are pending
  // Checks; each applies per version and week, to weeks with enough data.
  double min_auc = 0.70;                  // realized AUC below this fails (0 = never)
  double max_psi = kPsiAlarm;             // any feature's or the score's PSI above this fails
  double max_calibration_error = 0.10;    // realized ECE (10 bins) above this fails (1 = never)
  std::size_t min_outcomes = 200;         // known outcomes (both classes) a week needs for the
                                          // AUC and calibration checks
  std::size_t min_psi_predictions = 500;  // predictions a week needs for the PSI check

  [[nodiscard]] Status Validate() const;
};

inline constexpr double kMonitorNaN = std::numeric_limits<double>::quiet_NaN();

// Customers of a tier (as answered) with a known outcome, and revenue.
struct MonitorTierFigures {
  std::uint64_t predictions = 0;     // every prediction of the tier
  std::uint64_t customers = 0;       // customer-weeks whose latest prediction has this tier
  std::uint64_t known = 0;           // ... whose outcome is known
  std::uint64_t churned = 0;         // ... who churned
  double churn_rate = kMonitorNaN;   // churned / known
  double revenue_at_risk = 0;        // sum of plan_value x risk over the customers
  double revenue_at_risk_known = 0;  // the same over those whose outcome is known
  double revenue_churned = 0;        // sum of plan_value over those who churned
};

struct MonitorFeatureDrift {
  double psi = kMonitorNaN;            // NaN without a reference
  double missing_share = kMonitorNaN;  // of the predictions
  double reference_missing_share = kMonitorNaN;
};

// One version over one week (or over all weeks: week_start 0).
struct MonitorCell {
  UnixSeconds week_start = 0;
  std::uint64_t predictions = 0;
  std::uint64_t customers = 0;  // distinct (customer, week) pairs
  std::uint64_t unmatched = 0;  // customers with no snapshot in the match window
  std::uint64_t pending = 0;    // matched, outcome not known at as_of
  std::uint64_t known = 0;
  std::uint64_t churned = 0;
  double churn_rate = kMonitorNaN;  // realized, of the known
  double mean_risk = kMonitorNaN;   // of the known: compare with churn_rate
  double auc = kMonitorNaN;
  double auc_standard_error = kMonitorNaN;
  double pr_auc = kMonitorNaN;
  double calibration_error = kMonitorNaN;  // ECE, 10 bins
  std::array<MonitorTierFigures, 3> tiers;
  double revenue_at_risk = 0;
  double revenue_at_risk_known = 0;
  double revenue_churned = 0;
  bool has_reference = false;
  std::array<MonitorFeatureDrift, kNumDriftFeatures> features;
  double score_psi = kMonitorNaN;

  double tier_share(Tier t) const;  // of the predictions
  double max_psi() const;           // over features and score; NaN when none
};

struct MonitorVersion {
  std::string version;
  bool has_reference = false;
  MonitorCell total;               // every week
  std::vector<MonitorCell> weeks;  // oldest first
};

struct MonitorCheck {
  std::string name;  // "min_auc", "max_psi", "max_calibration_error"
  std::string version;
  UnixSeconds week_start = 0;
  bool passed = true;
  std::string detail;
};

// Where the data came from and what was skipped; the adapter fills the parts it knows.
struct MonitorSource {
  std::string log_dir;
  std::uint64_t log_files = 0;
  std::uint64_t log_records = 0;
  std::uint64_t torn_lines = 0;
  std::uint64_t bad_lines = 0;
  std::string first_bad_line_error;
  std::string outcomes_origin;  // "file x.jsonl", "GET http://..."
  std::uint64_t outcome_records = 0;
  std::uint64_t outcomes_invalid = 0;
  UnixSeconds generated_at = 0;
};

struct MonitorReport {
  MonitorSource source;
  MonitorOptions options;
  UnixSeconds first_prediction = 0;
  UnixSeconds last_prediction = 0;
  std::uint64_t predictions = 0;         // the answers (served and canary records)
  std::uint64_t shadow_records = 0;      // shadow scores, not counted anywhere else
  std::vector<MonitorVersion> versions;  // in order of first prediction
  std::vector<MonitorCheck> checks;      // every check made, failed ones included
  std::vector<std::string> not_checked;  // weeks below the minimums, why
  bool passed = true;
};

// The version's reference, or nullopt when it has none (or is not in the registry).
using MonitorReferenceLookup =
    std::function<Result<std::optional<MonitorReference>>(std::string_view version)>;

// Builds a report in two passes over the data: outcomes first (AddOutcomes, any number of
// calls), then the log's records (Add, in any order), then Finish. Not thread-safe.
class MonitorBuilder {
 public:
  // Invalid options are kInvalidArgument.
  static Result<std::unique_ptr<MonitorBuilder>> Create(const MonitorOptions& options,
                                                        MonitorReferenceLookup lookup);
  ~MonitorBuilder();
  MonitorBuilder(const MonitorBuilder&) = delete;
  MonitorBuilder& operator=(const MonitorBuilder&) = delete;

  void AddOutcome(const Snapshot& snapshot);
  // A lookup error is kept and returned by Finish (the record is still counted).
  void Add(const PredictionRecord& record);
  Result<MonitorReport> Finish(const MonitorSource& source);

  struct Impl;

 private:
  explicit MonitorBuilder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The Monday 00:00 UTC at or before t.
UnixSeconds WeekStart(UnixSeconds t);

}  // namespace csml
