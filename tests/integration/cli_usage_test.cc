// The command line as a new user meets it, through the real binary: bad usage is exit 2 with
// "csml: " first, the usage line of the command and a "did you mean" for a near miss, all on
// stderr; --help names the exit codes; CSML_LOG_LEVEL is checked; `csml serve` says when its
// model dir does not exist. The near-miss rule itself is tested here too, on the names csml has.
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cs_api_fixture.h"
#include "testing/child_process.h"
#include "testing/files.h"
#include "usage_error.h"

namespace csml::integration {
namespace {

using testing::ChildProcess;
using testing::Environment;
using testing::ReadWholeFile;
using testing::RunResult;
using testing::TempDir;
using testing::WriteFile;

constexpr auto kTimeout = std::chrono::seconds(30);

class CliUsageTest : public ::testing::Test {
 protected:
  RunResult Csml(const std::vector<std::string>& args, const Environment& env = {}) {
    const std::string base = dir_.Join("run-" + std::to_string(++runs_));
    return testing::RunSplit(CsmlBinary(), args, base + ".out", base + ".err", kTimeout, env);
  }

  // Exit 2, nothing on stdout, and stderr made of "csml: MESSAGE", the usage line of
  // `command` and the pointer to its --help.
  void ExpectUsageError(const RunResult& r, const std::string& command,
                        const std::string& message) {
    EXPECT_EQ(r.exit_code, 2) << r.errors;
    EXPECT_EQ(r.output, "") << "stdout is for a command's output only";
    EXPECT_EQ(r.errors.rfind("csml: " + message + "\n", 0), 0u) << r.errors;
    EXPECT_NE(r.errors.find("\nUsage: " + command + " "), std::string::npos) << r.errors;
    EXPECT_NE(r.errors.find("Run '" + command + " --help' for more."), std::string::npos)
        << r.errors;
  }

  TempDir dir_;
  int runs_ = 0;
};

TEST(EditDistance, CountsInsertsDeletesSubstitutionsAndSwaps) {
  EXPECT_EQ(cli::EditDistance("", ""), 0u);
  EXPECT_EQ(cli::EditDistance("json", "json"), 0u);
  EXPECT_EQ(cli::EditDistance("jsn", "json"), 1u);
  EXPECT_EQ(cli::EditDistance("jsoon", "json"), 1u);
  EXPECT_EQ(cli::EditDistance("jsan", "json"), 1u);
  EXPECT_EQ(cli::EditDistance("prot", "port"), 1u);
  EXPECT_EQ(cli::EditDistance("", "abc"), 3u);
  EXPECT_EQ(cli::EditDistance("kitten", "sitting"), 3u);
}

TEST(NearestName, SuggestsOnlyLikelyTypos) {
  const std::vector<std::string> flags = {
      "--input", "--days", "--as-of", "--json", "--max-invalid-rate", "--max-missing-rate"};
  EXPECT_EQ(cli::NearestName("--jsno", flags), "--json");
  EXPECT_EQ(cli::NearestName("--dyas", flags), "--days");
  EXPECT_EQ(cli::NearestName("--inptu", flags), "--input");
  // Too far from everything, or too short for two edits to mean anything.
  EXPECT_EQ(cli::NearestName("--zebra", flags), "");
  EXPECT_EQ(cli::NearestName("--x", flags), "");
  // The start of one flag, but not of two.
  EXPECT_EQ(cli::NearestName("--max-inv", flags), "--max-invalid-rate");
  EXPECT_EQ(cli::NearestName("--max", flags), "");
  EXPECT_EQ(cli::NearestName("--", flags), "");
}

TEST_F(CliUsageTest, AnUnknownCommandSuggestsTheNearestOne) {
  ExpectUsageError(Csml({"valdate", "--json"}), "csml",
                   "unknown command 'valdate'; did you mean validate?");
  ExpectUsageError(Csml({"models", "lst"}), "csml models",
                   "models: unknown command 'lst'; did you mean list?");
  ExpectUsageError(Csml({"help"}), "csml", "unknown command 'help'; did you mean --help?");
}

TEST_F(CliUsageTest, AnUnknownFlagSuggestsTheNearestFlagOfTheCommand) {
  ExpectUsageError(Csml({"validate", "--jsn"}), "csml validate",
                   "validate: unknown flag --jsn; did you mean --json?");
  // Two letters swapped is one edit.
  ExpectUsageError(Csml({"serve", "--prot", "8000"}), "csml serve",
                   "serve: unknown flag --prot; did you mean --port?");
  // A flag of the parent command counts: --model-dir belongs to `csml models`.
  ExpectUsageError(Csml({"models", "import", "m.txt", "--model-dri", "d"}), "csml models import",
                   "models import: unknown flag --model-dri; did you mean --model-dir?");
  // The start of exactly one flag.
  ExpectUsageError(Csml({"validate", "--max-invalid=0.1"}), "csml validate",
                   "validate: unknown flag --max-invalid; did you mean --max-invalid-rate?");
}

TEST_F(CliUsageTest, AFlagNearNothingHasNoSuggestion) {
  const RunResult r = Csml({"validate", "--zebra"});
  ExpectUsageError(r, "csml validate", "validate: unknown flag --zebra");
  EXPECT_EQ(r.errors.find("did you mean"), std::string::npos) << r.errors;
  // A flag of another command is not a near miss of this one.
  ExpectUsageError(Csml({"simulate", "--model-dir", "x"}), "csml simulate",
                   "simulate: unknown flag --model-dir");
}

TEST_F(CliUsageTest, AMalformedOrMissingValueNamesTheFlagAndWhatItExpects) {
  ExpectUsageError(Csml({"validate", "--days", "abc"}), "csml validate",
                   "validate: --days: expected a whole number, got 'abc'");
  ExpectUsageError(Csml({"validate", "--max-invalid-rate", "lots"}), "csml validate",
                   "validate: --max-invalid-rate: expected a number, got 'lots'");
  ExpectUsageError(Csml({"validate", "--days"}), "csml validate",
                   "validate: --days: expected a whole number after it, got nothing");
  ExpectUsageError(Csml({"validate", "extra"}), "csml validate",
                   "validate: unexpected argument 'extra'");
}

TEST_F(CliUsageTest, AMissingRequiredFlagOrCommandIsExit2) {
  ExpectUsageError(Csml({"cs-api"}), "csml cs-api", "cs-api: --data is required");
  ExpectUsageError(Csml({}), "csml",
                   "expected a command: simulate, train, models, serve, cs-api, validate, "
                   "predict, test, monitor");
  ExpectUsageError(Csml({"models"}), "csml models",
                   "models: expected a command: list, show, promote, rollback, gc, tenants, "
                   "shadow, canary, import");
}

TEST_F(CliUsageTest, FlagsThatCannotBeGivenTogetherAreNamed) {
  ExpectUsageError(Csml({"validate", "--json", "--quiet"}), "csml validate",
                   "validate: --json and --quiet cannot be given together");
}

TEST_F(CliUsageTest, ANegativeValueForAnUnsignedFlagIsRefused) {
  // CLI11 alone would read -1 as 2^64 - 1.
  ExpectUsageError(Csml({"simulate", "--customers", "3", "--days", "2", "--seed", "-1", "--out",
                         dir_.Join("x.jsonl")}),
                   "csml simulate", "simulate: --seed: expected a whole number >= 0, got '-1'");
  ExpectUsageError(Csml({"validate", "--min-labeled", "-5"}), "csml validate",
                   "validate: --min-labeled: expected a whole number >= 0, got '-5'");
}

// A value the options refuse after parsing is an error of the command (exit 2) that names the
// flag or the variable the user set, not the field of an options struct.
TEST_F(CliUsageTest, AValueOutOfRangeNamesTheFlagOrVariable) {
  const std::string data = dir_.Join("data.jsonl");
  WriteFile(data, "");
  struct Case {
    std::vector<std::string> args;
    Environment env;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"serve", "--port", "70000"},
       {},
       "csml serve: error: --port: expected 0 to 65535, got 70000"},
      {{"serve", "--reload-interval-ms", "-5"},
       {},
       "csml serve: error: --reload-interval-ms: expected 0 (off) to"},
      {{"serve", "--access-log", "file"},
       {},
       "csml serve: error: --access-log (or CSML_ACCESS_LOG): expected off, stdout or stderr, got "
       "'file'"},
      {{"serve", "--access-log-sample", "0"},
       {},
       "csml serve: error: --access-log-sample (or CSML_ACCESS_LOG_SAMPLE): expected 1 to"},
      {{"serve"},
       {{"CSML_SCORE_TOKEN", "abcde"}},
       "csml serve: error: CSML_SCORE_TOKEN: expected 16 to 256 characters from letters, digits "
       "and -._~+/ (optionally ending in =), got 5 characters\n"},
      {{"serve"},
       {{"CSML_SCORE_TOKEN", "a token with spaces"}},
       "got 19 characters, some outside that set or '=' before the end\n"},
      {{"cs-api", "--data", data, "--fault-status", "200"},
       {},
       "csml cs-api: error: --fault-status: expected 400-599, got 200"},
      {{"cs-api", "--data", data, "--threads", "-1"},
       {},
       "csml cs-api: error: --threads: expected 0 (one per core) to"},
      {{"validate", "--input", data, "--max-invalid-rate", "2"},
       {},
       "csml validate: error: --max-invalid-rate: expected a share in [0, 1], got 2"},
      {{"validate", "--input", data, "--warn-missing-rate", "0.5", "--max-missing-rate", "0.2"},
       {},
       "csml validate: error: --warn-missing-rate 0.5 is above --max-missing-rate 0.2"},
      {{"validate", "--retries", "50"}, {}, "csml validate: error: --retries: expected 0 to 19"},
      {{"validate", "--max-response-mb", "0"},
       {},
       "csml validate: error: --max-response-mb: expected 1 to"},
      {{"validate", "--url", "ftp://host/x"},
       {},
       "csml validate: error: --url (or CS_FEATURES_URL): expected an http:// or https:// URL"},
      {{"simulate", "--customers", "0", "--days", "2", "--seed", "1", "--out", dir_.Join("s.json")},
       {},
       "csml simulate: error: --customers: expected a whole number >= 1, got 0"},
      {{"models", "import", data, "--thresholds", "0.9,0.1", "--model-dir", dir_.Join("m")},
       {},
       "csml models import: error: --thresholds: expected medium <= high"},
  };
  for (const Case& c : cases) {
    const RunResult r = Csml(c.args, c.env);
    EXPECT_EQ(r.exit_code, 2) << c.args.front() << ": " << r.errors;
    EXPECT_NE(r.errors.find(c.error), std::string::npos) << c.error << "\n" << r.errors;
    EXPECT_EQ(r.output, "");
  }
}

TEST_F(CliUsageTest, HelpAndVersionAreExit0OnStdoutAndNameTheExitCodes) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"validate", "--help"}, {"models", "import", "-h"}}) {
    const RunResult r = Csml(args);
    EXPECT_EQ(r.exit_code, 0) << r.errors;
    EXPECT_NE(r.output.find("Exit status: 0 ok; 1 a check failed"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("2 could not run (bad usage"), std::string::npos) << r.output;
    EXPECT_EQ(r.errors, "");
  }
  const RunResult version = Csml({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output.rfind("csml ", 0), 0u) << version.output;
}

TEST_F(CliUsageTest, AnUnknownLogLevelIsExit2NamingTheVariableAndTheChoices) {
  const RunResult r =
      Csml({"models", "list", "--model-dir", dir_.Join("none")}, {{"CSML_LOG_LEVEL", "verbose"}});
  EXPECT_EQ(r.exit_code, 2) << r.errors;
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(r.errors,
            "csml: CSML_LOG_LEVEL: expected one of trace, debug, info, warn, error, off, got "
            "'verbose'\n");
}

TEST_F(CliUsageTest, AKnownLogLevelIsUsed) {
  const std::string out = dir_.Join("s.jsonl");
  const std::vector<std::string> args = {"simulate", "--customers", "3",     "--days", "2",
                                         "--seed",   "1",           "--out", out};
  const RunResult quiet = Csml(args, {{"CSML_LOG_LEVEL", "off"}});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.errors;
  EXPECT_NE(quiet.output.find("simulate: "), std::string::npos) << quiet.output;
  EXPECT_EQ(quiet.errors, "");
}

// `csml serve` with a MODEL_DIR that does not exist starts (503 until a model is published)
// and says why in its log, on stderr; stdout holds the access log alone.
TEST_F(CliUsageTest, ServeSaysWhenTheModelDirDoesNotExist) {
  const std::string missing = dir_.Join("no-such-registry");
  const std::string out = dir_.Join("serve.out");
  const std::string err = dir_.Join("serve.err");
  auto serve = ChildProcess::Start(
      CsmlBinary(), {"serve", "--host", "127.0.0.1", "--port", "0", "--threads", "1"}, out,
      {{"MODEL_DIR", missing}, {"CSML_ACCESS_LOG", "stdout"}}, err);
  ASSERT_TRUE(serve) << serve.error().message;
  const auto port = testing::WaitForListeningPort(*serve, err, kTimeout);
  ASSERT_TRUE(port) << port.error().message << ReadWholeFile(err);
  EXPECT_EQ(testing::HttpGet(*port, "/readyz", {}).status, 503);
  EXPECT_EQ(serve->Stop(std::chrono::seconds(5)), 0);
  const std::string log = ReadWholeFile(err);
  EXPECT_NE(log.find("model dir " + missing +
                     " does not exist (--model-dir or MODEL_DIR); "
                     "serving without a model (503) until one is published"),
            std::string::npos)
      << log;
  const std::string access = ReadWholeFile(out);
  EXPECT_NE(access.find(R"("route":"/readyz","status":503)"), std::string::npos) << access;
  std::istringstream lines(access);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.rfind("{", 0), 0u) << "not an access log line on stdout: " << line;
  }
}

}  // namespace
}  // namespace csml::integration
