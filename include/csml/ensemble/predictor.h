// The one interface between a trained model and the code that scores with it.
//
// Two implementations: XgboostPredictor (csml/model/xgboost_predictor.h, XGBoost's own
// prediction, the trainer's reference) and ForestPredictor (csml/predict/forest_predictor.h,
// csml's flat forest, what the server uses). The interface lives in the ensemble module, below
// both, so neither implementation depends on the other. A Predictor is immutable after
// construction: every method is const and safe to call from many threads at once.
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

// The size checks every implementation makes before it reads a row (kInvalidArgument):
// CheckRow: row.size() == num_features;
// CheckBatch: rows.size() a multiple of num_features, out.size() one value per row.
Status CheckRow(std::size_t num_features, std::span<const double> row);
Status CheckBatch(std::size_t num_features, std::span<const double> rows,
                  std::span<const double> out);

}  // namespace csml
