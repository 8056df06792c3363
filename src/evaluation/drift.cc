#include "csml/evaluation/drift.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "csml/evaluation/quantile.h"

namespace csml {

std::size_t BinnedDistribution::BinOf(double x) const {
  return static_cast<std::size_t>(std::lower_bound(edges.begin(), edges.end(), x) - edges.begin());
}

Result<BinnedDistribution> QuantileBins(std::span<const double> values, int bins) {
  if (values.empty() || bins < 2) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("quantile bins: expected values and at least 2 bins, got {} "
                                 "values and {} bins",
                                 values.size(), bins));
  }
  std::vector<double> present;
  present.reserve(values.size());
  for (const double v : values) {
    if (!std::isnan(v)) present.push_back(v);
  }
  BinnedDistribution out;
  const auto total = static_cast<double>(values.size());
  out.missing_share = static_cast<double>(values.size() - present.size()) / total;
  if (!present.empty()) {
    std::vector<double> qs;
    for (int i = 1; i < bins; ++i) qs.push_back(static_cast<double>(i) / bins);
    CSML_ASSIGN_OR_RETURN(std::vector<double> edges, Quantiles(present, qs));
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    // An edge at the maximum would leave the last bin empty by definition.
    while (!edges.empty() && edges.back() >= *std::max_element(present.begin(), present.end())) {
      edges.pop_back();
    }
    out.edges = std::move(edges);
  }
  std::vector<std::uint64_t> counts(out.bins(), 0);
  for (const double v : present) ++counts[out.BinOf(v)];
  out.shares.resize(out.bins());
  for (std::size_t b = 0; b < counts.size(); ++b) {
    out.shares[b] = static_cast<double>(counts[b]) / total;
  }
  return out;
}

double Psi(std::span<const double> expected, std::span<const double> actual) {
  double psi = 0;
  const std::size_t n = std::min(expected.size(), actual.size());
  for (std::size_t i = 0; i < n; ++i) {
    const double e = std::max(expected[i], kPsiShareFloor);
    const double a = std::max(actual[i], kPsiShareFloor);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

double PsiOfCounts(const BinnedDistribution& reference, std::span<const std::uint64_t> counts) {
  if (counts.size() != reference.bins() + 1) return std::numeric_limits<double>::quiet_NaN();
  std::uint64_t total = 0;
  for (const std::uint64_t c : counts) total += c;
  if (total == 0) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> expected(reference.shares);
  expected.push_back(reference.missing_share);
  std::vector<double> actual(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    actual[i] = static_cast<double>(counts[i]) / static_cast<double>(total);
  }
  return Psi(expected, actual);
}

}  // namespace csml
