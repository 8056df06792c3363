// The run of `csml test` (docs/COMMANDS.md, docs/EVALUATION.md) without its command line: the
// model version first (a version that cannot load is known before any data is fetched), then
// the snapshots through the adapter's loader, the labeled window, the scores and the report.
//
// The adapter (apps/cli/test_command.cc) reads flags, loads the snapshots from a file or the
// CS API, writes the report files and prints; this function knows none of that.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"
#include "csml/registry/registry.h"
#include "csml/reporting/evaluation_report.h"
#include "csml/serving/batch_scorer.h"

namespace csml {

// The snapshots of the test window as the adapter loaded them: the valid records of the
// source (labels not yet checked against the window) and what was left out on the way.
struct EvaluationInput {
  std::vector<Snapshot> records;
  std::size_t records_seen = 0;    // every record read, invalid ones included
  std::size_t invalid = 0;         // broke the data contract; skipped by the loader
  std::size_t outside_window = 0;  // left out by the source's window already
  UnixSeconds as_of = 0;           // the window ends here
  int days = 0;
  std::string origin;  // "file data.jsonl", "GET http://host/path?days=30"
};

using EvaluationLoader = std::function<Result<EvaluationInput>()>;

struct VersionEvaluationOptions {
  std::string version;  // empty = the served version
  EvaluationOptions evaluation;
  BatchScoringOptions scoring;
  UnixSeconds generated_at = 0;  // the report's time; 0 = now

  // The message names the field ("evaluation options: max_auc_drop: ...", "threads: ...").
  [[nodiscard]] Status Validate() const;
};

struct VersionEvaluation {
  std::string version;  // the version evaluated
  // Why that version: "requested", or the served-version rule's "<pointer|fallback|newest>:
  // <reason>" (csml/serving/served_version.h) when options.version was empty.
  std::string version_reason;
  EvaluationReport report;
};

// Errors: the registry's (no served version, a version that does not load), the loader's,
// kValidation when the window holds no labeled snapshot (naming where the records went), and
// BuildEvaluationReport's.
Result<VersionEvaluation> EvaluateVersion(const Registry& registry,
                                          const VersionEvaluationOptions& options,
                                          const EvaluationLoader& load);

}  // namespace csml
