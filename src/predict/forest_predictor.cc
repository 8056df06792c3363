#include "csml/predict/forest_predictor.h"

namespace csml {

Result<double> ForestPredictor::PredictRisk(std::span<const double> row) const {
  CSML_TRY(CheckRow(forest_.num_features(), row));
  return forest_.PredictRisk(row);
}

Status ForestPredictor::PredictBatch(std::span<const double> rows, std::span<double> out) const {
  CSML_TRY(CheckBatch(forest_.num_features(), rows, out));
  forest_.PredictBatch(rows, out);
  return {};
}

Result<std::unique_ptr<Predictor>> MakeForestPredictor(std::string_view model_bytes) {
  CSML_ASSIGN_OR_RETURN(auto forest, LoadForest(model_bytes));
  return std::unique_ptr<Predictor>(std::make_unique<ForestPredictor>(std::move(forest)));
}

}  // namespace csml
