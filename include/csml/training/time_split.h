// The time split of the training data (docs/DATA_CONTRACT.md): the model is judged on the newest
// snapshots and learns only from outcomes that were known before them. Never a random split:
// rows of the same customer a week apart are nearly the same row, and a random split would
// grade the model on copies of what it learned.
//
//   1. Rows are ordered by snapshot_ts. The validation window starts at the snapshot_ts V of
//      the row at the (1 - validation_fraction) position; every row with snapshot_ts >= V is
//      validation (rows that share V all go to validation, so it may be a little larger
//      than the fraction).
//   2. A row with snapshot_ts < V trains only when its label_ts < V too: the embargo. A
//      snapshot taken before V whose outcome arrived at or after V carries information from
//      the validation period into training (the churn it reports happened there), so it is
//      left out and counted as embargoed.
//
// So every training label was known before the first validation snapshot was taken.
// Plain functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"

namespace csml {

struct TimeSplitOptions {
  double validation_fraction = 0.2;  // newest share of rows by snapshot_ts, in [0.01, 0.9]

  [[nodiscard]] Status Validate() const;
};

struct TimeSplit {
  std::vector<std::size_t> train;       // row indices, oldest snapshot first
  std::vector<std::size_t> validation;  // row indices, oldest snapshot first
  std::size_t embargoed = 0;            // before V, but label_ts >= V
  UnixSeconds validation_start = 0;     // V: oldest validation snapshot_ts
  UnixSeconds validation_end = 0;       // newest validation snapshot_ts
  UnixSeconds train_start = 0;          // oldest training snapshot_ts (0 with no training row)
  UnixSeconds train_end = 0;            // newest training snapshot_ts
  UnixSeconds train_label_end = 0;      // newest training label_ts, always < V
};

// Splits rows given by their snapshot_ts and label_ts (one each per row). kInvalidArgument for
// bad options or spans of different lengths; kValidation when there are fewer than 2 rows, when
// every row shares one snapshot_ts (nothing is older than the validation window) or when the
// embargo leaves no training row; the message says which and what to change.
Result<TimeSplit> SplitByTime(std::span<const UnixSeconds> snapshot_ts,
                              std::span<const UnixSeconds> label_ts,
                              const TimeSplitOptions& options);

}  // namespace csml
