#include "csml/reasons/reasons.h"

#include <string>
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

}  // namespace
}  // namespace csml
