#include "csml/training/model_search.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <utility>

#include <fmt/format.h>

#include "csml/evaluation/metrics.h"
#include "csml/training/trainer.h"

namespace csml {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kHalvingFactor = 3;
constexpr double kAutoMinSeconds = 5.0;
constexpr int kSearchPatience = 25;
constexpr double kTieAuc = 0.001;
constexpr double kAutoWorkFactor = 0.6;  // automatic budget: this times the fixed path's work
constexpr double kOverrun = 1.2;         // no fit starts once the work passes this times the budget
// A winner's final fit (early stopping and refit on the whole window) may cost at most this
// times the fixed path's, as predicted from its rounds on the newest fold (below).
constexpr double kFinalFitFactor = 1.6;
constexpr double kMaxBudgetSeconds = 86400;

// The search space (docs/TRAINING.md lists it). Values are drawn uniformly from each list.
constexpr std::array<double, 4> kEta = {0.03, 0.05, 0.1, 0.2};
constexpr std::array<int, 6> kLeaves = {4, 7, 15, 31, 63, 127};
constexpr std::array<int, 4> kDepth = {0, 0, 6, 10};
constexpr std::array<double, 8> kMinChildWeight = {1e-3, 0.01, 0.1, 1, 3, 10, 30, 100};
constexpr std::array<double, 5> kLambda = {0, 0.1, 1, 5, 20};
constexpr std::array<double, 5> kAlpha = {0, 0, 0.1, 1, 5};
constexpr std::array<double, 4> kSubsample = {0.6, 0.8, 1.0, 1.0};
constexpr std::array<double, 4> kColsample = {0.6, 0.8, 1.0, 1.0};

template <typename T, std::size_t N>
T Draw(std::mt19937_64& rng, const std::array<T, N>& values) {
  // mt19937_64's sequence is fixed by the standard; the modulo bias is immaterial here.
  return values[static_cast<std::size_t>(rng() % N)];
}

std::vector<SearchCandidate> MakeCandidates(int count, std::uint64_t seed) {
  std::vector<SearchCandidate> out;
  out.push_back(CandidateOf(DefaultTrainingBoosterParams()));
  SearchCandidate lightgbm = out.front();
  lightgbm.eta = 0.05;
  lightgbm.max_leaves = 31;
  lightgbm.min_child_weight = 1e-3;
  lightgbm.lambda = 0;
  out.push_back(lightgbm);
  std::mt19937_64 rng(seed ^ 0x5EA7C4ull);
  int attempts = 0;
  while (static_cast<int>(out.size()) < count && attempts < count * 20) {
    ++attempts;
    SearchCandidate c;
    c.eta = Draw(rng, kEta);
    c.max_leaves = Draw(rng, kLeaves);
    c.max_depth = Draw(rng, kDepth);
    c.min_child_weight = Draw(rng, kMinChildWeight);
    c.lambda = Draw(rng, kLambda);
    c.alpha = Draw(rng, kAlpha);
    c.subsample = Draw(rng, kSubsample);
    c.colsample_bytree = Draw(rng, kColsample);
    c.scale_pos_weight = 1;
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  if (static_cast<int>(out.size()) > count) out.resize(static_cast<std::size_t>(count));
  return out;
}

bool HasBothLabels(std::span<const float> labels) {
  const auto positives = std::count(labels.begin(), labels.end(), 1.0f);
  return positives > 0 && static_cast<std::size_t>(positives) < labels.size();
}

struct FoldData {
  LabeledMatrix train;
  LabeledMatrix validation;
  std::vector<double> validation_rows;  // the validation features as doubles, for prediction
};

struct FitResult {
  double auc = std::numeric_limits<double>::quiet_NaN();      // at the best round
  double logloss = std::numeric_limits<double>::quiet_NaN();  // at the best round
  int best_round = 0;
  double work = 0;
};

// Early stopping on the fold's validation slice by the trainer's metric, as the trainer does
// (or exactly `fixed_rounds` rounds when > 0, without evaluation); the AUC and log loss of the
// model cut at the best round are the fold's scores. They are computed here once, not by
// XGBoost each round: XGBoost 1.7's AUC costs more than a round of boosting.
Result<FitResult> FitFold(const BoosterParams& base, const FoldData& fold, int max_rounds,
                          int patience, const std::string& metric, int fixed_rounds) {
  BoosterParams params = base;
  params.eval_metrics = {metric};
  CSML_ASSIGN_OR_RETURN(auto booster, XgboostBooster::Create(params, fold.train, &fold.validation));
  const bool higher_is_better = metric == "auc";
  FitResult out;
  double best = higher_is_better ? -std::numeric_limits<double>::infinity()
                                 : std::numeric_limits<double>::infinity();
  int round = 0;
  if (fixed_rounds > 0) {
    for (; round < fixed_rounds; ++round) CSML_TRY(booster.UpdateOneIteration(round));
    out.best_round = fixed_rounds;
  } else {
    while (round < max_rounds) {
      CSML_TRY(booster.UpdateOneIteration(round));
      ++round;
      CSML_ASSIGN_OR_RETURN(auto value, booster.EvaluateValidation(metric));
      if ((higher_is_better ? value > best : value < best) || out.best_round == 0) {
        best = value;
        out.best_round = round;
      }
      if (round >= std::min(max_rounds, out.best_round + patience)) break;
    }
  }
  CSML_ASSIGN_OR_RETURN(auto sliced, booster.Slice(0, out.best_round));
  std::vector<double> risk(fold.validation.labels.size());
  CSML_TRY(sliced.PredictDense(fold.validation_rows, fold.validation.features.cols, risk));
  CSML_ASSIGN_OR_RETURN(auto metrics, ComputeBinaryMetrics(risk, fold.validation.labels));
  out.auc = metrics.auc;
  out.logloss = metrics.log_loss;
  out.work = static_cast<double>(fold.train.labels.size() + fold.validation.labels.size()) * round;
  return out;
}

double Mean(std::span<const double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

// Ranks trials by mean fold AUC (higher first), then mean log loss, then id.
bool Better(const SearchRecord::Trial& a, const SearchRecord::Trial& b) {
  const double auc_a = std::isnan(a.mean_auc) ? -1 : a.mean_auc;
  const double auc_b = std::isnan(b.mean_auc) ? -1 : b.mean_auc;
  if (auc_a != auc_b) return auc_a > auc_b;
  const double ll_a = std::isnan(a.mean_logloss) ? 1e300 : a.mean_logloss;
  const double ll_b = std::isnan(b.mean_logloss) ? 1e300 : b.mean_logloss;
  if (ll_a != ll_b) return ll_a < ll_b;
  return a.id < b.id;
}

void UpdateMeans(SearchRecord::Trial* t) {
  t->mean_auc = Mean(t->fold_auc);
  t->mean_logloss = Mean(t->fold_logloss);
}

}  // namespace

Status SearchOptions::Validate() const {
  const auto bad = [](std::string_view field, std::string_view expected, auto got) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("search {}: expected {}, got {}", field, expected, got));
  };
  if (!(budget_seconds >= 0.0 && budget_seconds <= kMaxBudgetSeconds)) {
    return bad("budget", "seconds in [0, 86400] (0 = automatic)", budget_seconds);
  }
  if (folds < 2 || folds > 10) return bad("folds", "an integer in [2, 10]", folds);
  if (!(fold_span > 0.0 && fold_span <= 0.9))
    return bad("fold span", "a number in (0, 0.9]", fold_span);
  if (max_search_rows < 1000) return bad("max search rows", "at least 1000", max_search_rows);
  if (max_candidates < 2 || max_candidates > 1000) {
    return bad("max candidates", "an integer in [2, 1000]", max_candidates);
  }
  return {};
}

SearchCandidate CandidateOf(const BoosterParams& p) {
  SearchCandidate c;
  c.eta = p.eta;
  c.max_leaves = p.max_leaves;
  c.max_depth = p.max_depth;
  c.min_child_weight = p.min_child_weight;
  c.lambda = p.lambda;
  c.alpha = p.alpha;
  c.subsample = p.subsample;
  c.colsample_bytree = p.colsample_bytree;
  c.scale_pos_weight = p.scale_pos_weight;
  return c;
}

void ApplyCandidate(const SearchCandidate& c, BoosterParams* p) {
  p->eta = c.eta;
  p->max_leaves = c.max_leaves;
  p->max_depth = c.max_depth;
  p->min_child_weight = c.min_child_weight;
  p->lambda = c.lambda;
  p->alpha = c.alpha;
  p->subsample = c.subsample;
  p->colsample_bytree = c.colsample_bytree;
  p->scale_pos_weight = c.scale_pos_weight;
}

Result<std::vector<CvFold>> RollingOriginFolds(std::span<const UnixSeconds> snapshot_ts,
                                               std::span<const UnixSeconds> label_ts,
                                               std::span<const std::size_t> rows, int folds,
                                               double fold_span) {
  if (snapshot_ts.size() != label_ts.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "folds: expected one label_ts per snapshot_ts");
  }
  if (folds < 1 || !(fold_span > 0.0 && fold_span < 1.0)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("folds: expected folds >= 1 and a span in (0, 1), got {} and {}",
                                 folds, fold_span));
  }
  std::vector<std::size_t> order;
  if (rows.empty()) {
    order.resize(snapshot_ts.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
  } else {
    order.assign(rows.begin(), rows.end());
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return snapshot_ts[a] < snapshot_ts[b]; });
  const std::size_t n = order.size();
  const auto span_rows = static_cast<std::size_t>(std::ceil(fold_span * static_cast<double>(n)));
  if (n < 2 || span_rows < static_cast<std::size_t>(folds) || span_rows >= n) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("folds: {} rows are too few for {} folds", n, folds));
  }
  // Slice starts by row position, moved to the first row of their snapshot time so that rows
  // sharing a snapshot_ts never straddle two slices.
  std::vector<UnixSeconds> starts;
  for (int k = 0; k < folds; ++k) {
    const std::size_t pos =
        n - span_rows + span_rows * static_cast<std::size_t>(k) / static_cast<std::size_t>(folds);
    starts.push_back(snapshot_ts[order[pos]]);
  }
  std::vector<CvFold> out;
  for (int k = 0; k < folds; ++k) {
    const UnixSeconds from = starts[static_cast<std::size_t>(k)];
    const bool last = k + 1 == folds;
    const UnixSeconds to_exclusive =
        last ? std::numeric_limits<UnixSeconds>::max() : starts[static_cast<std::size_t>(k) + 1];
    if (!last && to_exclusive <= from) {
      return MakeError(ErrorCode::kValidation,
                       fmt::format("folds: slice {} is empty (too few snapshot times)", k + 1));
    }
    CvFold fold;
    fold.validation_from = from;
    for (const std::size_t i : order) {
      const UnixSeconds t = snapshot_ts[i];
      if (t >= from && t < to_exclusive) {
        fold.validation.push_back(i);
        fold.validation_to = t;
      } else if (t < from) {
        if (label_ts[i] < from) {
          fold.train.push_back(i);
          fold.train_newest_snapshot_ts = t;
          fold.train_newest_label_ts = std::max(fold.train_newest_label_ts, label_ts[i]);
        } else {
          ++fold.embargoed;
        }
      }
    }
    if (fold.train.empty() || fold.validation.empty()) {
      return MakeError(ErrorCode::kValidation,
                       fmt::format("folds: fold {} has no {} rows", k + 1,
                                   fold.train.empty() ? "training" : "validation"));
    }
    out.push_back(std::move(fold));
  }
  return out;
}

Result<SearchResult> SearchHyperparameters(const Dataset& dataset, const BoosterParams& base,
                                           int max_rounds, int patience, const std::string& metric,
                                           const SearchOptions& options) {
  CSML_TRY(options.Validate());
  const Clock::time_point start = Clock::now();
  SearchResult out;
  out.winner = base;
  SearchRecord& record = out.record;
  record.budget_auto = options.budget_seconds == 0.0;
  record.budget_seconds = options.budget_seconds;
  const auto finish = [&]() {
    record.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  };
  const std::size_t n = dataset.rows();
  if (n < options.min_rows) {
    record.skipped = fmt::format("{} rows in the window, fewer than {}", n, options.min_rows);
    finish();
    return out;
  }

  // ---- the rows searched (every k-th in time order) and the folds
  record.row_stride = (n + options.max_search_rows - 1) / options.max_search_rows;
  std::vector<std::size_t> rows;
  if (record.row_stride > 1) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return dataset.snapshot_ts[a] < dataset.snapshot_ts[b];
    });
    for (std::size_t i = 0; i < n; i += record.row_stride) rows.push_back(order[i]);
  }
  record.search_rows = rows.empty() ? n : rows.size();
  auto folds = RollingOriginFolds(dataset.snapshot_ts, dataset.label_ts, rows, options.folds,
                                  options.fold_span);
  if (!folds) {
    record.skipped = folds.error().message;
    finish();
    return out;
  }
  // Newest fold first: rung r uses folds [0, r].
  std::reverse(folds->begin(), folds->end());
  std::vector<FoldData> data;
  for (const CvFold& f : *folds) {
    SearchRecord::Fold summary;
    summary.validation_from = f.validation_from;
    summary.validation_to = f.validation_to;
    summary.train_newest_label_ts = f.train_newest_label_ts;
    summary.train_rows = f.train.size();
    summary.validation_rows = f.validation.size();
    summary.embargoed_rows = f.embargoed;
    record.folds.push_back(summary);
    FoldData fold_data;
    fold_data.train = GatherRows(dataset, f.train);
    fold_data.validation = GatherRows(dataset, f.validation);
    const std::vector<float>& v = fold_data.validation.features.values;
    fold_data.validation_rows.assign(v.begin(), v.end());
    data.push_back(std::move(fold_data));
    if (!HasBothLabels(data.back().train.labels) || !HasBothLabels(data.back().validation.labels)) {
      record.skipped = fmt::format("fold {} (validation from {}) lacks one of the labels",
                                   record.folds.size(), FormatRfc3339(f.validation_from));
      record.folds.clear();
      finish();
      return out;
    }
  }

  // ---- candidate 0 on the newest fold sizes the budget
  std::vector<SearchCandidate> candidates = MakeCandidates(options.max_candidates, base.seed);
  std::vector<SearchRecord::Trial> trials;
  double work = 0;
  // The search's patience is at most 25 rounds: it ranks candidates, the final fit (with the
  // trainer's patience) sets the rounds.
  const int search_patience = std::min(patience, kSearchPatience);
  const auto fit = [&](std::size_t c, std::size_t fold, int fixed_rounds = 0) -> Status {
    BoosterParams params = base;
    ApplyCandidate(candidates[c], &params);
    CSML_ASSIGN_OR_RETURN(
        auto r, FitFold(params, data[fold], max_rounds, search_patience, metric, fixed_rounds));
    work += r.work;
    SearchRecord::Trial& t = trials[c];
    t.fold_auc.push_back(r.auc);
    t.fold_logloss.push_back(r.logloss);
    t.fold_rounds.push_back(r.best_round);
    UpdateMeans(&t);
    return {};
  };
  trials.resize(candidates.size());
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    trials[c].id = static_cast<int>(c);
    trials[c].params = candidates[c];
    trials[c].rung = -1;  // never fitted
  }
  CSML_TRY(fit(0, 0));
  const double first_work = work;
  // The fixed path boosts on the whole window twice (early stopping, refit) for about the
  // rounds candidate 0 needed on the newest fold.
  const double fixed_work =
      first_work * 2.0 * static_cast<double>(n) /
      static_cast<double>(std::max<std::size_t>(1, data[0].train.labels.size()));
  record.work_budget = record.budget_auto ? std::max(kAutoMinSeconds * kNominalWorkPerSecond,
                                                     kAutoWorkFactor * fixed_work)
                                          : options.budget_seconds * kNominalWorkPerSecond;
  if (record.budget_auto) record.budget_seconds = record.work_budget / kNominalWorkPerSecond;
  // Successive halving over folds costs about 1 + 1/3 + 1/9 + ... < 1.5 first-fold fits per
  // candidate (older folds are smaller; slower rates need more rounds: the hard limit below
  // stops an overrun).
  const double per_candidate = 1.5 * std::max(first_work, 1.0);
  const int planned = std::clamp(static_cast<int>(record.work_budget / per_candidate), 2,
                                 static_cast<int>(candidates.size()));
  candidates.resize(static_cast<std::size_t>(planned));
  trials.resize(candidates.size());
  record.candidates_planned = planned;
  const double hard_limit = kOverrun * record.work_budget;

  // ---- successive halving: rung r fits the survivors on fold r
  std::vector<std::size_t> alive(candidates.size());
  std::iota(alive.begin(), alive.end(), std::size_t{0});
  for (std::size_t rung = 0; rung < data.size() && !alive.empty(); ++rung) {
    std::vector<std::size_t> fitted;
    for (const std::size_t c : alive) {
      if (trials[c].fold_auc.size() <= rung) {
        // Out of budget: not fitted, drops out (candidate 0 is always fitted: see below).
        if (work >= hard_limit && c != 0) continue;
        CSML_TRY(fit(c, rung));
      }
      trials[c].rung = static_cast<int>(rung);
      fitted.push_back(c);
    }
    std::stable_sort(fitted.begin(), fitted.end(),
                     [&](std::size_t a, std::size_t b) { return Better(trials[a], trials[b]); });
    if (rung + 1 == data.size()) {
      alive = fitted;
      break;
    }
    // The last rung keeps at least 1; earlier ones a third, at least 2 when there are 2.
    const std::size_t keep = std::max<std::size_t>(
        std::min<std::size_t>(2, fitted.size()),
        (fitted.size() + kHalvingFactor - 1) / static_cast<std::size_t>(kHalvingFactor));
    const bool incumbent_fitted = std::find(fitted.begin(), fitted.end(), 0) != fitted.end();
    fitted.resize(std::min(keep, fitted.size()));
    // Candidate 0 (the fixed path's configuration) runs every rung: the search moves away from
    // it only for a configuration that beats it on every fold, not on the newest alone.
    if (incumbent_fitted && std::find(fitted.begin(), fitted.end(), 0) == fitted.end()) {
      fitted.push_back(0);
    }
    alive = fitted;
  }
  // What each trial's final fit (early stopping and refit on the whole window) would cost:
  // the fixed path's work times the trial's rounds on the newest fold (every trial has them)
  // over candidate 0's there. Work is rows x rounds, as the search counts its own: measured
  // on 785,897 rows, a round of 4-leaf trees costs about what a round of 7-leaf trees does,
  // since the per-row work of a round (gradients, partitions, the prediction cache)
  // dominates. A low learning rate that early-stops late on the sample boosts as many more
  // rounds on the whole window (or more). Candidate 0 is the fixed path: its ratio is 1.
  const double base_rounds = std::max(trials[0].fold_rounds.front(), 1);
  for (SearchRecord::Trial& t : trials) {
    if (t.fold_rounds.empty()) continue;
    t.final_fit_work = fixed_work * std::max(t.fold_rounds.front(), 1) / base_rounds;
  }
  record.final_fit_cap =
      std::max({kFinalFitFactor * fixed_work, kAutoMinSeconds * kNominalWorkPerSecond,
                record.budget_auto ? 0.0 : record.work_budget});
  const auto affordable = [&](const SearchRecord::Trial& t) {
    return !(t.final_fit_work > record.final_fit_cap);
  };
  // The winner: the best of those fitted on every fold whose final fit is affordable
  // (candidate 0 if none qualifies).
  std::size_t winner = 0;
  bool found = false;
  for (std::size_t c = 0; c < trials.size(); ++c) {
    if (trials[c].fold_auc.size() != data.size() || !affordable(trials[c])) continue;
    if (!found || Better(trials[c], trials[winner])) {
      winner = c;
      found = true;
    }
  }
  if (!found) {
    // Not even candidate 0 reached every fold: finish it so the choice is judged alike.
    for (std::size_t f = trials[0].fold_auc.size(); f < data.size(); ++f) CSML_TRY(fit(0, f));
    winner = 0;
  }
  // Cost-aware tie-break: of the trials on every fold within kTieAuc of the best mean AUC (a
  // difference fold noise cannot tell apart), the one that boosted the fewest rounds, so the
  // final fit is not slower than it needs to be.
  const auto rounds_of = [](const SearchRecord::Trial& t) {
    return std::accumulate(t.fold_rounds.begin(), t.fold_rounds.end(), 0);
  };
  // Candidate 0 among those ties is taken before any of them: the search leaves the fixed
  // configuration only for a gain the folds can tell apart (fold rounds rank the cost of
  // configurations alike, not their quality on the whole window).
  const double best_auc = trials[winner].mean_auc;
  const auto tied = [&](std::size_t c) {
    return trials[c].fold_auc.size() == data.size() && affordable(trials[c]) &&
           trials[c].mean_auc >= best_auc - kTieAuc;
  };
  if (tied(0)) {
    winner = 0;
  } else {
    for (std::size_t c = 0; c < trials.size(); ++c) {
      if (c != winner && tied(c) && rounds_of(trials[c]) < rounds_of(trials[winner])) winner = c;
    }
  }
  record.winner = static_cast<int>(winner);

  // ---- scale_pos_weight: kept only when it raises the mean fold AUC; tried only when the
  // budget still holds the winner's work on every fold (the trial's rounds are the winner's)
  double winner_work = 0;
  for (std::size_t f = 0; f < data.size(); ++f) {
    winner_work +=
        static_cast<double>(data[f].train.labels.size() + data[f].validation.labels.size()) *
        trials[winner].fold_rounds[f];
  }
  if (options.try_scale_pos_weight && work + winner_work <= record.work_budget) {
    const auto positives = static_cast<double>(
        std::count(dataset.data.labels.begin(), dataset.data.labels.end(), 1.0f));
    const double negatives = static_cast<double>(n) - positives;
    const double weight = negatives / std::max(positives, 1.0);
    if (weight > 1.5) {
      SearchCandidate weighted = candidates[winner];
      weighted.scale_pos_weight = weight;
      candidates.push_back(weighted);
      trials.emplace_back();
      trials.back().id = static_cast<int>(winner);
      trials.back().params = weighted;
      trials.back().rung = static_cast<int>(data.size()) - 1;
      // As many rounds per fold as the winner needed: a weighted model's log loss says
      // nothing about the served (calibrated) risk, so it cannot drive early stopping.
      for (std::size_t f = 0; f < data.size(); ++f) {
        CSML_TRY(fit(candidates.size() - 1, f, trials[winner].fold_rounds[f]));
      }
      if (trials.back().mean_auc > trials[winner].mean_auc) {
        record.winner = static_cast<int>(trials.size()) - 1;
        record.scale_pos_weight_kept = true;
      }
    }
  }
  record.trials = std::move(trials);
  record.work_used = work;
  ApplyCandidate(record.trials[static_cast<std::size_t>(record.winner)].params, &out.winner);
  finish();
  return out;
}

}  // namespace csml
