#include "csml/tiering/tiers.h"

#include <cmath>

#include <fmt/format.h>

namespace csml {

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kLow:
      return "low";
    case Tier::kMedium:
      return "medium";
    case Tier::kHigh:
      return "high";
  }
  return "low";
}

Status Thresholds::Validate() const {
  const auto in_unit = [](double v) { return std::isfinite(v) && v >= 0.0 && v <= 1.0; };
  if (!in_unit(medium)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("medium threshold: expected a number in [0, 1], got {}", medium));
  }
  if (!in_unit(high)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("high threshold: expected a number in [0, 1], got {}", high));
  }
  if (medium > high) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("thresholds: expected medium <= high, got medium {} and high {}",
                                 medium, high));
  }
  return {};
}

}  // namespace csml
