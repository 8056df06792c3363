// The trainer: a Dataset (training/dataset.h) in, an XGBoost model, its tier thresholds,
// metrics and ModelMeta draft out. Publishing is promotion.h's.
//
//   1. Split by time with an embargo (time_split.h).
//   2. Early stopping: boost one round at a time on the training rows, evaluate the
//      validation rows after each, keep the best round and slice the model to it (stop when
//      `early_stopping_rounds` rounds in a row bring no improvement, or at max_rounds).
//   3. Evaluate the sliced model on the validation rows: metrics (evaluation/metrics.h), tier
//      thresholds from the validation risk (tier_calibration.h) and what each tier holds.
//   3b. Calibration (probability_calibration.h): none, Platt and isotonic are fitted on the
//      early-stopped model's validation predictions (out of fold: that model never saw those
//      rows) and the one with the lowest cross-fitted log loss is kept (none unless another
//      is clearly better). Tier thresholds are quantiles of the calibrated validation risk;
//      the validation metrics and reliability table are those of the cross-fitted calibrated
//      risk, so they are not fitted to themselves. The refit model gets the same map.
//   4. Refit (by default): train again on every row of the window, the validation rows
//      included, for the chosen number of rounds, so the newest outcomes shape the served
//      model. Its quality is the validation model's: the refit adds data, not rounds.
//      With RefitPolicy::kNone the sliced model is the result.
//
// Determinism: the same dataset, options, seed and thread count give the same model bytes.
//
// Memory: the dataset's matrix is shared with XGBoost for the refit; the split copies the
// training and validation rows once, and frees them as soon as XGBoost holds its own copy.
// Predictions are made in blocks, so no double-precision copy of a whole matrix is made.
//
// Plain functions; each call owns its boosters. The progress callback runs on the calling
// thread after each round.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/evaluation/curves.h"
#include "csml/evaluation/metrics.h"
#include "csml/evaluation/probability_calibration.h"
#include "csml/evaluation/tier_stats.h"
#include "csml/model/xgboost_booster.h"
#include "csml/reasons/reasons.h"
#include "csml/registry/model_meta.h"
#include "csml/tiering/tiers.h"
#include "csml/training/dataset.h"
#include "csml/training/model_search.h"
#include "csml/training/tier_calibration.h"
#include "csml/training/time_split.h"

namespace csml {

// The booster parameters csml trains with unless told otherwise: XGBoost hist trees grown
// leaf-wise (lossguide). The values were chosen by bench/train_defaults_experiment.cc on
// simulated data of several sizes and noise levels; docs/TRAINING.md has the figures.
BoosterParams DefaultTrainingBoosterParams();

enum class RefitPolicy {
  kAllRows,  // refit on every row of the window with the early-stopped round count
  kNone,     // serve the early-stopped model trained on the training split
};

struct TrainingProgress {
  enum class Stage { kEarlyStopping, kRefit };
  Stage stage = Stage::kEarlyStopping;
  int round = 0;       // rounds done in this stage, from 1
  int max_rounds = 0;  // the most this stage can run
  // kEarlyStopping: the validation metric after this round and the best so far.
  double value = 0;
  double best_value = 0;
  int best_round = 0;
  double elapsed_seconds = 0;  // since the stage started
  // Seconds until the stage ends if nothing improves any more (early stopping) or until
  // the refit's last round.
  double eta_seconds = 0;
};

struct TrainOptions {
  BoosterParams booster = DefaultTrainingBoosterParams();
  int max_rounds = 2000;                          // early stopping's upper bound, 1..100000
  int early_stopping_rounds = 50;                 // patience, in rounds, 1..max_rounds
  std::string early_stopping_metric = "logloss";  // "logloss" (lower is better) or "auc"
  RefitPolicy refit = RefitPolicy::kAllRows;
  TimeSplitOptions split;
  ThresholdOptions thresholds;
  // Model selection before step 1 (model_search.h): empty = the fixed booster params (the
  // path of `csml train --no-tune`); set = the search picks eta, leaves, depth,
  // min_child_weight, L1/L2, row and column sampling and scale_pos_weight, and the steps
  // below run with the winner.
  std::optional<SearchOptions> search;
  // Monotone constraints by column name (+1 rising, -1 falling); applied to every fit,
  // searched or not. A name that is not a column of the dataset is kInvalidArgument.
  std::vector<std::pair<std::string, int>> monotone;
  // Post-hoc calibration: empty = choose by cross-fitted log loss; a method forces it.
  std::optional<CalibrationMethod> calibration;
  // How the version's `reasons` are chosen when served (meta.json extra.reasons, with the
  // compiled-in catalog for kModel; nothing is written for kRules, the default).
  ReasonMode reasons = ReasonMode::kRules;
  UnixSeconds created_at = 0;                                // the version's time; 0 = now
  std::function<void(const TrainingProgress&)> on_progress;  // may be empty

  // Checks every field once; the message names the field.
  [[nodiscard]] Status Validate() const;
};

// What training found, beyond the model bytes; meta.json holds the same figures.
struct TrainingReport {
  TimeSplit split;
  BinaryMetrics validation;  // the early-stopped model's calibrated risk on the validation rows
  BinaryMetrics validation_uncalibrated;  // the same model's probability, before calibration
  BinaryMetrics train;  // the early-stopped model on its training rows (fit diagnostic)
  Thresholds thresholds;
  TierReport tiers;                                // thresholds applied to the validation rows
  std::vector<CalibrationBin> calibration;         // 10 bins, validation rows, calibrated risk
  std::vector<CalibrationBin> calibration_before;  // the same before calibration
  CalibrationChoice calibration_choice;            // the map applied after the model
  int rounds_run = 0;                              // early-stopping rounds boosted
  int best_round = 0;                              // rounds kept (the model's size)
  double best_value = 0;                           // the validation metric at best_round
  bool refit = false;                              // whether the final model was refit on all rows
  std::size_t final_rows = 0;                      // rows the final model was fit on
  std::vector<std::pair<std::string, double>> importance_gain;  // final model, largest first
  BoosterParams params;                // the booster params the model was trained with
  std::optional<SearchRecord> search;  // when a search ran (or was skipped)
  double search_seconds = 0;
  double early_stopping_seconds = 0;
  double evaluate_seconds = 0;
  double refit_seconds = 0;
};

struct TrainedModel {
  std::string model_json;  // XGBoost JSON with feature names: the final model
  ModelMeta meta;          // a draft: everything but version, model_file and the file's hash
  TrainingReport report;
};

// kInvalidArgument for bad options; kValidation when the split leaves a side without both
// labels (a model of one class cannot be trained or judged); kModel when XGBoost fails.
Result<TrainedModel> TrainModel(const Dataset& dataset, const TrainOptions& options);

}  // namespace csml
