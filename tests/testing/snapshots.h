// Snapshots for the window tests (docs/DATA_CONTRACT.md): only the user id and the
// time fields set, every feature missing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "csml/data/snapshot.h"

namespace csml::testing {

inline Snapshot SnapshotAt(std::string user_id, UnixSeconds snapshot_ts,
                           std::optional<std::int8_t> label = std::nullopt,
                           std::optional<UnixSeconds> label_ts = std::nullopt) {
  Snapshot s;
  s.user_id = std::move(user_id);
  s.snapshot_ts = snapshot_ts;
  s.label = label;
  s.label_ts = label_ts;
  return s;
}

// The user ids of `records`, in order.
inline std::vector<std::string> UserIds(const std::vector<Snapshot>& records) {
  std::vector<std::string> ids;
  ids.reserve(records.size());
  for (const Snapshot& s : records) ids.push_back(s.user_id);
  return ids;
}

}  // namespace csml::testing
