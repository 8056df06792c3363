// TrainingParams and TrainingSummary: meta.json `params` and `extra` as csml train writes
// them, read back by the evaluation report (docs/REGISTRY.md).
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "csml/registry/model_meta.h"

namespace csml {
namespace {

TrainingSummary FullSummary() {
  TrainingSummary s;
  s.trainer = "csml-train-2";
  s.data = TrainingSummary::DataCounts{1000, 3, 20, 7, 11, 959};
  TrainingSummary::Split& split = s.split.emplace();
  split.validation_fraction = 0.2;
  split.validation_from = 1750000000;
  split.validation_to = 1755000000;
  split.train_from = 1740000000;
  split.train_to = 1749000000;
  split.train_newest_label_ts = 1749500000;
  split.train_rows = 700;
  split.embargoed_rows = 60;
  split.validation_rows = 199;
  s.early_stopping = TrainingSummary::EarlyStopping{"logloss", 42, 0.3125, 92, 50, 2000};
  s.final_model =
      TrainingSummary::FinalModel{"all_rows_in_window", true, 959, 42, "the early-stopped model"};
  TrainingSummary::Tiers& tiers = s.tiers.emplace();
  tiers.method = "validation_quantiles";
  tiers.medium_quantile = 0.7;
  tiers.high_quantile = 0.9;
  tiers.medium = 0.25;
  tiers.high = 0.5;
  TierReport report;
  report.tiers[0] = {Tier::kLow, 139, 20, 0.7, 0.14};
  report.tiers[1] = {Tier::kMedium, 40, 12, 0.2, 0.3};
  report.tiers[2] = {Tier::kHigh, 20, 15, 0.1, 0.75};
  report.base_rate = std::nan("");
  report.high_precision = 0.75;
  report.high_recall = 15.0 / 47.0;
  report.high_lift = 2.5;
  tiers.validation = report;
  TrainingSummary::Calibration& calibration = s.calibration.emplace();
  calibration.bins = 2;
  calibration.error = 0.04;
  calibration.table = {{0.0, 0.5, 150, 20, 0.12, 0.1333}, {0.5, 1.0, 49, 27, std::nan(""), 0.55}};
  calibration.method = "platt";
  calibration.logloss_none = 0.31;
  calibration.logloss_platt = 0.30;
  calibration.logloss_isotonic = std::nan("");
  calibration.error_before = 0.06;
  calibration.table_before = {{0.0, 1.0, 199, 47, 0.2, 0.236}};
  s.feature_importance_gain = {{"usage_score", 60.5}, {"plan_value", 12}, {"region_IN", 0}};
  return s;
}

TEST(TrainingSummary, RoundTripsEverySectionThroughJson) {
  const TrainingSummary s = FullSummary();
  const std::string json = s.ToJson();
  auto back = TrainingSummary::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().message << "\n" << json;
  EXPECT_EQ(back->ToJson(), json);

  EXPECT_EQ(back->trainer, "csml-train-2");
  ASSERT_TRUE(back->data.has_value());
  EXPECT_EQ(back->data->records_seen, 1000u);
  EXPECT_EQ(back->data->in_window, 959u);
  ASSERT_TRUE(back->split.has_value());
  EXPECT_EQ(back->split->train_newest_label_ts, 1749500000);
  EXPECT_EQ(back->split->embargoed_rows, 60u);
  EXPECT_DOUBLE_EQ(back->split->validation_fraction, 0.2);
  ASSERT_TRUE(back->early_stopping.has_value());
  EXPECT_EQ(back->early_stopping->best_round, 42);
  EXPECT_DOUBLE_EQ(back->early_stopping->best_value, 0.3125);
  ASSERT_TRUE(back->final_model.has_value());
  EXPECT_TRUE(back->final_model->refit);
  EXPECT_EQ(back->final_model->fit_on, "all_rows_in_window");
  ASSERT_TRUE(back->tiers.has_value());
  EXPECT_DOUBLE_EQ(back->tiers->high_quantile, 0.9);
  ASSERT_TRUE(back->tiers->validation.has_value());
  EXPECT_EQ(back->tiers->validation->of(Tier::kHigh).positives, 15u);
  EXPECT_DOUBLE_EQ(back->tiers->validation->of(Tier::kMedium).churn_rate, 0.3);
  EXPECT_DOUBLE_EQ(back->tiers->validation->high_recall, 15.0 / 47.0);
  ASSERT_TRUE(back->calibration.has_value());
  ASSERT_EQ(back->calibration->table.size(), 2u);
  EXPECT_TRUE(std::isnan(back->calibration->table[1].mean_score));
  EXPECT_EQ(back->calibration->table[1].positives, 27u);
  EXPECT_EQ(back->calibration->method, "platt");
  EXPECT_DOUBLE_EQ(back->calibration->logloss_platt, 0.30);
  EXPECT_TRUE(std::isnan(back->calibration->logloss_isotonic));
  EXPECT_DOUBLE_EQ(back->calibration->error_before, 0.06);
  ASSERT_EQ(back->calibration->table_before.size(), 1u);
  EXPECT_EQ(back->calibration->table_before[0].rows, 199u);
  ASSERT_EQ(back->feature_importance_gain.size(), 3u);
  EXPECT_EQ(back->feature_importance_gain[0].first, "usage_score");
  EXPECT_DOUBLE_EQ(back->feature_importance_gain[1].second, 12);
}

TEST(TrainingSummary, FixedThresholdsWriteNoQuantiles) {
  TrainingSummary s;
  s.tiers.emplace().method = "fixed";
  s.tiers->medium = 0.4;
  s.tiers->high = 0.7;
  const std::string json = s.ToJson();
  EXPECT_EQ(json, R"({"tiers":{"method":"fixed","medium":0.4,"high":0.7}})");
  auto back = TrainingSummary::FromJson(json);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_TRUE(std::isnan(back->tiers->medium_quantile));
  EXPECT_FALSE(back->tiers->validation.has_value());
}

TEST(TrainingSummary, AnImportedModelsExtraHasNoSections) {
  auto s = TrainingSummary::FromJson(R"({"imported_from":"model.json","promotion":{"x":1}})");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_TRUE(s->trainer.empty());
  EXPECT_FALSE(s->split.has_value());
  EXPECT_FALSE(s->tiers.has_value());
  EXPECT_TRUE(s->feature_importance_gain.empty());
  EXPECT_EQ(s->ToJson(), "{}");
}

TEST(TrainingSummary, RefusesAFigureOfTheWrongTypeNamingItsPath) {
  const struct {
    const char* extra;
    const char* path;
  } cases[] = {
      {R"({"tiers":{"validation":{"low":{"rows":"many"}}}})", "extra.tiers.validation.low.rows"},
      {R"({"feature_importance_gain":{"usage_score":true}})",
       "extra.feature_importance_gain.usage_score"},
      {R"({"feature_importance_gain":{"usage_score":-1}})",
       "extra.feature_importance_gain.usage_score"},
      {R"({"calibration":{"table":{}}})", "extra.calibration.table"},
      {R"({"calibration":{"table":[1]}})", "extra.calibration.table[0]"},
      {R"({"split":{"train_from":5}})", "extra.split.train_from"},
      {R"({"final_model":{"refit":"yes"}})", "extra.final_model.refit"},
      {R"({"early_stopping":[]})", "extra.early_stopping"},
      {"[1]", "extra"},
      {"{not json", "extra"},
  };
  for (const auto& c : cases) {
    auto s = TrainingSummary::FromJson(c.extra);
    ASSERT_FALSE(s.has_value()) << c.extra;
    EXPECT_EQ(s.error().code, ErrorCode::kParse);
    EXPECT_NE(s.error().message.find(c.path), std::string::npos) << s.error().message;
  }
}

TEST(TrainingParams, RoundTripsEveryField) {
  TrainingParams p;
  p.tree_method = "hist";
  p.grow_policy = "lossguide";
  p.eta = 0.1;
  p.max_leaves = 7;
  p.max_depth = 0;
  p.min_child_weight = 10;
  p.subsample = 0.8;
  p.colsample_bytree = 0.9;
  p.lambda = 1;
  p.max_bin = 256;
  p.seed = 18446744073709551557ull;  // above 2^53: a double would round it
  p.threads = 2;
  p.max_rounds = 2000;
  p.early_stopping_rounds = 50;
  p.early_stopping_metric = "auc";
  p.validation_fraction = 0.2;
  p.refit = "none";
  auto back = TrainingParams::FromJson(p.ToJson());
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, p);

  auto empty = TrainingParams::FromJson("{}");
  ASSERT_TRUE(empty.has_value()) << empty.error().message;
  EXPECT_EQ(*empty, TrainingParams{});

  auto bad = TrainingParams::FromJson(R"({"eta":"fast"})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("params.eta"), std::string::npos) << bad.error().message;
}

// A meta.json as csml train wrote it before params and extra were typed (meta_format 1): it
// loads, its sections read, and writing them again gives the same text.
constexpr const char* kOlderMeta = R"({
  "meta_format": 1,
  "version": "risk-xgb-2025-08-22-0900",
  "algo": "xgb",
  "created_at": "2025-08-22T09:00:00Z",
  "model_file": "risk-xgb-2025-08-22-0900.model.json",
  "model_sha256": "0000000000000000000000000000000000000000000000000000000000000000",
  "model_size_bytes": 5120,
  "features": ["activity_7d", "usage_score"],
  "thresholds": {"medium":0.31,"high":0.58,"method":"validation_quantiles"},
  "training_window": {"from":"2025-05-24T09:00:00Z","to":"2025-08-22T09:00:00Z","as_of":"2025-08-22T09:00:00Z","days":90},
  "rows": {"train":959,"validation":199,"skipped_unlabeled":27,"skipped_invalid":3,"outside_window":11},
  "base_rate": 0.1496,
  "train_metrics": {"auc":0.88,"brier":0.1,"logloss":0.33},
  "validation_metrics": {"auc":0.84,"base_rate":0.2362,"logloss":0.41},
  "params": {"objective":"binary:logistic","tree_method":"hist","grow_policy":"lossguide","eta":0.1,"max_leaves":7,"max_depth":0,"min_child_weight":10,"subsample":1,"colsample_bytree":1,"lambda":1,"max_bin":256,"seed":0,"threads":0,"max_rounds":2000,"early_stopping_rounds":50,"early_stopping_metric":"logloss","validation_fraction":0.2,"refit":"all_rows"},
  "extra": {"trainer":"csml-train-2","data":{"records_seen":1000,"invalid":3,"unlabeled":20,"immature":7,"outside_window":11,"in_window":959},"split":{"method":"time_with_embargo","validation_fraction":0.2,"validation_from":"2025-08-01T00:00:00Z","validation_to":"2025-08-22T00:00:00Z","train_from":"2025-05-25T00:00:00Z","train_to":"2025-07-25T00:00:00Z","train_newest_label_ts":"2025-07-31T00:00:00Z","train_rows":700,"embargoed_rows":60,"validation_rows":199},"early_stopping":{"metric":"logloss","best_round":42,"best_value":0.41,"rounds_run":92,"patience":50,"max_rounds":2000},"final_model":{"fit_on":"all_rows_in_window","refit":true,"rows":959,"rounds":42,"validation_metrics_from":"the early-stopped model trained on the training split"},"tiers":{"method":"validation_quantiles","medium_quantile":0.7,"high_quantile":0.9,"medium":0.31,"high":0.58,"validation":{"low":{"rows":139,"share":0.6985,"churned":18,"churn_rate":0.1295},"medium":{"rows":40,"share":0.201,"churned":15,"churn_rate":0.375},"high":{"rows":20,"share":0.1005,"churned":14,"churn_rate":0.7}},"high_tier":{"precision":0.7,"recall":0.2979,"lift":2.9636}},"calibration":{"bins":10,"error":0.031,"table":[{"lower":0,"upper":0.1,"rows":80,"churned":6,"mean_risk":0.05,"churn_rate":0.075},{"lower":0.9,"upper":1,"rows":0,"churned":0,"mean_risk":null,"churn_rate":null}]},"feature_importance_gain":{"usage_score":120.5,"activity_7d":80},"promotion":{"decision":"promoted","reason":"nothing was served"}}
}
)";

TEST(TrainingSummary, ReadsAMetaWrittenBeforeItWasTyped) {
  auto meta = ModelMeta::FromJson(kOlderMeta);
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_EQ(meta->threshold_method, "validation_quantiles");
  EXPECT_EQ(meta->rows.validation, 199);

  auto params = TrainingParams::FromJson(meta->params_json);
  ASSERT_TRUE(params.has_value()) << params.error().message;
  EXPECT_EQ(params->refit, "all_rows");
  EXPECT_EQ(params->max_leaves, 7);
  EXPECT_EQ(params->ToJson(), meta->params_json);
  // Keys added with the model search read as their defaults and are not written back.
  EXPECT_EQ(params->alpha, 0.0);
  EXPECT_EQ(params->scale_pos_weight, 1.0);
  EXPECT_TRUE(params->monotone_constraints.empty());

  auto summary = TrainingSummary::FromJson(meta->extra_json);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  EXPECT_FALSE(summary->search.has_value());  // written before the model search existed
  ASSERT_TRUE(summary->tiers.has_value());
  ASSERT_TRUE(summary->tiers->validation.has_value());
  EXPECT_EQ(summary->tiers->validation->of(Tier::kHigh).rows, 20u);
  EXPECT_DOUBLE_EQ(summary->tiers->validation->high_lift, 2.9636);
  ASSERT_EQ(summary->calibration->table.size(), 2u);
  EXPECT_TRUE(std::isnan(summary->calibration->table[1].observed_rate));
  EXPECT_EQ(summary->feature_importance_gain[0].first, "usage_score");
  EXPECT_EQ(summary->split->train_to, 1753401600);  // 2025-07-25T00:00:00Z
  // Everything but the promotion decision (added by the promotion gate, not the trainer) is
  // written back as it was read.
  std::string expected = meta->extra_json;
  expected.erase(expected.find(R"(,"promotion")"));
  expected += "}";
  EXPECT_EQ(summary->ToJson(), expected);

  // And the meta itself writes back to text today's reader loads the same way.
  auto again = ModelMeta::FromJson(meta->ToJson());
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->extra_json, meta->extra_json);
  EXPECT_EQ(again->params_json, meta->params_json);
}

// The oldest metas (an import, or a registry from before rows and metrics were recorded) hold
// only the required keys; they load with an empty summary.
TEST(TrainingSummary, ReadsAMetaWithOnlyTheRequiredKeys) {
  auto meta = ModelMeta::FromJson(R"({"meta_format":1,"version":"v1","algo":"lgbm",
      "created_at":"2025-01-01T00:00:00Z","model_file":"v1.model.txt","model_sha256":"ab",
      "model_size_bytes":1,"features":["usage_score"],
      "thresholds":{"medium":0.4,"high":0.7,"method":"fixed"}})");
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  auto summary = TrainingSummary::FromJson(meta->extra_json);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  EXPECT_FALSE(summary->tiers.has_value());
  auto params = TrainingParams::FromJson(meta->params_json);
  ASSERT_TRUE(params.has_value()) << params.error().message;
  EXPECT_EQ(*params, TrainingParams{});
}

TEST(TrainingSummary, TheModelSearchRoundTripsAndNamesABadFigure) {
  TrainingSummary in;
  in.search = SearchRecord{};
  SearchRecord& s = *in.search;
  s.budget_seconds = 5;
  s.budget_auto = true;
  s.work_budget = 5e7;
  s.work_used = 4.2e7;
  s.seconds = 3.5;
  s.search_rows = 38570;
  s.candidates_planned = 2;
  s.folds.push_back({1750291200, 1751414400, 1750204800, 19741, 6000, 12829});
  SearchRecord::Trial t;
  t.id = 0;
  t.params.eta = 0.1;
  t.params.max_leaves = 7;
  t.params.min_child_weight = 10;
  t.params.lambda = 1;
  t.params.subsample = 1;
  t.params.colsample_bytree = 1;
  t.rung = 0;
  t.fold_auc = {0.79};
  t.fold_logloss = {0.29};
  t.fold_rounds = {102};
  t.mean_auc = 0.79;
  t.mean_logloss = 0.29;
  s.trials.push_back(t);
  t.id = 1;
  t.params.max_leaves = 31;
  t.rung = -1;  // never fitted
  t.fold_auc.clear();
  t.fold_logloss.clear();
  t.fold_rounds.clear();
  t.mean_auc = std::numeric_limits<double>::quiet_NaN();
  t.mean_logloss = std::numeric_limits<double>::quiet_NaN();
  s.trials.push_back(t);
  s.winner = 0;
  const std::string json = in.ToJson();
  auto out = TrainingSummary::FromJson(json);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  ASSERT_TRUE(out->search.has_value());
  EXPECT_EQ(out->ToJson(), json);
  EXPECT_EQ(out->search->trials[1].rung, -1);
  EXPECT_EQ(out->search->trials[0].params, s.trials[0].params);
  EXPECT_EQ(out->search->folds[0].train_rows, 19741u);

  std::string bad = json;
  bad.replace(bad.find("[102]"), 5, "[\"x\"]");
  auto refused = TrainingSummary::FromJson(bad);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("extra.search.trials[0].fold_rounds[0]"),
            std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace csml
