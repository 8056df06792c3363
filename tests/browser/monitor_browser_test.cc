// GET /monitor in a real browser: a `csml serve` whose version has a reference profile, some
// scored requests, and headless Chromium (Debian's, driven by npm playwright-core through
// tests/browser/monitor_browser.mjs) that loads the page and waits until every panel is drawn
// from /monitor.json, with a screenshot, no console message and no request to another origin.
//
// Label "browser": run alone with `ctest -L browser`. Bounded: the script stops itself after
// 90 s and the test kills it after 120 s.
#include <array>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/evaluation/reference_profile.h"
#include "find_chromium.h"
#include "serve_fixture.h"

namespace csml::integration {
namespace {

// A profile of a synthetic customer base (the page only draws it).
ReferenceProfile SyntheticProfile() {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  std::array<std::vector<double>, kNumNumericFeatures> numeric;
  std::vector<Region> regions;
  std::vector<double> risk;
  for (int i = 0; i < 5000; ++i) {
    for (std::size_t k = 0; k < kNumNumericFeatures; ++k)
      numeric[k].push_back(std::floor(u(rng) * 20));
    numeric[static_cast<std::size_t>(NumericFeature::kUsageScore)].back() = u(rng);
    regions.push_back(static_cast<Region>(rng() % kNumKnownRegions));
    risk.push_back(u(rng) * u(rng));
  }
  return BuildReferenceProfile(numeric, regions, risk).value();
}

class MonitorBrowserTest : public e2e::ServedRegistryTest {};

TEST_F(MonitorBrowserTest, EveryPanelOfTheLivePageIsDrawnWithoutConsoleErrors) {
  const std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty())
      << "headless Chromium not found (CSML_CHROMIUM, or chromium on PATH); "
         "scripts/install-deps.sh installs the Debian package `chromium`";
  auto version = registry_->Publish(0, {}, SyntheticProfile());
  ASSERT_TRUE(version.has_value()) << version.error().message;
  ASSERT_TRUE(registry_->Promote(*version).has_value());
  ASSERT_NO_FATAL_FAILURE(Serve({"--drift-window", "1000"}));
  for (int i = 0; i < 20; ++i) {
    auto scored = e2e::Fetch(port(), e2e::PostJson("/score/batch", e2e::SeedBatchBody(10)));
    ASSERT_TRUE(scored.has_value());
    ASSERT_EQ(scored->status, 200);
  }
  const std::string screenshot =
      (std::filesystem::path(CSML_BROWSER_ARTIFACT_DIR) / "monitor.png").string();
  const testing::RunResult r =
      testing::Run(CSML_NODE,
                   {CSML_MONITOR_BROWSER_SCRIPT, CSML_NPM_MODULES, chromium,
                    "http://127.0.0.1:" + std::to_string(port()), screenshot},
                   dir_.Join("browser.log"), std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const std::size_t line = r.output.rfind("{\"ok\"");
  ASSERT_NE(line, std::string::npos) << r.output;
  simdjson::dom::parser parser;
  simdjson::dom::element seen;
  ASSERT_EQ(parser.parse(r.output.substr(line)).get(seen), simdjson::SUCCESS) << r.output;
  EXPECT_TRUE(seen["ok"].get_bool().value()) << r.output;
  EXPECT_EQ(seen["drawn"]["version"].get_string().value(), *version) << r.output;
  EXPECT_EQ(seen["seen"]["console"].get_array().size(), 0u) << r.output;
  EXPECT_EQ(seen["seen"]["foreignRequests"].get_array().size(), 0u) << r.output;
  // The page and at least one /monitor.json; nothing else is ever needed.
  EXPECT_GE(seen["seen"]["monitorJson"].get_int64().value(), 1) << r.output;
  EXPECT_TRUE(std::filesystem::exists(screenshot));
}

}  // namespace
}  // namespace csml::integration
