#include "csml/monitoring/monitor_report.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

namespace csml {
namespace {

// 2026-11-30 is a Monday.
const UnixSeconds kMonday = *ParseRfc3339("2026-11-30T00:00:00Z");
constexpr UnixSeconds kDay = kSecondsPerDay;

Snapshot Snap(const std::string& user, UnixSeconds ts, std::optional<int> label,
              UnixSeconds label_delay = 30 * kDay) {
  Snapshot s;
  s.user_id = user;
  s.snapshot_ts = ts;
  if (label) {
    s.label = static_cast<std::int8_t>(*label);
    s.label_ts = ts + label_delay;
  }
  return s;
}

PredictionRecord Pred(const std::string& user, UnixSeconds ts, double risk,
                      const std::string& version = "v1", double plan = 100, double usage = 0.5) {
  PredictionRecord r;
  r.unix_ms = ts * 1000 + 250;
  r.user_id = user;
  r.model_version = version;
  r.risk = risk;
  r.tier = risk >= 0.7 ? Tier::kHigh : risk >= 0.4 ? Tier::kMedium : Tier::kLow;
  r.features.Set(NumericFeature::kPlanValue, plan);
  r.features.Set(NumericFeature::kUsageScore, usage);
  r.features.region = Region::kUS;
  return r;
}

MonitorOptions Options() {
  MonitorOptions o;
  o.as_of = kMonday + 400 * kDay;
  o.min_outcomes = 2;
  o.min_psi_predictions = 1;
  return o;
}

MonitorReport Build(const MonitorOptions& options, const std::vector<Snapshot>& outcomes,
                    const std::vector<PredictionRecord>& predictions,
                    MonitorReferenceLookup lookup = {}) {
  auto builder = MonitorBuilder::Create(options, std::move(lookup));
  EXPECT_TRUE(builder) << builder.error().message;
  for (const Snapshot& s : outcomes) (*builder)->AddOutcome(s);
  for (const PredictionRecord& p : predictions) (*builder)->Add(p);
  auto report = (*builder)->Finish(MonitorSource{});
  EXPECT_TRUE(report) << report.error().message;
  return *report;
}

TEST(WeekStartTest, MondayUtc) {
  EXPECT_EQ(WeekStart(kMonday), kMonday);
  EXPECT_EQ(WeekStart(kMonday + 7 * kDay - 1), kMonday);
  EXPECT_EQ(WeekStart(kMonday + 7 * kDay), kMonday + 7 * kDay);
  EXPECT_EQ(WeekStart(kMonday - 1), kMonday - 7 * kDay);
  EXPECT_EQ(WeekStart(0), -3 * kDay);  // 1970-01-01 was a Thursday
}

TEST(MonitorJoinTest, LatestSnapshotAtOrBeforeThePredictionWithinTheWindow) {
  const UnixSeconds t = kMonday + 2 * kDay;
  const std::vector<Snapshot> outcomes = {
      Snap("a", t - 10 * kDay, 0),
      Snap("a", t - 1 * kDay, 1),  // a: the newer one (churned)
      Snap("b", t - 8 * kDay, 1),  // b: too old: unmatched
      Snap("c", t + 1 * kDay, 1),  // c: after: unmatched
      Snap("d", t - 2 * kDay, std::nullopt),
      Snap("d", t - 9 * kDay, 1),  // d: newest pending
      Snap("e", t - 1 * kDay, 0),
  };
  const std::vector<PredictionRecord> predictions = {Pred("a", t, 0.9), Pred("b", t, 0.8),
                                                     Pred("c", t, 0.7), Pred("d", t, 0.6),
                                                     Pred("e", t, 0.2), Pred("z", t, 0.5)};
  const MonitorReport r = Build(Options(), outcomes, predictions);
  ASSERT_EQ(r.versions.size(), 1u);
  const MonitorCell& w = r.versions[0].total;
  EXPECT_EQ(w.predictions, 6u);
  EXPECT_EQ(w.customers, 6u);
  EXPECT_EQ(w.known, 2u);      // a (churned), e (stayed)
  EXPECT_EQ(w.unmatched, 3u);  // b, c, z
  EXPECT_EQ(w.pending, 1u);    // d: never the older labeled snapshot
  EXPECT_EQ(w.churned, 1u);
  EXPECT_DOUBLE_EQ(w.auc, 1.0);
}

TEST(MonitorJoinTest, OutcomeLearnedAfterAsOfIsPending) {
  const UnixSeconds t = kMonday + kDay;
  MonitorOptions o = Options();
  o.as_of = t + 10 * kDay;  // label_ts = snapshot + 30 days: not known yet
  const MonitorReport r = Build(o, {Snap("a", t - kDay, 1)}, {Pred("a", t, 0.9)});
  EXPECT_EQ(r.versions[0].total.known, 0u);
  EXPECT_EQ(r.versions[0].total.pending, 1u);
  EXPECT_TRUE(std::isnan(r.versions[0].total.auc));
}

TEST(MonitorJoinTest, OneCustomerCountsOncePerWeekWithItsLatestPrediction) {
  const UnixSeconds t = kMonday + kDay;
  const std::vector<Snapshot> outcomes = {Snap("a", t - kDay, 1), Snap("a", t + 6 * kDay, 0)};
  const std::vector<PredictionRecord> predictions = {Pred("a", t, 0.1), Pred("a", t + kDay, 0.3),
                                                     Pred("a", t + 2 * kDay, 0.5),
                                                     Pred("a", t + 7 * kDay, 0.2),  // next week
                                                     Pred("a", t + kDay, 0.9, "v2")};
  const MonitorReport r = Build(Options(), outcomes, predictions);
  ASSERT_EQ(r.versions.size(), 2u);
  const MonitorVersion& v1 = r.versions[0];
  ASSERT_EQ(v1.weeks.size(), 2u);
  EXPECT_EQ(v1.weeks[0].predictions, 3u);
  EXPECT_EQ(v1.weeks[0].customers, 1u);
  EXPECT_EQ(v1.weeks[0].churned, 1u);
  EXPECT_DOUBLE_EQ(v1.weeks[0].revenue_at_risk_known, 100 * 0.5);
  EXPECT_DOUBLE_EQ(v1.weeks[0].revenue_churned, 100);
  EXPECT_EQ(v1.weeks[1].customers, 1u);
  EXPECT_EQ(v1.weeks[1].churned, 0u);  // the snapshot of day 7 is the newer one
  EXPECT_EQ(v1.total.customers, 2u);
  EXPECT_EQ(r.versions[1].version, "v2");
  EXPECT_EQ(r.versions[1].total.customers, 1u);
  EXPECT_EQ(r.versions[1].total.tiers[static_cast<std::size_t>(Tier::kHigh)].churned, 1u);
}

TEST(MonitorJoinTest, VersionsInterleavedInOneWeekKeepTheirOwnCounts) {
  const UnixSeconds t = kMonday + kDay;
  const MonitorReport r =
      Build(Options(), {},
            {Pred("a", t, 0.1, "v1"), Pred("b", t, 0.2, "v2"), Pred("c", t, 0.3, "v1"),
             Pred("d", t, 0.8, "v2"), Pred("e", t, 0.9, "v2")});
  ASSERT_EQ(r.versions.size(), 2u);
  EXPECT_EQ(r.versions[0].total.predictions, 2u);
  EXPECT_EQ(r.versions[1].total.predictions, 3u);
  EXPECT_EQ(r.versions[1].total.tiers[static_cast<std::size_t>(Tier::kHigh)].predictions, 2u);
  EXPECT_EQ(r.versions[0].total.customers, 2u);
  EXPECT_EQ(r.versions[1].total.customers, 3u);
}

PredictionRecord WithRole(PredictionRecord r, PredictionRole role) {
  r.role = role;
  return r;
}

TEST(MonitorJoinTest, CountsTheAnswersOnlyNeverAShadowScore) {
  const UnixSeconds t = kMonday + 2 * kDay;
  const std::vector<Snapshot> outcomes = {Snap("a", t - kDay, 1), Snap("b", t - kDay, 0),
                                          Snap("c", t - kDay, 1), Snap("d", t - kDay, 0)};
  const std::vector<PredictionRecord> predictions = {
      Pred("a", t, 0.9), Pred("b", t, 0.2),
      // Shadow scores, later in the same week: of v1 itself (inverted: had they counted as
      // v1's latest, its AUC would be 0) and of v3, which answered nobody.
      WithRole(Pred("a", t + 60, 0.1), PredictionRole::kShadow),
      WithRole(Pred("b", t + 60, 0.95), PredictionRole::kShadow),
      WithRole(Pred("a", t + 60, 0.1, "v3"), PredictionRole::kShadow),
      // Canary answers count as their version's.
      WithRole(Pred("c", t, 0.8, "v2"), PredictionRole::kCanary),
      WithRole(Pred("d", t, 0.3, "v2"), PredictionRole::kCanary)};
  const MonitorReport r = Build(Options(), outcomes, predictions);
  EXPECT_EQ(r.predictions, 4u);
  EXPECT_EQ(r.shadow_records, 3u);
  ASSERT_EQ(r.versions.size(), 2u);
  EXPECT_EQ(r.versions[0].version, "v1");
  EXPECT_EQ(r.versions[0].total.predictions, 2u);
  EXPECT_EQ(r.versions[0].total.known, 2u);
  EXPECT_DOUBLE_EQ(r.versions[0].total.auc, 1.0);
  EXPECT_DOUBLE_EQ(r.versions[0].total.mean_risk, (0.9 + 0.2) / 2);
  EXPECT_EQ(r.versions[1].version, "v2");
  EXPECT_EQ(r.versions[1].total.predictions, 2u);
  EXPECT_DOUBLE_EQ(r.versions[1].total.auc, 1.0);
}

TEST(MonitorFiguresTest, AucTierChurnAndRevenueByHand) {
  const UnixSeconds t = kMonday + kDay;
  // Risks 0.9 (churned), 0.8 (stayed), 0.3 (churned), 0.1 (stayed): 3 of 4 pairs ranked right.
  const std::vector<Snapshot> outcomes = {Snap("a", t, 1), Snap("b", t, 0), Snap("c", t, 1),
                                          Snap("d", t, 0)};
  const std::vector<PredictionRecord> predictions = {
      Pred("a", t, 0.9, "v1", 10), Pred("b", t, 0.8, "v1", 20), Pred("c", t, 0.3, "v1", 30),
      Pred("d", t, 0.1, "v1", 40)};
  MonitorOptions o = Options();
  o.max_calibration_error = 1;  // four rows in four bins: the error is 0.425
  const MonitorReport r = Build(o, outcomes, predictions);
  const MonitorCell& c = r.versions[0].weeks.at(0);
  EXPECT_NEAR(c.calibration_error, 0.425, 1e-6);
  EXPECT_EQ(c.week_start, kMonday);
  EXPECT_DOUBLE_EQ(c.auc, 0.75);
  EXPECT_DOUBLE_EQ(c.churn_rate, 0.5);
  const MonitorTierFigures& high = c.tiers[static_cast<std::size_t>(Tier::kHigh)];
  EXPECT_EQ(high.known, 2u);
  EXPECT_EQ(high.churned, 1u);
  EXPECT_DOUBLE_EQ(high.churn_rate, 0.5);
  EXPECT_NEAR(high.revenue_at_risk_known, 10 * 0.9 + 20 * 0.8, 1e-9);
  EXPECT_DOUBLE_EQ(high.revenue_churned, 10);
  EXPECT_NEAR(c.revenue_at_risk, 9 + 16 + 9 + 4, 1e-9);
  EXPECT_DOUBLE_EQ(c.revenue_churned, 40);
  EXPECT_DOUBLE_EQ(c.tier_share(Tier::kLow), 0.5);
  // min_auc 0.70 passes at 0.75; at 0.80 it fails.
  EXPECT_TRUE(r.passed) << (r.checks.empty() ? "" : r.checks[0].detail);
  MonitorOptions strict = Options();
  strict.min_auc = 0.8;
  strict.max_calibration_error = 1;
  const MonitorReport failed = Build(strict, outcomes, predictions);
  EXPECT_FALSE(failed.passed);
  bool auc_failed = false;
  for (const MonitorCheck& check : failed.checks) {
    if (check.name == "min_auc") auc_failed = !check.passed;
  }
  EXPECT_TRUE(auc_failed);
}

TEST(MonitorFiguresTest, TooFewOutcomesAreNotChecked) {
  const UnixSeconds t = kMonday + kDay;
  MonitorOptions o = Options();
  o.min_outcomes = 10;
  o.min_auc = 1;  // would fail if checked
  const MonitorReport r =
      Build(o, {Snap("a", t, 1), Snap("b", t, 0)}, {Pred("a", t, 0.1), Pred("b", t, 0.9)});
  EXPECT_TRUE(r.passed);
  EXPECT_FALSE(r.not_checked.empty());
}

MonitorReference UsageReference() {
  MonitorReference ref;
  BinnedDistribution usage;
  usage.edges = {0.5};
  usage.shares = {0.5, 0.5};
  usage.missing_share = 0;
  ref.features[static_cast<std::size_t>(NumericFeature::kUsageScore)] = usage;
  return ref;
}

TEST(MonitorDriftTest, PsiAgainstTheVersionsReference) {
  const UnixSeconds t = kMonday + kDay;
  std::vector<PredictionRecord> stable;
  std::vector<PredictionRecord> shifted;
  for (int i = 0; i < 100; ++i) {
    stable.push_back(Pred("u" + std::to_string(i), t, 0.2, "v1", 10, i % 2 == 0 ? 0.2 : 0.8));
    // Shifted: every value in the low bin, a fifth missing.
    shifted.push_back(Pred("u" + std::to_string(i), t, 0.2, "v1", 10, i % 5 == 0 ? NAN : 0.1));
  }
  int lookups = 0;
  auto lookup = [&](std::string_view version) -> Result<std::optional<MonitorReference>> {
    ++lookups;
    if (version == "v1") return std::optional<MonitorReference>(UsageReference());
    return std::optional<MonitorReference>();
  };
  const std::size_t usage = static_cast<std::size_t>(NumericFeature::kUsageScore);
  const MonitorReport ok = Build(Options(), {}, stable, lookup);
  EXPECT_EQ(lookups, 1);  // once per version
  EXPECT_TRUE(ok.versions[0].has_reference);
  EXPECT_NEAR(ok.versions[0].total.features[usage].psi, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(ok.versions[0].total.features[usage].missing_share, 0.0);
  EXPECT_TRUE(std::isnan(ok.versions[0].total.features[0].psi));  // no reference for it
  EXPECT_TRUE(ok.passed);

  const MonitorReport bad = Build(Options(), {}, shifted, lookup);
  const MonitorFeatureDrift& d = bad.versions[0].weeks[0].features[usage];
  // Expected (0.5, 0.5, 0) against actual (0.8, 0, 0.2), shares floored at 1e-4.
  const double expected = (0.8 - 0.5) * std::log(0.8 / 0.5) + (1e-4 - 0.5) * std::log(1e-4 / 0.5) +
                          (0.2 - 1e-4) * std::log(0.2 / 1e-4);
  EXPECT_NEAR(d.psi, expected, 1e-9);
  EXPECT_DOUBLE_EQ(d.missing_share, 0.2);
  EXPECT_FALSE(bad.passed);

  const MonitorReport none = Build(Options(), {}, {Pred("a", t, 0.2, "v9")}, lookup);
  EXPECT_FALSE(none.versions[0].has_reference);
  EXPECT_TRUE(std::isnan(none.versions[0].total.max_psi()));
  EXPECT_TRUE(none.passed);
}

TEST(MonitorDriftTest, RegionBinsOnePerRegion) {
  BinnedDistribution regions;
  regions.edges = {0, 1, 2, 3};
  EXPECT_EQ(regions.BinOf(RegionBinValue(Region::kIN)), 0u);
  EXPECT_EQ(regions.BinOf(RegionBinValue(Region::kEU)), 3u);
  EXPECT_EQ(regions.BinOf(RegionBinValue(Region::kOther)), 4u);
  EXPECT_TRUE(std::isnan(RegionBinValue(Region::kMissing)));
}

TEST(MonitorOptionsTest, Validate) {
  MonitorOptions o;
  EXPECT_TRUE(o.Validate());
  o.match_window = 0;
  EXPECT_FALSE(o.Validate());
  o = MonitorOptions{};
  o.min_auc = 1.5;
  EXPECT_FALSE(o.Validate());
  o = MonitorOptions{};
  o.max_psi = -1;
  EXPECT_FALSE(o.Validate());
}

}  // namespace
}  // namespace csml
