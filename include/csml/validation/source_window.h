// What a source answers for `days=N` (docs/DATA_CONTRACT.md): the records a CS API request for a
// window returns, and what csml reads from a file for the same window, so that a file and the
// API give a command the same records.
//
// A record belongs to the window (start, as_of], start = as_of - N days, when
//   - its outcome is known at as_of and was learned in the window: label 0/1 and
//     start < label_ts <= as_of (exactly the records data/window.h SelectWindow trains on), or
//   - its outcome is not known at as_of (label null, or label_ts after as_of) and the snapshot
//     was taken in the window: start < snapshot_ts <= as_of. Validation counts these; training
//     skips them; a live CS API returns them too.
// Records whose outcome was learned before the window, or unlabeled snapshots taken before
// it, are outside.
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

struct SourceWindow {
  UnixSeconds as_of = 0;
  UnixSeconds start = 0;  // as_of - days * 86400, exclusive
  int days = 90;

  bool Contains(const Snapshot& snapshot) const;
};

// The window of `days` days up to `as_of`; when as_of is not given, up to the newest label_ts
// among the labeled records, else (nothing labeled) the newest snapshot_ts, else (no records)
// the Unix epoch. kInvalidArgument when days is outside [1, 3,650,000].
Result<SourceWindow> MakeSourceWindow(std::span<const Snapshot> records, int days,
                                      std::optional<UnixSeconds> as_of);

// Keeps the records of the window, in order (moved, no copy); returns how many were dropped.
std::size_t KeepSourceWindow(const SourceWindow& window, std::vector<Snapshot>* records);

}  // namespace csml
