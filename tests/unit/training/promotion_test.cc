#include "csml/training/promotion.h"

#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace csml {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kCreated = 1755853200;  // 2025-08-22T09:00:00Z

ModelMeta Draft(double validation_auc, int minutes_later) {
  ModelMeta m;
  m.algo = "xgb";
  m.created_at = kCreated + minutes_later * 60;
  m.features = {"activity_7d", "usage_score"};
  if (validation_auc >= 0) m.validation_metrics["auc"] = validation_auc;
  m.extra_json = R"({"trainer":"test"})";
  return m;
}

// Not a real model: the registry stores bytes; these tests are about the pointer.
constexpr std::string_view kModelBytes = R"({"learner":{}})";

class PromotionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("csml-promotion-test-" + std::to_string(rd()));
    registry_.emplace(Registry::Open(dir_, RegistryOpenMode::kCreateIfMissing).value());
  }
  void TearDown() override { fs::remove_all(dir_); }

  PublishOutcome Publish(double auc, int minutes_later, PromotionOptions options = {}) {
    auto out = PublishAndPromote(*registry_, kModelBytes, Draft(auc, minutes_later), options);
    EXPECT_TRUE(out.has_value()) << out.error().message;
    return *out;
  }

  fs::path dir_;
  std::optional<Registry> registry_;
};

TEST(DecidePromotion, PromotesWhenNothingIsServed) {
  const PromotionDecision d = DecidePromotion(0.7, nullptr, {});
  EXPECT_TRUE(d.promote);
  EXPECT_FALSE(d.forced);
  EXPECT_TRUE(d.served_version.empty());
  EXPECT_NE(d.reason.find("no version is served"), std::string::npos);
}

TEST(DecidePromotion, PromotesWithinTheToleranceAndRefusesBeyondIt) {
  ModelMeta served = Draft(0.80, 0);
  served.version = "risk-xgb-2025-08-22-0900";
  PromotionOptions options;
  options.max_auc_drop = 0.01;
  EXPECT_TRUE(DecidePromotion(0.81, &served, options).promote);
  EXPECT_TRUE(DecidePromotion(0.795, &served, options).promote);
  const PromotionDecision worse = DecidePromotion(0.785, &served, options);
  EXPECT_FALSE(worse.promote);
  EXPECT_EQ(worse.served_version, served.version);
  EXPECT_DOUBLE_EQ(worse.served_auc, 0.80);
  EXPECT_DOUBLE_EQ(worse.candidate_auc, 0.785);
  EXPECT_NE(worse.reason.find("more than 0.01 below"), std::string::npos) << worse.reason;
  options.max_auc_drop = 0.0;
  EXPECT_FALSE(DecidePromotion(0.7999, &served, options).promote);
  EXPECT_TRUE(DecidePromotion(0.80, &served, options).promote);
}

TEST(DecidePromotion, ForceOverridesTheGateAndSaysSo) {
  ModelMeta served = Draft(0.90, 0);
  served.version = "risk-xgb-2025-08-22-0900";
  PromotionOptions options;
  options.force = true;
  const PromotionDecision d = DecidePromotion(0.60, &served, options);
  EXPECT_TRUE(d.promote);
  EXPECT_TRUE(d.forced);
  EXPECT_NE(d.reason.find("--force"), std::string::npos);
  EXPECT_NE(d.ToJson().find(R"("forced":true)"), std::string::npos);
}

TEST(DecidePromotion, PromotesOverAServedVersionWithoutAValidationAuc) {
  ModelMeta served = Draft(-1, 0);
  served.version = "risk-xgb-2025-08-22-0900";
  const PromotionDecision d = DecidePromotion(0.6, &served, {});
  EXPECT_TRUE(d.promote);
  EXPECT_NE(d.reason.find("no validation AUC"), std::string::npos);
}

TEST_F(PromotionTest, ServesABetterVersionAndKeepsTheServedOneOverAWorseVersion) {
  const PublishOutcome first = Publish(0.80, 0);
  EXPECT_TRUE(first.decision.promote);
  EXPECT_EQ(registry_->PromotedVersion().value(), first.meta.version);

  const PublishOutcome worse = Publish(0.75, 1);
  EXPECT_FALSE(worse.decision.promote);
  EXPECT_EQ(worse.served_after, first.meta.version);
  EXPECT_EQ(registry_->ResolveServed().value(), first.meta.version);
  // The refused version is published all the same, with the decision in its meta.
  const ModelMeta refused = registry_->ReadMeta(worse.meta.version).value();
  EXPECT_NE(refused.extra_json.find(R"("promotion":{"decision":"not_promoted")"), std::string::npos)
      << refused.extra_json;
  EXPECT_NE(refused.extra_json.find(R"("trainer":"test")"), std::string::npos);

  const PublishOutcome better = Publish(0.82, 2);
  EXPECT_TRUE(better.decision.promote);
  EXPECT_EQ(better.decision.served_version, first.meta.version);
  EXPECT_EQ(registry_->ResolveServed().value(), better.meta.version);
  EXPECT_NE(
      registry_->ReadMeta(better.meta.version).value().extra_json.find(R"("decision":"promoted")"),
      std::string::npos);

  // Rolling back returns to the version served before.
  EXPECT_EQ(registry_->Rollback().value(), first.meta.version);
  EXPECT_EQ(registry_->ResolveServed().value(), first.meta.version);
}

TEST_F(PromotionTest, PinsTheServedVersionWhenARefusedOneWouldBeServedAsTheNewest) {
  // A version published without promotion is served only as the newest.
  auto plain = registry_->Publish(kModelBytes, Draft(0.85, 0));
  ASSERT_TRUE(plain.has_value());
  ASSERT_FALSE(registry_->PromotedVersion().value().has_value());

  const PublishOutcome worse = Publish(0.70, 1);
  EXPECT_FALSE(worse.decision.promote);
  EXPECT_EQ(registry_->PromotedVersion().value(), plain->version);
  EXPECT_EQ(registry_->ResolveServed().value(), plain->version);
}

TEST_F(PromotionTest, ForcePromotesAWorseVersion) {
  Publish(0.90, 0);
  PromotionOptions force;
  force.force = true;
  const PublishOutcome forced = Publish(0.60, 1, force);
  EXPECT_TRUE(forced.decision.promote);
  EXPECT_TRUE(forced.decision.forced);
  EXPECT_EQ(registry_->ResolveServed().value(), forced.meta.version);
}

TEST_F(PromotionTest, RefusesABadToleranceOrExtraBeforePublishingAnything) {
  PromotionOptions bad;
  bad.max_auc_drop = -0.1;
  EXPECT_FALSE(PublishAndPromote(*registry_, kModelBytes, Draft(0.8, 0), bad).has_value());
  ModelMeta broken = Draft(0.8, 0);
  broken.extra_json = "[]";
  EXPECT_FALSE(PublishAndPromote(*registry_, kModelBytes, broken, {}).has_value());
  EXPECT_TRUE(registry_->List().value().empty());
}

}  // namespace
}  // namespace csml
