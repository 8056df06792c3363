// `csml monitor --compare` without its command line: the shadow scores of the prediction log
// set beside the answers they shadowed, per (answered version, shadow version), in CS terms
// (docs/MONITORING.md, "Comparing a shadow version").
//
// The pairing. A shadow record (role shadow) pairs with the answer record (role served or
// canary) of the same (request_id, batch_index) and user_id; the shadow line carries the
// answer's keys by construction. Should a client reuse a request id, the shadow takes the
// answer of that key nearest to it in time. A shadow without its
// answer (the answer's segment removed by retention, a dropped line) is counted as unpaired.
//
// The figures of a pair group, over its pairs (every pair counts, as the monitor's volume):
//   - the tier matrix: pairs by answered tier (rows) and shadow tier (columns);
//   - the top-decile overlap: of the pairs in the answered top decile by risk, the share also
//     in the shadow's top decile. A side's top decile holds the pairs whose risk is at least
//     the ceil(pairs / 10)-th highest of that side (a tie at the cut is in);
//   - Spearman's rank correlation of the two risks (ties take their mean rank);
// and over its customers (each user's most recent pair):
//   - the customers moving up to high: answered low or medium, shadow high.
// The outcome figures use the monitor's join and unit (monitor_report.h): each customer once
// per week, its latest pair in that week, matched at the answer's time; realized AUC and
// calibration error (ECE, 10 bins) of both risks over the same known outcomes.
//
// Memory: a record is kept as a 32-byte row (a 64-bit key hash, time, interned user,
// version, risk in 1e-4, tier); the join is a hash table over the shadow rows, probed by the
// answers, so the peak is the rows plus about 32 bytes per shadow. Single-threaded.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "csml/core/error.h"
#include "csml/data/snapshot.h"
#include "csml/monitoring/monitor_report.h"
#include "csml/monitoring/prediction_record.h"
#include "csml/tiering/tiers.h"

namespace csml {

// The layout of the compare report.json; bumped when a key changes meaning or goes away.
inline constexpr int kShadowCompareFormatVersion = 1;

// How many of the customers moving up to high a comparison lists.
inline constexpr std::size_t kMovedToHighListed = 20;

// matrix[answered tier][shadow tier], tiers in the order low, medium, high.
using TierChangeMatrix = std::array<std::array<std::uint64_t, 3>, 3>;

struct MovedToHigh {
  std::string user_id;
  std::int64_t unix_ms = 0;  // of the customer's most recent pair
  double answered_risk = 0;
  Tier answered_tier = Tier::kLow;
  double shadow_risk = 0;
};

// One side's outcome figures over the known customer-weeks of a comparison.
struct CompareOutcomeFigures {
  double mean_risk = kMonitorNaN;
  double auc = kMonitorNaN;
  double calibration_error = kMonitorNaN;  // ECE, 10 bins
};

struct ShadowComparison {
  std::string answered_version;
  std::string shadow_version;
  std::uint64_t pairs = 0;
  std::uint64_t customers = 0;  // distinct users
  TierChangeMatrix tiers{};
  std::uint64_t tier_changes = 0;               // pairs off the diagonal
  std::uint64_t answered_top = 0;               // pairs in the answered top decile
  std::uint64_t top_both = 0;                   // ... also in the shadow's
  double top_decile_overlap = kMonitorNaN;      // top_both / answered_top
  double spearman = kMonitorNaN;                // NaN below 2 pairs or when a side is constant
  std::uint64_t moved_to_high = 0;              // customers
  std::vector<MovedToHigh> moved_to_high_list;  // highest shadow risk first, at most 20
  // Outcomes (customer-weeks).
  std::uint64_t customer_weeks = 0;
  std::uint64_t unmatched = 0;
  std::uint64_t pending = 0;
  std::uint64_t known = 0;
  std::uint64_t churned = 0;
  double churn_rate = kMonitorNaN;
  CompareOutcomeFigures answered;
  CompareOutcomeFigures shadow;
};

struct ShadowCompareReport {
  MonitorSource source;
  MonitorOptions options;     // match_window and as_of are the ones used
  std::uint64_t answers = 0;  // served and canary records
  std::uint64_t shadow_records = 0;
  std::uint64_t paired = 0;
  std::uint64_t unpaired_shadows = 0;         // no answer with their key and user
  std::vector<ShadowComparison> comparisons;  // by answered version, then shadow version
};

// Two passes as MonitorBuilder: outcomes first (AddOutcome), then the log's records (Add, any
// order), then Finish. Not thread-safe.
class ShadowCompareBuilder {
 public:
  // Invalid options are kInvalidArgument (MonitorOptions::Validate).
  static Result<std::unique_ptr<ShadowCompareBuilder>> Create(const MonitorOptions& options);
  ~ShadowCompareBuilder();
  ShadowCompareBuilder(const ShadowCompareBuilder&) = delete;
  ShadowCompareBuilder& operator=(const ShadowCompareBuilder&) = delete;

  void AddOutcome(const Snapshot& snapshot);
  void Add(const PredictionRecord& record);
  // kValidation for more than 65,535 versions. A log without shadow records is a report with
  // shadow_records 0 and no comparison (the caller says so).
  Result<ShadowCompareReport> Finish(const MonitorSource& source);

  struct Impl;

 private:
  explicit ShadowCompareBuilder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Every segment of log_dir through a builder with these outcomes (options.as_of says which
// are known; they are freed once held in their compact form). Errors: the log's (kNotFound for a
// missing directory), kValidation when the log holds no record.
Result<ShadowCompareReport> RunShadowCompare(const std::string& log_dir,
                                             const MonitorOptions& options,
                                             std::vector<Snapshot> outcomes, MonitorSource source);

// Spearman's rank correlation of x and y (same length; ties take their mean rank). NaN below 2
// values or when either side is constant.
double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y);

std::string RenderShadowCompareText(const ShadowCompareReport& report);
std::string RenderShadowCompareJson(const ShadowCompareReport& report);
std::string RenderShadowCompareHtml(const ShadowCompareReport& report);

struct ShadowCompareFiles {
  std::filesystem::path json;
  std::filesystem::path html;
};

// Writes report.json and report.html into dir (created when missing), each through a
// temporary name and a rename.
Result<ShadowCompareFiles> WriteShadowCompareReport(const ShadowCompareReport& report,
                                                    const std::filesystem::path& dir);

}  // namespace csml
