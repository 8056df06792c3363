// monitor_log_synth: the input of the `csml monitor` benchmark (docs/PERFORMANCE.md). Simulates
// customers (csml simulate's simulator) and writes
//   - <out>/outcomes.jsonl: every snapshot, labeled or pending (what the CS API would return);
//   - <out>/log/: a prediction log of `--per-snapshot` predictions per snapshot, spread over the
//     week after it (as a daily scoring job would make them), through the real PredictionLog
//     (rotated, zstd-compressed segments), with the snapshot's features and a risk that leans
//     on the label so the realized AUC is not 0.5.
// Then time `csml monitor --log <out>/log --input <out>/outcomes.jsonl ...` (see PERFORMANCE.md).
//
//   monitor_log_synth --customers 100000 --days 120 --per-snapshot 6 --version V --out DIR
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "csml/data/snapshot_writer.h"
#include "csml/monitoring/prediction_log.h"
#include "csml/simulate/simulator.h"

int main(int argc, char** argv) {
  std::size_t customers = 100000;
  int days = 120;
  int per_snapshot = 6;
  std::string version = "risk-xgb-bench";
  std::string out;
  std::string end = "2026-12-01";
  // --name value pairs; no flag library outside apps/cli (scripts/lint.sh).
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--customers") {
      customers = std::strtoull(value, nullptr, 10);
    } else if (name == "--days") {
      days = std::atoi(value);
    } else if (name == "--per-snapshot") {
      per_snapshot = std::atoi(value);
    } else if (name == "--version") {
      version = value;
    } else if (name == "--end") {
      end = value;
    } else if (name == "--out") {
      out = value;
    } else {
      std::fprintf(stderr, "monitor_log_synth: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (out.empty() || per_snapshot < 1 || per_snapshot > 7) {
    std::fprintf(stderr,
                 "usage: monitor_log_synth --out DIR [--customers N] [--days D] "
                 "[--per-snapshot 1..7] [--version V] [--end YYYY-MM-DD]\n");
    return 2;
  }

  namespace fs = std::filesystem;
  fs::create_directories(fs::path(out) / "log");
  csml::SimulatorOptions sim;
  sim.customers = customers;
  sim.days = days;
  sim.seed = 7;
  sim.end = *csml::ParseDate(end);
  auto writer = csml::SnapshotFileWriter::Create(fs::path(out) / "outcomes.jsonl",
                                                 csml::SnapshotFormat::kJsonLines);
  if (!writer) {
    std::fprintf(stderr, "%s\n", writer.error().message.c_str());
    return 2;
  }
  csml::PredictionLogOptions log_options;
  log_options.dir = (fs::path(out) / "log").string();
  log_options.queue_capacity = 1 << 20;
  log_options.retention_bytes = 64ull << 30;
  log_options.retention_age = std::chrono::seconds(3650LL * 86400);
  auto log = csml::PredictionLog::Create(log_options);
  if (!log) {
    std::fprintf(stderr, "%s\n", log.error().message.c_str());
    return 2;
  }
  std::uint64_t predictions = 0;
  std::uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next_unit = [&state] {  // splitmix64 to [0, 1)
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  };
  std::string request_id;
  auto summary =
      csml::Simulate(sim, [&](const csml::Snapshot& s, std::string_view region) -> csml::Status {
        CSML_TRY(writer->Append(s, region));
        for (int i = 0; i < per_snapshot; ++i) {
          csml::PredictionEvent e;
          e.unix_ms = (s.snapshot_ts + i * 86400 + 3600) * 1000 +
                      static_cast<std::int64_t>(next_unit() * 1000);
          request_id = fmt::format("bench-{}", predictions);
          e.request_id = request_id;
          e.user_id = s.user_id;
          e.model_version = version;
          // Risk: noise, pushed up for churners (AUC about 0.8).
          const double lean = s.label.value_or(0) == 1 ? 0.25 : 0.0;
          const double risk = std::clamp(0.55 * next_unit() + lean + 0.02, 0.0, 1.0);
          e.risk = std::round(risk * 10000) / 10000;
          e.tier = e.risk >= 0.7   ? csml::Tier::kHigh
                   : e.risk >= 0.4 ? csml::Tier::kMedium
                                   : csml::Tier::kLow;
          e.latency_us = 80;
          e.features = s.features;
          while (!(*log)->Append(e)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          ++predictions;
        }
        return csml::Status{};
      });
  if (!summary) {
    std::fprintf(stderr, "%s\n", summary.error().message.c_str());
    return 2;
  }
  if (auto s = writer->Commit(); !s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 2;
  }
  log->reset();  // writes what is queued, compresses the last segment
  fmt::print("monitor_log_synth: {} snapshots of {} customers, {} predictions in {}\n",
             summary->records, customers, predictions, out);
  return 0;
}
