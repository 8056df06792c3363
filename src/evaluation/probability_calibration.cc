#include "csml/evaluation/probability_calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include <fmt/format.h>

namespace csml {
namespace {

constexpr double kProbabilityFloor = 1e-15;
constexpr double kIsotonicFloor = 1e-4;
constexpr int kPlattIterations = 100;

double Clamp01(double p) {
  if (!(p >= 0.0)) return 0.0;  // NaN included
  return p > 1.0 ? 1.0 : p;
}

double Logit(double p) {
  const double q = std::clamp(p, kProbabilityFloor, 1.0 - kProbabilityFloor);
  return std::log(q / (1.0 - q));
}

double Sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

Status CheckInputs(std::span<const double> probabilities, std::span<const float> labels) {
  if (probabilities.size() != labels.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("calibration: expected one label per prediction, got {} "
                                 "predictions and {} labels",
                                 probabilities.size(), labels.size()));
  }
  const auto positives = std::count(labels.begin(), labels.end(), 1.0f);
  if (positives == 0 || static_cast<std::size_t>(positives) == labels.size()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("calibration: expected both labels among {} rows", labels.size()));
  }
  return {};
}

double MeanLogLoss(std::span<const double> p, std::span<const float> labels) {
  double sum = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double q = std::clamp(p[i], kProbabilityFloor, 1.0 - kProbabilityFloor);
    sum -= labels[i] == 1.0f ? std::log(q) : std::log(1.0 - q);
  }
  return sum / static_cast<double>(p.size());
}

using Fitter = Result<Calibration> (*)(std::span<const double>, std::span<const float>);

// Cross-fitted predictions of one method: block k is predicted by the map fitted on the
// other blocks. Error when any fit fails (a block's complement with one class).
Result<std::vector<double>> CrossFit(Fitter fit, std::span<const double> p,
                                     std::span<const float> labels, int folds) {
  const std::size_t n = p.size();
  std::vector<double> out(n);
  std::vector<double> fit_p;
  std::vector<float> fit_labels;
  for (int k = 0; k < folds; ++k) {
    const std::size_t begin = n * static_cast<std::size_t>(k) / static_cast<std::size_t>(folds);
    const std::size_t end = n * static_cast<std::size_t>(k + 1) / static_cast<std::size_t>(folds);
    fit_p.clear();
    fit_labels.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (i >= begin && i < end) continue;
      fit_p.push_back(p[i]);
      fit_labels.push_back(labels[i]);
    }
    CSML_ASSIGN_OR_RETURN(const Calibration c, fit(fit_p, fit_labels));
    for (std::size_t i = begin; i < end; ++i) out[i] = c.Apply(p[i]);
  }
  return out;
}

}  // namespace

std::string_view CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kNone:
      return "none";
    case CalibrationMethod::kPlatt:
      return "platt";
    case CalibrationMethod::kIsotonic:
      return "isotonic";
  }
  return "none";
}

std::optional<CalibrationMethod> ParseCalibrationMethod(std::string_view name) {
  if (name == "none") return CalibrationMethod::kNone;
  if (name == "platt") return CalibrationMethod::kPlatt;
  if (name == "isotonic") return CalibrationMethod::kIsotonic;
  return std::nullopt;
}

Result<Calibration> Calibration::Platt(double slope, double intercept) {
  if (!std::isfinite(slope) || slope <= 0.0 || !std::isfinite(intercept)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("platt calibration: expected a finite slope > 0 and a finite "
                                 "intercept, got slope {} and intercept {}",
                                 slope, intercept));
  }
  Calibration c;
  c.method_ = CalibrationMethod::kPlatt;
  c.slope_ = slope;
  c.intercept_ = intercept;
  return c;
}

Result<Calibration> Calibration::Isotonic(std::vector<double> x, std::vector<double> y) {
  if (x.empty() || x.size() > kMaxKnots || x.size() != y.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("isotonic calibration: expected 1 to {} knots with one y per x, "
                                 "got {} x and {} y",
                                 kMaxKnots, x.size(), y.size()));
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool x_ok = x[i] >= 0.0 && x[i] <= 1.0 && (i == 0 || x[i] > x[i - 1]);
    const bool y_ok = y[i] >= 0.0 && y[i] <= 1.0 && (i == 0 || y[i] >= y[i - 1]);
    if (!x_ok || !y_ok) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("isotonic calibration knot {}: expected x strictly increasing "
                                   "and y non-decreasing, both in [0, 1], got ({}, {})",
                                   i, x[i], y[i]));
    }
  }
  Calibration c;
  c.method_ = CalibrationMethod::kIsotonic;
  c.x_ = std::move(x);
  c.y_ = std::move(y);
  return c;
}

double Calibration::Apply(double p) const {
  p = Clamp01(p);
  switch (method_) {
    case CalibrationMethod::kNone:
      return p;
    case CalibrationMethod::kPlatt:
      return Sigmoid(slope_ * Logit(p) + intercept_);
    case CalibrationMethod::kIsotonic: {
      if (p <= x_.front()) return y_.front();
      if (p >= x_.back()) return y_.back();
      const auto hi = static_cast<std::size_t>(std::upper_bound(x_.begin(), x_.end(), p) -
                                               x_.begin());  // 1 .. size-1
      const std::size_t lo = hi - 1;
      const double t = (p - x_[lo]) / (x_[hi] - x_[lo]);
      return Clamp01(y_[lo] + t * (y_[hi] - y_[lo]));
    }
  }
  return p;
}

void ApplyCalibration(const Calibration& calibration, std::span<const double> probabilities,
                      std::span<double> out) {
  for (std::size_t i = 0; i < probabilities.size() && i < out.size(); ++i) {
    out[i] = calibration.Apply(probabilities[i]);
  }
}

Result<Calibration> FitPlatt(std::span<const double> probabilities, std::span<const float> labels) {
  CSML_TRY(CheckInputs(probabilities, labels));
  const auto positives = static_cast<double>(std::count(labels.begin(), labels.end(), 1.0f));
  const double negatives = static_cast<double>(labels.size()) - positives;
  const double target_pos = (positives + 1.0) / (positives + 2.0);
  const double target_neg = 1.0 / (negatives + 2.0);
  std::vector<double> z(probabilities.size());
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = Logit(Clamp01(probabilities[i]));

  const auto loss = [&](double a, double b) {
    double sum = 0;
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double t = labels[i] == 1.0f ? target_pos : target_neg;
      const double q = std::clamp(Sigmoid(a * z[i] + b), kProbabilityFloor, 1 - kProbabilityFloor);
      sum -= t * std::log(q) + (1 - t) * std::log(1 - q);
    }
    return sum;
  };
  double a = 1.0;
  double b = 0.0;
  double current = loss(a, b);
  for (int iter = 0; iter < kPlattIterations; ++iter) {
    double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double t = labels[i] == 1.0f ? target_pos : target_neg;
      const double q = Sigmoid(a * z[i] + b);
      const double d = q - t;
      const double w = std::max(q * (1 - q), 1e-12);
      ga += d * z[i];
      gb += d;
      haa += w * z[i] * z[i];
      hab += w * z[i];
      hbb += w;
    }
    haa += 1e-9;  // keeps the system solvable when every z is equal
    hbb += 1e-9;
    const double det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const double da = (hbb * ga - hab * gb) / det;
    const double db = (haa * gb - hab * ga) / det;
    double step = 1.0;
    bool improved = false;
    while (step > 1e-10) {
      const double na = a - step * da;
      const double nb = b - step * db;
      const double value = loss(na, nb);
      if (value < current) {
        improved = current - value > 1e-12 * std::max(1.0, current);
        a = na;
        b = nb;
        current = value;
        break;
      }
      step /= 2;
    }
    if (!improved) break;
  }
  if (!(a > 0.0)) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("platt calibration: the fit is not increasing (slope {})", a));
  }
  return Calibration::Platt(a, b);
}

Result<Calibration> FitIsotonic(std::span<const double> probabilities,
                                std::span<const float> labels) {
  CSML_TRY(CheckInputs(probabilities, labels));
  const std::size_t n = probabilities.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t l, std::size_t r) {
    return Clamp01(probabilities[l]) < Clamp01(probabilities[r]);
  });
  // Pool the sorted rows into at most kMaxKnots groups of (about) equal size; equal
  // predictions always share a group.
  struct Block {
    double sum_p = 0;
    double sum_y = 0;
    double weight = 0;
  };
  std::vector<Block> blocks;
  const std::size_t groups = std::min(n, Calibration::kMaxKnots);
  std::size_t i = 0;
  for (std::size_t g = 0; g < groups && i < n; ++g) {
    const std::size_t target_end = n * (g + 1) / groups;
    Block b;
    while (i < n &&
           (i < target_end || (b.weight > 0 && Clamp01(probabilities[order[i]]) ==
                                                   Clamp01(probabilities[order[i - 1]])))) {
      b.sum_p += Clamp01(probabilities[order[i]]);
      b.sum_y += labels[order[i]] == 1.0f ? 1.0 : 0.0;
      b.weight += 1;
      ++i;
    }
    if (b.weight > 0) blocks.push_back(b);
  }
  // Pool adjacent violators.
  std::vector<Block> stack;
  for (const Block& b : blocks) {
    stack.push_back(b);
    while (stack.size() >= 2) {
      const Block& top = stack[stack.size() - 1];
      const Block& below = stack[stack.size() - 2];
      if (below.sum_y / below.weight < top.sum_y / top.weight) break;
      Block merged{below.sum_p + top.sum_p, below.sum_y + top.sum_y, below.weight + top.weight};
      stack.pop_back();
      stack.back() = merged;
    }
  }
  std::vector<double> x;
  std::vector<double> y;
  for (const Block& b : stack) {
    const double px = b.sum_p / b.weight;
    const double py = std::clamp(b.sum_y / b.weight, kIsotonicFloor, 1.0 - kIsotonicFloor);
    if (!x.empty() && px <= x.back()) continue;  // rounding made two means meet
    x.push_back(px);
    y.push_back(y.empty() ? py : std::max(py, y.back()));
  }
  return Calibration::Isotonic(std::move(x), std::move(y));
}

Status CalibrationChoiceOptions::Validate() const {
  if (folds < 2 || folds > 20) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("calibration folds: expected 2 to 20, got {}", folds));
  }
  if (!(min_relative_gain >= 0.0 && min_relative_gain < 1.0)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("calibration min_relative_gain: expected [0, 1), got {}", min_relative_gain));
  }
  return {};
}

Result<CalibrationChoice> ChooseCalibration(std::span<const double> probabilities,
                                            std::span<const float> labels,
                                            const CalibrationChoiceOptions& options) {
  CSML_TRY(options.Validate());
  CSML_TRY(CheckInputs(probabilities, labels));
  if (probabilities.size() < static_cast<std::size_t>(options.folds) * 2) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("calibration: expected at least {} rows, got {}",
                                 options.folds * 2, probabilities.size()));
  }
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  CalibrationChoice out;
  std::vector<double> identity(probabilities.size());
  for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = Clamp01(probabilities[i]);
  out.logloss_none = MeanLogLoss(identity, labels);
  auto platt = CrossFit(&FitPlatt, probabilities, labels, options.folds);
  auto isotonic = CrossFit(&FitIsotonic, probabilities, labels, options.folds);
  out.logloss_platt = platt ? MeanLogLoss(*platt, labels) : kNaN;
  out.logloss_isotonic = isotonic ? MeanLogLoss(*isotonic, labels) : kNaN;

  CalibrationMethod best = CalibrationMethod::kNone;
  double best_loss = out.logloss_none * (1.0 - options.min_relative_gain);
  if (platt && out.logloss_platt < best_loss) {
    best = CalibrationMethod::kPlatt;
    best_loss = out.logloss_platt;
  }
  if (isotonic && out.logloss_isotonic < best_loss) best = CalibrationMethod::kIsotonic;
  if (options.force) {
    best = *options.force;
    if (best == CalibrationMethod::kPlatt && !platt) return tl::unexpected(platt.error());
    if (best == CalibrationMethod::kIsotonic && !isotonic) {
      return tl::unexpected(isotonic.error());
    }
  }

  switch (best) {
    case CalibrationMethod::kNone:
      out.cross_fitted = std::move(identity);
      break;
    case CalibrationMethod::kPlatt: {
      CSML_ASSIGN_OR_RETURN(out.calibration, FitPlatt(probabilities, labels));
      out.cross_fitted = std::move(*platt);
      break;
    }
    case CalibrationMethod::kIsotonic: {
      CSML_ASSIGN_OR_RETURN(out.calibration, FitIsotonic(probabilities, labels));
      out.cross_fitted = std::move(*isotonic);
      break;
    }
  }
  return out;
}

}  // namespace csml
