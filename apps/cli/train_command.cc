// csml train: the seed's `train_model.py --days=90`. Loads the labeled snapshots of a window
// (a file or the CS API), refuses data the validator blocks, trains an XGBoost model with
// early stopping on a time split, calibrates tier thresholds on the validation rows,
// publishes the version and promotes it when it is not worse than the served one
// (docs/COMMANDS.md, docs/TRAINING.md). With --scope tenant it publishes into the namespace of
// --tenant (or TENANT_ID) instead, once the tenant data gate lets the data through. The domain does
// the work (TrainPipeline, training/train_pipeline.h); this file turns flags into options, watches
// the run on stderr and prints the result on stdout.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/core/number_format.h"
#include "csml/core/time.h"
#include "csml/registry/registry.h"
#include "csml/training/train_pipeline.h"
#include "environment.h"
#include "flag_names.h"
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
  bool no_tune = false;
  double tune_budget = 0;            // seconds; 0 = automatic
  std::string monotone;              // "feature=+1,feature=-1"
  bool booster_flag_given = false;   // --eta, --max-leaves or --min-child-weight on the line
  std::string calibration = "auto";  // auto, none, platt, isotonic
  std::string reasons = "rules";     // rules, model
  std::string thresholds;            // "M,H": fixed cut points
  std::string tier_quantiles;        // "QM,QH": validation quantiles (default 0.7,0.9)
  double gate_auc_tolerance = PromotionOptions{}.max_auc_drop;
  bool force = false;
  int threads = 0;
  std::uint64_t seed = 0;
  bool quiet = false;
  std::string scope = "global";  // global or tenant: the registry namespace published into
  bool tenant_given = false;     // --tenant on the line or TENANT_ID set
  std::int64_t min_tenant_rows = TenantDataGate{}.min_rows;
  std::int64_t min_tenant_positives = TenantDataGate{}.min_positives;
};

// "--monotone time_since_last_use_days=+1,usage_score=-1".
Result<std::vector<std::pair<std::string, int>>> ParseMonotone(std::string_view text) {
  std::vector<std::pair<std::string, int>> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    const std::size_t eq = item.find('=');
    const std::string_view sign = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    if (eq == std::string_view::npos || eq == 0 || (sign != "+1" && sign != "1" && sign != "-1")) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("--monotone: expected FEATURE=+1 or FEATURE=-1 items separated "
                                   "by commas, got '{}'",
                                   item));
    }
    out.emplace_back(std::string(item.substr(0, eq)), sign == "-1" ? -1 : 1);
    pos = comma + 1;
  }
  return out;
}

Result<TrainPipelineOptions> ToPipelineOptions(const TrainFlags& flags) {
  TrainPipelineOptions p;
  p.model_dir = flags.model_dir;
  TrainOptions& o = p.train;
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
  if (const std::optional<ReasonMode> reasons = ParseReasonMode(flags.reasons)) {
    o.reasons = *reasons;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--reasons: expected rules or model, got '{}'", flags.reasons));
  }
  // Hyperparameters given by hand are used as given: no search.
  if (!flags.no_tune && !flags.booster_flag_given) {
    o.search = SearchOptions{};
    o.search->budget_seconds = flags.tune_budget;
  }
  if (!flags.monotone.empty()) {
    CSML_ASSIGN_OR_RETURN(o.monotone, ParseMonotone(flags.monotone));
  }
  if (flags.calibration != "auto") {
    o.calibration = ParseCalibrationMethod(flags.calibration);
    if (!o.calibration) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("--calibration: expected auto, none, platt or isotonic, got '{}'",
                      flags.calibration));
    }
  }
  if (!flags.thresholds.empty() && !flags.tier_quantiles.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--thresholds and --tier-quantiles: expected at most one of them, got both");
  }
  if (!flags.thresholds.empty()) {
    CSML_ASSIGN_OR_RETURN(auto fixed, ParseThresholdPair(flags.thresholds, "--thresholds"));
    o.thresholds.method = ThresholdOptions::Method::kFixed;
    o.thresholds.fixed = fixed;
  } else if (!flags.tier_quantiles.empty()) {
    CSML_ASSIGN_OR_RETURN(auto qs, ParseThresholdPair(flags.tier_quantiles, "--tier-quantiles"));
    o.thresholds.medium_quantile = qs.medium;
    o.thresholds.high_quantile = qs.high;
  }
  p.promotion.max_auc_drop = flags.gate_auc_tolerance;
  p.promotion.force = flags.force;
  if (flags.scope == "tenant") {
    if (!flags.tenant_given) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--scope tenant: expected a tenant id from --tenant or TENANT_ID");
    }
    p.tenant = flags.source.tenant;
    if (p.tenant.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--scope tenant: expected a tenant id from --tenant or TENANT_ID, got ''");
    }
  } else if (flags.scope != "global") {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--scope: expected global or tenant, got '{}'", flags.scope));
  }
  p.tenant_gate.min_rows = flags.min_tenant_rows;
  p.tenant_gate.min_positives = flags.min_tenant_positives;
  if (auto s = p.Validate(); !s) {
    return tl::unexpected(
        NameFlags(s.error(), {{"model_dir", "--model-dir"},
                              {"validation fraction", "--validation-share"},
                              {"max rounds", "--max-rounds"},
                              {"early stopping rounds", "--early-stopping-rounds"},
                              {"early stopping metric", "--early-stopping-metric"},
                              {"BoosterParams.eta", "--eta"},
                              {"BoosterParams.max_leaves", "--max-leaves"},
                              {"BoosterParams.min_child_weight", "--min-child-weight"},
                              {"BoosterParams.threads", "--threads"},
                              {"BoosterParams.seed", "--seed"},
                              {"medium threshold", "--thresholds"},
                              {"high threshold", "--thresholds"},
                              {"thresholds", "--thresholds"},
                              {"tier quantiles", "--tier-quantiles"},
                              {"AUC tolerance", "--gate-auc-tolerance"},
                              {"search budget", "--tune-budget"},
                              {"monotone", "--monotone"},
                              {"tenant id", "--tenant (or TENANT_ID) with --scope tenant"},
                              {"min tenant rows", "--min-tenant-rows"},
                              {"min tenant positives", "--min-tenant-positives"}}));
  }
  return p;
}

std::string Duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const auto s = static_cast<long long>(seconds);
  return fmt::format("{}m{:02}s", s / 60, s % 60);
}

std::string Day(UnixSeconds t) { return FormatRfc3339(t).substr(0, 10); }

// Watches the pipeline on stderr (stdout carries only the result): training progress as a
// line rewritten in place on a terminal, a line every 10 seconds otherwise; the validator's
// warnings as log lines. Nothing when quiet.
class ProgressPrinter final : public TrainObserver {
 public:
  ProgressPrinter(bool quiet, std::string metric)
      : quiet_(quiet), terminal_(::isatty(::fileno(stderr)) == 1), metric_(std::move(metric)) {}

  void OnDataFindings(const ValidationReport& report) override {
    if (quiet_) return;
    for (const Finding& f : report.findings) {
      spdlog::warn("data: {} ({} records{})", f.summary, f.count,
                   f.field.empty() ? "" : ", " + f.field);
    }
  }

  void OnTrainingEnd() override { Finish(); }

  void OnProgress(const TrainingProgress& p) override {
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
      printed_ = true;
    } else {
      fmt::print(stderr, "{}\n", line);
    }
    std::fflush(stderr);
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

// The model search on stderr: one line per candidate that reached the last rung or the
// first few others, best first.
void PrintSearch(const SearchRecord& s) {
  if (!s.skipped.empty()) {
    fmt::print(stderr, "model search: skipped ({}); the fixed configuration is used\n", s.skipped);
    return;
  }
  fmt::print(stderr,
             "model search: {} candidates planned, {} folds, {} rows searched (every {}), "
             "budget {:.1f}s{} ({:.3g} of {:.3g} row-rounds used), {:.1f}s\n",
             s.candidates_planned, s.folds.size(), s.search_rows, s.row_stride, s.budget_seconds,
             s.budget_auto ? " auto" : "", s.work_used, s.work_budget, s.seconds);
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < s.trials.size(); ++i) {
    if (s.trials[i].rung >= 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = s.trials[a];
    const auto& y = s.trials[b];
    if (x.fold_auc.size() != y.fold_auc.size()) return x.fold_auc.size() > y.fold_auc.size();
    return x.mean_auc > y.mean_auc;
  });
  // "final fit": the trial's predicted final-fit work over the cap (above 1 it cannot win).
  fmt::print(stderr, "  {:>3} {:>5} {:>9} {:>9} {:>9}  {}\n", "id", "folds", "mean AUC", "logloss",
             "final fit", "configuration");
  for (std::size_t k = 0; k < order.size() && k < 12; ++k) {
    const SearchRecord::Trial& t = s.trials[order[k]];
    const double share = t.final_fit_work / s.final_fit_cap;
    const bool chosen = static_cast<int>(order[k]) == s.winner;
    fmt::print(stderr, "  {:>3} {:>5} {:>9.5f} {:>9.5f} {:>9}  {}{}\n", t.id, t.fold_auc.size(),
               t.mean_auc, t.mean_logloss,
               std::isfinite(share) ? fmt::format("{:.2f}x", share) : std::string("-"),
               t.params.Summary(),
               chosen ? "  <- chosen" : (share > 1 ? "  (final fit over the cap)" : ""));
  }
}

void PrintReport(const TrainPipelineResult& result, const std::string& metric) {
  const PublishOutcome& outcome = result.published;
  const ModelMeta& m = outcome.meta;
  const TrainingReport& r = result.training;
  const DatasetCounts& counts = result.counts;
  const PromotionDecision& d = outcome.decision;
  fmt::print("csml train: published {} to {}\n", QualifiedVersion(result.tenant, m.version),
             result.registry_dir.string());
  fmt::print("  decision    {}: {}\n", d.promote ? "promoted" : "NOT promoted", d.reason);
  fmt::print("  served now  {}\n", outcome.served_after);
  fmt::print("  source      {}\n", result.origin);
  fmt::print("  window      label_ts in ({}, {}] ({} days)\n", FormatRfc3339(m.window.from),
             FormatRfc3339(m.window.to), m.window.days);
  fmt::print(
      "  records     {} seen: {} in the window; skipped {} unlabeled, {} immature, {} "
      "invalid, {} outside the window\n",
      counts.records_seen, result.rows, counts.unlabeled, counts.immature, counts.invalid,
      counts.outside_window);
  fmt::print(
      "  split       train {} rows (snapshots {} .. {}), embargoed {}, validation {} rows "
      "(snapshots {} .. {})\n",
      r.split.train.size(), Day(r.split.train_start), Day(r.split.train_end), r.split.embargoed,
      r.split.validation.size(), Day(r.split.validation_start), Day(r.split.validation_end));
  fmt::print("  model       {} rounds (best validation {} {:.5f}; {} rounds run); {}\n",
             r.best_round, metric, r.best_value, r.rounds_run,
             r.refit ? fmt::format("refit on all {} rows of the window", r.final_rows)
                     : fmt::format("trained on the {} training rows (no refit)", r.final_rows));
  fmt::print("  params      {}{}\n", CandidateOf(r.params).Summary(),
             r.search && r.search->skipped.empty() ? " (chosen by the model search)" : " (fixed)");
  fmt::print("  thresholds  medium >= {}, high >= {} ({})\n", Fixed(m.thresholds.medium),
             Fixed(m.thresholds.high), m.threshold_method);
  fmt::print(
      "  tiers       on validation: low {} of rows churn {} | medium {} churn {} | high {} "
      "churn {}\n",
      Percent(r.tiers.of(Tier::kLow).share), Percent(r.tiers.of(Tier::kLow).churn_rate),
      Percent(r.tiers.of(Tier::kMedium).share), Percent(r.tiers.of(Tier::kMedium).churn_rate),
      Percent(r.tiers.of(Tier::kHigh).share), Percent(r.tiers.of(Tier::kHigh).churn_rate));
  const CalibrationChoice& c = r.calibration_choice;
  fmt::print(
      "  calibration {} (cross-fitted logloss: none {}, platt {}, isotonic {}); calibration "
      "error {} before, {} after\n",
      CalibrationMethodName(c.calibration.method()), Fixed(c.logloss_none), Fixed(c.logloss_platt),
      Fixed(c.logloss_isotonic), Fixed(r.validation_uncalibrated.calibration_error),
      Fixed(r.validation.calibration_error));
  const BinaryMetrics& v = r.validation;
  fmt::print("  validation  AUC {} (± {})  PR-AUC {}  logloss {}  Brier {}  base rate {}\n",
             Fixed(v.auc), Fixed(v.auc_standard_error), Fixed(v.pr_auc), Fixed(v.log_loss),
             Fixed(v.brier), Fixed(v.base_rate));
  fmt::print(
      "              calibration error {} (10 bins)  top-decile lift {}  high tier: "
      "precision {} recall {} lift {}\n",
      Fixed(v.calibration_error), Fixed(v.top_decile_lift, 2), Fixed(r.tiers.high_precision, 3),
      Fixed(r.tiers.high_recall, 3), Fixed(r.tiers.high_lift, 2));
  fmt::print("  train fit   AUC {}  logloss {}  (early-stopped model on its training rows)\n",
             Fixed(r.train.auc), Fixed(r.train.log_loss));
  double total_gain = 0;
  for (const auto& [name, gain] : r.importance_gain) total_gain += gain;
  std::string importance;
  for (std::size_t i = 0; i < r.importance_gain.size() && i < 5; ++i) {
    if (i > 0) importance += ", ";
    importance += fmt::format("{} {}", r.importance_gain[i].first,
                              Percent(r.importance_gain[i].second / total_gain));
  }
  fmt::print("  importance  {} (gain)\n", importance);
  fmt::print("  time        {}early stopping {}, evaluation {}, refit {}\n",
             r.search ? fmt::format("search {}, ", Duration(r.search_seconds)) : "",
             Duration(r.early_stopping_seconds), Duration(r.evaluate_seconds),
             Duration(r.refit_seconds));
}

Result<int> RunTrain(const TrainFlags& flags) {
  auto source = flags.source.ToOptions();
  if (!source) return tl::unexpected(source.error());
  CSML_ASSIGN_OR_RETURN(auto options, ToPipelineOptions(flags));
  CSML_ASSIGN_OR_RETURN(auto pipeline, TrainPipeline::Create(std::move(options)));

  // Invalid records are skipped and counted; the validator decides whether they block.
  source->read.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  source->read.max_problems_kept = 1000;
  const TrainingLoader load = [&source]() -> Result<TrainingInput> {
    CSML_ASSIGN_OR_RETURN(auto loaded, LoadSnapshots(*source));
    TrainingInput input;
    input.batch = std::move(loaded.batch);
    input.as_of = loaded.as_of;
    input.days = loaded.days;
    input.outside_window = loaded.outside_window;
    input.origin = std::move(loaded.origin);
    return input;
  };
  const std::string& metric = pipeline.options().train.early_stopping_metric;
  ProgressPrinter printer(flags.quiet, metric);
  CSML_ASSIGN_OR_RETURN(auto result, pipeline.Run(load, printer));

  if (result.refused) {
    std::fputs(RenderValidationText(result.validation).c_str(), stderr);
    spdlog::error("refusing to train: {} error(s) in the data from {} (see above)",
                  result.validation.errors(), result.origin);
    return 1;
  }
  if (result.tenant_refused) {
    std::string why = result.tenant_refusal;
    for (const auto& [field, flag] :
         {std::pair<std::string_view, std::string_view>{"min tenant rows", "--min-tenant-rows"},
          {"min tenant positives", "--min-tenant-positives"}}) {
      if (const std::size_t at = why.find(field); at != std::string::npos) {
        why.replace(at, field.size(), flag);
      }
    }
    spdlog::error(
        "refusing a model for tenant {}: {} (from {}); nothing was published, the "
        "tenant keeps the global model",
        result.tenant, why, result.origin);
    return 1;
  }
  if (!flags.quiet && result.training.search) PrintSearch(*result.training.search);
  const PublishOutcome& outcome = result.published;
  if (flags.quiet) {
    fmt::print("published {} {} auc={} thresholds={},{} served={}\n",
               QualifiedVersion(result.tenant, outcome.meta.version),
               outcome.decision.promote ? "promoted" : "not_promoted",
               Fixed(result.training.validation.auc), Fixed(outcome.meta.thresholds.medium),
               Fixed(outcome.meta.thresholds.high), outcome.served_after);
  } else {
    PrintReport(result, metric);
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
  auto* eta = cmd->add_option("--eta", flags->eta, "Learning rate (implies --no-tune)")
                  ->capture_default_str();
  auto* leaves =
      cmd->add_option("--max-leaves", flags->max_leaves, "Leaves per tree (implies --no-tune)")
          ->capture_default_str();
  auto* mcw = cmd->add_option("--min-child-weight", flags->min_child_weight,
                              "Minimum hessian sum in a leaf (implies --no-tune)")
                  ->capture_default_str();
  cmd->add_flag("--no-tune", flags->no_tune,
                "No model search: train the fixed configuration (eta, leaves, min child weight "
                "above), as csml did before the search");
  cmd->add_option("--tune-budget", flags->tune_budget,
                  "Model search budget in nominal seconds of one core (counted as boosting work, "
                  "so the result does not depend on the machine); 0 = automatic, scaled with "
                  "the data")
      ->capture_default_str();
  cmd->add_option("--monotone", flags->monotone,
                  "Monotone constraints FEATURE=+1|-1,... (e.g. failed_renewals_30d=+1)");
  cmd->add_flag("--no-refit", flags->no_refit,
                "Serve the early-stopped model trained on the training split, instead of "
                "refitting on every row of the window");
  cmd->add_option("--reasons", flags->reasons,
                  "How `csml serve` chooses this version's reasons by default: rules (the "
                  "seed's) or model (TreeSHAP codes, with the catalog recorded in meta.json; "
                  "docs/EXPLANATIONS.md)")
      ->capture_default_str();
  cmd->add_option("--calibration", flags->calibration,
                  "Post-hoc calibration of the risk: auto (chosen by out-of-fold log loss), "
                  "none, platt or isotonic")
      ->capture_default_str();
  cmd->add_option("--thresholds", flags->thresholds,
                  "Fixed tier thresholds MEDIUM,HIGH (e.g. 0.4,0.7) instead of validation "
                  "quantiles");
  cmd->add_option("--tier-quantiles", flags->tier_quantiles,
                  "Validation risk quantiles for the medium and high tiers (default 0.7,0.9)");
  cmd->add_option("--gate-auc-tolerance", flags->gate_auc_tolerance,
                  "Promotion gate: promote unless the validation AUC is more than this below "
                  "the served version's")
      ->capture_default_str();
  // The former name of --gate-auc-tolerance: kept out of --help so scripts keep working.
  auto* deprecated_tolerance =
      cmd->add_option("--auc-tolerance", flags->gate_auc_tolerance)->group("");
  cmd->add_flag("--force", flags->force, "Promote the new version whatever the gate says");
  cmd->add_option("--threads", flags->threads, "Training threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Random seed (same data, seed and threads: same model)")
      ->capture_default_str();
  cmd->add_flag("--quiet", flags->quiet,
                "No progress and no data warnings; one result line (for logs)");
  cmd->add_option("--scope", flags->scope,
                  "Registry namespace to publish into: global, or tenant (the namespace of "
                  "--tenant / TENANT_ID, behind the tenant data gate)")
      ->capture_default_str();
  cmd->add_option("--min-tenant-rows", flags->min_tenant_rows,
                  "Tenant data gate (--scope tenant): fewest labeled rows in the window")
      ->capture_default_str();
  cmd->add_option("--min-tenant-positives", flags->min_tenant_positives,
                  "Tenant data gate (--scope tenant): fewest churned rows (label 1) in the window")
      ->capture_default_str();
  CLI::Option* tenant = cmd->get_option("--tenant");
  const bool tenant_in_env = env.tenant_id_set;
  cmd->callback([&slot, flags, deprecated_tolerance, eta, leaves, mcw, tenant, tenant_in_env] {
    flags->booster_flag_given = eta->count() > 0 || leaves->count() > 0 || mcw->count() > 0;
    flags->tenant_given = tenant->count() > 0 || tenant_in_env;
    if (deprecated_tolerance->count() > 0) {
      spdlog::warn("csml train: --auc-tolerance is deprecated; use --gate-auc-tolerance");
    }
    slot.name = "train";
    slot.run = [flags]() -> Result<int> { return RunTrain(*flags); };
  });
}

}  // namespace csml::cli
