// The experiment behind csml's training defaults (docs/TRAINING.md): trains every candidate
// hyperparameter set on simulated CS data of several sizes and label-noise levels and scores
// each model on the *following* month's outcomes, which no part of training saw.
//
// Run with:  build/<dir>/bench/train_defaults_experiment [--quick]
// (about 3 minutes on one core; --quick: the smallest data only, to check it still runs).
//
// Protocol, per dataset: `csml simulate` data (labels over 150 days ending at E); the trainer
// gets the 90-day window up to E - 30 days (time split, embargo, early stopping: exactly
// TrainModel); the test set is the outcomes learned in (E - 30 days, E]. Label noise: with
// probability `noise` a label is replaced by a coin flip at the base rate (12%), so noise
// blurs the signal without moving the base rate. Stage 1 compares hyperparameters without
// refit; stage 2 compares refit / no refit and the early-stopping metric for the chosen set.
// One thread, so the times compare work rather than the machine's load.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "csml/evaluation/metrics.h"
#include "csml/model/xgboost_booster.h"
#include "csml/simulate/simulator.h"
#include "csml/training/dataset.h"
#include "csml/training/trainer.h"

namespace csml {
namespace {

constexpr UnixSeconds kEnd = 1754006400;  // 2025-08-01T00:00:00Z, the last label day
constexpr double kBaseRate = 0.12;

struct DataSpec {
  std::size_t customers;
  double noise;
};

struct Data {
  DataSpec spec;
  Dataset train;  // 90-day window up to kEnd - 30 days
  Dataset test;   // outcomes in (kEnd - 30 days, kEnd]
};

struct Config {
  std::string name;
  double eta;
  int max_leaves;
  double min_child_weight;
  RefitPolicy refit = RefitPolicy::kNone;
  std::string metric = "logloss";
  int patience = TrainOptions{}.early_stopping_rounds;
};

struct Outcome {
  double validation_auc = 0;
  double test_auc = 0;
  double test_logloss = 0;
  int rounds = 0;
  double seconds = 0;
};

Data MakeData(const DataSpec& spec) {
  SimulatorOptions sim;
  sim.customers = spec.customers;
  sim.days = 150;
  sim.seed = 20250801 + spec.customers;
  sim.end = kEnd;
  std::vector<Snapshot> records = SimulateSnapshots(sim).value();
  std::mt19937 rng(static_cast<std::uint32_t>(spec.customers * 7 + 1));
  const auto uniform = [&rng] { return static_cast<double>(rng()) / 4294967296.0; };
  for (Snapshot& s : records) {
    if (s.label && uniform() < spec.noise) s.label = uniform() < kBaseRate ? 1 : 0;
  }
  WindowOptions train_window;
  train_window.days = 90;
  train_window.as_of = kEnd - 30 * kSecondsPerDay;
  WindowOptions test_window;
  test_window.days = 30;
  test_window.as_of = kEnd;
  return {spec, BuildDataset(records, 0, train_window).value(),
          BuildDataset(records, 0, test_window).value()};
}

Outcome Evaluate(const Data& data, const Config& config) {
  TrainOptions options;
  options.booster.eta = config.eta;
  options.booster.max_leaves = config.max_leaves;
  options.booster.min_child_weight = config.min_child_weight;
  options.booster.threads = 1;
  options.refit = config.refit;
  options.early_stopping_metric = config.metric;
  options.early_stopping_rounds = config.patience;
  options.created_at = kEnd;
  const auto start = std::chrono::steady_clock::now();
  const TrainedModel trained = TrainModel(data.train, options).value();
  Outcome out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.validation_auc = trained.report.validation.auc;
  out.rounds = trained.report.best_round;
  const XgboostBooster model = XgboostBooster::LoadJson(trained.model_json).value();
  const DenseMatrix& x = data.test.data.features;
  const std::vector<double> rows(x.values.begin(), x.values.end());
  std::vector<double> risk(x.rows);
  if (!model.PredictDense(rows, x.cols, risk)) std::abort();
  const BinaryMetrics m = ComputeBinaryMetrics(risk, data.test.data.labels).value();
  out.test_auc = m.auc;
  out.test_logloss = m.log_loss;
  return out;
}

void PrintTable(const std::vector<Data>& datasets, const std::vector<Config>& configs,
                const std::vector<std::vector<Outcome>>& results) {
  // Columns: one per dataset (test AUC), then means.
  fmt::print("| config |");
  for (const Data& d : datasets) {
    fmt::print(" {}c/{:.0f}% |", d.spec.customers, d.spec.noise * 100);
  }
  fmt::print(" mean test AUC | mean rank | mean test logloss | mean rounds | total s |\n|---|");
  for (std::size_t i = 0; i < datasets.size() + 5; ++i) fmt::print("---|");
  fmt::print("\n");
  std::vector<double> rank_sum(configs.size(), 0);
  for (std::size_t d = 0; d < datasets.size(); ++d) {
    for (std::size_t c = 0; c < configs.size(); ++c) {
      int better = 0;
      for (std::size_t o = 0; o < configs.size(); ++o) {
        better += results[o][d].test_auc > results[c][d].test_auc;
      }
      rank_sum[c] += 1 + better;
    }
  }
  for (std::size_t c = 0; c < configs.size(); ++c) {
    double auc = 0;
    double logloss = 0;
    double rounds = 0;
    double seconds = 0;
    fmt::print("| {} |", configs[c].name);
    for (std::size_t d = 0; d < datasets.size(); ++d) {
      const Outcome& o = results[c][d];
      fmt::print(" {:.4f} |", o.test_auc);
      auc += o.test_auc;
      logloss += o.test_logloss;
      rounds += o.rounds;
      seconds += o.seconds;
    }
    const auto n = static_cast<double>(datasets.size());
    fmt::print(" {:.4f} | {:.1f} | {:.4f} | {:.0f} | {:.1f} |\n", auc / n, rank_sum[c] / n,
               logloss / n, rounds / n, seconds);
    std::fflush(stdout);
  }
}

std::vector<std::vector<Outcome>> RunAll(const std::vector<Data>& datasets,
                                         const std::vector<Config>& configs) {
  std::vector<std::vector<Outcome>> results(configs.size());
  for (std::size_t c = 0; c < configs.size(); ++c) {
    for (const Data& d : datasets) results[c].push_back(Evaluate(d, configs[c]));
    std::fprintf(stderr, "  done: %s\n", configs[c].name.c_str());
  }
  return results;
}

int Main(bool quick) {
  std::vector<DataSpec> specs;
  const std::vector<std::size_t> sizes =
      quick ? std::vector<std::size_t>{300} : std::vector<std::size_t>{500, 2000, 6000, 15000};
  for (std::size_t customers : sizes) {
    for (double noise : {0.0, 0.3}) specs.push_back({customers, noise});
  }
  std::vector<Data> datasets;
  fmt::print(
      "## Data\n\n| customers | label noise | train window rows | test rows | test base "
      "rate |\n|---|---|---|---|---|\n");
  for (const DataSpec& spec : specs) {
    datasets.push_back(MakeData(spec));
    const Data& d = datasets.back();
    fmt::print("| {} | {:.0f}% | {} | {} | {:.3f} |\n", spec.customers, spec.noise * 100,
               d.train.rows(), d.test.rows(), BaseRate(d.test.data.labels).value());
  }

  std::vector<Config> stage1;
  for (double eta : {0.05, 0.1, 0.3}) {
    for (int leaves : {4, 7, 15, 31}) {
      for (double mcw : {1.0, 10.0}) {
        if (eta == 0.3 && mcw == 10.0) continue;  // the fast rate only as a bound
        stage1.push_back(
            {fmt::format("eta {} leaves {} mcw {}", eta, leaves, mcw), eta, leaves, mcw});
      }
    }
  }
  if (quick) stage1.resize(2);
  fmt::print(
      "\n## Stage 1: hyperparameters (early stopping on validation logloss, no refit), "
      "test AUC on the next month\n\n");
  PrintTable(datasets, stage1, RunAll(datasets, stage1));

  const Config chosen = {"chosen", DefaultTrainingBoosterParams().eta,
                         DefaultTrainingBoosterParams().max_leaves,
                         DefaultTrainingBoosterParams().min_child_weight};
  std::vector<Config> stage2(6, chosen);
  stage2[0].name = "defaults, no refit";
  stage2[1].name = "defaults, refit on all rows";
  stage2[1].refit = RefitPolicy::kAllRows;
  stage2[2].name = "defaults, refit, early stopping on AUC";
  stage2[2].refit = RefitPolicy::kAllRows;
  stage2[2].metric = "auc";
  stage2[3].name = "defaults, refit, patience 20";
  stage2[3].refit = RefitPolicy::kAllRows;
  stage2[3].patience = 20;
  stage2[4].name = "defaults, refit, patience 100";
  stage2[4].refit = RefitPolicy::kAllRows;
  stage2[4].patience = 100;
  stage2[5].name = "eta 0.05 leaves 31 mcw 1 (LightGBM-like), refit";
  stage2[5].eta = 0.05;
  stage2[5].max_leaves = 31;
  stage2[5].min_child_weight = 1;
  stage2[5].refit = RefitPolicy::kAllRows;
  fmt::print(
      "\n## Stage 2: refit and early-stopping metric for the defaults (eta {}, leaves {}, "
      "min_child_weight {})\n\n",
      chosen.eta, chosen.max_leaves, chosen.min_child_weight);
  PrintTable(datasets, stage2, RunAll(datasets, stage2));
  return 0;
}

}  // namespace
}  // namespace csml

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  return csml::Main(quick);
}
