#include "csml/model/xgboost_booster.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "csml/model/xgboost_predictor.h"

namespace csml {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// rows x 3 matrix: column 0 decides the label (label 1 when x0 > 0.5), columns 1 and 2 are
// noise, and every 7th row misses column 2.
LabeledMatrix MakeSeparableData(std::size_t rows, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  LabeledMatrix data;
  data.features = DenseMatrix::Missing(rows, 3);
  data.features.column_names = {"signal", "noise_a", "noise_b"};
  for (std::size_t r = 0; r < rows; ++r) {
    auto row = data.features.Row(r);
    row[0] = uniform(rng);
    row[1] = uniform(rng);
    row[2] = (r % 7 == 0) ? kNaN : uniform(rng);
    data.labels.push_back(row[0] > 0.5f ? 1.0f : 0.0f);
  }
  return data;
}

BoosterParams SmallParams() {
  BoosterParams p;
  p.eta = 0.3;
  p.max_leaves = 8;
  p.threads = 1;
  return p;
}

XgboostBooster TrainSmall(int rounds) {
  const LabeledMatrix train = MakeSeparableData(400, 1);
  const LabeledMatrix valid = MakeSeparableData(200, 2);
  auto booster = XgboostBooster::Create(SmallParams(), train, &valid);
  EXPECT_TRUE(booster.has_value()) << booster.error().message;
  for (int i = 0; i < rounds; ++i) {
    auto s = booster->UpdateOneIteration(i);
    EXPECT_TRUE(s.has_value()) << s.error().message;
  }
  return std::move(*booster);
}

std::vector<double> Rows(std::initializer_list<std::initializer_list<double>> rows) {
  std::vector<double> out;
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}

TEST(XgboostBooster, LearnsALabelThatDependsOnOneFeature) {
  XgboostBooster booster = TrainSmall(20);
  ASSERT_EQ(booster.NumBoostedRounds().value(), 20);
  const std::vector<double> rows = Rows({{0.9, 0.5, 0.5}, {0.1, 0.5, 0.5}, {0.8, 0.1, NAN}});
  std::vector<double> risk(3);
  ASSERT_TRUE(booster.PredictDense(rows, 3, risk).has_value());
  EXPECT_GT(risk[0], 0.8);
  EXPECT_LT(risk[1], 0.2);
  EXPECT_GT(risk[2], 0.8);

  auto auc = booster.EvaluateValidation("auc");
  ASSERT_TRUE(auc.has_value()) << auc.error().message;
  EXPECT_GT(*auc, 0.95);
  auto all = booster.EvaluateValidation();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_LT(all->at("logloss"), 0.3);
  EXPECT_FALSE(booster.EvaluateValidation("rmse").has_value());
}

TEST(XgboostBooster, RanksTheSignalFeatureFirstByGain) {
  XgboostBooster booster = TrainSmall(10);
  auto gain = booster.FeatureImportanceGain();
  ASSERT_TRUE(gain.has_value()) << gain.error().message;
  ASSERT_FALSE(gain->empty());
  EXPECT_EQ(gain->front().first, "signal");
  for (std::size_t i = 1; i < gain->size(); ++i)
    EXPECT_GE((*gain)[i - 1].second, (*gain)[i].second);
}

TEST(XgboostBooster, SaveAndLoadGiveIdenticalPredictionsAndKeepFeatureNames) {
  XgboostBooster booster = TrainSmall(15);
  auto json = booster.SaveJson();
  ASSERT_TRUE(json.has_value()) << json.error().message;
  EXPECT_NE(json->find("\"noise_a\""), std::string::npos);

  auto loaded = XgboostBooster::LoadJson(*json);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->num_features(), 3u);
  EXPECT_EQ(loaded->NumBoostedRounds().value(), 15);
  EXPECT_EQ(loaded->FeatureNames().value(),
            (std::vector<std::string>{"signal", "noise_a", "noise_b"}));
  EXPECT_EQ(loaded->Objective().value(), "binary:logistic");

  const LabeledMatrix probe = MakeSeparableData(50, 3);
  std::vector<double> rows(probe.features.values.begin(), probe.features.values.end());
  std::vector<double> before(50);
  std::vector<double> after(50);
  ASSERT_TRUE(booster.PredictDense(rows, 3, before).has_value());
  ASSERT_TRUE(loaded->PredictDense(rows, 3, after).has_value());
  EXPECT_EQ(before, after);
  EXPECT_FALSE(loaded->UpdateOneIteration(15).has_value());
}

TEST(XgboostBooster, SliceKeepsTheFirstRounds) {
  XgboostBooster booster = TrainSmall(12);
  auto slice = booster.Slice(0, 5);
  ASSERT_TRUE(slice.has_value()) << slice.error().message;
  EXPECT_EQ(slice->NumBoostedRounds().value(), 5);
  EXPECT_EQ(slice->FeatureNames().value().size(), 3u);

  // A booster trained for exactly 5 rounds with the same seed predicts the same.
  XgboostBooster five = TrainSmall(5);
  const std::vector<double> rows = Rows({{0.7, 0.2, 0.9}, {0.3, 0.2, 0.1}});
  std::vector<double> a(2);
  std::vector<double> b(2);
  ASSERT_TRUE(slice->PredictDense(rows, 3, a).has_value());
  ASSERT_TRUE(five.PredictDense(rows, 3, b).has_value());
  EXPECT_EQ(a, b);

  EXPECT_FALSE(booster.Slice(0, 13).has_value());
  EXPECT_FALSE(booster.Slice(4, 4).has_value());
  EXPECT_FALSE(booster.Slice(-1, 3).has_value());
}

TEST(XgboostBooster, RefusesRoundsOutOfOrderAndMisshapenRows) {
  XgboostBooster booster = TrainSmall(1);
  EXPECT_FALSE(booster.UpdateOneIteration(5).has_value());
  std::vector<double> out(1);
  const std::vector<double> two_cols = {0.1, 0.2};
  auto s = booster.PredictDense(two_cols, 2, out);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  const std::vector<double> four = {0.1, 0.2, 0.3, 0.4};
  EXPECT_FALSE(booster.PredictDense(four, 3, out).has_value());
}

TEST(XgboostBooster, WithoutValidationDataEvaluateIsAnError) {
  const LabeledMatrix train = MakeSeparableData(50, 4);
  auto booster = XgboostBooster::Create(SmallParams(), train, nullptr);
  ASSERT_TRUE(booster.has_value());
  EXPECT_FALSE(booster->has_validation());
  auto e = booster->EvaluateValidation();
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message.find("no validation data"), std::string::npos);
}

TEST(XgboostBooster, RefusesBadTrainingData) {
  LabeledMatrix data = MakeSeparableData(10, 5);
  data.labels[3] = 0.5f;
  auto bad_label = XgboostBooster::Create(SmallParams(), data, nullptr);
  ASSERT_FALSE(bad_label.has_value());
  EXPECT_NE(bad_label.error().message.find("row 3: expected 0 or 1, got 0.5"), std::string::npos);

  LabeledMatrix short_labels = MakeSeparableData(10, 5);
  short_labels.labels.pop_back();
  EXPECT_FALSE(XgboostBooster::Create(SmallParams(), short_labels, nullptr).has_value());

  const LabeledMatrix train = MakeSeparableData(10, 5);
  LabeledMatrix narrow;
  narrow.features = DenseMatrix::Missing(2, 2);
  narrow.labels = {0, 1};
  EXPECT_FALSE(XgboostBooster::Create(SmallParams(), train, &narrow).has_value());
}

struct BadParamCase {
  std::string name;
  void (*mutate)(BoosterParams&);
  std::string expected_fragment;
};

class BoosterParamsRefuses : public ::testing::TestWithParam<BadParamCase> {};

TEST_P(BoosterParamsRefuses, TheOffendingField) {
  BoosterParams p;
  GetParam().mutate(p);
  auto s = p.Validate();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find(GetParam().expected_fragment), std::string::npos)
      << s.error().message;
  const LabeledMatrix train = MakeSeparableData(10, 6);
  EXPECT_FALSE(XgboostBooster::Create(p, train, nullptr).has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Table, BoosterParamsRefuses,
    ::testing::Values(
        BadParamCase{"ZeroEta", [](BoosterParams& p) { p.eta = 0; },
                     "eta: expected a number in (0, 1], got 0"},
        BadParamCase{"NanEta", [](BoosterParams& p) { p.eta = NAN; }, "eta"},
        BadParamCase{"NegativeLeaves", [](BoosterParams& p) { p.max_leaves = -1; }, "max_leaves"},
        BadParamCase{"UnboundedTrees",
                     [](BoosterParams& p) {
                       p.max_leaves = 0;
                       p.max_depth = 0;
                     },
                     "max_leaves > 0 or max_depth > 0"},
        BadParamCase{"UnknownTreeMethod", [](BoosterParams& p) { p.tree_method = "gpu"; },
                     "tree_method"},
        BadParamCase{"UnknownGrowPolicy", [](BoosterParams& p) { p.grow_policy = "x"; },
                     "grow_policy"},
        BadParamCase{"SubsampleAboveOne", [](BoosterParams& p) { p.subsample = 1.5; }, "subsample"},
        BadParamCase{"ColsampleZero", [](BoosterParams& p) { p.colsample_bytree = 0; },
                     "colsample_bytree"},
        BadParamCase{"NegativeLambda", [](BoosterParams& p) { p.lambda = -1; }, "lambda"},
        BadParamCase{"OneBin", [](BoosterParams& p) { p.max_bin = 1; }, "max_bin"},
        BadParamCase{"HugeSeed", [](BoosterParams& p) { p.seed = UINT64_MAX; }, "seed"},
        BadParamCase{"NegativeThreads", [](BoosterParams& p) { p.threads = -2; }, "threads"},
        BadParamCase{"UnknownMetric", [](BoosterParams& p) { p.eval_metrics = {"rmse"}; },
                     "eval_metrics"},
        BadParamCase{"DepthwiseWithoutDepth", [](BoosterParams& p) { p.grow_policy = "depthwise"; },
                     "max_depth"}),
    [](const ::testing::TestParamInfo<BadParamCase>& tc) { return tc.param.name; });

TEST(BoosterParams, DefaultsAreValid) { EXPECT_TRUE(BoosterParams{}.Validate().has_value()); }

class CorruptModelJson : public ::testing::TestWithParam<std::string> {};

TEST_P(CorruptModelJson, IsAnErrorNotACrash) {
  auto booster = XgboostBooster::LoadJson(GetParam());
  EXPECT_FALSE(booster.has_value());
  auto predictor = XgboostPredictor::FromJson(GetParam());
  ASSERT_FALSE(predictor.has_value());
  EXPECT_FALSE(predictor.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(Table, CorruptModelJson,
                         ::testing::Values("", "   ", "not json", "\x01\x02\x03\x04", "{", "{}",
                                           "[1,2,3]", R"({"learner":{}})",
                                           R"({"version":[1,7,4],"learner":{"attributes":{}}})"));

struct Mutation {
  std::string name;
  std::string from;
  std::string to;
  std::string expected_fragment;
};

class TamperedModelJson : public ::testing::TestWithParam<Mutation> {};

// Valid JSON whose trees point outside their arrays would make XGBoost read out of bounds;
// each such model must be refused with a message naming the broken part.
TEST_P(TamperedModelJson, IsRefusedBeforeXgboostReadsIt) {
  XgboostBooster booster = TrainSmall(3);
  std::string json = booster.SaveJson().value();
  const std::size_t at = json.find(GetParam().from);
  ASSERT_NE(at, std::string::npos) << GetParam().from;
  json.replace(at, GetParam().from.size(), GetParam().to);
  auto p = XgboostPredictor::FromJson(json);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, ErrorCode::kValidation) << p.error().message;
  EXPECT_NE(p.error().message.find(GetParam().expected_fragment), std::string::npos)
      << p.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, TamperedModelJson,
    ::testing::Values(
        Mutation{"SplitFeatureOutOfRange", R"("split_indices":[0,)", R"("split_indices":[1000,)",
                 "split_indices[0]: expected a feature index in [0, 3), got 1000"},
        Mutation{"ChildOutOfRange", R"("left_children":[1,)", R"("left_children":[100,)",
                 "left_children[0]: expected -1 or a node index"},
        Mutation{"NegativeChild", R"("right_children":[2,)", R"("right_children":[-7,)",
                 "right_children[0]: expected -1 or a node index"},
        Mutation{"ChildIsTheRoot", R"("left_children":[1,)", R"("left_children":[0,)",
                 "left_children[0]: expected -1 or a node index"},
        Mutation{"TwoParentsForOneNode", R"("right_children":[2,)", R"("right_children":[1,)",
                 "a node no other node points to"},
        Mutation{"TooManyTreesDeclared", R"("num_trees":"3")", R"("num_trees":"30")", "num_trees"},
        Mutation{"RepeatedTreeId", R"("id":1,)", R"("id":0,)", "trees[1].id"},
        Mutation{"NodeCountDisagrees", R"("num_nodes":")", R"("num_nodes":"9)",
                 "left_children: expected 9"},
        Mutation{"NotAGbtree", R"("name":"gbtree")", R"("name":"gblinear")", "gbtree"},
        Mutation{"MultiClass", R"("num_class":"0")", R"("num_class":"3")", "num_class"}),
    [](const ::testing::TestParamInfo<Mutation>& tc) { return tc.param.name; });

TEST(XgboostPredictor, RefusesATruncatedModel) {
  XgboostBooster booster = TrainSmall(3);
  const std::string json = booster.SaveJson().value();
  for (std::size_t cut : {json.size() / 4, json.size() / 2, json.size() - 2}) {
    auto p = XgboostPredictor::FromJson(std::string_view(json).substr(0, cut));
    EXPECT_FALSE(p.has_value()) << "cut at " << cut;
  }
}

TEST(XgboostPredictor, RefusesAModelThatIsNotBinaryLogistic) {
  XgboostBooster booster = TrainSmall(2);
  std::string json = booster.SaveJson().value();
  const std::string from = "\"name\":\"binary:logistic\"";
  const std::size_t at = json.find(from);
  ASSERT_NE(at, std::string::npos);
  json.replace(at, from.size(), "\"name\":\"reg:squarederror\"");
  auto p = XgboostPredictor::FromJson(json);
  EXPECT_FALSE(p.has_value());
}

TEST(XgboostPredictor, MatchesTheBoosterAndChecksRowWidth) {
  XgboostBooster booster = TrainSmall(10);
  auto predictor = XgboostPredictor::FromJson(booster.SaveJson().value());
  ASSERT_TRUE(predictor.has_value()) << predictor.error().message;
  const XgboostPredictor& p = **predictor;
  EXPECT_EQ(p.num_features(), 3u);

  const std::vector<double> rows = Rows({{0.9, 0.1, 0.1}, {0.2, 0.9, NAN}});
  std::vector<double> expected(2);
  ASSERT_TRUE(booster.PredictDense(rows, 3, expected).has_value());
  std::vector<double> batch(2);
  ASSERT_TRUE(p.PredictBatch(rows, batch).has_value());
  EXPECT_EQ(batch, expected);
  EXPECT_EQ(p.PredictRisk(std::span(rows).first(3)).value(), expected[0]);

  EXPECT_FALSE(p.PredictRisk(std::span(rows).first(2)).has_value());
  std::vector<double> too_small(1);
  EXPECT_FALSE(p.PredictBatch(rows, too_small).has_value());
  EXPECT_FALSE(XgboostPredictor::FromJson(booster.SaveJson().value(), {.threads = -1}).has_value());
}

TEST(XgboostPredictor, GivesTheSameAnswersFromManyThreadsAtOnce) {
  XgboostBooster booster = TrainSmall(10);
  auto predictor = XgboostPredictor::FromJson(booster.SaveJson().value());
  ASSERT_TRUE(predictor.has_value());
  const XgboostPredictor& p = **predictor;
  const LabeledMatrix probe = MakeSeparableData(64, 9);
  const std::vector<double> rows(probe.features.values.begin(), probe.features.values.end());
  std::vector<double> expected(64);
  ASSERT_TRUE(p.PredictBatch(rows, expected).has_value());

  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int repeat = 0; repeat < 20; ++repeat) {
        for (std::size_t r = 0; r < 64; ++r) {
          auto risk = p.PredictRisk(std::span(rows).subspan(r * 3, 3));
          if (!risk || *risk != expected[r]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace csml
