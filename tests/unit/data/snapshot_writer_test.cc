#include "csml/data/snapshot_writer.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/data/snapshot_reader.h"

namespace csml {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Snapshot Example() {
  Snapshot s;
  s.user_id = "u_\"001\"";
  s.snapshot_ts = 1748736000;  // 2025-06-01T00:00:00Z
  s.features.numeric = {2, 6, 15, 1, 0, kNaN, 49.99, 0.2};
  s.features.region = Region::kEU;
  s.label = 1;
  s.label_ts = 1748736000 + 30 * kSecondsPerDay;
  return s;
}

std::string ToJson(const Snapshot& s, std::string_view other_region_text = {}) {
  std::string out;
  JsonWriter writer(&out);
  WriteSnapshotJson(s, &writer, other_region_text);
  return out;
}

TEST(WriteSnapshotJson, WritesKeysInContractOrderWithNullForMissing) {
  EXPECT_EQ(ToJson(Example()),
            R"({"userId":"u_\"001\"","snapshot_ts":"2025-06-01T00:00:00Z","features":{)"
            R"("activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,)"
            R"("failed_renewals_30d":1,"tickets_7d":0,"tickets_30d":null,"plan_value":49.99,)"
            R"("usage_score":0.2,"region":"EU"},"label":1,"label_ts":"2025-07-01T00:00:00Z"})");
}

TEST(WriteSnapshotJson, WritesNullLabelsAndRegionsAndTheGivenOtherRegion) {
  Snapshot s = Example();
  s.label.reset();
  s.label_ts.reset();
  s.features.region = Region::kMissing;
  const std::string json = ToJson(s);
  EXPECT_NE(json.find(R"("region":null},"label":null,"label_ts":null})"), std::string::npos)
      << json;
  s.features.region = Region::kOther;
  EXPECT_NE(ToJson(s).find(R"("region":"other")"), std::string::npos);
  EXPECT_NE(ToJson(s, "JP").find(R"("region":"JP")"), std::string::npos);
}

TEST(SnapshotFormatForPath, ChoosesByExtensionAndRefusesOthers) {
  EXPECT_EQ(SnapshotFormatForPath("a/b.json"), SnapshotFormat::kJsonArray);
  EXPECT_EQ(SnapshotFormatForPath("b.jsonl"), SnapshotFormat::kJsonLines);
  for (const char* bad : {"b.csv", "b", "b.JSON", "b.json.gz", "dir/"}) {
    const auto format = SnapshotFormatForPath(bad);
    ASSERT_FALSE(format.has_value()) << bad;
    EXPECT_EQ(format.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(format.error().message.find(".jsonl"), std::string::npos);
  }
}

// Records that stress the text form: shortest doubles, extremes, escapes, every region,
// every label state.
std::vector<Snapshot> Varied() {
  std::vector<Snapshot> out;
  const std::vector<double> values = {0.0,
                                      1.0,
                                      0.1 + 0.2,
                                      1e-300,
                                      123456789.125,
                                      1e15,
                                      0.30000000000000004,
                                      5e-324,
                                      0.9999999999999999,
                                      kNaN};
  for (std::size_t i = 0; i < 40; ++i) {
    Snapshot s;
    s.user_id = fmt::format("user {} \xC3\xA9 \\ \t", i);
    s.snapshot_ts = 1748736000 + static_cast<UnixSeconds>(i) * 3607;
    for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
      double v = values[(i + f * 3) % values.size()];
      if (f == static_cast<std::size_t>(NumericFeature::kUsageScore) && v > 1) v = 0.5;
      s.features.numeric[f] = v;
    }
    s.features.region = static_cast<Region>(i % 6);
    if (i % 3 != 0) {
      s.label = static_cast<std::int8_t>(i % 2);
      s.label_ts = s.snapshot_ts + 1 + static_cast<UnixSeconds>(i);
    } else if (i % 2 == 0) {
      s.label_ts = s.snapshot_ts + kSecondsPerDay;  // a due date on an unlabeled record
    }
    out.push_back(s);
  }
  return out;
}

void ExpectSameRecords(const std::vector<Snapshot>& a, const std::vector<Snapshot>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a[i].user_id, b[i].user_id);
    EXPECT_EQ(a[i].snapshot_ts, b[i].snapshot_ts);
    EXPECT_EQ(a[i].label, b[i].label);
    EXPECT_EQ(a[i].label_ts, b[i].label_ts);
    EXPECT_EQ(a[i].features.region, b[i].features.region);
    for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
      const double x = a[i].features.numeric[f];
      const double y = b[i].features.numeric[f];
      if (std::isnan(x)) {
        EXPECT_TRUE(std::isnan(y)) << f;
      } else {
        EXPECT_EQ(x, y) << f;  // bit-exact: the shortest text reads back to the same double
      }
    }
  }
}

class RoundTrip : public ::testing::TestWithParam<SnapshotFormat> {};

TEST_P(RoundTrip, ParsingWhatWasWrittenGivesTheSameRecords) {
  const std::vector<Snapshot> records = Varied();
  const std::string text = SerializeSnapshots(records, GetParam());
  const auto batch = ParseSnapshots(text, {});
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  // Region::kOther is written as "other", which reads back as kOther.
  ExpectSameRecords(records, batch->records);
}

TEST_P(RoundTrip, AnEmptyBatchReadsBackEmpty) {
  const std::string text = SerializeSnapshots({}, GetParam());
  const auto batch = ParseSnapshots(text, {});
  ASSERT_TRUE(batch.has_value()) << text << ": " << batch.error().message;
  EXPECT_EQ(batch->records_seen, 0u);
}

INSTANTIATE_TEST_SUITE_P(Formats, RoundTrip,
                         ::testing::Values(SnapshotFormat::kJsonArray, SnapshotFormat::kJsonLines));

TEST(SerializeSnapshots, WritesOneRecordPerLineInBothFormats) {
  const std::vector<Snapshot> two = {Example(), Example()};
  const std::string lines = SerializeSnapshots(two, SnapshotFormat::kJsonLines);
  EXPECT_EQ(lines, ToJson(two[0]) + "\n" + ToJson(two[1]) + "\n");
  const std::string array = SerializeSnapshots(two, SnapshotFormat::kJsonArray);
  EXPECT_EQ(array, "[\n" + ToJson(two[0]) + ",\n" + ToJson(two[1]) + "\n]\n");
}

// ---- SnapshotFileWriter -------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("csml_writer_test_{}_{}", ::getpid(), counter_++);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::size_t Entries() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path_),
                                                  std::filesystem::directory_iterator()));
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SnapshotFileWriter, CommitWritesTheSameBytesAsSerialize) {
  TempDir dir;
  const std::vector<Snapshot> records = Varied();
  for (const SnapshotFormat format : {SnapshotFormat::kJsonArray, SnapshotFormat::kJsonLines}) {
    const auto path = dir.path() / (format == SnapshotFormat::kJsonArray ? "a.json" : "a.jsonl");
    auto writer = SnapshotFileWriter::Create(path, format);
    ASSERT_TRUE(writer.has_value()) << writer.error().message;
    for (const Snapshot& s : records) ASSERT_TRUE(writer->Append(s).has_value());
    EXPECT_FALSE(std::filesystem::exists(path));  // nothing visible before Commit
    const Status committed = writer->Commit();
    ASSERT_TRUE(committed.has_value()) << committed.error().message;
    EXPECT_EQ(writer->records_written(), records.size());
    EXPECT_EQ(ReadAll(path), SerializeSnapshots(records, format));
  }
  EXPECT_EQ(dir.Entries(), 2u);  // no temporary files left
}

TEST(SnapshotFileWriter, AWriterDroppedBeforeCommitLeavesTheTargetUntouched) {
  TempDir dir;
  const auto path = dir.path() / "out.jsonl";
  std::ofstream(path) << "previous content\n";
  {
    auto writer = SnapshotFileWriter::Create(path, SnapshotFormat::kJsonLines);
    ASSERT_TRUE(writer.has_value());
    for (int i = 0; i < 20000; ++i) ASSERT_TRUE(writer->Append(Example()).has_value());
  }
  EXPECT_EQ(ReadAll(path), "previous content\n");
  EXPECT_EQ(dir.Entries(), 1u);
}

TEST(SnapshotFileWriter, WritesTheOriginalTextOfOtherRegions) {
  TempDir dir;
  const auto path = dir.path() / "out.jsonl";
  auto writer = SnapshotFileWriter::Create(path, SnapshotFormat::kJsonLines);
  ASSERT_TRUE(writer.has_value());
  Snapshot s = Example();
  s.features.region = Region::kOther;
  ASSERT_TRUE(writer->Append(s, "BR").has_value());
  ASSERT_TRUE(writer->Commit().has_value());
  EXPECT_NE(ReadAll(path).find(R"("region":"BR")"), std::string::npos);
  EXPECT_FALSE(writer->Append(s).has_value());  // committed: nothing more
}

TEST(SnapshotFileWriter, AnUnwritableDirectoryIsAnIoError) {
  const auto writer =
      SnapshotFileWriter::Create("/nonexistent-csml-dir/x.jsonl", SnapshotFormat::kJsonLines);
  ASSERT_FALSE(writer.has_value());
  EXPECT_EQ(writer.error().code, ErrorCode::kIo);
  EXPECT_NE(writer.error().message.find("/nonexistent-csml-dir/x.jsonl"), std::string::npos);
  // The message is about the file the user named, not the temporary file.
  EXPECT_EQ(writer.error().message,
            "/nonexistent-csml-dir/x.jsonl: cannot create it: the directory "
            "/nonexistent-csml-dir does not exist");
}

}  // namespace
}  // namespace csml
