// live_drift_bench: what live drift (apps/server/live_drift.h) costs per score on the request
// path (LiveDrift::Record: the cells of one row counted into this thread's window) and per
// scrape (LiveDrift::Figures: every thread's chunks merged and the PSI computed), for a
// profile of 10 bins per feature, the layout `csml train` writes.
// Usage (after a release build): build/release/bench/live_drift_bench
#include <array>
#include <cmath>
#include <memory>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "csml/ensemble/predictor.h"
#include "csml/evaluation/reference_profile.h"
#include "csml/features/schema.h"
#include "csml/serving/serving_model.h"
#include "live_drift.h"

namespace csml {
namespace {

// A predictor that answers a constant: only Record is measured.
class ConstantPredictor final : public Predictor {
 public:
  explicit ConstantPredictor(std::size_t n) : n_(n) {}
  std::size_t num_features() const override { return n_; }
  Result<double> PredictRisk(std::span<const double>) const override { return 0.3; }
  Status PredictBatch(std::span<const double>, std::span<double> out) const override {
    for (double& v : out) v = 0.3;
    return {};
  }

 private:
  std::size_t n_;
};

std::vector<RawFeatures> Rows(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<RawFeatures> out(n);
  for (RawFeatures& f : out) {
    for (double& v : f.numeric) v = u(rng) < 0.05 ? std::nan("") : std::floor(u(rng) * 40);
    f.Set(NumericFeature::kUsageScore, u(rng));
    f.region = static_cast<Region>(rng() % kNumRegionCategories);
  }
  return out;
}

std::shared_ptr<const ServingModel> Model() {
  static const std::shared_ptr<const ServingModel> model = [] {
    const std::vector<RawFeatures> rows = Rows(20000, 1);
    std::array<std::vector<double>, kNumNumericFeatures> numeric;
    std::vector<Region> regions;
    std::vector<double> risk;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (std::size_t k = 0; k < kNumNumericFeatures; ++k)
        numeric[k].push_back(rows[i].numeric[k]);
      regions.push_back(rows[i].region);
      risk.push_back(static_cast<double>(i % 1000) / 1000.0);
    }
    auto profile = std::make_shared<const ReferenceProfile>(
        BuildReferenceProfile(numeric, regions, risk).value());
    const std::vector<std::string>& columns = FeatureEncoder::DefaultColumns();
    return ServingModel::Create("bench", columns, Thresholds{0.3, 0.6},
                                std::make_unique<const ConstantPredictor>(columns.size()), {},
                                nullptr, nullptr, profile)
        .value();
  }();
  return model;
}

void BM_Record(benchmark::State& state) {
  const std::shared_ptr<const ServingModel> model = Model();
  server::LiveDrift drift(10'000);
  const std::vector<RawFeatures> rows = Rows(4096, 2);
  std::size_t i = 0;
  for (auto _ : state) {
    const RawFeatures& f = rows[i++ & 4095];
    drift.Record(*model, f, 0.25, Tier::kLow);
  }
  benchmark::DoNotOptimize(drift.Figures(model.get()).drift.rows);
}
BENCHMARK(BM_Record);

// One scrape of a full 10,000-score window counted by 4 threads.
void BM_Figures(benchmark::State& state) {
  const std::shared_ptr<const ServingModel> model = Model();
  server::LiveDrift drift(10'000);
  const std::vector<RawFeatures> rows = Rows(20000, 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < 5000; ++i)
        drift.Record(*model, rows[t * 5000 + i], 0.25, Tier::kLow);
    });
  }
  for (std::thread& t : threads) t.join();
  for (auto _ : state) benchmark::DoNotOptimize(drift.Figures(model.get()).drift.risk_psi);
}
BENCHMARK(BM_Figures);

}  // namespace
}  // namespace csml

BENCHMARK_MAIN();
