// A labeled customer snapshot: the record of the training data contract (docs/DATA_CONTRACT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "csml/core/time.h"
#include "csml/features/schema.h"

namespace csml {

struct Snapshot {
  std::string user_id;
  UnixSeconds snapshot_ts = 0;
  RawFeatures features;
  std::optional<std::int8_t> label;     // 0 or 1; nullopt when the record's label is null
  std::optional<UnixSeconds> label_ts;  // nullopt when absent or null

  // True when the outcome is known at `as_of`: a label and a label_ts no later than as_of.
  bool IsLabeledAt(UnixSeconds as_of) const {
    return label.has_value() && label_ts.has_value() && *label_ts <= as_of;
  }
};

}  // namespace csml
