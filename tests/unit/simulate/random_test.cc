#include "csml/simulate/random.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

// Reference outputs computed with an independent Python transcription of the published
// algorithms (splitmix64 seeded with 0 starts with 0xe220a8397b1dcdaf, as in Vigna's page).
TEST(SplitMix64, MatchesTheReferenceSequence) {
  SplitMix64 mix(0);
  EXPECT_EQ(mix.Next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(mix.Next(), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(mix.Next(), 0x06c45d188009454full);
}

TEST(Rng, MatchesTheReferenceXoshiro256StarStarSequence) {
  Rng rng(42);
  EXPECT_EQ(rng.Next(), 0x15780b2e0c2ec716ull);
  EXPECT_EQ(rng.Next(), 0x6104d9866d113a7eull);
  EXPECT_EQ(rng.Next(), 0xae17533239e499a1ull);
}

struct Moments {
  double mean = 0;
  double variance = 0;
};

template <typename Draw>
Moments Sample(int n, Draw draw) {
  double sum = 0;
  double sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = draw();
    sum += x;
    sum_sq += x * x;
  }
  Moments m;
  m.mean = sum / n;
  m.variance = sum_sq / n - m.mean * m.mean;
  return m;
}

TEST(Rng, UniformStaysInTheUnitIntervalWithTheRightMoments) {
  Rng rng(7);
  double lo = 1;
  double hi = 0;
  const Moments m = Sample(200000, [&] {
    const double u = rng.Uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    return u;
  });
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_NEAR(m.mean, 0.5, 0.005);
  EXPECT_NEAR(m.variance, 1.0 / 12, 0.002);
}

TEST(Rng, NormalHasMeanZeroAndUnitVariance) {
  Rng rng(8);
  const Moments m = Sample(200000, [&] { return rng.Normal(); });
  EXPECT_NEAR(m.mean, 0.0, 0.01);
  EXPECT_NEAR(m.variance, 1.0, 0.02);
  const Moments shifted = Sample(100000, [&] { return rng.Normal(3.0, 0.5); });
  EXPECT_NEAR(shifted.mean, 3.0, 0.01);
  EXPECT_NEAR(shifted.variance, 0.25, 0.01);
}

class PoissonMoments : public ::testing::TestWithParam<double> {};

TEST_P(PoissonMoments, MeanAndVarianceEqualLambda) {
  const double lambda = GetParam();
  Rng rng(9);
  const Moments m = Sample(100000, [&] {
    const std::int64_t k = rng.Poisson(lambda);
    EXPECT_GE(k, 0);
    return static_cast<double>(k);
  });
  EXPECT_NEAR(m.mean, lambda, 0.02 * lambda + 0.01);
  EXPECT_NEAR(m.variance, lambda, 0.05 * lambda + 0.01);
}

INSTANTIATE_TEST_SUITE_P(Lambdas, PoissonMoments, ::testing::Values(0.03, 0.5, 5.0, 29.0, 80.0));

TEST(Rng, PoissonOfNothingIsZero) {
  Rng rng(1);
  EXPECT_EQ(rng.Poisson(0.0), 0);
  EXPECT_EQ(rng.Poisson(-3.0), 0);
  EXPECT_EQ(rng.Poisson(std::nan("")), 0);
}

TEST(Rng, BernoulliHonorsItsProbability) {
  Rng rng(10);
  int hits = 0;
  for (int i = 0; i < 100000; ++i) {
    EXPECT_FALSE(rng.Bernoulli(0.0));
    EXPECT_TRUE(rng.Bernoulli(1.0));
    hits += rng.Bernoulli(0.12) ? 1 : 0;
  }
  EXPECT_NEAR(hits / 100000.0, 0.12, 0.005);
}

TEST(Rng, BelowCoversEveryValueEvenly) {
  Rng rng(11);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const std::uint32_t k = rng.Below(7);
    ASSERT_LT(k, 7u);
    ++counts[k];
  }
  for (const int c : counts) EXPECT_NEAR(c, 10000, 400);
  EXPECT_EQ(rng.Below(1), 0u);
}

TEST(Rng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Rng a(123);
  Rng b(123);
  Rng c(124);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differ += x != c.Next() ? 1 : 0;
  }
  EXPECT_EQ(differ, 100);
}

}  // namespace
}  // namespace csml
