#include "csml/serving/batch_scorer.h"

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/core/json_writer.h"
#include "csml/serving/model_loader.h"
#include "csml/serving/score_json.h"
#include "fake_predictor.h"
#include "testing/files.h"
#include "testing/fixture_cases.h"
#include "testing/temp_registry.h"

namespace csml {
namespace {

using testing::ReadWholeFile;

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth";

// The fixture's 200 cases as snapshots u_0 .. u_199, one day apart, with XGBoost's own risk.
struct Cases {
  std::vector<Snapshot> snapshots;
  std::vector<double> expected_risk;
};

Cases LoadCases() {
  const std::vector<testing::FixtureCase> fixture =
      testing::LoadFixtureCases("xgboost_synth").value();
  Cases cases;
  for (const testing::FixtureCase& c : fixture) {
    Snapshot s;
    s.user_id = "u_" + std::to_string(cases.snapshots.size());
    s.snapshot_ts = 1755820800 + static_cast<UnixSeconds>(cases.snapshots.size()) * 86400;
    s.features = c.features;
    cases.snapshots.push_back(s);
    cases.expected_risk.push_back(c.expected_risk);
  }
  return cases;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class BatchScorerTest : public testing::TempRegistryTest {
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
    version_ = meta->version;
    cases_ = LoadCases();
    ASSERT_EQ(cases_.snapshots.size(), 200u);
  }

  // Small blocks on two threads, so several rounds of several blocks run.
  static BatchScoringOptions SmallBlocks() {
    BatchScoringOptions options;
    options.threads = 2;
    options.block_rows = 7;
    return options;
  }

  std::vector<std::string> TempFiles() const {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().filename().string().find(".tmp-") != std::string::npos) {
        found.push_back(entry.path().filename().string());
      }
    }
    return found;
  }

  std::string version_;
  Cases cases_;
};

TEST_F(BatchScorerTest, ScoresEverySnapshotAsTheServerDoesButAtFullPrecision) {
  auto scorer = LoadBatchScorer(*registry_, "");
  ASSERT_TRUE(scorer.has_value()) << scorer.error().message;
  EXPECT_EQ(scorer->version(), version_);
  auto served = LoadServingModel(*registry_, version_);
  ASSERT_TRUE(served.has_value()) << served.error().message;

  std::vector<BatchScore> scores(cases_.snapshots.size());
  ASSERT_TRUE(scorer->Score(cases_.snapshots, scores, SmallBlocks()));
  for (std::size_t i = 0; i < scores.size(); ++i) {
    EXPECT_NEAR(scores[i].risk, cases_.expected_risk[i], 1e-6) << "case " << i;
    Result<ScoreResult> live = (*served)->Score(cases_.snapshots[i].features);
    ASSERT_TRUE(live.has_value()) << live.error().message;
    EXPECT_EQ(RoundTo(scores[i].risk, 4), live->risk) << "case " << i;
    EXPECT_EQ(scores[i].tier, live->tier) << "case " << i;
    EXPECT_EQ(scores[i].reasons, live->reasons) << "case " << i;
  }
}

TEST_F(BatchScorerTest, ScoreManyGivesWhatScoreGivesRowByRow) {
  // /score/batch's path: one batch walk over the items, then Finish per item.
  auto served = LoadServingModel(*registry_, version_);
  ASSERT_TRUE(served.has_value()) << served.error().message;
  std::vector<const RawFeatures*> features;
  for (const Snapshot& s : cases_.snapshots) features.push_back(&s.features);
  std::vector<Result<ScoreResult>> many(features.size());
  (*served)->ScoreMany(features, many);
  for (std::size_t i = 0; i < features.size(); ++i) {
    Result<ScoreResult> one = (*served)->Score(*features[i]);
    ASSERT_TRUE(one.has_value()) << one.error().message;
    ASSERT_TRUE(many[i].has_value()) << many[i].error().message;
    EXPECT_EQ(many[i]->risk, one->risk) << "case " << i;
    EXPECT_EQ(many[i]->tier, one->tier) << "case " << i;
    EXPECT_EQ(many[i]->reasons, one->reasons) << "case " << i;
  }
}

TEST_F(BatchScorerTest, TheTierComesFromTheRiskRoundedAsTheApiPrintsIt) {
  // 0.39996 prints as 0.4 in /score, which is "medium" with t_medium 0.4: the file agrees.
  auto scorer = BatchScorer::Create("v1", FeatureEncoder::DefaultColumns(), Thresholds{0.4, 0.7},
                                    testing::FakePredictor::Returning(12, 0.39996));
  ASSERT_TRUE(scorer.has_value()) << scorer.error().message;
  std::vector<BatchScore> scores(1);
  ASSERT_TRUE(scorer->Score(std::span(cases_.snapshots).first(1), scores, {}));
  EXPECT_EQ(scores[0].risk, 0.39996);
  EXPECT_EQ(scores[0].tier, Tier::kMedium);
}

TEST_F(BatchScorerTest, JsonLinesComeInInputOrderWithTheScoreMembersOfTheApi) {
  auto scorer = LoadBatchScorer(*registry_, version_);
  ASSERT_TRUE(scorer.has_value()) << scorer.error().message;
  std::string text;
  std::size_t pieces = 0;
  auto summary = scorer->WriteJsonLines(cases_.snapshots, SmallBlocks(), [&](std::string_view t) {
    text.append(t);
    ++pieces;
    return Status{};
  });
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  EXPECT_EQ(summary->rows, 200u);
  EXPECT_EQ(summary->threads, 2u);
  EXPECT_EQ(pieces, (200u + 6) / 7);

  std::vector<BatchScore> scores(cases_.snapshots.size());
  ASSERT_TRUE(scorer->Score(cases_.snapshots, scores, {}));
  simdjson::dom::parser parser;
  const std::vector<std::string> lines = SplitLines(text);
  ASSERT_EQ(lines.size(), scores.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    simdjson::dom::object record;
    ASSERT_EQ(parser.parse(line).get_object().get(record), simdjson::SUCCESS) << line;
    std::vector<std::string> keys;
    for (auto field : record) keys.emplace_back(field.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"userId", "snapshot_ts", "risk", "tier", "reasons",
                                              "modelVersion"}));
    EXPECT_EQ(std::string(record["userId"].get_string().value()), "u_" + std::to_string(i));
    EXPECT_EQ(std::string(record["snapshot_ts"].get_string().value()),
              FormatRfc3339(cases_.snapshots[i].snapshot_ts));
    EXPECT_EQ(record["risk"].get_double().value(), RoundTo(scores[i].risk, 4))
        << "risk rounded as /score rounds it";
    EXPECT_EQ(std::string(record["modelVersion"].get_string().value()), version_);
    EXPECT_EQ(std::string(record["tier"].get_string().value()), TierName(scores[i].tier));
    std::vector<std::string> reasons;
    for (auto r : record["reasons"].get_array()) reasons.emplace_back(r.get_string().value());
    std::vector<std::string> expected;
    scores[i].reasons.ForEach([&](Reason r) { expected.emplace_back(ReasonName(r)); });
    EXPECT_EQ(reasons, expected);
  }
}

TEST_F(BatchScorerTest, FullPrecisionPrintsTheProbabilitySoItReadsBackExactly) {
  auto scorer = LoadBatchScorer(*registry_, version_);
  ASSERT_TRUE(scorer.has_value()) << scorer.error().message;
  BatchScoringOptions options = SmallBlocks();
  options.full_precision_risk = true;
  std::string text;
  ASSERT_TRUE(scorer->WriteJsonLines(cases_.snapshots, options, [&](std::string_view t) {
    text.append(t);
    return Status{};
  }));
  std::vector<BatchScore> scores(cases_.snapshots.size());
  ASSERT_TRUE(scorer->Score(cases_.snapshots, scores, {}));
  simdjson::dom::parser parser;
  const std::vector<std::string> lines = SplitLines(text);
  ASSERT_EQ(lines.size(), scores.size());
  std::size_t unrounded = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    simdjson::dom::element record;
    ASSERT_EQ(parser.parse(lines[i]).get(record), simdjson::SUCCESS) << lines[i];
    EXPECT_EQ(record["risk"].get_double().value(), scores[i].risk) << "risk reads back exactly";
    if (scores[i].risk != RoundTo(scores[i].risk, 4)) ++unrounded;
  }
  EXPECT_GT(unrounded, 0u) << "the fixture's probabilities have more than 4 decimals";
}

TEST_F(BatchScorerTest, ALineIsTheScoreBodyOfTheApiAfterTheSnapshotsIdentity) {
  // The same features through ServingModel and the /score writer, and through the batch path:
  // the line is {"userId":...,"snapshot_ts":...,<the /score body's members>}.
  auto loaded = LoadVersion(*registry_, version_);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  auto scorer = BatchScorer::ForModel(loaded->model);
  ASSERT_TRUE(scorer.has_value()) << scorer.error().message;
  std::vector<BatchScore> scores(cases_.snapshots.size());
  ASSERT_TRUE(scorer->Score(cases_.snapshots, scores, SmallBlocks()));
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const Snapshot& s = cases_.snapshots[i];
    Result<ScoreResult> live = loaded->model->Score(s.features);
    ASSERT_TRUE(live.has_value()) << live.error().message;
    std::string body;
    AppendScoreResponseJson(&body, *live, version_);
    std::string line;
    AppendBatchScoreJsonLine(&line, s, scores[i], version_);
    EXPECT_EQ(line, R"({"userId":")" + s.user_id + R"(","snapshot_ts":")" +
                        FormatRfc3339(s.snapshot_ts) + "\"," + body.substr(1) + "\n")
        << "case " << i;
  }
}

TEST_F(BatchScorerTest, CertainRisksPrintAsFloats) {
  Snapshot s;
  s.user_id = "u\"1";
  s.snapshot_ts = 0;
  std::string line;
  AppendBatchScoreJsonLine(&line, s, BatchScore{1.0, Tier::kHigh, ReasonSet{}}, "v1");
  EXPECT_EQ(line,
            R"({"userId":"u\"1","snapshot_ts":"1970-01-01T00:00:00Z","risk":1.0,"tier":"high",)"
            R"("reasons":[],"modelVersion":"v1"})"
            "\n");
  line.clear();
  AppendBatchScoreJsonLine(&line, s, BatchScore{0.39996, Tier::kMedium, ReasonSet{}}, "v1");
  EXPECT_NE(line.find(R"("risk":0.4,)"), std::string::npos) << line;
  line.clear();
  AppendBatchScoreJsonLine(&line, s, BatchScore{0.39996, Tier::kMedium, ReasonSet{}}, "v1",
                           /*full_precision_risk=*/true);
  EXPECT_NE(line.find(R"("risk":0.39996,)"), std::string::npos) << line;
}

TEST_F(BatchScorerTest, TheFileAppearsWholeAndNoTemporaryFileIsLeft) {
  auto scorer = LoadBatchScorer(*registry_, version_);
  ASSERT_TRUE(scorer.has_value()) << scorer.error().message;
  const fs::path out = dir_ / "scores.jsonl";
  auto summary = scorer->WriteJsonLinesFile(cases_.snapshots, SmallBlocks(), out);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  std::string expected;
  ASSERT_TRUE(scorer->WriteJsonLines(cases_.snapshots, {}, [&](std::string_view t) {
    expected.append(t);
    return Status{};
  }));
  EXPECT_EQ(ReadWholeFile(out), expected) << "the block size and threads do not change the output";
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(BatchScorerTest, AFailedRunLeavesAnExistingTargetUntouched) {
  const fs::path out = dir_ / "scores.jsonl";
  std::ofstream(out) << "yesterday\n";
  // A "model" that returns an impossible probability fails the run after some blocks.
  auto broken = BatchScorer::Create("v1", FeatureEncoder::DefaultColumns(), Thresholds{},
                                    testing::FakePredictor::Returning(12, 1.5));
  ASSERT_TRUE(broken.has_value()) << broken.error().message;
  auto summary = broken->WriteJsonLinesFile(cases_.snapshots, SmallBlocks(), out);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kModel);
  EXPECT_NE(summary.error().message.find("expected a probability in [0, 1], got 1.5"),
            std::string::npos)
      << summary.error().message;
  EXPECT_EQ(ReadWholeFile(out), "yesterday\n");
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(BatchScorerTest, AnUnwritableTargetIsAnIoErrorNamingThePath) {
  auto scorer = LoadBatchScorer(*registry_, version_);
  ASSERT_TRUE(scorer.has_value());
  const fs::path out = dir_ / "no-such-dir" / "scores.jsonl";
  auto summary = scorer->WriteJsonLinesFile(cases_.snapshots, {}, out);
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kIo);
  EXPECT_NE(summary.error().message.find(out.string()), std::string::npos)
      << summary.error().message;
}

TEST_F(BatchScorerTest, NoSnapshotsGiveAnEmptyFile) {
  auto scorer = LoadBatchScorer(*registry_, version_);
  ASSERT_TRUE(scorer.has_value());
  const fs::path out = dir_ / "empty.jsonl";
  auto summary = scorer->WriteJsonLinesFile({}, {}, out);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  EXPECT_EQ(summary->rows, 0u);
  EXPECT_TRUE(fs::exists(out));
  EXPECT_EQ(fs::file_size(out), 0u);
}

TEST_F(BatchScorerTest, AMissingVersionIsNotFound) {
  auto scorer = LoadBatchScorer(*registry_, "risk-xgb-2000-01-01-0000");
  ASSERT_FALSE(scorer.has_value());
  EXPECT_EQ(scorer.error().code, ErrorCode::kNotFound);
}

TEST_F(BatchScorerTest, BadOptionsAndMismatchedPartsAreRefused) {
  auto scorer = LoadBatchScorer(*registry_, version_);
  ASSERT_TRUE(scorer.has_value());
  BatchScoringOptions options;
  options.block_rows = 0;
  std::vector<BatchScore> scores(cases_.snapshots.size());
  EXPECT_FALSE(scorer->Score(cases_.snapshots, scores, options));
  std::vector<BatchScore> too_few(3);
  EXPECT_FALSE(scorer->Score(cases_.snapshots, too_few, {}));

  auto wrong_width = BatchScorer::Create("v1", FeatureEncoder::DefaultColumns(), Thresholds{},
                                         testing::FakePredictor::Returning(9, 0.5));
  ASSERT_FALSE(wrong_width.has_value());
  EXPECT_NE(wrong_width.error().message.find("expects 9 features but meta.json lists 12"),
            std::string::npos)
      << wrong_width.error().message;
}

}  // namespace
}  // namespace csml
