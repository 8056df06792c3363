// What a model's tier thresholds do on labeled rows: how many rows each tier (low, medium,
// high; tiering/tiers.h) gets, and how many of them churned. The high tier is the one the CS
// team acts on, so its precision, recall and lift are reported on their own.
//
// Rows are tiered by their raw score with Thresholds::Classify. Plain functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "csml/core/error.h"
#include "csml/tiering/tiers.h"

namespace csml {

struct TierStats {
  Tier tier = Tier::kLow;
  std::size_t rows = 0;
  std::size_t positives = 0;
  double share = 0;       // rows / all rows
  double churn_rate = 0;  // positives / rows; NaN for an empty tier
};

struct TierReport {
  std::array<TierStats, 3> tiers;  // indexed by Tier: low, medium, high
  double base_rate = 0;
  // The high tier as a "will churn" prediction.
  double high_precision = 0;  // = tiers[high].churn_rate; NaN when the tier is empty
  double high_recall = 0;     // high-tier positives / all positives; NaN with no positive
  double high_lift = 0;       // high_precision / base_rate; NaN when either is undefined

  const TierStats& of(Tier tier) const { return tiers[static_cast<std::size_t>(tier)]; }
};

// kInvalidArgument for invalid thresholds or inputs (metrics.h conventions).
Result<TierReport> ComputeTierReport(std::span<const double> scores, std::span<const float> labels,
                                     const Thresholds& thresholds);

class JsonWriter;

// One tier's figures as {"rows","share","churned","churn_rate"}: the one layout meta.json and
// report.json share.
void WriteTierStatsJson(JsonWriter& w, const TierStats& t);

}  // namespace csml
