#include "csml/validation/data_validator.h"

#include <algorithm>
#include <cmath>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/data/snapshot_writer.h"
#include "csml/simulate/simulator.h"

namespace csml {
namespace {

constexpr UnixSeconds kEnd = 1748736000;  // 2025-06-01T00:00:00Z
constexpr UnixSeconds kDay = kSecondsPerDay;

// Clean simulated data as JSON Lines, one string per record, so tests can replace records.
std::vector<std::string> CleanLines(std::size_t customers = 200, int days = 120) {
  SimulatorOptions options;
  options.customers = customers;
  options.days = days;
  options.seed = 11;
  options.end = kEnd;
  const std::vector<Snapshot> records = SimulateSnapshots(options).value();
  const std::string text = SerializeSnapshots(records, SnapshotFormat::kJsonLines);
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

SnapshotBatch Parse(const std::vector<std::string>& lines) {
  SnapshotReadOptions read;
  read.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  read.max_problems_kept = 1'000'000;
  return ParseSnapshots(Join(lines), read).value();
}

// A record with every field given as JSON text; tests override one field to break it.
struct RecordText {
  std::string user_id = "\"defect\"";
  std::string snapshot_ts = "\"2025-04-01T00:00:00Z\"";
  std::string activity_7d = "3";
  std::string usage_score = "0.5";
  std::string region = "\"US\"";
  std::string label = "0";
  std::string label_ts = "\"2025-05-01T00:00:00Z\"";

  std::string Json() const {
    return fmt::format(
        R"({{"userId":{},"snapshot_ts":{},"features":{{"activity_7d":{},"activity_30d":9,)"
        R"("time_since_last_use_days":1,"failed_renewals_30d":0,"tickets_7d":0,"tickets_30d":0,)"
        R"("plan_value":100,"usage_score":{},"region":{}}},"label":{},"label_ts":{}}})",
        user_id, snapshot_ts, activity_7d, usage_score, region, label, label_ts);
  }
};

ValidationReport Check(const std::vector<std::string>& lines, ValidationOptions options = {}) {
  return ValidateSnapshots(Parse(lines), options).value();
}

const Finding* FindKind(const ValidationReport& report, std::string_view kind,
                        std::string_view field = {}) {
  for (const Finding& f : report.findings) {
    if (f.kind == kind && (field.empty() || f.field == field)) return &f;
  }
  return nullptr;
}

std::string Describe(const ValidationReport& report) { return RenderValidationText(report); }

TEST(DataValidator, CleanSimulatedDataCanBeTrainedOn) {
  const ValidationReport report = Check(CleanLines());
  EXPECT_FALSE(report.BlocksTraining()) << Describe(report);
  EXPECT_EQ(report.errors(), 0u) << Describe(report);
  EXPECT_EQ(report.records_invalid, 0u);
  EXPECT_GT(report.labels.labeled, 1000u);
  EXPECT_GT(report.labels.unlabeled, 0u);  // the simulator's pending outcomes
  EXPECT_EQ(report.labels.immature, 0u);
  EXPECT_EQ(report.duplicates, 0u);
  EXPECT_EQ(report.as_of, kEnd);
  EXPECT_GT(report.labels.positive_rate, 0.03);
  EXPECT_LT(report.labels.positive_rate, 0.4);
  ASSERT_EQ(report.features.size(), kNumNumericFeatures + 1);
  EXPECT_EQ(report.features.back().name, "region");
  EXPECT_EQ(report.features[7].name, "usage_score");
  EXPECT_GE(report.features[7].min, 0.0);
  EXPECT_LE(report.features[7].max, 1.0);
  EXPECT_FALSE(report.weeks.empty());
  EXPECT_LT(report.newest_age_days, 7.0);
}

// One schema defect per row: the record text, the kind and field the report must name.
struct SchemaDefect {
  std::string name;
  RecordText record;
  std::string kind;
  std::string field;
};

void PrintTo(const SchemaDefect& defect, std::ostream* os) { *os << defect.name; }

RecordText With(void (*edit)(RecordText*)) {
  RecordText r;
  edit(&r);
  return r;
}

class SchemaDefects : public ::testing::TestWithParam<SchemaDefect> {};

TEST_P(SchemaDefects, AreCountedByKindWithExampleRecordNumbersAndBlockTraining) {
  std::vector<std::string> lines = CleanLines();
  std::vector<std::size_t> broken;  // one record in 50: 2%, above the 1% default
  for (std::size_t i = 3; i < lines.size(); i += 50) broken.push_back(i);
  for (std::size_t i : broken) lines[i] = GetParam().record.Json();

  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, GetParam().kind, GetParam().field);
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->count, broken.size());
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_EQ(f->examples, (std::vector<std::size_t>{3, 53, 103, 153, 203}));
  EXPECT_TRUE(report.BlocksTraining());
  EXPECT_NE(Describe(report).find(GetParam().kind), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, SchemaDefects,
    ::testing::Values(
        SchemaDefect{"OutOfRange", With([](RecordText* r) { r->usage_score = "1.5"; }),
                     "schema.out_of_range", "features.usage_score"},
        SchemaDefect{"Negative", With([](RecordText* r) { r->activity_7d = "-2"; }),
                     "schema.out_of_range", "features.activity_7d"},
        SchemaDefect{"WrongType", With([](RecordText* r) { r->activity_7d = "\"7\""; }),
                     "schema.wrong_type", "features.activity_7d"},
        SchemaDefect{"NotRfc3339", With([](RecordText* r) { r->snapshot_ts = "\"2025-04-01\""; }),
                     "schema.bad_time", "snapshot_ts"},
        SchemaDefect{"TimeNotAString", With([](RecordText* r) { r->snapshot_ts = "1743465600"; }),
                     "schema.wrong_type", "snapshot_ts"},
        SchemaDefect{"EmptyUserId", With([](RecordText* r) { r->user_id = "\"\""; }),
                     "schema.empty_user_id", "userId"},
        SchemaDefect{"LabelNotBinary", With([](RecordText* r) { r->label = "2"; }),
                     "labels.bad_value", "label"},
        SchemaDefect{"LabelBeforeSnapshot",
                     With([](RecordText* r) { r->label_ts = "\"2025-03-01T00:00:00Z\""; }),
                     "labels.label_ts_not_after_snapshot", "label_ts"},
        SchemaDefect{"LabelWithoutTime", With([](RecordText* r) { r->label_ts = "null"; }),
                     "labels.missing_label_ts", "label_ts"}),
    [](const ::testing::TestParamInfo<SchemaDefect>& param_info) { return param_info.param.name; });

TEST(DataValidator, ReportsAMissingRequiredField) {
  std::vector<std::string> lines = CleanLines();
  lines[5] = R"({"userId":"x","features":{}})";
  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "schema.missing_field", "snapshot_ts");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->examples, (std::vector<std::size_t>{5}));
  // The summary names the field (the reader's own message does not).
  EXPECT_EQ(f->summary, "required field snapshot_ts is missing");
}

TEST(DataValidator, TheSummaryOfAMissingFeatureNamesIt) {
  std::vector<std::string> lines = CleanLines();
  const auto at = lines[3].find(R"("plan_value":)");
  ASSERT_NE(at, std::string::npos) << lines[3];
  lines[3].erase(at, lines[3].find(',', at) + 1 - at);
  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "schema.missing_field", "features.plan_value");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->summary, "required field features.plan_value is missing");
}

TEST(DataValidator, TheSummaryOfARepeatedKeyNamesIt) {
  std::vector<std::string> lines = CleanLines();
  const auto at = lines[4].find(R"("features":{)");
  ASSERT_NE(at, std::string::npos) << lines[4];
  lines[4].insert(at + std::string(R"("features":{)").size(), R"("tickets_7d":1,)");
  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "schema.repeated_key", "features.tickets_7d");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->summary, "key features.tickets_7d given more than once");
}

TEST(DataValidator, AFewInvalidRecordsUnderTheThresholdAreAWarning) {
  std::vector<std::string> lines = CleanLines();
  RecordText bad;
  bad.usage_score = "7";
  lines[10] = bad.Json();
  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "schema.out_of_range");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_FALSE(report.BlocksTraining()) << Describe(report);

  ValidationOptions strict;
  strict.max_invalid_rate = 0.0;
  EXPECT_TRUE(Check(lines, strict).BlocksTraining());
}

TEST(DataValidator, RecordNumbersOfDatasetFindingsCountInvalidRecordsBefore) {
  std::vector<std::string> lines = CleanLines();
  lines[0] = "{}";      // invalid: shifts the valid records by one
  lines[2] = lines[1];  // a duplicate at input position 2
  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "data.duplicates");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->examples, (std::vector<std::size_t>{2}));
}

TEST(DataValidator, DuplicatesAboveTheThresholdBlockTraining) {
  std::vector<std::string> lines = CleanLines();
  const std::size_t n = lines.size();
  for (std::size_t i = 0; i < n / 20; ++i) lines.push_back(lines[i]);  // 5% repeated
  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "data.duplicates");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->count, n / 20);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_EQ(f->examples.front(), n);
  EXPECT_EQ(report.duplicates, n / 20);
}

TEST(DataValidator, AFeatureMostlyMissingIsAnError) {
  std::vector<std::string> lines = CleanLines();
  for (std::size_t i = 0; i < lines.size(); i += 3) {
    // Two records in three keep the value: 33% missing is a warning...
    const auto at = lines[i].find("\"plan_value\":");
    const auto end = lines[i].find(',', at);
    lines[i].replace(at, end - at, "\"plan_value\":null");
  }
  ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "data.missing", "features.plan_value");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_NEAR(report.features[6].missing_rate, 1.0 / 3.0, 0.05);

  // ... and an error when the threshold is below it.
  ValidationOptions strict;
  strict.max_missing_rate = 0.30;
  report = Check(lines, strict);
  f = FindKind(report, "data.missing", "features.plan_value");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_TRUE(report.BlocksTraining());
}

TEST(DataValidator, ManyUnknownRegionsAreAnError) {
  std::vector<std::string> lines = CleanLines();
  for (std::size_t i = 0; i < lines.size(); i += 2) {
    for (const char* region : {"\"US\"", "\"EU\"", "\"IN\"", "\"SG\"", "null"}) {
      const std::string from = std::string("\"region\":") + region;
      const auto at = lines[i].find(from);
      if (at != std::string::npos) lines[i].replace(at, from.size(), "\"region\":\"BR\"");
    }
  }
  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "data.unknown_region");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_GT(report.unknown_region, lines.size() / 2);
}

TEST(DataValidator, LabelsAfterTheAsOfTimeAreNotMature) {
  const std::vector<std::string> lines = CleanLines();
  ValidationOptions options;
  options.as_of = kEnd - 20 * kDay;
  const ValidationReport report = Check(lines, options);
  const Finding* f = FindKind(report, "labels.not_mature");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->count, report.labels.immature);
  EXPECT_GT(report.labels.immature, 0u);
  EXPECT_EQ(f->examples.size(), kMaxExamples);
  EXPECT_EQ(f->severity, Severity::kWarning);  // 20 of 120 days

  options.max_immature_rate = 0.05;
  EXPECT_EQ(FindKind(Check(lines, options), "labels.not_mature")->severity, Severity::kError);
}

TEST(DataValidator, OneClassOnlyCannotBeTrainedOn) {
  std::vector<std::string> lines = CleanLines();
  for (std::string& line : lines) {
    const auto at = line.find("\"label\":1");
    if (at != std::string::npos) line.replace(at, 9, "\"label\":0");
  }
  const ValidationReport report = Check(lines);
  const Finding* f = FindKind(report, "labels.class_missing");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_TRUE(report.BlocksTraining());
  EXPECT_EQ(report.labels.positives, 0u);
}

TEST(DataValidator, TooFewLabeledRecordsCannotBeTrainedOn) {
  const ValidationReport report = Check(CleanLines(3, 60));
  EXPECT_NE(FindKind(report, "labels.too_few"), nullptr) << Describe(report);
  EXPECT_TRUE(report.BlocksTraining());
}

TEST(DataValidator, WeeksWithoutSnapshotsAreGapsInCoverage) {
  std::vector<std::string> kept;
  const SnapshotBatch all = Parse(CleanLines());
  // Drop every snapshot taken in three consecutive weeks in the middle.
  const UnixSeconds gap_from = kEnd - 70 * kDay;
  const UnixSeconds gap_to = gap_from + 21 * kDay;
  std::vector<Snapshot> records;
  for (const Snapshot& s : all.records) {
    if (s.snapshot_ts < gap_from || s.snapshot_ts >= gap_to) records.push_back(s);
  }
  SnapshotBatch batch;
  batch.records = records;
  batch.records_seen = records.size();
  const ValidationReport report = ValidateSnapshots(batch, {}).value();
  const Finding* f = FindKind(report, "time.empty_weeks");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_GE(f->count, 2u);
  EXPECT_LE(f->count, 3u);
  ValidationOptions lenient;
  lenient.max_empty_weeks = 3;
  EXPECT_EQ(FindKind(ValidateSnapshots(batch, lenient).value(), "time.empty_weeks")->severity,
            Severity::kWarning);
  lenient.max_empty_weeks = 1;
  EXPECT_EQ(FindKind(ValidateSnapshots(batch, lenient).value(), "time.empty_weeks")->severity,
            Severity::kError);
}

TEST(DataValidator, StaleDataIsFlaggedByAgeAtTheAsOfTime) {
  const std::vector<std::string> lines = CleanLines();
  ValidationOptions options;
  options.as_of = kEnd + 20 * kDay;
  ValidationReport report = Check(lines, options);
  const Finding* f = FindKind(report, "time.stale");
  ASSERT_NE(f, nullptr) << Describe(report);
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_NEAR(report.newest_age_days, 20.0, 1.5);

  options.as_of = kEnd + 60 * kDay;
  report = Check(lines, options);
  EXPECT_EQ(FindKind(report, "time.stale")->severity, Severity::kError);
}

TEST(DataValidator, NoRecordsAtAllIsAnError) {
  const ValidationReport report = ValidateSnapshots(SnapshotBatch{}, {}).value();
  EXPECT_NE(FindKind(report, "data.empty"), nullptr);
  EXPECT_TRUE(report.BlocksTraining());
  EXPECT_NE(RenderValidationText(report).find("FAIL"), std::string::npos);
}

TEST(DataValidator, SelectingTheWindowCountsRecordsOutsideIt) {
  const std::vector<std::string> lines = CleanLines(200, 120);
  ValidationOptions options;
  options.days = 30;
  options.select_window = true;
  const ValidationReport report = Check(lines, options);
  EXPECT_GT(report.outside_window, 0u);
  EXPECT_EQ(report.outside_window + report.records_checked, lines.size());
  EXPECT_LT(report.weeks.size(), 12u);  // 30 days of label_ts plus the 30-day horizon
}

TEST(DataValidator, RefusesThresholdsOutsideTheirRange) {
  ValidationOptions options;
  options.max_missing_rate = 1.5;
  EXPECT_FALSE(ValidateSnapshots(SnapshotBatch{}, options).has_value());
  options = {};
  options.warn_missing_rate = 0.6;
  EXPECT_FALSE(ValidateSnapshots(SnapshotBatch{}, options).has_value());
  options = {};
  options.days = 0;
  EXPECT_EQ(ValidateSnapshots(SnapshotBatch{}, options).error().code, ErrorCode::kInvalidArgument);
}

TEST(ValidationReport, RendersAsJsonThatParsesAndCarriesTheVerdict) {
  std::vector<std::string> lines = CleanLines();
  RecordText bad;
  bad.label = "3";
  lines[7] = bad.Json();
  ValidationOptions options;
  options.max_invalid_rate = 0.0;
  ValidationReport report = Check(lines, options);
  report.source = "file test.jsonl";
  const std::string json = RenderValidationJson(report);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_FALSE(doc["ok"].get_bool().value());
  EXPECT_EQ(doc["errors"].get_uint64().value(), report.errors());
  EXPECT_EQ(std::string_view(doc["source"].get_string().value()), "file test.jsonl");
  EXPECT_EQ(std::string_view(doc["findings"].at(0)["kind"].get_string().value()),
            "labels.bad_value");
  EXPECT_EQ(doc["findings"].at(0)["examples"].at(0).get_uint64().value(), 7u);
  EXPECT_EQ(doc["features"].get_array().size(), kNumNumericFeatures + 1);
  EXPECT_TRUE(doc["features"].at(8)["min"].is_null());
}

TEST(ValidationReport, TextNamesEverySectionAndTheVerdict) {
  const ValidationReport report = Check(CleanLines());
  const std::string text = RenderValidationText(report);
  for (const char* part :
       {"problems", "features", "usage_score", "labels", "coverage", "verdict: OK"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
}

}  // namespace
}  // namespace csml
