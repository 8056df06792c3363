// Forest prediction speed: one row at a time (the server's path) and 10,000-row batches
// (offline scoring), on the interop fixture models and on a synthetic model of the size
// csml aims at (300 trees x 31 leaves x 12 features).
//
// Run with:
//   ninja -C build/release forest_bench
//   build/release/bench/forest_bench --benchmark_repetitions=5 --benchmark_min_time=0.5
//   (add --benchmark_filter=SingleRow for the server's path alone)
// The counter ns_per_row is the time per scored row; compare runs as ratios.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "csml/features/schema.h"
#include "csml/predict/forest.h"
#include "testing/fixture_cases.h"

namespace csml {
namespace {

struct Workload {
  Forest forest;
  std::vector<double> rows;  // row-major, forest.num_features() wide
  std::size_t num_rows;
};

// A fixture model and its 200 cases, encoded in the model's column order.
Workload FixtureWorkload(const std::string& name, const std::string& model_file) {
  auto bytes = testing::ReadFile(testing::FixturePath(name, model_file));
  auto cases_json = testing::ReadFile(testing::FixturePath(name, "cases.json"));
  if (!bytes || !cases_json) {
    std::fprintf(stderr, "forest_bench: cannot read fixture %s\n", name.c_str());
    std::exit(1);
  }
  auto forest = LoadForest(*bytes);
  auto cases = testing::LoadCases(*cases_json);
  if (!forest || !cases) {
    std::fprintf(stderr, "forest_bench: fixture %s does not load\n", name.c_str());
    std::exit(1);
  }
  auto encoder = FeatureEncoder::Create(forest->feature_names());
  if (!encoder) std::exit(1);
  Workload w{std::move(*forest), {}, cases->size()};
  const std::size_t width = encoder->num_columns();
  w.rows.resize(cases->size() * width);
  for (std::size_t i = 0; i < cases->size(); ++i) {
    encoder->Encode((*cases)[i].features, std::span<double>(w.rows).subspan(i * width, width));
  }
  return w;
}

// A LightGBM-style model grown leaf-wise at random: num_trees trees of 31 leaves over the 12
// default columns, NaN-aware splits, and 1,000 random rows with a few missing values.
Workload SyntheticWorkload(std::size_t num_trees) {
  constexpr int kLeaves = 31;
  const std::vector<std::string>& names = FeatureEncoder::DefaultColumns();
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::string text = fmt::format(
      "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nmax_feature_idx={}\n"
      "objective=binary sigmoid:1\nfeature_names={}\n\n",
      names.size() - 1, fmt::join(names, " "));
  for (std::size_t t = 0; t < num_trees; ++t) {
    // Grow: split a random current leaf until there are kLeaves leaves.
    std::vector<int> left, right, feature;
    std::vector<double> threshold;
    // Open leaf slots as (parent split, side); the root's slot has no parent.
    std::vector<std::pair<int, int>> open = {{-1, 0}};
    while (static_cast<int>(open.size()) < kLeaves) {
      const auto pick = static_cast<std::size_t>(rng() % open.size());
      const auto [parent, side] = open[pick];
      const int split = static_cast<int>(left.size());
      if (parent >= 0) (side == 0 ? left : right)[static_cast<std::size_t>(parent)] = split;
      left.push_back(0);
      right.push_back(0);
      feature.push_back(static_cast<int>(rng() % names.size()));
      threshold.push_back(unit(rng));
      open[pick] = {split, 0};
      open.push_back({split, 1});
    }
    for (std::size_t leaf = 0; leaf < open.size(); ++leaf) {
      const auto [parent, side] = open[leaf];
      (side == 0 ? left : right)[static_cast<std::size_t>(parent)] = ~static_cast<int>(leaf);
    }
    std::vector<double> leaf_value(open.size());
    for (double& v : leaf_value) v = unit(rng) - 0.5;
    text += fmt::format(
        "Tree={}\nnum_leaves={}\nnum_cat=0\nsplit_feature={}\nthreshold={}\n"
        "decision_type={}\nleft_child={}\nright_child={}\nleaf_value={}\nis_linear=0\n"
        "shrinkage=0.05\n\n",
        t, kLeaves, fmt::join(feature, " "), fmt::join(threshold, " "),
        fmt::join(std::vector<int>(feature.size(), 10), " "), fmt::join(left, " "),
        fmt::join(right, " "), fmt::join(leaf_value, " "));
  }
  text += "end of trees\n";
  auto forest = LoadLightgbmText(text);
  if (!forest) {
    std::fprintf(stderr, "forest_bench: synthetic model: %s\n", forest.error().message.c_str());
    std::exit(1);
  }
  constexpr std::size_t kRows = 1000;
  Workload w{std::move(*forest), std::vector<double>(kRows * names.size()), kRows};
  for (double& v : w.rows) v = unit(rng) < 0.05 ? std::nan("") : unit(rng);
  return w;
}

const Workload& GetWorkload(int id) {
  static const std::vector<Workload> kWorkloads = [] {
    std::vector<Workload> all;
    all.push_back(FixtureWorkload("lightgbm_synth", "model.txt"));
    all.push_back(FixtureWorkload("lightgbm_synth_categorical", "model.txt"));
    all.push_back(FixtureWorkload("xgboost_synth", "model.json"));
    all.push_back(SyntheticWorkload(300));
    return all;
  }();
  return kWorkloads[static_cast<std::size_t>(id)];
}

constexpr const char* kWorkloadNames[] = {"lightgbm_synth/73_trees",
                                          "lightgbm_categorical/66_trees", "xgboost_synth/84_trees",
                                          "synthetic/300x31_leaves"};

void BM_ForestSingleRow(benchmark::State& state) {
  const Workload& w = GetWorkload(static_cast<int>(state.range(0)));
  state.SetLabel(kWorkloadNames[state.range(0)]);
  const std::size_t width = w.forest.num_features();
  std::size_t i = 0;
  for (auto _ : state) {
    const double risk =
        w.forest.PredictRisk(std::span<const double>(w.rows).subspan(i * width, width));
    benchmark::DoNotOptimize(risk);
    if (++i == w.num_rows) i = 0;
  }
  state.counters["ns_per_row"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ForestBatch10k(benchmark::State& state) {
  const Workload& w = GetWorkload(static_cast<int>(state.range(0)));
  state.SetLabel(kWorkloadNames[state.range(0)]);
  constexpr std::size_t kBatch = 10000;
  const std::size_t width = w.forest.num_features();
  std::vector<double> rows(kBatch * width);
  for (std::size_t r = 0; r < kBatch; ++r) {
    const std::size_t src = r % w.num_rows;
    std::copy_n(w.rows.begin() + static_cast<std::ptrdiff_t>(src * width), width,
                rows.begin() + static_cast<std::ptrdiff_t>(r * width));
  }
  std::vector<double> out(kBatch);
  for (auto _ : state) {
    w.forest.PredictBatch(rows, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  state.counters["ns_per_row"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(BM_ForestSingleRow)->DenseRange(0, 3);
BENCHMARK(BM_ForestBatch10k)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace csml

BENCHMARK_MAIN();
