// csml train: trains an XGBoost churn model on the labeled snapshots of a window and
// publishes it to the model registry as a new version (DESIGN sections 4 to 6). The new
// version is served where nothing was promoted; `csml models promote` pins a version.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/core/time.h"
#include "csml/data/snapshot_reader.h"
#include "csml/data/window.h"
#include "csml/registry/registry.h"
#include "csml/training/trainer.h"
#include "environment.h"

namespace csml::cli {
namespace {

struct TrainFlags {
  std::string input;
  int days = 90;
  std::string as_of;  // RFC 3339; empty = newest label_ts of the input
  std::string model_dir;
  int rounds = TrainOptions{}.rounds;
  int threads = 0;
  std::uint64_t seed = 0;
  std::string cs_features_url;
};

std::string FormatMetric(const std::map<std::string, double>& metrics, const std::string& name) {
  const auto it = metrics.find(name);
  if (it == metrics.end() || std::isnan(it->second)) return "n/a";
  return fmt::format("{:.4f}", it->second);
}

Result<int> RunTrain(const TrainFlags& flags) {
  if (flags.input.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("reading snapshots from the CS API ({}) comes with the CS API "
                                 "client; for now pass --input FILE (JSON array or JSON Lines)",
                                 flags.cs_features_url));
  }
  WindowOptions window_options;
  window_options.days = flags.days;
  if (!flags.as_of.empty()) {
    auto as_of = ParseRfc3339(flags.as_of);
    if (!as_of) return tl::unexpected(as_of.error().WithContext("--as-of"));
    window_options.as_of = *as_of;
  }
  TrainOptions options;
  options.rounds = flags.rounds;
  options.booster.threads = flags.threads;
  options.booster.seed = flags.seed;
  if (auto s = options.Validate(); !s) return tl::unexpected(s.error());

  SnapshotReadOptions read_options;
  read_options.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  read_options.max_problems_kept = 5;
  auto batch = ReadSnapshotFile(flags.input, read_options);
  if (!batch) return tl::unexpected(batch.error());
  if (batch->records_invalid > 0) {
    spdlog::warn("{}: skipped {} of {} records that break the data contract", flags.input,
                 batch->records_invalid, batch->records_seen);
    for (const SnapshotProblem& problem : batch->problems) {
      spdlog::warn("{}: {}", flags.input, problem.ToString());
    }
  }
  TrainingData data;
  data.invalid_records = batch->records_invalid;
  auto window = SelectWindow(std::move(batch->records), window_options);
  if (!window) return tl::unexpected(window.error().WithContext(flags.input));
  data.window = std::move(*window);

  auto registry = Registry::Open(flags.model_dir, RegistryOpenMode::kCreateIfMissing);
  if (!registry) return tl::unexpected(registry.error());
  auto trained = TrainModel(data, options);
  if (!trained) return tl::unexpected(trained.error());
  auto meta = registry->Publish(trained->model_json, std::move(trained->meta));
  if (!meta) return tl::unexpected(meta.error());

  fmt::print("published {} to {}\n", meta->version, registry->dir().string());
  fmt::print("window:  label_ts in ({}, {}] ({} days)\n", FormatRfc3339(meta->window.from),
             FormatRfc3339(meta->window.to), meta->window.days);
  fmt::print(
      "rows:    {} trained (base rate {:.4f}); skipped {} unlabeled, {} invalid, {} "
      "outside the window\n",
      meta->rows.train, meta->base_rate, meta->rows.skipped_unlabeled, meta->rows.skipped_invalid,
      meta->rows.outside_window);
  fmt::print("metrics: on the training rows: auc {}, logloss {}, brier {}\n",
             FormatMetric(meta->train_metrics, "auc"), FormatMetric(meta->train_metrics, "logloss"),
             FormatMetric(meta->train_metrics, "brier"));
  fmt::print("tiers:   medium >= {}, high >= {} ({})\n", meta->thresholds.medium,
             meta->thresholds.high, meta->threshold_method);
  return 0;
}

}  // namespace

void AddTrainCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<TrainFlags>();
  flags->model_dir = env.model_dir;
  flags->cs_features_url = env.cs_features_url;
  auto* cmd = app.add_subcommand(
      "train", "Train an XGBoost churn model on labeled snapshots and publish it to the registry");
  cmd->add_option("--input", flags->input,
                  "Snapshots file: JSON array or JSON Lines (the CS API source comes with the CS "
                  "API client)");
  cmd->add_option("--days", flags->days,
                  "Train on the labeled snapshots whose label_ts falls in the DAYS days up to the "
                  "as-of time")
      ->capture_default_str();
  cmd->add_option("--as-of", flags->as_of,
                  "As-of time, RFC 3339 (default: the newest label_ts in --input)");
  cmd->add_option("--model-dir", flags->model_dir, "Model registry directory (env MODEL_DIR)")
      ->capture_default_str();
  cmd->add_option("--rounds", flags->rounds, "Boosting rounds")->capture_default_str();
  cmd->add_option("--threads", flags->threads, "Training threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Random seed")->capture_default_str();
  cmd->callback([&slot, flags] {
    slot.name = "train";
    slot.run = [flags]() -> Result<int> { return RunTrain(*flags); };
  });
}

}  // namespace csml::cli
