// A dense, row-major float matrix with optional column names, and the same with labels: the
// training input the model module hands to XGBoost.
//
// Plain values that own their storage. NaN marks a missing value (XGBoost's "missing").
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "csml/core/error.h"

namespace csml {

struct DenseMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> values;              // rows * cols, row-major; NaN = missing
  std::vector<std::string> column_names;  // empty (unnamed) or exactly `cols` names

  // A rows x cols matrix with every value missing.
  static DenseMatrix Missing(std::size_t rows, std::size_t cols);

  std::span<float> Row(std::size_t r) { return {values.data() + r * cols, cols}; }
  std::span<const float> Row(std::size_t r) const { return {values.data() + r * cols, cols}; }

  // values.size() == rows * cols, column_names empty or of size cols; names the mismatch.
  [[nodiscard]] Status Validate() const;
};

// A matrix and one binary label per row, as binary:logistic wants them.
struct LabeledMatrix {
  DenseMatrix features;
  std::vector<float> labels;  // one per row, each 0 or 1

  // features valid and non-empty, labels.size() == rows and every label 0 or 1.
  [[nodiscard]] Status Validate() const;
};

}  // namespace csml
