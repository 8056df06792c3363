// Model selection inside `csml train` (docs/TRAINING.md, "Model selection"): hyperparameters
// chosen per data set by rolling-origin cross-validation in the training window, over a fixed
// search space, with successive halving under a work budget.
//
//   Folds. Rows are ordered by snapshot_ts. The newest `fold_span` share of the rows is cut
//   into `folds` consecutive slices by row count; fold k validates on slice k (snapshots in
//   [V_k, V_k+1)) and trains on the rows taken before V_k whose label_ts is before V_k too
//   (the embargo of time_split.h). So no fold trains on a row newer than, or a label learned
//   after, the start of what it validates on. Never a random split.
//
//   Candidates. Candidate 0 is the fixed configuration (DefaultTrainingBoosterParams), 1 is a
//   LightGBM-like one (31 leaves, eta 0.05, min_child_weight 1e-3), the rest are drawn from
//   the space below by a generator seeded with the booster seed (std::mt19937_64, whose
//   output the standard fixes; the mapping to values is written here). Each candidate fit
//   early-stops on its fold's validation slice (the trainer's metric, patience at most 25
//   rounds); its fold scores are the AUC and log loss of the model cut at the best round.
//
//   Successive halving (eta 3). Rung 0 fits every candidate on the newest fold; the best
//   third (by validation AUC, ties by log loss, then by index) goes on to rung 1, which adds
//   the next older fold, and so on until a rung has used every fold; candidate 0 goes on to
//   every rung whatever its rank (and is fitted past the work limit). The winner has the best
//   mean AUC over all folds among the trials whose predicted final fit is affordable (below);
//   of those within 0.001 of it (closer than fold noise tells apart), candidate 0 if it is
//   one, else the one that boosted the fewest rounds (cost-aware tie-break). Then
//   the winner is tried once more with scale_pos_weight = negatives / positives (as many
//   rounds per fold as the winner needed), kept only when its mean fold AUC is higher; the
//   final model's early stopping then watches AUC.
//
//   Budget, deterministic. Cost is counted as work, not time: rows of a fit's training and
//   validation data times the rounds it boosted. `budget_seconds` is turned into work at a fixed
//   nominal rate (kNominalWorkPerSecond, measured once on one core); the number of candidates comes
//   from the work of candidate 0's first fit. No fit starts once the work used passes 1.2
//   times the budget (a candidate not fitted is recorded with rung -1), and the
//   scale_pos_weight trial runs only when the budget still holds it. So the same data, options and
//   seed give the same search and the same model bytes on any machine; wall time follows the
//   machine. Budget 0 = automatic: max(5 s, 0.6 x the estimated work of the fixed path), so that a
//   large window's whole `csml train` stays within about 3x the fixed path's time.
//
//   Final-fit cap. A trial's final fit on the whole window is predicted as the fixed path's
//   work times its rounds on the newest fold over candidate 0's (final_fit_work); a trial
//   above final_fit_cap = max(1.6 x the fixed path's work, 5 s of nominal work, an explicit
//   budget's work) cannot win: a low learning rate that stops early on a sample boosts many
//   more rounds on every row.
//
//   Large windows: the search runs on every k-th row (in time order) so that it sees at most
//   `max_search_rows` (60,000) rows; the final model is trained on every row as before.
//
// Plain functions; each call owns its boosters. Not thread-safe per call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/model/xgboost_booster.h"
#include "csml/registry/model_meta.h"
#include "csml/training/dataset.h"

namespace csml {

// Rows times rounds one core boosts per second (7-leaf hist trees on csml's columns, early
// stopping on log loss; measured on the development machine), the rate at which a budget in
// seconds becomes work.
inline constexpr double kNominalWorkPerSecond = 1.0e7;

struct SearchOptions {
  double budget_seconds = 0;    // 0 = automatic (see above); otherwise > 0, at most 86400
  int folds = 3;                // rolling-origin folds, 2..10
  double fold_span = 0.45;      // newest share of rows the validation slices cover, (0, 0.9]
  std::size_t min_rows = 1000;  // fewer rows in the window: no search (the fixed path)
  std::size_t max_search_rows = 60000;  // larger windows are searched on every k-th row
  int max_candidates = 81;
  bool try_scale_pos_weight = true;

  [[nodiscard]] Status Validate() const;
};

// One rolling-origin fold: row indices of the dataset, oldest snapshot first.
struct CvFold {
  std::vector<std::size_t> train;
  std::vector<std::size_t> validation;
  UnixSeconds validation_from = 0;  // V_k, inclusive
  UnixSeconds validation_to = 0;    // newest validation snapshot_ts
  UnixSeconds train_newest_snapshot_ts = 0;
  UnixSeconds train_newest_label_ts = 0;  // < validation_from
  std::size_t embargoed = 0;
};

// The folds over `rows` (indices into snapshot_ts / label_ts; empty = every row).
// kValidation when a slice or its training rows would be empty.
Result<std::vector<CvFold>> RollingOriginFolds(std::span<const UnixSeconds> snapshot_ts,
                                               std::span<const UnixSeconds> label_ts,
                                               std::span<const std::size_t> rows, int folds,
                                               double fold_span);

// The hyperparameters a candidate sets on top of the base BoosterParams.
SearchCandidate CandidateOf(const BoosterParams& params);
void ApplyCandidate(const SearchCandidate& candidate, BoosterParams* params);

struct SearchResult {
  BoosterParams winner;  // the base params with the winning candidate applied
  SearchRecord record;   // what meta.json's extra.search holds
};

// Runs the search on `dataset` with `base` as the starting params (threads, seed, max_bin,
// monotone constraints, tree method are kept; the search sets the rest). `max_rounds`,
// `patience` and `metric` are the trainer's early-stopping settings. When the window is too
// small or a fold lacks one of the labels, the result is `base` with record.skipped set.
Result<SearchResult> SearchHyperparameters(const Dataset& dataset, const BoosterParams& base,
                                           int max_rounds, int patience, const std::string& metric,
                                           const SearchOptions& options);

}  // namespace csml
