#include "csml/evaluation/drift.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(DriftTest, QuantileBinsSplitEvenlyAndCountMissingApart) {
  std::vector<double> values;
  for (int i = 1; i <= 100; ++i) values.push_back(i);
  for (int i = 0; i < 25; ++i) values.push_back(kNaN);
  Result<BinnedDistribution> bins = QuantileBins(values, 10);
  ASSERT_TRUE(bins) << bins.error().message;
  ASSERT_EQ(bins->edges.size(), 9u);
  EXPECT_DOUBLE_EQ(bins->edges[0], 10.9);  // type-7 quantile of 1..100 at 0.1
  EXPECT_DOUBLE_EQ(bins->missing_share, 0.2);
  double total = bins->missing_share;
  for (const double s : bins->shares) {
    EXPECT_NEAR(s, 0.08, 1e-12);
    total += s;
  }
  EXPECT_DOUBLE_EQ(total, 1.0);
  EXPECT_EQ(bins->BinOf(1), 0u);
  EXPECT_EQ(bins->BinOf(10.9), 0u) << "an edge belongs to the bin below it";
  EXPECT_EQ(bins->BinOf(11), 1u);
  EXPECT_EQ(bins->BinOf(1e9), 9u);
}

TEST(DriftTest, EqualEdgesMergeSoAMostlyZeroFeatureHasTwoBins) {
  std::vector<double> values(95, 0.0);
  values.insert(values.end(), 5, 3.0);
  Result<BinnedDistribution> bins = QuantileBins(values, 10);
  ASSERT_TRUE(bins);
  EXPECT_EQ(bins->edges, std::vector<double>{0.0});
  EXPECT_EQ(bins->shares, (std::vector<double>{0.95, 0.05}));
  Result<BinnedDistribution> constant = QuantileBins(std::vector<double>(10, 7.0), 10);
  ASSERT_TRUE(constant);
  EXPECT_TRUE(constant->edges.empty());
  EXPECT_EQ(constant->shares, std::vector<double>{1.0});
  Result<BinnedDistribution> none = QuantileBins(std::vector<double>(4, kNaN), 10);
  ASSERT_TRUE(none);
  EXPECT_DOUBLE_EQ(none->missing_share, 1.0);
  EXPECT_FALSE(QuantileBins({}, 10));
}

TEST(DriftTest, PsiIsZeroForTheSameSharesAndGrowsWithTheShift) {
  Result<BinnedDistribution> ref =
      QuantileBins(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10);
  ASSERT_TRUE(ref);
  ASSERT_EQ(ref->bins(), 10u);
  std::vector<std::uint64_t> same(11, 10);
  same.back() = 0;
  EXPECT_NEAR(PsiOfCounts(*ref, same), 0.0, 1e-12);
  // Everything in the top bin: a large shift.
  std::vector<std::uint64_t> shifted(11, 0);
  shifted[9] = 100;
  EXPECT_GT(PsiOfCounts(*ref, shifted), 1.0);
  // Hand computed: expected (0.5, 0.5), actual (0.6, 0.4).
  EXPECT_NEAR(Psi(std::vector<double>{0.5, 0.5}, std::vector<double>{0.6, 0.4}),
              0.1 * std::log(1.2) - 0.1 * std::log(0.8), 1e-12);
  EXPECT_TRUE(std::isnan(PsiOfCounts(*ref, std::vector<std::uint64_t>(11, 0))));
  EXPECT_TRUE(std::isnan(PsiOfCounts(*ref, std::vector<std::uint64_t>(3, 1))));
}

}  // namespace
}  // namespace csml
