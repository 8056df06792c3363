// The run of `csml monitor` (docs/MONITORING.md) without its command line: the outcomes
// through the adapter's loader, then every segment of the prediction log streamed into a
// MonitorBuilder (monitoring/monitor_report.h) with each version's training reference read
// from the registry's meta.json, then the report and its three forms:
//   - text: the summary the command prints;
//   - JSON: report.json, every figure per version and week;
//   - HTML: report.html, one self-contained file in the style of `csml test`'s (inline CSS and
//     SVG charts over the weeks, no script, no network).
//
// Thread-safety: functions only.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"
#include "csml/monitoring/monitor_report.h"
#include "csml/registry/model_meta.h"
#include "csml/registry/registry.h"

namespace csml {

// The outcomes as the adapter loaded them (the CS API or a file).
struct MonitorOutcomes {
  std::vector<Snapshot> records;
  std::size_t records_seen = 0;
  std::size_t invalid = 0;
  UnixSeconds as_of = 0;  // outcomes learned after this are pending
  std::string origin;
};

using MonitorOutcomeLoader = std::function<Result<MonitorOutcomes>()>;

struct MonitorRunOptions {
  std::string log_dir;
  MonitorOptions monitor;        // as_of is taken from the outcomes
  UnixSeconds generated_at = 0;  // 0 = now
};

// The training reference a meta records (meta.json reference_profile, evaluation/
// reference_profile.h), or nullopt when the version was trained before profiles existed or
// was imported. (A broken profile already fails ModelMeta::FromJson.)
Result<std::optional<MonitorReference>> MonitorReferenceFromMeta(const ModelMeta& meta);

// Errors: the loader's, the log's (kNotFound for a missing directory), a broken meta, and
// kValidation when the log holds no prediction. A version the registry does not hold (removed
// since) has no reference. registry may be null: no version has a reference.
Result<MonitorReport> RunMonitor(const MonitorRunOptions& options, const Registry* registry,
                                 const MonitorOutcomeLoader& load);

std::string RenderMonitorText(const MonitorReport& report);
std::string RenderMonitorJson(const MonitorReport& report);
std::string RenderMonitorHtml(const MonitorReport& report);

// The chart ids of report.html per version i (0-based): "<id>-<i>", each an <svg> whose
// data-points attribute counts its data marks.
inline constexpr std::string_view kMonitorChartIds[] = {
    "chart-volume",   "chart-auc", "chart-calibration",
    "chart-tier-mix", "chart-psi", "chart-revenue",
};

struct MonitorReportFiles {
  std::filesystem::path json;
  std::filesystem::path html;
};

// Writes report.json and report.html into dir (created when missing), each through a
// temporary name and a rename.
Result<MonitorReportFiles> WriteMonitorReport(const MonitorReport& report,
                                              const std::filesystem::path& dir);

}  // namespace csml
