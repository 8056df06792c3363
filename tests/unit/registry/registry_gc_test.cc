// Registry garbage: what a killed publish leaves (temporary files, model files without a
// meta.json) is listed and, with apply, removed once older than the bound; nothing a
// version or the pointer references is ever touched; and a publish that fails removes the
// files it wrote itself.
#include <signal.h>
#include <sys/resource.h>
#include <utime.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/registry/registry.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kAug22At0900 = 1755853200;  // 2025-08-22T09:00:00Z

class RegistryGcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("csml-registry-gc-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    auto r = Registry::Open(dir_, RegistryOpenMode::kCreateIfMissing);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    registry_.emplace(std::move(*r));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static ModelMeta Draft(int minute, std::size_t features = 2) {
    ModelMeta m;
    m.algo = "xgb";
    m.created_at = kAug22At0900 + 60 * minute;
    for (std::size_t i = 0; i < features; ++i) m.features.push_back("feature_" + std::to_string(i));
    m.base_rate = 0.25;
    return m;
  }

  std::string Publish(int minute) {
    auto meta = registry_->Publish("model-bytes-" + std::to_string(minute), Draft(minute));
    EXPECT_TRUE(meta.has_value()) << meta.error().message;
    return meta ? meta->version : std::string();
  }

  // Writes a file and sets its modification time `age_s` seconds before `now_`.
  void WriteAged(const std::string& name, long age_s) {
    std::ofstream(dir_ / name, std::ios::binary) << "leftover bytes of " << name;
    Age(name, age_s);
  }
  void Age(const std::string& name, long age_s) {
    const struct utimbuf times {
      static_cast<time_t>(now_ - age_s), static_cast<time_t>(now_ - age_s)
    };
    ASSERT_EQ(::utime((dir_ / name).c_str(), &times), 0) << name;
  }

  std::set<std::string> Files() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }

  static std::set<std::string> Names(const std::vector<GarbageFile>& files) {
    std::set<std::string> out;
    for (const GarbageFile& f : files) out.insert(f.file);
    return out;
  }

  const Registry& registry() const { return *registry_; }

  fs::path dir_;
  std::optional<Registry> registry_;
  UnixSeconds now_ = NowUtc();
};

TEST_F(RegistryGcTest, ListsAndRemovesOnlyStaleTemporariesAndOrphanModels) {
  const std::string served = Publish(0);
  const std::string other = Publish(1);
  ASSERT_TRUE(registry().Promote(served));
  // Every file of the whole versions is old, and must survive anyway.
  for (const std::string& v : {served, other}) {
    Age(v + ".model.json", 7200);
    Age(v + ".meta.json", 7200);
  }
  Age("SERVING", 7200);
  Age("SERVING.history", 7200);
  // What killed publishes leave: two old temporaries, one young, an old orphan model of each
  // kind, a young orphan; and an old orphan model of the version SERVING will name.
  WriteAged(".tmp-123-0000000000000001.model.json", 7200);
  WriteAged(".tmp-123-0000000000000002.meta.json", 3601);
  WriteAged(".tmp-124-0000000000000003.model.json", 60);
  WriteAged("risk-xgb-2025-08-22-0905.model.json", 7200);
  WriteAged("risk-lgbm-2025-08-22-0906.model.txt", 7200);
  WriteAged("risk-xgb-2025-08-22-0907.model.json", 120);
  WriteAged("risk-xgb-2025-08-22-0908.model.json", 7200);
  WriteAged("notes.txt", 7200);  // not the registry's: never touched
  // SERVING names a version whose meta is gone: its model file is referenced all the same.
  std::ofstream(dir_ / "SERVING", std::ios::trunc) << "risk-xgb-2025-08-22-0908\n";
  Age("SERVING", 7200);
  const std::set<std::string> before = Files();

  GarbageOptions options;
  options.now = now_;
  auto dry = registry().CollectGarbage(options);
  ASSERT_TRUE(dry.has_value()) << dry.error().message;
  const std::set<std::string> garbage = {
      ".tmp-123-0000000000000001.model.json", ".tmp-123-0000000000000002.meta.json",
      "risk-xgb-2025-08-22-0905.model.json", "risk-lgbm-2025-08-22-0906.model.txt"};
  EXPECT_EQ(Names(dry->garbage), garbage);
  EXPECT_EQ(Names(dry->young), (std::set<std::string>{".tmp-124-0000000000000003.model.json",
                                                      "risk-xgb-2025-08-22-0907.model.json"}));
  EXPECT_EQ(Names(dry->kept), std::set<std::string>{"risk-xgb-2025-08-22-0908.model.json"});
  for (const GarbageFile& f : dry->garbage) {
    EXPECT_EQ(f.kind, f.file.starts_with(".tmp-") ? "temporary" : "orphan model") << f.file;
    EXPECT_GT(f.size_bytes, 0);
    EXPECT_LE(f.modified_at, now_ - 3600);
  }
  EXPECT_EQ(Files(), before) << "a dry run removes nothing";

  options.apply = true;
  auto applied = registry().CollectGarbage(options);
  ASSERT_TRUE(applied.has_value()) << applied.error().message;
  EXPECT_EQ(Names(applied->garbage), garbage);
  std::set<std::string> expected = before;
  for (const std::string& name : garbage) expected.erase(name);
  EXPECT_EQ(Files(), expected);
  EXPECT_TRUE(registry().ReadMeta(other).has_value());
  auto versions = registry().List();
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ(versions->size(), 2u);

  // Nothing left to collect; a shorter bound reaches the young files.
  EXPECT_TRUE(registry().CollectGarbage(options)->garbage.empty());
  options.older_than = std::chrono::seconds(30);
  EXPECT_EQ(Names(registry().CollectGarbage(options)->garbage),
            (std::set<std::string>{".tmp-124-0000000000000003.model.json",
                                   "risk-xgb-2025-08-22-0907.model.json"}));
  EXPECT_TRUE(fs::exists(dir_ / "risk-xgb-2025-08-22-0908.model.json"));
  EXPECT_TRUE(fs::exists(dir_ / "notes.txt"));
  EXPECT_TRUE(fs::exists(dir_ / "SERVING"));
  EXPECT_TRUE(fs::exists(dir_ / "SERVING.history"));
}

TEST_F(RegistryGcTest, RefusesANegativeBound) {
  GarbageOptions options;
  options.older_than = std::chrono::seconds(-1);
  auto report = registry().CollectGarbage(options);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
}

// Files larger than the limit cannot be written (EFBIG): a publish fails at the model, or,
// with a small model and a large meta, after the model already holds its final name.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    previous_ = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, previous_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  struct rlimit saved_ {};
  sighandler_t previous_ = SIG_DFL;
};

TEST_F(RegistryGcTest, AFailedPublishRemovesTheFilesItWrote) {
  const std::string kept = Publish(0);
  const std::set<std::string> before = Files();
  {
    FileSizeLimit limit(4096);
    auto big_model = registry().Publish(std::string(8192, 'x'), Draft(1));
    ASSERT_FALSE(big_model.has_value());
    EXPECT_NE(big_model.error().message.find("cannot write"), std::string::npos)
        << big_model.error().message;
    EXPECT_EQ(Files(), before) << "the model's temporary file is gone";

    // A small model and a meta too large to write: the model was already renamed to its
    // version's name, and is removed as well.
    auto big_meta = registry().Publish("small model", Draft(2, 400));
    ASSERT_FALSE(big_meta.has_value());
    EXPECT_NE(big_meta.error().message.find("cannot write"), std::string::npos)
        << big_meta.error().message;
    EXPECT_EQ(Files(), before) << "neither the model nor the meta's temporary file remains";
  }
  auto again = registry().Publish("small model", Draft(2, 400));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_TRUE(registry().ReadMeta(kept).has_value());
}

}  // namespace
}  // namespace csml
