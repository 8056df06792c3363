// csml monitor: the prediction log of `csml serve` joined with the outcomes that arrived
// since (the CS API, or --input), reported per model version and week (docs/MONITORING.md):
// text on stdout, report.json and report.html in --out. Exit 0 every check passed, 1 a check
// failed (--min-auc, --max-psi, --max-calibration-error), 2 the log, the outcomes or the
// registry could not be read (main.cc maps every Error to 2).
// With --compare: the shadow scores of the log against the answers they shadowed
// (RunShadowCompare, monitoring/shadow_compare.h); exit 0 reported, 1 no shadow record (or
// none paired with its answer), 2 could not run.
// The domain does the work (RunMonitor, reporting/monitor_run.h); this file turns flags into
// options, loads the outcomes, writes the report files and prints.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/core/time.h"
#include "csml/monitoring/shadow_compare.h"
#include "csml/registry/registry.h"
#include "csml/reporting/monitor_run.h"
#include "csml/reporting/report_renderer.h"
#include "environment.h"
#include "flag_names.h"
#include "snapshot_source.h"

namespace csml::cli {
namespace {

struct MonitorFlags {
  SnapshotSourceFlags source;
  std::string log_dir;
  std::string out;  // empty = reports/monitor/<timestamp>
  std::string model_dir;
  double match_window_days = 7;
  double min_auc = MonitorOptions{}.min_auc;
  double max_psi = MonitorOptions{}.max_psi;
  double max_calibration_error = MonitorOptions{}.max_calibration_error;
  std::size_t min_outcomes = MonitorOptions{}.min_outcomes;
  std::size_t min_psi_predictions = MonitorOptions{}.min_psi_predictions;
  bool compare = false;
};

void WarnSkippedLines(const MonitorSource& source) {
  if (source.torn_lines > 0 || source.bad_lines > 0) {
    spdlog::warn("csml monitor: skipped {} torn and {} bad lines of the log{}{}", source.torn_lines,
                 source.bad_lines, source.first_bad_line_error.empty() ? "" : "; first: ",
                 source.first_bad_line_error);
  }
}

Result<int> RunCompare(const MonitorFlags& flags, const MonitorRunOptions& options,
                       const MonitorOutcomeLoader& load) {
  CSML_ASSIGN_OR_RETURN(MonitorOutcomes outcomes, load());
  MonitorOptions monitor = options.monitor;
  monitor.as_of = outcomes.as_of;
  MonitorSource source;
  source.outcomes_origin = outcomes.origin;
  source.outcome_records = outcomes.records_seen;
  source.outcomes_invalid = outcomes.invalid;
  source.generated_at = NowUtc();
  CSML_ASSIGN_OR_RETURN(
      ShadowCompareReport report,
      RunShadowCompare(options.log_dir, monitor, std::move(outcomes.records), source));
  WarnSkippedLines(report.source);
  if (report.shadow_records == 0) {
    spdlog::error(
        "csml monitor --compare: no shadow records in the log {} ({} answers): name a shadow "
        "version with `csml models shadow V` and let it score traffic",
        options.log_dir, report.answers);
    return 1;
  }
  const std::filesystem::path dir =
      flags.out.empty() ? DefaultReportDir("reports", "monitor-compare", report.source.generated_at)
                        : std::filesystem::path(flags.out);
  CSML_ASSIGN_OR_RETURN(auto files, WriteShadowCompareReport(report, dir));
  std::fputs(RenderShadowCompareText(report).c_str(), stdout);
  fmt::print("report: {} (figures: {})\n", files.html.string(), files.json.string());
  std::fflush(stdout);
  if (report.paired == 0) {
    spdlog::error(
        "csml monitor --compare: none of the {} shadow records pairs with an answer of the "
        "same request_id, batch_index and user_id (were the answers' segments removed?)",
        report.shadow_records);
    return 1;
  }
  return 0;
}

Result<int> RunMonitorCommand(const MonitorFlags& flags) {
  CSML_ASSIGN_OR_RETURN(SnapshotSourceOptions source, flags.source.ToOptions());
  if (!(flags.match_window_days > 0) || !std::isfinite(flags.match_window_days)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--match-window-days: expected a number of days > 0, got {}",
                                 flags.match_window_days));
  }
  MonitorRunOptions options;
  options.log_dir = flags.log_dir;
  options.monitor.match_window =
      static_cast<UnixSeconds>(std::llround(flags.match_window_days * kSecondsPerDay));
  options.monitor.min_auc = flags.min_auc;
  options.monitor.max_psi = flags.max_psi;
  options.monitor.max_calibration_error = flags.max_calibration_error;
  options.monitor.min_outcomes = flags.min_outcomes;
  options.monitor.min_psi_predictions = flags.min_psi_predictions;
  if (Status s = NameFlags(options.monitor.Validate(),
                           {{"min_auc", "--min-auc"},
                            {"max_psi", "--max-psi"},
                            {"max_calibration_error", "--max-calibration-error"},
                            {"min_outcomes", "--min-outcomes"},
                            {"min_psi_predictions", "--min-psi-predictions"},
                            {"match_window", "--match-window-days"}});
      !s) {
    return tl::unexpected(s.error());
  }

  source.read.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  source.read.max_problems_kept = 5;
  const MonitorOutcomeLoader load = [&source]() -> Result<MonitorOutcomes> {
    CSML_ASSIGN_OR_RETURN(auto loaded, LoadSnapshots(source));
    for (const SnapshotProblem& problem : loaded.batch.problems) {
      spdlog::warn("{}: skipped an invalid record: {}", loaded.origin, problem.ToString());
    }
    MonitorOutcomes outcomes;
    outcomes.records = std::move(loaded.batch.records);
    outcomes.records_seen = loaded.batch.records_seen;
    outcomes.invalid = loaded.batch.records_invalid;
    outcomes.as_of = loaded.as_of;
    outcomes.origin = std::move(loaded.origin);
    return outcomes;
  };
  if (flags.compare) return RunCompare(flags, options, load);

  // Without a registry the figures still come, without PSI (no training profile to compare).
  std::optional<Registry> registry;
  if (Result<Registry> opened = Registry::Open(flags.model_dir, RegistryOpenMode::kReadOnly);
      opened) {
    registry = std::move(*opened);
  } else {
    spdlog::warn("csml monitor: {}: no PSI (the training profiles are in the registry)",
                 opened.error().message);
  }
  CSML_ASSIGN_OR_RETURN(MonitorReport report,
                        RunMonitor(options, registry ? &*registry : nullptr, load));
  WarnSkippedLines(report.source);

  const std::filesystem::path dir =
      flags.out.empty() ? DefaultReportDir("reports", "monitor", report.source.generated_at)
                        : std::filesystem::path(flags.out);
  CSML_ASSIGN_OR_RETURN(auto files, WriteMonitorReport(report, dir));
  std::fputs(RenderMonitorText(report).c_str(), stdout);
  fmt::print("report: {} (figures: {})\n", files.html.string(), files.json.string());
  std::fflush(stdout);
  return report.passed ? 0 : 1;
}

}  // namespace

void AddMonitorCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<MonitorFlags>();
  flags->model_dir = env.model_dir;
  auto* cmd = app.add_subcommand(
      "monitor",
      "Join the prediction log with the outcomes known since and report per model version and "
      "week: realized AUC, calibration, churn per tier, tier mix, PSI against training, revenue "
      "at risk; exit 0 pass, 1 a check failed, 2 could not run");
  cmd->add_option("--log", flags->log_dir,
                  "Prediction log directory (every replica's segments, plain and .zst)")
      ->required();
  AddSnapshotSourceFlags(cmd, &flags->source, 90);
  cmd->add_option("--model-dir", flags->model_dir,
                  "Model registry (env MODEL_DIR): each version's training profile for PSI")
      ->capture_default_str();
  cmd->add_option("--out", flags->out,
                  "Report directory for report.json and report.html (default: "
                  "reports/monitor/<UTC timestamp>)");
  cmd->add_option("--match-window-days", flags->match_window_days,
                  "A prediction joins the customer's latest snapshot at or before it, at most "
                  "this many days older")
      ->capture_default_str();
  cmd->add_option("--min-auc", flags->min_auc,
                  "Fail when a week's realized AUC is below this (0 = never)")
      ->capture_default_str();
  cmd->add_option("--max-psi", flags->max_psi,
                  "Fail when a week's PSI of a feature or of the risk is above this")
      ->capture_default_str();
  cmd->add_option("--max-calibration-error", flags->max_calibration_error,
                  "Fail when a week's calibration error (ECE, 10 bins) is above this (1 = never)")
      ->capture_default_str();
  cmd->add_option("--min-outcomes", flags->min_outcomes,
                  "Known outcomes (both classes) a week needs before its AUC and calibration "
                  "are checked")
      ->capture_default_str();
  cmd->add_option("--min-psi-predictions", flags->min_psi_predictions,
                  "Predictions a week needs before its PSI is checked")
      ->capture_default_str();
  cmd->add_flag("--compare", flags->compare,
                "Report the shadow version against the answers it shadowed instead: tier "
                "changes, top-decile overlap, rank correlation, customers moving up to high, "
                "realized AUC and calibration of both; exit 1 when the log has no shadow "
                "record (the --min/--max checks do not apply)");
  cmd->callback([&slot, flags] {
    slot.name = "monitor";
    slot.run = [flags]() -> Result<int> { return RunMonitorCommand(*flags); };
  });
}

}  // namespace csml::cli
