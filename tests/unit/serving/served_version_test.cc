// The served-version rule with the server's load as its check (ResolveServedVersion), and
// promotion behind that same load (PromoteChecked), on real model files.
#include "csml/serving/served_version.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "testing/files.h"
#include "testing/temp_registry.h"

namespace csml {
namespace {

using testing::ReadWholeFile;

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth";

class ServedVersionTest : public testing::TempRegistryTest {
 protected:
  static ModelMeta Draft(int hour) {
    ModelMeta draft;
    draft.algo = "xgb";
    draft.created_at = 1755853200 + 3600 * hour;  // 2025-08-22T09:00:00Z + hours
    draft.features = FeatureEncoder::DefaultColumns();
    draft.thresholds = Thresholds{0.35, 0.65};
    return draft;
  }

  std::string Publish(int hour, std::string bytes = "", std::vector<std::string> features = {}) {
    ModelMeta draft = Draft(hour);
    if (!features.empty()) draft.features = std::move(features);
    if (bytes.empty()) bytes = ReadWholeFile(kFixture / "model.json");
    auto meta = registry_->Publish(bytes, draft);
    EXPECT_TRUE(meta.has_value()) << meta.error().message;
    return meta ? meta->version : std::string();
  }

  // Valid JSON whose bytes match their sha256, but no forest builds from it.
  std::string PublishUnbuildable(int hour) {
    return Publish(hour, R"({"learner": {"gradient_booster": {"model": {"trees": []}}}})");
  }

  // Same size, other bytes: only the sha256 tells.
  void Corrupt(const std::string& version) {
    const fs::path path = registry_->dir() / (version + ".model.json");
    std::string bytes = ReadWholeFile(path);
    bytes[bytes.size() / 2] = bytes[bytes.size() / 2] == '1' ? '2' : '1';
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  std::string Pointer() const {
    auto p = registry_->PromotedVersion();
    return p && p->has_value() ? **p : std::string();
  }
};

TEST_F(ServedVersionTest, ThePointersVersionWhenItLoads) {
  const std::string a = Publish(0);
  const std::string b = Publish(1);
  ASSERT_TRUE(registry_->Promote(a));
  auto served = ResolveServedVersion(*registry_);
  ASSERT_TRUE(served.has_value()) << served.error().message;
  EXPECT_EQ(served->choice.version, a);
  EXPECT_EQ(served->choice.by, ServedBy::kPointer);
  EXPECT_EQ(served->loaded.meta.version, a);
  ASSERT_NE(served->loaded.model, nullptr);
  EXPECT_EQ(served->loaded.model->version(), a);
  (void)b;
}

TEST_F(ServedVersionTest, APointerAtACorruptedVersionFallsBackToTheOnePromotedBeforeIt) {
  const std::string good = Publish(0);
  const std::string bad = Publish(1);
  const std::string newest = Publish(2);  // never promoted: never the fallback
  ASSERT_TRUE(registry_->Promote(good));
  ASSERT_TRUE(registry_->Promote(bad));
  Corrupt(bad);
  auto served = ResolveServedVersion(*registry_);
  ASSERT_TRUE(served.has_value()) << served.error().message;
  EXPECT_EQ(served->choice.version, good);
  EXPECT_EQ(served->choice.by, ServedBy::kFallback);
  EXPECT_NE(
      served->choice.reason.find("SERVING names " + bad + ", which fails: loading model " + bad),
      std::string::npos)
      << served->choice.reason;
  EXPECT_NE(served->choice.reason.find("sha256"), std::string::npos) << served->choice.reason;
  EXPECT_NE(served->choice.reason.find("fell back to " + good), std::string::npos)
      << served->choice.reason;
  EXPECT_EQ(served->loaded.model->version(), good);
  // The loader without a version name follows the same rule.
  auto loaded = LoadVersion(*registry_, "");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->meta.version, good);
  (void)newest;
}

TEST_F(ServedVersionTest, AVersionWhoseForestCannotBuildIsNotServed) {
  const std::string good = Publish(0);
  ASSERT_TRUE(registry_->Promote(good));
  const std::string unbuildable = PublishUnbuildable(1);
  ASSERT_TRUE(registry_->Promote(unbuildable)) << "the registry's own check is the sha256 only";
  auto served = ResolveServedVersion(*registry_);
  ASSERT_TRUE(served.has_value()) << served.error().message;
  EXPECT_EQ(served->choice.version, good);
  EXPECT_EQ(served->choice.by, ServedBy::kFallback);
  EXPECT_NE(served->choice.reason.find("loading model " + unbuildable), std::string::npos)
      << served->choice.reason;
}

TEST_F(ServedVersionTest, NothingQualifiesWhenEveryPromotedVersionFails) {
  const std::string bad = Publish(0);
  const std::string newest = Publish(1);
  ASSERT_TRUE(registry_->Promote(bad));
  Corrupt(bad);
  auto served = ResolveServedVersion(*registry_);
  ASSERT_FALSE(served.has_value());
  EXPECT_EQ(served.error().code, ErrorCode::kNotFound);
  EXPECT_NE(served.error().message.find("SERVING names " + bad), std::string::npos)
      << served.error().message;
  EXPECT_EQ(LoadVersion(*registry_, "").error().code, ErrorCode::kNotFound);
  (void)newest;
}

TEST_F(ServedVersionTest, NothingPromotedIsTheNewestThatLoads) {
  const std::string older = Publish(0);
  const std::string broken = PublishUnbuildable(1);
  auto served = ResolveServedVersion(*registry_);
  ASSERT_TRUE(served.has_value()) << served.error().message;
  EXPECT_EQ(served->choice.version, older);
  EXPECT_EQ(served->choice.by, ServedBy::kNewest);
  EXPECT_NE(served->choice.reason.find("loading model " + broken), std::string::npos)
      << served->choice.reason;
}

TEST_F(ServedVersionTest, PromoteRefusesAVersionTheServerWouldRefuse) {
  const std::string good = Publish(0);
  ASSERT_TRUE(registry_->Promote(good));
  const std::string unbuildable = PublishUnbuildable(1);
  std::vector<std::string> swapped = FeatureEncoder::DefaultColumns();
  std::swap(swapped[0], swapped[1]);
  const std::string mismatched = Publish(2, "", swapped);

  struct Case {
    std::string version;
    std::string why;
  };
  for (const Case& c :
       {Case{unbuildable, "loading model " + unbuildable}, Case{mismatched, "feature column 0"}}) {
    auto outcome = PromoteChecked(*registry_, c.version, PromoteOptions{});
    ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
    EXPECT_FALSE(outcome->promoted) << c.version;
    EXPECT_FALSE(outcome->forced);
    EXPECT_NE(outcome->load_error.find(c.why), std::string::npos) << outcome->load_error;
    ASSERT_TRUE(outcome->previous.has_value());
    EXPECT_EQ(*outcome->previous, good);
    EXPECT_EQ(Pointer(), good) << "a refused promote leaves SERVING alone";
  }

  // --force moves the pointer and says so; servers then fall back by the rule.
  auto forced = PromoteChecked(*registry_, mismatched, PromoteOptions{.force = true});
  ASSERT_TRUE(forced.has_value()) << forced.error().message;
  EXPECT_TRUE(forced->promoted);
  EXPECT_TRUE(forced->forced);
  EXPECT_NE(forced->load_error.find("feature column 0"), std::string::npos);
  EXPECT_EQ(Pointer(), mismatched);
  EXPECT_EQ(ResolveServedVersion(*registry_)->choice.version, good);

  // A version that loads is promoted without force.
  auto ok = PromoteChecked(*registry_, good, PromoteOptions{});
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_TRUE(ok->promoted);
  EXPECT_FALSE(ok->forced);
  EXPECT_TRUE(ok->load_error.empty());
  EXPECT_EQ(Pointer(), good);
}

TEST_F(ServedVersionTest, ForceNeverPointsAtBytesThatDoNotMatchTheirSha256) {
  const std::string good = Publish(0);
  ASSERT_TRUE(registry_->Promote(good));
  const std::string corrupt = Publish(1);
  Corrupt(corrupt);
  auto refused = PromoteChecked(*registry_, corrupt, PromoteOptions{});
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->promoted);
  EXPECT_NE(refused->load_error.find("sha256"), std::string::npos) << refused->load_error;
  auto forced = PromoteChecked(*registry_, corrupt, PromoteOptions{.force = true});
  ASSERT_FALSE(forced.has_value());
  EXPECT_EQ(forced.error().code, ErrorCode::kValidation);
  EXPECT_EQ(Pointer(), good);
}

TEST_F(ServedVersionTest, PromoteRefusesBadAndUnknownNamesAsErrors) {
  auto bad = PromoteChecked(*registry_, "../x", PromoteOptions{});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto unknown = PromoteChecked(*registry_, "risk-xgb-2030-01-01-0000", PromoteOptions{});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace csml
