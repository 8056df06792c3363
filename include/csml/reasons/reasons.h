// The human-readable reasons attached to every score (docs/API.md).
//
// Rules fire on the contract's raw features, never on the model, in a fixed order. A missing
// value (NaN) fires no rule that needs it. When no rule fires the answer is
// general_risk_factors alone.
#pragma once

#include <cstdint>
#include <string_view>

#include "csml/features/schema.h"

namespace csml {

enum class Reason : std::uint8_t {
  kInactive14d,         // time_since_last_use_days >= 14
  kPaymentIssueRecent,  // failed_renewals_30d > 0
  kNoRecentActivity,    // activity_7d == 0
  kLowFeatureUsage,     // usage_score < 0.3
  kGeneralRiskFactors,  // none of the above
};
inline constexpr std::uint8_t kNumReasons = 5;

std::string_view ReasonName(Reason reason);

// A small ordered set of reasons; iterate with ForEach in the contract's order.
class ReasonSet {
 public:
  void Add(Reason r) {
    bits_ = static_cast<std::uint8_t>(bits_ | (1u << static_cast<unsigned>(r)));
  }
  bool Contains(Reason r) const { return (bits_ >> static_cast<unsigned>(r)) & 1u; }
  bool empty() const { return bits_ == 0; }
  std::uint8_t bits() const { return bits_; }

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (std::uint8_t i = 0; i < kNumReasons; ++i) {
      if ((bits_ >> i) & 1u) fn(static_cast<Reason>(i));
    }
  }

  friend bool operator==(ReasonSet a, ReasonSet b) { return a.bits_ == b.bits_; }

 private:
  std::uint8_t bits_ = 0;
};

// Applies the rules to one customer's features.
ReasonSet ExplainRisk(const RawFeatures& features);

}  // namespace csml
