// The training dataset: the labeled snapshots of a window (docs/DATA_CONTRACT.md), encoded once
// into the model's input matrix, with the two times the time split needs kept beside it.
//
// A Dataset holds only what training uses: one float row per snapshot (FeatureEncoder::
// DefaultColumns order, NaN = missing), its label, snapshot_ts, label_ts and region. The snapshots
// themselves are not kept, so a caller that reads its input in pieces can pass each piece to
// DatasetBuilder::Add and drop it; memory then stays near the size of the encoded matrix
// (56 bytes of features + 21 bytes of label, times and region per row), not of the parsed records.
//
// The window rule is data/window.h's, applied to the encoded rows: a record whose label is
// null (or that has no label_ts) is unlabeled; one whose label_ts is after the as-of time is
// immature (its outcome was not known then); one whose label_ts is at or before as_of - days
// is outside the window. Only the rest are rows. The as-of time defaults to the newest
// label_ts among labeled records, as for a file.
//
// DatasetBuilder is not thread-safe; a Dataset is a plain value.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"
#include "csml/data/window.h"
#include "csml/model/dense_matrix.h"

namespace csml {

// Where every record offered to the builder went.
struct DatasetCounts {
  std::size_t records_seen = 0;    // every record, including those counted as invalid
  std::size_t invalid = 0;         // broke the data contract (reader or validator); not used
  std::size_t unlabeled = 0;       // label null or no label_ts
  std::size_t immature = 0;        // labeled, but label_ts after the as-of time
  std::size_t outside_window = 0;  // labeled, label_ts at or before the window's start
  std::size_t rows = 0;            // in the window: the dataset's rows
};

struct Dataset {
  LabeledMatrix data;                    // one row per snapshot, named columns
  std::vector<UnixSeconds> snapshot_ts;  // per row
  std::vector<UnixSeconds> label_ts;     // per row; in (start, as_of]
  std::vector<Region> region;            // per row: what the one-hot columns cannot tell
                                         // apart (other and missing), for the profile
  UnixSeconds as_of = 0;
  UnixSeconds start = 0;  // as_of - days * 86400, exclusive
  int days = 0;
  DatasetCounts counts;

  std::size_t rows() const { return data.labels.size(); }
};

// The given rows of the dataset (features and labels), in the given order: the matrices the
// trainer and the model search hand to XGBoost.
LabeledMatrix GatherRows(const Dataset& dataset, std::span<const std::size_t> rows);

class DatasetBuilder {
 public:
  DatasetBuilder();

  // Encodes every record that has an outcome (label 0 or 1 and a label_ts) and counts the
  // others as unlabeled. The window is applied by Finish.
  void Add(std::span<const Snapshot> records);

  // Counts records that were dropped before reaching the builder as invalid.
  void AddInvalid(std::size_t records);

  // Counts records a source already left out as outside the window (a file read through
  // validation/source_window.h).
  void AddOutsideWindow(std::size_t records);

  // Applies the window and returns the dataset; the builder is empty afterwards.
  // kInvalidArgument when days < 1; kValidation when no as-of time is given and no record is
  // labeled.
  Result<Dataset> Finish(const WindowOptions& window);

  std::size_t rows_held() const { return labels_.size(); }

 private:
  std::vector<float> values_;
  std::vector<float> labels_;
  std::vector<UnixSeconds> snapshot_ts_;
  std::vector<UnixSeconds> label_ts_;
  std::vector<Region> region_;
  DatasetCounts counts_;
  bool any_labeled_ = false;
  UnixSeconds newest_label_ts_ = 0;
};

// Convenience for records already in memory: Add(records), then Finish(window).
Result<Dataset> BuildDataset(std::span<const Snapshot> records, std::size_t invalid_records,
                             const WindowOptions& window);

}  // namespace csml
