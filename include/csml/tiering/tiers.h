// Risk tiers (docs/API.md): low below t_medium, medium up to t_high, high from t_high.
#pragma once

#include <cstdint>
#include <string_view>

#include "csml/core/error.h"

namespace csml {

enum class Tier : std::uint8_t { kLow, kMedium, kHigh };

// "low", "medium", "high".
std::string_view TierName(Tier tier);

// The two cut points of a model, from its meta.json. A plain value: validate once with
// Validate(), then Classify() is a pair of comparisons.
struct Thresholds {
  double medium = 0.4;  // risk >= medium is at least "medium"
  double high = 0.7;    // risk >= high is "high"

  // Both in [0, 1] and medium <= high; the message names the offending value.
  [[nodiscard]] Status Validate() const;

  Tier Classify(double risk) const {
    if (risk >= high) return Tier::kHigh;
    if (risk >= medium) return Tier::kMedium;
    return Tier::kLow;
  }
};

}  // namespace csml
