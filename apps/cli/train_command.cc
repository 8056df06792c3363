// csml train: the seed's `train_model.py --days=90`. Loads the labeled snapshots of a window
// (a file or the CS API), refuses data the validator blocks, trains an XGBoost model with
// early stopping on a time split, calibrates tier thresholds on the validation rows,
// publishes the version and promotes it when it is not worse than the served one
// (DESIGN sections 4 to 6). The domain does the work (training/*.h); this file turns flags
// into options and results into text.
#include <malloc.h>
#include <unistd.h>

#include <chrono>
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
#include "csml/registry/registry.h"
#include "csml/training/dataset.h"
#include "csml/training/promotion.h"
#include "csml/training/trainer.h"
#include "csml/validation/data_validator.h"
#include "environment.h"
#include "snapshot_source.h"

namespace csml::cli {
namespace {

struct TrainFlags {
  SnapshotSourceFlags source;
  std::string model_dir;
  double validation_share = TimeSplitOptions{}.validation_fraction;
  int max_rounds = TrainOptions{}.max_rounds;
  int early_stopping_rounds = TrainOptions{}.early_stopping_rounds;
  std::string early_stopping_metric = TrainOptions{}.early_stopping_metric;
  double eta = DefaultTrainingBoosterParams().eta;
  int max_leaves = DefaultTrainingBoosterParams().max_leaves;
  double min_child_weight = DefaultTrainingBoosterParams().min_child_weight;
  bool no_refit = false;
  std::string thresholds;      // "M,H": fixed cut points
  std::string tier_quantiles;  // "QM,QH": validation quantiles (default 0.7,0.9)
  double auc_tolerance = PromotionOptions{}.max_auc_drop;
  bool force = false;
  int threads = 0;
  std::uint64_t seed = 0;
  bool quiet = false;
};

Result<TrainOptions> ToTrainOptions(const TrainFlags& flags) {
  TrainOptions o;
  o.split.validation_fraction = flags.validation_share;
  o.max_rounds = flags.max_rounds;
  o.early_stopping_rounds = flags.early_stopping_rounds;
  o.early_stopping_metric = flags.early_stopping_metric;
  o.booster.eta = flags.eta;
  o.booster.max_leaves = flags.max_leaves;
  o.booster.min_child_weight = flags.min_child_weight;
  o.booster.threads = flags.threads;
  o.booster.seed = flags.seed;
  o.refit = flags.no_refit ? RefitPolicy::kNone : RefitPolicy::kAllRows;
  if (!flags.thresholds.empty() && !flags.tier_quantiles.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--thresholds and --tier-quantiles: expected at most one of them, got both");
  }
  if (!flags.thresholds.empty()) {
    auto fixed = ParseThresholdPair(flags.thresholds, "--thresholds");
    if (!fixed) return tl::unexpected(fixed.error());
    o.thresholds.method = ThresholdOptions::Method::kFixed;
    o.thresholds.fixed = *fixed;
  } else if (!flags.tier_quantiles.empty()) {
    auto qs = ParseThresholdPair(flags.tier_quantiles, "--tier-quantiles");
    if (!qs) return tl::unexpected(qs.error());
    o.thresholds.medium_quantile = qs->medium;
    o.thresholds.high_quantile = qs->high;
  }
  if (auto s = o.Validate(); !s) return tl::unexpected(s.error());
  return o;
}

std::string Num(double v, int decimals = 4) {
  return std::isnan(v) ? std::string("n/a") : fmt::format("{:.{}f}", v, decimals);
}

std::string Pct(double share) {
  return std::isnan(share) ? std::string("n/a") : fmt::format("{:.1f}%", share * 100);
}

std::string Duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const auto s = static_cast<long long>(seconds);
  return fmt::format("{}m{:02}s", s / 60, s % 60);
}

std::string Day(UnixSeconds t) { return FormatRfc3339(t).substr(0, 10); }

// Shows training progress: a line rewritten in place on a terminal, a log line every 10
// seconds otherwise, nothing when quiet.
class ProgressPrinter {
 public:
  ProgressPrinter(bool quiet, std::string metric)
      : quiet_(quiet), terminal_(::isatty(::fileno(stderr)) == 1), metric_(std::move(metric)) {}

  void operator()(const TrainingProgress& p) {
    if (quiet_) return;
    const bool first = p.round == 1;
    const bool last = p.stage == TrainingProgress::Stage::kRefit && p.round == p.max_rounds;
    const auto now = std::chrono::steady_clock::now();
    const double interval = terminal_ ? 0.1 : 10.0;
    if (!first && !last && std::chrono::duration<double>(now - last_print_).count() < interval) {
      pending_ = p;
      has_pending_ = true;
      return;
    }
    last_print_ = now;
    Print(p);
  }

  // Ends the live line (and shows the last state) before other output.
  void Finish() {
    if (quiet_) return;
    if (has_pending_) Print(pending_);
    if (terminal_ && printed_) std::fputc('\n', stderr);
    printed_ = false;
    has_pending_ = false;
  }

 private:
  void Print(const TrainingProgress& p) {
    has_pending_ = false;
    std::string line;
    if (p.stage == TrainingProgress::Stage::kEarlyStopping) {
      line = fmt::format(
          "early stopping: round {:>5}  validation {} {:.5f}  best {:.5f} @ {}  "
          "elapsed {}  ETA {}",
          p.round, metric_, p.value, p.best_value, p.best_round, Duration(p.elapsed_seconds),
          Duration(p.eta_seconds));
    } else {
      if (stage_ != p.stage && terminal_ && printed_) std::fputc('\n', stderr);
      line = fmt::format("refit on all rows: round {:>5}/{}  elapsed {}  ETA {}", p.round,
                         p.max_rounds, Duration(p.elapsed_seconds), Duration(p.eta_seconds));
    }
    stage_ = p.stage;
    if (terminal_) {
      fmt::print(stderr, "\r{:<100}", line);
      std::fflush(stderr);
      printed_ = true;
    } else {
      spdlog::info("{}", line);
    }
  }

  bool quiet_;
  bool terminal_;
  std::string metric_;
  std::chrono::steady_clock::time_point last_print_{};
  TrainingProgress pending_;
  bool has_pending_ = false;
  bool printed_ = false;
  TrainingProgress::Stage stage_ = TrainingProgress::Stage::kEarlyStopping;
};

void PrintReport(const PublishOutcome& outcome, const TrainedModel& trained, const Dataset& dataset,
                 const std::string& origin, const Registry& registry, const std::string& metric) {
  const ModelMeta& m = outcome.meta;
  const TrainingReport& r = trained.report;
  const PromotionDecision& d = outcome.decision;
  fmt::print("csml train: published {} to {}\n", m.version, registry.dir().string());
  fmt::print("  decision    {}: {}\n", d.promote ? "promoted" : "NOT promoted", d.reason);
  fmt::print("  served now  {}\n", outcome.served_after);
  fmt::print("  source      {}\n", origin);
  fmt::print("  window      label_ts in ({}, {}] ({} days)\n", FormatRfc3339(m.window.from),
             FormatRfc3339(m.window.to), m.window.days);
  fmt::print(
      "  records     {} seen: {} in the window; skipped {} unlabeled, {} immature, {} "
      "invalid, {} outside the window\n",
      dataset.counts.records_seen, dataset.rows(), dataset.counts.unlabeled,
      dataset.counts.immature, dataset.counts.invalid, dataset.counts.outside_window);
  fmt::print(
      "  split       train {} rows (snapshots {} .. {}), embargoed {}, validation {} rows "
      "(snapshots {} .. {})\n",
      r.split.train.size(), Day(r.split.train_start), Day(r.split.train_end), r.split.embargoed,
      r.split.validation.size(), Day(r.split.validation_start), Day(r.split.validation_end));
  fmt::print("  model       {} rounds (best validation {} {:.5f}; {} rounds run); {}\n",
             r.best_round, metric, r.best_value, r.rounds_run,
             r.refit ? fmt::format("refit on all {} rows of the window", r.final_rows)
                     : fmt::format("trained on the {} training rows (no refit)", r.final_rows));
  fmt::print("  thresholds  medium >= {}, high >= {} ({})\n", Num(m.thresholds.medium),
             Num(m.thresholds.high), m.threshold_method);
  fmt::print(
      "  tiers       on validation: low {} of rows churn {} | medium {} churn {} | high {} "
      "churn {}\n",
      Pct(r.tiers.of(Tier::kLow).share), Pct(r.tiers.of(Tier::kLow).churn_rate),
      Pct(r.tiers.of(Tier::kMedium).share), Pct(r.tiers.of(Tier::kMedium).churn_rate),
      Pct(r.tiers.of(Tier::kHigh).share), Pct(r.tiers.of(Tier::kHigh).churn_rate));
  const BinaryMetrics& v = r.validation;
  fmt::print("  validation  AUC {} (± {})  PR-AUC {}  logloss {}  Brier {}  base rate {}\n",
             Num(v.auc), Num(v.auc_standard_error), Num(v.pr_auc), Num(v.log_loss), Num(v.brier),
             Num(v.base_rate));
  fmt::print(
      "              calibration error {} (10 bins)  top-decile lift {}  high tier: "
      "precision {} recall {} lift {}\n",
      Num(v.calibration_error), Num(v.top_decile_lift, 2), Num(r.tiers.high_precision, 3),
      Num(r.tiers.high_recall, 3), Num(r.tiers.high_lift, 2));
  fmt::print("  train fit   AUC {}  logloss {}  (early-stopped model on its training rows)\n",
             Num(r.train.auc), Num(r.train.log_loss));
  double total_gain = 0;
  for (const auto& [name, gain] : r.importance_gain) total_gain += gain;
  std::string importance;
  for (std::size_t i = 0; i < r.importance_gain.size() && i < 5; ++i) {
    if (i > 0) importance += ", ";
    importance += fmt::format("{} {}", r.importance_gain[i].first,
                              Pct(r.importance_gain[i].second / total_gain));
  }
  fmt::print("  importance  {} (gain)\n", importance);
  fmt::print("  time        early stopping {}, evaluation {}, refit {}\n",
             Duration(r.early_stopping_seconds), Duration(r.evaluate_seconds),
             Duration(r.refit_seconds));
}

Result<int> RunTrain(const TrainFlags& flags) {
  auto source = flags.source.ToOptions();
  if (!source) return tl::unexpected(source.error());
  auto options = ToTrainOptions(flags);
  if (!options) return tl::unexpected(options.error());
  PromotionOptions promotion;
  promotion.max_auc_drop = flags.auc_tolerance;
  promotion.force = flags.force;
  if (auto s = promotion.Validate(); !s)
    return tl::unexpected(s.error().WithContext("--auc-tolerance"));
  auto registry = Registry::Open(flags.model_dir, RegistryOpenMode::kCreateIfMissing);
  if (!registry) return tl::unexpected(registry.error());

  // Invalid records are skipped and counted; the validator decides whether they block.
  source->read.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  source->read.max_problems_kept = 1000;
  auto loaded = LoadSnapshots(*source);
  if (!loaded) return tl::unexpected(loaded.error());

  ValidationOptions validation;
  validation.as_of = loaded->as_of;
  validation.days = loaded->days;
  validation.select_window = false;  // LoadSnapshots selected it
  auto report = ValidateSnapshots(loaded->batch, validation);
  if (!report) return tl::unexpected(report.error());
  report->source = loaded->origin;
  if (report->BlocksTraining()) {
    std::fputs(RenderValidationText(*report).c_str(), stderr);
    spdlog::error("refusing to train: {} error(s) in the data from {} (see above)",
                  report->errors(), loaded->origin);
    return 1;
  }
  if (!flags.quiet) {
    for (const Finding& f : report->findings) {
      spdlog::warn("data: {} ({} records{})", f.summary, f.count,
                   f.field.empty() ? "" : ", " + f.field);
    }
  }

  DatasetBuilder builder;
  builder.Add(loaded->batch.records);
  builder.AddInvalid(loaded->batch.records_invalid);
  builder.AddOutsideWindow(loaded->outside_window);
  const std::string origin = loaded->origin;
  loaded.value() = LoadedSnapshots();  // the records are encoded; free them before training
  // Hand the freed batch and the validator's index back to the system (glibc keeps freed heap
  // resident otherwise): a million records are ~190 MB that training would carry for nothing.
  ::malloc_trim(0);
  WindowOptions window;
  window.days = source->days;
  window.as_of = validation.as_of;
  auto dataset = builder.Finish(window);
  if (!dataset) return tl::unexpected(dataset.error());

  auto printer = std::make_shared<ProgressPrinter>(flags.quiet, options->early_stopping_metric);
  options->on_progress = [printer](const TrainingProgress& p) { (*printer)(p); };
  auto trained = TrainModel(*dataset, *options);
  printer->Finish();
  if (!trained) return tl::unexpected(trained.error());
  auto outcome = PublishAndPromote(*registry, trained->model_json, trained->meta, promotion);
  if (!outcome) return tl::unexpected(outcome.error());

  if (flags.quiet) {
    fmt::print("published {} {} auc={} thresholds={},{} served={}\n", outcome->meta.version,
               outcome->decision.promote ? "promoted" : "not_promoted",
               Num(trained->report.validation.auc), Num(outcome->meta.thresholds.medium),
               Num(outcome->meta.thresholds.high), outcome->served_after);
  } else {
    PrintReport(*outcome, *trained, *dataset, origin, *registry, options->early_stopping_metric);
  }
  return 0;
}

}  // namespace

void AddTrainCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<TrainFlags>();
  flags->model_dir = env.model_dir;
  auto* cmd = app.add_subcommand(
      "train",
      "Train an XGBoost churn model on the labeled snapshots of a window, calibrate its tiers "
      "and publish it (promoted when it is not worse than the served version)");
  AddSnapshotSourceFlags(cmd, &flags->source, 90);
  cmd->add_option("--model-dir", flags->model_dir, "Model registry directory (env MODEL_DIR)")
      ->capture_default_str();
  cmd->add_option("--validation-share", flags->validation_share,
                  "Newest share of rows (by snapshot_ts) held out for validation")
      ->capture_default_str();
  cmd->add_option("--max-rounds", flags->max_rounds, "Most boosting rounds early stopping may run")
      ->capture_default_str();
  cmd->add_option("--early-stopping-rounds", flags->early_stopping_rounds,
                  "Stop after this many rounds without a better validation metric")
      ->capture_default_str();
  cmd->add_option("--early-stopping-metric", flags->early_stopping_metric,
                  "Validation metric early stopping watches: logloss or auc")
      ->capture_default_str();
  cmd->add_option("--eta", flags->eta, "Learning rate")->capture_default_str();
  cmd->add_option("--max-leaves", flags->max_leaves, "Leaves per tree (lossguide)")
      ->capture_default_str();
  cmd->add_option("--min-child-weight", flags->min_child_weight, "Minimum hessian sum in a leaf")
      ->capture_default_str();
  cmd->add_flag("--no-refit", flags->no_refit,
                "Serve the early-stopped model trained on the training split, instead of "
                "refitting on every row of the window");
  cmd->add_option("--thresholds", flags->thresholds,
                  "Fixed tier thresholds MEDIUM,HIGH (e.g. 0.4,0.7) instead of validation "
                  "quantiles");
  cmd->add_option("--tier-quantiles", flags->tier_quantiles,
                  "Validation risk quantiles for the medium and high tiers (default 0.7,0.9)");
  cmd->add_option("--auc-tolerance", flags->auc_tolerance,
                  "Promote unless the validation AUC is more than this below the served "
                  "version's")
      ->capture_default_str();
  cmd->add_flag("--force", flags->force, "Promote the new version whatever the gate says");
  cmd->add_option("--threads", flags->threads, "Training threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Random seed (same data, seed and threads: same model)")
      ->capture_default_str();
  cmd->add_flag("--quiet", flags->quiet,
                "No progress and no data warnings; one result line (for logs)");
  cmd->callback([&slot, flags] {
    slot.name = "train";
    slot.run = [flags]() -> Result<int> { return RunTrain(*flags); };
  });
}

}  // namespace csml::cli
