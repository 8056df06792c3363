#include "csml/training/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "csml/core/json_writer.h"

namespace csml {
namespace {

constexpr int kMaxRounds = 100000;
constexpr std::size_t kPredictBlockRows = 4096;
constexpr int kCalibrationBins = 10;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

LabeledMatrix GatherRows(const Dataset& dataset, std::span<const std::size_t> rows) {
  const DenseMatrix& from = dataset.data.features;
  LabeledMatrix out;
  out.features.rows = rows.size();
  out.features.cols = from.cols;
  out.features.column_names = from.column_names;
  out.features.values.resize(rows.size() * from.cols);
  out.labels.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::span<const float> row = from.Row(rows[r]);
    std::copy(row.begin(), row.end(), out.features.Row(r).begin());
    out.labels.push_back(dataset.data.labels[rows[r]]);
  }
  return out;
}

std::vector<float> LabelsOf(const Dataset& dataset, std::span<const std::size_t> rows) {
  std::vector<float> out;
  out.reserve(rows.size());
  for (std::size_t r : rows) out.push_back(dataset.data.labels[r]);
  return out;
}

// Probabilities for the given rows of `matrix`, converted to doubles a block at a time.
Result<std::vector<double>> PredictRows(const XgboostBooster& booster, const DenseMatrix& matrix,
                                        std::span<const std::size_t> rows) {
  std::vector<double> out(rows.size());
  std::vector<double> block(kPredictBlockRows * matrix.cols);
  for (std::size_t begin = 0; begin < rows.size(); begin += kPredictBlockRows) {
    const std::size_t n = std::min(kPredictBlockRows, rows.size() - begin);
    for (std::size_t r = 0; r < n; ++r) {
      const std::span<const float> row = matrix.Row(rows[begin + r]);
      std::copy(row.begin(), row.end(),
                block.begin() + static_cast<std::ptrdiff_t>(r * matrix.cols));
    }
    if (auto s = booster.PredictDense(std::span<const double>(block.data(), n * matrix.cols),
                                      matrix.cols, std::span<double>(out.data() + begin, n));
        !s) {
      return tl::unexpected(s.error());
    }
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

bool Improves(double value, double best, bool higher_is_better) {
  return higher_is_better ? value > best : value < best;
}

std::string ParamsJson(const TrainOptions& options) {
  const BoosterParams& p = options.booster;
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Key("objective")
      .String("binary:logistic")
      .Key("tree_method")
      .String(p.tree_method)
      .Key("grow_policy")
      .String(p.grow_policy)
      .Key("eta")
      .Double(p.eta)
      .Key("max_leaves")
      .Int(p.max_leaves)
      .Key("max_depth")
      .Int(p.max_depth)
      .Key("min_child_weight")
      .Double(p.min_child_weight)
      .Key("subsample")
      .Double(p.subsample)
      .Key("colsample_bytree")
      .Double(p.colsample_bytree)
      .Key("lambda")
      .Double(p.lambda)
      .Key("max_bin")
      .Int(p.max_bin)
      .Key("seed")
      .Uint(p.seed)
      .Key("threads")
      .Int(p.threads)
      .Key("max_rounds")
      .Int(options.max_rounds)
      .Key("early_stopping_rounds")
      .Int(options.early_stopping_rounds)
      .Key("early_stopping_metric")
      .String(options.early_stopping_metric)
      .Key("validation_fraction")
      .Double(options.split.validation_fraction)
      .Key("refit")
      .String(options.refit == RefitPolicy::kAllRows ? "all_rows" : "none")
      .EndObject();
  return out;
}

void WriteTime(JsonWriter& w, UnixSeconds t) { w.String(FormatRfc3339(t)); }

std::string ExtraJson(const Dataset& dataset, const TrainOptions& options,
                      const TrainingReport& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("trainer").String("csml-train-2");

  w.Key("data")
      .BeginObject()
      .Key("records_seen")
      .Uint(dataset.counts.records_seen)
      .Key("invalid")
      .Uint(dataset.counts.invalid)
      .Key("unlabeled")
      .Uint(dataset.counts.unlabeled)
      .Key("immature")
      .Uint(dataset.counts.immature)
      .Key("outside_window")
      .Uint(dataset.counts.outside_window)
      .Key("in_window")
      .Uint(dataset.rows())
      .EndObject();

  w.Key("split")
      .BeginObject()
      .Key("method")
      .String("time_with_embargo")
      .Key("validation_fraction")
      .Double(options.split.validation_fraction)
      .Key("validation_from")
      .String(FormatRfc3339(r.split.validation_start))
      .Key("validation_to")
      .String(FormatRfc3339(r.split.validation_end))
      .Key("train_from");
  WriteTime(w, r.split.train_start);
  w.Key("train_to");
  WriteTime(w, r.split.train_end);
  w.Key("train_newest_label_ts");
  WriteTime(w, r.split.train_label_end);
  w.Key("train_rows")
      .Uint(r.split.train.size())
      .Key("embargoed_rows")
      .Uint(r.split.embargoed)
      .Key("validation_rows")
      .Uint(r.split.validation.size())
      .EndObject();

  w.Key("early_stopping")
      .BeginObject()
      .Key("metric")
      .String(options.early_stopping_metric)
      .Key("best_round")
      .Int(r.best_round)
      .Key("best_value")
      .Double(r.best_value)
      .Key("rounds_run")
      .Int(r.rounds_run)
      .Key("patience")
      .Int(options.early_stopping_rounds)
      .Key("max_rounds")
      .Int(options.max_rounds)
      .EndObject();

  w.Key("final_model")
      .BeginObject()
      .Key("fit_on")
      .String(r.refit ? "all_rows_in_window" : "training_split")
      .Key("refit")
      .Bool(r.refit)
      .Key("rows")
      .Uint(r.final_rows)
      .Key("rounds")
      .Int(r.best_round)
      .Key("validation_metrics_from")
      .String("the early-stopped model trained on the training split")
      .EndObject();

  w.Key("tiers").BeginObject().Key("method").String(ThresholdMethodName(options.thresholds.method));
  if (options.thresholds.method == ThresholdOptions::Method::kValidationQuantiles) {
    w.Key("medium_quantile")
        .Double(options.thresholds.medium_quantile)
        .Key("high_quantile")
        .Double(options.thresholds.high_quantile);
  }
  w.Key("medium").Double(r.thresholds.medium).Key("high").Double(r.thresholds.high);
  w.Key("validation").BeginObject();
  for (const TierStats& t : r.tiers.tiers) {
    w.Key(TierName(t.tier))
        .BeginObject()
        .Key("rows")
        .Uint(t.rows)
        .Key("share")
        .Double(t.share)
        .Key("churned")
        .Uint(t.positives)
        .Key("churn_rate")
        .Double(t.churn_rate)
        .EndObject();
  }
  w.EndObject();
  w.Key("high_tier")
      .BeginObject()
      .Key("precision")
      .Double(r.tiers.high_precision)
      .Key("recall")
      .Double(r.tiers.high_recall)
      .Key("lift")
      .Double(r.tiers.high_lift)
      .EndObject();
  w.EndObject();

  w.Key("calibration")
      .BeginObject()
      .Key("bins")
      .Int(kCalibrationBins)
      .Key("error")
      .Double(r.validation.calibration_error);
  w.Key("table");
  WriteCalibrationBinsJson(w, r.calibration);
  w.EndObject();

  w.Key("feature_importance_gain").BeginObject();
  for (const auto& [name, gain] : r.importance_gain) w.Key(name).Double(gain);
  w.EndObject();
  w.EndObject();
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
  return {};
}

Result<TrainedModel> TrainModel(const Dataset& dataset, const TrainOptions& options) {
  if (auto s = options.Validate(); !s) return tl::unexpected(s.error());
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
  if (auto s = CheckBothLabels(train_labels, "training split", ts.train_start, ts.train_end); !s) {
    return tl::unexpected(s.error());
  }
  if (auto s = CheckBothLabels(validation_labels, "validation split", ts.validation_start,
                               ts.validation_end);
      !s) {
    return tl::unexpected(s.error());
  }

  // ---- early stopping on the validation rows
  BoosterParams params = options.booster;
  params.eval_metrics = {options.early_stopping_metric};
  const bool higher_is_better = options.early_stopping_metric == "auc";
  std::optional<XgboostBooster> booster;
  {
    // The copies live only until XGBoost has its own.
    const LabeledMatrix train = GatherRows(dataset, ts.train);
    const LabeledMatrix validation = GatherRows(dataset, ts.validation);
    auto created = XgboostBooster::Create(params, train, &validation);
    if (!created) return tl::unexpected(created.error());
    booster.emplace(std::move(*created));
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
    auto value = booster->EvaluateValidation(options.early_stopping_metric);
    if (!value) return tl::unexpected(value.error());
    if (Improves(*value, best, higher_is_better) || best_round == 0) {
      best = *value;
      best_round = round;
    }
    const int stop_at = std::min(options.max_rounds, best_round + options.early_stopping_rounds);
    if (options.on_progress) {
      TrainingProgress p;
      p.stage = TrainingProgress::Stage::kEarlyStopping;
      p.round = round;
      p.max_rounds = options.max_rounds;
      p.value = *value;
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
  auto sliced = booster->Slice(0, best_round);
  if (!sliced) return tl::unexpected(sliced.error());
  booster.reset();  // frees XGBoost's copies of the split
  if (auto s = sliced->SetFeatureNames(dataset.data.features.column_names); !s) {
    return tl::unexpected(s.error());
  }
  report.early_stopping_seconds = SecondsSince(es_start);

  // ---- evaluation of the early-stopped model
  const Clock::time_point eval_start = Clock::now();
  auto validation_risk = PredictRows(*sliced, dataset.data.features, ts.validation);
  if (!validation_risk) return tl::unexpected(validation_risk.error());
  auto validation_metrics = ComputeBinaryMetrics(*validation_risk, validation_labels);
  if (!validation_metrics) return tl::unexpected(validation_metrics.error());
  report.validation = *validation_metrics;
  auto train_risk = PredictRows(*sliced, dataset.data.features, ts.train);
  if (!train_risk) return tl::unexpected(train_risk.error());
  auto train_metrics = ComputeBinaryMetrics(*train_risk, train_labels);
  if (!train_metrics) return tl::unexpected(train_metrics.error());
  report.train = *train_metrics;
  auto thresholds = CalibrateThresholds(*validation_risk, options.thresholds);
  if (!thresholds) return tl::unexpected(thresholds.error());
  report.thresholds = *thresholds;
  auto tiers = ComputeTierReport(*validation_risk, validation_labels, report.thresholds);
  if (!tiers) return tl::unexpected(tiers.error());
  report.tiers = *tiers;
  auto calibration = CalibrationBins(*validation_risk, validation_labels, kCalibrationBins);
  if (!calibration) return tl::unexpected(calibration.error());
  report.calibration = std::move(*calibration);
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
    final_model.emplace(std::move(*sliced));
    report.final_rows = ts.train.size();
  }
  auto model_json = final_model->SaveJson();
  if (!model_json) return tl::unexpected(model_json.error());
  out.model_json = std::move(*model_json);
  auto importance = final_model->FeatureImportanceGain();
  if (!importance) return tl::unexpected(importance.error());
  report.importance_gain = std::move(*importance);

  // ---- the meta draft
  ModelMeta& meta = out.meta;
  meta.algo = "xgb";
  meta.created_at = options.created_at != 0 ? options.created_at : NowUtc();
  meta.features = dataset.data.features.column_names;
  meta.thresholds = report.thresholds;
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
  meta.params_json = ParamsJson(options);
  meta.extra_json = ExtraJson(dataset, options, report);
  return out;
}

}  // namespace csml
