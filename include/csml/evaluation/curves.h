// The curves behind the metrics of metrics.h, as tables a report can draw: ROC, precision-
// recall, calibration (reliability) bins and cumulative gain / lift.
//
// Points are taken at each distinct score (a group of tied scores is one step), so a curve
// of n rows has at most n + 1 points; a report that wants fewer thins them itself. The same
// input checks and conventions as metrics.h apply. Plain functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/json_writer.h"

namespace csml {

// One point of the ROC curve: predicting positive for score >= threshold.
struct RocPoint {
  double threshold = 0;  // +infinity for the first point (nothing predicted positive)
  double false_positive_rate = 0;
  double true_positive_rate = 0;
};

// From (0, 0) at threshold +infinity to (1, 1) at the lowest score. A rate whose denominator
// is 0 (no negatives, or no positives) is NaN.
Result<std::vector<RocPoint>> RocCurve(std::span<const double> scores,
                                       std::span<const float> labels);

// One point of the precision-recall curve: predicting positive for score >= threshold.
struct PrPoint {
  double threshold = 0;
  double recall = 0;     // NaN when there is no positive
  double precision = 0;  // share of positives among rows scoring >= threshold
};

// One point per distinct score, highest threshold first (recall rising).
Result<std::vector<PrPoint>> PrecisionRecallCurve(std::span<const double> scores,
                                                  std::span<const float> labels);

// One bin of a reliability diagram: scores in [lower, upper) (the last bin includes 1).
struct CalibrationBin {
  double lower = 0;
  double upper = 0;
  std::size_t rows = 0;
  std::size_t positives = 0;
  double mean_score = 0;     // NaN for an empty bin
  double observed_rate = 0;  // positives / rows; NaN for an empty bin
};

// `bins` equal-width bins over [0, 1], empty ones included. kInvalidArgument when bins < 1 or
// a score is outside [0, 1].
Result<std::vector<CalibrationBin>> CalibrationBins(std::span<const double> scores,
                                                    std::span<const float> labels, int bins = 10);

// One point of the cumulative gain and lift charts: the top population_share of rows by score.
struct GainPoint {
  double population_share = 0;    // in (0, 1]
  double positives_captured = 0;  // share of all positives in that top slice; NaN with none
  double lift = 0;                // positives_captured / population_share; NaN with none
};

// `steps` points at population shares 1/steps, 2/steps, ..., 1 (deciles by default); the
// tied group at each cut counts in proportion (as TopFractionLift). kInvalidArgument when
// steps < 1.
Result<std::vector<GainPoint>> GainCurve(std::span<const double> scores,
                                         std::span<const float> labels, int steps = 10);

// Writes bins as a JSON array of {"lower","upper","rows","churned","mean_risk","churn_rate"}:
// the one layout meta.json and report.json share.
void WriteCalibrationBinsJson(JsonWriter& w, const std::vector<CalibrationBin>& bins);

}  // namespace csml
