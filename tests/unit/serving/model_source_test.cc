#include "csml/serving/model_source.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "testing/files.h"
#include "testing/temp_registry.h"

namespace csml {
namespace {

using testing::ReadWholeFile;
using testing::WriteFile;

namespace fs = std::filesystem;

class ModelSourceTest : public testing::TempRegistryTest {
 protected:
  std::string Publish(UnixSeconds created_at) {
    ModelMeta draft;
    draft.algo = "xgb";
    draft.created_at = created_at;
    draft.features = FeatureEncoder::DefaultColumns();
    auto meta = registry_->Publish(
        ReadWholeFile(fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth" / "model.json"),
        draft);
    EXPECT_TRUE(meta.has_value()) << meta.error().message;
    return meta.value_or(ModelMeta{}).version;
  }
};

TEST_F(ModelSourceTest, AnEmptyRegistryIsNotFound) {
  ModelSource source(*registry_);
  auto id = source.Poll();
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kNotFound);
}

TEST_F(ModelSourceTest, WithoutAPointerTheNewestVersionIsServedAndNewOnesAreSeen) {
  ModelSource source(*registry_);
  const std::string first = Publish(1755853200);
  auto id = source.Poll();
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(id->version, first);
  EXPECT_FALSE(id->promoted);
  EXPECT_GT(id->meta_mtime_ns, 0);
  const std::string second = Publish(1755856800);
  id = source.Poll();
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->version, second);
}

TEST_F(ModelSourceTest, ThePointerWinsOverNewerVersions) {
  const std::string first = Publish(1755853200);
  Publish(1755856800);
  ASSERT_TRUE(registry_->Promote(first));
  ModelSource source(*registry_);
  auto id = source.Poll();
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->version, first);
  EXPECT_TRUE(id->promoted);
}

TEST_F(ModelSourceTest, APromotedVersionThatIsBrokenIsStillTheAnswer) {
  // Falling back to the newest version would serve a candidate nobody promoted.
  const std::string first = Publish(1755853200);
  Publish(1755856800);
  ASSERT_TRUE(registry_->Promote(first));
  fs::resize_file(registry_->dir() / (first + ".model.json"), 100);
  ModelSource source(*registry_);
  auto id = source.Poll();
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->version, first);
}

TEST_F(ModelSourceTest, APointerToAMissingVersionHasNoMetaTime) {
  WriteFile(registry_->dir() / "SERVING", "risk-xgb-2030-01-01-0000\n");
  ModelSource source(*registry_);
  auto id = source.Poll();
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->version, "risk-xgb-2030-01-01-0000");
  EXPECT_EQ(id->meta_mtime_ns, 0);
}

TEST_F(ModelSourceTest, AGarbledPointerIsAParseError) {
  WriteFile(registry_->dir() / "SERVING", "../../etc/passwd\n");
  ModelSource source(*registry_);
  auto id = source.Poll();
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::kParse);
}

TEST_F(ModelSourceTest, AMetaRewrittenInPlaceIsANewServable) {
  const std::string version = Publish(1755853200);
  ModelSource source(*registry_);
  const ServableId before = source.Poll().value();
  const fs::path meta = registry_->MetaPath(version);
  const std::string text = ReadWholeFile(meta);
  fs::last_write_time(meta, fs::last_write_time(meta) + std::chrono::seconds(5));
  WriteFile(meta, text);
  fs::last_write_time(meta, fs::last_write_time(meta) + std::chrono::seconds(5));
  const ServableId after = source.Poll().value();
  EXPECT_EQ(after.version, before.version);
  EXPECT_NE(after, before);
}

}  // namespace
}  // namespace csml
