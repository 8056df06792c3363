// `csml validate` end to end: clean simulated data passes (exit 0), each kind of defect is
// caught and named (exit 1), a source that cannot be read is exit 2; from a file and from a
// running `csml cs-api`.
#include <chrono>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "cs_api_fixture.h"

namespace csml::integration {
namespace {

using testing::Environment;
using testing::ReadWholeFile;
using testing::RunResult;
using testing::TempDir;
using testing::UnusedPort;
using testing::WriteFile;

constexpr auto kTimeout = std::chrono::seconds(60);

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// Replaces the JSON value of `key` (the first occurrence) in one record line.
void SetValue(std::string* line, const std::string& key, const std::string& value) {
  const std::string needle = "\"" + key + "\":";
  const auto at = line->find(needle);
  if (at == std::string::npos) return;
  const auto from = at + needle.size();
  const auto to =
      line->find_first_of(",}", (*line)[from] == '"' ? line->find('"', from + 1) : from);
  line->replace(from, to - from, value);
}

// Removes `"key":value,` from one record line.
void RemoveKey(std::string* line, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const auto at = line->find(needle);
  if (at == std::string::npos) return;
  const auto comma = line->find(',', at);
  line->erase(at, comma + 1 - at);
}

bool IsLabeled(const std::string& line) { return line.find("\"label\":null") == std::string::npos; }

std::string SnapshotDay(const std::string& line) {
  const std::string needle = "\"snapshot_ts\":\"";
  return line.substr(line.find(needle) + needle.size(), 10);
}

struct Defect {
  std::string name;
  std::function<void(std::vector<std::string>*)> edit;
  std::vector<std::string> args;
  std::string kind;  // the finding the report must name
};

void PrintTo(const Defect& defect, std::ostream* os) { *os << defect.name; }

// Applies `f` to one record in `every` (labeled ones only when `labeled_only`).
std::function<void(std::vector<std::string>*)> EveryNth(std::size_t every,
                                                        std::function<void(std::string*)> f,
                                                        bool labeled_only = false) {
  return [=](std::vector<std::string>* lines) {
    std::size_t seen = 0;
    for (std::string& line : *lines) {
      if (labeled_only && !IsLabeled(line)) continue;
      if (seen++ % every == 0) f(&line);
    }
  };
}

class ValidateCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    clean_ = new std::string(Simulate(*dir_, "clean.jsonl", 150, 120));
  }
  static void TearDownTestSuite() {
    delete clean_;
    delete dir_;
  }
  void SetUp() override { ASSERT_FALSE(clean_->empty()) << "csml simulate failed"; }

  static RunResult Validate(const std::vector<std::string>& args, const Environment& env = {}) {
    std::vector<std::string> all = {"validate"};
    all.insert(all.end(), args.begin(), args.end());
    return testing::Run(CsmlBinary(), all,
                        dir_->Join("validate-" + std::to_string(++runs_) + ".log"), kTimeout, env);
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string* clean_ = nullptr;
  static inline int runs_ = 0;
};

TEST_F(ValidateCommandTest, CleanSimulatedDataPassesWithATable) {
  const RunResult r = Validate({"--input", *clean_});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* part :
       {"source:     file", "problems", "features", "labels", "coverage", "verdict: OK"}) {
    EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;
  }
}

TEST_F(ValidateCommandTest, JsonReportIsOneParsableDocument) {
  const RunResult r = Validate({"--input", *clean_, "--json", "--days", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.output).get(doc), simdjson::SUCCESS) << r.output;
  EXPECT_TRUE(doc["ok"].get_bool().value());
  EXPECT_EQ(doc["days"].get_int64().value(), 30);
  EXPECT_GT(doc["records"]["outside_window"].get_uint64().value(), 0u);
  EXPECT_GT(doc["labels"]["labeled"].get_uint64().value(), 100u);
}

TEST_F(ValidateCommandTest, QuietIsTheVerdictInOneLine) {
  const int run = ++runs_;
  const RunResult ok =
      testing::RunSplit(CsmlBinary(), {"validate", "--input", *clean_, "--quiet"},
                        dir_->Join("quiet-" + std::to_string(run) + ".out"),
                        dir_->Join("quiet-" + std::to_string(run) + ".err"), kTimeout);
  EXPECT_EQ(ok.exit_code, 0) << ok.output << ok.errors;
  EXPECT_EQ(ok.output.rfind("validate: OK: 0 errors", 0), 0u) << ok.output;
  EXPECT_NE(ok.output.find("records checked of"), std::string::npos) << ok.output;
  EXPECT_EQ(SplitLines(ok.output).size(), 1u) << ok.output;

  const RunResult blocked = testing::RunSplit(
      CsmlBinary(), {"validate", "--input", *clean_, "--quiet", "--min-labeled", "100000"},
      dir_->Join("quiet-" + std::to_string(run) + "b.out"),
      dir_->Join("quiet-" + std::to_string(run) + "b.err"), kTimeout);
  EXPECT_EQ(blocked.exit_code, 1) << blocked.output << blocked.errors;
  EXPECT_EQ(blocked.output.rfind("validate: FAIL: 1 error,", 0), 0u) << blocked.output;
  EXPECT_NE(blocked.output.find("first: error labels.too_few"), std::string::npos)
      << blocked.output;
  EXPECT_EQ(SplitLines(blocked.output).size(), 1u) << blocked.output;
}

class ValidateDefects : public ValidateCommandTest, public ::testing::WithParamInterface<Defect> {};

TEST_P(ValidateDefects, AreCaughtNamedAndBlockTraining) {
  std::vector<std::string> lines = SplitLines(ReadWholeFile(*clean_));
  ASSERT_GT(lines.size(), 1000u);
  GetParam().edit(&lines);
  const std::string path = dir_->Join(GetParam().name + ".jsonl");
  WriteFile(path, JoinLines(lines));
  std::vector<std::string> args = {"--input", path};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());

  const RunResult r = Validate(args);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error    " + GetParam().kind), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("verdict: FAIL"), std::string::npos) << r.output;
}

const auto kNoEdit = [](std::vector<std::string>*) {};

INSTANTIATE_TEST_SUITE_P(Kinds, ValidateDefects,
                         ::
                             testing::Values(Defect{"OutOfRange",
                                                    EveryNth(40,
                                                             [](std::string* l) {
                                                               SetValue(l, "usage_score", "1.5");
                                                             }),
                                                    {},
                                                    "schema.out_of_range"},
                                             Defect{"WrongType",
                                                    EveryNth(40,
                                                             [](std::string* l) {
                                                               SetValue(l, "activity_7d", "\"7\"");
                                                             }),
                                                    {},
                                                    "schema.wrong_type"},
                                             Defect{"NotRfc3339",
                                                    EveryNth(40,
                                                             [](std::string* l) {
                                                               SetValue(l, "snapshot_ts",
                                                                        "\"2025-04-01 10:00:00\"");
                                                             }),
                                                    {},
                                                    "schema.bad_time"},
                                             Defect{"MissingRequiredField",
                                                    EveryNth(40,
                                                             [](std::string* l) {
                                                               RemoveKey(l, "plan_value");
                                                             }),
                                                    {},
                                                    "schema.missing_field"},
                                             Defect{"NotAnObject",
                                                    EveryNth(40,
                                                             [](std::string* l) {
                                                               *l = "\"not a record\"";
                                                             }),
                                                    {},
                                                    "schema.not_an_object"},
                                             Defect{"LabelNotBinary",
                                                    EveryNth(
                                                        40,
                                                        [](std::string* l) {
                                                          SetValue(l, "label", "2");
                                                        },
                                                        true),
                                                    {},
                                                    "labels.bad_value"},
                                             Defect{"LabelBeforeSnapshot",
                                                    EveryNth(
                                                        40,
                                                        [](std::string* l) {
                                                          SetValue(l, "label_ts",
                                                                   "\"2000-01-01T00:00:00Z\"");
                                                        },
                                                        true),
                                                    {},
                                                    "labels.label_ts_not_after_snapshot"},
                                             Defect{
                                                 "MostlyMissing",
                                                 [](std::vector<std::string>* lines) {
                                                   for (std::size_t i = 0; i < lines->size(); ++i) {
                                                     if (i % 5 < 3)
                                                       SetValue(&(*lines)[i], "plan_value", "null");
                                                   }
                                                 },
                                                 {},
                                                 "data.missing"},
                                             Defect{
                                                 "UnknownRegions",
                                                 [](std::vector<std::string>* lines) {
                                                   for (std::size_t i = 0; i < lines->size(); ++i) {
                                                     if (i % 5 < 3)
                                                       SetValue(&(*lines)[i], "region", "\"BR\"");
                                                   }
                                                 },
                                                 {},
                                                 "data.unknown_region"},
                                             Defect{"Duplicates",
                                                    [](std::vector<std::string>* lines) {
                                                      const std::size_t n = lines->size();
                                                      for (std::size_t i = 0; i < n; i += 20)
                                                        lines->push_back((*lines)[i]);
                                                    },
                                                    {},
                                                    "data.duplicates"},
                                             Defect{"LabelsNotMature",
                                                    kNoEdit,
                                                    {"--as-of", "2025-05-10T00:00:00Z",
                                                     "--max-immature-rate", "0.1"},
                                                    "labels.not_mature"},
                                             Defect{"OneClass",
                                                    [](std::vector<std::string>* lines) {
                                                      for (std::string& l : *lines) {
                                                        if (l.find("\"label\":1") !=
                                                            std::string::npos)
                                                          SetValue(&l, "label", "0");
                                                      }
                                                    },
                                                    {},
                                                    "labels.class_missing"},
                                             Defect{"TooFewLabels",
                                                    kNoEdit,
                                                    {"--min-labeled", "100000"},
                                                    "labels.too_few"},
                                             Defect{"EmptyWeeks",
                                                    [](std::vector<std::string>* lines) {
                                                      std::vector<std::string> kept;
                                                      for (const std::string& l : *lines) {
                                                        const std::string day = SnapshotDay(l);
                                                        if (day < "2025-04-01" ||
                                                            day >= "2025-04-29")
                                                          kept.push_back(l);
                                                      }
                                                      *lines = kept;
                                                    },
                                                    {},
                                                    "time.empty_weeks"},
                                             Defect{"Stale",
                                                    kNoEdit,
                                                    {"--as-of", "2025-08-01T00:00:00Z"},
                                                    "time.stale"}),
                         [](const ::testing::TestParamInfo<Defect>& param_info) {
                           return param_info.param.name;
                         });

TEST_F(ValidateCommandTest, WithTheCsApiRunningItReadsFromTheApiByDefault) {
  // Data that ends today, as `csml simulate` makes it for a demo.
  const std::string today = Simulate(*dir_, "today.json", 120, 100, /*fixed_end=*/false);
  ASSERT_FALSE(today.empty());
  CsApiProcess api(*dir_, today, {"--fault-fail-first", "1"});
  ASSERT_TRUE(api.ok()) << api.log();
  const Environment env = {{"CS_FEATURES_URL", api.url()}, {"TENANT_ID", kTenant}};
  const RunResult r = Validate({"--backoff-ms", "10"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("source:     GET " + api.url() + "?days=90 (HTTP 200 after 2 attempts"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("verdict: OK"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(kTenant), std::string::npos) << "the tenant id leaked:\n" << r.output;
}

// stdout carries the report only: the client's retry notice goes to stderr, so the JSON of
// a fetch that needed a retry still parses.
TEST_F(ValidateCommandTest, JsonFromTheCsApiAfterARetryStaysParsable) {
  CsApiProcess api(*dir_, *clean_, {"--fault-fail-first", "1"});
  ASSERT_TRUE(api.ok()) << api.log();
  const int run = ++runs_;
  const RunResult r =
      testing::RunSplit(CsmlBinary(),
                        {"validate", "--json", "--url", api.url(), "--tenant", kTenant, "--as-of",
                         kAsOf, "--backoff-ms", "10"},
                        dir_->Join("split-" + std::to_string(run) + ".out"),
                        dir_->Join("split-" + std::to_string(run) + ".err"), kTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.output << r.errors;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.output).get(doc), simdjson::SUCCESS) << r.output;
  EXPECT_TRUE(doc["ok"].get_bool().value()) << r.output;
  const std::string_view source = doc["source"].get_string().value();
  EXPECT_NE(source.find("HTTP 200 after 2 attempts"), std::string_view::npos) << source;
  EXPECT_NE(r.errors.find("attempt 1 failed: HTTP 503"), std::string::npos) << r.errors;
  EXPECT_EQ(r.output.find("attempt 1 failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.errors.find(kTenant), std::string::npos) << "the tenant id leaked:\n" << r.errors;
}

// An input without a single record cannot be validated: "no records", exit 2, and no report
// (which would have no as-of time to show but 1970-01-01).
TEST_F(ValidateCommandTest, AnEmptyFileIsNoRecordsAndExit2) {
  for (const char* text : {"", "[]", "[ ]\n", "\n\n"}) {
    const std::string path = dir_->Join("empty-" + std::to_string(++runs_) + ".json");
    WriteFile(path, text);
    const RunResult r = Validate({"--input", path, "--json"});
    EXPECT_EQ(r.exit_code, 2) << "'" << text << "': " << r.output;
    EXPECT_NE(r.output.find(path + ": no records"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("1970"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("\"ok\""), std::string::npos) << r.output;
  }
}

TEST_F(ValidateCommandTest, AnEmptyCsApiAnswerIsNoRecordsAndExit2) {
  const std::string path = dir_->Join("empty-api.json");
  WriteFile(path, "[]");
  CsApiProcess api(*dir_, path, {});
  ASSERT_TRUE(api.ok()) << api.log();
  EXPECT_EQ(api.log().find("1970"), std::string::npos) << api.log();
  const RunResult r = Validate({"--url", api.url(), "--tenant", kTenant, "--days", "30"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no records: the CS API answered with no snapshots for the last 30 days"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("verdict"), std::string::npos) << r.output;
}

TEST_F(ValidateCommandTest, ASourceThatIsDownIsExit2) {
  const std::string url =
      "http://127.0.0.1:" + std::to_string(UnusedPort()) + "/customers/features/public";
  const RunResult r = Validate({"--url", url, "--retries", "1", "--backoff-ms", "5"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is the CS API running?"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(url), std::string::npos) << r.output;
}

TEST_F(ValidateCommandTest, AnApiRefusingTheTenantIsExit2) {
  CsApiProcess api(*dir_, *clean_, {});
  ASSERT_TRUE(api.ok()) << api.log();
  const RunResult r = Validate({"--url", api.url(), "--tenant", "not-mine"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("HTTP 403"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("not-mine"), std::string::npos) << r.output;
}

TEST_F(ValidateCommandTest, ATruncatedApiBodyIsExit2) {
  CsApiProcess api(*dir_, *clean_, {"--fault-truncate"});
  ASSERT_TRUE(api.ok()) << api.log();
  const RunResult r =
      Validate({"--url", api.url(), "--tenant", kTenant, "--retries", "1", "--backoff-ms", "5"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cut short"), std::string::npos) << r.output;
}

TEST_F(ValidateCommandTest, AFileThatCannotBeReadIsExit2) {
  const RunResult r = Validate({"--input", dir_->Join("no-such-file.json")});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no-such-file.json"), std::string::npos) << r.output;
}

TEST_F(ValidateCommandTest, MalformedJsonIsExit2) {
  const std::string path = dir_->Join("malformed.json");
  WriteFile(path, "[{\"userId\": \"a\", ");
  const RunResult r = Validate({"--input", path});
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace csml::integration
