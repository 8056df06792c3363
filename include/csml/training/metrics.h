// Binary classification metrics on predicted probabilities, written out so each can be
// checked by hand: ROC AUC (Mann-Whitney, ties counted half), log loss, Brier score and the
// base rate. Plain functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>

#include "csml/core/error.h"

namespace csml {

// Probability that a random positive scores above a random negative (ties count 1/2).
// NaN when the labels hold only one class. kInvalidArgument when the spans differ in length,
// are empty, a label is not 0 or 1, or a score is NaN.
Result<double> RocAuc(std::span<const double> scores, std::span<const float> labels);

// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 - 1e-15] as scikit-learn
// does so a confident mistake costs a large but finite amount. Same argument checks.
Result<double> LogLoss(std::span<const double> scores, std::span<const float> labels);

// Mean squared difference between probability and label. Same argument checks.
Result<double> BrierScore(std::span<const double> scores, std::span<const float> labels);

// Share of label 1; kInvalidArgument for no labels or a label that is not 0 or 1.
Result<double> BaseRate(std::span<const float> labels);

struct BinaryMetrics {
  std::size_t rows = 0;
  std::size_t positives = 0;
  double base_rate = 0;
  double auc = 0;  // NaN with one class
  double log_loss = 0;
  double brier = 0;
};

// All of the above in one pass over the checks.
Result<BinaryMetrics> ComputeBinaryMetrics(std::span<const double> scores,
                                           std::span<const float> labels);

}  // namespace csml
