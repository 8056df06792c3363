#include "csml/evaluation/probability_calibration.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

double Logit(double p) { return std::log(p / (1 - p)); }
double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// Model probabilities p spread over (0, 1) and labels drawn with P(y = 1) = truth(p).
struct Sample {
  std::vector<double> p;
  std::vector<float> labels;
};

template <typename Truth>
Sample Draw(std::size_t n, std::uint64_t seed, Truth truth) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> z(-4.0, 2.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Sample s;
  for (std::size_t i = 0; i < n; ++i) {
    const double p = Sigmoid(z(rng));
    s.p.push_back(p);
    s.labels.push_back(u(rng) < truth(p) ? 1.0f : 0.0f);
  }
  return s;
}

double LogLoss(const std::vector<double>& p, const std::vector<float>& y) {
  double sum = 0;
  for (std::size_t i = 0; i < p.size(); ++i) sum -= y[i] == 1 ? std::log(p[i]) : std::log(1 - p[i]);
  return sum / static_cast<double>(p.size());
}

TEST(CalibrationTest, NoneIsTheIdentityAndClampsIntoTheUnitInterval) {
  const Calibration none;
  EXPECT_TRUE(none.is_none());
  EXPECT_EQ(none.Apply(0.25), 0.25);
  EXPECT_EQ(none.Apply(-1.0), 0.0);
  EXPECT_EQ(none.Apply(2.0), 1.0);
  EXPECT_EQ(none.Apply(std::nan("")), 0.0);
}

TEST(CalibrationTest, PlattIsTheSigmoidOfTheScaledLogit) {
  const auto c = Calibration::Platt(2.0, -0.5);
  ASSERT_TRUE(c.has_value());
  EXPECT_NEAR(c->Apply(0.3), Sigmoid(2.0 * Logit(0.3) - 0.5), 1e-12);
  EXPECT_FALSE(Calibration::Platt(0.0, 0.0).has_value());
  EXPECT_FALSE(Calibration::Platt(-1.0, 0.0).has_value());
  EXPECT_FALSE(Calibration::Platt(1.0, std::nan("")).has_value());
}

TEST(CalibrationTest, IsotonicInterpolatesBetweenKnotsAndIsFlatOutside) {
  const auto c = Calibration::Isotonic({0.2, 0.6}, {0.1, 0.5});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->Apply(0.0), 0.1);
  EXPECT_EQ(c->Apply(0.9), 0.5);
  EXPECT_NEAR(c->Apply(0.4), 0.3, 1e-12);
  EXPECT_FALSE(Calibration::Isotonic({0.5, 0.5}, {0.1, 0.2}).has_value());  // x not increasing
  EXPECT_FALSE(Calibration::Isotonic({0.2, 0.5}, {0.3, 0.2}).has_value());  // y decreasing
  EXPECT_FALSE(Calibration::Isotonic({0.2}, {0.3, 0.4}).has_value());
  EXPECT_FALSE(Calibration::Isotonic({}, {}).has_value());
}

TEST(CalibrationTest, PlattRecoversTheDistortionOfAnOverconfidentModel) {
  // The truth is sigmoid(0.5 * logit(p) + 0.3): the model is too sure of itself.
  const Sample s = Draw(20000, 7, [](double p) { return Sigmoid(0.5 * Logit(p) + 0.3); });
  const auto c = FitPlatt(s.p, s.labels);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_NEAR(c->slope(), 0.5, 0.05);
  EXPECT_NEAR(c->intercept(), 0.3, 0.08);
}

TEST(CalibrationTest, IsotonicIsMonotoneBoundedAndBeatsTheRawProbabilities) {
  const Sample s = Draw(5000, 11, [](double p) { return p < 0.3 ? p / 3 : 0.1 + 0.9 * p; });
  const auto c = FitIsotonic(s.p, s.labels);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_LE(c->knots_x().size(), Calibration::kMaxKnots);
  double previous = -1;
  std::vector<double> calibrated;
  for (int i = 0; i <= 1000; ++i) {
    const double v = c->Apply(i / 1000.0);
    EXPECT_GE(v, previous);
    EXPECT_GT(v, 0.0);
    EXPECT_LT(v, 1.0);
    previous = v;
  }
  for (double p : s.p) calibrated.push_back(c->Apply(p));
  EXPECT_LT(LogLoss(calibrated, s.labels), LogLoss(s.p, s.labels));
}

TEST(CalibrationTest, ChoosesNoneForProbabilitiesThatAreAlreadyCalibrated) {
  const Sample s = Draw(6000, 3, [](double p) { return p; });
  const auto choice = ChooseCalibration(s.p, s.labels);
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  EXPECT_TRUE(choice->calibration.is_none());
  EXPECT_EQ(choice->cross_fitted, s.p);
  EXPECT_TRUE(std::isfinite(choice->logloss_platt));
  EXPECT_TRUE(std::isfinite(choice->logloss_isotonic));
}

TEST(CalibrationTest, ChoosesAMapThatLowersTheCrossFittedLogLossOfADistortedModel) {
  const Sample s = Draw(6000, 5, [](double p) { return Sigmoid(0.4 * Logit(p) - 0.2); });
  const auto choice = ChooseCalibration(s.p, s.labels);
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  EXPECT_FALSE(choice->calibration.is_none());
  ASSERT_EQ(choice->cross_fitted.size(), s.p.size());
  EXPECT_LT(LogLoss(choice->cross_fitted, s.labels), choice->logloss_none * 0.98);
  const double chosen = choice->calibration.method() == CalibrationMethod::kPlatt
                            ? choice->logloss_platt
                            : choice->logloss_isotonic;
  EXPECT_NEAR(LogLoss(choice->cross_fitted, s.labels), chosen, 1e-9);
}

TEST(CalibrationTest, AForcedMethodIsFittedWhateverTheLogLossSays) {
  const Sample s = Draw(3000, 9, [](double p) { return p; });
  CalibrationChoiceOptions options;
  options.force = CalibrationMethod::kIsotonic;
  const auto choice = ChooseCalibration(s.p, s.labels, options);
  ASSERT_TRUE(choice.has_value()) << choice.error().message;
  EXPECT_EQ(choice->calibration.method(), CalibrationMethod::kIsotonic);
}

TEST(CalibrationTest, RefusesOneClassAndMismatchedSizes) {
  const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
  EXPECT_EQ(FitPlatt(p, std::vector<float>{0, 0, 0, 0}).error().code, ErrorCode::kValidation);
  EXPECT_EQ(FitIsotonic(p, std::vector<float>{0, 1}).error().code, ErrorCode::kInvalidArgument);
}

TEST(CalibrationTest, MethodNamesRoundTrip) {
  for (CalibrationMethod m :
       {CalibrationMethod::kNone, CalibrationMethod::kPlatt, CalibrationMethod::kIsotonic}) {
    EXPECT_EQ(ParseCalibrationMethod(CalibrationMethodName(m)), m);
  }
  EXPECT_FALSE(ParseCalibrationMethod("beta").has_value());
}

}  // namespace
}  // namespace csml
