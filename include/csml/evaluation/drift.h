// Distribution drift: a reference distribution binned once (at training) and the population
// stability index (PSI) of a later sample against it (docs/MONITORING.md, "Drift").
//
// Bins: `edges` are ascending inner edges; a present value x falls in bin i, the first with
// x <= edges[i], or in the last bin (edges.size()) when it is above every edge. Missing
// values (NaN) are a bin of their own. Quantile edges that coincide (a feature that is mostly
// 0) are merged, so a distribution may have fewer than the bins asked for.
//
// PSI = sum over bins of (a - e) * ln(a / e), with a and e the actual and expected shares
// (missing included), each floored at kPsiShareFloor so an empty bin does not make it
// infinite. Rules of thumb: < 0.1 stable, 0.1 to 0.25 moderate, > 0.25 a shift to act on.
// Plain values and functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "csml/core/error.h"

namespace csml {

inline constexpr double kPsiShareFloor = 1e-4;
inline constexpr double kPsiAlarm = 0.25;

struct BinnedDistribution {
  std::vector<double> edges;   // ascending, distinct
  std::vector<double> shares;  // edges.size() + 1 shares of all values, missing excluded
  double missing_share = 0.0;  // of all values

  std::size_t bins() const { return edges.size() + 1; }
  // The bin of a present value.
  std::size_t BinOf(double x) const;

  bool operator==(const BinnedDistribution&) const = default;
};

// Quantile bins of values (NaN = missing): the edges at 1/bins, 2/bins, ... of the present
// values (quantile.h's definition), merged where equal, and the shares of every value. No
// present value: no edges, one empty bin, missing share 1. kInvalidArgument for no values
// or bins < 2.
Result<BinnedDistribution> QuantileBins(std::span<const double> values, int bins);

// PSI of shares against expected ones (same length; each list sums to 1 or is all 0).
double Psi(std::span<const double> expected, std::span<const double> actual);

// PSI of counted values against a reference: counts has reference.bins() entries for the
// present values and one more (the last) for missing ones. NaN when there is no count.
double PsiOfCounts(const BinnedDistribution& reference, std::span<const std::uint64_t> counts);

}  // namespace csml
