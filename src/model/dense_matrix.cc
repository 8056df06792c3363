#include "csml/model/dense_matrix.h"

#include <limits>

#include <fmt/format.h>

namespace csml {

DenseMatrix DenseMatrix::Missing(std::size_t rows, std::size_t cols) {
  DenseMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.values.assign(rows * cols, std::numeric_limits<float>::quiet_NaN());
  return m;
}

Status DenseMatrix::Validate() const {
  if (values.size() != rows * cols) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("matrix: expected {} x {} = {} values, got {}", rows, cols,
                                 rows * cols, values.size()));
  }
  if (!column_names.empty() && column_names.size() != cols) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("matrix: expected {} column names, got {}", cols, column_names.size()));
  }
  return {};
}

Status LabeledMatrix::Validate() const {
  if (auto s = features.Validate(); !s) return s;
  if (features.rows == 0 || features.cols == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("matrix: expected at least one row and one column, got {} x {}",
                                 features.rows, features.cols));
  }
  if (labels.size() != features.rows) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("labels: expected one per row ({}), got {}", features.rows, labels.size()));
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0.0f && labels[i] != 1.0f) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("labels: row {}: expected 0 or 1, got {}", i, labels[i]));
    }
  }
  return {};
}

}  // namespace csml
