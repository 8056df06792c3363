// A Predictor for tests: returns a fixed risk (or an error) and remembers the last row it was
// given, so tests can check encoding, rounding and tiering without a trained model.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "csml/ensemble/predictor.h"

namespace csml::testing {

class FakePredictor final : public Predictor {
 public:
  FakePredictor(std::size_t num_features, double risk) : num_features_(num_features), risk_(risk) {}

  static std::unique_ptr<const Predictor> Returning(std::size_t num_features, double risk) {
    return std::make_unique<const FakePredictor>(num_features, risk);
  }

  // Each call fails with ErrorCode::kModel.
  static std::unique_ptr<const Predictor> Failing(std::size_t num_features) {
    auto p = std::make_unique<FakePredictor>(num_features, 0.0);
    p->fail_ = true;
    return p;
  }

  std::size_t num_features() const override { return num_features_; }

  Result<double> PredictRisk(std::span<const double> row) const override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_row_.assign(row.begin(), row.end());
    }
    if (fail_) return MakeError(ErrorCode::kModel, "fake predictor failure");
    return risk_;
  }

  Status PredictBatch(std::span<const double> rows, std::span<double> out) const override {
    if (rows.size() != out.size() * num_features_) {
      return MakeError(ErrorCode::kInvalidArgument, "fake predictor: size mismatch");
    }
    for (double& v : out) v = risk_;
    return {};
  }

  std::vector<double> last_row() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_row_;
  }

 private:
  std::size_t num_features_;
  double risk_;
  bool fail_ = false;
  mutable std::mutex mu_;
  mutable std::vector<double> last_row_;
};

}  // namespace csml::testing
