// The monitor's report.html in a real browser: a model trained by the real binary (csml
// simulate + csml train, trained_store_fixture.h), a prediction log written in this process
// through the real PredictionLog (one prediction an hour after each labeled snapshot of the last
// six weeks, by the trained version, with the snapshot's features), and `csml monitor` on it.
// Headless Chromium takes a screenshot, logs no console message, and its DOM holds every chart
// of the version with data (PSI included: the version has a training profile).
//
// Label "browser": run alone with `ctest -L browser`.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "csml/data/snapshot_reader.h"
#include "csml/monitoring/prediction_log.h"
#include "csml/registry/registry.h"
#include "csml/reporting/monitor_run.h"
#include "find_chromium.h"
#include "trained_store_fixture.h"

namespace csml::integration {
namespace {

using testing::ReadWholeFile;
using testing::RunResult;

constexpr auto kBrowserTimeout = std::chrono::seconds(120);

std::vector<std::string> ConsoleLines(const std::string& log) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < log.size()) {
    const std::size_t end = std::min(log.find('\n', start), log.size());
    const std::string line = log.substr(start, end - start);
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) {
      lines.push_back(line);
    }
    start = end + 1;
  }
  return lines;
}

// Writes the log; "" when it worked, else what failed.
std::string WriteLog(const std::string& data, const std::string& store, const std::string& dir) {
  auto registry = Registry::Open(store, RegistryOpenMode::kReadOnly);
  if (!registry) return registry.error().message;
  auto versions = registry->List();
  if (!versions || versions->size() != 1) return "expected one version";
  const ModelMeta& meta = versions->front();
  auto batch = ReadSnapshotFile(data, SnapshotReadOptions{});
  if (!batch) return batch.error().message;
  PredictionLogOptions options;
  options.dir = dir;
  auto log = PredictionLog::Create(options);
  if (!log) return log.error().message;
  // Six weeks up to the last labeled snapshots (the end of the training window included:
  // this test draws a report, it does not judge the model).
  const UnixSeconds from = *ParseRfc3339(kTrainAsOf) - 42 * kSecondsPerDay;
  std::uint64_t n = 0;
  for (const Snapshot& s : batch->records) {
    if (s.snapshot_ts < from || !s.label) continue;
    PredictionEvent e;
    e.unix_ms = (s.snapshot_ts + 3600) * 1000;
    e.request_id = "browser";
    e.user_id = s.user_id;
    e.model_version = meta.version;
    // A risk that leans on the outcome, deterministic per row.
    const double noise = static_cast<double>((n * 2654435761u) % 1000) / 1000.0;
    e.risk = std::round((0.5 * noise + (*s.label == 1 ? 0.3 : 0.0)) * 1e4) / 1e4;
    e.tier = meta.thresholds.Classify(e.risk);
    e.features = s.features;
    while (!(*log)->Append(e)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++n;
  }
  log->reset();
  return n > 100 ? "" : "too few predictions";
}

class MonitorReportBrowserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = new TrainedStore();
    problem_ = new std::string(store_->problem());
    if (!problem_->empty()) return;
    *problem_ = WriteLog(store_->data(), store_->store(), store_->dir().Join("log"));
    if (!problem_->empty()) return;
    const RunResult r = store_->Csml({"monitor",
                                      "--log",
                                      store_->dir().Join("log"),
                                      "--input",
                                      store_->data(),
                                      "--days",
                                      "400",
                                      "--model-dir",
                                      store_->store(),
                                      "--out",
                                      store_->dir().Join("monitor"),
                                      "--min-outcomes",
                                      "20",
                                      "--min-psi-predictions",
                                      "20",
                                      "--min-auc",
                                      "0.5",
                                      "--max-calibration-error",
                                      "1",
                                      "--max-psi",
                                      "100"});
    if (r.exit_code != 0) *problem_ = "csml monitor: " + r.output;
  }
  static void TearDownTestSuite() {
    delete problem_;
    problem_ = nullptr;
    delete store_;
    store_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(*problem_, "");
    chromium_ = FindChromium();
    ASSERT_FALSE(chromium_.empty()) << "headless Chromium not found (CSML_CHROMIUM, or chromium "
                                       "on PATH); scripts/install-deps.sh installs it";
  }

  RunResult Chromium(const std::string& name, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--user-data-dir=" + store_->dir().Join("chromium-" + name),
                                     "--enable-logging=stderr",
                                     "--v=0"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("file://" + store_->dir().Join("monitor/report.html"));
    return testing::Run(chromium_, args, store_->dir().Join("chromium-" + name + ".log"),
                        kBrowserTimeout);
  }

  static inline TrainedStore* store_ = nullptr;
  static inline std::string* problem_ = nullptr;
  std::string chromium_;
};

TEST_F(MonitorReportBrowserTest, ScreenshotsTheReportWithNoConsoleMessage) {
  const std::string png = store_->dir().Join("monitor.png");
  const RunResult r = Chromium("screenshot", {"--screenshot=" + png, "--window-size=1280,3000"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ConsoleLines(r.output), std::vector<std::string>{}) << r.output;
  ASSERT_TRUE(std::filesystem::exists(png)) << r.output;
  const std::string bytes = ReadWholeFile(png);
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // Six charts and three tables compress to far more than a blank page (~20 KB).
  EXPECT_GT(bytes.size(), 150'000u);
  std::error_code ec;
  std::filesystem::copy_file(png, std::filesystem::path(CSML_BROWSER_ARTIFACT_DIR) / "monitor.png",
                             std::filesystem::copy_options::overwrite_existing, ec);
}

TEST_F(MonitorReportBrowserTest, TheBrowsersDomHoldsEveryChartWithData) {
  const RunResult r = Chromium("dom", {"--dump-dom"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ConsoleLines(r.output), std::vector<std::string>{}) << r.output;
  const std::string& dom = r.output;
  ASSERT_NE(dom.find("id=\"verdict\""), std::string::npos) << dom.substr(0, 2000);
  ASSERT_NE(dom.find("id=\"weeks-0\""), std::string::npos);
  static const std::regex kPoints("data-points=\"([0-9]+)\"");
  for (const std::string_view base : kMonitorChartIds) {
    const std::string id = std::string(base) + "-0";
    const std::size_t at = dom.find("<svg id=\"" + id + "\"");
    ASSERT_NE(at, std::string::npos) << id;
    const std::size_t end = dom.find("</svg>", at);
    ASSERT_NE(end, std::string::npos) << id;
    const std::string svg = dom.substr(at, end - at);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(svg, m, kPoints)) << id;
    EXPECT_GT(std::stoi(m[1]), 0) << id;
    EXPECT_NE(svg.find("class=\"mark\""), std::string::npos) << id;
    EXPECT_NE(svg.find("class=\"chart-title\""), std::string::npos) << id;
    EXPECT_NE(svg.find("class=\"legend\""), std::string::npos) << id;
  }
}

}  // namespace
}  // namespace csml::integration
