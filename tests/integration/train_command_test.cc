// `csml train` and `csml models` end to end: the real binary trains from a running
// `csml cs-api` (the "done when"), publishes a version whose meta.json holds the
// thresholds and metrics, passes or fails the promotion gate, and the registry is steered with
// list / show / promote / rollback, names that could leave it refused.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "cs_api_fixture.h"

namespace csml::integration {
namespace {

using testing::ReadWholeFile;
using testing::RunResult;
using testing::TempDir;
using testing::WriteFile;

constexpr auto kTimeout = std::chrono::seconds(300);

class TrainCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    data_ = new std::string(Simulate(*dir_, "snapshots.jsonl", 400, 200));
  }
  static void TearDownTestSuite() {
    delete data_;
    delete dir_;
  }

  RunResult Csml(std::vector<std::string> args) {
    static int runs = 0;
    return testing::Run(CsmlBinary(), args, dir_->Join("run-" + std::to_string(++runs) + ".log"),
                        kTimeout);
  }

  // csml train against the CS API at `url` into `model_dir`, one thread, fixed as-of.
  RunResult Train(const std::string& url, const std::string& model_dir,
                  const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"train",    "--days",    "90",      "--url",    url,
                                     "--tenant", kTenant,     "--as-of", kAsOf,      "--model-dir",
                                     model_dir,  "--threads", "1",       "--no-tune"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Csml(args);
  }

  static std::vector<std::string> Versions(const std::string& model_dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(model_dir)) {
      const std::string name = e.path().filename().string();
      const std::string suffix = ".meta.json";
      if (name.size() > suffix.size() && name.ends_with(suffix) && name[0] != '.') {
        out.push_back(name.substr(0, name.size() - suffix.size()));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string* data_ = nullptr;
};

TEST_F(TrainCommandTest, TrainsFromTheCsApiAndPublishesThresholdsAndMetrics) {
  ASSERT_FALSE(data_->empty()) << "csml simulate failed";
  CsApiProcess api(*dir_, *data_, {"--as-of", kAsOf});
  ASSERT_TRUE(api.ok()) << api.log();
  const std::string model_dir = dir_->Join("store-api");
  const RunResult r = Train(api.url(), model_dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("decision    promoted"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("thresholds  medium >= "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("top-decile lift"), std::string::npos) << r.output;

  const std::vector<std::string> versions = Versions(model_dir);
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(ReadWholeFile(model_dir + "/SERVING"), versions[0] + "\n");
  const std::string meta_text = ReadWholeFile(model_dir + "/" + versions[0] + ".meta.json");
  simdjson::dom::parser parser;
  simdjson::dom::element meta;
  ASSERT_EQ(parser.parse(simdjson::padded_string(meta_text)).get(meta), simdjson::SUCCESS);

  const auto number = [&](const char* pointer) {
    double v = -1;
    EXPECT_EQ(meta.at_pointer(pointer).get(v), simdjson::SUCCESS) << pointer << "\n" << meta_text;
    return v;
  };
  const auto text = [&](const char* pointer) {
    std::string_view v;
    EXPECT_EQ(meta.at_pointer(pointer).get(v), simdjson::SUCCESS) << pointer << "\n" << meta_text;
    return std::string(v);
  };
  // Thresholds, and how they were chosen, and what each tier holds on validation.
  EXPECT_EQ(text("/thresholds/method"), "validation_quantiles");
  EXPECT_LT(number("/thresholds/medium"), number("/thresholds/high"));
  EXPECT_EQ(number("/extra/tiers/medium_quantile"), 0.7);
  EXPECT_EQ(number("/extra/tiers/high_quantile"), 0.9);
  EXPECT_NEAR(number("/extra/tiers/validation/high/share"), 0.1, 0.02);
  EXPECT_GT(number("/extra/tiers/validation/high/churn_rate"),
            number("/extra/tiers/validation/low/churn_rate"));
  // Metrics.
  for (const char* key :
       {"/validation_metrics/auc", "/validation_metrics/pr_auc", "/validation_metrics/logloss",
        "/validation_metrics/brier", "/validation_metrics/base_rate",
        "/validation_metrics/calibration_error", "/validation_metrics/top_decile_lift",
        "/validation_metrics/high_tier_precision", "/validation_metrics/high_tier_recall",
        "/validation_metrics/high_tier_lift", "/train_metrics/auc"}) {
    EXPECT_GT(number(key), 0.0) << key;
  }
  EXPECT_GT(number("/validation_metrics/auc"), 0.7);
  // Rows and the window: 90 days up to the as-of time; the split and refit are recorded.
  EXPECT_EQ(text("/training_window/as_of"), kAsOf);
  EXPECT_EQ(number("/training_window/days"), 90);
  EXPECT_GT(number("/rows/train"), number("/rows/validation"));
  EXPECT_GT(number("/extra/split/embargoed_rows"), 0);
  EXPECT_EQ(text("/extra/final_model/fit_on"), "all_rows_in_window");
  EXPECT_GT(number("/extra/feature_importance_gain/time_since_last_use_days"), 0);
  EXPECT_EQ(text("/extra/promotion/decision"), "promoted");
}

TEST_F(TrainCommandTest, GatesPromotionOnValidationAucAndModelsSteersTheRegistry) {
  ASSERT_FALSE(data_->empty());
  CsApiProcess api(*dir_, *data_, {"--as-of", kAsOf});
  ASSERT_TRUE(api.ok()) << api.log();
  const std::string store = dir_->Join("store-gate");
  ASSERT_EQ(Train(api.url(), store).exit_code, 0);
  const std::string good = Versions(store).back();

  // One round of depth-1 trees ranks worse than the full model by far more than 0.01.
  const RunResult weak =
      Train(api.url(), store,
            {"--max-rounds", "1", "--early-stopping-rounds", "1", "--max-leaves", "2", "--quiet"});
  ASSERT_EQ(weak.exit_code, 0) << weak.output;
  EXPECT_NE(weak.output.find("not_promoted"), std::string::npos) << weak.output;
  EXPECT_NE(weak.output.find("served=" + good), std::string::npos) << weak.output;
  ASSERT_EQ(Versions(store).size(), 2u);
  const std::string weak_version = Versions(store).back();

  const RunResult forced = Train(api.url(), store,
                                 {"--max-rounds", "1", "--early-stopping-rounds", "1",
                                  "--max-leaves", "2", "--force", "--thresholds", "0.4,0.7"});
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(forced.output.find("promoted anyway (--force)"), std::string::npos) << forced.output;
  EXPECT_NE(forced.output.find("medium >= 0.4000, high >= 0.7000 (fixed)"), std::string::npos)
      << forced.output;
  const std::string forced_version = Versions(store).back();
  EXPECT_EQ(ReadWholeFile(store + "/SERVING"), forced_version + "\n");

  // models list marks the served version; rollback returns to the good one.
  const RunResult list = Csml({"models", "list", "--model-dir", store});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("* " + forced_version), std::string::npos) << list.output;
  const RunResult rollback = Csml({"models", "rollback", "--model-dir", store});
  ASSERT_EQ(rollback.exit_code, 0) << rollback.output;
  EXPECT_EQ(ReadWholeFile(store + "/SERVING"), good + "\n");

  const RunResult promote = Csml({"models", "promote", weak_version, "--model-dir", store});
  ASSERT_EQ(promote.exit_code, 0) << promote.output;
  EXPECT_EQ(ReadWholeFile(store + "/SERVING"), weak_version + "\n");
  const RunResult show = Csml({"models", "show", weak_version, "--model-dir", store});
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_NE(show.output.find("\"version\": \"" + weak_version + "\""), std::string::npos)
      << show.output;

  // Names that could leave the registry are refused before any file is touched: a bare
  // name by the version check, a `tenant/version` one by the tenant id check first.
  for (const std::string& name : {std::string("../store-api/x"), std::string("/etc/passwd"),
                                  std::string(".."), std::string("a/../../b")}) {
    for (const char* action : {"show", "promote"}) {
      const RunResult bad = Csml({"models", action, name, "--model-dir", store});
      EXPECT_EQ(bad.exit_code, 2) << action << " " << name << "\n" << bad.output;
      EXPECT_TRUE(bad.output.find("expected a name") != std::string::npos ||
                  bad.output.find("tenant id: expected") != std::string::npos)
          << bad.output;
    }
  }
  EXPECT_EQ(ReadWholeFile(store + "/SERVING"), weak_version + "\n");
  const RunResult missing =
      Csml({"models", "show", "risk-xgb-1999-01-01-0000", "--model-dir", store});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("not found"), std::string::npos) << missing.output;
}

TEST_F(TrainCommandTest, RefusesDataTheValidatorBlocksAndBadFlags) {
  ASSERT_FALSE(data_->empty());
  // Ten records are far fewer labeled rows than the validator accepts.
  std::string few;
  const std::string all = ReadWholeFile(*data_);
  std::size_t at = 0;
  for (int i = 0; i < 10; ++i) {
    const std::size_t end = all.find('\n', at);
    few += all.substr(at, end + 1 - at);
    at = end + 1;
  }
  const std::string few_path = dir_->Join("few.jsonl");
  WriteFile(few_path, few);
  const std::string store = dir_->Join("store-refused");
  const RunResult refused =
      Csml({"train", "--input", few_path, "--model-dir", store, "--threads", "1"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("refusing to train"), std::string::npos) << refused.output;
  // A failed train leaves no model directory behind.
  EXPECT_FALSE(std::filesystem::exists(store));

  // Each message names the flag the user typed.
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--validation-share", "0.95"},
        std::vector<std::string>{"--thresholds", "0.7,0.4"},
        std::vector<std::string>{"--tier-quantiles", "0.7,1.0"},
        std::vector<std::string>{"--thresholds", "0.4,0.7", "--tier-quantiles", "0.6,0.9"},
        std::vector<std::string>{"--early-stopping-metric", "error"},
        std::vector<std::string>{"--max-rounds", "0"}, std::vector<std::string>{"--eta", "2"},
        std::vector<std::string>{"--gate-auc-tolerance", "-1"}}) {
    std::vector<std::string> args = {"train", "--input", *data_, "--model-dir", store};
    args.insert(args.end(), flags.begin(), flags.end());
    const RunResult bad = Csml(args);
    EXPECT_EQ(bad.exit_code, 2) << flags[0] << "\n" << bad.output;
    const std::string named = flags.size() > 2 ? "--tier-quantiles:" : flags[0] + ":";
    EXPECT_NE(bad.output.find(named), std::string::npos) << bad.output;
  }
  // The former name of --gate-auc-tolerance still works, with a notice.
  const RunResult old_name =
      Csml({"train", "--input", *data_, "--model-dir", store, "--auc-tolerance", "-1"});
  EXPECT_EQ(old_name.exit_code, 2) << old_name.output;
  EXPECT_NE(old_name.output.find("--auc-tolerance is deprecated"), std::string::npos)
      << old_name.output;
  EXPECT_NE(old_name.output.find("--gate-auc-tolerance:"), std::string::npos) << old_name.output;
  EXPECT_FALSE(std::filesystem::exists(store));
}

TEST_F(TrainCommandTest, PrintsProgressOnStderrAndOnlyTheResultOnStdout) {
  ASSERT_FALSE(data_->empty());
  const std::string store = dir_->Join("store-stdout");
  // Through a shell that drops stderr: what is left is stdout, which is not a terminal.
  std::string command = "exec '" + CsmlBinary() + "' train --input '" + *data_ + "' --as-of " +
                        kAsOf + " --model-dir '" + store + "' --threads 1 2>/dev/null";
  const RunResult run =
      testing::Run("/bin/sh", {"-c", command}, dir_->Join("stdout-only.log"), kTimeout);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.rfind("csml train: published ", 0), 0u) << run.output;
  EXPECT_EQ(run.output.find("early stopping: round"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("refit on all rows: round"), std::string::npos) << run.output;
}

TEST_F(TrainCommandTest, TrainsTheSameModelFromAFileAndFromTheCsApi) {
  ASSERT_FALSE(data_->empty());
  CsApiProcess api(*dir_, *data_, {"--as-of", kAsOf});
  ASSERT_TRUE(api.ok()) << api.log();
  const std::string from_api = dir_->Join("store-same-api");
  const std::string from_file = dir_->Join("store-same-file");
  ASSERT_EQ(Train(api.url(), from_api, {"--quiet"}).exit_code, 0);
  const RunResult file = Csml({"train", "--input", *data_, "--days", "90", "--as-of", kAsOf,
                               "--model-dir", from_file, "--threads", "1", "--no-tune", "--quiet"});
  ASSERT_EQ(file.exit_code, 0) << file.output;
  const std::string a = Versions(from_api).front();
  const std::string b = Versions(from_file).front();
  EXPECT_EQ(ReadWholeFile(from_api + "/" + a + ".model.json"),
            ReadWholeFile(from_file + "/" + b + ".model.json"));
}

// The model search runs by default and is recorded; --no-tune trains the fixed configuration
// with no search in meta.json; the same flags twice give the same model bytes.
TEST_F(TrainCommandTest, SearchesByDefaultAndNoTuneKeepsTheFixedPath) {
  ASSERT_FALSE(data_->empty());
  const auto train = [&](const std::string& store, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {
        "train", "--input",   *data_, "--days",        "90", "--as-of", kAsOf, "--model-dir",
        store,   "--threads", "1",    "--tune-budget", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Csml(args);
  };
  const std::string tuned_a = dir_->Join("store-tune-a");
  const std::string tuned_b = dir_->Join("store-tune-b");
  const std::string fixed = dir_->Join("store-no-tune");
  const RunResult a = train(tuned_a, {});
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_NE(a.output.find("model search: "), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("(chosen by the model search)"), std::string::npos) << a.output;
  ASSERT_EQ(train(tuned_b, {"--quiet"}).exit_code, 0);
  const RunResult f = train(fixed, {"--no-tune"});
  ASSERT_EQ(f.exit_code, 0) << f.output;
  EXPECT_EQ(f.output.find("model search: "), std::string::npos) << f.output;
  const std::string va = Versions(tuned_a).front();
  const std::string vb = Versions(tuned_b).front();
  const std::string vf = Versions(fixed).front();
  EXPECT_EQ(ReadWholeFile(tuned_a + "/" + va + ".model.json"),
            ReadWholeFile(tuned_b + "/" + vb + ".model.json"));
  EXPECT_NE(ReadWholeFile(tuned_a + "/" + va + ".meta.json").find("\"search\":"),
            std::string::npos);
  const std::string fixed_meta = ReadWholeFile(fixed + "/" + vf + ".meta.json");
  EXPECT_EQ(fixed_meta.find("\"search\":"), std::string::npos);
  EXPECT_NE(fixed_meta.find("\"eta\":0.1,\"max_leaves\":7"), std::string::npos) << fixed_meta;
}

}  // namespace
}  // namespace csml::integration
