#include "csml/registry/registry.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kAug22At0900 = 1755853200;  // 2025-08-22T09:00:00Z

// A fresh registry directory per test, removed afterwards.
class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("csml-registry-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    auto r = Registry::Open(dir_, RegistryOpenMode::kCreateIfMissing);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    registry_.emplace(std::move(*r));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static ModelMeta Draft(UnixSeconds created_at = kAug22At0900) {
    ModelMeta m;
    m.algo = "xgb";
    m.created_at = created_at;
    m.features = {"activity_7d", "usage_score"};
    m.base_rate = 0.25;
    m.rows.train = 100;
    m.train_metrics = {{"auc", 0.8}};
    return m;
  }

  ModelMeta MustPublish(std::string_view bytes, ModelMeta draft) {
    auto meta = registry_->Publish(bytes, std::move(draft));
    EXPECT_TRUE(meta.has_value()) << meta.error().message;
    return meta.value_or(ModelMeta{});
  }

  static void WriteFile(const fs::path& path, std::string_view text) {
    std::ofstream(path, std::ios::binary) << text;
  }

  const Registry& registry() const { return *registry_; }

  fs::path dir_;
  std::optional<Registry> registry_;
};

TEST_F(RegistryTest, PublishedVersionsListAndReadBack) {
  const ModelMeta published = MustPublish("{\"model\":1}", Draft());
  EXPECT_EQ(published.version, "risk-xgb-2025-08-22-0900");
  EXPECT_EQ(published.model_file, "risk-xgb-2025-08-22-0900.model.json");
  EXPECT_EQ(published.model_size_bytes, 11);
  EXPECT_EQ(published.model_sha256.size(), 64u);
  EXPECT_TRUE(fs::exists(dir_ / "risk-xgb-2025-08-22-0900.meta.json"));
  EXPECT_EQ(registry().ModelPath(published), dir_ / "risk-xgb-2025-08-22-0900.model.json");

  auto list = registry().List();
  ASSERT_TRUE(list.has_value()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().version, published.version);
  EXPECT_EQ(list->front().features, published.features);

  auto meta = registry().ReadMeta(published.version);
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_EQ(meta->ToJson(), published.ToJson());
  EXPECT_EQ(registry().ReadModelBytes(*meta).value(), "{\"model\":1}");

  auto scan = registry().Scan();
  ASSERT_TRUE(scan.has_value());
  EXPECT_TRUE(scan->problems.empty());
}

TEST_F(RegistryTest, AClashTakesTheNextSuffixAndListingOrdersThemNaturally) {
  std::vector<std::string> names;
  for (int i = 0; i < 11; ++i)
    names.push_back(MustPublish("m" + std::to_string(i), Draft()).version);
  EXPECT_EQ(names[0], "risk-xgb-2025-08-22-0900");
  EXPECT_EQ(names[1], "risk-xgb-2025-08-22-0900-2");
  EXPECT_EQ(names[10], "risk-xgb-2025-08-22-0900-11");
  const auto list = registry().List().value();
  ASSERT_EQ(list.size(), 11u);
  for (std::size_t i = 0; i < list.size(); ++i) EXPECT_EQ(list[i].version, names[i]);

  // A later minute gets its own name and sorts after.
  EXPECT_EQ(MustPublish("later", Draft(kAug22At0900 + 60)).version, "risk-xgb-2025-08-22-0901");
  EXPECT_EQ(registry().List().value().back().version, "risk-xgb-2025-08-22-0901");
}

TEST_F(RegistryTest, ConcurrentPublishersNeverShareAName) {
  constexpr int kThreads = 6;
  constexpr int kEach = 4;
  std::vector<std::vector<std::string>> names(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto meta =
            registry().Publish("model-" + std::to_string(t) + "-" + std::to_string(i), Draft());
        if (meta) names[t].push_back(meta->version);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& per_thread : names) {
    EXPECT_EQ(per_thread.size(), static_cast<std::size_t>(kEach));
    all.insert(per_thread.begin(), per_thread.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
  auto scan = registry().Scan().value();
  EXPECT_EQ(scan.versions.size(), all.size());
  EXPECT_TRUE(scan.problems.empty());
  for (const ModelMeta& m : scan.versions) EXPECT_TRUE(registry().ReadModelBytes(m).has_value());
}

TEST_F(RegistryTest, LeftoversOfAnInterruptedPublishAreReportedButNeverListed) {
  const ModelMeta good = MustPublish("good", Draft());
  // A writer that died at each step: temp files only, a model without its meta, and a meta
  // whose model never arrived.
  WriteFile(dir_ / ".tmp-123-abc.model.json", "half a mod");
  WriteFile(dir_ / ".tmp-123-abd.meta.json", "{\"meta_fo");
  WriteFile(dir_ / "risk-xgb-2025-08-22-0901.model.json", "orphan");
  ModelMeta orphan_meta = good;
  orphan_meta.version = "risk-xgb-2025-08-22-0902";
  orphan_meta.model_file = "risk-xgb-2025-08-22-0902.model.json";
  WriteFile(dir_ / "risk-xgb-2025-08-22-0902.meta.json", orphan_meta.ToJson());
  WriteFile(dir_ / "risk-xgb-2025-08-22-0903.meta.json", "{ not json");

  auto scan = registry().Scan();
  ASSERT_TRUE(scan.has_value()) << scan.error().message;
  ASSERT_EQ(scan->versions.size(), 1u);
  EXPECT_EQ(scan->versions[0].version, good.version);
  EXPECT_EQ(scan->problems.size(), 5u);
  EXPECT_EQ(registry().List().value().size(), 1u);
  EXPECT_EQ(registry().ResolveServed().value(), good.version);

  auto missing_model = registry().ReadMeta("risk-xgb-2025-08-22-0902");
  ASSERT_FALSE(missing_model.has_value());
  EXPECT_NE(missing_model.error().message.find("missing"), std::string::npos);

  // The orphaned model holds its name: the next publisher of that minute moves on.
  EXPECT_EQ(MustPublish("next", Draft(kAug22At0900 + 60)).version, "risk-xgb-2025-08-22-0901-2");
}

TEST_F(RegistryTest, ReadModelBytesRefusesAModelWhoseSha256DiffersFromTheMeta) {
  const ModelMeta meta = MustPublish("original", Draft());
  WriteFile(registry().ModelPath(meta), "tampered");  // same length, other bytes
  auto bytes = registry().ReadModelBytes(meta);
  ASSERT_FALSE(bytes.has_value());
  EXPECT_EQ(bytes.error().code, ErrorCode::kValidation);
  EXPECT_NE(bytes.error().message.find("sha256"), std::string::npos);
  EXPECT_FALSE(registry().Promote(meta.version).has_value());

  WriteFile(registry().ModelPath(meta), "short");
  EXPECT_FALSE(registry().ReadModelBytes(meta).has_value());
}

TEST_F(RegistryTest, ResolveServedIsTheNewestUntilSomethingIsPromoted) {
  EXPECT_EQ(registry().ResolveServed().error().code, ErrorCode::kNotFound);
  const ModelMeta a = MustPublish("a", Draft(kAug22At0900));
  const ModelMeta b = MustPublish("b", Draft(kAug22At0900 + 3600));
  EXPECT_EQ(registry().PromotedVersion().value(), std::nullopt);
  EXPECT_EQ(registry().ResolveServed().value(), b.version);

  ASSERT_TRUE(registry().Promote(a.version).has_value());
  EXPECT_EQ(registry().PromotedVersion().value(), a.version);
  EXPECT_EQ(registry().ResolveServed().value(), a.version);

  // A promoted version that disappears does not hand the service to the unpromoted newest
  // one (issue 17): with nothing promoted before it, nothing qualifies.
  fs::remove(registry().ModelPath(a));
  auto served = registry().ResolveServed();
  ASSERT_FALSE(served.has_value());
  EXPECT_EQ(served.error().code, ErrorCode::kNotFound);
  EXPECT_NE(served.error().message.find("SERVING names " + a.version), std::string::npos)
      << served.error().message;
}

TEST_F(RegistryTest, RollbackReturnsToThePreviouslyPromotedVersion) {
  const ModelMeta a = MustPublish("a", Draft(kAug22At0900));
  const ModelMeta b = MustPublish("b", Draft(kAug22At0900 + 60));
  const ModelMeta c = MustPublish("c", Draft(kAug22At0900 + 120));

  auto nothing = registry().Rollback();
  ASSERT_FALSE(nothing.has_value());
  EXPECT_EQ(nothing.error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(registry().Promote(a.version).has_value());
  EXPECT_EQ(registry().Rollback().error().code, ErrorCode::kNotFound);  // nothing before a
  ASSERT_TRUE(registry().Promote(b.version).has_value());
  ASSERT_TRUE(registry().Promote(b.version).has_value());  // no-op, not a history entry
  ASSERT_TRUE(registry().Promote(c.version).has_value());

  EXPECT_EQ(registry().Rollback().value(), b.version);
  EXPECT_EQ(registry().ResolveServed().value(), b.version);
  EXPECT_EQ(registry().Rollback().value(), a.version);
  EXPECT_FALSE(registry().Rollback().has_value());
  EXPECT_EQ(registry().PromotedVersion().value(), a.version);

  const auto history = registry().History().value();
  ASSERT_EQ(history.size(), 5u);
  EXPECT_EQ(history[0].version, a.version);
  EXPECT_EQ(history[0].action, "promote");
  EXPECT_EQ(history[3].version, b.version);
  EXPECT_EQ(history[3].action, "rollback");
  EXPECT_EQ(history[4].version, a.version);
  EXPECT_GT(history[4].at, 0);
}

TEST_F(RegistryTest, RollbackRefusesATargetThatIsGone) {
  const ModelMeta a = MustPublish("a", Draft(kAug22At0900));
  const ModelMeta b = MustPublish("b", Draft(kAug22At0900 + 60));
  ASSERT_TRUE(registry().Promote(a.version).has_value());
  ASSERT_TRUE(registry().Promote(b.version).has_value());
  fs::remove(registry().MetaPath(a.version));
  auto r = registry().Rollback();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kValidation);
  EXPECT_EQ(registry().PromotedVersion().value(), b.version);
}

TEST_F(RegistryTest, NamesThatCouldLeaveTheDirectoryAreRefused) {
  for (const char* bad : {"../x", "..", "a/b", "/etc/passwd", "risk-xgb/../../x", ".lock"}) {
    auto meta = registry().ReadMeta(bad);
    ASSERT_FALSE(meta.has_value()) << bad;
    EXPECT_EQ(meta.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_FALSE(registry().Promote(bad).has_value()) << bad;
  }
  // A meta whose model_file points elsewhere is not a version, and ReadModelBytes refuses a
  // hand-made meta like it.
  ModelMeta meta = MustPublish("m", Draft());
  std::string json = meta.ToJson();
  const std::string from = "\"model_file\": \"" + meta.model_file + "\"";
  json.replace(json.find(from), from.size(), "\"model_file\": \"../outside.model.json\"");
  WriteFile(registry().MetaPath(meta.version), json);
  EXPECT_FALSE(registry().ReadMeta(meta.version).has_value());
  meta.model_file = "../outside.model.json";
  auto bytes = registry().ReadModelBytes(meta);
  ASSERT_FALSE(bytes.has_value());
  EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RegistryTest, APointerNamingNonsenseIsAnErrorNotAPath) {
  WriteFile(dir_ / "SERVING", "../../etc/passwd\n");
  auto promoted = registry().PromotedVersion();
  ASSERT_FALSE(promoted.has_value());
  EXPECT_EQ(promoted.error().code, ErrorCode::kParse);
}

TEST_F(RegistryTest, PublishRefusesAnInvalidDraftAndLeavesNothingBehind) {
  ModelMeta draft = Draft();
  draft.features.clear();
  EXPECT_FALSE(registry().Publish("bytes", draft).has_value());
  EXPECT_FALSE(registry().Publish("", Draft()).has_value());
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(RegistryTest, LightGbmModelsGetATextFile) {
  ModelMeta draft = Draft();
  draft.algo = "lgbm";
  const ModelMeta meta = MustPublish("tree\n", draft);
  EXPECT_EQ(meta.version, "risk-lgbm-2025-08-22-0900");
  EXPECT_EQ(meta.model_file, "risk-lgbm-2025-08-22-0900.model.txt");
  EXPECT_EQ(registry().ReadModelBytes(registry().ReadMeta(meta.version).value()).value(), "tree\n");
}

TEST(Registry, OpeningAMissingDirectoryReadOnlyIsNotFound) {
  auto r = Registry::Open(fs::temp_directory_path() / "csml-no-such-registry-dir",
                          RegistryOpenMode::kReadOnly);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace csml
