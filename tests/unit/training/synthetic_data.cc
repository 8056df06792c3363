#include "synthetic_data.h"

#include <cmath>
#include <random>
#include <string>

namespace csml::testing {
namespace {

// Uniform in [0, 1) from the raw generator (the standard distributions differ by library).
double Uniform(std::mt19937& rng) { return static_cast<double>(rng()) / 4294967296.0; }

}  // namespace

std::vector<Snapshot> MakeSnapshots(const SyntheticOptions& options) {
  std::mt19937 rng(options.seed);
  std::vector<Snapshot> out;
  out.reserve(options.customers * static_cast<std::size_t>(options.weeks));
  const UnixSeconds newest_snapshot = kTestAsOf - kTestHorizonDays * kSecondsPerDay;
  for (int week = 0; week < options.weeks; ++week) {
    const UnixSeconds ts = newest_snapshot - (options.weeks - 1 - week) * 7 * kSecondsPerDay;
    for (std::size_t c = 0; c < options.customers; ++c) {
      Snapshot s;
      s.user_id = "u_" + std::to_string(c);
      s.snapshot_ts = ts;
      const double idle = std::floor(Uniform(rng) * 40);
      const double failed = Uniform(rng) < 0.15 ? 1 : 0;
      const double usage = std::round(Uniform(rng) * 1000) / 1000;
      s.features.Set(NumericFeature::kActivity7d, idle >= 7 ? 0 : std::floor(Uniform(rng) * 20));
      s.features.Set(NumericFeature::kActivity30d, std::floor(Uniform(rng) * 60));
      s.features.Set(NumericFeature::kTimeSinceLastUseDays, idle);
      s.features.Set(NumericFeature::kFailedRenewals30d, failed);
      s.features.Set(NumericFeature::kTickets7d, std::floor(Uniform(rng) * 3));
      s.features.Set(NumericFeature::kTickets30d, std::floor(Uniform(rng) * 6));
      s.features.Set(NumericFeature::kPlanValue, 10 + std::floor(Uniform(rng) * 90));
      s.features.Set(NumericFeature::kUsageScore, usage);
      s.features.region = static_cast<Region>(c % 4);
      const double z =
          -2.2 + options.signal * (0.12 * (idle - 10) + 1.5 * failed - 2.0 * (usage - 0.5));
      const double p = 1.0 / (1.0 + std::exp(-z));
      int label = Uniform(rng) < p ? 1 : 0;
      if (options.label_rule) label = options.label_rule(s, week);
      s.label = static_cast<std::int8_t>(label);
      s.label_ts = ts + kTestHorizonDays * kSecondsPerDay;
      out.push_back(std::move(s));
    }
  }
  return out;
}

Dataset MakeDataset(const SyntheticOptions& options, int days) {
  const std::vector<Snapshot> records = MakeSnapshots(options);
  WindowOptions window;
  window.days = days;
  window.as_of = kTestAsOf;
  return BuildDataset(records, 0, window).value();
}

}  // namespace csml::testing
