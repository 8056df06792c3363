#include "csml/training/dataset_file.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/data/snapshot_writer.h"
#include "synthetic_data.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

class ReadDatasetFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("csml-dataset-file-" + std::to_string(rd()));
    fs::create_directories(dir_);
    testing::SyntheticOptions options;
    options.customers = 60;
    records_ = testing::MakeSnapshots(options);
    window_.days = 60;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  void ExpectSameAs(const Dataset& expected, const Dataset& got) {
    EXPECT_EQ(got.data.features.values.size(), expected.data.features.values.size());
    // NaN != NaN: compare the bytes.
    EXPECT_EQ(0, std::memcmp(got.data.features.values.data(), expected.data.features.values.data(),
                             expected.data.features.values.size() * sizeof(float)));
    EXPECT_EQ(got.data.labels, expected.data.labels);
    EXPECT_EQ(got.snapshot_ts, expected.snapshot_ts);
    EXPECT_EQ(got.label_ts, expected.label_ts);
    EXPECT_EQ(got.as_of, expected.as_of);
    EXPECT_EQ(got.counts.outside_window, expected.counts.outside_window);
    EXPECT_EQ(got.counts.unlabeled, expected.counts.unlabeled);
  }

  fs::path dir_;
  std::vector<Snapshot> records_;
  WindowOptions window_;
};

TEST_F(ReadDatasetFileTest, ReadsJsonLinesInPiecesIntoTheSameDatasetAsAWholeRead) {
  const fs::path path = Write("s.jsonl", SerializeSnapshots(records_, SnapshotFormat::kJsonLines));
  DatasetFileOptions options;
  options.piece_bytes = 4096;  // dozens of pieces, records cut at every boundary
  options.max_record_bytes = 1024;
  const DatasetFile file = ReadDatasetFile(path, window_, options).value();
  const Dataset expected = BuildDataset(records_, 0, window_).value();
  ExpectSameAs(expected, file.dataset);
  EXPECT_EQ(file.bytes, fs::file_size(path));
  EXPECT_EQ(file.dataset.counts.records_seen, records_.size());
  EXPECT_GE(file.parse_seconds, 0.0);
}

TEST_F(ReadDatasetFileTest, ReadsAJsonArrayWhole) {
  const fs::path path = Write("s.json", SerializeSnapshots(records_, SnapshotFormat::kJsonArray));
  const DatasetFile file = ReadDatasetFile(path, window_).value();
  ExpectSameAs(BuildDataset(records_, 0, window_).value(), file.dataset);
}

TEST_F(ReadDatasetFileTest, SkipsAndCountsInvalidRecordsNumberedAcrossPieces) {
  std::string text = SerializeSnapshots(records_, SnapshotFormat::kJsonLines);
  // Break record 100 and the last record: usage_score out of range.
  std::size_t line_start = 0;
  for (int i = 0; i < 100; ++i) line_start = text.find('\n', line_start) + 1;
  const std::size_t at = text.find("\"usage_score\":", line_start);
  text.replace(at, std::string("\"usage_score\":").size(), "\"usage_score\":7,\"x\":");
  const fs::path path = Write("bad.jsonl", text);
  DatasetFileOptions options;
  options.piece_bytes = 4096;
  options.max_record_bytes = 1024;
  const DatasetFile file = ReadDatasetFile(path, window_, options).value();
  EXPECT_EQ(file.dataset.counts.invalid, 1u);
  ASSERT_EQ(file.problems.size(), 1u);
  EXPECT_EQ(file.problems[0].record, 100u);
  EXPECT_EQ(file.problems[0].field, "features.usage_score");
}

TEST_F(ReadDatasetFileTest, RefusesALineLongerThanTheLimitAndAMissingFile) {
  std::string text = SerializeSnapshots(records_, SnapshotFormat::kJsonLines);
  text.insert(text.find('\n', 9000), std::string(9000, ' '));
  DatasetFileOptions options;
  options.piece_bytes = 4096;
  options.max_record_bytes = 2048;
  auto long_line = ReadDatasetFile(Write("long.jsonl", text), window_, options);
  ASSERT_FALSE(long_line.has_value());
  EXPECT_NE(long_line.error().message.find("longer than"), std::string::npos)
      << long_line.error().message;
  auto missing = ReadDatasetFile(dir_ / "nope.jsonl", window_);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  options.piece_bytes = 10;
  EXPECT_EQ(ReadDatasetFile(dir_ / "nope.jsonl", window_, options).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(ReadDatasetFileTest, ReportsMalformedJsonAsAParseError) {
  std::string text = SerializeSnapshots(records_, SnapshotFormat::kJsonLines);
  text.insert(text.find('\n', 20000), "{not json");
  DatasetFileOptions options;
  options.piece_bytes = 4096;
  options.max_record_bytes = 1024;
  auto r = ReadDatasetFile(Write("broken.jsonl", text), window_, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
}

}  // namespace
}  // namespace csml
