// Checks labeled snapshots (docs/FEATURES.md and docs/DATA_CONTRACT.md) before anything trains on
// them, as the seed's validate_data.py did: the schema of every record, value ranges, missing
// values, unknown regions, labels and their timing, duplicates, weekly time coverage and freshness.
//
// The schema part is built on the reader's per-record problems (SnapshotReadOptions::OnInvalid
// ::kSkip), grouped into problem kinds; the dataset part runs on the valid records. Each
// finding is a warning or an error; the thresholds that turn a warning into an error are the
// options below. A report with an error blocks training (BlocksTraining()).
//
// Record numbers are 0-based positions in the input, as in the reader's messages. For a batch
// whose problems describe every invalid record (max_problems_kept >= records_invalid) they are
// exact for every finding; otherwise dataset-level examples are omitted rather than guessed.
//
// DataValidator is a plain value (its options); Validate() is const and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot_reader.h"
#include "csml/features/schema.h"

namespace csml {

struct ValidationOptions {
  // The as-of time: labels after it are not mature, freshness is measured to it. Default: the
  // newest label_ts among the labeled records (the newest snapshot_ts when none is labeled).
  std::optional<UnixSeconds> as_of;
  // The window the records stand for (days up to as_of): weekly coverage spans it.
  int days = 90;
  // true: the records are a whole file; keep those of the window (validation/source_window.h)
  // and count the rest as outside it. false: a source (the CS API) already selected them.
  bool select_window = false;

  // Thresholds. Rates are shares in [0, 1] of the records named; "above" is strict.
  double max_invalid_rate = 0.01;          // invalid / records seen: any is a warning, above: error
  double warn_missing_rate = 0.20;         // per feature, missing / valid: above is a warning
  double max_missing_rate = 0.50;          // ... above is an error
  double warn_unknown_region_rate = 0.05;  // region outside IN/SG/US/EU: above is a warning
  double max_unknown_region_rate = 0.50;   // ... above is an error
  double max_duplicate_rate = 0.01;       // repeated (userId, snapshot_ts): any warns, above: error
  std::size_t min_labeled_records = 100;  // fewer labeled, mature records: error
  std::size_t min_class_records = 10;     // fewer records of either class (0 or 1): error
  double warn_minority_rate = 0.02;       // positives or negatives below this share: warning
  double max_immature_rate = 0.50;        // labels after as-of / labeled: any warns, above: error
  int max_empty_weeks = 2;                // weeks without a snapshot inside the span: more: error
  double warn_stale_days = 7.0;           // newest snapshot older than this at as-of: warning
  double max_stale_days = 45.0;           // ... older than this: error

  // kInvalidArgument naming the first option out of range.
  [[nodiscard]] Status Validate() const;
};

enum class Severity : std::uint8_t { kWarning, kError };
std::string_view SeverityName(Severity severity);  // "warning", "error"

// One kind of problem, with how often it occurred and where.
struct Finding {
  std::string kind;     // stable id: "schema.out_of_range", "data.duplicates", ...
  std::string field;    // "features.usage_score", "label_ts", ...; "" when not about one field
  std::string summary;  // one line for a person: "out of range (docs/FEATURES.md): expected ..."
  Severity severity = Severity::kWarning;
  std::size_t count = 0;              // records concerned
  std::vector<std::size_t> examples;  // up to 5 record numbers, ascending
};

inline constexpr std::size_t kMaxExamples = 5;

struct FeatureStats {
  std::string name;  // contract name; "region" last
  std::size_t present = 0;
  std::size_t missing = 0;
  double missing_rate = 0.0;  // missing / valid records
  // Over present values (numeric features only; NaN when none is present).
  double min = 0.0;
  double max = 0.0;
  double mean = 0.0;
};

struct LabelStats {
  std::size_t labeled = 0;     // label 0/1 and label_ts <= as_of: usable for training
  std::size_t positives = 0;   // of labeled
  std::size_t negatives = 0;   // of labeled
  std::size_t unlabeled = 0;   // label null
  std::size_t immature = 0;    // label 0/1 but label_ts after as_of
  double positive_rate = 0.0;  // positives / labeled; NaN when nothing is labeled
};

struct WeekCoverage {
  UnixSeconds week_start = 0;  // Monday 00:00 UTC
  std::size_t records = 0;     // snapshots taken that week
  std::size_t labeled = 0;     // of them, labeled and mature
};

struct ValidationReport {
  std::string source;  // where the records came from, set by the caller ("file x.json", a URL)
  UnixSeconds as_of = 0;
  int days = 0;
  std::size_t records_seen = 0;     // every record the source gave
  std::size_t records_invalid = 0;  // broke the schema; not used further
  std::size_t outside_window = 0;   // valid but outside the window (select_window only)
  std::size_t records_checked = 0;  // valid records in the window: the dataset checks run on them

  std::vector<Finding> findings;       // errors first, then warnings; by kind within
  std::vector<FeatureStats> features;  // the eight numeric features in schema order, then region
  std::size_t unknown_region = 0;      // region present but not IN/SG/US/EU
  LabelStats labels;
  std::size_t duplicates = 0;       // records repeating an earlier (userId, snapshot_ts)
  std::vector<WeekCoverage> weeks;  // from the oldest to the newest snapshot's week, gaps included
  std::optional<UnixSeconds> oldest_snapshot_ts;
  std::optional<UnixSeconds> newest_snapshot_ts;
  double newest_age_days = 0.0;  // as_of - newest snapshot_ts, in days

  std::size_t errors() const;
  std::size_t warnings() const;
  // True when a finding is an error: the data must not be trained on.
  bool BlocksTraining() const;
};

class DataValidator {
 public:
  // Fails when the options are out of range.
  static Result<DataValidator> Create(const ValidationOptions& options);

  ValidationReport Validate(const SnapshotBatch& batch) const;

  const ValidationOptions& options() const { return options_; }

 private:
  explicit DataValidator(const ValidationOptions& options) : options_(options) {}
  ValidationOptions options_;
};

// One call: Create + Validate.
Result<ValidationReport> ValidateSnapshots(const SnapshotBatch& batch,
                                           const ValidationOptions& options);

// A readable report: header, findings with counts and example records, feature table, labels,
// weekly coverage and the verdict.
std::string RenderValidationText(const ValidationReport& report);

// The same content as one JSON object, for machines.
std::string RenderValidationJson(const ValidationReport& report);

}  // namespace csml
