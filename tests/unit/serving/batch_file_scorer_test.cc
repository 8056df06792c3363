// BatchScorer::ScoreFile, the `csml predict` pipeline: whatever the number of threads, its
// text, counts, problems and errors are those of reading the whole file (ReadSnapshotFile)
// and then scoring it (WriteJsonLines), on files of many pieces.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "csml/data/snapshot_reader.h"
#include "csml/data/snapshot_writer.h"
#include "csml/serving/batch_scorer.h"
#include "testing/files.h"
#include "testing/fixture_cases.h"
#include "testing/temp_registry.h"

namespace csml {
namespace {

using testing::ReadWholeFile;
using testing::WriteFile;

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth";

// 30,000 rows of about 350 bytes: ten pieces of the pipeline and more.
constexpr std::size_t kRows = 30000;

// What a run gave: the text, or the error, and what the reading reported.
struct Outcome {
  bool ok = false;
  ErrorCode code = ErrorCode::kInternal;
  std::string error;
  std::string text;
  std::size_t rows = 0;
  std::size_t seen = 0;
  std::size_t invalid = 0;
  std::vector<std::string> problems;  // "record/line/field/message"
};

std::string Describe(const SnapshotProblem& p) {
  return std::to_string(p.record) + "/" + std::to_string(p.line) + "/" + p.field + "/" + p.message;
}

class BatchFileScorerTest : public testing::TempRegistryTest {
 protected:
  void SetUp() override {
    TempRegistryTest::SetUp();
    if (HasFatalFailure()) return;
    ModelMeta draft;
    draft.algo = "xgb";
    draft.created_at = 1755853200;
    draft.features = FeatureEncoder::DefaultColumns();
    draft.thresholds = Thresholds{0.35, 0.65};
    auto meta = registry_->Publish(ReadWholeFile(kFixture / "model.json"), draft);
    ASSERT_TRUE(meta.has_value()) << meta.error().message;
    auto scorer = LoadBatchScorer(*registry_, meta->version);
    ASSERT_TRUE(scorer.has_value()) << scorer.error().message;
    scorer_.emplace(std::move(*scorer));

    const std::vector<testing::FixtureCase> fixture =
        testing::LoadFixtureCases("xgboost_synth").value();
    for (std::size_t i = 0; i < kRows; ++i) {
      Snapshot s;
      s.user_id = "u_" + std::to_string(i);
      s.snapshot_ts = 1755820800 + static_cast<UnixSeconds>(i % 1000) * 3600;
      s.features = fixture[i % fixture.size()].features;
      snapshots_.push_back(s);
    }
  }

  // One record per line.
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    const std::string text = SerializeSnapshots(snapshots_, SnapshotFormat::kJsonLines);
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t end = text.find('\n', pos);
      lines.push_back(text.substr(pos, end - pos));
      pos = end + 1;
    }
    return lines;
  }

  fs::path Write(const std::string& name, const std::vector<std::string>& lines) const {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    const fs::path path = dir_ / name;
    WriteFile(path.string(), text);
    return path;
  }

  // Today's way: read the whole file, then score it.
  Outcome Reference(const fs::path& path, const SnapshotReadOptions& read_options) const {
    Outcome outcome;
    Result<SnapshotBatch> batch = ReadSnapshotFile(path, read_options);
    if (!batch) {
      outcome.code = batch.error().code;
      outcome.error = batch.error().message;
      return outcome;
    }
    outcome.seen = batch->records_seen;
    outcome.invalid = batch->records_invalid;
    for (const SnapshotProblem& p : batch->problems) outcome.problems.push_back(Describe(p));
    auto written = scorer_->WriteJsonLines(batch->records, {}, [&](std::string_view t) {
      outcome.text.append(t);
      return Status{};
    });
    EXPECT_TRUE(written.has_value());
    outcome.rows = written ? written->rows : 0;
    outcome.ok = true;
    return outcome;
  }

  Outcome Pipeline(const fs::path& path, const SnapshotReadOptions& read_options,
                   std::size_t threads) const {
    BatchScoringOptions options;
    options.threads = threads;
    Outcome outcome;
    auto summary = scorer_->ScoreFile(path, read_options, options, [&](std::string_view t) {
      outcome.text.append(t);
      return Status{};
    });
    if (!summary) {
      outcome.code = summary.error().code;
      outcome.error = summary.error().message;
      outcome.text.clear();  // what came before the error is not compared
      return outcome;
    }
    EXPECT_EQ(summary->scoring.threads, threads);
    outcome.rows = summary->scoring.rows;
    outcome.seen = summary->records_seen;
    outcome.invalid = summary->records_invalid;
    for (const SnapshotProblem& p : summary->problems) outcome.problems.push_back(Describe(p));
    outcome.ok = true;
    return outcome;
  }

  // 1, 2 and 4 threads give what the reference gives.
  void ExpectSameAsReference(const fs::path& path, const SnapshotReadOptions& read_options) {
    const Outcome expected = Reference(path, read_options);
    for (const std::size_t threads : {1u, 2u, 4u}) {
      SCOPED_TRACE("threads " + std::to_string(threads));
      const Outcome got = Pipeline(path, read_options, threads);
      ASSERT_EQ(got.ok, expected.ok) << got.error << " vs " << expected.error;
      EXPECT_EQ(got.error, expected.error);
      EXPECT_EQ(got.code, expected.code);
      EXPECT_EQ(got.rows, expected.rows);
      EXPECT_EQ(got.seen, expected.seen);
      EXPECT_EQ(got.invalid, expected.invalid);
      EXPECT_EQ(got.problems, expected.problems);
      EXPECT_TRUE(got.text == expected.text) << "the scored lines differ";
    }
  }

  static SnapshotReadOptions Skip(std::size_t kept = 5) {
    SnapshotReadOptions options;
    options.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
    options.max_problems_kept = kept;
    return options;
  }

  static SnapshotReadOptions Strict() {
    SnapshotReadOptions options;
    options.on_invalid = SnapshotReadOptions::OnInvalid::kFail;
    return options;
  }

  std::optional<BatchScorer> scorer_;
  std::vector<Snapshot> snapshots_;
};

constexpr std::string_view kInvalidRecord =
    R"({"userId":"broken","snapshot_ts":"2025-08-01T00:00:00Z","features":{"activity_7d":-1}})";

TEST_F(BatchFileScorerTest, ManyRowsGiveTheSameLinesOnOneTwoAndFourThreads) {
  const fs::path path = Write("many.jsonl", Lines());
  ASSERT_GT(fs::file_size(path), std::size_t{4} << 20) << "the file must span many pieces";
  const Outcome expected = Reference(path, Skip());
  ASSERT_TRUE(expected.ok) << expected.error;
  EXPECT_EQ(expected.rows, kRows);
  ExpectSameAsReference(path, Skip());
}

TEST_F(BatchFileScorerTest, SkippedRecordsAreCountedAndNamedByRecordAndLineAsWhenReadWhole) {
  std::vector<std::string> lines = Lines();
  // Invalid records all through the file, blank lines and a byte order mark.
  for (std::size_t i = 997; i < lines.size(); i += 997) lines[i] = kInvalidRecord;
  for (std::size_t i = 1500; i < lines.size(); i += 4001) lines[i] += "\n\n  ";
  lines[0] = "\xEF\xBB\xBF\n" + lines[0];
  const fs::path path = Write("skipped.jsonl", lines);
  const Outcome expected = Reference(path, Skip(1000));
  ASSERT_TRUE(expected.ok) << expected.error;
  ASSERT_GT(expected.invalid, 20u);
  ExpectSameAsReference(path, Skip(1000));
  ExpectSameAsReference(path, Skip(5));
}

TEST_F(BatchFileScorerTest, StrictRefusesTheFileWithTheErrorOfReadingItWhole) {
  std::vector<std::string> lines = Lines();
  lines[kRows - 1000] = kInvalidRecord;
  lines[kRows - 10] = kInvalidRecord;
  const fs::path path = Write("strict.jsonl", lines);
  const Outcome expected = Reference(path, Strict());
  ASSERT_FALSE(expected.ok);
  EXPECT_NE(expected.error.find("record " + std::to_string(kRows - 1000)), std::string::npos)
      << expected.error;
  ExpectSameAsReference(path, Strict());

  const fs::path out = dir_ / "strict-scores.jsonl";
  BatchScoringOptions options;
  options.threads = 2;
  auto summary = scorer_->ScoreFileTo(path, Strict(), options, out);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().message, expected.error);
  EXPECT_FALSE(fs::exists(out)) << "the output appears complete or not at all";
}

TEST_F(BatchFileScorerTest, MalformedJsonDeepInTheFileIsTheErrorOfReadingItWhole) {
  std::vector<std::string> lines = Lines();
  lines[kRows / 2] = R"({"userId":"u_x","snapshot_ts":)";
  const fs::path path = Write("malformed.jsonl", lines);
  const Outcome expected = Reference(path, Skip());
  ASSERT_FALSE(expected.ok);
  EXPECT_EQ(expected.code, ErrorCode::kParse);
  ExpectSameAsReference(path, Skip());
}

TEST_F(BatchFileScorerTest, RecordsSpanningLinesGiveTheSameLines) {
  // Every record on two lines, so some piece is cut inside a record.
  std::vector<std::string> lines = Lines();
  for (std::string& line : lines) line.replace(line.find(",\"features\":"), 1, ",\n");
  const fs::path path = Write("spanning.jsonl", lines);
  const Outcome expected = Reference(path, Skip());
  ASSERT_TRUE(expected.ok) << expected.error;
  EXPECT_EQ(expected.rows, kRows);
  ExpectSameAsReference(path, Skip());
}

TEST_F(BatchFileScorerTest, AJsonArrayAndAnEmptyFileGiveWhatReadingThemWholeGives) {
  const fs::path array = dir_ / "array.json";
  WriteFile(array.string(), SerializeSnapshots(snapshots_, SnapshotFormat::kJsonArray));
  ExpectSameAsReference(array, Skip());
  const fs::path empty = dir_ / "empty.jsonl";
  WriteFile(empty.string(), " \n");
  ExpectSameAsReference(empty, Skip());
}

TEST_F(BatchFileScorerTest, AMissingInputIsTheErrorOfReadingIt) {
  ExpectSameAsReference(dir_ / "no-such.jsonl", Skip());
}

// `--out` naming a FIFO (or a device such as /dev/null) is written in place: the special file
// is still there afterwards and got every line, where a rename would have replaced it.
TEST_F(BatchFileScorerTest, AFifoAsTheOutputIsWrittenInPlaceNotReplaced) {
  std::vector<std::string> lines = Lines();
  lines.resize(2000);
  const fs::path path = Write("fifo-input.jsonl", lines);
  const Outcome expected = Reference(path, Skip());
  ASSERT_TRUE(expected.ok) << expected.error;
  const fs::path fifo = dir_ / "scores.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Held open (read-write never blocks on Linux) so that neither end waits for the other
  // however the scorer treats the path; closed after the scorer so the reader sees the end.
  const int keep = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(keep, 0);
  std::string received;
  std::thread reader([&] {
    std::ifstream in(fifo, std::ios::binary);
    received.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  BatchScoringOptions options;
  options.threads = 2;
  auto summary = scorer_->ScoreFileTo(path, Skip(), options, fifo);
  ::close(keep);
  reader.join();
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced by a regular file";
  EXPECT_EQ(received, expected.text);
}

}  // namespace
}  // namespace csml
