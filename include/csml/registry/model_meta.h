// ModelMeta: what the registry records about one model version (`<version>.meta.json`,
// DESIGN section 5) and the one place that writes and reads that file's JSON.
//
// The server encodes requests by `features` and tiers by `thresholds`; everything else
// documents how the model came to be. Fields a later csml adds go in `extra` (a JSON object
// kept verbatim), so an older reader still loads newer metas. A plain value.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/tiering/tiers.h"

namespace csml {

// The meta.json layout this code writes; a reader refuses a newer number.
inline constexpr int kMetaFormatVersion = 1;

// The snapshots a model learned from (DESIGN section 4): label_ts in (from, to], at as_of.
struct TrainingWindow {
  UnixSeconds from = 0;   // exclusive
  UnixSeconds to = 0;     // inclusive; the as-of time for a plain N-day window
  UnixSeconds as_of = 0;  // the time the outcomes were known at
  int days = 0;           // N of --days
};

struct RowCounts {
  std::int64_t train = 0;              // rows the model was fit on
  std::int64_t validation = 0;         // rows held out for validation metrics
  std::int64_t skipped_unlabeled = 0;  // label null, or outcome not known at as_of
  std::int64_t skipped_invalid = 0;    // records that broke the data contract
  std::int64_t outside_window = 0;     // labeled, but before the window
};

struct ModelMeta {
  std::string version;                // "risk-xgb-2025-08-22-0900"; set by Registry::Publish
  std::string algo = "xgb";           // "xgb" (XGBoost JSON) or "lgbm" (LightGBM text)
  UnixSeconds created_at = 0;         // when training finished; names the version (UTC)
  std::vector<std::string> features;  // encoded column order (FeatureEncoder column names)
  Thresholds thresholds;
  std::string threshold_method = "fixed";  // how thresholds were chosen
  TrainingWindow window;
  RowCounts rows;
  double base_rate = std::numeric_limits<double>::quiet_NaN();  // share of label 1 in training
  std::map<std::string, double> train_metrics;       // "auc", "logloss", ... on training rows
  std::map<std::string, double> validation_metrics;  // the same on held-out rows
  std::string model_file;             // file name inside the registry; set by Registry::Publish
  std::string model_sha256;           // lower-case hex; set by Registry::Publish
  std::int64_t model_size_bytes = 0;  // set by Registry::Publish
  std::string params_json = "{}";     // training parameters, a JSON object
  std::string extra_json = "{}";      // fields added by later versions, a JSON object

  // The meta.json text: an object with a stable key order, NaN metrics as null.
  std::string ToJson() const;

  // Parses meta.json text. Missing required keys, wrong types or out-of-range values are
  // Error{kParse} naming the key ("thresholds.high: expected a number in [0, 1], got 2").
  static Result<ModelMeta> FromJson(std::string_view json);

  // What the registry needs before publishing a draft (version, model_file, model_sha256
  // and model_size_bytes are filled by the registry and not checked here): a known algo,
  // created_at > 0, at least one feature and no empty or repeated name, valid thresholds,
  // params_json and extra_json JSON objects.
  [[nodiscard]] Status ValidateDraft() const;
};

// True for a name the registry may use as a file-name stem: 1 to 100 characters from
// [a-z0-9-], starting with a letter or digit. Rules out "..", "/" and hidden files.
bool IsValidVersionName(std::string_view version);

// ".model.json" for xgb, ".model.txt" for lgbm; empty for an unknown algo.
std::string_view ModelFileSuffix(std::string_view algo);

}  // namespace csml
