// ScoreLabeledSnapshots scores through the version's BatchScorer: risk at full precision,
// tier from the risk rounded as /score rounds it, reasons from the raw features.
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/ensemble/predictor.h"
#include "csml/reporting/evaluation_report.h"
#include "csml/serving/batch_scorer.h"

namespace csml {
namespace {

// Answers each row's usage_score (its only column) as the risk, so a test picks the risk.
class UsageAsRisk final : public Predictor {
 public:
  std::size_t num_features() const override { return 1; }
  Result<double> PredictRisk(std::span<const double> row) const override { return row[0]; }
  Status PredictBatch(std::span<const double> rows, std::span<double> out) const override {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = rows[i];
    return {};
  }
};

BatchScorer MakeScorer() {
  const std::vector<std::string> columns = {"usage_score"};
  auto scorer = BatchScorer::Create("risk-xgb-2025-06-01-0000", columns, Thresholds{0.4, 0.7},
                                    std::make_unique<const UsageAsRisk>());
  EXPECT_TRUE(scorer.has_value()) << scorer.error().message;
  return std::move(*scorer);
}

Snapshot Labeled(double usage, std::int8_t label, double days_inactive) {
  Snapshot s;
  s.user_id = "u";
  s.snapshot_ts = 100;
  s.features.Set(NumericFeature::kUsageScore, usage);
  s.features.Set(NumericFeature::kTimeSinceLastUseDays, days_inactive);
  s.label = label;
  s.label_ts = 200 + label;
  return s;
}

TEST(ScoreLabeledSnapshots, TiersFromTheRoundedRiskAndKeepsFullPrecision) {
  const BatchScorer scorer = MakeScorer();
  const std::vector<Snapshot> snapshots = {Labeled(0.69996, 1, 20), Labeled(0.2, 0, 1),
                                           Labeled(0.5, 0, 1)};
  BatchScoringOptions options;
  options.threads = 2;
  auto rows = ScoreLabeledSnapshots(scorer, snapshots, options);
  ASSERT_TRUE(rows.has_value()) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_DOUBLE_EQ((*rows)[0].risk, 0.69996);
  EXPECT_EQ((*rows)[0].tier, Tier::kHigh);  // /score answers risk 0.7, tier high
  EXPECT_EQ((*rows)[0].label, 1);
  EXPECT_EQ((*rows)[0].label_ts, 201);
  EXPECT_TRUE((*rows)[0].reasons.Contains(Reason::kInactive14d));
  EXPECT_EQ((*rows)[1].tier, Tier::kLow);
  EXPECT_TRUE((*rows)[1].reasons.Contains(Reason::kLowFeatureUsage));
  EXPECT_EQ((*rows)[2].tier, Tier::kMedium);
  EXPECT_TRUE((*rows)[2].reasons.Contains(Reason::kGeneralRiskFactors));
}

TEST(ScoreLabeledSnapshots, RefusesASnapshotWithoutAnOutcomeNamingIt) {
  const BatchScorer scorer = MakeScorer();
  std::vector<Snapshot> snapshots = {Labeled(0.3, 0, 1), Labeled(0.3, 1, 1)};
  snapshots[1].label.reset();
  snapshots[1].user_id = "u_042";
  auto rows = ScoreLabeledSnapshots(scorer, snapshots, BatchScoringOptions{});
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(rows.error().message.find("snapshot 1 (userId u_042)"), std::string::npos)
      << rows.error().message;

  snapshots[1].label = 1;
  snapshots[1].label_ts.reset();
  EXPECT_FALSE(ScoreLabeledSnapshots(scorer, snapshots, BatchScoringOptions{}).has_value());
}

}  // namespace
}  // namespace csml
