// Binary classification metrics on predicted probabilities, each written so it can be checked
// by hand on a small table: ROC AUC, PR AUC (average precision), log loss, Brier score,
// calibration error, base rate and top-fraction lift.
//
// Conventions shared by every function here:
// - scores are probabilities (not NaN), labels are 0 or 1, one label per score; a call that
//   breaks this is kInvalidArgument naming the first offending row;
// - ties between scores are never broken by row order: a metric that ranks rows treats a
//   group of equal scores as one step (AUC counts a tied pair as half a win; lift counts the
//   tied group at the cut in proportion, i.e. the expectation over random tie-breaking);
// - a metric undefined for the data (AUC with one class) is NaN, not an error.
//
// Plain functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>

#include "csml/core/error.h"

namespace csml {

// Checks the conventions above: same non-zero length, labels 0/1, scores not NaN.
[[nodiscard]] Status CheckScoresAndLabels(std::span<const double> scores,
                                          std::span<const float> labels);

// Probability that a random positive scores above a random negative (ties count 1/2); the
// Mann-Whitney statistic. NaN when the labels hold only one class.
Result<double> RocAuc(std::span<const double> scores, std::span<const float> labels);

// Hanley & McNeil (1982) standard error of an AUC of `auc` measured on `positives` and
// `negatives` rows: how much the AUC would move on another sample of the same size. NaN when
// either count is 0 or auc is NaN.
double AucStandardError(double auc, std::size_t positives, std::size_t negatives);

// Area under the precision-recall curve as average precision: the sum over distinct score
// thresholds, highest first, of (recall gained) * (precision at that threshold); the step
// form, which never interpolates optimistically. NaN when there is no positive.
Result<double> AveragePrecision(std::span<const double> scores, std::span<const float> labels);

// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 - 1e-15] as scikit-learn
// does so a confident mistake costs a large but finite amount.
Result<double> LogLoss(std::span<const double> scores, std::span<const float> labels);

// Mean squared difference between probability and label.
Result<double> BrierScore(std::span<const double> scores, std::span<const float> labels);

// Share of label 1; kInvalidArgument for no labels or a label that is not 0 or 1.
Result<double> BaseRate(std::span<const float> labels);

// Expected calibration error over `bins` equal-width bins of [0, 1] (bin b holds scores in
// [b/bins, (b+1)/bins), the last bin includes 1): the row-weighted mean over non-empty bins of
// |mean score - share of positives|. kInvalidArgument when bins < 1 or a score is outside
// [0, 1]. See CalibrationBins (curves.h) for the per-bin table.
Result<double> ExpectedCalibrationError(std::span<const double> scores,
                                        std::span<const float> labels, int bins = 10);

// Share of positives among the `fraction` of rows with the highest scores, divided by the base
// rate: 2.0 means the top slice holds twice the average churn. The slice holds fraction * rows
// rows (not rounded); the tied group at its edge counts in proportion. NaN when there is no
// positive. kInvalidArgument when fraction is not in (0, 1].
Result<double> TopFractionLift(std::span<const double> scores, std::span<const float> labels,
                               double fraction);

struct BinaryMetrics {
  std::size_t rows = 0;
  std::size_t positives = 0;
  double base_rate = 0;
  double auc = 0;                 // NaN with one class
  double auc_standard_error = 0;  // Hanley-McNeil; NaN with one class
  double pr_auc = 0;              // average precision; NaN with no positive
  double log_loss = 0;
  double brier = 0;
  double calibration_error = 0;  // ExpectedCalibrationError with 10 bins
  double top_decile_lift = 0;    // TopFractionLift(0.1)
};

// All of the above after one check of the inputs; scores must lie in [0, 1].
Result<BinaryMetrics> ComputeBinaryMetrics(std::span<const double> scores,
                                           std::span<const float> labels);

}  // namespace csml
