#include "csml/ensemble/predictor.h"

#include <fmt/format.h>

namespace csml {

Status CheckRow(std::size_t num_features, std::span<const double> row) {
  if (row.size() != num_features) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("expected a row of {} features, got {}", num_features, row.size()));
  }
  return {};
}

Status CheckBatch(std::size_t num_features, std::span<const double> rows,
                  std::span<const double> out) {
  if (num_features == 0 ? !rows.empty() : rows.size() % num_features != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("expected rows of {} features, got {} values in all", num_features,
                                 rows.size()));
  }
  const std::size_t num_rows = num_features == 0 ? out.size() : rows.size() / num_features;
  if (out.size() != num_rows) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("expected an output buffer of {} values (one per row), got {}",
                                 num_rows, out.size()));
  }
  return {};
}

}  // namespace csml
