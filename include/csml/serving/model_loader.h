// Turns a registry version into a ServingModel: the one load path of csml. The server's
// loading and hot reload (the manager, csml/serving/model_manager.h, is the other half),
// `csml predict` and `csml test` (through BatchScorer) all load with LoadVersion().
//
// Loading reads the meta and the model bytes (size and sha256 checked by the registry),
// builds csml's flat forest predictor from the bytes, checks that the model's own column
// names (when it carries real ones) are the meta's feature order, and scores one all-missing
// row as a warm-up so a model that cannot score is refused before it serves. Nothing is
// shared with a model already serving, so a failed load leaves it untouched.
// Thread-safety: free functions over an immutable Registry; safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/registry/registry.h"
#include "csml/serving/serving_model.h"

namespace csml {

// A loaded version: its meta.json as read, and the model built and checked from it.
struct LoadedVersion {
  ModelMeta meta;
  std::shared_ptr<const ServingModel> model;
};

// What a caller may choose about a load.
struct LoadOptions {
  // How `reasons` are chosen (csml/reasons/reasons.h): nullopt follows the version's
  // meta.json (extra.reasons; rules when absent). Model reasons need node covers: a version
  // without them falls back to rules (ServingModel::reason_mode() says which applies).
  std::optional<ReasonMode> reasons;
  // The TreeSHAP pattern tables' budget for this model (ForestExplainerOptions'
  // max_table_bytes); nullopt: the explainer's default. Smaller trades explanation speed
  // for memory (0: every tree by the node walk, the same numbers); the server gives tenant
  // models a small budget so a thousand of them fit (docs/PERFORMANCE.md §9).
  std::optional<std::size_t> explain_table_bytes;
};

// Loads one version with every check above. An empty `version` means the version the server
// would serve (ResolveServedVersion, csml/serving/served_version.h: the pointer's version if
// it loads, else the documented fallback; kNotFound when none qualifies).
// Errors carry the version and what failed.
Result<LoadedVersion> LoadVersion(const Registry& registry, std::string_view version,
                                  const LoadOptions& options = {});

// LoadVersion's model, for callers that do not need the meta.
Result<std::shared_ptr<const ServingModel>> LoadServingModel(const Registry& registry,
                                                             std::string_view version,
                                                             const LoadOptions& options = {});

// LoadServingModel of the version the registry says to serve.
Result<std::shared_ptr<const ServingModel>> LoadServedModel(const Registry& registry);

// Checks that a model file's own column names are meta.json's order. XGBoost's default names
// ("f0", "f1", ...) say nothing about order and pass. Shared by the server's loader and batch
// scoring, so a version that serves is a version that batch-scores and vice versa.
Status CheckModelColumns(const std::vector<std::string>& model_names,
                         const std::vector<std::string>& meta_names);

}  // namespace csml
