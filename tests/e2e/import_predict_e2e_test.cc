// End to end through the real binary: `csml models import` of the LightGBM fixture, then
// `csml serve` answers with LightGBM's own probabilities and `csml predict` scores a snapshot
// file with them: each line is the /score body for the same features behind the snapshot's
// userId and snapshot_ts (the full probabilities with --full-precision); a model whose
// features do not match is refused.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/core/json_writer.h"
#include "http_client.h"
#include "testing/child_process.h"

namespace csml::e2e {
namespace {

using testing::ChildProcess;
using testing::ReadWholeFile;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitForListeningPort;

namespace fs = std::filesystem;
using std::chrono::seconds;

const std::string kCsml = CSML_BINARY;
const fs::path kLightgbm = fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "lightgbm_synth";

struct Case {
  std::string features_json;  // the fixture's features object, minified
  double expected_risk = 0.0;
};

std::vector<Case> LoadCases() {
  simdjson::dom::parser parser;
  const simdjson::padded_string json(ReadWholeFile((kLightgbm / "cases.json").string()));
  std::vector<Case> cases;
  for (simdjson::dom::element c : parser.parse(json).get_array()) {
    cases.push_back(Case{simdjson::minify(c["features"]), c["expected_risk"].get_double().value()});
  }
  return cases;
}

class ImportedLightgbmModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    cases_ = LoadCases();
    model_dir_ = dir_->Join("models");
    auto imported = RunCommand(
        kCsml, {"models", "import", (kLightgbm / "model.txt").string(), "--model-dir", model_dir_},
        dir_->Join("import.log"), seconds(30));
    if (!imported || imported->exit_code != 0) {
      setup_error_ = imported ? imported->output : imported.error().message;
      return;
    }
    import_output_ = imported->output;
    auto process = ChildProcess::Start(
        kCsml, {"serve", "--port", "0", "--model-dir", model_dir_, "--threads", "1"},
        dir_->Join("serve.log"));
    if (!process) {
      setup_error_ = process.error().message;
      return;
    }
    auto port = WaitForListeningPort(*process, dir_->Join("serve.log"), seconds(20));
    if (!port) {
      setup_error_ = port.error().message;
      return;
    }
    port_ = *port;
    server_ = new ChildProcess(std::move(*process));
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(seconds(10)), 0);
      delete server_;
      server_ = nullptr;
    }
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  // The fixture cases as JSON Lines snapshots u_0 .. u_199, unlabeled (predict scores those too).
  static std::string SnapshotLines() {
    std::string text;
    for (std::size_t i = 0; i < cases_.size(); ++i) {
      text += fmt::format(
          R"({{"userId":"u_{}","snapshot_ts":"2025-08-{:02}T00:00:00Z","features":{},"label":null}})",
          i, 1 + i % 28, cases_[i].features_json);
      text += '\n';
    }
    return text;
  }

  static inline TempDir* dir_ = nullptr;
  static inline ChildProcess* server_ = nullptr;
  static inline std::vector<Case> cases_;
  static inline std::string model_dir_;
  static inline std::string import_output_;
  static inline int port_ = 0;
  static inline std::string setup_error_;
};

TEST_F(ImportedLightgbmModel, TheImportReportsAnLgbmVersionThatIsServed) {
  EXPECT_NE(import_output_.find("as risk-lgbm-"), std::string::npos) << import_output_;
  EXPECT_NE(import_output_.find("73 trees, 12 features"), std::string::npos) << import_output_;
  EXPECT_NE(import_output_.find("served:  risk-lgbm-"), std::string::npos) << import_output_;
}

TEST_F(ImportedLightgbmModel, ServeAnswersWithLightgbmsProbabilities) {
  auto connection = HttpConnection::Connect(port_);
  ASSERT_TRUE(connection.has_value()) << connection.error().message;
  simdjson::dom::parser parser;
  for (std::size_t i = 0; i < cases_.size(); ++i) {
    HttpRequestSpec post;
    post.method = "POST";
    post.path = "/score";
    post.body = R"({"userId":"u_1","features":)" + cases_[i].features_json + "}";
    auto response = connection->Send(post);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    ASSERT_EQ(response->status, 200) << "case " << i << ": " << response->body;
    simdjson::dom::element body;
    ASSERT_EQ(parser.parse(response->body).get(body), simdjson::SUCCESS) << response->body;
    EXPECT_EQ(body["risk"].get_double().value(), RoundTo(cases_[i].expected_risk, 4))
        << "case " << i << ": " << response->body;
    EXPECT_TRUE(
        std::string_view(body["modelVersion"].get_string().value()).starts_with("risk-lgbm-"));
  }
}

TEST_F(ImportedLightgbmModel, PredictWritesTheScoreBodyOfEachRowAndSkipsAnInvalidRecord) {
  const std::string input = dir_->Join("snapshots.jsonl");
  std::ofstream(input)
      << SnapshotLines()
      << R"({"userId":"broken","snapshot_ts":"2025-08-01T00:00:00Z","features":{"activity_7d":-1}})"
      << '\n';
  const std::string out = dir_->Join("scores.jsonl");
  auto run =
      RunCommand(kCsml, {"predict", "--input", input, "--model-dir", model_dir_, "--out", out},
                 dir_->Join("predict.log"), seconds(60));
  ASSERT_TRUE(run.has_value()) << run.error().message;
  ASSERT_EQ(run->exit_code, 0) << run->output;
  EXPECT_NE(run->output.find("skipped 1 of 201 records"), std::string::npos) << run->output;
  // The broken record is the file's 201st line.
  EXPECT_NE(run->output.find("skipped line 201, field features.activity_7d: "), std::string::npos)
      << run->output;
  EXPECT_NE(run->output.find("scored 200 snapshots"), std::string::npos) << run->output;

  auto connection = HttpConnection::Connect(port_);
  ASSERT_TRUE(connection.has_value()) << connection.error().message;
  std::istringstream lines(ReadWholeFile(out));
  std::string line;
  std::size_t i = 0;
  for (; std::getline(lines, line); ++i) {
    ASSERT_LT(i, cases_.size());
    HttpRequestSpec post;
    post.method = "POST";
    post.path = "/score";
    post.body = fmt::format(R"({{"userId":"u_{}","features":{}}})", i, cases_[i].features_json);
    auto response = connection->Send(post);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    ASSERT_EQ(response->status, 200) << "case " << i << ": " << response->body;
    ASSERT_TRUE(response->body.starts_with("{")) << response->body;
    EXPECT_EQ(line, fmt::format(R"({{"userId":"u_{}","snapshot_ts":"2025-08-{:02}T00:00:00Z",)", i,
                                1 + i % 28) +
                        response->body.substr(1))
        << "case " << i;
  }
  EXPECT_EQ(i, cases_.size());
}

// csml predict --explain: each line is the /score?explain=true&top=N body of its features.
TEST_F(ImportedLightgbmModel, PredictExplainWritesWhatScoreExplainAnswers) {
  const std::string input = dir_->Join("explain-snapshots.jsonl");
  std::ofstream(input) << SnapshotLines();
  for (const std::string top : {"all", "2"}) {
    const std::string out = dir_->Join("explained-" + top + ".jsonl");
    auto run = RunCommand(kCsml,
                          {"predict", "--input", input, "--model-dir", model_dir_, "--out", out,
                           "--explain", "--explain-top", top},
                          dir_->Join("predict-explain.log"), seconds(60));
    ASSERT_TRUE(run.has_value()) << run.error().message;
    ASSERT_EQ(run->exit_code, 0) << run->output;
    auto connection = HttpConnection::Connect(port_);
    ASSERT_TRUE(connection.has_value()) << connection.error().message;
    std::istringstream lines(ReadWholeFile(out));
    std::string line;
    std::size_t i = 0;
    for (; std::getline(lines, line); ++i) {
      ASSERT_LT(i, cases_.size());
      HttpRequestSpec post;
      post.method = "POST";
      post.path = "/score?explain=true&top=" + top;
      post.body = fmt::format(R"({{"userId":"u_{}","features":{}}})", i, cases_[i].features_json);
      auto response = connection->Send(post);
      ASSERT_TRUE(response.has_value()) << response.error().message;
      ASSERT_EQ(response->status, 200) << "case " << i << ": " << response->body;
      ASSERT_NE(response->body.find("\"drivers\":["), std::string::npos) << response->body;
      EXPECT_EQ(line, fmt::format(R"({{"userId":"u_{}","snapshot_ts":"2025-08-{:02}T00:00:00Z",)",
                                  i, 1 + i % 28) +
                          response->body.substr(1))
          << "case " << i;
    }
    EXPECT_EQ(i, cases_.size());
  }
  auto bad = RunCommand(
      kCsml,
      {"predict", "--input", input, "--model-dir", model_dir_, "--explain", "--explain-top", "0"},
      dir_->Join("predict-bad.log"), seconds(60));
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->exit_code, 2) << bad->output;
  EXPECT_NE(bad->output.find("--explain-top"), std::string::npos) << bad->output;
}

TEST_F(ImportedLightgbmModel, PredictFullPrecisionWritesLightgbmsProbabilitiesExactly) {
  const std::string input = dir_->Join("full.jsonl");
  std::ofstream(input) << SnapshotLines();
  const std::string out = dir_->Join("full-scores.jsonl");
  auto run = RunCommand(
      kCsml,
      {"predict", "--input", input, "--model-dir", model_dir_, "--out", out, "--full-precision"},
      dir_->Join("full.log"), seconds(60));
  ASSERT_TRUE(run.has_value()) << run.error().message;
  ASSERT_EQ(run->exit_code, 0) << run->output;

  std::istringstream lines(ReadWholeFile(out));
  simdjson::dom::parser parser;
  std::string line;
  std::size_t i = 0;
  for (; std::getline(lines, line); ++i) {
    ASSERT_LT(i, cases_.size());
    simdjson::dom::element record;
    ASSERT_EQ(parser.parse(line).get(record), simdjson::SUCCESS) << line;
    EXPECT_EQ(std::string(record["userId"].get_string().value()), fmt::format("u_{}", i));
    // LightGBM's probabilities are reproduced exactly, and printed so they read back exactly.
    EXPECT_EQ(record["risk"].get_double().value(), cases_[i].expected_risk) << line;
    EXPECT_TRUE(
        std::string_view(record["modelVersion"].get_string().value()).starts_with("risk-lgbm-"));
  }
  EXPECT_EQ(i, cases_.size());
}

TEST_F(ImportedLightgbmModel, PredictNamesASkippedArrayElementByItsOneBasedPosition) {
  const std::string input = dir_->Join("array.json");
  std::ofstream(input)
      << fmt::format(R"([{{"userId":"u_0","snapshot_ts":"2025-08-01T00:00:00Z","features":{}}},)",
                     cases_[0].features_json)
      << R"({"userId":"broken","snapshot_ts":"2025-08-01T00:00:00Z","features":{"activity_7d":-1}}])";
  auto run = RunCommand(kCsml, {"predict", "--input", input, "--model-dir", model_dir_},
                        dir_->Join("array.log"), seconds(60));
  ASSERT_TRUE(run.has_value()) << run.error().message;
  ASSERT_EQ(run->exit_code, 0) << run->output;
  EXPECT_NE(run->output.find("skipped element 2 of the array, field features.activity_7d: "),
            std::string::npos)
      << run->output;
  EXPECT_NE(run->output.find("scored 1 snapshots"), std::string::npos) << run->output;
}

TEST_F(ImportedLightgbmModel, PredictStrictRefusesTheFileAndWritesNothing) {
  const std::string input = dir_->Join("strict.jsonl");
  std::ofstream(input)
      << SnapshotLines()
      << R"({"userId":"broken","snapshot_ts":"2025-08-01T00:00:00Z","features":{"activity_7d":-1}})"
      << '\n';
  const std::string out = dir_->Join("strict-scores.jsonl");
  auto run = RunCommand(
      kCsml, {"predict", "--input", input, "--model-dir", model_dir_, "--out", out, "--strict"},
      dir_->Join("strict.log"), seconds(60));
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->exit_code, 2) << run->output;
  EXPECT_NE(run->output.find("record 200"), std::string::npos) << run->output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ImportedLightgbmModel, PredictToStdoutWritesTheSameLines) {
  const std::string input = dir_->Join("stdout.jsonl");
  std::ofstream(input) << SnapshotLines();
  const std::string out = dir_->Join("stdout-scores.jsonl");
  auto to_file =
      RunCommand(kCsml, {"predict", "--input", input, "--model-dir", model_dir_, "--out", out},
                 dir_->Join("to-file.log"), seconds(60));
  ASSERT_TRUE(to_file.has_value() && to_file->exit_code == 0);
  auto to_stdout = RunCommand(kCsml, {"predict", "--input", input, "--model-dir", model_dir_},
                              dir_->Join("to-stdout.log"), seconds(60));
  ASSERT_TRUE(to_stdout.has_value() && to_stdout->exit_code == 0);
  // stdout and stderr share the log: the scores come first, the summary line last.
  const std::string lines = ReadWholeFile(out);
  EXPECT_TRUE(to_stdout->output.starts_with(lines)) << to_stdout->output.substr(0, 300);
}

// A LightGBM file saved without internal_count / leaf_count has no covers: it scores, but
// /score?explain=true is a 409, a /score/batch item asking to explain gets status 409 (the
// others are scored), csml predict --explain refuses, and --reasons model falls back to the
// seed's rules.
TEST(ModelWithoutCovers, ScoresButCannotExplain) {
  TempDir dir;
  std::istringstream original(ReadWholeFile((kLightgbm / "model.txt").string()));
  std::string stripped;
  for (std::string line; std::getline(original, line);) {
    if (line.starts_with("internal_count=") || line.starts_with("leaf_count=")) continue;
    stripped += line + "\n";
  }
  const std::string model = dir.Join("no_counts.txt");
  std::ofstream(model) << stripped;
  const std::string model_dir = dir.Join("models");
  auto imported = RunCommand(kCsml, {"models", "import", model, "--model-dir", model_dir},
                             dir.Join("import.log"), seconds(30));
  ASSERT_TRUE(imported.has_value());
  ASSERT_EQ(imported->exit_code, 0) << imported->output;
  auto process = ChildProcess::Start(
      kCsml,
      {"serve", "--port", "0", "--model-dir", model_dir, "--threads", "1", "--reasons", "model"},
      dir.Join("serve.log"));
  ASSERT_TRUE(process.has_value()) << process.error().message;
  auto port = WaitForListeningPort(*process, dir.Join("serve.log"), seconds(20));
  ASSERT_TRUE(port.has_value()) << port.error().message;
  const std::string features =
      R"({"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2})";
  const auto post = [](std::string path, std::string body) {
    HttpRequestSpec spec;
    spec.method = "POST";
    spec.path = std::move(path);
    spec.body = std::move(body);
    return spec;
  };
  auto connection = HttpConnection::Connect(*port);
  ASSERT_TRUE(connection.has_value()) << connection.error().message;
  auto plain = connection->Send(post("/score", R"({"userId":"u","features":)" + features + "}"));
  ASSERT_TRUE(plain.has_value());
  ASSERT_EQ(plain->status, 200) << plain->body;
  // The seed's rules, although --reasons model was asked for.
  EXPECT_NE(
      plain->body.find(R"("reasons":["inactive_14d","payment_issue_recent","low_feature_usage"])"),
      std::string::npos)
      << plain->body;
  auto explained = connection->Send(
      post("/score?explain=true", R"({"userId":"u","features":)" + features + "}"));
  ASSERT_TRUE(explained.has_value());
  EXPECT_EQ(explained->status, 409) << explained->body;
  auto batch = connection->Send(post(
      "/score/batch", R"({"items":[{"userId":"a","features":)" + features + R"(,"explain":true},)" +
                          R"({"userId":"b","features":)" + features + "}]}"));
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->status, 200) << batch->body;
  EXPECT_NE(
      batch->body.find(
          R"({"status":409,"detail":"the served model cannot explain its scores"},{"status":200,"userId":"b",)"),
      std::string::npos)
      << batch->body;
  EXPECT_EQ(process->Stop(seconds(10)), 0);
  EXPECT_NE(ReadWholeFile(dir.Join("serve.log")).find("no node covers"), std::string::npos);

  const std::string input = dir.Join("snapshots.jsonl");
  std::ofstream(input) << R"({"userId":"u","snapshot_ts":"2025-08-01T00:00:00Z","features":)"
                       << features << "}\n";
  auto predict =
      RunCommand(kCsml, {"predict", "--input", input, "--model-dir", model_dir, "--explain"},
                 dir.Join("predict.log"), seconds(60));
  ASSERT_TRUE(predict.has_value());
  EXPECT_EQ(predict->exit_code, 2) << predict->output;
  EXPECT_NE(predict->output.find("cannot explain"), std::string::npos) << predict->output;
}

TEST(ModelsImport, AModelWithAFeatureOutsideTheSchemaIsRefusedNamingItsLine) {
  TempDir dir;
  std::string text = ReadWholeFile((kLightgbm / "model.txt").string());
  const std::size_t at = text.find(" plan_value ");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string(" plan_value ").size(), " plan_tier ");
  const std::string path = dir.Join("model.txt");
  std::ofstream(path) << text;
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.find("feature_names="); ++i) line += text[i] == '\n' ? 1 : 0;

  auto run = RunCommand(kCsml, {"models", "import", path, "--model-dir", dir.Join("models")},
                        dir.Join("import.log"), seconds(30));
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->exit_code, 2) << run->output;
  EXPECT_NE(run->output.find(fmt::format("line {} (feature_names=): feature 6 'plan_tier'", line)),
            std::string::npos)
      << run->output;
  EXPECT_FALSE(fs::exists(dir.Join("models"))) << "nothing is created for a refused model";
}

TEST(ModelsImport, TheSameBytesAgainAreRefusedNamingTheVersionThatHoldsThem) {
  TempDir dir;
  const std::vector<std::string> args = {"models", "import", (kLightgbm / "model.txt").string(),
                                         "--model-dir", dir.Join("models")};
  auto first = RunCommand(kCsml, args, dir.Join("first.log"), seconds(30));
  ASSERT_TRUE(first.has_value() && first->exit_code == 0)
      << (first ? first->output : first.error().message);
  const std::size_t at = first->output.find("as risk-lgbm-");
  ASSERT_NE(at, std::string::npos) << first->output;
  const std::string version =
      first->output.substr(at + 3, first->output.find(' ', at + 3) - at - 3);

  auto again = RunCommand(kCsml, args, dir.Join("again.log"), seconds(30));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->exit_code, 2) << again->output;
  EXPECT_NE(again->output.find("already in the registry as version " + version + " (same sha256"),
            std::string::npos)
      << again->output;
  std::size_t versions = 0;
  for (const auto& entry : fs::directory_iterator(dir.Join("models"))) {
    versions += entry.path().filename().string().ends_with(".meta.json") ? 1 : 0;
  }
  EXPECT_EQ(versions, 1u) << "no second version of the same model";
}

TEST(ModelsImport, ALightgbmModelWithInfiniteThresholdsIsImported) {
  // LightGBM writes threshold=inf itself (tests/data/lightgbm_inf_threshold/README.md).
  TempDir dir;
  const fs::path model = fs::path(CSML_TEST_DATA_DIR) / "lightgbm_inf_threshold" / "model.txt";
  ASSERT_NE(ReadWholeFile(model.string()).find("threshold=inf "), std::string::npos);
  auto run =
      RunCommand(kCsml, {"models", "import", model.string(), "--model-dir", dir.Join("models")},
                 dir.Join("import.log"), seconds(30));
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->exit_code, 0) << run->output;
  EXPECT_NE(run->output.find("as risk-lgbm-"), std::string::npos) << run->output;
  EXPECT_NE(run->output.find("10 trees, 4 features"), std::string::npos) << run->output;
  EXPECT_NE(run->output.find("served:  risk-lgbm-"), std::string::npos) << run->output;
}

TEST(ModelsImport, AFileThatIsNoModelIsRefused) {
  TempDir dir;
  const std::string path = dir.Join("notes.txt");
  std::ofstream(path) << "these are not trees\n";
  auto run = RunCommand(kCsml, {"models", "import", path, "--model-dir", dir.Join("models")},
                        dir.Join("import.log"), seconds(30));
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->exit_code, 2) << run->output;
  EXPECT_NE(run->output.find("expected an XGBoost JSON model"), std::string::npos) << run->output;
}

}  // namespace
}  // namespace csml::e2e
