// A ten-row evaluation small enough to check by hand, shared by the reporting tests.
//
// Rows, riskiest first (risk, churned): .92 1, .81 1, .73 0, .64 1, .55 0, .46 0, .37 1,
// .28 0, .19 0, .05 0. Four churned of ten (base rate 0.4). With thresholds medium 0.4, high
// 0.7 the tiers are high {.92 .81 .73} (2 churned), medium {.64 .55 .46} (1), low {.37 .28
// .19 .05} (1). Pairs ranked right: each churner against the six retained rows, minus the
// retained rows above it: 6 + 6 + 5 + 3 = 20 of 24, so AUC = 5/6.
#pragma once

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "csml/registry/model_meta.h"
#include "csml/reporting/evaluation_report.h"

namespace csml::testing {

inline constexpr std::array<double, 10> kFixtureRisks = {0.92, 0.81, 0.73, 0.64, 0.55,
                                                         0.46, 0.37, 0.28, 0.19, 0.05};
inline constexpr std::array<int, 10> kFixtureLabels = {1, 1, 0, 1, 0, 0, 1, 0, 0, 0};

// The rows, tiered by 0.4 / 0.7, label_ts 1000 + 100 * i; the two riskiest are inactive (the
// first also has a payment issue), every other row has only general_risk_factors.
inline std::vector<EvaluatedRow> FixtureRows() {
  const Thresholds thresholds{0.4, 0.7};
  std::vector<EvaluatedRow> rows;
  for (std::size_t i = 0; i < kFixtureRisks.size(); ++i) {
    EvaluatedRow row;
    row.risk = kFixtureRisks[i];
    row.tier = thresholds.Classify(row.risk);
    row.label = static_cast<std::int8_t>(kFixtureLabels[i]);
    row.label_ts = 1000 + 100 * static_cast<UnixSeconds>(i);
    if (i < 2) {
      row.reasons.Add(Reason::kInactive14d);
      if (i == 0) row.reasons.Add(Reason::kPaymentIssueRecent);
    } else {
      row.reasons.Add(Reason::kGeneralRiskFactors);
    }
    rows.push_back(row);
  }
  return rows;
}

// A meta as csml train writes it, with training figures near the fixture's own.
inline ModelMeta FixtureMeta() {
  ModelMeta meta;
  meta.version = "risk-xgb-2025-06-01-0000";
  meta.created_at = 1748736000;  // 2025-06-01T00:00:00Z
  meta.features = {"usage_score"};
  meta.thresholds = Thresholds{0.4, 0.7};
  meta.threshold_method = "fixed";
  meta.window = TrainingWindow{0, 1250, 1250, 90};  // rows 0, 1 and 2 have label_ts <= 1250
  meta.rows.validation = 500;
  meta.validation_metrics = {{"auc", 0.85},
                             {"pr_auc", 0.80},
                             {"logloss", 0.50},
                             {"brier", 0.17},
                             {"calibration_error", 0.34},
                             {"top_decile_lift", 2.5},
                             {"base_rate", 0.35}};
  meta.extra_json = R"({"tiers":{"method":"fixed","validation":{
      "low":{"rows":300,"share":0.6,"churned":30,"churn_rate":0.1},
      "medium":{"rows":150,"share":0.3,"churned":60,"churn_rate":0.4},
      "high":{"rows":50,"share":0.1,"churned":40,"churn_rate":0.8}},
      "high_tier":{"precision":0.8,"recall":0.3076923076923077,"lift":2.2857142857142856}},
    "calibration":{"bins":2,"error":0.05,"table":[
      {"lower":0,"upper":0.5,"rows":400,"churned":80,"mean_risk":0.2,"churn_rate":0.2},
      {"lower":0.5,"upper":1,"rows":100,"churned":50,"mean_risk":0.6,"churn_rate":0.5}]},
    "feature_importance_gain":{"usage_score":30,"time_since_last_use_days":60,"plan_value":10}})";
  return meta;
}

inline EvaluationSource FixtureSource() {
  EvaluationSource source;
  source.origin = "file snapshots.jsonl";
  source.as_of = 2000;
  source.window_start = 0;
  source.days = 30;
  source.records_seen = 14;
  source.unlabeled = 2;
  source.invalid = 1;
  source.outside_window = 1;
  source.served = true;
  source.generated_at = 1748779200;  // 2025-06-01T12:00:00Z
  return source;
}

}  // namespace csml::testing
