#include "csml/reasons/reasons.h"

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "testing/feature_rows.h"

namespace csml {
namespace {

std::vector<std::string> Names(ReasonSet set) {
  std::vector<std::string> out;
  set.ForEach([&](Reason r) { out.emplace_back(ReasonName(r)); });
  return out;
}

RawFeatures Healthy() {
  return testing::FeatureRow()
      .Set(NumericFeature::kActivity7d, 5)
      .Set(NumericFeature::kTimeSinceLastUseDays, 1)
      .Set(NumericFeature::kFailedRenewals30d, 0)
      .Set(NumericFeature::kUsageScore, 0.8);
}

TEST(Reasons, NoRuleFiringGivesGeneralRiskFactorsAlone) {
  EXPECT_EQ(Names(ExplainRisk(Healthy())), std::vector<std::string>{"general_risk_factors"});
}

TEST(Reasons, AllRulesFireInContractOrder) {
  RawFeatures f;
  f.Set(NumericFeature::kActivity7d, 0);
  f.Set(NumericFeature::kTimeSinceLastUseDays, 14);
  f.Set(NumericFeature::kFailedRenewals30d, 1);
  f.Set(NumericFeature::kUsageScore, 0.29);
  EXPECT_EQ(Names(ExplainRisk(f)),
            (std::vector<std::string>{"inactive_14d", "payment_issue_recent", "no_recent_activity",
                                      "low_feature_usage"}));
}

TEST(Reasons, BoundariesAreExact) {
  RawFeatures f = Healthy();
  f.Set(NumericFeature::kTimeSinceLastUseDays, 13.999);
  f.Set(NumericFeature::kUsageScore, 0.3);
  EXPECT_EQ(Names(ExplainRisk(f)), std::vector<std::string>{"general_risk_factors"});
}

TEST(Reasons, MissingValuesFireNoRule) {
  const RawFeatures all_missing;
  EXPECT_EQ(Names(ExplainRisk(all_missing)), std::vector<std::string>{"general_risk_factors"});
}

// ---- model reasons ------------------------------------------------------------------------

const std::vector<std::string> kColumns = {
    "activity_7d",         "activity_30d", "time_since_last_use_days",
    "failed_renewals_30d", "tickets_7d",   "plan_value",
    "usage_score",         "region_IN"};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> ModelNames(const std::vector<double>& values,
                                    const std::vector<double>& contributions) {
  const ModelReasons reasons(ReasonCatalog::Default(), kColumns);
  return Names(reasons.Explain(values, contributions));
}

TEST(ModelReasons, RaisedFeaturesLargestFirstWhereTheirConditionHolds) {
  //                           a7  a30 tslu fr  t7  plan usage IN
  const std::vector<double> v = {0, 3, 20, 1, 2, 20, 0.1, 1};
  const std::vector<double> c = {0.1, 0.5, 0.9, 0.3, -0.2, 0.05, 0.7, 0.2};
  // Largest first; only four; tickets lowered the risk so it never shows.
  EXPECT_EQ(ModelNames(v, c),
            (std::vector<std::string>{"inactive_14d", "low_feature_usage", "low_activity_30d",
                                      "payment_issue_recent"}));
}

TEST(ModelReasons, ASeedCodeOnlyWhereItsRuleHolds) {
  // time_since_last_use_days raised the risk at 10 days: inactive_14d's rule does not hold,
  // so the column gives no code; usage_score raised it at 0.5: no low_feature_usage.
  const std::vector<double> v = {1, 20, 10, 0, 0, 80, 0.5, 0};
  const std::vector<double> c = {-0.1, -0.2, 0.8, -0.3, -0.1, 0.2, 0.4, -0.05};
  EXPECT_EQ(ModelNames(v, c), std::vector<std::string>{"high_plan_value"});
}

TEST(ModelReasons, AFiredRuleWhoseFeatureLoweredTheRiskIsNotListed) {
  // The rule inactive_14d fires (20 days) but the model's contribution is negative.
  const std::vector<double> v = {0, 3, 20, 0, 0, 20, 0.9, 0};
  const std::vector<double> c = {0.3, 0.0, -0.4, -0.1, 0.0, 0.0, -0.2, 0.0};
  EXPECT_EQ(Names(ExplainRisk(testing::FeatureRow()
                                  .Set(NumericFeature::kActivity7d, 0)
                                  .Set(NumericFeature::kTimeSinceLastUseDays, 20)
                                  .Set(NumericFeature::kFailedRenewals30d, 0)
                                  .Set(NumericFeature::kUsageScore, 0.9))),
            (std::vector<std::string>{"inactive_14d", "no_recent_activity"}));
  EXPECT_EQ(ModelNames(v, c), std::vector<std::string>{"no_recent_activity"});
}

TEST(ModelReasons, GeneralRiskFactorsOnlyWhenNothingRaisedTheRisk) {
  const std::vector<double> v = {0, 3, 20, 1, 2, 20, 0.1, 1};
  EXPECT_EQ(ModelNames(v, {-0.1, -0.5, -0.9, 0.0, -0.2, -0.05, -0.7, -0.2}),
            std::vector<std::string>{"general_risk_factors"});
  // Missing values name no direction: a raised but missing feature gives no code.
  EXPECT_EQ(ModelNames({kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN},
                       {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}),
            std::vector<std::string>{"general_risk_factors"});
  // Sizes that disagree.
  EXPECT_EQ(ModelNames({1.0}, {1.0}), std::vector<std::string>{"general_risk_factors"});
}

TEST(ModelReasons, RegionOneHotAndTiesInColumnOrder) {
  const std::vector<double> v = {5, 20, 1, 0, 1, 20, 0.9, 1};
  const std::vector<double> c = {0, 0, 0, 0, 0.25, 0.1, 0, 0.25};
  EXPECT_EQ(ModelNames(v, c),
            (std::vector<std::string>{"support_tickets_7d", "region_in", "low_plan_value"}));
  // region_IN == 0 raising the risk names nothing.
  EXPECT_EQ(ModelNames({5, 20, 1, 0, 0, 60, 0.9, 0}, {0, 0, 0, 0, 0, 0, 0, 0.3}),
            std::vector<std::string>{"general_risk_factors"});
}

TEST(ReasonCatalog, DefaultRoundTripsThroughItsFileForm) {
  const ReasonCatalog& d = ReasonCatalog::Default();
  EXPECT_EQ(d.version, "csml-default-1");
  const Result<ReasonCatalog> back = ReasonCatalog::FromJson(d.ToJson());
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->ToJson(), d.ToJson());
  ASSERT_EQ(back->entries.size(), d.entries.size());
  // The seed's four codes keep their rules.
  EXPECT_EQ(d.entries[0].column, "time_since_last_use_days");
  EXPECT_EQ(d.entries[0].code, Reason::kInactive14d);
  EXPECT_EQ(ReasonOpText(d.entries[0].op), ">=");
  EXPECT_EQ(d.entries[0].value, 14.0);
}

TEST(ReasonCatalog, AFileMapsColumnsToKnownCodes) {
  const Result<ReasonCatalog> c = ReasonCatalog::FromJson(
      R"({"format":1,"version":"acme-2","entries":[{"column":"plan_value","when":">","value":200,"code":"high_plan_value"}]})");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  const ModelReasons reasons(*c, kColumns);
  EXPECT_EQ(reasons.catalog_version(), "acme-2");
  EXPECT_EQ(Names(reasons.Explain(std::vector<double>{0, 3, 20, 1, 2, 250, 0.1, 1},
                                  std::vector<double>{1, 1, 1, 1, 1, 0.5, 1, 1})),
            std::vector<std::string>{"high_plan_value"});
}

TEST(ReasonCatalog, RefusesWhatItCannotServe) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"format":2,"version":"x","entries":[]})", "format"},
      {R"({"format":1,"version":"","entries":[]})", "version"},
      {R"({"format":1,"version":"x","entries":[{"column":"plan_value","when":"~","value":1,"code":"low_plan_value"}]})",
       "entries[0].when"},
      {R"({"format":1,"version":"x","entries":[{"column":"plan_value","when":"<","value":1,"code":"made_up"}]})",
       "entries[0].code"},
      {R"({"format":1,"version":"x","entries":[{"column":"plan_value","when":"<","value":1,"code":"general_risk_factors"}]})",
       "entries[0].code"},
      {R"({"format":1,"version":"x","entries":[{"column":"","when":"<","value":1,"code":"low_plan_value"}]})",
       "entries[0].column"},
      {"[]", "reason catalog"},
  };
  for (const auto& [text, where] : bad) {
    const Result<ReasonCatalog> c = ReasonCatalog::FromJson(text);
    ASSERT_FALSE(c.has_value()) << text;
    EXPECT_NE(c.error().message.find(where), std::string::npos) << c.error().message;
  }
}

TEST(ReasonSettings, ReadFromMetaExtra) {
  const Result<ReasonSettings> none =
      ReasonSettings::FromExtraJson(R"({"trainer":"csml-train-2"})");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->mode, ReasonMode::kRules);
  EXPECT_FALSE(none->catalog.has_value());
  const ReasonSettings model{ReasonMode::kModel, ReasonCatalog::Default()};
  const Result<ReasonSettings> back =
      ReasonSettings::FromExtraJson(R"({"trainer":"x","reasons":)" + model.ToJson() + "}");
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->mode, ReasonMode::kModel);
  ASSERT_TRUE(back->catalog.has_value());
  EXPECT_EQ(back->catalog->ToJson(), ReasonCatalog::Default().ToJson());
  const Result<ReasonSettings> bad = ReasonSettings::FromExtraJson(R"({"reasons":{"mode":"ml"}})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("reasons.mode"), std::string::npos) << bad.error().message;
}

TEST(ReasonSet, AddKeepsTheContractsOrderAppendTheCallsAndEachCodeOnce) {
  ReasonSet ranked;
  ranked.Append(Reason::kLowPlanValue);
  ranked.Append(Reason::kInactive14d);
  ranked.Append(Reason::kLowPlanValue);
  EXPECT_EQ(Names(ranked), (std::vector<std::string>{"low_plan_value", "inactive_14d"}));
  ReasonSet rules;
  rules.Add(Reason::kLowFeatureUsage);
  rules.Add(Reason::kInactive14d);
  rules.Add(Reason::kPaymentIssueRecent);
  rules.Add(Reason::kInactive14d);
  EXPECT_EQ(Names(rules), (std::vector<std::string>{"inactive_14d", "payment_issue_recent",
                                                    "low_feature_usage"}));
  for (std::uint8_t i = 0; i < kNumReasons; ++i) {
    EXPECT_EQ(ReasonFromName(ReasonName(static_cast<Reason>(i))), static_cast<Reason>(i));
  }
  EXPECT_FALSE(ReasonFromName("nope").has_value());
}

}  // namespace
}  // namespace csml
