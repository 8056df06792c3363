// The immutable bundle a server scores with: one model version, the encoder built from the
// feature order that version recorded, its tier thresholds and its predictor.
//
// Risk is the calibrated probability: calibration().Apply(the predictor's probability)
// (csml/evaluation/probability_calibration.h; the identity for versions without one), so the
// predictor's output keeps exact parity with the library and calibration is the one step
// after it, here, for every scoring path.
//
// A ServingModel is built once (by LoadVersion, csml/serving/model_loader.h, or by tests from
// parts) and never changes; requests share it through std::shared_ptr<const ServingModel>, so
// Score() is safe from any number of threads. Score() does no heap allocation: the encoded row
// lives on the stack.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "csml/core/error.h"
#include "csml/ensemble/predictor.h"
#include "csml/evaluation/probability_calibration.h"
#include "csml/evaluation/reference_profile.h"
#include "csml/features/schema.h"
#include "csml/predict/forest_explainer.h"
#include "csml/reasons/reasons.h"
#include "csml/tiering/tiers.h"

namespace csml {

// What `POST /score` answers for one customer.
struct ScoreResult {
  double risk = 0.0;       // probability of churn rounded to 4 decimals (the number the API prints)
  Tier tier = Tier::kLow;  // from the rounded risk, so the printed risk and tier always agree
  ReasonSet reasons;
};

// What `POST /score?explain=true` adds (docs/EXPLANATIONS.md): each encoded column's value
// and TreeSHAP contribution to the margin, in the model's column order. baseline + the sum of
// contributions == margin, to float rounding; risk = the model's link (sigmoid) of margin.
struct ScoreExplanation {
  std::size_t num_columns = 0;
  std::array<double, 16> values{};         // the encoded row (NaN = missing)
  std::array<double, 16> contributions{};  // log-odds; > 0 raised the risk
  double baseline = 0.0;
  double margin = 0.0;
};

class ServingModel {
 public:
  // An encoded row has at most this many columns: the schema has 8 numeric features, 4
  // one-hot regions and a region code, and FeatureEncoder refuses repeated columns.
  static constexpr std::size_t kMaxColumns = 16;

  // Checks the parts agree: thresholds valid, every column known to the schema, the predictor
  // present and expecting exactly that many columns. The error names the mismatch.
  static Result<std::shared_ptr<const ServingModel>> Create(
      std::string version, std::span<const std::string> feature_columns, Thresholds thresholds,
      std::unique_ptr<const Predictor> predictor, Calibration calibration = {},
      std::shared_ptr<const ForestExplainer> explainer = nullptr,
      std::shared_ptr<const ModelReasons> model_reasons = nullptr,
      std::shared_ptr<const ReferenceProfile> reference_profile = nullptr);

  // Encodes, predicts, rounds, classifies and explains. Fails only if the predictor fails or
  // returns something that is not a probability (a model bug, never the request's fault).
  Result<ScoreResult> Score(const RawFeatures& features) const;

  // Score() for many rows at once: one PredictBatch over all of them (the forest's batch
  // walk), then Finish() per row; out[i] is what Score(*features[i]) would return, bit for
  // bit. features.size() must equal out.size(). Allocates the encoded block.
  void ScoreMany(std::span<const RawFeatures* const> features,
                 std::span<Result<ScoreResult>> out) const;

  // The second half of Score(), for a probability the predictor gave for `features` (batch
  // scoring predicts whole blocks, then finishes each row here): refuses what is not a
  // probability, rounds to 4 decimals, classifies the rounded risk and explains: the seed's
  // rules, or with reason_mode() kModel the model reasons of the row's TreeSHAP contributions
  // (csml/reasons/reasons.h).
  Result<ScoreResult> Finish(double probability, const RawFeatures& features) const;

  // The calibrated risk of a model probability, at full precision.
  double Risk(double probability) const { return calibration_.Apply(probability); }

  const std::string& version() const { return version_; }
  const Calibration& calibration() const { return calibration_; }
  const Thresholds& thresholds() const { return thresholds_; }
  const FeatureEncoder& encoder() const { return encoder_; }
  const Predictor& predictor() const { return *predictor_; }
  // The training rows' distribution (meta.json reference_profile), the reference of live
  // drift; null for versions that recorded none.
  const std::shared_ptr<const ReferenceProfile>& reference_profile() const {
    return reference_profile_;
  }

  // Whether Explain() can answer: the model was loaded with its covers (every model csml
  // trains; LightGBM files saved without counts cannot).
  bool can_explain() const { return explainer_ != nullptr; }
  // Encodes and explains one customer; kUnavailable when !can_explain(). No heap allocation.
  Result<ScoreExplanation> Explain(const RawFeatures& features) const;
  // Score() and Explain() at once, as /score?explain=true needs them: with a forest
  // predictor its walk once (the margin it links to the risk is the explanation's margin).
  // The same results as the two calls; kUnavailable when !can_explain().
  Result<ScoreResult> ScoreExplained(const RawFeatures& features,
                                     ScoreExplanation* explanation) const;

  // How `reasons` are chosen: kModel when built with model reasons and able to explain;
  // kRules otherwise (a model without covers falls back to the seed's rules).
  ReasonMode reason_mode() const {
    return model_reasons_ != nullptr && explainer_ != nullptr ? ReasonMode::kModel
                                                              : ReasonMode::kRules;
  }
  // The catalog's version with model reasons; empty with rules.
  std::string_view reason_catalog_version() const {
    return reason_mode() == ReasonMode::kModel ? std::string_view(model_reasons_->catalog_version())
                                               : std::string_view();
  }

 private:
  ServingModel(std::string version, FeatureEncoder encoder, Thresholds thresholds,
               std::unique_ptr<const Predictor> predictor, Calibration calibration,
               std::shared_ptr<const ForestExplainer> explainer,
               std::shared_ptr<const ModelReasons> model_reasons,
               std::shared_ptr<const ReferenceProfile> reference_profile);
  ReasonSet ReasonsFor(const RawFeatures& features) const;

  std::string version_;
  FeatureEncoder encoder_;
  Thresholds thresholds_;
  std::unique_ptr<const Predictor> predictor_;
  Calibration calibration_;
  std::shared_ptr<const ForestExplainer> explainer_;           // null: cannot explain
  std::shared_ptr<const ModelReasons> model_reasons_;          // null: the seed's rules
  std::shared_ptr<const ReferenceProfile> reference_profile_;  // null: no drift figures
};

}  // namespace csml
