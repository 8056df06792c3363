#include "csml/tiering/tiers.h"

#include <gtest/gtest.h>

namespace csml {
namespace {

TEST(Thresholds, ClassifiesAtTheBoundariesAsTheContractSays) {
  const Thresholds t;  // 0.4 / 0.7
  EXPECT_EQ(t.Classify(0.3999), Tier::kLow);
  EXPECT_EQ(t.Classify(0.4), Tier::kMedium);
  EXPECT_EQ(t.Classify(0.6999), Tier::kMedium);
  EXPECT_EQ(t.Classify(0.7), Tier::kHigh);
  EXPECT_EQ(t.Classify(1.0), Tier::kHigh);
  EXPECT_EQ(TierName(Tier::kMedium), "medium");
}

TEST(Thresholds, ValidateRefusesOutOfRangeAndInvertedCuts) {
  EXPECT_TRUE((Thresholds{0.2, 0.5}.Validate().has_value()));
  EXPECT_FALSE((Thresholds{-0.1, 0.5}.Validate().has_value()));
  EXPECT_FALSE((Thresholds{0.2, 1.5}.Validate().has_value()));
  auto inverted = Thresholds{0.8, 0.5}.Validate();
  ASSERT_FALSE(inverted.has_value());
  EXPECT_NE(inverted.error().message.find("medium <= high"), std::string::npos);
}

}  // namespace
}  // namespace csml
