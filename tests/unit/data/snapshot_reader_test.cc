#include "csml/data/snapshot_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace csml {
namespace {

constexpr std::string_view kFeatures =
    R"({"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,)"
    R"("failed_renewals_30d":1,"tickets_7d":0,"tickets_30d":3,"plan_value":49.5,)"
    R"("usage_score":0.2,"region":"SG"})";

// A valid labeled record with the given userId.
std::string Record(std::string_view user_id) {
  return fmt::format(
      R"({{"userId":"{}","snapshot_ts":"2025-06-01T00:00:00Z","features":{},"label":1,)"
      R"("label_ts":"2025-07-01T00:00:00Z"}})",
      user_id, kFeatures);
}

SnapshotReadOptions Skip() {
  SnapshotReadOptions options;
  options.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  return options;
}

TEST(ParseSnapshots, ReadsEveryFieldOfAJsonLinesRecord) {
  const auto batch = ParseSnapshots(Record("u_001") + "\n", {});
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  ASSERT_EQ(batch->records.size(), 1u);
  EXPECT_EQ(batch->records_seen, 1u);
  EXPECT_EQ(batch->records_invalid, 0u);
  const Snapshot& s = batch->records[0];
  EXPECT_EQ(s.user_id, "u_001");
  EXPECT_EQ(s.snapshot_ts, 1748736000);  // date -u -d 2025-06-01 +%s
  EXPECT_EQ(s.label, std::optional<std::int8_t>(1));
  EXPECT_EQ(s.label_ts, std::optional<UnixSeconds>(1748736000 + 30 * kSecondsPerDay));
  EXPECT_EQ(s.features.Get(NumericFeature::kActivity7d), 2);
  EXPECT_EQ(s.features.Get(NumericFeature::kActivity30d), 6);
  EXPECT_EQ(s.features.Get(NumericFeature::kTimeSinceLastUseDays), 15);
  EXPECT_EQ(s.features.Get(NumericFeature::kFailedRenewals30d), 1);
  EXPECT_EQ(s.features.Get(NumericFeature::kTickets7d), 0);
  EXPECT_EQ(s.features.Get(NumericFeature::kTickets30d), 3);
  EXPECT_EQ(s.features.Get(NumericFeature::kPlanValue), 49.5);
  EXPECT_EQ(s.features.Get(NumericFeature::kUsageScore), 0.2);
  EXPECT_EQ(s.features.region, Region::kSG);
}

TEST(ParseSnapshots, ReadsAJsonArrayLikeJsonLines) {
  const std::string text = "  [\n" + Record("a") + ",\n" + Record("b") + "\n]\n";
  const auto batch = ParseSnapshots(text, {});
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  ASSERT_EQ(batch->records.size(), 2u);
  EXPECT_EQ(batch->records[0].user_id, "a");
  EXPECT_EQ(batch->records[1].user_id, "b");
  EXPECT_EQ(batch->records[1].features.region, Region::kSG);
}

TEST(ParseSnapshots, AcceptsLinesWithoutTrailingNewlineBlankLinesAndABom) {
  const std::string text = "\xEF\xBB\xBF" + Record("a") + "\n\n  \n" + Record("b");
  const auto batch = ParseSnapshots(text, {});
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  EXPECT_EQ(batch->records.size(), 2u);
}

TEST(ParseSnapshots, EmptyInputHasNoRecords) {
  for (const std::string_view text : {"", "  \n", "[]", " [ ] "}) {
    const auto batch = ParseSnapshots(text, {});
    ASSERT_TRUE(batch.has_value()) << text << ": " << batch.error().message;
    EXPECT_EQ(batch->records_seen, 0u);
  }
}

TEST(ParseSnapshots, NullFeaturesAreMissingAndTicketsThirtyDaysIsOptional) {
  const std::string text =
      R"({"userId":"u","snapshot_ts":"2025-06-01T00:00:00Z","features":{"activity_7d":null,)"
      R"("activity_30d":6,"time_since_last_use_days":1,"failed_renewals_30d":0,)"
      R"("tickets_7d":0,"plan_value":10,"usage_score":null,"region":null},"label":0,)"
      R"("label_ts":"2025-07-01T00:00:00Z"})";
  const auto batch = ParseSnapshots(text, {});
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  const RawFeatures& f = batch->records.at(0).features;
  EXPECT_TRUE(std::isnan(f.Get(NumericFeature::kActivity7d)));
  EXPECT_TRUE(std::isnan(f.Get(NumericFeature::kTickets30d)));
  EXPECT_TRUE(std::isnan(f.Get(NumericFeature::kUsageScore)));
  EXPECT_EQ(f.Get(NumericFeature::kActivity30d), 6);
  EXPECT_EQ(f.region, Region::kMissing);
  EXPECT_EQ(batch->records[0].label, std::optional<std::int8_t>(0));
}

TEST(ParseSnapshots, IgnoresUnknownKeysAndReadsKeysInAnyOrder) {
  const std::string text =
      R"({"label_ts":"2025-07-01T02:00:00+02:00","extra":{"nested":[1,2,{"x":null}]},)"
      R"("features":{"region":"JP","usage_score":1,"new_metric":"abc","plan_value":0,)"
      R"("tickets_30d":0,"tickets_7d":0,"failed_renewals_30d":0,)"
      R"("time_since_last_use_days":0,"activity_30d":0,"activity_7d":0},)"
      R"("label":1.0,"snapshot_ts":"2025-06-01T00:00:00Z","userId":12345})";
  const auto batch = ParseSnapshots(text, {});
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  const Snapshot& s = batch->records.at(0);
  EXPECT_EQ(s.user_id, "12345");
  EXPECT_EQ(s.features.region, Region::kOther);
  EXPECT_EQ(s.features.Get(NumericFeature::kUsageScore), 1.0);
  EXPECT_EQ(s.label, std::optional<std::int8_t>(1));
  EXPECT_EQ(s.label_ts, std::optional<UnixSeconds>(1748736000 + 30 * kSecondsPerDay));
}

TEST(ParseSnapshots, AnUnlabeledRecordMayOmitLabelAndLabelTs) {
  std::string text = Record("u");
  text = text.substr(0, text.find(R"(,"label")")) + "}";
  text += "\n" + Record("v").replace(Record("v").find(R"("label":1)"), 9, R"("label":null)");
  const auto batch = ParseSnapshots(text, {});
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  ASSERT_EQ(batch->records.size(), 2u);
  EXPECT_FALSE(batch->records[0].label.has_value());
  EXPECT_FALSE(batch->records[0].label_ts.has_value());
  EXPECT_FALSE(batch->records[1].label.has_value());
  EXPECT_TRUE(batch->records[1].label_ts.has_value());
}

// ---- invalid records ---------------------------------------------------------------------

struct InvalidCase {
  std::string_view name;
  std::string find;          // replaced in a valid record...
  std::string_view replace;  // ...by this
  std::string_view field;
  std::string_view message_part;
};

std::ostream& operator<<(std::ostream& os, const InvalidCase& c) { return os << c.name; }

class InvalidRecord : public ::testing::TestWithParam<InvalidCase> {
 protected:
  std::string BadRecord() const {
    std::string record = Record("u_bad");
    const std::size_t at = record.find(GetParam().find);
    EXPECT_NE(at, std::string::npos) << GetParam().find;
    return record.replace(at, GetParam().find.size(), GetParam().replace);
  }
};

TEST_P(InvalidRecord, FailsNamingRecordAndField) {
  const std::string text = Record("ok") + "\n" + BadRecord() + "\n" + Record("ok2") + "\n";
  const auto batch = ParseSnapshots(text, {});
  ASSERT_FALSE(batch.has_value()) << BadRecord();
  EXPECT_EQ(batch.error().code, ErrorCode::kValidation);
  const std::string prefix = GetParam().field.empty()
                                 ? std::string("record 1: ")
                                 : fmt::format("record 1, field {}: ", GetParam().field);
  EXPECT_EQ(batch.error().message.rfind(prefix, 0), 0u) << batch.error().message;
  EXPECT_NE(batch.error().message.find(GetParam().message_part), std::string::npos)
      << batch.error().message;
}

TEST_P(InvalidRecord, IsSkippedCountedAndDescribedWhenAskedTo) {
  const std::string text =
      "[" + Record("ok") + "," + BadRecord() + "," + BadRecord() + "," + Record("ok2") + "]";
  const auto batch = ParseSnapshots(text, Skip());
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  ASSERT_EQ(batch->records.size(), 2u);
  EXPECT_EQ(batch->records[0].user_id, "ok");
  EXPECT_EQ(batch->records[1].user_id, "ok2");
  EXPECT_EQ(batch->records_seen, 4u);
  EXPECT_EQ(batch->records_invalid, 2u);
  ASSERT_EQ(batch->problems.size(), 2u);
  EXPECT_EQ(batch->problems[0].record, 1u);
  EXPECT_EQ(batch->problems[1].record, 2u);
  EXPECT_EQ(batch->problems[0].field, GetParam().field);
  EXPECT_NE(batch->problems[0].message.find(GetParam().message_part), std::string::npos)
      << batch->problems[0].message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidRecord,
    ::testing::Values(
        InvalidCase{"NotAnObject", Record("u_bad"), "[1,2]", "",
                    "expected a JSON object, got an array"},
        InvalidCase{"UserIdMissing", R"("userId":"u_bad",)", "", "userId",
                    "required field is missing"},
        InvalidCase{"UserIdEmpty", R"("u_bad")", R"("")", "userId", "non-empty string"},
        InvalidCase{"UserIdFractional", R"("u_bad")", "1.5", "userId", "got number 1.5"},
        InvalidCase{"UserIdNull", R"("u_bad")", "null", "userId", "expected a string, got null"},
        InvalidCase{"UserIdTwice", R"("userId":"u_bad",)", R"("userId":"a","userId":"b",)",
                    "userId", "appears more than once"},
        InvalidCase{"SnapshotTsMissing", R"("snapshot_ts":"2025-06-01T00:00:00Z",)", "",
                    "snapshot_ts", "required field is missing"},
        InvalidCase{"SnapshotTsNumber", R"("2025-06-01T00:00:00Z")", "1748736000", "snapshot_ts",
                    "expected an RFC 3339 date-time string, got number 1748736000"},
        InvalidCase{"SnapshotTsBadDay", "2025-06-01T", "2025-06-31T", "snapshot_ts",
                    "day 31 is not in 01..30"},
        InvalidCase{"FeaturesMissing", "\"features\":", "\"feat\":", "features",
                    "required field is missing"},
        InvalidCase{"FeaturesNotObject", R"("features":{)", R"("features":[],"x":{)", "features",
                    "expected an object, got an array"},
        InvalidCase{"RequiredFeatureAbsent", R"("activity_7d":2,)", "", "features.activity_7d",
                    "required field is missing"},
        InvalidCase{"RegionAbsent", R"(,"region":"SG")", "", "features.region",
                    "required field is missing"},
        InvalidCase{"FeatureAsString", R"("plan_value":49.5)", R"("plan_value":"49.5")",
                    "features.plan_value", R"(expected a number or null, got string "49.5")"},
        InvalidCase{"FeatureAsBool", R"("tickets_7d":0)", R"("tickets_7d":false)",
                    "features.tickets_7d", "expected a number or null, got false"},
        InvalidCase{"UsageAboveOne", R"("usage_score":0.2)", R"("usage_score":1.5)",
                    "features.usage_score", "expected a number in [0, 1], got 1.5"},
        InvalidCase{"NegativeCount", R"("activity_30d":6)", R"("activity_30d":-1)",
                    "features.activity_30d", "expected a number >= 0, got -1"},
        InvalidCase{"FeatureTwice", R"("tickets_30d":3,)", R"("tickets_30d":3,"tickets_30d":4,)",
                    "features.tickets_30d", "appears more than once"},
        InvalidCase{"RegionNumber", R"("region":"SG")", R"("region":3)", "features.region",
                    "expected a string or null, got number 3"},
        InvalidCase{"LabelTwo", R"("label":1)", R"("label":2)", "label",
                    "expected 0, 1 or null, got number 2"},
        InvalidCase{"LabelBool", R"("label":1)", R"("label":true)", "label",
                    "expected 0, 1 or null, got true"},
        InvalidCase{"LabelString", R"("label":1)", R"("label":"1")", "label", R"(got string "1")"},
        InvalidCase{"LabelHalf", R"("label":1)", R"("label":0.5)", "label", "got number 0.5"},
        InvalidCase{"LabelTsBeforeSnapshot", "2025-07-01T00:00:00Z", "2025-05-01T00:00:00Z",
                    "label_ts",
                    "expected a time after snapshot_ts 2025-06-01T00:00:00Z, got "
                    "2025-05-01T00:00:00Z"},
        InvalidCase{"LabelTsEqualSnapshot", "2025-07-01T00:00:00Z", "2025-06-01T00:00:00Z",
                    "label_ts", "expected a time after snapshot_ts"},
        InvalidCase{"LabelTsGarbage", "2025-07-01T00:00:00Z", "soon", "label_ts",
                    "expected an RFC 3339 date-time"},
        InvalidCase{"LabelWithoutLabelTs", R"("2025-07-01T00:00:00Z")", "null", "label_ts",
                    "when label is 1, got null"}),
    [](const ::testing::TestParamInfo<InvalidCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(ParseSnapshots, KeepsAtMostMaxProblemsButCountsAll) {
  std::string text;
  for (int i = 0; i < 10; ++i)
    text += R"({"userId":"x"})"
            "\n";
  SnapshotReadOptions options = Skip();
  options.max_problems_kept = 3;
  const auto batch = ParseSnapshots(text, options);
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  EXPECT_EQ(batch->records_invalid, 10u);
  EXPECT_EQ(batch->records_seen, 10u);
  EXPECT_TRUE(batch->records.empty());
  ASSERT_EQ(batch->problems.size(), 3u);
  EXPECT_EQ(batch->problems[2].ToString(),
            "record 2, field snapshot_ts: required field is missing");
}

std::string ManyRecords(std::size_t n);

TEST(ParseSnapshots, GivesTheOneBasedLineASkippedJsonLinesRecordStartsOn) {
  // Line 1 valid, line 2 blank, line 3 invalid, lines 4-5 one valid record, line 6 invalid;
  // then, past the first chunk, an invalid record after many multi-line ones.
  std::string text = Record("a") + "\n\n" + R"({"userId":"x"})" + "\n" + Record("b") + "\n";
  text.insert(text.rfind(R"("features")"), "\n");
  text += R"({"userId":"y"})"
          "\n";
  const auto batch = ParseSnapshots(text, Skip());
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  ASSERT_EQ(batch->problems.size(), 2u);
  EXPECT_EQ(batch->problems[0].record, 1u);
  EXPECT_EQ(batch->problems[0].line, 3u);
  EXPECT_EQ(batch->problems[1].record, 3u);
  EXPECT_EQ(batch->problems[1].line, 6u);

  std::string many = ManyRecords(30000);
  const std::size_t lines_before =
      static_cast<std::size_t>(std::count(many.begin(), many.end(), '\n'));
  many += R"({"userId":"z"})"
          "\n";
  const auto far = ParseSnapshots(many, Skip());
  ASSERT_TRUE(far.has_value()) << far.error().message;
  ASSERT_EQ(far->problems.size(), 1u);
  EXPECT_EQ(far->problems[0].line, lines_before + 1);

  // A JSON array's elements have no known line.
  const auto array = ParseSnapshots("[" + Record("a") + R"(,{"userId":"x"}])", Skip());
  ASSERT_TRUE(array.has_value()) << array.error().message;
  ASSERT_EQ(array->problems.size(), 1u);
  EXPECT_EQ(array->problems[0].line, 0u);
}

TEST(ParseSnapshots, NumbersRecordsFromTheGivenFirstIndex) {
  SnapshotReadOptions options = Skip();
  options.first_record_index = 100;
  const std::string text = Record("a") + "\n" + R"({"userId":"b"})" + "\n";
  const auto batch = ParseSnapshots(text, options);
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  EXPECT_EQ(batch->records_seen, 2u);
  ASSERT_EQ(batch->problems.size(), 1u);
  EXPECT_EQ(batch->problems[0].record, 101u);

  options.on_invalid = SnapshotReadOptions::OnInvalid::kFail;
  const auto failed = ParseSnapshots(text, options);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message.rfind("record 101, field snapshot_ts", 0), 0u)
      << failed.error().message;
  const auto malformed = ParseSnapshots("[" + Record("a") + ",{]", options);
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error().message.rfind("record 101 ", 0), 0u) << malformed.error().message;
}

// ---- malformed JSON ----------------------------------------------------------------------

struct MalformedCase {
  std::string_view name;
  std::string text;
  std::string_view where;  // expected "record N (line L" fragment
};

std::ostream& operator<<(std::ostream& os, const MalformedCase& c) { return os << c.name; }

class MalformedJson : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedJson, IsAParseErrorNamingWhereEvenWhenSkipping) {
  for (const auto& options : {SnapshotReadOptions{}, Skip()}) {
    const auto batch = ParseSnapshots(GetParam().text, options);
    ASSERT_FALSE(batch.has_value()) << GetParam().name;
    EXPECT_EQ(batch.error().code, ErrorCode::kParse);
    EXPECT_NE(batch.error().message.find(GetParam().where), std::string::npos)
        << batch.error().message;
    EXPECT_NE(batch.error().message.find("malformed JSON"), std::string::npos)
        << batch.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedJson,
    ::testing::Values(
        MalformedCase{"LinesBadThirdLine",
                      Record("a") + "\n" + Record("b") + "\n" + R"({"userId": tru})" + "\n" +
                          Record("c") + "\n",
                      "record 2 (line 3"},
        MalformedCase{"LinesMissingComma",
                      Record("a") + "\n" + R"({"userId":"b" "snapshot_ts":1})" + "\n",
                      "record 1 (line 2"},
        MalformedCase{"LinesTruncatedLastRecord", Record("a") + "\n" + Record("b").substr(0, 40),
                      "record 1 (line 2"},
        MalformedCase{"LinesUnclosedString",
                      Record("a") + "\n" + R"({"userId":"b})" + "\n" + Record("c") + "\n",
                      "record 1 (line 2"},
        MalformedCase{"LinesGarbage", "hello\n", "record 0 (line 1"},
        MalformedCase{
            "ArrayBadSecondElement",
            "[\n" + Record("a") + ",\n" + R"({"userId":nul})" + ",\n" + Record("c") + "\n]",
            "record 1 (line 3"},
        MalformedCase{"ArrayTrailingComma", "[" + Record("a") + "," + Record("b") + ",]",
                      "record 2"},
        MalformedCase{"ArrayNotClosed", "[" + Record("a") + "," + Record("b"),
                      "the array is not closed"},
        MalformedCase{"ArrayThenMore", "[" + Record("a") + "]\n" + Record("b"),
                      "unexpected text after the array"},
        MalformedCase{"ArrayMissingComma", "[" + Record("a") + " " + Record("b") + "]",
                      "record 0"}),
    [](const ::testing::TestParamInfo<MalformedCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(ParseSnapshots, NamesTheRightRecordFarIntoAMultiBatchStream) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += Record(fmt::format("u_{}", i)) + "\n";
  const std::string good = text;
  text += R"({"userId":"broken",)"
          "\n";
  for (int i = 0; i < 10; ++i) text += Record("after") + "\n";
  SnapshotReadOptions options;
  options.max_record_bytes = 4096;  // many batches
  const auto ok = ParseSnapshots(good, options);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->records.size(), 3000u);
  EXPECT_EQ(ok->records[2999].user_id, "u_2999");
  const auto bad = ParseSnapshots(text, options);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("record 3000 (line 3001"), std::string::npos)
      << bad.error().message;
}

// Larger than the reader's 4 MiB chunks, with some records spread over several lines, so
// records cross chunk boundaries both whole-line and mid-record.
std::string ManyRecords(std::size_t n) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) {
    std::string record = Record(fmt::format("u_{}", i));
    if (i % 3 == 0) {
      for (std::size_t at = record.find(','); at != std::string::npos;
           at = record.find(',', at + 2)) {
        record.insert(at + 1, "\n");
      }
    }
    text += record + "\n";
  }
  return text;
}

void ExpectAllRecords(const Result<SnapshotBatch>& batch, std::size_t n) {
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  ASSERT_EQ(batch->records.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(batch->records[i].user_id, fmt::format("u_{}", i));
    ASSERT_EQ(batch->records[i].features.region, Region::kSG);
  }
}

TEST(ParseSnapshots, ReadsRecordsAcrossChunkBoundaries) {
  constexpr std::size_t kRecords = 40000;
  const std::string text = ManyRecords(kRecords);
  ASSERT_GT(text.size(), std::size_t{9} << 20);
  ExpectAllRecords(ParseSnapshots(text, {}), kRecords);
}

TEST(ParseSnapshots, NamesInputWidePositionsAfterTheFirstChunk) {
  std::string text = ManyRecords(30000);
  const std::size_t lines_before =
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  const std::size_t bytes_before = text.size();
  text += R"({"userId":"x","snapshot_ts":})"
          "\n" +
          Record("after") + "\n";
  const auto batch = ParseSnapshots(text, {});
  ASSERT_FALSE(batch.has_value());
  EXPECT_NE(batch.error().message.find(
                fmt::format("record 30000 (line {}, byte {})", lines_before + 1, bytes_before)),
            std::string::npos)
      << batch.error().message;
}

TEST(ParseSnapshots, ARecordLongerThanTheBatchIsAnError) {
  SnapshotReadOptions options;
  options.max_record_bytes = 1024;
  std::string big = Record("u");
  big.insert(1, fmt::format(R"("pad":"{}",)", std::string(2000, 'x')));
  const auto batch = ParseSnapshots(Record("a") + "\n" + big + "\n", options);
  ASSERT_FALSE(batch.has_value());
  EXPECT_EQ(batch.error().code, ErrorCode::kParse);
  EXPECT_NE(batch.error().message.find("record 1"), std::string::npos) << batch.error().message;
}

TEST(ParseSnapshots, RejectsOptionsOutOfRange) {
  SnapshotReadOptions options;
  options.max_record_bytes = 10;
  const auto batch = ParseSnapshots(Record("a"), options);
  ASSERT_FALSE(batch.has_value());
  EXPECT_EQ(batch.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(batch.error().message.find("max_record_bytes"), std::string::npos);
}

// ---- files -------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("csml_reader_test_{}_{}", ::getpid(), counter_++);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(ReadSnapshotFile, ReadsAFileAndPrefixesErrorsWithItsPath) {
  TempDir dir;
  const auto good = dir.path() / "good.jsonl";
  std::ofstream(good) << Record("a") << "\n" << Record("b") << "\n";
  const auto batch = ReadSnapshotFile(good, {});
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  EXPECT_EQ(batch->records.size(), 2u);

  const auto bad = dir.path() / "bad.json";
  std::ofstream(bad) << "[" << Record("a") << ",{\"userId\":\"b\"}]";
  const auto failed = ReadSnapshotFile(bad, {});
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message.rfind(bad.string() + ": record 1, field snapshot_ts", 0), 0u)
      << failed.error().message;
}

TEST(ReadSnapshotFile, ReadsLargeFilesInChunksAndArraysWhole) {
  TempDir dir;
  constexpr std::size_t kRecords = 40000;
  const std::string lines = ManyRecords(kRecords);
  const auto lines_path = dir.path() / "many.jsonl";
  std::ofstream(lines_path) << "\n  \n" << lines;
  ExpectAllRecords(ReadSnapshotFile(lines_path, {}), kRecords);

  std::string array = "\xEF\xBB\xBF\n[";
  for (std::size_t i = 0; i < kRecords; ++i) {
    if (i > 0) array += ",\n";
    array += Record(fmt::format("u_{}", i));
  }
  array += "]";
  const auto array_path = dir.path() / "many.json";
  std::ofstream(array_path) << array;
  ExpectAllRecords(ReadSnapshotFile(array_path, {}), kRecords);
}

TEST(ReadSnapshotFile, AMissingFileIsAnIoErrorNamingThePath) {
  TempDir dir;
  const auto missing = dir.path() / "nope.jsonl";
  const auto batch = ReadSnapshotFile(missing, {});
  ASSERT_FALSE(batch.has_value());
  EXPECT_EQ(batch.error().code, ErrorCode::kIo);
  EXPECT_NE(batch.error().message.find(missing.string()), std::string::npos);
  EXPECT_NE(batch.error().message.find("No such file"), std::string::npos) << batch.error().message;
}

TEST(ReadSnapshotFile, ADirectoryIsAnIoError) {
  TempDir dir;
  const auto batch = ReadSnapshotFile(dir.path(), {});
  ASSERT_FALSE(batch.has_value());
  EXPECT_EQ(batch.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace csml
