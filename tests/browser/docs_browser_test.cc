// GET /docs in a real browser: a `csml serve` with one version, and headless Chromium (Debian's,
// driven by npm playwright-core through tests/browser/docs_browser.mjs) that loads the page,
// sends the prefilled README request to POST /score from it and reads the answer in the DOM,
// with no console message and no request to another origin.
//
// Label "browser": run alone with `ctest -L browser`. Bounded: the script stops itself after
// 90 s and the test kills it after 120 s.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "find_chromium.h"
#include "serve_fixture.h"

namespace csml::integration {
namespace {

class DocsBrowserTest : public e2e::OneVersionServedTest {};

TEST_F(DocsBrowserTest, ThePrefilledScoreRequestIsSentFromThePageAndAnswered) {
  const std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty())
      << "headless Chromium not found (CSML_CHROMIUM, or chromium on PATH); "
         "scripts/install-deps.sh installs the Debian package `chromium`";
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  const std::string screenshot =
      (std::filesystem::path(CSML_BROWSER_ARTIFACT_DIR) / "docs.png").string();
  const testing::RunResult r =
      testing::Run(CSML_NODE,
                   {CSML_DOCS_BROWSER_SCRIPT, CSML_NPM_MODULES, chromium,
                    "http://127.0.0.1:" + std::to_string(port()), screenshot},
                   dir_.Join("browser.log"), std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // The script's last line says what the page showed.
  const std::size_t line = r.output.rfind("{\"ok\"");
  ASSERT_NE(line, std::string::npos) << r.output;
  simdjson::dom::parser parser;
  simdjson::dom::element seen;
  ASSERT_EQ(parser.parse(r.output.substr(line)).get(seen), simdjson::SUCCESS) << r.output;
  EXPECT_TRUE(seen["ok"].get_bool().value()) << r.output;
  EXPECT_EQ(seen["status"].get_string().value(), "200") << r.output;
  EXPECT_EQ(seen["answer"]["modelVersion"].get_string().value(), version_) << r.output;
  EXPECT_EQ(seen["seen"]["console"].get_array().size(), 0u) << r.output;
  EXPECT_EQ(seen["seen"]["foreignRequests"].get_array().size(), 0u) << r.output;
  // The page, its script and stylesheet, the bundle, the document and the score request.
  EXPECT_GE(seen["seen"]["requests"].get_int64().value(), 5) << r.output;
}

}  // namespace
}  // namespace csml::integration
