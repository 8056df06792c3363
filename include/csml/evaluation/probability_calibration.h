// Post-hoc probability calibration: the step after the model's sigmoid that turns its
// probability into the risk csml serves, so that `risk` is the probability of churn.
//
//   risk = calibration.Apply(sigmoid(margin))
//
// The model (and its parity with XGBoost / LightGBM) is untouched: calibration is a separate,
// monotone (non-decreasing) map from [0, 1] to [0, 1], one of
//   none      the identity (older versions, imported models, or when calibrating does not help)
//   platt     sigmoid(slope * logit(p) + intercept), slope > 0
//   isotonic  a non-decreasing piecewise-linear map through knots (x_i, y_i) fitted by
//             pool-adjacent-violators; flat below the first knot and above the last
//
// Fitted by `csml train` on out-of-fold predictions and chosen by cross-fitted log loss
// (ChooseCalibration); stored in meta.json (docs/REGISTRY.md) and applied by ServingModel,
// so /score, /score/batch, `csml predict` and `csml test` all apply the same map.
//
// A Calibration is an immutable value; Apply() does not allocate and is safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "csml/core/error.h"

namespace csml {

enum class CalibrationMethod { kNone, kPlatt, kIsotonic };

// "none", "platt", "isotonic".
std::string_view CalibrationMethodName(CalibrationMethod method);
std::optional<CalibrationMethod> ParseCalibrationMethod(std::string_view name);

class Calibration {
 public:
  // An isotonic map has at most this many knots (meta.json stays small).
  static constexpr std::size_t kMaxKnots = 1000;

  Calibration() = default;  // none: the identity

  // slope > 0 and both finite; kInvalidArgument otherwise.
  static Result<Calibration> Platt(double slope, double intercept);
  // 1 to kMaxKnots knots, x strictly increasing in [0, 1], y non-decreasing in [0, 1].
  static Result<Calibration> Isotonic(std::vector<double> x, std::vector<double> y);

  // The calibrated probability of a model probability p in [0, 1] (clamped into it first).
  double Apply(double p) const;

  CalibrationMethod method() const { return method_; }
  bool is_none() const { return method_ == CalibrationMethod::kNone; }
  double slope() const { return slope_; }
  double intercept() const { return intercept_; }
  const std::vector<double>& knots_x() const { return x_; }
  const std::vector<double>& knots_y() const { return y_; }

  bool operator==(const Calibration&) const = default;

 private:
  CalibrationMethod method_ = CalibrationMethod::kNone;
  double slope_ = 1.0;
  double intercept_ = 0.0;
  std::vector<double> x_;
  std::vector<double> y_;
};

// Platt scaling by Newton's method on logit(p), with Platt's smoothed targets. kValidation
// when the labels hold one class or the fit is not increasing (slope <= 0).
Result<Calibration> FitPlatt(std::span<const double> probabilities, std::span<const float> labels);

// Isotonic regression (pool adjacent violators) of the labels on p, with the sorted
// predictions first pooled into at most kMaxKnots groups of equal size; fitted values are
// kept inside [1e-4, 1 - 1e-4] so a log loss stays finite. kValidation with one class.
Result<Calibration> FitIsotonic(std::span<const double> probabilities,
                                std::span<const float> labels);

struct CalibrationChoiceOptions {
  int folds = 5;  // contiguous blocks of the rows as given (time order), 2..20
  // A method is chosen only when its cross-fitted log loss beats none's by at least this
  // fraction of none's (so "none" wins ties and noise).
  double min_relative_gain = 0.002;
  // Fit this method whatever the log losses say (they are still computed); empty = choose.
  std::optional<CalibrationMethod> force;

  [[nodiscard]] Status Validate() const;
};

struct CalibrationChoice {
  Calibration calibration;  // the chosen method fitted on every row
  // Log loss of each method on rows it was not fitted on (cross-fitting over the blocks).
  double logloss_none = 0;
  double logloss_platt = 0;     // NaN when Platt could not be fitted
  double logloss_isotonic = 0;  // NaN when isotonic could not be fitted
  // The chosen method's cross-fitted predictions, one per row (the identity's for none):
  // an honest "after calibration" for reliability tables.
  std::vector<double> cross_fitted;
};

// Fits none, Platt and isotonic on out-of-fold `probabilities` (rows in time order), scores
// each by cross-fitted log loss and keeps the best (none unless another is clearly better).
// Errors: kInvalidArgument for bad options or sizes; kValidation with one class.
Result<CalibrationChoice> ChooseCalibration(std::span<const double> probabilities,
                                            std::span<const float> labels,
                                            const CalibrationChoiceOptions& options = {});

// Apply() over a span, into out (same size).
void ApplyCalibration(const Calibration& calibration, std::span<const double> probabilities,
                      std::span<double> out);

}  // namespace csml
