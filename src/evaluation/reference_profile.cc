#include "csml/evaluation/reference_profile.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace csml {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::uint32_t BinCell(const BinnedDistribution& d, std::size_t offset, double x) {
  const std::size_t bin = std::isnan(x) ? d.bins() : d.BinOf(x);
  return static_cast<std::uint32_t>(offset + bin);
}

}  // namespace

Result<ReferenceProfile> BuildReferenceProfile(
    const std::array<std::vector<double>, kNumNumericFeatures>& numeric,
    std::span<const Region> regions, std::span<const double> risk, int bins) {
  if (regions.empty() || risk.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("reference profile: expected rows and risks, got {} rows and "
                                 "{} risks",
                                 regions.size(), risk.size()));
  }
  ReferenceProfile out;
  out.rows = regions.size();
  out.risk_rows = risk.size();
  out.bins = bins;
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    if (numeric[f].size() != regions.size()) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("reference profile: expected {} values of {}, got {}", regions.size(),
                      SpecOf(static_cast<NumericFeature>(f)).name, numeric[f].size()));
    }
    CSML_ASSIGN_OR_RETURN(out.numeric[f], QuantileBins(numeric[f], bins));
  }
  std::array<std::uint64_t, kNumRegionCategories> region_counts{};
  for (const Region r : regions) ++region_counts[static_cast<std::size_t>(r)];
  for (std::size_t c = 0; c < kNumRegionCategories; ++c) {
    out.region[c] = static_cast<double>(region_counts[c]) / static_cast<double>(regions.size());
  }
  CSML_ASSIGN_OR_RETURN(out.risk, QuantileBins(risk, bins));
  return out;
}

DriftLayout::DriftLayout(const ReferenceProfile& profile) {
  std::size_t at = 0;
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    numeric_offset[f] = at;
    numeric_cells[f] = profile.numeric[f].bins() + 1;
    at += numeric_cells[f];
  }
  region_offset = at;
  at += kNumRegionCategories;
  risk_offset = at;
  risk_cells = profile.risk.bins() + 1;
  at += risk_cells;
  total = at;
}

RowCells CellsOf(const ReferenceProfile& profile, const DriftLayout& layout,
                 const RawFeatures& features, double risk) {
  RowCells out{};
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    out[f] = BinCell(profile.numeric[f], layout.numeric_offset[f], features.numeric[f]);
  }
  out[kNumNumericFeatures] =
      static_cast<std::uint32_t>(layout.region_offset + static_cast<std::size_t>(features.region));
  out[kNumNumericFeatures + 1] = BinCell(profile.risk, layout.risk_offset, risk);
  return out;
}

DriftCounts::DriftCounts(const ReferenceProfile& profile)
    : profile_(&profile), layout_(profile), cells_(layout_.cells(), 0) {}

void DriftCounts::Add(const RawFeatures& features, double risk) {
  for (const std::uint32_t cell : CellsOf(*profile_, layout_, features, risk)) ++cells_[cell];
  ++rows_;
}

Status DriftCounts::Merge(const DriftCounts& other) {
  if (other.cells_.size() != cells_.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("drift counts: expected {} cells to merge, got {}", cells_.size(),
                                 other.cells_.size()));
  }
  for (std::size_t i = 0; i < cells_.size(); ++i) cells_[i] += other.cells_[i];
  rows_ += other.rows_;
  return {};
}

DriftFigures DriftOfCells(const ReferenceProfile& profile, const DriftLayout& layout,
                          std::span<const std::uint64_t> cells, std::uint64_t rows) {
  DriftFigures out;
  out.rows = rows;
  const bool usable = rows > 0 && cells.size() == layout.cells();
  const auto missing_of = [&](std::size_t cell) {
    return usable ? static_cast<double>(cells[cell]) / static_cast<double>(rows) : kNaN;
  };
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    FeatureDrift& d = out.features[f];
    d.name = SpecOf(static_cast<NumericFeature>(f)).name;
    d.reference_missing = profile.numeric[f].missing_share;
    d.psi = usable ? PsiOfCounts(profile.numeric[f],
                                 cells.subspan(layout.numeric_offset[f], layout.numeric_cells[f]))
                   : kNaN;
    d.missing_share = missing_of(layout.numeric_offset[f] + layout.numeric_cells[f] - 1);
  }
  FeatureDrift& region = out.features[kNumNumericFeatures];
  region.name = kRegionFeatureName;
  region.reference_missing = profile.region[static_cast<std::size_t>(Region::kMissing)];
  region.missing_share =
      missing_of(layout.region_offset + static_cast<std::size_t>(Region::kMissing));
  region.psi = kNaN;
  if (usable) {
    std::array<double, kNumRegionCategories> actual{};
    for (std::size_t c = 0; c < kNumRegionCategories; ++c) {
      actual[c] = static_cast<double>(cells[layout.region_offset + c]) / static_cast<double>(rows);
    }
    region.psi = Psi(profile.region, actual);
  }
  out.risk_psi =
      usable ? PsiOfCounts(profile.risk, cells.subspan(layout.risk_offset, layout.risk_cells))
             : kNaN;
  return out;
}

DriftFigures DriftOf(const DriftCounts& counts) {
  return DriftOfCells(counts.profile(), counts.layout(), counts.cells(), counts.rows());
}

DriftFigures DriftOf(const ReferenceProfile& profile, std::span<const RawFeatures> rows,
                     std::span<const double> risk) {
  DriftCounts counts(profile);
  const std::size_t n = std::min(rows.size(), risk.size());
  for (std::size_t i = 0; i < n; ++i) counts.Add(rows[i], risk[i]);
  return DriftOf(counts);
}

}  // namespace csml
