// The monitoring loop end to end (issue 14): simulate customers, train on the older window,
// replay the newest snapshots through the real server's /score/batch as traffic with the
// prediction log on, then run `csml monitor` on that log against the simulator's outcomes.
//
// The simulation ends 30 days after today, so every snapshot up to today is labeled (its
// label_ts is at most the simulation's end, the monitor's as-of time) and the newest snapshot
// of each customer at or before now is the one the join picks for a prediction made now: the
// replay's predictions and `csml test` on the replayed rows see the same rows and outcomes.
//
// The AUCs agree within 0.002: the log keeps the risk as /score answers it (4 decimals), so
// risks closer than 1e-4 become ties the monitor counts as half a pair, where `csml test`
// ranks them at full precision; a few thousand rows hold few such pairs. Anything more is a
// join or a metric that differs.
//
// The drifted replay shifts usage_score up by 0.3 (clamped to 1) and sends it null for every
// third customer: that feature's PSI against the training profile must exceed 0.25, in the
// report and on the server's /metrics (live drift over the same scores), while every PSI of
// the plain replay stays below 0.1 (sampling noise of a few thousand rows against ten bins is
// about 0.005).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/core/json_writer.h"
#include "csml/core/time.h"
#include "csml/data/snapshot_reader.h"
#include "csml/data/snapshot_writer.h"
#include "serve_fixture.h"
#include "testing/child_process.h"
#include "testing/files.h"

namespace csml::e2e {
namespace {

using std::chrono::seconds;

constexpr std::size_t kCustomers = 2500;
constexpr auto kRunTimeout = seconds(120);

std::string Day(UnixSeconds t) { return FormatRfc3339(t).substr(0, 10); }

// One /score/batch item from a snapshot's features.
void AppendItem(std::string* body, const Snapshot& s, bool drift, std::size_t index) {
  JsonWriter w(body);
  w.BeginObject();
  w.Key("userId").String(s.user_id);
  w.Key("features").BeginObject();
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    double v = s.features.numeric[i];
    if (drift && static_cast<NumericFeature>(i) == NumericFeature::kUsageScore) {
      v = index % 3 == 0 ? std::nan("") : std::min(1.0, std::round((v + 0.3) * 1e4) / 1e4);
    }
    w.Key(kNumericFeatureSpecs[i].name);
    if (std::isnan(v)) {
      w.Null();
    } else {
      w.Double(v);
    }
  }
  w.Key("region");
  if (s.features.region == Region::kMissing) {
    w.Null();
  } else {
    w.String(RegionName(s.features.region));
  }
  w.EndObject();
  w.EndObject();
}

class MonitorLoopE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const UnixSeconds now = NowUtc();
    today_ = now - now % kSecondsPerDay;
    end_ = today_ + 30 * kSecondsPerDay;
    problem_ = new std::string();
    auto run = [](const std::string& name, const std::vector<std::string>& args) {
      return testing::Run(CsmlBinary(), args, dir_->Join(name + ".log"), kRunTimeout);
    };
    const auto sim =
        run("simulate", {"simulate", "--customers", std::to_string(kCustomers), "--days", "150",
                         "--seed", "14", "--end", Day(end_), "--out", dir_->Join("sim.jsonl")});
    if (sim.exit_code != 0) {
      *problem_ = "simulate: " + sim.output;
      return;
    }
    // The older window: outcomes learned in the 90 days up to today.
    const auto trained =
        run("train", {"train", "--input", dir_->Join("sim.jsonl"), "--days", "90", "--as-of",
                      FormatRfc3339(today_), "--model-dir", dir_->Join("models"), "--threads", "1",
                      "--no-tune", "--quiet"});
    if (trained.exit_code != 0) {
      *problem_ = "train: " + trained.output;
      return;
    }
    // The replay: each customer's newest snapshot at or before now (labeled: its outcome is
    // due by the simulation's end).
    SnapshotReadOptions read;
    auto batch = ReadSnapshotFile(dir_->Join("sim.jsonl"), read);
    if (!batch) {
      *problem_ = batch.error().message;
      return;
    }
    std::map<std::string, Snapshot> newest;
    for (const Snapshot& s : batch->records) {
      if (s.snapshot_ts > now) continue;
      auto [it, inserted] = newest.try_emplace(s.user_id, s);
      if (!inserted && s.snapshot_ts > it->second.snapshot_ts) it->second = s;
    }
    replay_ = new std::vector<Snapshot>();
    for (auto& [user, s] : newest) {
      if (s.label && s.snapshot_ts > now - 7 * kSecondsPerDay) replay_->push_back(s);
    }
    auto writer =
        SnapshotFileWriter::Create(dir_->Join("replay.jsonl"), SnapshotFormat::kJsonLines);
    if (!writer) {
      *problem_ = writer.error().message;
      return;
    }
    for (const Snapshot& s : *replay_) {
      if (auto ok = writer->Append(s); !ok) *problem_ = ok.error().message;
    }
    if (auto ok = writer->Commit(); !ok) *problem_ = ok.error().message;
  }

  static void TearDownTestSuite() {
    delete replay_;
    replay_ = nullptr;
    delete problem_;
    problem_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(*problem_, "");
    ASSERT_GT(replay_->size(), kCustomers * 9 / 10);
  }

  // Replays every row through /score/batch with the prediction log in `log_dir`; returns the
  // last /metrics body before the server stops.
  std::string Replay(const std::string& log_dir, bool drift) {
    auto served = StartServe(dir_->Join("models"), dir_->Join(log_dir + ".serve.log"),
                             {"--threads", "2", "--prediction-log", dir_->Join(log_dir)});
    EXPECT_TRUE(served) << (served ? "" : served.error().message);
    if (!served) return "";
    constexpr std::size_t kBatch = 250;
    for (std::size_t start = 0; start < replay_->size(); start += kBatch) {
      std::string body = R"({"items":[)";
      for (std::size_t i = start; i < std::min(replay_->size(), start + kBatch); ++i) {
        if (i > start) body.push_back(',');
        AppendItem(&body, (*replay_)[i], drift, i);
      }
      body += "]}";
      auto answer = Fetch(served->port, PostJson("/score/batch", body));
      EXPECT_TRUE(answer.has_value());
      if (!answer) return "";
      EXPECT_EQ(answer->status, 200) << answer->body.substr(0, 500);
    }
    std::string metrics;
    if (auto m = Fetch(served->port, GetPath("/metrics")); m) metrics = m->body;
    EXPECT_EQ(served->process.Stop(seconds(15)), 0)
        << testing::ReadWholeFile(dir_->Join(log_dir + ".serve.log"));
    return metrics;
  }

  testing::RunResult Monitor(const std::string& log_dir, const std::string& out) {
    return testing::Run(CsmlBinary(),
                        {"monitor", "--log", dir_->Join(log_dir), "--input",
                         dir_->Join("sim.jsonl"), "--days", "400", "--as-of", FormatRfc3339(end_),
                         "--model-dir", dir_->Join("models"), "--out", dir_->Join(out), "--min-auc",
                         "0.5", "--max-calibration-error", "0.5", "--min-outcomes", "100"},
                        dir_->Join(out + ".log"), kRunTimeout);
  }

  static simdjson::dom::element ReadJson(simdjson::dom::parser& parser, const std::string& path) {
    return parser.load(path).value();
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline std::vector<Snapshot>* replay_ = nullptr;
  static inline std::string* problem_ = nullptr;
  static inline UnixSeconds today_ = 0;
  static inline UnixSeconds end_ = 0;
};

TEST_F(MonitorLoopE2eTest, RealizedAucMatchesCsmlTestAndAnUndriftedReplayIsStable) {
  const std::string metrics = Replay("log-plain", false);
  // The server's live drift over the same scores agrees: stable.
  const auto live = MetricValue(metrics, R"(csml_feature_psi{feature="usage_score"})");
  ASSERT_TRUE(live.has_value()) << metrics;
  EXPECT_LT(*live, 0.1);
  const auto monitored = Monitor("log-plain", "monitor-plain");
  ASSERT_EQ(monitored.exit_code, 0) << monitored.output;
  EXPECT_NE(monitored.output.find("PASS"), std::string::npos) << monitored.output;

  const auto tested =
      testing::Run(CsmlBinary(),
                   {"test", "--input", dir_->Join("replay.jsonl"), "--days", "400", "--as-of",
                    FormatRfc3339(end_), "--model-dir", dir_->Join("models"), "--out",
                    dir_->Join("test-report"), "--min-auc", "0"},
                   dir_->Join("test.log"), kRunTimeout);
  ASSERT_TRUE(tested.exit_code == 0 || tested.exit_code == 1) << tested.output;

  simdjson::dom::parser p1;
  simdjson::dom::parser p2;
  const auto report = ReadJson(p1, dir_->Join("monitor-plain/report.json"));
  const auto test_report = ReadJson(p2, dir_->Join("test-report/report.json"));
  const double test_auc = test_report["metrics"]["auc"].get_double().value();
  const auto test_rows = test_report["metrics"]["rows"].get_uint64().value();
  EXPECT_EQ(test_rows, replay_->size());

  const simdjson::dom::array versions = report["versions"].get_array().value();
  ASSERT_EQ(versions.size(), 1u);
  const auto version = versions.at(0).value();
  const auto total = version["total"];
  EXPECT_EQ(total["predictions"].get_uint64().value(), replay_->size());
  EXPECT_EQ(total["known"].get_uint64().value(), replay_->size()) << "every replayed row joins";
  EXPECT_EQ(total["unmatched"].get_uint64().value(), 0u);
  EXPECT_EQ(total["pending"].get_uint64().value(), 0u);
  EXPECT_EQ(total["churned"].get_uint64().value(),
            test_report["metrics"]["churned"].get_uint64().value());
  const double monitor_auc = total["auc"].get_double().value();
  std::printf("monitor loop: realized AUC %.5f (csml monitor) vs %.5f (csml test) on %zu rows\n",
              monitor_auc, test_auc, replay_->size());
  EXPECT_NEAR(monitor_auc, test_auc, 0.002);
  EXPECT_GT(monitor_auc, 0.6) << "the model ranks better than chance";

  // The undrifted replay against the version's training profile.
  ASSERT_TRUE(version["reference"].get_bool().value()) << "the version records a profile";
  const simdjson::dom::object features = total["drift"]["features"].get_object().value();
  for (auto [name, feature] : features) {
    EXPECT_LT(feature["psi"].get_double().value(), 0.1) << name;
  }
  EXPECT_LT(total["drift"]["score_psi"].get_double().value(), 0.1);
  EXPECT_TRUE(std::filesystem::exists(dir_->Join("monitor-plain/report.html")));
}

TEST_F(MonitorLoopE2eTest, ADriftedReplayRaisesThatFeaturesPsiAndFailsTheCheck) {
  const std::string metrics = Replay("log-drift", true);
  const auto monitored = Monitor("log-drift", "monitor-drift");
  ASSERT_EQ(monitored.exit_code, 1) << monitored.output;
  EXPECT_NE(monitored.output.find("FAIL max_psi"), std::string::npos) << monitored.output;
  EXPECT_NE(monitored.output.find("usage_score"), std::string::npos) << monitored.output;

  simdjson::dom::parser parser;
  const auto report = ReadJson(parser, dir_->Join("monitor-drift/report.json"));
  const auto total = report["versions"].at(0)["total"];
  const auto usage = total["drift"]["features"]["usage_score"];
  std::printf("monitor loop: drifted usage_score PSI %.4f, missing share %.4f\n",
              usage["psi"].get_double().value(), usage["missing_share"].get_double().value());
  EXPECT_GT(usage["psi"].get_double().value(), 0.25);
  EXPECT_NEAR(usage["missing_share"].get_double().value(), 1.0 / 3, 0.01);
  // The other features were sent as they were: stable.
  EXPECT_LT(total["drift"]["features"]["activity_30d"]["psi"].get_double().value(), 0.1);
  bool psi_failed = false;
  const simdjson::dom::array checks = report["checks"].get_array().value();
  for (auto check : checks) {
    if (std::string_view(check["name"].get_string().value()) == "max_psi" &&
        !check["passed"].get_bool().value()) {
      psi_failed = true;
    }
  }
  EXPECT_TRUE(psi_failed);
  // ... and the server's live drift saw it too, over the same scores.
  const auto live = MetricValue(metrics, R"(csml_feature_psi{feature="usage_score"})");
  ASSERT_TRUE(live.has_value()) << metrics;
  std::printf("monitor loop: drifted usage_score PSI on /metrics %.4f\n", *live);
  EXPECT_GT(*live, 0.25);
}

TEST_F(MonitorLoopE2eTest, AMissingLogIsExitTwo) {
  const auto monitored = Monitor("no-such-log", "monitor-missing");
  EXPECT_EQ(monitored.exit_code, 2) << monitored.output;
}

}  // namespace
}  // namespace csml::e2e
