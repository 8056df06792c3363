// csml test: the seed's `test_model.py --days=30`. Scores the labeled, mature snapshots of
// the last N days (the CS API, or --input) with the served version (or --version V), prints
// the figures beside the ones meta.json recorded at training, writes report.json and a
// self-contained report.html, and answers with its verdict in the exit code:
//   0 the model passes, 1 its AUC is below --min-auc or a figure degraded past its tolerance,
//   2 the data or the model could not be read (main.cc maps every Error to 2).
// The domain does the work (EvaluateVersion, reporting/version_evaluation.h); this file turns
// flags into options, loads the snapshots, writes the report files and prints.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/registry/registry.h"
#include "csml/reporting/report_renderer.h"
#include "csml/reporting/version_evaluation.h"
#include "environment.h"
#include "flag_names.h"
#include "snapshot_source.h"

namespace csml::cli {
namespace {

struct TestFlags {
  SnapshotSourceFlags source;
  std::string version;  // empty = the served version
  std::string out;      // empty = reports/<version>/<timestamp>
  std::string model_dir;
  double min_auc = EvaluationOptions{}.min_auc;
  double max_auc_drop = EvaluationOptions{}.max_auc_drop;
  double calibration_tolerance = EvaluationOptions{}.max_calibration_error_rise;
  double tolerance = EvaluationOptions{}.max_relative_change;
  std::size_t threads = 0;
};

Result<int> RunTest(const TestFlags& flags) {
  auto source = flags.source.ToOptions();
  if (!source) return tl::unexpected(source.error());
  VersionEvaluationOptions options;
  options.version = flags.version;
  options.evaluation.min_auc = flags.min_auc;
  options.evaluation.max_auc_drop = flags.max_auc_drop;
  options.evaluation.max_calibration_error_rise = flags.calibration_tolerance;
  options.evaluation.max_relative_change = flags.tolerance;
  options.scoring.threads = flags.threads;
  if (auto s = options.Validate(); !s) {
    return tl::unexpected(NameFlags(
        s.error(), {{"evaluation options: min_auc", "--min-auc"},
                    {"evaluation options: max_auc_drop", "--max-auc-drop"},
                    {"evaluation options: max_calibration_error_rise", "--calibration-tolerance"},
                    {"evaluation options: max_relative_change", "--tolerance"},
                    {"threads", "--threads"}}));
  }
  CSML_ASSIGN_OR_RETURN(auto registry,
                        Registry::Open(flags.model_dir, RegistryOpenMode::kReadOnly));

  // Invalid records are skipped and counted: one bad record must not hide the model's state.
  source->read.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  source->read.max_problems_kept = 5;
  const EvaluationLoader load = [&source]() -> Result<EvaluationInput> {
    CSML_ASSIGN_OR_RETURN(auto loaded, LoadSnapshots(*source));
    for (const SnapshotProblem& problem : loaded.batch.problems) {
      spdlog::warn("{}: skipped an invalid record: {}", loaded.origin, problem.ToString());
    }
    EvaluationInput input;
    input.records = std::move(loaded.batch.records);
    input.records_seen = loaded.batch.records_seen;
    input.invalid = loaded.batch.records_invalid;
    input.outside_window = loaded.outside_window;
    input.as_of = loaded.as_of;
    input.days = loaded.days;
    input.origin = std::move(loaded.origin);
    return input;
  };
  CSML_ASSIGN_OR_RETURN(auto evaluation, EvaluateVersion(registry, options, load));
  const EvaluationReport& report = evaluation.report;
  const std::string& version = evaluation.version;
  fmt::print(stderr, "csml test: model {} ({})\n", version,
             flags.version.empty() ? evaluation.version_reason : std::string("--version"));

  const std::filesystem::path dir =
      flags.out.empty() ? DefaultReportDir("reports", version, report.source.generated_at)
                        : std::filesystem::path(flags.out);
  CSML_ASSIGN_OR_RETURN(auto files, WriteEvaluationReport(report, dir));

  std::fputs(RenderEvaluationText(report).c_str(), stdout);
  fmt::print("  report      {} (figures and curves: {})\n", files.html.string(),
             files.json.string());
  std::fflush(stdout);
  return report.passed ? 0 : 1;
}

}  // namespace

void AddTestCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<TestFlags>();
  flags->model_dir = env.model_dir;
  auto* cmd = app.add_subcommand(
      "test",
      "Evaluate a model version on the labeled snapshots of the last N days: figures beside "
      "training, report.json and report.html; exit 0 pass, 1 fail, 2 unreadable data or model");
  AddSnapshotSourceFlags(cmd, &flags->source, 30);
  cmd->add_option(
      "--version", flags->version,
      "Model version (default: the served one, by the server's rule: docs/REGISTRY.md)");
  cmd->add_option("--out", flags->out,
                  "Report directory for report.json and report.html (default: "
                  "reports/<version>/<UTC timestamp>)");
  cmd->add_option("--model-dir", flags->model_dir, "Model registry directory (env MODEL_DIR)")
      ->capture_default_str();
  cmd->add_option("--min-auc", flags->min_auc, "Fail when the AUC on the window is below this")
      ->capture_default_str();
  cmd->add_option("--max-auc-drop", flags->max_auc_drop,
                  "Fail when the AUC is more than this (AUC points) below training's")
      ->capture_default_str();
  // The former name of --max-auc-drop: kept out of --help so scripts keep working.
  auto* deprecated_drop = cmd->add_option("--auc-tolerance", flags->max_auc_drop)->group("");
  cmd->add_option("--calibration-tolerance", flags->calibration_tolerance,
                  "Fail when the calibration error (10-bin ECE) is more than this above "
                  "training's")
      ->capture_default_str();
  cmd->add_option("--tolerance", flags->tolerance,
                  "Fail when PR-AUC or top-decile lift fall, or log loss or Brier rise, by more "
                  "than this share of training's figure (0.25 = 25%)")
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads, "Scoring threads (0 = all cores)")
      ->capture_default_str();
  cmd->callback([&slot, flags, deprecated_drop] {
    if (deprecated_drop->count() > 0) {
      spdlog::warn("csml test: --auc-tolerance is deprecated; use --max-auc-drop");
    }
    slot.name = "test";
    slot.run = [flags]() -> Result<int> { return RunTest(*flags); };
  });
}

}  // namespace csml::cli
