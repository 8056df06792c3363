// Sample quantiles, defined once so thresholds, reports and tests agree on the same number.
//
// The definition is linear interpolation between order statistics (Hyndman & Fan type 7, the
// default of numpy.quantile and R): with the values sorted as x[0] <= ... <= x[n-1] and
// h = (n - 1) * q, Quantile(q) = x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]).
// Plain functions; thread-safe.
#pragma once

#include <span>
#include <vector>

#include "csml/core/error.h"

namespace csml {

// The q-quantile of values, q in [0, 1]. kInvalidArgument for no values, a NaN value or a q
// outside [0, 1].
Result<double> Quantile(std::span<const double> values, double q);

// Several quantiles of the same values, sorting them once; one result per q, in order.
Result<std::vector<double>> Quantiles(std::span<const double> values, std::span<const double> qs);

}  // namespace csml
