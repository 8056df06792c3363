// csml test: the seed's `test_model.py --days=30`. Scores the labeled, mature snapshots of
// the last N days (the CS API, or --input) with the served version (or --version V), prints
// the figures beside the ones meta.json recorded at training, writes report.json and a
// self-contained report.html, and answers with its verdict in the exit code:
//   0 the model passes, 1 its AUC is below --min-auc or a figure degraded past its tolerance,
//   2 the data or the model could not be read (main.cc maps every Error to 2).
// The domain does the work (reporting/*.h); this file turns flags into options and writes.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/data/window.h"
#include "csml/registry/registry.h"
#include "csml/reporting/evaluation_report.h"
#include "csml/reporting/report_renderer.h"
#include "csml/serving/batch_scorer.h"
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
  EvaluationOptions options;
  options.min_auc = flags.min_auc;
  options.max_auc_drop = flags.max_auc_drop;
  options.max_calibration_error_rise = flags.calibration_tolerance;
  options.max_relative_change = flags.tolerance;
  if (auto s = options.Validate(); !s) {
    return tl::unexpected(NameTheFlag(
        s.error(), {{"evaluation options: min_auc", "--min-auc"},
                    {"evaluation options: max_auc_drop", "--max-auc-drop"},
                    {"evaluation options: max_calibration_error_rise", "--calibration-tolerance"},
                    {"evaluation options: max_relative_change", "--tolerance"}}));
  }
  BatchScoringOptions scoring;
  scoring.threads = flags.threads;
  if (auto s = scoring.Validate(); !s) return tl::unexpected(s.error().WithContext("--threads"));

  // The model first: a version that cannot load is known before any data is fetched.
  auto registry = Registry::Open(flags.model_dir, RegistryOpenMode::kReadOnly);
  if (!registry) return tl::unexpected(registry.error());
  auto served = registry->ResolveServed();
  std::string version = flags.version;
  if (version.empty()) {
    if (!served) return tl::unexpected(served.error().WithContext(flags.model_dir));
    version = *served;
  }
  auto meta = registry->ReadMeta(version);
  if (!meta) return tl::unexpected(meta.error());
  auto scorer = LoadBatchScorer(*registry, version);
  if (!scorer) return tl::unexpected(scorer.error());

  // Invalid records are skipped and counted: one bad record must not hide the model's state.
  source->read.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  source->read.max_problems_kept = 5;
  auto loaded = LoadSnapshots(*source);
  if (!loaded) return tl::unexpected(loaded.error());
  for (const SnapshotProblem& problem : loaded->batch.problems) {
    spdlog::warn("{}: skipped an invalid record: {}", loaded->origin, problem.ToString());
  }

  EvaluationSource info;
  info.origin = loaded->origin;
  info.days = loaded->days;
  info.records_seen = loaded->batch.records_seen;
  info.invalid = loaded->batch.records_invalid;
  info.served = served && *served == version;
  WindowOptions window;
  window.days = loaded->days;
  window.as_of = loaded->as_of;
  const std::size_t outside_before = loaded->outside_window;
  auto labeled = SelectWindow(std::move(loaded->batch.records), window);
  if (!labeled) return tl::unexpected(labeled.error().WithContext(info.origin));
  info.as_of = labeled->as_of;
  info.window_start = labeled->start;
  info.unlabeled = labeled->unlabeled;
  info.immature = labeled->immature;
  info.outside_window = outside_before + labeled->outside_window;
  if (labeled->records.empty()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: expected labeled snapshots with label_ts in ({}, {}], got "
                                 "none ({} records: {} unlabeled, {} immature, {} invalid, {} "
                                 "outside the window)",
                                 info.origin, FormatRfc3339(info.window_start),
                                 FormatRfc3339(info.as_of), info.records_seen, info.unlabeled,
                                 info.immature, info.invalid, info.outside_window));
  }

  auto rows = ScoreLabeledSnapshots(*scorer, labeled->records, scoring);
  if (!rows) return tl::unexpected(rows.error().WithContext(version));
  info.generated_at = NowUtc();
  auto report = BuildEvaluationReport(*rows, *meta, info, options);
  if (!report) return tl::unexpected(report.error());

  const std::filesystem::path dir = flags.out.empty()
                                        ? DefaultReportDir("reports", version, info.generated_at)
                                        : std::filesystem::path(flags.out);
  auto files = WriteEvaluationReport(*report, dir);
  if (!files) return tl::unexpected(files.error());

  std::fputs(RenderEvaluationText(*report).c_str(), stdout);
  fmt::print("  report      {} (figures and curves: {})\n", files->html.string(),
             files->json.string());
  std::fflush(stdout);
  return report->passed ? 0 : 1;
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
  cmd->add_option("--version", flags->version,
                  "Model version (default: the served one: promoted, else the newest)");
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
