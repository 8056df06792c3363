// The training window of docs/DATA_CONTRACT.md: `days=N` selects the labeled snapshots whose
// outcome was learned in the N days up to the as-of time,
//   as_of - N * 86400 < label_ts <= as_of,
// so the most recently learned outcomes train and test a model. When no as-of time is given
// for a file, it is the newest label_ts among the file's labeled records.
//
// Plain functions over values; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"

namespace csml {

struct WindowOptions {
  int days = 90;                     // N, in days; at least 1
  std::optional<UnixSeconds> as_of;  // default: NewestLabelTs of the records
};

struct WindowedSnapshots {
  std::vector<Snapshot> records;   // labeled, inside the window, in input order
  UnixSeconds as_of = 0;           // the window is (start, as_of]
  UnixSeconds start = 0;           // as_of - days * 86400, exclusive
  std::size_t unlabeled = 0;       // label null (or no label_ts): the outcome is not known
  std::size_t immature = 0;        // labeled, but label_ts after as_of: not known at as_of
  std::size_t outside_window = 0;  // labeled, label_ts at or before start: too old
};

// The newest label_ts among records that have a label (0 or 1) and a label_ts. A label_ts on
// a record whose label is null is a due date, not an outcome, and is not considered.
// kValidation error when no record is labeled.
Result<UnixSeconds> NewestLabelTs(std::span<const Snapshot> records);

// Keeps the labeled records in the window and counts the others by reason. Takes the records
// by value so a caller that is done with them can move them in and pay no copy.
// kInvalidArgument when days < 1; kValidation when as_of is not given and nothing is labeled.
Result<WindowedSnapshots> SelectWindow(std::vector<Snapshot> records, const WindowOptions& options);

}  // namespace csml
