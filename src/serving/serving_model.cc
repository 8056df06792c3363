#include "csml/serving/serving_model.h"

#include <array>
#include <cmath>
#include <span>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/predict/forest_predictor.h"

namespace csml {

ServingModel::ServingModel(std::string version, FeatureEncoder encoder, Thresholds thresholds,
                           std::unique_ptr<const Predictor> predictor, Calibration calibration,
                           std::shared_ptr<const ForestExplainer> explainer,
                           std::shared_ptr<const ModelReasons> model_reasons,
                           std::shared_ptr<const ReferenceProfile> reference_profile)
    : version_(std::move(version)),
      encoder_(std::move(encoder)),
      thresholds_(thresholds),
      predictor_(std::move(predictor)),
      calibration_(std::move(calibration)),
      explainer_(std::move(explainer)),
      model_reasons_(std::move(model_reasons)),
      reference_profile_(std::move(reference_profile)) {}

Result<std::shared_ptr<const ServingModel>> ServingModel::Create(
    std::string version, std::span<const std::string> feature_columns, Thresholds thresholds,
    std::unique_ptr<const Predictor> predictor, Calibration calibration,
    std::shared_ptr<const ForestExplainer> explainer,
    std::shared_ptr<const ModelReasons> model_reasons,
    std::shared_ptr<const ReferenceProfile> reference_profile) {
  const auto context = [&version] { return fmt::format("model {}", version); };
  if (version.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "model version: expected a name, got ''");
  }
  if (Status valid = thresholds.Validate(); !valid) {
    return tl::unexpected(valid.error().WithContext(context()));
  }
  Result<FeatureEncoder> encoder = FeatureEncoder::Create(feature_columns);
  if (!encoder) return tl::unexpected(encoder.error().WithContext(context()));
  if (encoder->num_columns() == 0 || encoder->num_columns() > kMaxColumns) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: expected 1 to {} feature columns, got {}", context(),
                                 kMaxColumns, encoder->num_columns()));
  }
  if (predictor == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: expected a predictor, got none", context()));
  }
  if (predictor->num_features() != encoder->num_columns()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: the predictor expects {} features but meta.json lists {}",
                                 context(), predictor->num_features(), encoder->num_columns()));
  }
  if (explainer != nullptr && explainer->num_features() != encoder->num_columns()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: the explainer expects {} features but meta.json lists {}",
                                 context(), explainer->num_features(), encoder->num_columns()));
  }
  return std::shared_ptr<const ServingModel>(
      new ServingModel(std::move(version), std::move(*encoder), thresholds, std::move(predictor),
                       std::move(calibration), std::move(explainer), std::move(model_reasons),
                       std::move(reference_profile)));
}

Result<ScoreResult> ServingModel::Score(const RawFeatures& features) const {
  std::array<double, kMaxColumns> row{};
  const std::span<double> encoded(row.data(), encoder_.num_columns());
  encoder_.Encode(features, encoded);
  Result<double> risk = predictor_->PredictRisk(encoded);
  if (!risk) return tl::unexpected(risk.error().WithContext(fmt::format("model {}", version_)));
  return Finish(*risk, features);
}

void ServingModel::ScoreMany(std::span<const RawFeatures* const> features,
                             std::span<Result<ScoreResult>> out) const {
  const std::size_t width = encoder_.num_columns();
  std::vector<double> rows(features.size() * width);
  for (std::size_t i = 0; i < features.size(); ++i) {
    encoder_.Encode(*features[i], std::span<double>(rows).subspan(i * width, width));
  }
  std::vector<double> risk(features.size());
  if (Status s = predictor_->PredictBatch(rows, risk); !s) {
    const Error error = s.error().WithContext(fmt::format("model {}", version_));
    for (Result<ScoreResult>& r : out) r = tl::unexpected(error);
    return;
  }
  for (std::size_t i = 0; i < features.size() && i < out.size(); ++i) {
    out[i] = Finish(risk[i], *features[i]);
  }
}

Result<ScoreResult> ServingModel::Finish(double probability, const RawFeatures& features) const {
  if (!std::isfinite(probability) || probability < 0.0 || probability > 1.0) {
    return MakeError(
        ErrorCode::kModel,
        fmt::format("model {}: expected a probability in [0, 1], got {}", version_, probability));
  }
  ScoreResult result;
  result.risk = RoundTo(Risk(probability), 4);
  result.tier = thresholds_.Classify(result.risk);
  result.reasons = ReasonsFor(features);
  return result;
}

ReasonSet ServingModel::ReasonsFor(const RawFeatures& features) const {
  if (reason_mode() != ReasonMode::kModel) return ExplainRisk(features);
  std::array<double, kMaxColumns> row{};
  std::array<double, kMaxColumns> contributions{};
  const std::size_t n = encoder_.num_columns();
  const std::span<double> encoded(row.data(), n);
  encoder_.Encode(features, encoded);
  explainer_->Explain(encoded, std::span<double>(contributions.data(), n));
  return model_reasons_->Explain(encoded, std::span<const double>(contributions.data(), n));
}

Result<ScoreExplanation> ServingModel::Explain(const RawFeatures& features) const {
  if (explainer_ == nullptr) {
    return MakeError(
        ErrorCode::kValidation,
        fmt::format("model {}: cannot explain (the model file has no node covers)", version_));
  }
  ScoreExplanation out;
  out.num_columns = encoder_.num_columns();
  const std::span<double> row(out.values.data(), out.num_columns);
  encoder_.Encode(features, row);
  explainer_->Explain(row, std::span<double>(out.contributions.data(), out.num_columns));
  out.baseline = explainer_->baseline();
  out.margin = explainer_->forest().PredictMargin(row);
  return out;
}

Result<ScoreResult> ServingModel::ScoreExplained(const RawFeatures& features,
                                                 ScoreExplanation* explanation) const {
  Result<ScoreExplanation> explained = Explain(features);
  if (!explained) return tl::unexpected(explained.error());
  *explanation = *explained;
  const std::span<const double> row(explanation->values.data(), explanation->num_columns);
  double probability = 0.0;
  if (const auto* forest = dynamic_cast<const ForestPredictor*>(predictor_.get())) {
    // What ForestPredictor::PredictRisk computes, from the margin already walked (the
    // explainer's forest is a copy of the predictor's, loaded from the same file).
    if (forest->forest().num_features() != row.size()) {
      return MakeError(ErrorCode::kModel,
                       fmt::format("model {}: row of {} columns for {}", version_, row.size(),
                                   forest->forest().num_features()));
    }
    explanation->margin = forest->forest().PredictMargin(row);
    probability = forest->forest().RiskFromMargin(explanation->margin);
  } else {
    Result<double> risk = predictor_->PredictRisk(row);
    if (!risk) return tl::unexpected(risk.error().WithContext(fmt::format("model {}", version_)));
    probability = *risk;
  }
  return Finish(probability, features);
}

}  // namespace csml
