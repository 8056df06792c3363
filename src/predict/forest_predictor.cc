#include "csml/predict/forest_predictor.h"

#include <fmt/format.h>

namespace csml {

Result<double> ForestPredictor::PredictRisk(std::span<const double> row) const {
  if (row.size() != forest_.num_features()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("expected a row of {} features, got {}", forest_.num_features(), row.size()));
  }
  return forest_.PredictRisk(row);
}

Status ForestPredictor::PredictBatch(std::span<const double> rows, std::span<double> out) const {
  const std::size_t width = forest_.num_features();
  if (width == 0 ? !rows.empty() : rows.size() % width != 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("expected rows of {} features, got {} values in all", width, rows.size()));
  }
  const std::size_t num_rows = width == 0 ? out.size() : rows.size() / width;
  if (out.size() != num_rows) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("expected an output buffer of {} values (one per row), got {}",
                                 num_rows, out.size()));
  }
  forest_.PredictBatch(rows, out);
  return {};
}

Result<std::unique_ptr<Predictor>> MakeForestPredictor(std::string_view model_bytes) {
  auto forest = LoadForest(model_bytes);
  if (!forest) return tl::unexpected(forest.error());
  return std::unique_ptr<Predictor>(std::make_unique<ForestPredictor>(std::move(*forest)));
}

}  // namespace csml
