// The one interface between a trained model and the code that scores with it.
//
// Two implementations: the XGBoost booster (csml/model/xgboost_booster.h, the trainer's
// reference) and csml's flat forest (csml/predict/forest.h, what the server uses). A
// Predictor is immutable after construction: every method is const and safe to call from
// many threads at once.
#pragma once

#include <cstddef>
#include <span>

#include "csml/core/error.h"

namespace csml {

class Predictor {
 public:
  virtual ~Predictor() = default;

  // Number of columns an encoded row must have.
  virtual std::size_t num_features() const = 0;

  // Probability of the positive class (churn) for one encoded row; NaN = missing.
  // row.size() must equal num_features().
  virtual Result<double> PredictRisk(std::span<const double> row) const = 0;

  // Probabilities for rows.size() / num_features() row-major rows into out.
  virtual Status PredictBatch(std::span<const double> rows, std::span<double> out) const = 0;
};

}  // namespace csml
