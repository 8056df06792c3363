// csml simulate: writes synthetic labeled CS snapshots (docs/COMMANDS.md) to a .json (array)
// or .jsonl (JSON Lines) file. The file appears only when complete (temporary file, fsync,
// rename), and the same flags always give the same bytes.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "command.h"
#include "csml/core/time.h"
#include "csml/data/snapshot_writer.h"
#include "csml/simulate/simulator.h"
#include "flag_names.h"

namespace csml::cli {
namespace {

struct SimulateFlags {
  std::int64_t customers = 0;
  std::int64_t days = 0;
  std::uint64_t seed = 0;
  std::string end;  // YYYY-MM-DD; empty = today (UTC)
  std::string out;
  std::string world = "additive";
  double base_rate = 0;  // 0 = the world's own
};

Result<SimulatorOptions> ToOptions(const SimulateFlags& flags) {
  SimulatorOptions options;
  // Negative counts are refused here, before they could wrap in an unsigned option.
  if (flags.customers < 1) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("--customers: expected a whole number >= 1, got {}", flags.customers));
  }
  if (flags.days < 1 || flags.days > 3650) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("--days: expected a whole number in [1, 3650], got {}", flags.days));
  }
  options.customers = static_cast<std::size_t>(flags.customers);
  options.days = static_cast<int>(flags.days);
  options.seed = flags.seed;
  const std::optional<SimulatedWorld> world = ParseSimulatedWorld(flags.world);
  if (!world) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("--world: expected additive or interactions, got '{}'", flags.world));
  }
  options.world = *world;
  options.base_rate = flags.base_rate;
  if (flags.end.empty()) {
    const UnixSeconds now = NowUtc();
    options.end = now - now % kSecondsPerDay;
  } else {
    Result<UnixSeconds> end = ParseDate(flags.end);
    if (!end) return tl::unexpected(end.error().WithContext("--end"));
    options.end = *end;
  }
  if (Status valid = NameFlags(options.Validate(), {{"customers", "--customers"},
                                                    {"days", "--days"},
                                                    {"end", "--end"},
                                                    {"base_rate", "--base-rate"}});
      !valid) {
    return tl::unexpected(valid.error());
  }
  return options;
}

Result<int> RunSimulate(const SimulateFlags& flags) {
  Result<SimulatorOptions> options = ToOptions(flags);
  if (!options) return tl::unexpected(options.error());
  Result<SnapshotFormat> format = SnapshotFormatForPath(flags.out);
  if (!format) return tl::unexpected(format.error().WithContext("--out"));
  Result<SnapshotFileWriter> writer = SnapshotFileWriter::Create(flags.out, *format);
  if (!writer) return tl::unexpected(writer.error());

  Result<SimulationSummary> summary =
      Simulate(*options, [&writer](const Snapshot& snapshot, std::string_view region_text) {
        return writer->Append(snapshot, region_text);
      });
  if (!summary) return tl::unexpected(summary.error());
  if (Status committed = writer->Commit(); !committed) return tl::unexpected(committed.error());

  fmt::print(
      "simulate: {} records ({} labeled, {:.1f}% positive, {} pending) for {} customers, "
      "snapshots {} .. {}, written to {}\n",
      summary->records, summary->labeled, 100.0 * summary->positive_rate(), summary->unlabeled(),
      summary->customers, FormatRfc3339(summary->first_snapshot_ts),
      FormatRfc3339(summary->last_snapshot_ts), flags.out);
  return 0;
}

}  // namespace

void AddSimulateCommand(CLI::App& app, CommandSlot& slot) {
  auto flags = std::make_shared<SimulateFlags>();
  auto* cmd = app.add_subcommand(
      "simulate",
      "Write synthetic labeled CS snapshots (the training data contract) to a file; the same "
      "flags always give the same bytes");
  cmd->add_option("--customers", flags->customers, "Number of customers")->required();
  cmd->add_option("--days", flags->days,
                  "Days of labeled outcomes: label_ts falls in the DAYS days up to --end")
      ->required();
  cmd->add_option("--seed", flags->seed, "Random seed")->required();
  cmd->add_option("--end", flags->end,
                  "Last label day, YYYY-MM-DD (UTC); default today. Snapshots from the 30 days "
                  "before it have no outcome yet (label null)");
  cmd->add_option("--world", flags->world,
                  "Churn process: additive (the default, close to additive in the features) or "
                  "interactions (interactions, thresholds, region effects and drift)")
      ->capture_default_str();
  cmd->add_option("--base-rate", flags->base_rate,
                  "Aim at this share of positive labels, in (0, 0.5]; 0 = the world's own "
                  "(about 12%)")
      ->capture_default_str();
  cmd->add_option("--out", flags->out, "Output file: .json (JSON array) or .jsonl (JSON Lines)")
      ->required();
  cmd->callback([&slot, flags] {
    slot.name = "simulate";
    slot.run = [flags]() -> Result<int> { return RunSimulate(*flags); };
  });
}

}  // namespace csml::cli
