// report.html in a real browser: headless Chromium (Debian `chromium`, installed by
// scripts/install-deps.sh) opens a report made by the real binary from simulated data
// (csml simulate + csml train + csml test --input), takes a screenshot, logs no console
// message (the page has no script, and its Content-Security-Policy turns any reference to
// another file or the network into a console error), and its DOM holds every chart with data.
//
// Label "browser": run alone with `ctest -L browser`. Without Chromium the test fails: CI
// installs it, so a missing browser is a broken environment, not a reason to skip.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/reporting/report_renderer.h"
#include "find_chromium.h"
#include "trained_store_fixture.h"

namespace csml::integration {
namespace {

using testing::ReadWholeFile;
using testing::RunResult;
using testing::WriteFile;

constexpr auto kBrowserTimeout = std::chrono::seconds(120);

// The console messages Chromium logs with --enable-logging=stderr: "...:CONSOLE(12)] ..." or
// "...:CONSOLE:12] ..." depending on the version.
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

std::uint32_t BigEndian32(const std::string& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

class ReportBrowserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = new TrainedStore();
    if (!store_->problem().empty()) return;
    const RunResult r = store_->Csml({"test", "--input", store_->data(), "--model-dir",
                                      store_->store(), "--out", store_->dir().Join("report")});
    report_output_ = new std::string(r.output);
    report_exit_ = r.exit_code;
  }
  static void TearDownTestSuite() {
    delete report_output_;
    report_output_ = nullptr;
    delete store_;
    store_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(store_->problem(), "");
    ASSERT_EQ(report_exit_, 0) << *report_output_;
    chromium_ = FindChromium();
    ASSERT_FALSE(chromium_.empty())
        << "headless Chromium not found (CSML_CHROMIUM, or chromium on PATH); "
           "scripts/install-deps.sh installs the Debian package `chromium`";
  }

  // Runs Chromium on `url` with the given extra flags; output and log in one file.
  RunResult Chromium(const std::string& name, const std::string& url,
                     const std::vector<std::string>& extra) {
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
    args.push_back(url);
    return testing::Run(chromium_, args, store_->dir().Join("chromium-" + name + ".log"),
                        kBrowserTimeout);
  }

  static std::string ReportUrl() { return "file://" + store_->dir().Join("report/report.html"); }

  static inline TrainedStore* store_ = nullptr;
  static inline std::string* report_output_ = nullptr;
  static inline int report_exit_ = -1;
  std::string chromium_;
};

TEST_F(ReportBrowserTest, ScreenshotsTheReportWithNoConsoleMessage) {
  const std::string png = store_->dir().Join("report.png");
  const RunResult r =
      Chromium("screenshot", ReportUrl(), {"--screenshot=" + png, "--window-size=1280,4000"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ConsoleLines(r.output), std::vector<std::string>{}) << r.output;

  ASSERT_TRUE(std::filesystem::exists(png)) << r.output;
  const std::string bytes = ReadWholeFile(png);
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(BigEndian32(bytes, 16), 1280u);
  EXPECT_EQ(BigEndian32(bytes, 20), 4000u);
  // A page of nine charts and four tables compresses to far more than a blank page (~20 KB).
  EXPECT_GT(bytes.size(), 150'000u);
  // Kept for people: look at it after a run.
  std::error_code ec;
  std::filesystem::copy_file(png, std::filesystem::path(CSML_BROWSER_ARTIFACT_DIR) / "report.png",
                             std::filesystem::copy_options::overwrite_existing, ec);
  std::filesystem::copy_file(store_->dir().Join("report/report.html"),
                             std::filesystem::path(CSML_BROWSER_ARTIFACT_DIR) / "report.html",
                             std::filesystem::copy_options::overwrite_existing, ec);
}

TEST_F(ReportBrowserTest, TheBrowsersDomHoldsEveryChartWithData) {
  const RunResult r = Chromium("dom", ReportUrl(), {"--dump-dom"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ConsoleLines(r.output), std::vector<std::string>{}) << r.output;
  const std::string& dom = r.output;
  ASSERT_NE(dom.find("id=\"verdict\""), std::string::npos) << dom.substr(0, 2000);
  static const std::regex kPoints("data-points=\"([0-9]+)\"");
  for (const std::string_view id : kReportChartIds) {
    const std::size_t at = dom.find("<svg id=\"" + std::string(id) + "\"");
    ASSERT_NE(at, std::string::npos) << id;
    const std::size_t end = dom.find("</svg>", at);
    ASSERT_NE(end, std::string::npos) << id;
    const std::string svg = dom.substr(at, end - at);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(svg, m, kPoints)) << id;
    EXPECT_GT(std::stoi(m[1]), 0) << id;
    std::size_t marks = 0;
    for (std::size_t p = svg.find("class=\"mark\""); p != std::string::npos;
         p = svg.find("class=\"mark\"", p + 1)) {
      ++marks;
    }
    EXPECT_GT(marks, 0u) << id;
    EXPECT_NE(svg.find("class=\"chart-title\""), std::string::npos) << id;
    EXPECT_NE(svg.find("class=\"axis-title\""), std::string::npos) << id;
    EXPECT_NE(svg.find("class=\"legend\""), std::string::npos) << id;
  }
}

// The console check above must be able to fail: the same browser logs a page that breaks the
// report's Content-Security-Policy (an external image) and one with a script error.
TEST_F(ReportBrowserTest, TheConsoleCheckSeesABlockedLoadAndAScriptError) {
  const std::string page = store_->dir().Join("bad.html");
  WriteFile(page,
            "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" "
            "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
            "<img src=\"http://192.0.2.1/x.png\"><script>undefined_function();</script>"
            "</body></html>");
  const RunResult r = Chromium("bad", "file://" + page, {"--dump-dom"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(ConsoleLines(r.output).size(), 2u) << r.output;
}

}  // namespace
}  // namespace csml::integration
