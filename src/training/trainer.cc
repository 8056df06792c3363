#include "csml/training/trainer.h"

#include <string>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/features/schema.h"
#include "csml/model/dense_matrix.h"
#include "csml/training/metrics.h"

namespace csml {
namespace {

constexpr int kMaxRounds = 100000;

std::string ParamsJson(const TrainOptions& options) {
  const BoosterParams& p = options.booster;
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Key("objective")
      .String("binary:logistic")
      .Key("rounds")
      .Int(options.rounds)
      .Key("eta")
      .Double(p.eta)
      .Key("max_leaves")
      .Int(p.max_leaves)
      .Key("max_depth")
      .Int(p.max_depth)
      .Key("tree_method")
      .String(p.tree_method)
      .Key("grow_policy")
      .String(p.grow_policy)
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
      .EndObject();
  return out;
}

std::string ExtraJson(const std::vector<std::pair<std::string, double>>& importance) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("trainer").String("basic").Key("feature_importance_gain").BeginObject();
  for (const auto& [name, gain] : importance) w.Key(name).Double(gain);
  w.EndObject().EndObject();
  return out;
}

}  // namespace

Status TrainOptions::Validate() const {
  if (rounds < 1 || rounds > kMaxRounds) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("TrainOptions.rounds: expected an integer in [1, {}], got {}",
                                 kMaxRounds, rounds));
  }
  if (created_at < 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("TrainOptions.created_at: expected a time >= 0 (0 = now), got {}", created_at));
  }
  if (auto s = booster.Validate(); !s) return s;
  if (auto s = thresholds.Validate(); !s) {
    return tl::unexpected(s.error().WithContext("TrainOptions.thresholds"));
  }
  return {};
}

Result<TrainedModel> TrainModel(const TrainingData& data, const TrainOptions& options) {
  if (auto s = options.Validate(); !s) return tl::unexpected(s.error());
  const std::vector<Snapshot>& records = data.window.records;
  if (records.size() < 2) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("training data: expected at least 2 labeled records in the "
                                 "window, got {}",
                                 records.size()));
  }

  const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
  auto encoder = FeatureEncoder::Create(columns);
  if (!encoder) return tl::unexpected(encoder.error());
  LabeledMatrix train;
  train.features = DenseMatrix::Missing(records.size(), columns.size());
  train.features.column_names = columns;
  train.labels.reserve(records.size());
  for (std::size_t r = 0; r < records.size(); ++r) {
    const Snapshot& s = records[r];
    if (!s.label.has_value() || (*s.label != 0 && *s.label != 1)) {
      return MakeError(
          ErrorCode::kValidation,
          fmt::format("training data: record {} (user {}): expected label 0 or 1", r, s.user_id));
    }
    encoder->Encode(s.features, train.features.Row(r));
    train.labels.push_back(static_cast<float>(*s.label));
  }
  auto base_rate = BaseRate(train.labels);
  if (!base_rate) return tl::unexpected(base_rate.error());
  if (*base_rate == 0.0 || *base_rate == 1.0) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("training data: expected both labels 0 and 1, got only {} in "
                                 "{} records",
                                 *base_rate == 0.0 ? 0 : 1, records.size()));
  }

  auto booster = XgboostBooster::Create(options.booster, train, nullptr);
  if (!booster) return tl::unexpected(booster.error());
  for (int round = 0; round < options.rounds; ++round) {
    if (auto s = booster->UpdateOneIteration(round); !s) {
      return tl::unexpected(s.error().WithContext(fmt::format("training round {}", round)));
    }
  }

  const std::vector<double> rows(train.features.values.begin(), train.features.values.end());
  std::vector<double> risk(records.size());
  if (auto s = booster->PredictDense(rows, columns.size(), risk); !s) {
    return tl::unexpected(s.error());
  }
  auto metrics = ComputeBinaryMetrics(risk, train.labels);
  if (!metrics) return tl::unexpected(metrics.error());
  auto model_json = booster->SaveJson();
  if (!model_json) return tl::unexpected(model_json.error());
  auto importance = booster->FeatureImportanceGain();
  if (!importance) return tl::unexpected(importance.error());

  TrainedModel out;
  out.model_json = std::move(*model_json);
  out.importance_gain = std::move(*importance);
  ModelMeta& meta = out.meta;
  meta.algo = "xgb";
  meta.created_at = options.created_at != 0 ? options.created_at : NowUtc();
  meta.features = columns;
  meta.thresholds = options.thresholds;
  meta.threshold_method = "fixed";
  meta.window.from = data.window.start;
  meta.window.to = data.window.as_of;
  meta.window.as_of = data.window.as_of;
  meta.window.days = static_cast<int>((data.window.as_of - data.window.start) / kSecondsPerDay);
  meta.rows.train = static_cast<std::int64_t>(records.size());
  meta.rows.validation = 0;
  meta.rows.skipped_unlabeled =
      static_cast<std::int64_t>(data.window.unlabeled + data.window.immature);
  meta.rows.skipped_invalid = static_cast<std::int64_t>(data.invalid_records);
  meta.rows.outside_window = static_cast<std::int64_t>(data.window.outside_window);
  meta.base_rate = metrics->base_rate;
  meta.train_metrics = {
      {"auc", metrics->auc}, {"logloss", metrics->log_loss}, {"brier", metrics->brier}};
  meta.params_json = ParamsJson(options);
  meta.extra_json = ExtraJson(out.importance_gain);
  return out;
}

Result<ModelMeta> TrainAndPublish(const TrainingData& data, const TrainOptions& options,
                                  const Registry& registry) {
  auto trained = TrainModel(data, options);
  if (!trained) return tl::unexpected(trained.error());
  return registry.Publish(trained->model_json, std::move(trained->meta));
}

}  // namespace csml
