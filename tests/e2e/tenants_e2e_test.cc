// Tenant namespaces from the command line (issue 15, point 1): `csml train --scope tenant`
// publishes into <model-dir>/tenants/<T>/ behind the tenant data gate, `csml models ...
// --tenant T` works on that namespace, `csml models tenants` lists them, shadow and canary
// pointers are set and cleared, and the global namespace and its commands are unaffected.
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "serve_fixture.h"
#include "testing/files.h"

namespace csml::e2e {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::ReadWholeFile;
using testing::RunResult;

class TenantsCliTest : public ::testing::Test {
 protected:
  RunResult Csml(std::vector<std::string> args, const testing::Environment& env = {}) {
    const std::string name = fmt::format("csml-{}", ++runs_);
    return testing::RunSplit(CsmlBinary(), args, dir_.Join(name + ".out"), dir_.Join(name + ".err"),
                             seconds(300), env);
  }

  // `csml models ...` on the test's registry.
  RunResult Models(std::vector<std::string> args) {
    args.insert(args.begin(), "models");
    args.push_back("--model-dir");
    args.push_back(store());
    return Csml(std::move(args));
  }

  // A quick training run on the simulated data; extra flags appended.
  RunResult Train(std::vector<std::string> extra, const testing::Environment& env = {}) {
    std::vector<std::string> args = {"train",   "--input",   data_,         "--days", "60",
                                     "--as-of", kAsOf,       "--model-dir", store(),  "--threads",
                                     "1",       "--no-tune", "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Csml(std::move(args), env);
  }

  // The version of a `train --quiet` line: "published V promoted ...".
  static std::string PublishedVersion(const std::string& output) {
    std::istringstream line(output);
    std::string word;
    std::string version;
    line >> word >> version;
    return word == "published" ? version : std::string();
  }

  std::string store() const { return dir_.Join("store"); }
  std::string tenant_dir(const std::string& tenant) const { return store() + "/tenants/" + tenant; }

  static constexpr char kAsOf[] = "2025-05-01T00:00:00Z";
  testing::TempDir dir_;
  std::string data_;
  int runs_ = 0;
};

TEST_F(TenantsCliTest, TenantModelsLiveInTheirNamespaceBesideAnUnchangedGlobalOne) {
  data_ = dir_.Join("snapshots.jsonl");
  const RunResult simulated = Csml({"simulate", "--customers", "300", "--days", "120", "--seed",
                                    "5", "--end", "2025-06-01", "--out", data_});
  ASSERT_EQ(simulated.exit_code, 0) << simulated.errors;

  // The global namespace, as today.
  const RunResult global = Train({});
  ASSERT_EQ(global.exit_code, 0) << global.output << global.errors;
  const std::string global_version = PublishedVersion(global.output);
  ASSERT_EQ(global_version.find('/'), std::string::npos) << global.output;
  const RunResult global_list = Models({"list"});
  ASSERT_EQ(global_list.exit_code, 0) << global_list.errors;
  const std::string global_pointer = ReadWholeFile(store() + "/SERVING");

  // A tenant model: published into tenants/acme, named acme/<version>.
  const RunResult acme = Train({"--scope", "tenant", "--tenant", "acme", "--min-tenant-rows", "200",
                                "--min-tenant-positives", "10"});
  ASSERT_EQ(acme.exit_code, 0) << acme.output << acme.errors;
  const std::string acme_first = PublishedVersion(acme.output);
  ASSERT_EQ(acme_first.rfind("acme/risk-xgb-", 0), 0u) << acme.output;
  const std::string v1 = acme_first.substr(5);
  EXPECT_TRUE(fs::exists(tenant_dir("acme") + "/" + v1 + ".meta.json"));
  EXPECT_EQ(ReadWholeFile(tenant_dir("acme") + "/SERVING"), v1 + "\n");
  const RunResult acme_again = Train({"--scope", "tenant", "--tenant", "acme", "--min-tenant-rows",
                                      "200", "--min-tenant-positives", "10", "--force"});
  ASSERT_EQ(acme_again.exit_code, 0) << acme_again.output << acme_again.errors;
  const std::string v2 = PublishedVersion(acme_again.output).substr(5);
  ASSERT_NE(v2, v1);

  const RunResult list = Models({"list", "--tenant", "acme"});
  ASSERT_EQ(list.exit_code, 0) << list.errors;
  EXPECT_NE(list.output.find("  " + v1), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("* " + v2), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("* served: acme/" + v2 + " (pointer"), std::string::npos)
      << list.output;
  // Only the tenant's two versions are listed (names are per minute, so the global version
  // may carry the same name as one of them: count the rows instead).
  std::size_t rows = 0;
  for (std::size_t at = list.output.find("risk-xgb-"); at != std::string::npos;
       at = list.output.find("risk-xgb-", at + 1)) {
    if (at >= 2 && (at == 2 || list.output[at - 3] == '\n')) ++rows;
  }
  EXPECT_EQ(rows, 2u) << list.output;

  // The data gate refuses a tenant (here TENANT_ID names it) with exit 1, saying why.
  const RunResult refused =
      Train({"--scope", "tenant", "--min-tenant-rows", "100000"}, {{"TENANT_ID", "tiny"}});
  EXPECT_EQ(refused.exit_code, 1) << refused.output << refused.errors;
  EXPECT_EQ(refused.output, "");
  EXPECT_NE(refused.errors.find("refusing a model for tenant tiny"), std::string::npos)
      << refused.errors;
  EXPECT_NE(refused.errors.find("fewer than --min-tenant-rows 100000"), std::string::npos)
      << refused.errors;
  EXPECT_FALSE(fs::exists(tenant_dir("tiny")));
  // No tenant id, a bad one, a bad scope: exit 2 before any work.
  EXPECT_EQ(Train({"--scope", "tenant"}, {{"TENANT_ID", ""}}).exit_code, 2);
  const RunResult escape = Train({"--scope", "tenant", "--tenant", "../x"});
  EXPECT_EQ(escape.exit_code, 2);
  EXPECT_NE(escape.errors.find("expected a letter or a digit first"), std::string::npos)
      << escape.errors;
  EXPECT_EQ(Train({"--scope", "world"}).exit_code, 2);

  const RunResult tenants = Models({"tenants"});
  ASSERT_EQ(tenants.exit_code, 0) << tenants.errors;
  EXPECT_NE(tenants.output.find("acme"), std::string::npos) << tenants.output;
  EXPECT_NE(tenants.output.find("acme/" + v2 + " (pointer)"), std::string::npos) << tenants.output;
  EXPECT_EQ(tenants.output.find("tiny"), std::string::npos) << tenants.output;

  // Shadow and canary: set, shown, validated, cleared; promote ends a canary.
  const RunResult shadow = Models({"shadow", v1, "--tenant", "acme", "--sample", "0.5"});
  ASSERT_EQ(shadow.exit_code, 0) << shadow.errors;
  EXPECT_EQ(ReadWholeFile(tenant_dir("acme") + "/SHADOW"), v1 + " 0.5\n");
  const RunResult canary = Models({"canary", "acme/" + v1, "--percent", "10"});
  ASSERT_EQ(canary.exit_code, 0) << canary.errors;
  EXPECT_EQ(ReadWholeFile(tenant_dir("acme") + "/CANARY"), v1 + " 10\n");
  const RunResult shown = Models({"list", "--tenant", "acme"});
  EXPECT_NE(shown.output.find("  shadow: acme/" + v1 + " (sample 0.5"), std::string::npos)
      << shown.output;
  EXPECT_NE(shown.output.find("  canary: acme/" + v1 + " (10 % of customers)"), std::string::npos)
      << shown.output;

  const RunResult bad_percent = Models({"canary", v1, "--tenant", "acme", "--percent", "100"});
  EXPECT_EQ(bad_percent.exit_code, 2);
  EXPECT_EQ(bad_percent.output, "");
  EXPECT_NE(bad_percent.errors.find("--percent: expected a number in (0, 100)"), std::string::npos)
      << bad_percent.errors;
  const RunResult bad_sample = Models({"shadow", v1, "--tenant", "acme", "--sample", "0"});
  EXPECT_EQ(bad_sample.exit_code, 2);
  EXPECT_NE(bad_sample.errors.find("--sample"), std::string::npos) << bad_sample.errors;
  const RunResult missing = Models({"shadow", "risk-xgb-2030-01-01-0000", "--tenant", "acme"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.errors.find("not found"), std::string::npos) << missing.errors;
  const RunResult bad_tenant = Models({"list", "--tenant", "../etc"});
  EXPECT_EQ(bad_tenant.exit_code, 2);
  EXPECT_NE(bad_tenant.errors.find("tenant id"), std::string::npos) << bad_tenant.errors;
  EXPECT_EQ(Models({"list", "--tenant", "nobody"}).exit_code, 2);
  EXPECT_EQ(Models({"canary", v1, "--tenant", "acme"}).exit_code, 2) << "no --percent";
  EXPECT_EQ(ReadWholeFile(tenant_dir("acme") + "/SHADOW"), v1 + " 0.5\n");

  const RunResult cleared = Models({"shadow", "--clear", "--tenant", "acme"});
  ASSERT_EQ(cleared.exit_code, 0) << cleared.errors;
  EXPECT_NE(cleared.output.find("cleared the shadow acme/" + v1), std::string::npos)
      << cleared.output;
  EXPECT_FALSE(fs::exists(tenant_dir("acme") + "/SHADOW"));

  const RunResult promoted = Models({"promote", v1, "--tenant", "acme"});
  ASSERT_EQ(promoted.exit_code, 0) << promoted.errors;
  EXPECT_NE(promoted.output.find("promoted acme/" + v1 + " (before: acme/" + v2 + ")"),
            std::string::npos)
      << promoted.output;
  EXPECT_NE(promoted.output.find("ended the canary of acme/" + v1), std::string::npos)
      << promoted.output;
  EXPECT_FALSE(fs::exists(tenant_dir("acme") + "/CANARY"));
  const std::string history = ReadWholeFile(tenant_dir("acme") + "/SERVING.history");
  EXPECT_NE(history.find(v1 + " shadow-set sample=0.5\n"), std::string::npos) << history;
  EXPECT_NE(history.find(v1 + " canary-clear reason=promote\n"), std::string::npos) << history;
  const RunResult back = Models({"rollback", "--tenant", "acme"});
  ASSERT_EQ(back.exit_code, 0) << back.errors;
  EXPECT_EQ(back.output, "rolled back to acme/" + v2 + " (from acme/" + v1 + ")\n");
  const RunResult canary_set = Models({"canary", v1, "--tenant", "acme", "--percent", "5"});
  ASSERT_EQ(canary_set.exit_code, 0) << canary_set.errors;
  const RunResult canary_cleared = Models({"canary", "--clear", "--tenant", "acme"});
  ASSERT_EQ(canary_cleared.exit_code, 0) << canary_cleared.errors;
  EXPECT_FALSE(fs::exists(tenant_dir("acme") + "/CANARY"));
  const RunResult gc = Models({"gc", "--tenant", "acme"});
  EXPECT_EQ(gc.exit_code, 0) << gc.errors;
  EXPECT_NE(gc.output.find(tenant_dir("acme") + ": 0 files"), std::string::npos) << gc.output;

  // The global namespace saw none of it: the same listing, byte for byte, and pointer.
  const RunResult global_after = Models({"list"});
  ASSERT_EQ(global_after.exit_code, 0) << global_after.errors;
  EXPECT_EQ(global_after.output, global_list.output);
  EXPECT_EQ(global_after.errors, "") << "tenants/ is no registry problem";
  EXPECT_EQ(ReadWholeFile(store() + "/SERVING"), global_pointer);
  EXPECT_FALSE(fs::exists(store() + "/SHADOW"));
  const RunResult show = Models({"show", global_version});
  EXPECT_EQ(show.exit_code, 0) << show.errors;
  const RunResult show_tenant = Models({"show", "acme/" + v1});
  EXPECT_EQ(show_tenant.exit_code, 0) << show_tenant.errors;
  EXPECT_NE(show_tenant.output.find("\"version\": \"" + v1 + "\""), std::string::npos)
      << show_tenant.output.substr(0, 300);
}

}  // namespace
}  // namespace csml::e2e
