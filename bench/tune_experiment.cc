// The experiment behind `csml train`'s model search (docs/TRAINING.md, "Model selection:
// the experiment"): on several simulated data sets, each scored on the *next month's*
// outcomes, compares
//   (a) the fixed defaults (csml train --no-tune),
//   (b) a fixed LightGBM-like configuration (31 leaves, eta 0.05, min_child_weight 1e-3),
//   (c) the best of a grid chosen by looking at the test month (an upper bound nobody could
//       use), and
//   (d) csml train with its model search (the automatic budget),
// on test AUC, log loss and calibration error (ECE, 10 bins) of the served risk (the forest's
// probability through the version's calibration, as /score computes it).
//
// Run with:  build/release/bench/tune_experiment [--quick | --search-only]
// (--search-only: only (d), e.g. after a change to the search).
// Protocol, per data set: `csml simulate` data with labels over 150 days ending at E; the
// trainer gets the 90-day window up to E - 30 days (TrainModel: time split, embargo, early
// stopping, calibration, refit); the test set is the outcomes learned in (E - 30 days, E].
// One thread. Every configuration goes through TrainModel, refit and calibration included.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "csml/evaluation/metrics.h"
#include "csml/evaluation/probability_calibration.h"
#include "csml/predict/forest.h"
#include "csml/simulate/simulator.h"
#include "csml/training/dataset.h"
#include "csml/training/trainer.h"

namespace csml {
namespace {

constexpr UnixSeconds kEnd = 1754006400;  // 2025-08-01T00:00:00Z, the last label day

struct DataSpec {
  std::string name;
  std::size_t customers;
  SimulatedWorld world;
  double base_rate;  // 0 = the world's own
};

struct Data {
  DataSpec spec;
  Dataset train;
  Dataset test;
};

struct Outcome {
  double auc = 0;
  double logloss = 0;
  double ece = 0;
  double seconds = 0;
  std::string config;
};

Data MakeData(const DataSpec& spec) {
  SimulatorOptions sim;
  sim.customers = spec.customers;
  sim.days = 150;
  sim.seed = 20250801 + spec.customers + (spec.world == SimulatedWorld::kInteractions ? 7 : 0);
  sim.end = kEnd;
  sim.world = spec.world;
  sim.base_rate = spec.base_rate;
  const std::vector<Snapshot> records = SimulateSnapshots(sim).value();
  WindowOptions train_window;
  train_window.days = 90;
  train_window.as_of = kEnd - 30 * kSecondsPerDay;
  WindowOptions test_window;
  test_window.days = 30;
  test_window.as_of = kEnd;
  return {spec, BuildDataset(records, 0, train_window).value(),
          BuildDataset(records, 0, test_window).value()};
}

Outcome Score(const Data& data, const TrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const TrainedModel trained = TrainModel(data.train, options).value();
  Outcome out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.config = CandidateOf(trained.report.params).Summary();
  const Forest forest = LoadXgboostJson(trained.model_json).value();
  const DenseMatrix& x = data.test.data.features;
  const std::vector<double> rows(x.values.begin(), x.values.end());
  std::vector<double> risk(x.rows);
  forest.PredictBatch(rows, risk);
  ApplyCalibration(trained.meta.calibration, risk, risk);
  const BinaryMetrics m = ComputeBinaryMetrics(risk, data.test.data.labels).value();
  out.auc = m.auc;
  out.logloss = m.log_loss;
  out.ece = m.calibration_error;
  return out;
}

TrainOptions Base() {
  TrainOptions o;
  o.booster.threads = 1;
  o.created_at = kEnd;
  return o;
}

int Main(bool quick, bool search_only) {
  std::vector<DataSpec> specs = {
      {"additive 3k (small)", 3000, SimulatedWorld::kAdditive, 0},
      {"additive 8k", 8000, SimulatedWorld::kAdditive, 0},
      {"interactions 8k", 8000, SimulatedWorld::kInteractions, 0},
      {"interactions 8k, base rate 5%", 8000, SimulatedWorld::kInteractions, 0.05},
  };
  if (quick) specs = {{"additive 500", 500, SimulatedWorld::kAdditive, 0}};

  // (c): the grid, judged on the test month.
  std::vector<SearchCandidate> grid;
  for (double eta : {0.05, 0.1}) {
    for (int leaves : {4, 7, 15, 31, 63}) {
      for (double mcw : {1e-3, 1.0, 10.0}) {
        SearchCandidate c = CandidateOf(DefaultTrainingBoosterParams());
        c.eta = eta;
        c.max_leaves = leaves;
        c.min_child_weight = mcw;
        grid.push_back(c);
      }
    }
  }
  if (quick) grid.resize(2);

  fmt::print(
      "| data set | train rows | test rows | test base rate | config | test AUC | test logloss "
      "| ECE | train s | chosen |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const DataSpec& spec : specs) {
    const Data data = MakeData(spec);
    const std::string head = fmt::format("| {} | {} | {} | {:.3f} ", spec.name, data.train.rows(),
                                         data.test.rows(), BaseRate(data.test.data.labels).value());
    const auto row = [&](const char* name, const Outcome& o) {
      fmt::print("{}| {} | {:.4f} | {:.4f} | {:.4f} | {:.1f} | {} |\n", head, name, o.auc,
                 o.logloss, o.ece, o.seconds, o.config);
      std::fflush(stdout);
    };
    if (search_only) {
      TrainOptions tuned = Base();
      tuned.search = SearchOptions{};
      row("(d) csml train (search, auto budget)", Score(data, tuned));
      continue;
    }
    // (a)
    row("(a) defaults, --no-tune", Score(data, Base()));
    // (b)
    TrainOptions lightgbm = Base();
    lightgbm.booster.eta = 0.05;
    lightgbm.booster.max_leaves = 31;
    lightgbm.booster.min_child_weight = 1e-3;
    row("(b) LightGBM-like", Score(data, lightgbm));
    // (c)
    Outcome best;
    best.auc = -1;
    for (const SearchCandidate& c : grid) {
      TrainOptions o = Base();
      ApplyCandidate(c, &o.booster);
      const Outcome got = Score(data, o);
      if (got.auc > best.auc) best = got;
    }
    row(fmt::format("(c) best of {} by test AUC", grid.size()).c_str(), best);
    // (d)
    TrainOptions tuned = Base();
    tuned.search = SearchOptions{};
    row("(d) csml train (search, auto budget)", Score(data, tuned));
    std::fprintf(stderr, "  done: %s\n", spec.name.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace csml

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const bool search_only = argc > 1 && std::strcmp(argv[1], "--search-only") == 0;
  return csml::Main(quick, search_only);
}
