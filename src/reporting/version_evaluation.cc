#include "csml/reporting/version_evaluation.h"

#include <utility>

#include <fmt/format.h>

#include "csml/data/window.h"
#include "csml/serving/model_loader.h"
#include "csml/serving/served_version.h"

namespace csml {

Status VersionEvaluationOptions::Validate() const {
  CSML_TRY(evaluation.Validate());
  if (auto s = scoring.Validate(); !s) return tl::unexpected(s.error().WithContext("threads"));
  if (generated_at < 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("generated_at: expected a time >= 0 (0 = now), got {}", generated_at));
  }
  return {};
}

Result<VersionEvaluation> EvaluateVersion(const Registry& registry,
                                          const VersionEvaluationOptions& options,
                                          const EvaluationLoader& load) {
  CSML_TRY(options.Validate());
  VersionEvaluation out;
  // The server's rule and load, so "served" here is what a server starting now serves.
  Result<ServedVersion> served = ResolveServedVersion(registry);
  out.version = options.version;
  LoadedVersion loaded;
  if (out.version.empty()) {
    if (!served) return tl::unexpected(served.error().WithContext(registry.dir().string()));
    out.version = served->choice.version;
    out.version_reason =
        fmt::format("{}: {}", ServedByName(served->choice.by), served->choice.reason);
    loaded = served->loaded;
  } else {
    CSML_ASSIGN_OR_RETURN(loaded, LoadVersion(registry, out.version));
    out.version_reason = "requested";
  }
  const ModelMeta& meta = loaded.meta;
  CSML_ASSIGN_OR_RETURN(const BatchScorer scorer, BatchScorer::ForModel(loaded.model));

  CSML_ASSIGN_OR_RETURN(EvaluationInput input, load());
  EvaluationSource info;
  info.origin = input.origin;
  info.days = input.days;
  info.records_seen = input.records_seen;
  info.invalid = input.invalid;
  info.served = served && served->choice.version == out.version;
  WindowOptions window;
  window.days = input.days;
  window.as_of = input.as_of;
  auto labeled = SelectWindow(std::move(input.records), window);
  if (!labeled) return tl::unexpected(labeled.error().WithContext(info.origin));
  info.as_of = labeled->as_of;
  info.window_start = labeled->start;
  info.unlabeled = labeled->unlabeled;
  info.immature = labeled->immature;
  info.outside_window = input.outside_window + labeled->outside_window;
  if (labeled->records.empty()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: expected labeled snapshots with label_ts in ({}, {}], got "
                                 "none ({} records: {} unlabeled, {} immature, {} invalid, {} "
                                 "outside the window)",
                                 info.origin, FormatRfc3339(info.window_start),
                                 FormatRfc3339(info.as_of), info.records_seen, info.unlabeled,
                                 info.immature, info.invalid, info.outside_window));
  }

  auto rows = ScoreLabeledSnapshots(scorer, labeled->records, options.scoring);
  if (!rows) return tl::unexpected(rows.error().WithContext(out.version));
  info.generated_at = options.generated_at != 0 ? options.generated_at : NowUtc();
  CSML_ASSIGN_OR_RETURN(out.report, BuildEvaluationReport(*rows, meta, info, options.evaluation));
  out.report.explanations = SummarizeExplanations(*loaded.model, labeled->records);
  return out;
}

}  // namespace csml
