// ForestPredictor: csml's flat Forest behind the Predictor interface, so the server and the
// batch scorer can use either it or the XGBoost booster through one type.
//
// It adds what the interface promises and Forest leaves to its callers: row and buffer sizes
// are checked and refused with an Error, never read out of bounds.
// Thread-safety: immutable after construction; every method may run on many threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "csml/core/error.h"
#include "csml/ensemble/predictor.h"
#include "csml/predict/forest.h"

namespace csml {

class ForestPredictor final : public Predictor {
 public:
  explicit ForestPredictor(Forest forest) : forest_(std::move(forest)) {}

  std::size_t num_features() const override { return forest_.num_features(); }
  Result<double> PredictRisk(std::span<const double> row) const override;
  Status PredictBatch(std::span<const double> rows, std::span<double> out) const override;

  const Forest& forest() const { return forest_; }

 private:
  Forest forest_;
};

// Loads model_bytes with LoadForest (format detected) and wraps it.
Result<std::unique_ptr<Predictor>> MakeForestPredictor(std::string_view model_bytes);

}  // namespace csml
