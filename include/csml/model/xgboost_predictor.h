// XgboostPredictor: the Predictor backed by XGBoost's own in-place prediction. It is the
// reference every other predictor (csml's flat forest) is checked against, and a working
// predictor on its own.
//
// Immutable after FromJson(): it owns a loaded booster that nothing can train or reconfigure,
// so PredictRisk() and PredictBatch() are safe to call from many threads at once (XGBoost's
// in-place prediction is lock-free for concurrent callers and keeps its output buffer per
// thread). Each call copies XGBoost's output before returning.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "csml/core/error.h"
#include "csml/ensemble/predictor.h"
#include "csml/model/xgboost_booster.h"

namespace csml {

struct XgboostPredictorOptions {
  // OpenMP threads per prediction call; 0 = all cores. 1 suits a server that scores one row
  // per request on many request threads; batch scoring wants more.
  int threads = 1;

  [[nodiscard]] Status Validate() const;
};

class XgboostPredictor final : public Predictor {
 public:
  // Loads XGBoost JSON, checks it is a single-output model with at least one feature and
  // scores one all-missing row as a warm-up (so a model that cannot predict fails here,
  // not on the first request).
  static Result<std::unique_ptr<XgboostPredictor>> FromJson(
      std::string_view model_json, const XgboostPredictorOptions& options = {});

  std::size_t num_features() const override { return num_features_; }
  Result<double> PredictRisk(std::span<const double> row) const override;
  Status PredictBatch(std::span<const double> rows, std::span<double> out) const override;

 private:
  XgboostPredictor(XgboostBooster booster, std::size_t num_features)
      : booster_(std::move(booster)), num_features_(num_features) {}

  XgboostBooster booster_;
  std::size_t num_features_;
};

}  // namespace csml
