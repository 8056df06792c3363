// csml's flat forest against XGBoost's C API (in-place prediction, XgboostPredictor) on the
// same model: one row at a time (the server's path) and 10,000-row batches (csml predict),
// one thread each. The model is trained in the setup through csml's XgboostBooster (hist,
// leaf-wise, 31 leaves, eta 0.05, min_child_weight 1) for 300 rounds on simulated CS data, so
// it is 300 trees x 31 leaves over the 12 default columns; the rows are 10,000 snapshots of
// another simulation (nulls and unknown regions included).
//
// CSML_BENCH_SAVE_MODEL=PATH also writes the model (XGBoost JSON) there, so
// bench/http_bench.sh can serve the very same model: add --benchmark_filter=none to only
// train and save.
//
// CSML_BENCH_MODEL=PATH loads that model (one CSML_BENCH_SAVE_MODEL wrote) instead of
// training one. CSML_BENCH_COUNT=PATH_NAME (forest_single, xgboost_single, forest_batch,
// xgboost_batch, forest_batch_portable) runs no benchmark: it sends the 10,000 rows once
// through that path (after one untimed warm-up pass) inside CountedRows(), for callgrind:
//   valgrind --tool=callgrind --toggle-collect='*CountedRows*' predict_compare_bench
// counts the instructions of exactly those rows (bench/callgrind_rows.sh divides by them).
//
// Run with (a release build; the setup trains for a few seconds first):
//   ninja -C build/release predict_compare_bench
//   build/release/bench/predict_compare_bench --benchmark_repetitions=5
//       --benchmark_min_time=0.5 --benchmark_report_aggregates_only=true   (one line)
// After the table it prints the comparisons (medians when repeated, CPU time) against the
// goals of issue 16: single row >= 12x XGBoost's speed, batch >= 7x XGBoost's rows/s.
// Under load add --benchmark_enable_random_interleaving=true (repetitions interleaved).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "csml/features/schema.h"
#include "csml/model/dense_matrix.h"
#include "csml/model/xgboost_booster.h"
#include "csml/model/xgboost_predictor.h"
#include "csml/predict/forest.h"
#include "csml/predict/forest_predictor.h"
#include "csml/serving/serving_model.h"
#include "csml/simulate/simulator.h"
#include "testing/trained_model.h"

namespace csml {
namespace {

constexpr int kRounds = 300;
constexpr std::size_t kBatchRows = 10'000;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "predict_compare_bench: %s\n", what.c_str());
  std::exit(1);
}

std::vector<Snapshot> Simulate(std::size_t customers, int days, std::uint64_t seed) {
  auto records = testing::SimulateHistory(customers, days, seed);
  if (!records) Die(records.error().message);
  return std::move(*records);
}

struct Workload {
  std::string model_json;
  std::unique_ptr<ForestPredictor> forest;
  std::unique_ptr<XgboostPredictor> xgboost;
  std::shared_ptr<const ServingModel> serving;  // the forest behind the /score path
  std::vector<Snapshot> snapshots;              // kBatchRows
  std::vector<double> rows;                     // kBatchRows x 12, row-major
  double mean_leaves = 0.0;
};

Workload MakeWorkload() {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
  auto encoder = FeatureEncoder::Create(columns);
  if (!encoder) Die(encoder.error().message);

  Workload w;
  std::size_t trained_rows = 0;
  if (const char* load = std::getenv("CSML_BENCH_MODEL"); load != nullptr && *load != 0) {
    std::FILE* in = std::fopen(load, "rb");
    if (in == nullptr) Die(std::string("cannot read the model ") + load);
    char buffer[1 << 16];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof(buffer), in)) > 0;) {
      w.model_json.append(buffer, n);
    }
    std::fclose(in);
  } else {
    auto train = testing::EncodeLabeled(Simulate(1500, 120, 11));
    if (!train) Die(train.error().message);
    auto json = testing::TrainModelJson(testing::LeafWise31Params(), kRounds, *train);
    if (!json) Die(json.error().message);
    w.model_json = std::move(*json);
    trained_rows = train->labels.size();
  }
  if (const char* save = std::getenv("CSML_BENCH_SAVE_MODEL"); save != nullptr && *save != 0) {
    std::FILE* out = std::fopen(save, "wb");
    if (out == nullptr ||
        std::fwrite(w.model_json.data(), 1, w.model_json.size(), out) != w.model_json.size() ||
        std::fclose(out) != 0) {
      Die(std::string("cannot write the model to ") + save);
    }
  }
  auto forest = LoadXgboostJson(w.model_json);
  if (!forest) Die(forest.error().message);
  // Splits + leaves = 2 * leaves - 1 per tree.
  w.mean_leaves = (static_cast<double>(forest->num_nodes()) / static_cast<double>(kRounds) + 1) / 2;
  w.forest = std::make_unique<ForestPredictor>(*forest);
  auto xgboost = XgboostPredictor::FromJson(w.model_json, {.threads = 1});
  if (!xgboost) Die(xgboost.error().message);
  w.xgboost = std::move(*xgboost);
  auto serving = ServingModel::Create("bench", columns, Thresholds{},
                                      std::make_unique<ForestPredictor>(std::move(*forest)));
  if (!serving) Die(serving.error().message);
  w.serving = std::move(*serving);

  w.snapshots = Simulate(600, 150, 29);
  if (w.snapshots.size() < kBatchRows) Die("the row simulation came out too small");
  w.snapshots.resize(kBatchRows);
  w.rows.resize(kBatchRows * columns.size());
  for (std::size_t i = 0; i < kBatchRows; ++i) {
    encoder->Encode(w.snapshots[i].features,
                    std::span<double>(w.rows).subspan(i * columns.size(), columns.size()));
  }
  std::fprintf(stderr,
               "predict_compare_bench: model %d trees, %.1f leaves per tree on average, %zu "
               "features, trained on %zu rows in %.1f s\n",
               kRounds, w.mean_leaves, columns.size(), trained_rows,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return w;
}

// Owned by main() and destroyed before it returns: a static would be destroyed after
// XGBoost's own globals at exit.
const Workload* g_workload = nullptr;

const Workload& GetWorkload() { return *g_workload; }

void SetPerRowCounter(benchmark::State& state, std::size_t rows_per_iteration) {
  const auto rows =
      static_cast<double>(state.iterations()) * static_cast<double>(rows_per_iteration);
  state.SetItemsProcessed(static_cast<std::int64_t>(rows));
  state.counters["ns_per_row"] =
      benchmark::Counter(rows, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// One row through the Predictor interface, as ServingModel calls it.
void SingleRow(benchmark::State& state, const Predictor& predictor) {
  const Workload& w = GetWorkload();
  const std::size_t width = predictor.num_features();
  std::size_t i = 0;
  for (auto _ : state) {
    Result<double> risk =
        predictor.PredictRisk(std::span<const double>(w.rows).subspan(i * width, width));
    if (!risk) {
      state.SkipWithError(risk.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(*risk);
    if (++i == kBatchRows) i = 0;
  }
  SetPerRowCounter(state, 1);
}

void Batch(benchmark::State& state, const Predictor& predictor) {
  const Workload& w = GetWorkload();
  std::vector<double> out(kBatchRows);
  for (auto _ : state) {
    if (Status s = predictor.PredictBatch(w.rows, out); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetPerRowCounter(state, kBatchRows);
}

// The forest's portable lockstep walk on the same batches: what PredictBatch does on CPUs
// without AVX2, and the baseline the vectorized walk is measured against.
void BM_Batch10k_ForestPortable(benchmark::State& state) {
  const Workload& w = GetWorkload();
  const Forest& forest = w.forest->forest();
  std::vector<double> out(kBatchRows);
  for (auto _ : state) {
    forest.PredictBatchPortable(w.rows, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetPerRowCounter(state, kBatchRows);
}

// One row through the vectorized batch walk (a batch of one: seven of eight lanes idle),
// against BM_SingleRow_Forest's lockstep walk, to pick /score's path.
void BM_SingleRowBatchWalk_Forest(benchmark::State& state) {
  const Workload& w = GetWorkload();
  const Forest& forest = w.forest->forest();
  const std::size_t width = forest.num_features();
  std::size_t i = 0;
  double risk = 0.0;
  for (auto _ : state) {
    forest.PredictBatch(std::span<const double>(w.rows).subspan(i * width, width),
                        std::span<double>(&risk, 1));
    benchmark::DoNotOptimize(risk);
    if (++i == kBatchRows) i = 0;
  }
  SetPerRowCounter(state, 1);
}

// ---- callgrind mode (CSML_BENCH_COUNT) -------------------------------------------------------

// The function callgrind collects in: everything `run` executes, nothing else.
[[gnu::noinline]] void CountedRows(const std::function<void()>& run) { run(); }

// Runs the named path over the 10,000 rows twice (warm-up, then counted); false when the
// name is unknown.
bool CountRows(const std::string& path) {
  const Workload& w = GetWorkload();
  std::vector<double> out(kBatchRows);
  const auto single = [&](const Predictor& predictor) {
    return [&w, &out, &predictor] {
      const std::size_t width = predictor.num_features();
      for (std::size_t i = 0; i < kBatchRows; ++i) {
        out[i] = predictor.PredictRisk(std::span<const double>(w.rows).subspan(i * width, width))
                     .value_or(-1.0);
      }
    };
  };
  const auto batch = [&](const Predictor& predictor) {
    return [&w, &out, &predictor] {
      if (!predictor.PredictBatch(w.rows, out)) out[0] = -1.0;
    };
  };
  std::function<void()> run;
  if (path == "forest_single") {
    run = single(*w.forest);
  } else if (path == "xgboost_single") {
    run = single(*w.xgboost);
  } else if (path == "forest_batch") {
    run = batch(*w.forest);
  } else if (path == "xgboost_batch") {
    run = batch(*w.xgboost);
  } else if (path == "forest_batch_portable") {
    run = [&] { w.forest->forest().PredictBatchPortable(w.rows, out); };
  } else {
    return false;
  }
  run();
  CountedRows(run);
  double sum = 0.0;
  for (const double risk : out) sum += risk;
  std::printf("predict_compare_bench: counted %s over %zu rows (mean risk %.6f)\n", path.c_str(),
              kBatchRows, sum / static_cast<double>(kBatchRows));
  return true;
}

void BM_SingleRow_Forest(benchmark::State& state) { SingleRow(state, *GetWorkload().forest); }
void BM_SingleRow_Xgboost(benchmark::State& state) { SingleRow(state, *GetWorkload().xgboost); }
void BM_Batch10k_Forest(benchmark::State& state) { Batch(state, *GetWorkload().forest); }
void BM_Batch10k_Xgboost(benchmark::State& state) { Batch(state, *GetWorkload().xgboost); }

// The README's /score example (tickets_30d absent, so one NaN), the request bench/http_bench.sh
// sends: one row, scored again and again.
std::vector<double> ReadmeExampleRow() {
  RawFeatures f;
  f.Set(NumericFeature::kActivity7d, 2);
  f.Set(NumericFeature::kActivity30d, 6);
  f.Set(NumericFeature::kTimeSinceLastUseDays, 15);
  f.Set(NumericFeature::kFailedRenewals30d, 1);
  f.Set(NumericFeature::kTickets7d, 0);
  f.Set(NumericFeature::kPlanValue, 49);
  f.Set(NumericFeature::kUsageScore, 0.2);
  f.region = Region::kIN;
  const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
  std::vector<double> row(columns.size());
  FeatureEncoder::Create(columns)->Encode(f, row);
  return row;
}

void ReadmeRow(benchmark::State& state, const Predictor& predictor) {
  const std::vector<double> row = ReadmeExampleRow();
  for (auto _ : state) {
    Result<double> risk = predictor.PredictRisk(row);
    benchmark::DoNotOptimize(risk);
  }
  SetPerRowCounter(state, 1);
}

void BM_ReadmeRow_Forest(benchmark::State& state) { ReadmeRow(state, *GetWorkload().forest); }
void BM_ReadmeRow_Xgboost(benchmark::State& state) { ReadmeRow(state, *GetWorkload().xgboost); }

// What /score does after decoding: encode, forest, round, tier, reasons.
void BM_ServingScore_Forest(benchmark::State& state) {
  const Workload& w = GetWorkload();
  std::size_t i = 0;
  for (auto _ : state) {
    Result<ScoreResult> score = w.serving->Score(w.snapshots[i].features);
    benchmark::DoNotOptimize(score);
    if (++i == kBatchRows) i = 0;
  }
  SetPerRowCounter(state, 1);
}

BENCHMARK(BM_SingleRow_Forest);
BENCHMARK(BM_SingleRow_Xgboost);
BENCHMARK(BM_SingleRowBatchWalk_Forest);
BENCHMARK(BM_Batch10k_Forest)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Batch10k_ForestPortable)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Batch10k_Xgboost)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReadmeRow_Forest);
BENCHMARK(BM_ReadmeRow_Xgboost);
BENCHMARK(BM_ServingScore_Forest);

// The console table, then the comparisons: CPU ns per row of each benchmark (the median
// aggregate when repeated, else the single run).
class ComparisonReporter : public benchmark::ConsoleReporter {
 public:
  explicit ComparisonReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type == Run::RT_Aggregate && !median) continue;
      const auto it = run.counters.find("ns_per_row");
      if (it == run.counters.end()) continue;
      const std::string name = run.run_name.function_name;
      // A median replaces single runs; single runs are kept only when nothing is aggregated.
      // The counter is seconds per row (an inverted rate).
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
    const double single_forest = get("BM_SingleRow_Forest");
    const double single_xgb = get("BM_SingleRow_Xgboost");
    const double batch_forest = get("BM_Batch10k_Forest");
    const double batch_xgb = get("BM_Batch10k_Xgboost");
    std::printf("\nforest vs XGBoost C API, same model, one thread (CPU time per row):\n");
    const double single_walk = get("BM_SingleRowBatchWalk_Forest");
    const double batch_portable = get("BM_Batch10k_ForestPortable");
    std::printf(
        "  single row: forest %8.1f ns, XGBoost %8.1f ns -> %.1fx XGBoost's speed "
        "(goal >= 12x): %s\n",
        single_forest, single_xgb, single_xgb / single_forest,
        single_xgb / single_forest >= 12.0 ? "met" : "MISSED");
    std::printf("  single row through the batch walk: %8.1f ns (%.2fx the lockstep walk's time)\n",
                single_walk, single_walk / single_forest);
    std::printf(
        "  batch 10k:  forest %8.1f ns, XGBoost %8.1f ns -> forest %.2fM rows/s, "
        "XGBoost %.2fM rows/s, %.1fx (goal >= 7x): %s\n",
        batch_forest, batch_xgb, 1e3 / batch_forest, 1e3 / batch_xgb, batch_xgb / batch_forest,
        batch_xgb / batch_forest >= 7.0 ? "met" : "MISSED");
    std::printf(
        "  batch 10k, portable lockstep walk: %8.1f ns -> vectorized walk %.2fx its rows/s\n",
        batch_portable, batch_portable / batch_forest);
    const double readme_forest = get("BM_ReadmeRow_Forest");
    const double readme_xgb = get("BM_ReadmeRow_Xgboost");
    std::printf("  README row: forest %8.1f ns, XGBoost %8.1f ns -> %.3f\n", readme_forest,
                readme_xgb, readme_forest / readme_xgb);
    const double score = get("BM_ServingScore_Forest");
    if (!std::isnan(score)) {
      std::printf("  /score model work (encode + forest + round + tier + reasons): %.1f ns\n",
                  score);
    }
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
  auto workload = std::make_unique<csml::Workload>(csml::MakeWorkload());  // before any timing
  csml::g_workload = workload.get();
  if (const char* count = std::getenv("CSML_BENCH_COUNT"); count != nullptr && *count != 0) {
    const bool known = csml::CountRows(count);
    csml::g_workload = nullptr;
    workload.reset();
    if (!known) std::fprintf(stderr, "predict_compare_bench: unknown CSML_BENCH_COUNT %s\n", count);
    return known ? 0 : 1;
  }
  // Colors only on a terminal, as the library's own reporter does.
  csml::ComparisonReporter reporter(isatty(fileno(stdout)) != 0
                                        ? benchmark::ConsoleReporter::OO_ColorTabular
                                        : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  csml::g_workload = nullptr;
  workload.reset();
  return 0;
}
