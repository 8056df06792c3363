#include "csml/training/trainer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "csml/evaluation/reference_profile.h"
#include "csml/features/schema.h"
#include "csml/predict/forest.h"

namespace csml {
namespace {

constexpr int kMaxRounds = 100000;
constexpr std::size_t kPredictBlockRows = 4096;
constexpr int kCalibrationBins = 10;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<float> LabelsOf(const Dataset& dataset, std::span<const std::size_t> rows) {
  std::vector<float> out;
  out.reserve(rows.size());
  for (std::size_t r : rows) out.push_back(dataset.data.labels[r]);
  return out;
}

// The reference profile (evaluation/reference_profile.h): the features of every row in the
// window, the served risk of the validation rows (held out, so distributed as serving will
// see it). None for a dataset built without its regions.
Result<std::optional<ReferenceProfile>> ProfileOf(const Dataset& dataset,
                                                  std::span<const double> served_risk) {
  const DenseMatrix& m = dataset.data.features;
  if (dataset.region.size() != dataset.rows() || served_risk.empty()) {
    return std::optional<ReferenceProfile>();
  }
  std::array<std::vector<double>, kNumNumericFeatures> numeric;
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    const std::string_view name = SpecOf(static_cast<NumericFeature>(f)).name;
    const auto column = std::find(m.column_names.begin(), m.column_names.end(), name);
    if (column == m.column_names.end()) return std::optional<ReferenceProfile>();
    const auto c = static_cast<std::size_t>(column - m.column_names.begin());
    numeric[f].reserve(m.rows);
    for (std::size_t r = 0; r < m.rows; ++r) numeric[f].push_back(m.Row(r)[c]);
  }
  CSML_ASSIGN_OR_RETURN(ReferenceProfile profile,
                        BuildReferenceProfile(numeric, dataset.region, served_risk));
  return std::optional<ReferenceProfile>(std::move(profile));
}

// Probabilities for the given rows of `matrix` through csml's forest, the predictor the server
// and `csml predict` score with (its batch walk; bit-identical to XGBoost's own on the models
// csml trains, docs/PERFORMANCE.md), converted to doubles a block at a time.
Result<std::vector<double>> PredictRows(const Forest& forest, const DenseMatrix& matrix,
                                        std::span<const std::size_t> rows) {
  if (forest.num_features() != matrix.cols) {
    return MakeError(ErrorCode::kModel,
                     fmt::format("the model has {} features, the matrix {} columns",
                                 forest.num_features(), matrix.cols));
  }
  std::vector<double> out(rows.size());
  std::vector<double> block(kPredictBlockRows * matrix.cols);
  for (std::size_t begin = 0; begin < rows.size(); begin += kPredictBlockRows) {
    const std::size_t n = std::min(kPredictBlockRows, rows.size() - begin);
    for (std::size_t r = 0; r < n; ++r) {
      const std::span<const float> row = matrix.Row(rows[begin + r]);
      std::copy(row.begin(), row.end(),
                block.begin() + static_cast<std::ptrdiff_t>(r * matrix.cols));
    }
    forest.PredictBatch(std::span<const double>(block.data(), n * matrix.cols),
                        std::span<double>(out.data() + begin, n));
  }
  return out;
}

std::size_t CountPositives(std::span<const float> labels) {
  return static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1.0f));
}

Status CheckBothLabels(std::span<const float> labels, std::string_view side, UnixSeconds from,
                       UnixSeconds to) {
  const std::size_t positives = CountPositives(labels);
  if (positives == 0 || positives == labels.size()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{} ({} rows, snapshots from {} to {}): expected both labels 0 "
                                 "and 1, got only {}; a model of one class can be neither "
                                 "trained nor judged",
                                 side, labels.size(), FormatRfc3339(from), FormatRfc3339(to),
                                 positives == 0 ? 0 : 1));
  }
  return {};
}

// The calibration of trainer.h's step 3b. Too few validation rows to cross-fit (fewer than
// two per block) leave the model uncalibrated unless a method was asked for.
Result<CalibrationChoice> ChooseServedCalibration(std::span<const double> risk,
                                                  std::span<const float> labels,
                                                  const TrainOptions& options) {
  CalibrationChoiceOptions choice;
  choice.force = options.calibration;
  if (options.calibration == CalibrationMethod::kNone ||
      (!options.calibration && risk.size() < static_cast<std::size_t>(choice.folds) * 2)) {
    CalibrationChoice none;
    none.logloss_none = std::numeric_limits<double>::quiet_NaN();
    none.logloss_platt = std::numeric_limits<double>::quiet_NaN();
    none.logloss_isotonic = std::numeric_limits<double>::quiet_NaN();
    none.cross_fitted.assign(risk.begin(), risk.end());
    return none;
  }
  auto chosen = ChooseCalibration(risk, labels, choice);
  if (!chosen) return tl::unexpected(chosen.error().WithContext("calibration"));
  return chosen;
}

bool Improves(double value, double best, bool higher_is_better) {
  return higher_is_better ? value > best : value < best;
}

TrainingParams ParamsOf(const TrainOptions& options, const BoosterParams& p) {
  TrainingParams out;
  out.tree_method = p.tree_method;
  out.grow_policy = p.grow_policy;
  out.eta = p.eta;
  out.max_leaves = p.max_leaves;
  out.max_depth = p.max_depth;
  out.min_child_weight = p.min_child_weight;
  out.subsample = p.subsample;
  out.colsample_bytree = p.colsample_bytree;
  out.lambda = p.lambda;
  out.alpha = p.alpha;
  out.scale_pos_weight = p.scale_pos_weight;
  out.monotone_constraints = p.monotone_constraints;
  out.max_bin = p.max_bin;
  out.seed = p.seed;
  out.threads = p.threads;
  out.max_rounds = options.max_rounds;
  out.early_stopping_rounds = options.early_stopping_rounds;
  out.early_stopping_metric = options.early_stopping_metric;
  out.validation_fraction = options.split.validation_fraction;
  out.refit = options.refit == RefitPolicy::kAllRows ? "all_rows" : "none";
  return out;
}

TrainingSummary SummaryOf(const Dataset& dataset, const TrainOptions& options,
                          const TrainingReport& r) {
  TrainingSummary out;
  out.trainer = "csml-train-2";
  // Assigned, not emplace()d: clang-tidy's clang cannot see these nested aggregates'
  // default constructors inside the enclosing struct's header.
  out.data = TrainingSummary::DataCounts{};
  TrainingSummary::DataCounts& data = *out.data;
  data.records_seen = dataset.counts.records_seen;
  data.invalid = dataset.counts.invalid;
  data.unlabeled = dataset.counts.unlabeled;
  data.immature = dataset.counts.immature;
  data.outside_window = dataset.counts.outside_window;
  data.in_window = dataset.rows();

  out.split = TrainingSummary::Split{};
  TrainingSummary::Split& split = *out.split;
  split.validation_fraction = options.split.validation_fraction;
  split.validation_from = r.split.validation_start;
  split.validation_to = r.split.validation_end;
  split.train_from = r.split.train_start;
  split.train_to = r.split.train_end;
  split.train_newest_label_ts = r.split.train_label_end;
  split.train_rows = r.split.train.size();
  split.embargoed_rows = r.split.embargoed;
  split.validation_rows = r.split.validation.size();

  out.early_stopping = TrainingSummary::EarlyStopping{};
  TrainingSummary::EarlyStopping& es = *out.early_stopping;
  es.metric = options.early_stopping_metric;
  es.best_round = r.best_round;
  es.best_value = r.best_value;
  es.rounds_run = r.rounds_run;
  es.patience = options.early_stopping_rounds;
  es.max_rounds = options.max_rounds;

  out.final_model = TrainingSummary::FinalModel{};
  TrainingSummary::FinalModel& final_model = *out.final_model;
  final_model.fit_on = r.refit ? "all_rows_in_window" : "training_split";
  final_model.refit = r.refit;
  final_model.rows = r.final_rows;
  final_model.rounds = r.best_round;
  final_model.validation_metrics_from = "the early-stopped model trained on the training split";

  out.tiers = TrainingSummary::Tiers{};
  TrainingSummary::Tiers& tiers = *out.tiers;
  tiers.method = std::string(ThresholdMethodName(options.thresholds.method));
  if (options.thresholds.method == ThresholdOptions::Method::kValidationQuantiles) {
    tiers.medium_quantile = options.thresholds.medium_quantile;
    tiers.high_quantile = options.thresholds.high_quantile;
  }
  tiers.medium = r.thresholds.medium;
  tiers.high = r.thresholds.high;
  tiers.validation = r.tiers;

  out.calibration = TrainingSummary::Calibration{};
  TrainingSummary::Calibration& calibration = *out.calibration;
  calibration.bins = kCalibrationBins;
  calibration.error = r.validation.calibration_error;
  calibration.table = r.calibration;
  calibration.method =
      std::string(CalibrationMethodName(r.calibration_choice.calibration.method()));
  calibration.logloss_none = r.calibration_choice.logloss_none;
  calibration.logloss_platt = r.calibration_choice.logloss_platt;
  calibration.logloss_isotonic = r.calibration_choice.logloss_isotonic;
  calibration.error_before = r.validation_uncalibrated.calibration_error;
  calibration.table_before = r.calibration_before;

  out.search = r.search;
  out.feature_importance_gain = r.importance_gain;
  return out;
}

std::map<std::string, double> ValidationMetricsMap(const TrainingReport& r) {
  const BinaryMetrics& v = r.validation;
  return {
      {"auc", v.auc},
      {"auc_standard_error", v.auc_standard_error},
      {"pr_auc", v.pr_auc},
      {"logloss", v.log_loss},
      {"brier", v.brier},
      {"base_rate", v.base_rate},
      {"calibration_error", v.calibration_error},
      {"top_decile_lift", v.top_decile_lift},
      {"high_tier_precision", r.tiers.high_precision},
      {"high_tier_recall", r.tiers.high_recall},
      {"high_tier_lift", r.tiers.high_lift},
  };
}

}  // namespace

BoosterParams DefaultTrainingBoosterParams() {
  // docs/TRAINING.md has the experiment: the best settings (4 to 7 leaves, eta 0.05 to 0.1)
  // are within 0.001 AUC of each other on next-month outcomes; 7 leaves leave room for
  // interactions real data has, eta 0.1 needs half the rounds of 0.05, and a minimum hessian
  // of 10 keeps small windows from fitting leaves to a handful of customers.
  BoosterParams p;
  p.tree_method = "hist";
  p.grow_policy = "lossguide";
  p.eta = 0.1;
  p.max_leaves = 7;
  p.max_depth = 0;
  p.min_child_weight = 10.0;
  p.subsample = 1.0;
  p.colsample_bytree = 1.0;
  p.lambda = 1.0;
  p.max_bin = 256;
  return p;
}

Status TrainOptions::Validate() const {
  if (max_rounds < 1 || max_rounds > kMaxRounds) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("max rounds: expected an integer in [1, {}], got {}", kMaxRounds, max_rounds));
  }
  if (early_stopping_rounds < 1 || early_stopping_rounds > max_rounds) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("early stopping rounds: expected an integer in [1, max rounds "
                                 "= {}], got {}",
                                 max_rounds, early_stopping_rounds));
  }
  if (early_stopping_metric != "logloss" && early_stopping_metric != "auc") {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("early stopping metric: expected 'logloss' or 'auc', got '{}'",
                                 early_stopping_metric));
  }
  if (created_at < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("created_at: expected a time >= 0 (0 = now), got {}", created_at));
  }
  if (auto s = booster.Validate(); !s) return s;
  if (auto s = split.Validate(); !s) return s;
  if (auto s = thresholds.Validate(); !s) return s;
  if (search) {
    if (auto s = search->Validate(); !s) return s;
  }
  for (const auto& [name, sign] : monotone) {
    if (sign != 1 && sign != -1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("monotone: expected +1 or -1 for '{}', got {}", name, sign));
    }
  }
  return {};
}

namespace {

// The monotone constraints by column, from TrainOptions::monotone.
Result<std::vector<int>> MonotoneByColumn(const std::vector<std::pair<std::string, int>>& wanted,
                                          const std::vector<std::string>& columns) {
  std::vector<int> out;
  if (wanted.empty()) return out;
  out.assign(columns.size(), 0);
  for (const auto& [name, sign] : wanted) {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) {
      std::string known;
      for (const std::string& c : columns) known += (known.empty() ? "" : ", ") + c;
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("monotone: expected a model column ({}), got '{}'", known, name));
    }
    out[static_cast<std::size_t>(it - columns.begin())] = sign;
  }
  return out;
}

// With model reasons, extra.reasons holds the mode and the catalog: the catalog ships with the
// version, so a later csml's default cannot change its codes.
void AddReasonSettings(const TrainOptions& options, std::string& extra) {
  if (options.reasons != ReasonMode::kModel) return;
  const ReasonSettings settings{ReasonMode::kModel, ReasonCatalog::Default()};
  const std::size_t close = extra.rfind('}');
  if (close == std::string::npos) return;
  const bool empty = extra.find_first_not_of(" \n{") >= close;
  extra.insert(close, std::string(empty ? "" : ",") + "\"reasons\":" + settings.ToJson());
}

}  // namespace

Result<TrainedModel> TrainModel(const Dataset& dataset, const TrainOptions& options) {
  CSML_TRY(options.Validate());
  if (auto s = dataset.data.Validate(); !s && dataset.rows() > 0) {
    return tl::unexpected(s.error().WithContext("dataset"));
  }
  TrainedModel out;
  TrainingReport& report = out.report;
  auto split = SplitByTime(dataset.snapshot_ts, dataset.label_ts, options.split);
  if (!split) return tl::unexpected(split.error());
  report.split = std::move(*split);
  const TimeSplit& ts = report.split;
  const std::vector<float> train_labels = LabelsOf(dataset, ts.train);
  const std::vector<float> validation_labels = LabelsOf(dataset, ts.validation);
  CSML_TRY(CheckBothLabels(train_labels, "training split", ts.train_start, ts.train_end));
  if (auto s = CheckBothLabels(validation_labels, "validation split", ts.validation_start,
                               ts.validation_end);
      !s) {
    return tl::unexpected(s.error());
  }

  // ---- model selection (model_search.h); then the fixed path below runs with its winner
  BoosterParams params = options.booster;
  CSML_ASSIGN_OR_RETURN(auto monotone,
                        MonotoneByColumn(options.monotone, dataset.data.features.column_names));
  if (!monotone.empty()) params.monotone_constraints = std::move(monotone);
  if (options.search) {
    const Clock::time_point search_start = Clock::now();
    CSML_ASSIGN_OR_RETURN(
        auto searched,
        SearchHyperparameters(dataset, params, options.max_rounds, options.early_stopping_rounds,
                              options.early_stopping_metric, *options.search));
    TrainOptions fixed = options;
    fixed.search.reset();
    fixed.monotone.clear();
    fixed.booster = std::move(searched.winner);
    // A weighted model's log loss is not the served risk's (calibration undoes the weight),
    // so its early stopping watches AUC.
    if (fixed.booster.scale_pos_weight != 1.0) fixed.early_stopping_metric = "auc";
    const double search_seconds = SecondsSince(search_start);
    CSML_ASSIGN_OR_RETURN(out, TrainModel(dataset, fixed));
    out.report.search = std::move(searched.record);
    out.report.search_seconds = search_seconds;
    out.meta.extra_json = SummaryOf(dataset, fixed, out.report).ToJson();
    AddReasonSettings(fixed, out.meta.extra_json);
    return out;
  }
  report.params = params;

  // ---- early stopping on the validation rows
  params.eval_metrics = {options.early_stopping_metric};
  const bool higher_is_better = options.early_stopping_metric == "auc";
  std::optional<XgboostBooster> booster;
  {
    // The copies live only until XGBoost has its own.
    const LabeledMatrix train = GatherRows(dataset, ts.train);
    const LabeledMatrix validation = GatherRows(dataset, ts.validation);
    CSML_ASSIGN_OR_RETURN(auto created, XgboostBooster::Create(params, train, &validation));
    booster.emplace(std::move(created));
  }
  const Clock::time_point es_start = Clock::now();
  double best = higher_is_better ? -std::numeric_limits<double>::infinity()
                                 : std::numeric_limits<double>::infinity();
  int best_round = 0;
  int round = 0;
  while (round < options.max_rounds) {
    if (auto s = booster->UpdateOneIteration(round); !s) {
      return tl::unexpected(s.error().WithContext(fmt::format("training round {}", round + 1)));
    }
    ++round;
    CSML_ASSIGN_OR_RETURN(auto value, booster->EvaluateValidation(options.early_stopping_metric));
    if (Improves(value, best, higher_is_better) || best_round == 0) {
      best = value;
      best_round = round;
    }
    const int stop_at = std::min(options.max_rounds, best_round + options.early_stopping_rounds);
    if (options.on_progress) {
      TrainingProgress p;
      p.stage = TrainingProgress::Stage::kEarlyStopping;
      p.round = round;
      p.max_rounds = options.max_rounds;
      p.value = value;
      p.best_value = best;
      p.best_round = best_round;
      p.elapsed_seconds = SecondsSince(es_start);
      p.eta_seconds = p.elapsed_seconds / round * (stop_at - round);
      options.on_progress(p);
    }
    if (round >= stop_at) break;
  }
  report.rounds_run = round;
  report.best_round = best_round;
  report.best_value = best;
  CSML_ASSIGN_OR_RETURN(auto sliced, booster->Slice(0, best_round));
  booster.reset();  // frees XGBoost's copies of the split
  CSML_TRY(sliced.SetFeatureNames(dataset.data.features.column_names));
  report.early_stopping_seconds = SecondsSince(es_start);

  // ---- evaluation of the early-stopped model
  const Clock::time_point eval_start = Clock::now();
  CSML_ASSIGN_OR_RETURN(auto sliced_json, sliced.SaveJson());
  CSML_ASSIGN_OR_RETURN(auto sliced_forest, LoadXgboostJson(sliced_json));
  CSML_ASSIGN_OR_RETURN(auto validation_risk,
                        PredictRows(sliced_forest, dataset.data.features, ts.validation));
  CSML_ASSIGN_OR_RETURN(auto uncalibrated_metrics,
                        ComputeBinaryMetrics(validation_risk, validation_labels));
  report.validation_uncalibrated = uncalibrated_metrics;
  CSML_ASSIGN_OR_RETURN(auto calibration_before,
                        CalibrationBins(validation_risk, validation_labels, kCalibrationBins));
  report.calibration_before = std::move(calibration_before);
  CSML_ASSIGN_OR_RETURN(report.calibration_choice,
                        ChooseServedCalibration(validation_risk, validation_labels, options));
  const Calibration& calibration_map = report.calibration_choice.calibration;
  // The served risk of the validation rows: thresholds are its quantiles and the tiers its
  // shares, as /score will classify. Metrics use the cross-fitted risk (honest figures).
  std::vector<double> served_risk(validation_risk.size());
  ApplyCalibration(calibration_map, validation_risk, served_risk);
  const std::vector<double>& honest_risk = report.calibration_choice.cross_fitted;
  CSML_ASSIGN_OR_RETURN(auto validation_metrics,
                        ComputeBinaryMetrics(honest_risk, validation_labels));
  report.validation = validation_metrics;
  CSML_ASSIGN_OR_RETURN(auto train_risk,
                        PredictRows(sliced_forest, dataset.data.features, ts.train));
  ApplyCalibration(calibration_map, train_risk, train_risk);
  CSML_ASSIGN_OR_RETURN(auto train_metrics, ComputeBinaryMetrics(train_risk, train_labels));
  report.train = train_metrics;
  CSML_ASSIGN_OR_RETURN(out.meta.reference_profile, ProfileOf(dataset, served_risk));
  CSML_ASSIGN_OR_RETURN(auto thresholds, CalibrateThresholds(served_risk, options.thresholds));
  report.thresholds = thresholds;
  CSML_ASSIGN_OR_RETURN(auto tiers,
                        ComputeTierReport(served_risk, validation_labels, report.thresholds));
  report.tiers = tiers;
  CSML_ASSIGN_OR_RETURN(auto calibration,
                        CalibrationBins(honest_risk, validation_labels, kCalibrationBins));
  report.calibration = std::move(calibration);
  report.evaluate_seconds = SecondsSince(eval_start);

  // ---- the final model
  std::optional<XgboostBooster> final_model;
  if (options.refit == RefitPolicy::kAllRows) {
    const Clock::time_point refit_start = Clock::now();
    auto refit = XgboostBooster::Create(params, dataset.data, nullptr);
    if (!refit) return tl::unexpected(refit.error());
    for (int r = 0; r < best_round; ++r) {
      if (auto s = refit->UpdateOneIteration(r); !s) {
        return tl::unexpected(s.error().WithContext(fmt::format("refit round {}", r + 1)));
      }
      if (options.on_progress) {
        TrainingProgress p;
        p.stage = TrainingProgress::Stage::kRefit;
        p.round = r + 1;
        p.max_rounds = best_round;
        p.best_round = best_round;
        p.elapsed_seconds = SecondsSince(refit_start);
        p.eta_seconds = p.elapsed_seconds / (r + 1) * (best_round - r - 1);
        options.on_progress(p);
      }
    }
    final_model.emplace(std::move(*refit));
    report.refit = true;
    report.final_rows = dataset.rows();
    report.refit_seconds = SecondsSince(refit_start);
  } else {
    final_model.emplace(std::move(sliced));
    report.final_rows = ts.train.size();
  }
  CSML_ASSIGN_OR_RETURN(auto model_json, final_model->SaveJson());
  out.model_json = std::move(model_json);
  CSML_ASSIGN_OR_RETURN(auto importance, final_model->FeatureImportanceGain());
  report.importance_gain = std::move(importance);

  // ---- the meta draft
  ModelMeta& meta = out.meta;
  meta.algo = "xgb";
  meta.created_at = options.created_at != 0 ? options.created_at : NowUtc();
  meta.features = dataset.data.features.column_names;
  meta.thresholds = report.thresholds;
  meta.calibration = report.calibration_choice.calibration;
  meta.threshold_method = std::string(ThresholdMethodName(options.thresholds.method));
  meta.window.from = dataset.start;
  meta.window.to = dataset.as_of;
  meta.window.as_of = dataset.as_of;
  meta.window.days = dataset.days;
  meta.rows.train = static_cast<std::int64_t>(report.final_rows);
  meta.rows.validation = static_cast<std::int64_t>(ts.validation.size());
  meta.rows.skipped_unlabeled =
      static_cast<std::int64_t>(dataset.counts.unlabeled + dataset.counts.immature);
  meta.rows.skipped_invalid = static_cast<std::int64_t>(dataset.counts.invalid);
  meta.rows.outside_window = static_cast<std::int64_t>(dataset.counts.outside_window);
  const std::size_t final_positives =
      report.refit ? CountPositives(dataset.data.labels) : CountPositives(train_labels);
  meta.base_rate = static_cast<double>(final_positives) / static_cast<double>(report.final_rows);
  meta.train_metrics = {
      {"auc", report.train.auc}, {"logloss", report.train.log_loss}, {"brier", report.train.brier}};
  meta.validation_metrics = ValidationMetricsMap(report);
  meta.params_json = ParamsOf(options, report.params).ToJson();
  meta.extra_json = SummaryOf(dataset, options, report).ToJson();
  AddReasonSettings(options, meta.extra_json);
  return out;
}

}  // namespace csml
