// RawFeatures rows for tests, built one field at a time, and the seed customer of
// docs/API.md's /score example (the row most tests start from).
#pragma once

#include <limits>

#include "csml/features/schema.h"

namespace csml::testing {

// FeatureRow().Set(NumericFeature::kActivity7d, 5).In(Region::kIN): every feature not set is
// missing (NaN numerics, Region::kMissing), as in a request that leaves it out.
class FeatureRow {
 public:
  FeatureRow() = default;
  explicit FeatureRow(const RawFeatures& features) : features_(features) {}

  FeatureRow& Set(NumericFeature feature, double value) {
    features_.Set(feature, value);
    return *this;
  }
  FeatureRow& Unset(NumericFeature feature) {
    return Set(feature, std::numeric_limits<double>::quiet_NaN());
  }
  FeatureRow& In(Region region) {
    features_.region = region;
    return *this;
  }

  const RawFeatures& features() const { return features_; }
  operator RawFeatures() const { return features_; }  // NOLINT: a row is its features

 private:
  RawFeatures features_;
};

// activity_7d 2, activity_30d 6, time_since_last_use_days 15, failed_renewals_30d 1,
// tickets_7d 0, plan_value 49, usage_score 0.2, region IN; tickets_30d missing.
inline FeatureRow SeedFeatures() {
  return FeatureRow()
      .Set(NumericFeature::kActivity7d, 2)
      .Set(NumericFeature::kActivity30d, 6)
      .Set(NumericFeature::kTimeSinceLastUseDays, 15)
      .Set(NumericFeature::kFailedRenewals30d, 1)
      .Set(NumericFeature::kTickets7d, 0)
      .Set(NumericFeature::kPlanValue, 49)
      .Set(NumericFeature::kUsageScore, 0.2)
      .In(Region::kIN);
}

}  // namespace csml::testing
