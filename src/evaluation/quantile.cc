#include "csml/evaluation/quantile.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace csml {
namespace {

// Type 7 on sorted values.
double SortedQuantile(const std::vector<double>& sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const double lower = std::floor(h);
  const auto i = static_cast<std::size_t>(lower);
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (h - lower) * (sorted[i + 1] - sorted[i]);
}

}  // namespace

Result<std::vector<double>> Quantiles(std::span<const double> values, std::span<const double> qs) {
  if (values.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "quantile: expected at least one value, got none");
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("quantile: value {}: expected a number, got NaN", i));
    }
  }
  for (double q : qs) {
    if (!(q >= 0.0 && q <= 1.0)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("quantile: expected q in [0, 1], got {}", q));
    }
  }
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> out;
  out.reserve(qs.size());
  for (double q : qs) out.push_back(SortedQuantile(sorted, q));
  return out;
}

Result<double> Quantile(std::span<const double> values, double q) {
  const double qs[] = {q};
  CSML_ASSIGN_OR_RETURN(auto out, Quantiles(values, qs));
  return out.front();
}

}  // namespace csml
