#include "csml/evaluation/reference_profile.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Sample {
  std::vector<RawFeatures> rows;
  std::vector<double> risk;
};

// Rows like a customer base: usage_score uniform in [0, shift + 1) clipped to 1, some missing
// values, regions mostly IN and US.
Sample MakeSample(std::size_t n, std::uint32_t seed, double usage_shift = 0,
                  double missing = 0.02) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Sample s;
  for (std::size_t i = 0; i < n; ++i) {
    RawFeatures f;
    for (std::size_t k = 0; k < kNumNumericFeatures; ++k) {
      f.numeric[k] = u(rng) < missing ? kNaN : std::floor(u(rng) * 30);
    }
    const double usage = std::min(1.0, u(rng) * (1 - usage_shift) + usage_shift);
    f.Set(NumericFeature::kUsageScore, u(rng) < missing ? kNaN : usage);
    const double r = u(rng);
    f.region = r < 0.5    ? Region::kIN
               : r < 0.8  ? Region::kUS
               : r < 0.95 ? Region::kEU
                          : Region::kMissing;
    s.rows.push_back(f);
    s.risk.push_back(u(rng) * u(rng));
  }
  return s;
}

ReferenceProfile ProfileOf(const Sample& s) {
  std::array<std::vector<double>, kNumNumericFeatures> numeric;
  std::vector<Region> regions;
  for (const RawFeatures& f : s.rows) {
    for (std::size_t k = 0; k < kNumNumericFeatures; ++k) numeric[k].push_back(f.numeric[k]);
    regions.push_back(f.region);
  }
  return BuildReferenceProfile(numeric, regions, s.risk).value();
}

TEST(ReferenceProfile, BinsEveryFeatureRegionAndTheRisk) {
  const Sample s = MakeSample(20000, 1);
  const ReferenceProfile p = ProfileOf(s);
  EXPECT_EQ(p.rows, 20000u);
  EXPECT_EQ(p.risk_rows, 20000u);
  EXPECT_EQ(p.bins, kProfileBins);
  const BinnedDistribution& usage =
      p.numeric[static_cast<std::size_t>(NumericFeature::kUsageScore)];
  EXPECT_EQ(usage.edges.size(), 9u);
  EXPECT_NEAR(usage.missing_share, 0.02, 0.005);
  for (const double share : usage.shares) EXPECT_NEAR(share, 0.098, 0.003);
  EXPECT_NEAR(p.region[static_cast<std::size_t>(Region::kIN)], 0.5, 0.02);
  EXPECT_EQ(p.region[static_cast<std::size_t>(Region::kSG)], 0.0);
  EXPECT_NEAR(p.region[static_cast<std::size_t>(Region::kMissing)], 0.05, 0.01);
  EXPECT_EQ(p.risk.edges.size(), 9u);
  EXPECT_EQ(p.risk.missing_share, 0.0);
}

TEST(ReferenceProfile, RefusesNoRowsOrColumnsOfDifferentLengths) {
  std::array<std::vector<double>, kNumNumericFeatures> numeric;
  EXPECT_FALSE(BuildReferenceProfile(numeric, {}, std::vector<double>{0.5}).has_value());
  const std::vector<Region> regions = {Region::kIN, Region::kUS};
  for (auto& column : numeric) column = {1, 2};
  numeric[3] = {1};
  auto bad = BuildReferenceProfile(numeric, regions, std::vector<double>{0.5});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("failed_renewals_30d"), std::string::npos)
      << bad.error().message;
}

TEST(ReferenceProfile, ASampleLikeTheTrainingRowsHasNoDrift) {
  const ReferenceProfile p = ProfileOf(MakeSample(20000, 1));
  const Sample later = MakeSample(10000, 2);
  const DriftFigures d = DriftOf(p, later.rows, later.risk);
  EXPECT_EQ(d.rows, 10000u);
  for (const FeatureDrift& f : d.features) {
    EXPECT_LT(f.psi, 0.1) << f.name;
    EXPECT_NEAR(f.missing_share, f.reference_missing, 0.01) << f.name;
  }
  EXPECT_EQ(d.features[kNumNumericFeatures].name, "region");
  EXPECT_LT(d.risk_psi, 0.1);
}

TEST(ReferenceProfile, AShiftedFeatureAndMoreMissingValuesRaiseItsPsiOnly) {
  const ReferenceProfile p = ProfileOf(MakeSample(20000, 1));
  Sample later = MakeSample(10000, 3, /*usage_shift=*/0.4);
  for (std::size_t i = 0; i < later.rows.size(); i += 5) {
    later.rows[i].Set(NumericFeature::kTickets7d, kNaN);
  }
  const DriftFigures d = DriftOf(p, later.rows, later.risk);
  const auto usage = static_cast<std::size_t>(NumericFeature::kUsageScore);
  const auto tickets = static_cast<std::size_t>(NumericFeature::kTickets7d);
  EXPECT_EQ(d.features[usage].name, "usage_score");
  EXPECT_GT(d.features[usage].psi, kPsiAlarm);
  EXPECT_GT(d.features[tickets].psi, kPsiAlarm);
  EXPECT_NEAR(d.features[tickets].missing_share, 0.2 + 0.8 * 0.02, 0.01);
  for (std::size_t f = 0; f < d.features.size(); ++f) {
    if (f != usage && f != tickets) {
      EXPECT_LT(d.features[f].psi, 0.1) << d.features[f].name;
    }
  }
}

TEST(ReferenceProfile, ARegionMixChangeAndARiskShiftShowInTheirPsi) {
  const ReferenceProfile p = ProfileOf(MakeSample(20000, 1));
  Sample later = MakeSample(5000, 4);
  for (std::size_t i = 0; i < later.rows.size(); ++i) {
    if (i % 2 == 0) later.rows[i].region = Region::kSG;  // a region training never saw
    later.risk[i] = std::min(1.0, later.risk[i] + 0.3);
  }
  const DriftFigures d = DriftOf(p, later.rows, later.risk);
  EXPECT_GT(d.features[kNumNumericFeatures].psi, kPsiAlarm);
  EXPECT_GT(d.risk_psi, kPsiAlarm);
}

TEST(ReferenceProfile, CountsMergeToTheCountOfTheWholeBatch) {
  const ReferenceProfile p = ProfileOf(MakeSample(5000, 1));
  const Sample later = MakeSample(3000, 5, 0.2);
  DriftCounts first(p);
  DriftCounts second(p);
  DriftCounts whole(p);
  for (std::size_t i = 0; i < later.rows.size(); ++i) {
    (i % 3 == 0 ? first : second).Add(later.rows[i], later.risk[i]);
    whole.Add(later.rows[i], later.risk[i]);
  }
  ASSERT_TRUE(first.Merge(second).has_value());
  EXPECT_EQ(first.rows(), 3000u);
  EXPECT_TRUE(std::equal(first.cells().begin(), first.cells().end(), whole.cells().begin()));
  const DriftFigures a = DriftOf(first);
  const DriftFigures b = DriftOf(p, later.rows, later.risk);
  for (std::size_t f = 0; f < a.features.size(); ++f) {
    EXPECT_DOUBLE_EQ(a.features[f].psi, b.features[f].psi);
  }
  // Every row lands in exactly one cell per feature.
  std::uint64_t total = 0;
  for (const std::uint64_t c : whole.cells()) total += c;
  EXPECT_EQ(total, 3000u * kCellsPerRow);
}

TEST(ReferenceProfile, CellsOfARowFollowTheLayout) {
  const ReferenceProfile p = ProfileOf(MakeSample(5000, 1));
  const DriftLayout layout(p);
  RawFeatures f;  // everything missing
  const RowCells cells = CellsOf(p, layout, f, kNaN);
  for (std::size_t k = 0; k < kNumNumericFeatures; ++k) {
    EXPECT_EQ(cells[k], layout.numeric_offset[k] + layout.numeric_cells[k] - 1);
  }
  EXPECT_EQ(cells[kNumNumericFeatures],
            layout.region_offset + static_cast<std::size_t>(Region::kMissing));
  EXPECT_EQ(cells[kNumNumericFeatures + 1], layout.risk_offset + layout.risk_cells - 1);
  EXPECT_EQ(layout.cells(), layout.risk_offset + layout.risk_cells);
}

TEST(ReferenceProfile, NoRowsGiveNoFigures) {
  const ReferenceProfile p = ProfileOf(MakeSample(1000, 1));
  const DriftFigures d = DriftOf(DriftCounts(p));
  EXPECT_EQ(d.rows, 0u);
  EXPECT_TRUE(std::isnan(d.features[0].psi));
  EXPECT_TRUE(std::isnan(d.features[0].missing_share));
  EXPECT_TRUE(std::isnan(d.risk_psi));
}

}  // namespace
}  // namespace csml
