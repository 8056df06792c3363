// The basic trainer: windowed, labeled snapshots in, an XGBoost model and its ModelMeta out.
//
// It encodes every record with FeatureEncoder::DefaultColumns(), trains binary:logistic
// trees for a fixed number of rounds with BoosterParams, uses fixed thresholds and computes
// metrics on the training rows themselves (so they describe fit, not generalization; a
// time-split validation set and early stopping come with the full training pipeline).
// TrainAndPublish then writes the result to a Registry as a new version.
//
// Plain functions; each call owns its booster, so concurrent calls are safe (they share the
// machine's cores through XGBoost's threads).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/window.h"
#include "csml/model/xgboost_booster.h"
#include "csml/registry/model_meta.h"
#include "csml/registry/registry.h"
#include "csml/tiering/tiers.h"

namespace csml {

struct TrainOptions {
  int rounds = 300;            // boosting rounds, 1..100000
  BoosterParams booster;       // tree hyperparameters, threads and seed
  Thresholds thresholds;       // fixed tier cut points recorded in the meta (0.4 / 0.7)
  UnixSeconds created_at = 0;  // the version's time; 0 = now

  // Checks rounds, booster and thresholds once; the message names the field.
  [[nodiscard]] Status Validate() const;
};

// What the trainer learns from: the window of data/window.h plus how many records the
// reader had already dropped as invalid (recorded in the meta's row counts).
struct TrainingData {
  WindowedSnapshots window;
  std::size_t invalid_records = 0;
};

struct TrainedModel {
  std::string model_json;  // XGBoost JSON with feature names
  ModelMeta meta;          // everything but version, model_file and the file's hash and size
  std::vector<std::pair<std::string, double>> importance_gain;  // largest first
};

// Trains on every record of data.window. kValidation when there are fewer than two records
// or only one label value (a model of one class cannot rank anyone).
Result<TrainedModel> TrainModel(const TrainingData& data, const TrainOptions& options);

// TrainModel, then Registry::Publish. Returns the published meta (with its version).
Result<ModelMeta> TrainAndPublish(const TrainingData& data, const TrainOptions& options,
                                  const Registry& registry);

}  // namespace csml
