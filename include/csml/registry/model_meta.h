// ModelMeta: what the registry records about one model version (`<version>.meta.json`,
// docs/REGISTRY.md) and the one place that writes and reads that file's JSON.
//
// The server encodes requests by `features` and tiers by `thresholds`; everything else
// documents how the model came to be. Fields a later csml adds go in `extra` (a JSON object
// kept verbatim), so an older reader still loads newer metas. A plain value.
//
// What `csml train` records in `params` and `extra` is typed here too (TrainingParams,
// TrainingSummary), so the trainer that writes those objects and the report that reads them
// spell each key once, in model_meta.cc.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/evaluation/curves.h"
#include "csml/evaluation/probability_calibration.h"
#include "csml/evaluation/reference_profile.h"
#include "csml/evaluation/tier_stats.h"
#include "csml/tiering/tiers.h"

namespace csml {

// The meta.json layouts this code reads; a reader refuses a newer number. Format 2 adds the
// top-level `calibration` object (the step after the model's probability that serving applies,
// csml/evaluation/probability_calibration.h). A version without a calibration (method none)
// is still written as format 1, byte for byte as before, so older csml keeps loading it; a
// calibrated version is format 2, which an older csml refuses rather than serving
// uncalibrated risk against thresholds chosen on the calibrated scale.
inline constexpr int kMetaFormatVersion = 2;
inline constexpr int kMetaFormatWithoutCalibration = 1;
// The top-level `reference_profile` (csml/evaluation/reference_profile.h) needs no format of
// its own: it changes nothing a version serves, so an older csml that ignores it serves the
// version as before (without drift figures), and a file without one (every version trained
// before it, imported models) loads with no profile.

// The snapshots a model learned from (docs/DATA_CONTRACT.md): label_ts in (from, to], at as_of.
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

// meta.json `params`: the training parameters of `csml train`. Every key is optional when
// read (a model imported from elsewhere records `{}`); a present key of the wrong type is
// Error{kParse} naming it ("meta.json params.eta: expected a number, got \"x\"").
struct TrainingParams {
  std::string objective = "binary:logistic";
  std::string tree_method;
  std::string grow_policy;
  double eta = 0;
  int max_leaves = 0;
  int max_depth = 0;
  double min_child_weight = 0;
  double subsample = 0;
  double colsample_bytree = 0;
  double lambda = 0;
  // Written only when set (scale_pos_weight != 1, alpha != 0, constraints given), so params
  // of a model trained without them read and write as before.
  double alpha = 0;
  double scale_pos_weight = 1;
  std::vector<int> monotone_constraints;
  int max_bin = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  int max_rounds = 0;
  int early_stopping_rounds = 0;
  std::string early_stopping_metric;
  double validation_fraction = 0;
  std::string refit;  // "all_rows" or "none"

  std::string ToJson() const;  // a JSON object, keys in a stable order
  static Result<TrainingParams> FromJson(std::string_view params_json);
  // One line for people: "eta 0.1, 7 leaves, min_child_weight 10, lambda 1, subsample 1,
  // colsample_bytree 1, max_bin 256 (hist, lossguide)".
  std::string Summary() const;
  bool operator==(const TrainingParams&) const = default;
};

// One hyperparameter set the model search (csml/training/model_search.h) tried.
struct SearchCandidate {
  double eta = 0;
  int max_leaves = 0;
  int max_depth = 0;  // 0 = no limit
  double min_child_weight = 0;
  double lambda = 0;  // L2
  double alpha = 0;   // L1
  double subsample = 0;
  double colsample_bytree = 0;
  double scale_pos_weight = 1;

  // "eta 0.05, 31 leaves, depth 6, mcw 0.001, L2 1, L1 0, rows 0.8, cols 1[, spw 7.3]".
  std::string Summary() const;
  bool operator==(const SearchCandidate&) const = default;
};

// meta.json `extra.search`: the model search of `csml train`, when one ran (absent with
// --no-tune and in older metas).
struct SearchRecord {
  struct Fold {
    UnixSeconds validation_from = 0;
    UnixSeconds validation_to = 0;
    UnixSeconds train_newest_label_ts = 0;
    std::uint64_t train_rows = 0;
    std::uint64_t validation_rows = 0;
    std::uint64_t embargoed_rows = 0;
  };
  struct Trial {
    int id = 0;  // index in the candidate list; the scale_pos_weight trial repeats the winner's
    SearchCandidate params;
    int rung = -1;  // the last rung it was fitted in; -1 = never (out of budget)
    // Per fold, newest fold first; folds it was not fitted on are absent.
    std::vector<double> fold_auc;
    std::vector<double> fold_logloss;
    std::vector<int> fold_rounds;
    double mean_auc = std::numeric_limits<double>::quiet_NaN();
    double mean_logloss = std::numeric_limits<double>::quiet_NaN();
    // Predicted work (rows x rounds) of its final fit on the whole window; NaN when unknown.
    double final_fit_work = std::numeric_limits<double>::quiet_NaN();
  };
  std::string strategy = "successive_halving";
  std::string selection = "mean_fold_auc";
  std::string skipped;  // why no search ran (then only this and budget fields are set)
  double budget_seconds = std::numeric_limits<double>::quiet_NaN();
  bool budget_auto = false;
  double work_budget = std::numeric_limits<double>::quiet_NaN();  // rows x rounds
  double work_used = std::numeric_limits<double>::quiet_NaN();
  // The most a winner's final fit may cost (rows x rounds); trials above it cannot win. NaN in
  // records written before the cap.
  double final_fit_cap = std::numeric_limits<double>::quiet_NaN();
  double seconds = std::numeric_limits<double>::quiet_NaN();  // wall time of the search
  std::uint64_t search_rows = 0;                              // rows the folds were cut from
  std::uint64_t row_stride = 1;                               // every k-th row of the window
  int candidates_planned = 0;
  std::vector<Fold> folds;
  std::vector<Trial> trials;
  int winner = -1;  // index in trials
  bool scale_pos_weight_kept = false;
};

// meta.json `extra` as `csml train` writes it: what training found, for people and for the
// evaluation report of `csml test`. Each section is optional (absent in an imported model or
// an older meta); a figure that is absent or null reads as NaN (counts as 0). Keys this struct
// does not know (`promotion`, an import's fields, a later version's) are ignored when read.
struct TrainingSummary {
  struct DataCounts {
    std::uint64_t records_seen = 0;
    std::uint64_t invalid = 0;
    std::uint64_t unlabeled = 0;
    std::uint64_t immature = 0;
    std::uint64_t outside_window = 0;
    std::uint64_t in_window = 0;
  };
  struct Split {
    std::string method = "time_with_embargo";
    double validation_fraction = std::numeric_limits<double>::quiet_NaN();
    UnixSeconds validation_from = 0;
    UnixSeconds validation_to = 0;
    UnixSeconds train_from = 0;
    UnixSeconds train_to = 0;
    UnixSeconds train_newest_label_ts = 0;
    std::uint64_t train_rows = 0;
    std::uint64_t embargoed_rows = 0;
    std::uint64_t validation_rows = 0;
  };
  struct EarlyStopping {
    std::string metric;
    int best_round = 0;
    double best_value = std::numeric_limits<double>::quiet_NaN();
    int rounds_run = 0;
    int patience = 0;
    int max_rounds = 0;
  };
  struct FinalModel {
    std::string fit_on;  // "all_rows_in_window" or "training_split"
    bool refit = false;
    std::uint64_t rows = 0;
    int rounds = 0;
    std::string validation_metrics_from;
  };
  struct Tiers {
    std::string method;  // ThresholdMethodName
    // Written when finite (the validation-quantiles method).
    double medium_quantile = std::numeric_limits<double>::quiet_NaN();
    double high_quantile = std::numeric_limits<double>::quiet_NaN();
    double medium = std::numeric_limits<double>::quiet_NaN();
    double high = std::numeric_limits<double>::quiet_NaN();
    // The thresholds applied to the validation rows (`validation` and `high_tier`); read only
    // when all three tiers are recorded. base_rate is not recorded here (NaN when read).
    std::optional<TierReport> validation;
  };
  // The reliability of the served risk on the validation rows, and the post-hoc calibration
  // step that was chosen (meta.json's top-level `calibration` holds its fitted map).
  struct Calibration {
    int bins = 0;
    double error = std::numeric_limits<double>::quiet_NaN();  // ECE after calibration
    std::vector<CalibrationBin> table;  // the validation rows' reliability table (after)
    // Written by csml train from format 2 on; empty / NaN in older metas.
    std::string method;  // "none", "platt" or "isotonic"
    // Cross-fitted log loss of each method on the out-of-fold predictions.
    double logloss_none = std::numeric_limits<double>::quiet_NaN();
    double logloss_platt = std::numeric_limits<double>::quiet_NaN();
    double logloss_isotonic = std::numeric_limits<double>::quiet_NaN();
    double error_before = std::numeric_limits<double>::quiet_NaN();  // ECE of the model itself
    std::vector<CalibrationBin> table_before;  // the model's probability, before calibration
  };

  std::string trainer;  // "csml-train-2"
  std::optional<DataCounts> data;
  std::optional<Split> split;
  std::optional<EarlyStopping> early_stopping;
  std::optional<FinalModel> final_model;
  std::optional<Tiers> tiers;
  std::optional<Calibration> calibration;
  std::optional<SearchRecord> search;
  // Gain per feature of the final model, largest first (ties in the order written).
  std::vector<std::pair<std::string, double>> feature_importance_gain;

  // The `extra` object: the present sections in a stable order.
  std::string ToJson() const;
  // Reads an `extra` object. Error{kParse} naming the key ("meta.json
  // extra.tiers.validation.low.rows: expected a number or null, got \"many\"") when the text is
  // not a JSON object or a recorded section or figure has the wrong type.
  static Result<TrainingSummary> FromJson(std::string_view extra_json);
};

struct ModelMeta {
  std::string version;                     // "risk-xgb-2025-08-22-0900"; set by Registry::Publish
  std::string algo = "xgb";                // "xgb" (XGBoost JSON) or "lgbm" (LightGBM text)
  UnixSeconds created_at = 0;              // when training finished; names the version (UTC)
  std::vector<std::string> features;       // encoded column order (FeatureEncoder column names)
  Thresholds thresholds;                   // on the calibrated risk
  std::string threshold_method = "fixed";  // how thresholds were chosen
  // Applied to the model's probability before tiers (none when meta.json has no
  // `calibration`, as in every format-1 file).
  Calibration calibration;
  // How the training rows and their risk were distributed, for drift (absent in older metas
  // and imported models: no drift figures for those).
  std::optional<ReferenceProfile> reference_profile;
  TrainingWindow window;
  RowCounts rows;
  double base_rate = std::numeric_limits<double>::quiet_NaN();  // share of label 1 in training
  std::map<std::string, double> train_metrics;       // "auc", "logloss", ... on training rows
  std::map<std::string, double> validation_metrics;  // the same on held-out rows
  std::string model_file;             // file name inside the registry; set by Registry::Publish
  std::string model_sha256;           // lower-case hex; set by Registry::Publish
  std::int64_t model_size_bytes = 0;  // set by Registry::Publish
  // Kept verbatim so that fields this csml does not know survive a read and a write.
  std::string params_json = "{}";  // training parameters, a JSON object (TrainingParams)
  std::string extra_json = "{}";   // what training found and later fields (TrainingSummary)

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
