#include "csml/monitoring/shadow_compare.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

// 2026-11-30 is a Monday.
const UnixSeconds kMonday = *ParseRfc3339("2026-11-30T00:00:00Z");
constexpr UnixSeconds kDay = kSecondsPerDay;

Tier TierOf(double risk) {
  return risk >= 0.7 ? Tier::kHigh : risk >= 0.4 ? Tier::kMedium : Tier::kLow;
}

PredictionRecord Rec(const std::string& request_id, int batch_index, const std::string& user,
                     const std::string& version, double risk, PredictionRole role,
                     UnixSeconds ts = kMonday + 2 * kDay) {
  PredictionRecord r;
  r.unix_ms = ts * 1000 + 250;
  r.request_id = request_id;
  r.batch_index = batch_index;
  r.endpoint = batch_index >= 0 ? ScoreEndpoint::kScoreBatch : ScoreEndpoint::kScore;
  r.user_id = user;
  r.model_version = version;
  r.role = role;
  r.risk = risk;
  r.tier = TierOf(risk);
  return r;
}

// An answer (served) and its shadow, request "r<user>".
void AddPair(std::vector<PredictionRecord>* log, const std::string& user, double answered,
             double shadow, UnixSeconds ts = kMonday + 2 * kDay) {
  log->push_back(
      Rec("r" + user + std::to_string(ts), -1, user, "v1", answered, PredictionRole::kServed, ts));
  log->push_back(
      Rec("r" + user + std::to_string(ts), -1, user, "v2", shadow, PredictionRole::kShadow, ts));
}

Snapshot Snap(const std::string& user, UnixSeconds ts, int label,
              UnixSeconds label_delay = 30 * kDay) {
  Snapshot s;
  s.user_id = user;
  s.snapshot_ts = ts;
  s.label = static_cast<std::int8_t>(label);
  s.label_ts = ts + label_delay;
  return s;
}

MonitorOptions Options() {
  MonitorOptions o;
  o.as_of = kMonday + 100 * kDay;
  return o;
}

ShadowCompareReport Build(const std::vector<PredictionRecord>& log,
                          const std::vector<Snapshot>& outcomes = {}) {
  auto builder = ShadowCompareBuilder::Create(Options());
  EXPECT_TRUE(builder) << builder.error().message;
  for (const Snapshot& s : outcomes) (*builder)->AddOutcome(s);
  for (const PredictionRecord& r : log) (*builder)->Add(r);
  auto report = (*builder)->Finish(MonitorSource{});
  EXPECT_TRUE(report) << report.error().message;
  return *report;
}

TEST(ShadowComparePairingTest, SameRequestBatchIndexAndUserPerVersionPair) {
  const PredictionRole served = PredictionRole::kServed;
  const PredictionRole shadow = PredictionRole::kShadow;
  const std::vector<PredictionRecord> log = {
      // The shadow lines come first: the join does not depend on the order.
      Rec("r1", -1, "u_a", "v2", 0.3, shadow),
      Rec("r2", 0, "u_b", "v2", 0.5, shadow),
      Rec("r2", 1, "u_c", "v2", 0.8, shadow),
      Rec("r9", -1, "u_e", "v2", 0.8, shadow),  // no answer: unpaired
      Rec("r1", -1, "u_x", "v2", 0.8, shadow),  // r1 answered another user: unpaired
      Rec("r1", -1, "u_a", "v1", 0.2, served),
      Rec("r2", 0, "u_b", "v1", 0.5, served),
      Rec("r2", 1, "u_c", "v1", 0.8, served),
      Rec("r3", -1, "u_d", "v1", 0.8, served),  // no shadow
      // A canary answer is paired as well, in its own group.
      Rec("r4", -1, "u_f", "v3", 0.6, PredictionRole::kCanary),
      Rec("r4", -1, "u_f", "v2", 0.9, shadow),
  };
  const ShadowCompareReport r = Build(log);
  EXPECT_EQ(r.answers, 5u);
  EXPECT_EQ(r.shadow_records, 6u);
  EXPECT_EQ(r.paired, 4u);
  EXPECT_EQ(r.unpaired_shadows, 2u);
  ASSERT_EQ(r.comparisons.size(), 2u);
  const ShadowComparison& a = r.comparisons[0];
  EXPECT_EQ(a.answered_version, "v1");
  EXPECT_EQ(a.shadow_version, "v2");
  EXPECT_EQ(a.pairs, 3u);
  EXPECT_EQ(a.customers, 3u);
  // u_a low -> low, u_b medium -> medium, u_c high -> high.
  EXPECT_EQ(a.tiers[0][0], 1u);
  EXPECT_EQ(a.tiers[1][1], 1u);
  EXPECT_EQ(a.tiers[2][2], 1u);
  EXPECT_EQ(a.tier_changes, 0u);
  const ShadowComparison& b = r.comparisons[1];
  EXPECT_EQ(b.answered_version, "v3");
  EXPECT_EQ(b.pairs, 1u);
  EXPECT_EQ(b.tiers[1][2], 1u);  // medium -> high
  EXPECT_EQ(b.moved_to_high, 1u);
}

TEST(ShadowComparePairingTest, AReusedRequestIdPairsWithTheNearestAnswer) {
  const UnixSeconds t = kMonday + 2 * kDay;
  const std::vector<PredictionRecord> log = {
      Rec("same", -1, "u_g", "v1", 0.1, PredictionRole::kServed, t),
      Rec("same", -1, "u_g", "v1", 0.9, PredictionRole::kServed, t + 100),
      Rec("same", -1, "u_g", "v2", 0.3, PredictionRole::kShadow, t + 100),
  };
  const ShadowCompareReport r = Build(log);
  ASSERT_EQ(r.comparisons.size(), 1u);
  EXPECT_EQ(r.paired, 1u);
  EXPECT_EQ(r.comparisons[0].tiers[2][0], 1u) << "the answer at t + 100 (high) is the pair";
}

TEST(ShadowComparePairingTest, NoShadowRecordsIsAnEmptyComparison) {
  const ShadowCompareReport r = Build({Rec("r1", -1, "u_a", "v1", 0.2, PredictionRole::kServed)});
  EXPECT_EQ(r.answers, 1u);
  EXPECT_EQ(r.shadow_records, 0u);
  EXPECT_TRUE(r.comparisons.empty());
}

TEST(ShadowCompareFiguresTest, MatrixOverlapSpearmanOfOneAndMovesToHigh) {
  // Ten customers, answered 0.05 .. 0.95, the shadow a little higher in the same order.
  const std::vector<double> answered = {0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95};
  const std::vector<double> shadow = {0.11, 0.21, 0.31, 0.41, 0.51, 0.61, 0.71, 0.81, 0.91, 0.99};
  std::vector<PredictionRecord> log;
  for (std::size_t i = 0; i < answered.size(); ++i) {
    AddPair(&log, "u" + std::to_string(i), answered[i], shadow[i]);
  }
  const ShadowCompareReport r = Build(log);
  ASSERT_EQ(r.comparisons.size(), 1u);
  const ShadowComparison& c = r.comparisons[0];
  EXPECT_EQ(c.pairs, 10u);
  EXPECT_EQ(c.customers, 10u);
  const TierChangeMatrix expected = {{{3, 1, 0}, {0, 2, 1}, {0, 0, 3}}};
  EXPECT_EQ(c.tiers, expected);
  EXPECT_EQ(c.tier_changes, 2u);
  EXPECT_DOUBLE_EQ(c.spearman, 1.0);
  EXPECT_EQ(c.answered_top, 1u);  // ceil(10 / 10) = 1: u9
  EXPECT_EQ(c.top_both, 1u);
  EXPECT_DOUBLE_EQ(c.top_decile_overlap, 1.0);
  EXPECT_EQ(c.moved_to_high, 1u);  // u6: medium 0.65 -> 0.71
  ASSERT_EQ(c.moved_to_high_list.size(), 1u);
  EXPECT_EQ(c.moved_to_high_list[0].user_id, "u6");
  EXPECT_EQ(c.moved_to_high_list[0].answered_tier, Tier::kMedium);
  EXPECT_DOUBLE_EQ(c.moved_to_high_list[0].shadow_risk, 0.71);
  // No outcomes: every customer-week unmatched, no AUC.
  EXPECT_EQ(c.customer_weeks, 10u);
  EXPECT_EQ(c.unmatched, 10u);
  EXPECT_TRUE(std::isnan(c.answered.auc));
}

TEST(ShadowCompareFiguresTest, ReversedOrderIsSpearmanMinusOneAndNoOverlap) {
  std::vector<PredictionRecord> log;
  for (int i = 0; i < 10; ++i) {
    const double a = 0.05 + 0.1 * i;
    AddPair(&log, "u" + std::to_string(i), a, 1.0 - a);
  }
  const ShadowComparison c = Build(log).comparisons.at(0);
  EXPECT_NEAR(c.spearman, -1.0, 1e-12);
  EXPECT_EQ(c.answered_top, 1u);
  EXPECT_EQ(c.top_both, 0u);
  EXPECT_DOUBLE_EQ(c.top_decile_overlap, 0.0);
  const TierChangeMatrix expected = {{{0, 1, 3}, {1, 2, 0}, {3, 0, 0}}};
  EXPECT_EQ(c.tiers, expected);
  EXPECT_EQ(c.tier_changes, 8u);
  // u0 .. u2 answered low, shadow 0.95 / 0.85 / 0.75: listed highest shadow risk first.
  EXPECT_EQ(c.moved_to_high, 3u);
  ASSERT_EQ(c.moved_to_high_list.size(), 3u);
  EXPECT_EQ(c.moved_to_high_list[0].user_id, "u0");
  EXPECT_EQ(c.moved_to_high_list[1].user_id, "u1");
  EXPECT_EQ(c.moved_to_high_list[2].user_id, "u2");
}

TEST(ShadowCompareFiguresTest, TopDecileTiesAtTheCutAreIn) {
  // 20 pairs: the top decile is the 2 highest, ties at the cut included.
  std::vector<PredictionRecord> log;
  for (int i = 0; i < 20; ++i) {
    const double a = i < 3 ? 0.9 : 0.1;             // answered top: u0 u1 u2 (tie)
    const double s = i == 0 || i == 5 ? 0.8 : 0.2;  // shadow top: u0 u5
    AddPair(&log, "u" + std::to_string(i), a, s);
  }
  const ShadowComparison c = Build(log).comparisons.at(0);
  EXPECT_EQ(c.answered_top, 3u);
  EXPECT_EQ(c.top_both, 1u);
  EXPECT_DOUBLE_EQ(c.top_decile_overlap, 1.0 / 3);
}

TEST(ShadowCompareFiguresTest, MovesToHighUseEachCustomersMostRecentPair) {
  const UnixSeconds t = kMonday + 2 * kDay;
  std::vector<PredictionRecord> log;
  AddPair(&log, "u_up_then_back", 0.2, 0.8, t);       // moved, then
  AddPair(&log, "u_up_then_back", 0.2, 0.3, t + 60);  // not any more
  AddPair(&log, "u_later_up", 0.5, 0.3, t);
  AddPair(&log, "u_later_up", 0.5, 0.75, t + 60);
  const ShadowComparison c = Build(log).comparisons.at(0);
  EXPECT_EQ(c.pairs, 4u);
  EXPECT_EQ(c.customers, 2u);
  EXPECT_EQ(c.moved_to_high, 1u);
  ASSERT_EQ(c.moved_to_high_list.size(), 1u);
  EXPECT_EQ(c.moved_to_high_list[0].user_id, "u_later_up");
  EXPECT_DOUBLE_EQ(c.moved_to_high_list[0].shadow_risk, 0.75);
}

TEST(ShadowCompareFiguresTest, RealizedAucAndCalibrationOfBothByHand) {
  const UnixSeconds t = kMonday + 2 * kDay;
  std::vector<PredictionRecord> log;
  AddPair(&log, "u0", 0.1, 0.1, t - 60);  // u0's earlier pair that week: not the one counted
  AddPair(&log, "u0", 0.9, 0.8, t);
  AddPair(&log, "u1", 0.2, 0.1, t);
  AddPair(&log, "u2", 0.3, 0.7, t);
  AddPair(&log, "u3", 0.6, 0.3, t);
  AddPair(&log, "u3", 0.6, 0.3, t + 7 * kDay);  // next week, its snapshot 8 days old: unmatched
  AddPair(&log, "u4", 0.5, 0.5, t);             // labeled after as_of: pending
  AddPair(&log, "u5", 0.5, 0.5, t);             // no snapshot: unmatched
  const std::vector<Snapshot> outcomes = {Snap("u0", t - kDay, 1), Snap("u1", t - kDay, 0),
                                          Snap("u2", t - kDay, 1), Snap("u3", t - kDay, 0),
                                          Snap("u4", t - kDay, 1, 200 * kDay)};
  const ShadowComparison c = Build(log, outcomes).comparisons.at(0);
  EXPECT_EQ(c.pairs, 8u);
  EXPECT_EQ(c.customer_weeks, 7u);
  EXPECT_EQ(c.known, 4u);
  EXPECT_EQ(c.churned, 2u);
  EXPECT_EQ(c.pending, 1u);
  EXPECT_EQ(c.unmatched, 2u);
  EXPECT_DOUBLE_EQ(c.churn_rate, 0.5);
  // Answered: churned {0.9, 0.3} vs stayed {0.2, 0.6}: 3 of 4 pairs ordered.
  EXPECT_DOUBLE_EQ(c.answered.auc, 0.75);
  EXPECT_DOUBLE_EQ(c.shadow.auc, 1.0);  // {0.8, 0.7} vs {0.1, 0.3}
  // One score per bin: ECE is the mean |risk - label|.
  EXPECT_NEAR(c.answered.calibration_error, (0.1 + 0.2 + 0.7 + 0.6) / 4, 1e-12);
  EXPECT_NEAR(c.shadow.calibration_error, (0.2 + 0.1 + 0.3 + 0.3) / 4, 1e-12);
  EXPECT_NEAR(c.answered.mean_risk, 0.5, 1e-12);
  EXPECT_NEAR(c.shadow.mean_risk, 0.475, 1e-12);
}

TEST(SpearmanTest, TiesTakeTheirMeanRank) {
  // Ranks x {1, 2.5, 2.5, 4}, y {1, 2, 3, 4}: 4.5 / sqrt(4.5 * 5) = sqrt(0.9).
  EXPECT_NEAR(SpearmanCorrelation({1, 2, 2, 3}, {1, 2, 3, 4}), std::sqrt(0.9), 1e-12);
  EXPECT_TRUE(std::isnan(SpearmanCorrelation({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(SpearmanCorrelation({1}, {1})));
}

TEST(ShadowCompareRenderTest, JsonAndTextCarryTheFigures) {
  std::vector<PredictionRecord> log;
  for (int i = 0; i < 10; ++i) {
    const double a = 0.05 + 0.1 * i;
    AddPair(&log, "u" + std::to_string(i), a, 1.0 - a);
  }
  const ShadowCompareReport r = Build(log);
  const std::string json = RenderShadowCompareJson(r);
  EXPECT_NE(json.find("\"kind\":\"shadow_compare\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"tier_matrix\":{\"low\":{\"low\":0,\"medium\":1,\"high\":3}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"spearman\":-1"), std::string::npos) << json;
  EXPECT_NE(json.find("\"moved_to_high\":{\"customers\":3"), std::string::npos) << json;
  const std::string text = RenderShadowCompareText(r);
  EXPECT_NE(text.find("answered v1  vs  shadow v2: 10 pairs"), std::string::npos) << text;
  EXPECT_NE(text.find("moving up to high  3 customers"), std::string::npos) << text;
  const std::string html = RenderShadowCompareHtml(r);
  EXPECT_NE(html.find("answered v1 vs shadow v2"), std::string::npos);
}

}  // namespace
}  // namespace csml
