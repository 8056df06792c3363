// TreeSHAP speed: csml's ForestExplainer against XGBoost's own contributions (pred_contribs
// through its C API, XgboostBooster::PredictContributions) on the model
// predict_compare_bench uses: trained in the setup through csml's XgboostBooster (hist,
// leaf-wise, 31 leaves, eta 0.05) for 300 rounds on simulated CS data, 300 trees x 31
// leaves over the 12 default columns; rows are snapshots of another simulation (nulls and
// unknown regions included). One thread each. Single row (what /score?explain=true does)
// and batches of 1,000 rows (XGBoost's contributions take ~1 ms a row, so 10,000-row batches
// would take seconds an iteration). XGBoost's single row builds its DMatrix per call, as
// every caller of pred_contribs must.
//
// Run with (a release build; the setup trains for a few seconds first):
//   ninja -C build/release explain_bench
//   build/release/bench/explain_bench --benchmark_repetitions=5 --benchmark_min_time=0.5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
// After the table it prints the ratios (medians when repeated, CPU time) against issue 13's
// goal: single row >= 50x faster than XGBoost's contributions.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "csml/features/schema.h"
#include "csml/model/xgboost_booster.h"
#include "csml/predict/forest.h"
#include "csml/predict/forest_explainer.h"
#include "csml/simulate/simulator.h"
#include "testing/trained_model.h"

namespace csml {
namespace {

constexpr int kRounds = 300;
constexpr std::size_t kRows = 10'000;
constexpr std::size_t kBatchRows = 1'000;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "explain_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Workload {
  std::optional<ForestExplainer> explainer;
  std::optional<XgboostBooster> xgboost;
  std::vector<double> rows;  // kRows x 12, row-major
};

Workload MakeWorkload() {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
  auto encoder = FeatureEncoder::Create(columns);
  if (!encoder) Die(encoder.error().message);
  auto history = testing::SimulateHistory(1500, 120, 11);
  if (!history) Die(history.error().message);
  auto train = testing::EncodeLabeled(*history);
  if (!train) Die(train.error().message);
  auto json = testing::TrainModelJson(testing::LeafWise31Params(), kRounds, *train);
  if (!json) Die(json.error().message);

  Workload w;
  auto forest = LoadXgboostJson(*json);
  if (!forest) Die(forest.error().message);
  const auto explainer_start = std::chrono::steady_clock::now();
  auto explainer = ForestExplainer::Create(std::move(*forest));
  if (!explainer) Die(explainer.error().message);
  const double explainer_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - explainer_start).count();
  w.explainer.emplace(std::move(*explainer));
  auto booster = XgboostBooster::LoadJson(*json);
  if (!booster) Die(booster.error().message);
  if (Status s = booster->SetThreads(1); !s) Die(s.error().message);
  w.xgboost.emplace(std::move(*booster));

  auto snapshots = testing::SimulateHistory(600, 150, 29);
  if (!snapshots) Die(snapshots.error().message);
  if (snapshots->size() < kRows) Die("the row simulation came out too small");
  w.rows.resize(kRows * columns.size());
  for (std::size_t i = 0; i < kRows; ++i) {
    encoder->Encode((*snapshots)[i].features,
                    std::span<double>(w.rows).subspan(i * columns.size(), columns.size()));
  }
  std::fprintf(stderr, "explain_bench: model %zu trees, %zu nodes, trained in %.1f s\n",
               w.explainer->forest().num_trees(), w.explainer->forest().num_nodes(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  std::fprintf(stderr,
               "explain_bench: %zu trees from %zu pattern tables (%.1f MB), %zu by the node walk, "
               "built in %.3f s\n",
               w.explainer->num_table_trees(), w.explainer->num_tables(),
               static_cast<double>(w.explainer->table_bytes()) / 1e6, w.explainer->num_walk_trees(),
               explainer_seconds);
  return w;
}

// Owned by main() and destroyed before it returns (XGBoost's globals go at exit).
const Workload* g_workload = nullptr;

void SetPerRowCounter(benchmark::State& state, std::size_t rows_per_iteration) {
  const auto rows =
      static_cast<double>(state.iterations()) * static_cast<double>(rows_per_iteration);
  state.SetItemsProcessed(static_cast<std::int64_t>(rows));
  state.counters["ns_per_row"] =
      benchmark::Counter(rows, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_SingleRow_Csml(benchmark::State& state) {
  const Workload& w = *g_workload;
  const std::size_t m = w.explainer->num_features();
  std::vector<double> phi(m);
  std::size_t i = 0;
  for (auto _ : state) {
    w.explainer->Explain(std::span<const double>(w.rows).subspan(i * m, m), phi);
    benchmark::DoNotOptimize(phi.data());
    benchmark::ClobberMemory();
    if (++i == kRows) i = 0;
  }
  SetPerRowCounter(state, 1);
}

// One row over and over (what the HTTP bench's repeated request does): its table rows stay
// in cache, so this is the explainer's compute alone.
void BM_SameRow_Csml(benchmark::State& state) {
  const Workload& w = *g_workload;
  const std::size_t m = w.explainer->num_features();
  std::vector<double> phi(m);
  for (auto _ : state) {
    w.explainer->Explain(std::span<const double>(w.rows).subspan(0, m), phi);
    benchmark::DoNotOptimize(phi.data());
    benchmark::ClobberMemory();
  }
  SetPerRowCounter(state, 1);
}

// The forest's plain margin on the same rows: what explaining costs on top of scoring.
void BM_SingleRow_Margin(benchmark::State& state) {
  const Workload& w = *g_workload;
  const std::size_t m = w.explainer->num_features();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        w.explainer->forest().PredictMargin(std::span<const double>(w.rows).subspan(i * m, m)));
    if (++i == kRows) i = 0;
  }
  SetPerRowCounter(state, 1);
}

void BM_SingleRow_Xgboost(benchmark::State& state) {
  const Workload& w = *g_workload;
  const std::size_t m = w.explainer->num_features();
  std::vector<double> out(m + 1);
  std::size_t i = 0;
  for (auto _ : state) {
    if (Status s = w.xgboost->PredictContributions(
            std::span<const double>(w.rows).subspan(i * m, m), m, out);
        !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
    if (++i == kRows) i = 0;
  }
  SetPerRowCounter(state, 1);
}

void BM_Batch1k_Csml(benchmark::State& state) {
  const Workload& w = *g_workload;
  const std::size_t m = w.explainer->num_features();
  std::vector<double> phi(kBatchRows * m);
  const auto rows = std::span<const double>(w.rows).subspan(0, kBatchRows * m);
  for (auto _ : state) {
    w.explainer->ExplainBatch(rows, phi);
    benchmark::DoNotOptimize(phi.data());
    benchmark::ClobberMemory();
  }
  SetPerRowCounter(state, kBatchRows);
}

void BM_Batch1k_Xgboost(benchmark::State& state) {
  const Workload& w = *g_workload;
  const std::size_t m = w.explainer->num_features();
  std::vector<double> out(kBatchRows * (m + 1));
  const auto rows = std::span<const double>(w.rows).subspan(0, kBatchRows * m);
  for (auto _ : state) {
    if (Status s = w.xgboost->PredictContributions(rows, m, out); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  SetPerRowCounter(state, kBatchRows);
}

BENCHMARK(BM_SingleRow_Csml);
BENCHMARK(BM_SingleRow_Margin);
BENCHMARK(BM_SameRow_Csml);
BENCHMARK(BM_SingleRow_Xgboost);
BENCHMARK(BM_Batch1k_Csml)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Batch1k_Xgboost)->Unit(benchmark::kMillisecond);

// The console table, then the ratios: CPU ns per row (the median aggregate when repeated).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type == Run::RT_Aggregate && !median) continue;
      const auto it = run.counters.find("ns_per_row");
      if (it == run.counters.end()) continue;
      const std::string name = run.run_name.function_name;
      if (median || !medians_.contains(name)) ns_per_row_[name] = it->second.value * 1e9;
      if (median) medians_[name] = true;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    const auto get = [this](const char* name) {
      const auto it = ns_per_row_.find(name);
      return it == ns_per_row_.end() ? std::nan("") : it->second;
    };
    const double single_csml = get("BM_SingleRow_Csml");
    const double single_xgb = get("BM_SingleRow_Xgboost");
    const double batch_csml = get("BM_Batch1k_Csml");
    const double batch_xgb = get("BM_Batch1k_Xgboost");
    std::printf(
        "\nTreeSHAP, csml vs XGBoost C API contributions, same model, one thread "
        "(CPU time per row):\n");
    std::printf(
        "  single row: csml %9.1f us, XGBoost %9.1f us -> %.1fx faster (goal >= 50x): "
        "%s\n",
        single_csml / 1e3, single_xgb / 1e3, single_xgb / single_csml,
        single_xgb / single_csml >= 50.0 ? "met" : "MISSED");
    std::printf("  batch 1k:   csml %9.1f us, XGBoost %9.1f us -> %.1fx faster\n", batch_csml / 1e3,
                batch_xgb / 1e3, batch_xgb / batch_csml);
    const double margin = get("BM_SingleRow_Margin");
    std::printf("  the forest's plain margin: %.2f us a row (explaining costs %.0fx scoring)\n",
                margin / 1e3, single_csml / margin);
  }

 private:
  std::map<std::string, double> ns_per_row_;
  std::map<std::string, bool> medians_;
};

}  // namespace
}  // namespace csml

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  auto workload = std::make_unique<csml::Workload>(csml::MakeWorkload());
  csml::g_workload = workload.get();
  csml::RatioReporter reporter(isatty(fileno(stdout)) != 0
                                   ? benchmark::ConsoleReporter::OO_ColorTabular
                                   : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  csml::g_workload = nullptr;
  workload.reset();
  return 0;
}
