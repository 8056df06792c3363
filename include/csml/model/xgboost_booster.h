// XgboostBooster: csml's one door to the XGBoost C API (training, evaluation, slicing,
// JSON save/load, feature importance and in-place prediction).
//
// No other file in csml includes <xgboost/c_api.h>. Every library call goes through one
// check that turns a failure into Error{kModel, "<call>: <XGBGetLastError()>"}; handles are
// owned by RAII wrappers; output buffers XGBoost lends (valid only until the next call on
// the same thread) are copied before returning.
//
// Ownership: a booster owns its XGBoost handle and, when it was built for training, the
// DMatrix handles of its training and validation data (XGBoost copies the values at
// Create(), so the caller's matrices may go away). Move-only.
//
// Thread-safety: PredictDense() is safe to call from many threads at once (XGBoost's
// in-place prediction configures the learner under its own lock and keeps its output in
// thread-local storage). Every other method needs exclusive access: do not call it while
// any other call on the same booster runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csml/core/error.h"
#include "csml/model/dense_matrix.h"

namespace csml {

// Hyperparameters for binary:logistic gradient-boosted trees. Defaults follow LightGBM's
// (31 leaves grown leaf-wise, learning rate 0.05, 256 histogram bins), which suit the small
// tabular data csml trains on.
struct BoosterParams {
  int max_leaves = 31;                    // leaves per tree; 0 = no limit (needs max_depth)
  double eta = 0.05;                      // learning rate, in (0, 1]
  int max_depth = 0;                      // 0 = no limit (lossguide only)
  std::string tree_method = "hist";       // hist, approx or exact
  std::string grow_policy = "lossguide";  // lossguide (leaf-wise) or depthwise
  double min_child_weight = 1.0;          // minimum hessian sum in a leaf, >= 0
  double subsample = 1.0;                 // row fraction per tree, in (0, 1]
  double colsample_bytree = 1.0;          // column fraction per tree, in (0, 1]
  double lambda = 1.0;                    // L2 regularization on leaf weights, >= 0
  double alpha = 0.0;                     // L1 regularization on leaf weights, >= 0
  double scale_pos_weight = 1.0;          // weight of a positive row's gradient, > 0
  // Per column: +1 the prediction may only rise with the value, -1 only fall, 0 free. Empty
  // = no constraint; otherwise one entry per training column.
  std::vector<int> monotone_constraints;
  int max_bin = 256;                                           // histogram bins per feature, >= 2
  std::uint64_t seed = 0;                                      // random seed, <= INT64_MAX
  int threads = 0;                                             // OpenMP threads; 0 = all cores
  std::vector<std::string> eval_metrics = {"auc", "logloss"};  // see kSupportedEvalMetrics

  // Checks every field once; the message names the field, the expected range and the value.
  [[nodiscard]] Status Validate() const;
};

// Evaluation metrics csml asks XGBoost for (binary classification only).
inline constexpr std::string_view kSupportedEvalMetrics[] = {"auc", "logloss", "error", "aucpr"};

class XgboostBooster {
 public:
  // Starts a binary:logistic booster on `train`, with `validation` (may be null) as the
  // data Evaluate() reports on. Validates params and both matrices first; column names of
  // `train`, when present, become the model's feature names.
  static Result<XgboostBooster> Create(const BoosterParams& params, const LabeledMatrix& train,
                                       const LabeledMatrix* validation);

  // Loads a model saved by SaveJson() (or by any XGBoost 1.x/2.x as JSON). Text that is
  // not a JSON object, or JSON that is not a model csml can score (ReadXgboostJson,
  // csml/ensemble/xgboost_json.h: kParse or kValidation), is an Error, never a crash; so is
  // a model XGBoost itself refuses (kParse). The loaded booster can predict, slice and save,
  // not train.
  static Result<XgboostBooster> LoadJson(std::string_view model_json);

  XgboostBooster(XgboostBooster&&) noexcept;
  XgboostBooster& operator=(XgboostBooster&&) noexcept;
  ~XgboostBooster();

  // Adds one boosting round on the training data. `iteration` counts from 0 and must equal
  // NumBoostedRounds() (XGBoost seeds its per-round randomness with it).
  Status UpdateOneIteration(int iteration);

  bool has_validation() const;

  // Every metric of params.eval_metrics on the validation data for the model as it stands;
  // Error{kInvalidArgument} when the booster has no validation data.
  Result<std::map<std::string, double>> EvaluateValidation();
  // One metric of the above by name.
  Result<double> EvaluateValidation(std::string_view metric);

  // A new booster holding the trees of rounds [begin_round, end_round). Used by early
  // stopping to keep the best prefix. The slice cannot train.
  Result<XgboostBooster> Slice(int begin_round, int end_round) const;

  Result<int> NumBoostedRounds() const;
  // Columns a row must have: the training data's, or the loaded model's.
  std::size_t num_features() const;

  // The model's objective as XGBoost names it ("binary:logistic").
  Result<std::string> Objective() const;

  // Names the model's columns; SaveJson() then carries them ("feature_names").
  Status SetFeatureNames(std::span<const std::string> names);
  // The model's column names; empty when it has none.
  Result<std::vector<std::string>> FeatureNames() const;

  // Sets the OpenMP threads used by later predictions and rounds (0 = all cores).
  Status SetThreads(int threads);

  // The model as XGBoost JSON text.
  Result<std::string> SaveJson() const;

  // Total split gain per feature over all trees, largest first; features never used in a
  // split are absent. Names are the feature names, or "f<index>" when the model has none.
  Result<std::vector<std::pair<std::string, double>>> FeatureImportanceGain() const;

  // Probabilities for rows.size() / cols row-major rows (NaN = missing) into out, one per row.
  // cols must equal num_features(). Thread-safe (see the file comment).
  Status PredictDense(std::span<const double> rows, std::size_t cols, std::span<double> out) const;

  // XGBoost's own TreeSHAP (pred_contribs): for rows.size() / cols row-major rows, cols + 1
  // values per row into out: each feature's contribution to the margin, then the bias
  // (logit(base_score) plus the trees' expected values). The reference csml's
  // ForestExplainer is tested and benchmarked against. Values go to XGBoost as float32, as
  // every XGBoost prediction reads them. Needs exclusive access (it builds a DMatrix).
  Status PredictContributions(std::span<const double> rows, std::size_t cols,
                              std::span<double> out) const;

 private:
  struct Handles;
  explicit XgboostBooster(std::unique_ptr<Handles> handles);

  std::unique_ptr<Handles> handles_;
};

}  // namespace csml
