// ForestPredictor: the Predictor interface over a Forest, its size checks, and many threads
// scoring through one shared instance.
#include "csml/predict/forest_predictor.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "csml/ensemble/predictor.h"
#include "csml/features/schema.h"
#include "testing/fixture_cases.h"

namespace csml {
namespace {

struct LoadedFixture {
  std::unique_ptr<Predictor> predictor;
  std::vector<double> rows;
  std::vector<double> expected;  // the library's probabilities
};

LoadedFixture LoadFixture(const std::string& name, const std::string& model_file) {
  LoadedFixture f;
  auto bytes = testing::ReadFile(testing::FixturePath(name, model_file));
  EXPECT_TRUE(bytes.has_value());
  auto predictor = MakeForestPredictor(*bytes);
  EXPECT_TRUE(predictor.has_value()) << predictor.error().message;
  f.predictor = std::move(*predictor);
  const auto& forest = dynamic_cast<const ForestPredictor&>(*f.predictor).forest();
  auto encoder = FeatureEncoder::Create(forest.feature_names());
  EXPECT_TRUE(encoder.has_value());
  auto cases_json = testing::ReadFile(testing::FixturePath(name, "cases.json"));
  EXPECT_TRUE(cases_json.has_value());
  auto cases = testing::LoadCases(*cases_json);
  EXPECT_TRUE(cases.has_value());
  const std::size_t width = encoder->num_columns();
  f.rows.resize(cases->size() * width);
  for (std::size_t i = 0; i < cases->size(); ++i) {
    encoder->Encode((*cases)[i].features, std::span<double>(f.rows).subspan(i * width, width));
    f.expected.push_back((*cases)[i].expected_risk);
  }
  return f;
}

TEST(ForestPredictor, ScoresThroughThePredictorInterface) {
  const LoadedFixture f = LoadFixture("xgboost_synth", "model.json");
  ASSERT_EQ(f.predictor->num_features(), 12u);
  auto risk = f.predictor->PredictRisk(std::span<const double>(f.rows).first(12));
  ASSERT_TRUE(risk.has_value()) << risk.error().message;
  EXPECT_NEAR(*risk, f.expected[0], 1e-6);
  std::vector<double> out(f.expected.size());
  ASSERT_TRUE(f.predictor->PredictBatch(f.rows, out).has_value());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], f.expected[i], 1e-6);
}

TEST(ForestPredictor, RefusesRowsAndBuffersOfTheWrongSize) {
  const LoadedFixture f = LoadFixture("lightgbm_synth_categorical", "model.txt");
  auto short_row = f.predictor->PredictRisk(std::span<const double>(f.rows).first(8));
  ASSERT_FALSE(short_row.has_value());
  EXPECT_EQ(short_row.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(short_row.error().message, "expected a row of 9 features, got 8");

  std::vector<double> out(3);
  auto ragged = f.predictor->PredictBatch(std::span<const double>(f.rows).first(20), out);
  ASSERT_FALSE(ragged.has_value());
  EXPECT_EQ(ragged.error().message, "expected rows of 9 features, got 20 values in all");
  auto small_out = f.predictor->PredictBatch(std::span<const double>(f.rows).first(36), out);
  ASSERT_FALSE(small_out.has_value());
  EXPECT_EQ(small_out.error().message,
            "expected an output buffer of 4 values (one per row), got 3");
  // An empty batch is fine.
  EXPECT_TRUE(f.predictor->PredictBatch({}, std::span<double>()).has_value());
}

TEST(ForestPredictor, ManyThreadsScoringAtOnceAgreeWithOneThread) {
  std::vector<LoadedFixture> fixtures;
  fixtures.push_back(LoadFixture("lightgbm_synth", "model.txt"));
  fixtures.push_back(LoadFixture("lightgbm_synth_categorical", "model.txt"));
  fixtures.push_back(LoadFixture("xgboost_synth", "model.json"));
  std::vector<std::vector<double>> reference;
  for (const LoadedFixture& f : fixtures) {
    std::vector<double> out(f.expected.size());
    ASSERT_TRUE(f.predictor->PredictBatch(f.rows, out).has_value());
    reference.push_back(std::move(out));
  }

  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  std::atomic<int> mismatches{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int round = 0; round < kRounds; ++round) {
        for (std::size_t k = 0; k < fixtures.size(); ++k) {
          const LoadedFixture& f = fixtures[(k + static_cast<std::size_t>(t)) % fixtures.size()];
          const std::vector<double>& ref =
              reference[(k + static_cast<std::size_t>(t)) % fixtures.size()];
          const std::size_t width = f.predictor->num_features();
          for (std::size_t i = 0; i < ref.size(); ++i) {
            auto risk =
                f.predictor->PredictRisk(std::span<const double>(f.rows).subspan(i * width, width));
            if (!risk.has_value() || *risk != ref[i]) mismatches.fetch_add(1);
          }
          std::vector<double> out(ref.size());
          if (!f.predictor->PredictBatch(f.rows, out).has_value() || out != ref) {
            mismatches.fetch_add(1);
          }
        }
      }
    });
  }
  go.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace csml
