// Tenant namespaces (<root>/tenants/<T>/), qualified version names, and the SHADOW and CANARY
// pointers of a namespace (docs/REGISTRY.md).
#include <utime.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/registry/registry.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

constexpr UnixSeconds kAug22At0900 = 1755853200;  // 2025-08-22T09:00:00Z

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

// The part of a history line after its time.
std::string AfterTime(const std::string& line) { return line.substr(line.find(' ') + 1); }

TEST(TenantIdTest, AcceptsLettersDigitsDashesAndUnderscores) {
  for (const char* id : {"acme", "Acme_2", "e0028c9a-8c4e-4f3b-9d8a-f2e5c7d1b9a4", "7", "a-_b"}) {
    EXPECT_TRUE(ValidateTenantId(id)) << id;
  }
  EXPECT_TRUE(ValidateTenantId(std::string(kMaxTenantIdLength, 'a')));
}

TEST(TenantIdTest, RefusesPathEscapesEmptyAndTooLongIds) {
  struct Case {
    std::string id;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "expected 1 to 64 characters, got ''"},
      {std::string(kMaxTenantIdLength + 1, 'a'), "expected at most 64 characters, got 65"},
      {"..", "expected a letter or a digit first"},
      {".", "expected a letter or a digit first"},
      {".hidden", "expected a letter or a digit first"},
      {"-acme", "expected a letter or a digit first"},
      {"_acme", "expected a letter or a digit first"},
      {"acme/..", "expected only letters, digits"},
      {"a/b", "expected only letters, digits"},
      {"a\\b", "expected only letters, digits"},
      {"acme..", "expected only letters, digits"},
      {"ac me", "expected only letters, digits"},
      {std::string("ac\0me", 5), "expected only letters, digits"},
      {"acm\xc3\xa9", "expected only letters, digits"},
  };
  for (const Case& c : cases) {
    Status s = ValidateTenantId(c.id);
    ASSERT_FALSE(s) << "accepted '" << c.id << "'";
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find(c.message), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().message.rfind("tenant id: ", 0), 0u) << s.error().message;
  }
}

TEST(QualifiedVersionTest, RoundTripsAndKeepsTheGlobalNameUnqualified) {
  EXPECT_EQ(QualifiedVersion("", "risk-xgb-2025-08-22-0900"), "risk-xgb-2025-08-22-0900");
  EXPECT_EQ(QualifiedVersion("acme", "risk-xgb-2025-08-22-0900"), "acme/risk-xgb-2025-08-22-0900");

  for (const std::string tenant : {"", "acme", "Big_Co-2"}) {
    const std::string text = QualifiedVersion(tenant, "risk-xgb-2025-08-22-0900-2");
    auto parsed = ParseQualifiedVersion(text);
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->tenant, tenant);
    EXPECT_EQ(parsed->version, "risk-xgb-2025-08-22-0900-2");
  }
  for (const char* bad :
       {"", "/risk-xgb", "acme/", "../risk-xgb", "acme/../x", "acme/b/c", "acme/Risk", "-x/risk"}) {
    auto parsed = ParseQualifiedVersion(bad);
    EXPECT_FALSE(parsed.has_value()) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
}

class TenantRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() /
            ("csml-tenant-registry-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    auto r = Registry::Open(root_, RegistryOpenMode::kCreateIfMissing);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    global_.emplace(std::move(*r));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static ModelMeta Draft(int minute) {
    ModelMeta m;
    m.algo = "xgb";
    m.created_at = kAug22At0900 + 60 * minute;
    m.features = {"activity_7d", "usage_score"};
    m.base_rate = 0.25;
    return m;
  }

  static std::string Publish(const Registry& registry, int minute) {
    auto meta = registry.Publish("model-bytes-" + std::to_string(minute), Draft(minute));
    EXPECT_TRUE(meta.has_value()) << meta.error().message;
    return meta ? meta->version : std::string();
  }

  Registry Tenant(const std::string& tenant) {
    auto r = Registry::OpenTenant(root_, tenant, RegistryOpenMode::kCreateIfMissing);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return std::move(*r);
  }

  std::vector<std::string> HistoryActions(const Registry& registry) const {
    std::vector<std::string> out;
    for (const std::string& line : Lines(ReadFile(registry.dir() / kServingHistoryFile))) {
      out.push_back(AfterTime(line));
    }
    return out;
  }

  fs::path root_;
  std::optional<Registry> global_;
};

TEST_F(TenantRegistryTest, ANamespaceHoldsTheSameFilesAsTheRootAndLeavesTheRootAlone) {
  const std::string global_version = Publish(*global_, 0);
  ASSERT_TRUE(global_->Promote(global_version));
  const std::string before = ReadFile(root_ / kServingPointerFile);
  const std::string history_before = ReadFile(root_ / kServingHistoryFile);

  const Registry acme = Tenant("acme");
  EXPECT_EQ(acme.dir(), root_ / "tenants" / "acme");
  EXPECT_EQ(acme.root(), root_);
  EXPECT_EQ(acme.tenant(), "acme");
  EXPECT_EQ(global_->tenant(), "");
  const std::string v1 = Publish(acme, 1);
  const std::string v2 = Publish(acme, 2);
  ASSERT_TRUE(acme.Promote(v1));
  ASSERT_TRUE(acme.Promote(v2));
  EXPECT_TRUE(fs::exists(acme.dir() / (v1 + ".meta.json")));
  EXPECT_TRUE(fs::exists(acme.dir() / (v2 + ".model.json")));
  EXPECT_EQ(ReadFile(acme.dir() / kServingPointerFile), v2 + "\n");
  EXPECT_EQ(acme.Qualified(v2), "acme/" + v2);
  EXPECT_EQ(global_->Qualified(global_version), global_version);

  // Every operation works on the namespace as on the root.
  auto list = acme.List();
  ASSERT_TRUE(list.has_value()) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  auto served = acme.ResolveServed();
  ASSERT_TRUE(served.has_value()) << served.error().message;
  EXPECT_EQ(*served, v2);
  auto back = acme.Rollback();
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, v1);
  EXPECT_EQ(HistoryActions(acme),
            (std::vector<std::string>{v1 + " promote", v2 + " promote", v1 + " rollback"}));
  auto gc = acme.CollectGarbage(GarbageOptions{});
  ASSERT_TRUE(gc.has_value()) << gc.error().message;
  EXPECT_TRUE(gc->garbage.empty());

  // The root: the same versions, pointer and history as before; tenants/ is no problem.
  auto scan = global_->Scan();
  ASSERT_TRUE(scan.has_value()) << scan.error().message;
  EXPECT_TRUE(scan->problems.empty()) << scan->problems.front().file;
  ASSERT_EQ(scan->versions.size(), 1u);
  EXPECT_EQ(scan->versions.front().version, global_version);
  EXPECT_EQ(ReadFile(root_ / kServingPointerFile), before);
  EXPECT_EQ(ReadFile(root_ / kServingHistoryFile), history_before);
  auto global_served = global_->ResolveServed();
  ASSERT_TRUE(global_served.has_value());
  EXPECT_EQ(*global_served, global_version);
  auto global_gc = global_->CollectGarbage(GarbageOptions{});
  ASSERT_TRUE(global_gc.has_value());
  EXPECT_TRUE(global_gc->garbage.empty());
  EXPECT_TRUE(fs::exists(acme.dir() / (v1 + ".model.json")));
}

TEST_F(TenantRegistryTest, OpenTenantRefusesBadIdsAndReadOnlyNeedsTheNamespace) {
  for (const char* bad : {"..", "../x", "a/b", "", ".lock"}) {
    auto r = Registry::OpenTenant(root_, bad, RegistryOpenMode::kCreateIfMissing);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(fs::exists(root_ / "tenants"));

  auto missing = Registry::OpenTenant(root_, "acme", RegistryOpenMode::kReadOnly);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("tenant acme has no namespace"), std::string::npos)
      << missing.error().message;
  EXPECT_FALSE(fs::exists(root_ / "tenants"));

  auto no_root = Registry::OpenTenant(root_ / "absent", "acme", RegistryOpenMode::kReadOnly);
  ASSERT_FALSE(no_root.has_value());
  EXPECT_EQ(no_root.error().code, ErrorCode::kNotFound);

  (void)Tenant("acme");
  auto opened = Registry::OpenTenant(root_, "acme", RegistryOpenMode::kReadOnly);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(opened->dir(), root_ / "tenants" / "acme");
}

TEST_F(TenantRegistryTest, ListTenantsReportsInvalidNamesAndFiles) {
  auto none = global_->ListTenants();
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_TRUE(none->tenants.empty());
  EXPECT_TRUE(none->problems.empty());

  (void)Tenant("zeta");
  const Registry acme = Tenant("acme");
  fs::create_directories(root_ / "tenants" / ".hidden");
  fs::create_directories(root_ / "tenants" / "bad name");
  std::ofstream(root_ / "tenants" / "afile") << "x";

  for (const Registry* r : std::vector<const Registry*>{&*global_, &acme}) {
    auto listing = r->ListTenants();
    ASSERT_TRUE(listing.has_value()) << listing.error().message;
    EXPECT_EQ(listing->tenants, (std::vector<std::string>{"acme", "zeta"}));
    ASSERT_EQ(listing->problems.size(), 3u);
    EXPECT_EQ(listing->problems[0].file, "tenants/.hidden");
    EXPECT_NE(listing->problems[0].message.find("tenant id"), std::string::npos);
    EXPECT_EQ(listing->problems[1].file, "tenants/afile");
    EXPECT_NE(listing->problems[1].message.find("got a file"), std::string::npos);
    EXPECT_EQ(listing->problems[2].file, "tenants/bad name");
  }
}

TEST_F(TenantRegistryTest, AnOldRegistryWithoutPointersReadsAsBefore) {
  const std::string v = Publish(*global_, 0);
  auto shadow = global_->ReadShadow();
  ASSERT_TRUE(shadow.has_value()) << shadow.error().message;
  EXPECT_FALSE(shadow->has_value());
  auto canary = global_->ReadCanary();
  ASSERT_TRUE(canary.has_value()) << canary.error().message;
  EXPECT_FALSE(canary->has_value());
  // An old history (promote and rollback only) parses as before, with no detail.
  std::ofstream(root_ / kServingHistoryFile)
      << "2025-08-22T09:03:11Z " << v << " promote\n2025-08-22T09:04:11Z " << v << " rollback\n";
  auto history = global_->History();
  ASSERT_TRUE(history.has_value()) << history.error().message;
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].action, "promote");
  EXPECT_EQ((*history)[0].detail, "");
  EXPECT_EQ((*history)[1].action, "rollback");
  auto cleared = global_->ClearShadow();
  ASSERT_TRUE(cleared.has_value()) << cleared.error().message;
  EXPECT_FALSE(cleared->has_value());
  EXPECT_EQ(Lines(ReadFile(root_ / kServingHistoryFile)).size(), 2u) << "clearing nothing writes "
                                                                        "nothing";
}

TEST_F(TenantRegistryTest, ShadowAndCanarySetReadClearAndRecordTheirMoves) {
  const Registry acme = Tenant("acme");
  const std::string served = Publish(acme, 0);
  const std::string candidate = Publish(acme, 1);
  ASSERT_TRUE(acme.Promote(served));

  ASSERT_TRUE(acme.SetShadow(candidate, 0.25));
  EXPECT_EQ(ReadFile(acme.dir() / kShadowPointerFile), candidate + " 0.25\n");
  auto shadow = acme.ReadShadow();
  ASSERT_TRUE(shadow.has_value() && shadow->has_value());
  EXPECT_EQ((*shadow)->version, candidate);
  EXPECT_DOUBLE_EQ((*shadow)->sample, 0.25);

  ASSERT_TRUE(acme.SetCanary(candidate, 10));
  EXPECT_EQ(ReadFile(acme.dir() / kCanaryPointerFile), candidate + " 10\n");
  auto canary = acme.ReadCanary();
  ASSERT_TRUE(canary.has_value() && canary->has_value());
  EXPECT_EQ((*canary)->version, candidate);
  EXPECT_DOUBLE_EQ((*canary)->percent, 10);

  auto cleared = acme.ClearShadow();
  ASSERT_TRUE(cleared.has_value()) << cleared.error().message;
  EXPECT_EQ(cleared->value_or(""), candidate);
  EXPECT_FALSE(fs::exists(acme.dir() / kShadowPointerFile));
  auto canary_cleared = acme.ClearCanary();
  ASSERT_TRUE(canary_cleared.has_value());
  EXPECT_EQ(canary_cleared->value_or(""), candidate);
  EXPECT_FALSE(fs::exists(acme.dir() / kCanaryPointerFile));

  EXPECT_EQ(HistoryActions(acme), (std::vector<std::string>{
                                      served + " promote",
                                      candidate + " shadow-set sample=0.25",
                                      candidate + " canary-set percent=10",
                                      candidate + " shadow-clear",
                                      candidate + " canary-clear",
                                  }));
  auto history = acme.History();
  ASSERT_TRUE(history.has_value()) << history.error().message;
  ASSERT_EQ(history->size(), 5u);
  EXPECT_EQ((*history)[1].action, "shadow-set");
  EXPECT_EQ((*history)[1].detail, "sample=0.25");
  // Side pointer moves are not promotions: the served version and rollback ignore them.
  auto resolved = acme.ResolveServed();
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ(*resolved, served);
  auto rollback = acme.Rollback();
  ASSERT_FALSE(rollback.has_value());
  EXPECT_EQ(rollback.error().code, ErrorCode::kNotFound);
  // The global namespace saw none of it.
  EXPECT_FALSE(fs::exists(root_ / kShadowPointerFile));
  EXPECT_FALSE(fs::exists(root_ / kServingHistoryFile));
}

TEST_F(TenantRegistryTest, SetRefusesBadSharesMissingBrokenAndServedVersions) {
  const std::string served = Publish(*global_, 0);
  const std::string candidate = Publish(*global_, 1);
  ASSERT_TRUE(global_->Promote(served));

  for (double sample : {0.0, -0.1, 1.01, std::nan("")}) {
    Status s = global_->SetShadow(candidate, sample);
    ASSERT_FALSE(s) << sample;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find("expected a share in (0, 1]"), std::string::npos);
  }
  EXPECT_TRUE(global_->SetShadow(candidate, 1.0));
  for (double percent : {0.0, 100.0, -5.0, 250.0}) {
    Status s = global_->SetCanary(candidate, percent);
    ASSERT_FALSE(s) << percent;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find("expected a number in (0, 100)"), std::string::npos);
  }
  EXPECT_TRUE(global_->SetCanary(candidate, 99.5));

  Status missing = global_->SetCanary("risk-xgb-2030-01-01-0000", 5);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  Status escape = global_->SetShadow("../x", 0.5);
  ASSERT_FALSE(escape);
  EXPECT_EQ(escape.error().code, ErrorCode::kInvalidArgument);
  Status serving = global_->SetShadow(served, 0.5);
  ASSERT_FALSE(serving);
  EXPECT_NE(serving.error().message.find("other than the one SERVING names"), std::string::npos);

  // A version whose bytes no longer match their sha256 is not whole.
  std::ofstream(root_ / (candidate + ".model.json"), std::ios::binary) << "model-bytes-X";
  Status broken = global_->SetShadow(candidate, 0.5);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, ErrorCode::kValidation);
  // The refused sets changed nothing.
  EXPECT_EQ(ReadFile(root_ / kShadowPointerFile), candidate + " 1\n");
  EXPECT_EQ(ReadFile(root_ / kCanaryPointerFile), candidate + " 99.5\n");

  // A pointer file that is not as written is a parse error, not a silent none.
  std::ofstream(root_ / kShadowPointerFile) << candidate << " 7\n";
  auto bad = global_->ReadShadow();
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kParse);
}

TEST_F(TenantRegistryTest, PromotingTheShadowOrCanaryEndsIt) {
  const Registry acme = Tenant("acme");
  const std::string served = Publish(acme, 0);
  const std::string shadow = Publish(acme, 1);
  const std::string canary = Publish(acme, 2);
  ASSERT_TRUE(acme.Promote(served));
  ASSERT_TRUE(acme.SetShadow(shadow, 0.5));
  ASSERT_TRUE(acme.SetCanary(canary, 20));

  ASSERT_TRUE(acme.Promote(shadow));
  EXPECT_FALSE(fs::exists(acme.dir() / kShadowPointerFile));
  EXPECT_TRUE(fs::exists(acme.dir() / kCanaryPointerFile)) << "the canary names another version";
  ASSERT_TRUE(acme.Promote(canary));
  EXPECT_FALSE(fs::exists(acme.dir() / kCanaryPointerFile));

  const std::vector<std::string> actions = HistoryActions(acme);
  ASSERT_EQ(actions.size(), 7u);
  EXPECT_EQ(actions[3], shadow + " promote");
  EXPECT_EQ(actions[4], shadow + " shadow-clear reason=promote");
  EXPECT_EQ(actions[5], canary + " promote");
  EXPECT_EQ(actions[6], canary + " canary-clear reason=promote");
  auto back = acme.Rollback();
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, shadow);
}

TEST_F(TenantRegistryTest, GcKeepsTheModelsTheShadowAndCanaryName) {
  const std::string served = Publish(*global_, 0);
  const std::string shadow = Publish(*global_, 1);
  const std::string canary = Publish(*global_, 2);
  const std::string other = Publish(*global_, 3);
  ASSERT_TRUE(global_->Promote(served));
  ASSERT_TRUE(global_->SetShadow(shadow, 0.5));
  ASSERT_TRUE(global_->SetCanary(canary, 5));
  // Every meta is lost (a hand-made mess): the model files are orphans, hours old.
  const UnixSeconds now = NowUtc();
  for (const std::string& v : {served, shadow, canary, other}) {
    fs::remove(root_ / (v + ".meta.json"));
    const std::string model = (root_ / (v + ".model.json")).string();
    const utimbuf times{static_cast<time_t>(now - 7200), static_cast<time_t>(now - 7200)};
    ASSERT_EQ(::utime(model.c_str(), &times), 0);
  }
  GarbageOptions options;
  options.apply = true;
  options.now = now;
  auto report = global_->CollectGarbage(options);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  ASSERT_EQ(report->garbage.size(), 1u);
  EXPECT_EQ(report->garbage[0].file, other + ".model.json");
  ASSERT_EQ(report->kept.size(), 3u);
  EXPECT_EQ(report->kept[0].file, served + ".model.json");
  EXPECT_EQ(report->kept[0].kept_by, "SERVING");
  EXPECT_EQ(report->kept[1].file, shadow + ".model.json");
  EXPECT_EQ(report->kept[1].kept_by, "SHADOW");
  EXPECT_EQ(report->kept[2].file, canary + ".model.json");
  EXPECT_EQ(report->kept[2].kept_by, "CANARY");
  for (const std::string& v : {served, shadow, canary}) {
    EXPECT_TRUE(fs::exists(root_ / (v + ".model.json"))) << v;
  }
  EXPECT_FALSE(fs::exists(root_ / (other + ".model.json")));
}

}  // namespace
}  // namespace csml
