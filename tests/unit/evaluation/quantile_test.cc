#include "csml/evaluation/quantile.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

struct QuantileCase {
  std::vector<double> values;
  double q;
  double expected;  // numpy.quantile(values, q), the default linear method
};

class QuantileTable : public ::testing::TestWithParam<QuantileCase> {};

TEST_P(QuantileTable, InterpolatesLinearlyBetweenOrderStatistics) {
  const QuantileCase& c = GetParam();
  EXPECT_NEAR(Quantile(c.values, c.q).value(), c.expected, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Numpy, QuantileTable,
                         ::testing::Values(QuantileCase{{1, 2, 3, 4}, 0.7, 3.1},  // h = 2.1
                                           QuantileCase{
                                               {4, 3, 2, 1}, 0.9, 3.7},  // order does not matter
                                           QuantileCase{{1, 2, 3, 4}, 0.0, 1.0},  // the minimum
                                           QuantileCase{{1, 2, 3, 4}, 1.0, 4.0},  // the maximum
                                           QuantileCase{{5}, 0.3, 5.0},           // one value
                                           QuantileCase{{0.1, 0.2, 0.2, 0.9}, 0.5, 0.2},
                                           QuantileCase{{0, 10}, 0.25, 2.5}));

TEST(Quantiles, SortsOnceAndAnswersInTheOrderAsked) {
  const std::vector<double> values = {10, 0, 5};
  const std::vector<double> qs = {0.9, 0.5, 0.0};
  const std::vector<double> out = Quantiles(values, qs).value();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_DOUBLE_EQ(out[0], 9.0);
  EXPECT_DOUBLE_EQ(out[1], 5.0);
  EXPECT_DOUBLE_EQ(out[2], 0.0);
}

TEST(Quantile, RefusesNoValuesNanOrAqOutsideTheUnitInterval) {
  EXPECT_FALSE(Quantile(std::vector<double>{}, 0.5).has_value());
  EXPECT_FALSE(Quantile(std::vector<double>{1, NAN}, 0.5).has_value());
  auto bad_q = Quantile(std::vector<double>{1, 2}, 1.5);
  ASSERT_FALSE(bad_q.has_value());
  EXPECT_NE(bad_q.error().message.find("expected q in [0, 1], got 1.5"), std::string::npos);
}

}  // namespace
}  // namespace csml
