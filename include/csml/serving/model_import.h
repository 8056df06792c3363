// Importing a model trained outside csml (docs/COMMANDS.md, `csml models import FILE`): a
// LightGBM text model or an XGBoost JSON model becomes a registry version the server serves
// like one csml trained.
//
// The bytes are read with csml's own forest loader (the predictor the server scores with), so
// a model that imports is a model that serves. The model's column names must all be columns
// of the feature schema (features/schema.h, FeatureEncoder): the eight numeric features, the
// one-hot region_IN/SG/US/EU or region_code. They become the meta's feature order, so the
// server encodes requests in the model's own order. An XGBoost model is also scored by
// XGBoost itself on a set of generated rows and refused if the two disagree, so the forest is
// never trusted with a model it would read differently from the library that wrote it.
//
// Thread-safety: free functions over an immutable Registry; safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/predict/forest.h"
#include "csml/registry/model_meta.h"
#include "csml/registry/registry.h"
#include "csml/tiering/tiers.h"

namespace csml {

struct ImportOptions {
  Thresholds thresholds;                   // tier cut points recorded in the meta (0.4 / 0.7)
  std::string threshold_method = "fixed";  // how they were chosen, recorded as is
  UnixSeconds created_at = 0;              // names the version (UTC); 0 = now
  std::string source;                      // where the model came from (a path), for the meta
  // XGBoost models: rows scored by both XGBoost and the forest before the model is accepted;
  // 0 skips the check. Agreement is required within cross_check_tolerance (probability).
  std::size_t cross_check_rows = 2000;
  double cross_check_tolerance = 1e-6;

  // Thresholds valid, a method name, created_at >= 0, a tolerance in (0, 1).
  [[nodiscard]] Status Validate() const;
};

// What an import reads from the bytes before anything is written.
struct ImportedModel {
  std::string algo;                   // "lgbm" or "xgb"
  std::vector<std::string> features;  // the model's column names, in its order
  std::size_t num_trees = 0;
  // Largest |forest - XGBoost| seen by the cross-check; nullopt when it did not run.
  std::optional<double> cross_check_max_diff;
};

// Reads and checks a model without publishing it: format and trees (the forest loader's
// message names the line or JSON path), every column name against the schema (naming the
// column, and for LightGBM the line of `feature_names=`), and the XGBoost cross-check.
Result<ImportedModel> InspectModelForImport(std::string_view model_bytes,
                                            const ImportOptions& options);

// InspectModelForImport, then publishes the bytes unchanged as a new version
// risk-<algo>-YYYY-MM-DD-HHMM with a meta recording the features, thresholds, where the model
// came from and that csml did not train it (no window, no row counts, no metrics). The new
// version is not promoted. Returns the meta as written; kAlreadyExists, naming the version,
// when a version with the same sha256 is already in the registry.
Result<ModelMeta> ImportModel(const Registry& registry, std::string_view model_bytes,
                              const ImportOptions& options);

// The registry algo name for a forest format: "xgb" or "lgbm".
std::string_view AlgoForFormat(ForestFormat format);

}  // namespace csml
