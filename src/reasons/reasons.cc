#include "csml/reasons/reasons.h"

namespace csml {

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kInactive14d:
      return "inactive_14d";
    case Reason::kPaymentIssueRecent:
      return "payment_issue_recent";
    case Reason::kNoRecentActivity:
      return "no_recent_activity";
    case Reason::kLowFeatureUsage:
      return "low_feature_usage";
    case Reason::kGeneralRiskFactors:
      return "general_risk_factors";
  }
  return "general_risk_factors";
}

ReasonSet ExplainRisk(const RawFeatures& features) {
  // Each comparison is false for NaN, so a missing value fires nothing.
  ReasonSet reasons;
  if (features.Get(NumericFeature::kTimeSinceLastUseDays) >= 14.0)
    reasons.Add(Reason::kInactive14d);
  if (features.Get(NumericFeature::kFailedRenewals30d) > 0.0)
    reasons.Add(Reason::kPaymentIssueRecent);
  if (features.Get(NumericFeature::kActivity7d) == 0.0) reasons.Add(Reason::kNoRecentActivity);
  if (features.Get(NumericFeature::kUsageScore) < 0.3) reasons.Add(Reason::kLowFeatureUsage);
  if (reasons.empty()) reasons.Add(Reason::kGeneralRiskFactors);
  return reasons;
}

}  // namespace csml
