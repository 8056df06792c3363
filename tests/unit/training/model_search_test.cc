#include "csml/training/model_search.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/registry/model_meta.h"
#include "csml/training/trainer.h"
#include "synthetic_data.h"

namespace csml {
namespace {

using testing::kTestAsOf;
using testing::MakeDataset;

// 400 customers x 20 weeks: 8,000 rows, enough for three folds with both labels.
Dataset SearchDataset() {
  testing::SyntheticOptions o;
  o.customers = 400;
  o.weeks = 20;
  o.seed = 3;
  return MakeDataset(o);
}

TrainOptions SearchOptionsForTest(double budget_seconds) {
  TrainOptions o;
  o.booster.threads = 1;
  o.max_rounds = 200;
  o.early_stopping_rounds = 10;
  o.created_at = kTestAsOf + 3600;
  o.search = SearchOptions{};
  o.search->budget_seconds = budget_seconds;
  return o;
}

TEST(RollingOriginFolds, NeverTrainOnRowsNewerThanOrLabelsLearnedAfterTheirValidation) {
  const Dataset d = SearchDataset();
  auto folds = RollingOriginFolds(d.snapshot_ts, d.label_ts, {}, 3, 0.45);
  ASSERT_TRUE(folds.has_value()) << folds.error().message;
  ASSERT_EQ(folds->size(), 3u);
  UnixSeconds previous_from = 0;
  for (const CvFold& f : *folds) {
    ASSERT_FALSE(f.train.empty());
    ASSERT_FALSE(f.validation.empty());
    EXPECT_GT(f.validation_from, previous_from);  // slices move forward in time
    previous_from = f.validation_from;
    UnixSeconds oldest_validation = f.validation.empty() ? 0 : d.snapshot_ts[f.validation[0]];
    for (std::size_t v : f.validation) {
      oldest_validation = std::min(oldest_validation, d.snapshot_ts[v]);
    }
    EXPECT_EQ(oldest_validation, f.validation_from);
    for (std::size_t t : f.train) {
      EXPECT_LT(d.snapshot_ts[t], f.validation_from);
      EXPECT_LT(d.label_ts[t], f.validation_from);  // the embargo
    }
    EXPECT_GT(f.embargoed, 0u);  // 30-day outcomes: the weeks before the slice are held back
  }
  // Consecutive slices do not overlap, and the last ends with the newest row.
  for (std::size_t k = 0; k + 1 < folds->size(); ++k) {
    EXPECT_LT((*folds)[k].validation_to, (*folds)[k + 1].validation_from);
  }
  EXPECT_EQ(folds->back().validation_to,
            *std::max_element(d.snapshot_ts.begin(), d.snapshot_ts.end()));
}

TEST(RollingOriginFolds, RefusesTooFewRows) {
  const std::vector<UnixSeconds> ts = {1, 2};
  const std::vector<UnixSeconds> label = {5, 6};
  auto folds = RollingOriginFolds(ts, label, {}, 3, 0.45);
  ASSERT_FALSE(folds.has_value());
  EXPECT_EQ(folds.error().code, ErrorCode::kValidation);
}

TEST(ModelSearch, SameDataAndOptionsGiveTheSameModelBytes) {
  const Dataset d = SearchDataset();
  const TrainOptions o = SearchOptionsForTest(0.5);
  auto first = TrainModel(d, o);
  auto second = TrainModel(d, o);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(first->model_json, second->model_json);
  ASSERT_TRUE(first->report.search.has_value());
  const SearchRecord& s = *first->report.search;
  EXPECT_TRUE(s.skipped.empty()) << s.skipped;
  EXPECT_GE(s.candidates_planned, 2);
  EXPECT_EQ(s.folds.size(), 3u);
  ASSERT_GE(s.winner, 0);
  EXPECT_EQ(s.trials[static_cast<std::size_t>(s.winner)].fold_auc.size(), 3u);
  // The served params are the winner's.
  EXPECT_EQ(CandidateOf(first->report.params), s.trials[static_cast<std::size_t>(s.winner)].params);
  EXPECT_EQ(second->report.search->winner, s.winner);
  EXPECT_EQ(second->report.search->work_used, s.work_used);
}

TEST(ModelSearch, ALargerBudgetTriesMoreCandidates) {
  const Dataset d = SearchDataset();
  auto small = TrainModel(d, SearchOptionsForTest(0.2));
  auto large = TrainModel(d, SearchOptionsForTest(1.5));
  ASSERT_TRUE(small.has_value() && large.has_value());
  EXPECT_LT(small->report.search->candidates_planned, large->report.search->candidates_planned);
  // The winner is never worse out of fold than the fixed configuration (candidate 0).
  const SearchRecord& s = *large->report.search;
  const SearchRecord::Trial& winner = s.trials[static_cast<std::size_t>(s.winner)];
  if (s.trials[0].fold_auc.size() == winner.fold_auc.size()) {
    EXPECT_GE(winner.mean_auc, s.trials[0].mean_auc);
  }
}

TEST(ModelSearch, WithoutASearchTheModelIsTheFixedPathsByteForByte) {
  const Dataset d = SearchDataset();
  TrainOptions fixed = SearchOptionsForTest(1.0);
  fixed.search.reset();
  auto a = TrainModel(d, fixed);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->report.search.has_value());
  EXPECT_EQ(CandidateOf(a->report.params), CandidateOf(DefaultTrainingBoosterParams()));
  // The meta records no search and no new params keys.
  auto summary = TrainingSummary::FromJson(a->meta.extra_json);
  ASSERT_TRUE(summary.has_value());
  EXPECT_FALSE(summary->search.has_value());
  EXPECT_EQ(a->meta.params_json.find("scale_pos_weight"), std::string::npos);
  EXPECT_EQ(a->meta.params_json.find("alpha"), std::string::npos);
  EXPECT_EQ(a->meta.extra_json.find("\"search\""), std::string::npos);
}

TEST(ModelSearch, TheSearchRoundTripsThroughMetaJson) {
  const Dataset d = SearchDataset();
  auto trained = TrainModel(d, SearchOptionsForTest(1.0));
  ASSERT_TRUE(trained.has_value());
  auto summary = TrainingSummary::FromJson(trained->meta.extra_json);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  ASSERT_TRUE(summary->search.has_value());
  const SearchRecord& read = *summary->search;
  const SearchRecord& wrote = *trained->report.search;
  EXPECT_EQ(read.winner, wrote.winner);
  EXPECT_EQ(read.trials.size(), wrote.trials.size());
  EXPECT_EQ(read.folds.size(), wrote.folds.size());
  EXPECT_EQ(read.candidates_planned, wrote.candidates_planned);
  for (std::size_t i = 0; i < read.trials.size(); ++i) {
    EXPECT_EQ(read.trials[i].params, wrote.trials[i].params);
    EXPECT_EQ(read.trials[i].fold_rounds, wrote.trials[i].fold_rounds);
    EXPECT_EQ(read.trials[i].rung, wrote.trials[i].rung);
  }
  auto params = TrainingParams::FromJson(trained->meta.params_json);
  ASSERT_TRUE(params.has_value()) << params.error().message;
  EXPECT_EQ(params->eta, trained->report.params.eta);
  EXPECT_EQ(params->scale_pos_weight, trained->report.params.scale_pos_weight);
}

TEST(ModelSearch, SmallWindowsSkipTheSearchAndSayWhy) {
  testing::SyntheticOptions o;
  o.customers = 30;
  o.weeks = 10;
  const Dataset d = MakeDataset(o);
  auto trained = TrainModel(d, SearchOptionsForTest(1.0));
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  ASSERT_TRUE(trained->report.search.has_value());
  EXPECT_NE(trained->report.search->skipped.find("fewer than"), std::string::npos);
  EXPECT_EQ(CandidateOf(trained->report.params), CandidateOf(DefaultTrainingBoosterParams()));
}

TEST(ModelSearch, MonotoneConstraintsHoldInTheModel) {
  const Dataset d = SearchDataset();
  TrainOptions o = SearchOptionsForTest(0.2);
  o.monotone = {{"failed_renewals_30d", +1}};
  auto trained = TrainModel(d, o);
  ASSERT_TRUE(trained.has_value()) << trained.error().message;
  const auto& columns = d.data.features.column_names;
  const auto col = static_cast<std::size_t>(
      std::find(columns.begin(), columns.end(), "failed_renewals_30d") - columns.begin());
  ASSERT_LT(col, columns.size());
  ASSERT_EQ(trained->report.params.monotone_constraints.size(), columns.size());
  EXPECT_EQ(trained->report.params.monotone_constraints[col], 1);
  // Raising failed renewals never lowers the risk, row by row.
  auto booster = XgboostBooster::LoadJson(trained->model_json).value();
  for (std::size_t r = 0; r < 200; ++r) {
    std::vector<double> rows;
    for (double failed : {0.0, 1.0, 2.0, 3.0}) {
      for (std::size_t c = 0; c < columns.size(); ++c) {
        rows.push_back(c == col ? failed : d.data.features.Row(r)[c]);
      }
    }
    std::vector<double> risk(4);
    ASSERT_TRUE(booster.PredictDense(rows, columns.size(), risk).has_value());
    for (std::size_t k = 1; k < risk.size(); ++k) EXPECT_GE(risk[k], risk[k - 1] - 1e-12);
  }
  TrainOptions unknown = o;
  unknown.monotone = {{"no_such_feature", -1}};
  auto refused = TrainModel(d, unknown);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace csml
