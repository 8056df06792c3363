#include "csml/model/xgboost_predictor.h"

#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace csml {

Status XgboostPredictorOptions::Validate() const {
  if (threads < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("XgboostPredictorOptions.threads: expected an integer >= 0 "
                                 "(0 = all cores), got {}",
                                 threads));
  }
  return {};
}

Result<std::unique_ptr<XgboostPredictor>> XgboostPredictor::FromJson(
    std::string_view model_json, const XgboostPredictorOptions& options) {
  CSML_TRY(options.Validate());
  CSML_ASSIGN_OR_RETURN(auto booster, XgboostBooster::LoadJson(model_json));
  // LoadJson checked the file (ReadXgboostJson): binary:logistic, so its output is a
  // probability of churn, and at least one feature.
  const std::size_t num_features = booster.num_features();
  CSML_TRY(booster.SetThreads(options.threads));

  // Warm-up: the first prediction configures the learner; doing it here surfaces a broken
  // model now and keeps that one-time work off the first request.
  const std::vector<double> missing_row(num_features, std::numeric_limits<double>::quiet_NaN());
  std::array<double, 1> risk{};
  if (auto s = booster.PredictDense(missing_row, num_features, risk); !s) {
    return tl::unexpected(s.error().WithContext("XGBoost model warm-up"));
  }
  if (!(risk[0] >= 0.0 && risk[0] <= 1.0)) {
    return MakeError(
        ErrorCode::kModel,
        fmt::format("XGBoost model warm-up: expected a probability in [0, 1], got {}", risk[0]));
  }
  return std::unique_ptr<XgboostPredictor>(new XgboostPredictor(std::move(booster), num_features));
}

Result<double> XgboostPredictor::PredictRisk(std::span<const double> row) const {
  CSML_TRY(CheckRow(num_features_, row));
  std::array<double, 1> risk{};
  CSML_TRY(booster_.PredictDense(row, num_features_, risk));
  return risk[0];
}

Status XgboostPredictor::PredictBatch(std::span<const double> rows, std::span<double> out) const {
  CSML_TRY(CheckBatch(num_features_, rows, out));
  return booster_.PredictDense(rows, num_features_, out);
}

}  // namespace csml
