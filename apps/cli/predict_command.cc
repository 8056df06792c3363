// csml predict --input FILE [--version V] [--out FILE] [--full-precision]: offline batch
// scoring (docs/COMMANDS.md). Every snapshot of the file (JSON array or JSON Lines), labeled or
// not, is scored with the served version (or V) on every core and written as JSON Lines in
// input order: {"userId","snapshot_ts"} then exactly what `POST /score` answers for the same
// features ({"risk","tier","reasons","modelVersion"}, risk rounded as /score rounds it; the
// model's full probability with --full-precision; with --explain also "drivers", "baseline"
// and "margin" as /score?explain=true). This is how a nightly job scores all customers.
// Reading, scoring and writing run as a pipeline (BatchScorer::ScoreFile): --threads
// workers, the output identical for any number of them.
//
// Records that break the data contract are skipped, counted and described on stderr (the
// first few, by 1-based line), and the rest are scored: one bad record must not leave every
// customer unscored. --strict refuses the whole file at the first invalid record instead.
// Output goes to --out atomically (it appears complete or not at all), or to stdout; the
// summary goes to stderr either way.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "command.h"
#include "csml/data/snapshot_reader.h"
#include "csml/registry/registry.h"
#include "csml/serving/batch_scorer.h"
#include "csml/serving/model_loader.h"
#include "csml/serving/served_version.h"
#include "environment.h"

namespace csml::cli {
namespace {

struct PredictFlags {
  std::string input;
  std::string version;  // empty = the served version
  std::string out;      // empty = stdout
  std::string model_dir;
  std::size_t threads = 0;
  bool strict = false;
  bool full_precision = false;
  bool explain = false;
  std::string explain_top = "4";  // a whole number >= 1, or all
};

constexpr std::size_t kProblemsShown = 5;

// "line 201, field features.activity_7d: expected ..." (1-based, as an editor counts); a JSON
// array's element has no line and is named by its 1-based position instead.
std::string DescribeSkipped(const SnapshotProblem& problem) {
  std::string where = problem.line > 0 ? fmt::format("line {}", problem.line)
                                       : fmt::format("element {} of the array", problem.record + 1);
  if (!problem.field.empty()) where += fmt::format(", field {}", problem.field);
  return fmt::format("{}: {}", where, problem.message);
}

Result<int> RunPredict(const PredictFlags& flags) {
  BatchScoringOptions options;
  options.threads = flags.threads;
  options.full_precision_risk = flags.full_precision;
  if (flags.explain) {
    std::size_t top = 0;
    const std::string& text = flags.explain_top;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), top);
    if (text == "all") {
      top = std::numeric_limits<std::size_t>::max();
    } else if (ec != std::errc() || end != text.data() + text.size() || top < 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("--explain-top: expected a whole number >= 1 or all, got '{}'",
                                   text.substr(0, 40)));
    }
    options.explain_top = top;
  }
  if (Status s = options.Validate(); !s) return tl::unexpected(s.error());

  CSML_ASSIGN_OR_RETURN(auto registry,
                        Registry::Open(flags.model_dir, RegistryOpenMode::kReadOnly));
  // The served version by the server's rule, or the one asked for; stderr says which and why
  // (after the scores, so that stdout and stderr sharing a terminal keep the scores together).
  std::shared_ptr<const ServingModel> model;
  std::string chosen_because = "--version";
  if (flags.version.empty()) {
    CSML_ASSIGN_OR_RETURN(auto served, ResolveServedVersion(registry));
    chosen_because = fmt::format("{}: {}", ServedByName(served.choice.by), served.choice.reason);
    model = std::move(served.loaded.model);
  } else {
    CSML_ASSIGN_OR_RETURN(auto loaded, LoadVersion(registry, flags.version));
    model = std::move(loaded.model);
  }
  CSML_ASSIGN_OR_RETURN(auto scorer, BatchScorer::ForModel(std::move(model)));

  SnapshotReadOptions read_options;
  read_options.on_invalid =
      flags.strict ? SnapshotReadOptions::OnInvalid::kFail : SnapshotReadOptions::OnInvalid::kSkip;
  read_options.max_problems_kept = kProblemsShown;

  Result<FileScoringSummary> summary;
  if (flags.out.empty()) {
    summary =
        scorer.ScoreFile(flags.input, read_options, options, [](std::string_view text) -> Status {
          if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
            return MakeError(ErrorCode::kIo,
                             fmt::format("stdout: cannot write: {}", std::strerror(errno)));
          }
          return {};
        });
    if (summary && std::fflush(stdout) != 0) {
      return MakeError(ErrorCode::kIo,
                       fmt::format("stdout: cannot write: {}", std::strerror(errno)));
    }
  } else {
    summary = scorer.ScoreFileTo(flags.input, read_options, options, flags.out);
  }
  if (!summary) return tl::unexpected(summary.error());
  if (summary->records_invalid > 0) {
    fmt::print(stderr, "csml predict: {}: skipped {} of {} records that break the data contract\n",
               flags.input, summary->records_invalid, summary->records_seen);
    for (const SnapshotProblem& problem : summary->problems) {
      fmt::print(stderr, "csml predict: {}: skipped {}\n", flags.input, DescribeSkipped(problem));
    }
  }
  fmt::print(stderr, "csml predict: model {} ({})\n", scorer.version(), chosen_because);
  fmt::print(stderr, "csml predict: scored {} snapshots with {} on {} thread{} -> {}\n",
             summary->scoring.rows, scorer.version(), summary->scoring.threads,
             summary->scoring.threads == 1 ? "" : "s",
             flags.out.empty() ? std::string("stdout") : flags.out);
  return 0;
}

}  // namespace

void AddPredictCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<PredictFlags>();
  flags->model_dir = env.model_dir;
  auto* cmd = app.add_subcommand(
      "predict", "Score every snapshot of a file with a model version (offline batch scoring)");
  cmd->add_option("--input", flags->input, "Snapshots file: JSON array or JSON Lines")->required();
  cmd->add_option(
      "--version", flags->version,
      "Model version (default: the served one, by the server's rule: docs/REGISTRY.md)");
  cmd->add_option("--out", flags->out,
                  "Output JSON Lines file, written atomically (default: stdout)");
  cmd->add_option("--model-dir", flags->model_dir, "Model registry directory (env MODEL_DIR)")
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads,
                  "Workers that parse, score and format (0 = hardware concurrency)")
      ->capture_default_str();
  cmd->add_flag("--full-precision", flags->full_precision,
                "Print each risk as the model's full probability instead of rounded to 4 "
                "decimals as POST /score prints it");
  cmd->add_flag("--explain", flags->explain,
                "Add each row's TreeSHAP drivers, baseline and margin, as POST "
                "/score?explain=true answers them (docs/EXPLANATIONS.md)");
  cmd->add_option("--explain-top", flags->explain_top,
                  "With --explain: how many drivers per row, a whole number >= 1 or all")
      ->capture_default_str();
  cmd->add_flag("--strict", flags->strict,
                "Refuse the file at the first invalid record (default: skip and report them)");
  cmd->callback([&slot, flags] {
    slot.name = "predict";
    slot.run = [flags]() -> Result<int> { return RunPredict(*flags); };
  });
}

}  // namespace csml::cli
