#include "csml/serving/model_router.h"

#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "csml/serving/shadow_scorer.h"
#include "testing/files.h"
#include "testing/temp_registry.h"

namespace csml {
namespace {

namespace fs = std::filesystem;
using testing::ReadWholeFile;

std::string FixtureBytes() {
  return ReadWholeFile(fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth" / "model.json");
}

std::string PublishInto(const Registry& registry, UnixSeconds created_at) {
  ModelMeta draft;
  draft.algo = "xgb";
  draft.created_at = created_at;
  draft.features = FeatureEncoder::DefaultColumns();
  auto meta = registry.Publish(FixtureBytes(), draft);
  EXPECT_TRUE(meta.has_value()) << meta.error().message;
  return meta.value_or(ModelMeta{}).version;
}

class ModelRouterTest : public testing::TempRegistryTest {
 protected:
  void SetUp() override {
    TempRegistryTest::SetUp();
    global_version_ = PublishInto(*registry_, 1755853200);
    auto model = LoadServingModel(*registry_, global_version_);
    ASSERT_TRUE(model.has_value()) << model.error().message;
    manager_.Swap(*model);
  }

  Registry Tenant(const std::string& tenant) {
    auto registry =
        Registry::OpenTenant(dir_ / "models", tenant, RegistryOpenMode::kCreateIfMissing);
    EXPECT_TRUE(registry.has_value()) << registry.error().message;
    return std::move(*registry);
  }

  std::unique_ptr<ModelRouter> MakeRouter(std::size_t cap = 100) {
    ModelRouterOptions options;
    options.max_loaded_tenants = cap;
    options.poll_interval_ms = 0;  // the tests refresh by hand
    auto router = ModelRouter::Create(options, dir_ / "models", manager_,
                                      [this](const RouterEvent& e) { events_.push_back(e); });
    EXPECT_TRUE(router.has_value()) << router.error().message;
    (*router)->Refresh();
    return std::move(*router);
  }

  // Loads `tenant` on first use the way the server does, and waits for the attempt.
  static void LoadAndWait(ModelRouter& router, const std::string& tenant) {
    std::promise<void> done;
    router.LoadThen(tenant, [&done] { done.set_value(); });
    done.get_future().wait();
  }

  ModelManager manager_;
  std::string global_version_;
  std::vector<RouterEvent> events_;  // written on the router thread; read after it is idle
};

TEST(UserBucketTest, TheCanarySplitIsWithinTwoPointsOfPOnTenThousandIds) {
  for (const double percent : {1.0, 5.0, 30.0, 50.0, 90.0}) {
    int in = 0;
    for (int i = 0; i < 10000; ++i) in += InCanary("user-" + std::to_string(i), percent) ? 1 : 0;
    EXPECT_NEAR(in / 100.0, percent, 2.0) << percent;
  }
}

TEST(UserBucketTest, BucketsArePinnedSoACustomerNeverFlipsAcrossVersions) {
  // These values are the contract: a release that changed them would move customers between
  // the served and the canary version.
  EXPECT_EQ(UserBucket("u_001", kCanarySalt), UserBucket("u_001", kCanarySalt));
  EXPECT_NE(UserBucket("u_001", kCanarySalt), UserBucket("u_001", kShadowSalt));
  EXPECT_EQ(UserBucket("u_001", kCanarySalt), 789u);
  EXPECT_EQ(UserBucket("", kCanarySalt), 2688u);
  EXPECT_EQ(UserBucket("u_001", kShadowSalt), 7983u);
  EXPECT_FALSE(InCanary("anyone", 0.0));
  EXPECT_TRUE(InCanary("anyone", 100.0));
  EXPECT_TRUE(InShadowSample("anyone", 1.0));
  EXPECT_FALSE(InShadowSample("anyone", 0.0));
}

TEST_F(ModelRouterTest, NoHeaderAndUnknownTenantsGetTheGlobalModel) {
  auto router = MakeRouter();
  for (const std::string_view tenant : {"", "nobody"}) {
    const Route route = router->Resolve(tenant, "u1");
    EXPECT_EQ(route.status, Route::Status::kReady);
    ASSERT_NE(route.model, nullptr);
    EXPECT_EQ(route.model->version(), global_version_);
    EXPECT_FALSE(route.tenant_model);
    EXPECT_FALSE(route.canary);
    EXPECT_EQ(route.shadow, nullptr);
  }
  EXPECT_EQ(router->Stats().fallback_scores, 1u);  // "nobody" named a tenant; "" did not
}

TEST_F(ModelRouterTest, ATenantWithAModelLoadsOnFirstUseAndAnswersWithItsQualifiedVersion) {
  const std::string version = PublishInto(Tenant("acme"), 1755856800);
  auto router = MakeRouter();
  router->Start();
  EXPECT_EQ(router->Resolve("acme", "u1").status, Route::Status::kLoading);
  LoadAndWait(*router, "acme");
  const Route route = router->Resolve("acme", "u1");
  ASSERT_EQ(route.status, Route::Status::kReady);
  ASSERT_NE(route.model, nullptr);
  EXPECT_EQ(route.model->version(), "acme/" + version);
  EXPECT_TRUE(route.tenant_model);
  const ModelRouterStats stats = router->Stats();
  EXPECT_EQ(stats.known_tenants, 1u);
  EXPECT_EQ(stats.loaded_tenants, 1u);
  EXPECT_EQ(stats.loads, 1u);
  ASSERT_EQ(stats.tenants.size(), 1u);
  EXPECT_EQ(stats.tenants[0].scores, 1u);
}

TEST_F(ModelRouterTest, ATenantNamespaceWithoutVersionsIsAnsweredByTheGlobalModel) {
  Tenant("refused");  // the data gate refused it: the namespace exists, no version does
  auto router = MakeRouter();
  const Route route = router->Resolve("refused", "u1");
  EXPECT_EQ(route.status, Route::Status::kReady);
  ASSERT_NE(route.model, nullptr);
  EXPECT_EQ(route.model->version(), global_version_);
  EXPECT_EQ(router->Stats().known_tenants, 0u);
}

TEST_F(ModelRouterTest, ATenantWhoseModelFailsToLoadIsAnsweredByTheGlobalModel) {
  // A whole version (its files match their sha256) whose model cannot serve: it records
  // fewer feature columns than the forest reads.
  Registry acme = Tenant("acme");
  ModelMeta draft;
  draft.algo = "xgb";
  draft.created_at = 1755856800;
  draft.features = FeatureEncoder::DefaultColumns();
  draft.features.resize(3);
  ASSERT_TRUE(acme.Publish(FixtureBytes(), draft).has_value());
  auto router = MakeRouter();
  router->Start();
  ASSERT_EQ(router->Resolve("acme", "u1").status, Route::Status::kLoading);
  LoadAndWait(*router, "acme");
  const Route route = router->Resolve("acme", "u1");
  EXPECT_EQ(route.status, Route::Status::kReady);
  ASSERT_NE(route.model, nullptr);
  EXPECT_EQ(route.model->version(), global_version_);
  EXPECT_EQ(router->Stats().load_failures, 1u);
  router->Stop();
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().kind, RouterEvent::Kind::kFailed);
  EXPECT_EQ(events_.back().tenant, "acme");
}

TEST_F(ModelRouterTest, UnderACapOfTwoTheLeastRecentlyUsedOfFiveTenantsAreUnloaded) {
  std::vector<std::string> tenants = {"t0", "t1", "t2", "t3", "t4"};
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    PublishInto(Tenant(tenants[i]), 1755856800 + static_cast<UnixSeconds>(i));
  }
  auto router = MakeRouter(2);
  router->Start();
  const auto use = [&](const std::string& tenant) {
    if (router->Resolve(tenant, "u").status == Route::Status::kLoading) {
      LoadAndWait(*router, tenant);
    }
    const Route route = router->Resolve(tenant, "u");
    EXPECT_TRUE(route.tenant_model) << tenant;
    EXPECT_LE(router->Stats().loaded_tenants, 2u);
    // last-used times are in milliseconds: keep the uses apart.
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  };
  use("t0");
  use("t1");
  use("t0");  // t1 is now the least recently used
  use("t2");
  ModelRouterStats stats = router->Stats();
  EXPECT_EQ(stats.loaded_tenants, 2u);
  EXPECT_EQ(stats.unloads, 1u);
  for (const TenantStat& t : stats.tenants) {
    EXPECT_EQ(t.loaded, t.tenant == "t0" || t.tenant == "t2") << t.tenant;
  }
  use("t3");
  use("t4");
  use("t1");  // unloaded before: loads again
  stats = router->Stats();
  EXPECT_EQ(stats.loaded_tenants, 2u);
  EXPECT_EQ(stats.unloads, 4u);
  EXPECT_EQ(stats.loads, 6u);
}

TEST_F(ModelRouterTest, CanaryAndShadowPointersRouteTheGlobalTraffic) {
  const std::string candidate = PublishInto(*registry_, 1755856800);
  ASSERT_TRUE(registry_->Promote(global_version_));
  ASSERT_TRUE(registry_->SetCanary(candidate, 30));
  ASSERT_TRUE(registry_->SetShadow(candidate, 0.5));
  auto router = MakeRouter();
  int canary = 0;
  int shadowed = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string user = "user-" + std::to_string(i);
    const Route route = router->Resolve("", user);
    ASSERT_NE(route.model, nullptr);
    EXPECT_EQ(route.canary, InCanary(user, 30));
    EXPECT_EQ(route.model->version(), route.canary ? candidate : global_version_);
    if (route.canary) {
      ++canary;
      ASSERT_NE(route.served, nullptr);
      EXPECT_EQ(route.served->version(), global_version_);
    }
    if (route.shadow != nullptr) {
      ++shadowed;
      EXPECT_EQ(route.shadow->version(), candidate);
    }
    EXPECT_EQ(route.shadow != nullptr, InShadowSample(user, 0.5));
  }
  EXPECT_GT(canary, 0);
  EXPECT_LT(canary, 2000);
  EXPECT_GT(shadowed, 0);
  const ModelRouterStats stats = router->Stats();
  EXPECT_EQ(stats.global_canary, candidate);
  EXPECT_DOUBLE_EQ(stats.global_canary_percent, 30);
  EXPECT_EQ(stats.global_shadow, candidate);
  // Clearing them takes them out on the next pass.
  ASSERT_TRUE(registry_->ClearCanary());
  ASSERT_TRUE(registry_->ClearShadow());
  router->Refresh();
  for (int i = 0; i < 200; ++i) {
    const Route route = router->Resolve("", "user-" + std::to_string(i));
    EXPECT_FALSE(route.canary);
    EXPECT_EQ(route.shadow, nullptr);
  }
}

TEST_F(ModelRouterTest, ATenantsCanaryAppliesToItsOwnCustomersOnly) {
  Registry acme = Tenant("acme");
  const std::string served = PublishInto(acme, 1755856800);
  const std::string candidate = PublishInto(acme, 1755860400);
  ASSERT_TRUE(acme.Promote(served));
  ASSERT_TRUE(acme.SetCanary(candidate, 50));
  auto router = MakeRouter();
  router->Start();
  LoadAndWait(*router, "acme");
  int canary = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string user = "user-" + std::to_string(i);
    const Route tenant_route = router->Resolve("acme", user);
    ASSERT_TRUE(tenant_route.tenant_model);
    EXPECT_EQ(tenant_route.model->version(), "acme/" + (InCanary(user, 50) ? candidate : served));
    canary += tenant_route.canary ? 1 : 0;
    EXPECT_FALSE(router->Resolve("", user).canary);  // the global namespace has none
  }
  EXPECT_GT(canary, 0);
}

TEST_F(ModelRouterTest, AReloadOfALoadedTenantSwapsInTheNewVersion) {
  Registry acme = Tenant("acme");
  const std::string first = PublishInto(acme, 1755856800);
  ASSERT_TRUE(acme.Promote(first));
  auto router = MakeRouter();
  router->Start();
  LoadAndWait(*router, "acme");
  const Route held = router->Resolve("acme", "u1");
  const std::string second = PublishInto(acme, 1755860400);
  ASSERT_TRUE(acme.Promote(second));
  router->Refresh();
  EXPECT_EQ(router->Resolve("acme", "u1").model->version(), "acme/" + second);
  EXPECT_EQ(held.model->version(), "acme/" + first);  // a request in flight keeps its model
}

TEST_F(ModelRouterTest, ShadowScorerScoresEveryOfferBelowCapacity) {
  Registry acme = Tenant("acme");
  auto shadow = LoadServingModel(acme, PublishInto(acme, 1755856800));
  ASSERT_TRUE(shadow.has_value()) << shadow.error().message;
  auto scorer = ShadowScorer::Create(ShadowScorerOptions{}, nullptr);
  ASSERT_TRUE(scorer.has_value()) << scorer.error().message;
  RawFeatures features;
  const Result<ScoreResult> answer = (*shadow)->Score(features);
  ASSERT_TRUE(answer.has_value());
  // Half the offers say the answer was in the shadow's own tier, half in another one.
  const Tier other = answer->tier == Tier::kHigh ? Tier::kLow : Tier::kHigh;
  constexpr int kOffers = 1000;  // below the default capacity: none may be dropped
  for (int i = 0; i < kOffers; ++i) {
    ShadowOffer offer;
    offer.shadow = *shadow;
    offer.request_id = "r";
    offer.user_id = "u";
    offer.answered_tier = i % 2 == 0 ? answer->tier : other;
    offer.features = &features;
    EXPECT_TRUE((*scorer)->Offer(offer));
  }
  (*scorer)->Stop();  // scores what is queued
  const ShadowStats stats = (*scorer)->Stats();
  EXPECT_EQ(stats.scored, static_cast<std::uint64_t>(kOffers));
  EXPECT_EQ(stats.tier_changed, static_cast<std::uint64_t>(kOffers / 2));
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(shadow->use_count(), 1);  // the queue's slots let go of the model
}

}  // namespace
}  // namespace csml
