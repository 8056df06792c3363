// The reference profile of a model version: how its training rows were distributed, binned
// once by `csml train` and stored in meta.json (`reference_profile`, docs/REGISTRY.md), and the
// drift (PSI, drift.h) of a later sample of scored rows against it (docs/MONITORING.md).
//
// Per contract feature (features/schema.h): each numeric feature's quantile bins (10 bins plus
// missing) and region's category shares (IN, SG, US, EU, other, missing); the same bins for
// the served risk (the calibrated probability). A sample is counted into DriftCounts, one
// cell per feature and row, and DriftOf turns counts into PSI and missing shares.
//
// The cell layout (DriftLayout) is fixed by the profile, so counters kept elsewhere (the
// server's per-thread windows) can count cells with plain integers and merge them by adding.
// Plain values and functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/evaluation/drift.h"
#include "csml/features/schema.h"

namespace csml {

inline constexpr int kProfileBins = 10;
// Region's categories in the profile, in this order: the known regions, then "other" (any
// other text) and "missing" (null or absent); RegionName() spells them.
inline constexpr std::size_t kNumRegionCategories = kNumKnownRegions + 2;

struct ReferenceProfile {
  std::uint64_t rows = 0;       // the training rows the features were binned from
  std::uint64_t risk_rows = 0;  // the rows the risk was binned from (validation rows)
  int bins = kProfileBins;      // the number of bins asked for (ties merge, drift.h)
  // Indexed by NumericFeature.
  std::array<BinnedDistribution, kNumNumericFeatures> numeric;
  // Indexed by Region (kMissing last); sums to 1.
  std::array<double, kNumRegionCategories> region{};
  BinnedDistribution risk;

  bool operator==(const ReferenceProfile&) const = default;
};

// The profile of training rows: numeric[f] holds feature f's value per row (NaN = missing),
// regions one region per row (the same rows), risk the served risk of the rows it is
// binned from (may be other rows, e.g. the held-out validation rows). kInvalidArgument when
// there are no rows, no risks, or the columns differ in length.
Result<ReferenceProfile> BuildReferenceProfile(
    const std::array<std::vector<double>, kNumNumericFeatures>& numeric,
    std::span<const Region> regions, std::span<const double> risk, int bins = kProfileBins);

// Where each feature's cells sit in a flat count array: numeric feature f has
// numeric_cells[f] cells from numeric_offset[f] (its present bins, then missing), region
// kNumRegionCategories cells from region_offset, the risk risk_cells cells (present bins,
// then missing) from risk_offset; cells() in all.
struct DriftLayout {
  std::array<std::size_t, kNumNumericFeatures> numeric_offset{};
  std::array<std::size_t, kNumNumericFeatures> numeric_cells{};
  std::size_t region_offset = 0;
  std::size_t risk_offset = 0;
  std::size_t risk_cells = 0;
  std::size_t total = 0;

  explicit DriftLayout(const ReferenceProfile& profile);
  std::size_t cells() const { return total; }
};

// The cells one scored row falls in: one per numeric feature, then region, then the risk.
inline constexpr std::size_t kCellsPerRow = kNumNumericFeatures + 2;
using RowCells = std::array<std::uint32_t, kCellsPerRow>;
RowCells CellsOf(const ReferenceProfile& profile, const DriftLayout& layout,
                 const RawFeatures& features, double risk);

// Counts of a sample's rows in a profile's cells. Not thread-safe (one per thread, Merge).
class DriftCounts {
 public:
  explicit DriftCounts(const ReferenceProfile& profile);

  void Add(const RawFeatures& features, double risk);
  // Adds another count of the same profile (kInvalidArgument for another layout).
  [[nodiscard]] Status Merge(const DriftCounts& other);

  std::uint64_t rows() const { return rows_; }
  std::span<const std::uint64_t> cells() const { return cells_; }
  const ReferenceProfile& profile() const { return *profile_; }
  const DriftLayout& layout() const { return layout_; }

 private:
  const ReferenceProfile* profile_;  // outlives the counts
  DriftLayout layout_;
  std::vector<std::uint64_t> cells_;
  std::uint64_t rows_ = 0;
};

struct FeatureDrift {
  std::string_view name;         // the contract name: "usage_score", ..., "region"
  double psi = 0;                // NaN when the sample has no rows
  double missing_share = 0;      // of the sample; NaN when it has no rows
  double reference_missing = 0;  // of the training rows
};

struct DriftFigures {
  std::uint64_t rows = 0;
  // The numeric features in schema order, then region.
  std::array<FeatureDrift, kNumNumericFeatures + 1> features;
  double risk_psi = 0;  // NaN when the sample has no rows
};

// PSI and missing shares of counted cells (layout.cells() counts, rows the number of rows
// counted; an empty or mis-sized count gives NaN figures).
DriftFigures DriftOfCells(const ReferenceProfile& profile, const DriftLayout& layout,
                          std::span<const std::uint64_t> cells, std::uint64_t rows);
DriftFigures DriftOf(const DriftCounts& counts);
// The drift of a batch: one risk per row.
DriftFigures DriftOf(const ReferenceProfile& profile, std::span<const RawFeatures> rows,
                     std::span<const double> risk);

}  // namespace csml
