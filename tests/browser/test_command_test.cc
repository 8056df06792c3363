// `csml test` end to end with the real binary: against a running `csml cs-api` (the issue's
// "done when"), from a file, and its exit codes: 0 the model passes, 1 it falls below
// --min-auc or degrades past a tolerance (the report is written either way), 2 the data or the
// model cannot be read.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "trained_store_fixture.h"

namespace csml::integration {
namespace {

using testing::ReadWholeFile;
using testing::RunResult;
using testing::UnusedPort;
using testing::WriteFile;

class TestCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { store_ = new TrainedStore(); }
  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(store_->problem(), ""); }

  static RunResult Csml(const std::vector<std::string>& args) { return store_->Csml(args); }

  // A test of the file on the default 30-day window into `out`, with extra flags.
  static RunResult TestFile(const std::string& out, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"test",        "--input",       store_->data(),
                                     "--model-dir", store_->store(), "--out",
                                     out,           "--threads",     "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Csml(args);
  }

  static double JsonNumber(const std::string& path, const char* pointer) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    double v = -1;
    if (parser.load(path).get(root) != simdjson::SUCCESS) return -1;
    if (root.at_pointer(pointer).get(v) != simdjson::SUCCESS) return -1;
    return v;
  }

  static inline TrainedStore* store_ = nullptr;
};

TEST_F(TestCommandTest, EvaluatesTheServedModelOnTheCsApiAndWritesBothFiles) {
  CsApiProcess api(store_->dir(), store_->data(), {"--as-of", kAsOf});
  ASSERT_TRUE(api.ok()) << api.log();
  const std::string out = store_->dir().Join("report-api");
  const RunResult r = Csml({"test", "--days=30", "--url", api.url(), "--tenant", kTenant, "--as-of",
                            kAsOf, "--model-dir", store_->store(), "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* expected :
       {"(served) on ", ": PASS", "  source      GET http://127.0.0.1:",
        "label_ts in (2025-05-02T00:00:00Z, 2025-06-01T00:00:00Z] (30 days)", "  AUC ", "  PR-AUC ",
        "  log loss ", "  Brier score ", "  calibration error ", "  base rate ", "  low ",
        "  medium ", "  high ", "top-decile lift", "inactive_14d",
        "verdict     PASS: all 7 checks passed", "report      ",
        // stderr names the version by the server's rule, and why.
        "csml test: model risk-xgb-", " (pointer: SERVING names risk-xgb-"}) {
    EXPECT_NE(r.output.find(expected), std::string::npos) << expected << "\n" << r.output;
  }
  // The model learned outcomes up to 2025-05-01: none of this window.
  EXPECT_EQ(r.output.find("WARNING"), std::string::npos) << r.output;
  ASSERT_TRUE(std::filesystem::exists(out + "/report.html"));
  ASSERT_TRUE(std::filesystem::exists(out + "/report.json"));
  EXPECT_GT(JsonNumber(out + "/report.json", "/data/evaluated_rows"), 500);
  EXPECT_GT(JsonNumber(out + "/report.json", "/metrics/auc"), 0.7);

  // The same window from the file gives the same figures.
  const std::string file_out = store_->dir().Join("report-file");
  const RunResult from_file = TestFile(file_out);
  ASSERT_EQ(from_file.exit_code, 0) << from_file.output;
  EXPECT_EQ(JsonNumber(file_out + "/report.json", "/metrics/auc"),
            JsonNumber(out + "/report.json", "/metrics/auc"));
  EXPECT_EQ(JsonNumber(file_out + "/report.json", "/data/evaluated_rows"),
            JsonNumber(out + "/report.json", "/data/evaluated_rows"));
}

TEST_F(TestCommandTest, WritesToReportsVersionTimestampByDefault) {
  const std::string cwd = store_->dir().Join("cwd");
  std::filesystem::create_directories(cwd);
  const RunResult r =
      testing::Run("/bin/sh",
                   {"-c", "cd '" + cwd + "' && exec '" + CsmlBinary() + "' test --input '" +
                              store_->data() + "' --model-dir '" + store_->store() + "'"},
                   store_->dir().Join("default-out.log"), kRunTimeout);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::filesystem::path reports = std::filesystem::path(cwd) / "reports";
  ASSERT_TRUE(std::filesystem::is_directory(reports)) << r.output;
  const auto version = std::filesystem::directory_iterator(reports)->path();
  EXPECT_EQ(version.filename().string().rfind("risk-xgb-", 0), 0u) << version;
  const auto stamp = std::filesystem::directory_iterator(version)->path();
  EXPECT_EQ(stamp.filename().string().size(), std::string("20250601T120000Z").size()) << stamp;
  EXPECT_TRUE(std::filesystem::exists(stamp / "report.html"));
  EXPECT_TRUE(std::filesystem::exists(stamp / "report.json"));
}

TEST_F(TestCommandTest, ExitsOneBelowTheMinimumAucAndStillWritesTheReport) {
  const std::string out = store_->dir().Join("report-min-auc");
  const RunResult r = TestFile(out, {"--min-auc", "0.99"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL min_auc: AUC "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is below the minimum 0.9900"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(out + "/report.html"));
  EXPECT_EQ(JsonNumber(out + "/report.json", "/options/min_auc"), 0.99);
}

TEST_F(TestCommandTest, ExitsOneWhenAFigureDegradedPastItsTolerance) {
  // A copy of the registry whose meta claims a far better training AUC than the model has.
  const std::string store = store_->dir().Join("store-claims");
  std::filesystem::copy(store_->store(), store, std::filesystem::copy_options::recursive);
  std::string meta_path;
  for (const auto& e : std::filesystem::directory_iterator(store)) {
    if (e.path().string().ends_with(".meta.json")) meta_path = e.path().string();
  }
  ASSERT_FALSE(meta_path.empty());
  std::string meta = ReadWholeFile(meta_path);
  const std::string key = "\"validation_metrics\": {\"auc\":";
  const std::size_t at = meta.find(key);
  ASSERT_NE(at, std::string::npos) << meta;
  const std::size_t end = meta.find(',', at + key.size());
  meta.replace(at + key.size(), end - at - key.size(), "0.99");
  WriteFile(meta_path, meta);

  const std::string out = store_->dir().Join("report-degraded");
  const RunResult r = Csml({"test", "--input", store_->data(), "--model-dir", store, "--out", out});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("DEGRADED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("FAIL auc_vs_training"), std::string::npos) << r.output;
  EXPECT_NE(ReadWholeFile(out + "/report.html").find(">FAIL<"), std::string::npos);

  // A wider tolerance passes the same model.
  const RunResult tolerant = Csml({"test", "--input", store_->data(), "--model-dir", store, "--out",
                                   out + "-tolerant", "--max-auc-drop", "0.5"});
  EXPECT_EQ(tolerant.exit_code, 0) << tolerant.output;
}

TEST_F(TestCommandTest, ExitsTwoWhenTheDataOrTheModelCannotBeRead) {
  const std::string out = store_->dir().Join("report-error");
  struct Case {
    const char* what;
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no registry",
       {"test", "--input", store_->data(), "--model-dir", store_->dir().Join("none"), "--out", out},
       "none"},
      {"unknown version",
       {"test", "--input", store_->data(), "--model-dir", store_->store(), "--version",
        "risk-xgb-1999-01-01-0000", "--out", out},
       "risk-xgb-1999-01-01-0000"},
      {"missing file",
       {"test", "--input", store_->dir().Join("absent.jsonl"), "--model-dir", store_->store(),
        "--out", out},
       "absent.jsonl"},
      {"no labeled rows in the window",
       {"test", "--input", store_->data(), "--model-dir", store_->store(), "--as-of",
        "2020-01-01T00:00:00Z", "--out", out},
       "expected labeled snapshots with label_ts in"},
      {"unreachable CS API",
       {"test", "--url",
        "http://127.0.0.1:" + std::to_string(UnusedPort()) + "/customers/features/public",
        "--tenant", kTenant, "--retries", "0", "--model-dir", store_->store(), "--out", out},
       "127.0.0.1"},
      {"bad tolerance",
       {"test", "--input", store_->data(), "--model-dir", store_->store(), "--tolerance", "-1",
        "--out", out},
       "--tolerance: expected a finite number >= 0"},
  };
  for (const Case& c : cases) {
    const RunResult r = Csml(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.what << "\n" << r.output;
    EXPECT_NE(r.output.find("csml test: error: "), std::string::npos) << c.what << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.what << "\n" << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(out + "/report.html"));

  // A model file that does not match its recorded sha256 is not evaluated.
  const std::string store = store_->dir().Join("store-corrupt");
  std::filesystem::copy(store_->store(), store, std::filesystem::copy_options::recursive);
  for (const auto& e : std::filesystem::directory_iterator(store)) {
    if (e.path().string().ends_with(".model.json")) {
      std::string model = ReadWholeFile(e.path().string());
      model[model.size() / 2] = model[model.size() / 2] == '1' ? '2' : '1';
      WriteFile(e.path().string(), model);
    }
  }
  const RunResult corrupt =
      Csml({"test", "--input", store_->data(), "--model-dir", store, "--out", out});
  EXPECT_EQ(corrupt.exit_code, 2) << corrupt.output;
}

}  // namespace
}  // namespace csml::integration
