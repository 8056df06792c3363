// csml validate: the seed's validate_data.py. Reads labeled snapshots from the CS API (or
// --input FILE), checks them (validation/data_validator.h) and prints a report, as a table or
// with --json for machines. Exit 0: the data can be trained on (warnings allowed); 1: errors
// block training; 2 (an Error, mapped in main): the source could not be read.
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "command.h"
#include "csml/validation/data_validator.h"
#include "flag_names.h"
#include "snapshot_source.h"

namespace csml::cli {
namespace {

constexpr int kExitBlocked = 1;

struct ValidateFlags {
  SnapshotSourceFlags source;
  ValidationOptions thresholds;
  bool json = false;
  bool quiet = false;
};

// --quiet: the verdict in one line, for logs and CI.
std::string RenderVerdictLine(const ValidationReport& report) {
  std::string line = fmt::format(
      "validate: {}: {} error{}, {} warning{}; {} records checked of {} read from {}",
      report.BlocksTraining() ? "FAIL" : "OK", report.errors(), report.errors() == 1 ? "" : "s",
      report.warnings(), report.warnings() == 1 ? "" : "s", report.records_checked,
      report.records_seen, report.source);
  if (!report.findings.empty()) {
    const Finding& first = report.findings.front();
    line += fmt::format("; first: {} {}", SeverityName(first.severity), first.kind);
  }
  return line + "\n";
}

std::string DescribeSource(const LoadedSnapshots& loaded) {
  if (loaded.attempts.empty()) {
    return fmt::format("{} ({} bytes)", loaded.origin, loaded.bytes);
  }
  const std::size_t n = loaded.attempts.size();
  return fmt::format("{} (HTTP 200 after {} attempt{}, {} bytes)", loaded.origin, n,
                     n == 1 ? "" : "s", loaded.bytes);
}

Result<int> RunValidate(const ValidateFlags& flags) {
  Result<SnapshotSourceOptions> source = flags.source.ToOptions();
  if (!source) return tl::unexpected(source.error());
  ValidationOptions options = flags.thresholds;
  options.days = source->days;
  options.as_of = source->as_of;
  // A file is read whole and the validator selects the window itself, so that the record
  // numbers of its findings are positions in the file; the CS API selects its own window.
  const bool from_file = !source->input.empty();
  source->select_window = false;
  options.select_window = from_file;
  if (Status valid =
          NameFlags(options.Validate(), {{"max_invalid_rate", "--max-invalid-rate"},
                                         {"warn_missing_rate", "--warn-missing-rate"},
                                         {"max_missing_rate", "--max-missing-rate"},
                                         {"warn_unknown_region_rate", "--warn-unknown-region-rate"},
                                         {"max_unknown_region_rate", "--max-unknown-region-rate"},
                                         {"max_duplicate_rate", "--max-duplicate-rate"},
                                         {"min_labeled_records", "--min-labeled"},
                                         {"min_class_records", "--min-class-records"},
                                         {"warn_minority_rate", "--warn-minority-rate"},
                                         {"max_immature_rate", "--max-immature-rate"},
                                         {"max_empty_weeks", "--max-empty-weeks"},
                                         {"stale days", "--warn-stale-days and --max-stale-days"},
                                         {"days", "--days"}});
      !valid) {
    return tl::unexpected(valid.error());
  }
  source->read.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  source->read.max_problems_kept = std::numeric_limits<std::size_t>::max();

  Result<LoadedSnapshots> loaded = LoadSnapshots(*source);
  if (!loaded) return tl::unexpected(loaded.error());
  if (!from_file) options.as_of = loaded->as_of;

  Result<ValidationReport> report = ValidateSnapshots(loaded->batch, options);
  if (!report) return tl::unexpected(report.error());
  report->source = DescribeSource(*loaded);
  const std::string text = flags.json    ? RenderValidationJson(*report)
                           : flags.quiet ? RenderVerdictLine(*report)
                                         : RenderValidationText(*report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return report->BlocksTraining() ? kExitBlocked : 0;
}

}  // namespace

void AddValidateCommand(CLI::App& app, CommandSlot& slot) {
  auto flags = std::make_shared<ValidateFlags>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Check labeled snapshots before training; exit 0 ok, 1 errors block training, 2 unreadable");
  AddSnapshotSourceFlags(cmd, &flags->source, /*default_days=*/90);
  CLI::Option* json = cmd->add_flag("--json", flags->json, "Print the report as JSON");
  cmd->add_flag("--quiet", flags->quiet, "Print only the verdict, in one line (for logs)")
      ->excludes(json);
  ValidationOptions& t = flags->thresholds;
  cmd->add_option("--max-invalid-rate", t.max_invalid_rate,
                  "Share of records breaking the schema above which it is an error")
      ->capture_default_str();
  cmd->add_option("--warn-missing-rate", t.warn_missing_rate,
                  "Share of missing values of a feature above which it is a warning")
      ->capture_default_str();
  cmd->add_option("--max-missing-rate", t.max_missing_rate,
                  "Share of missing values of a feature above which it is an error")
      ->capture_default_str();
  cmd->add_option("--warn-unknown-region-rate", t.warn_unknown_region_rate,
                  "Share of regions outside IN/SG/US/EU above which it is a warning")
      ->capture_default_str();
  cmd->add_option("--max-unknown-region-rate", t.max_unknown_region_rate,
                  "Share of regions outside IN/SG/US/EU above which it is an error")
      ->capture_default_str();
  cmd->add_option("--max-duplicate-rate", t.max_duplicate_rate,
                  "Share of repeated (userId, snapshot_ts) above which it is an error")
      ->capture_default_str();
  cmd->add_option("--min-labeled", t.min_labeled_records,
                  "Fewer labeled records (mature at the as-of time) is an error")
      ->capture_default_str();
  cmd->add_option("--min-class-records", t.min_class_records,
                  "Fewer records of either label is an error")
      ->capture_default_str();
  cmd->add_option("--warn-minority-rate", t.warn_minority_rate,
                  "A label class below this share is a warning")
      ->capture_default_str();
  cmd->add_option("--max-immature-rate", t.max_immature_rate,
                  "Share of labels after the as-of time above which it is an error")
      ->capture_default_str();
  cmd->add_option("--max-empty-weeks", t.max_empty_weeks,
                  "More weeks without snapshots inside the covered span is an error")
      ->capture_default_str();
  cmd->add_option("--warn-stale-days", t.warn_stale_days,
                  "Newest snapshot older than this at the as-of time is a warning")
      ->capture_default_str();
  cmd->add_option("--max-stale-days", t.max_stale_days,
                  "Newest snapshot older than this at the as-of time is an error")
      ->capture_default_str();
  cmd->callback([&slot, flags] {
    slot.name = "validate";
    slot.run = [flags]() -> Result<int> { return RunValidate(*flags); };
  });
}

}  // namespace csml::cli
