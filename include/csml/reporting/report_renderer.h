// The three forms of an EvaluationReport (evaluation_report.h):
//   - text: the summary `csml test` prints (figures beside training, tiers, reasons, verdict);
//   - JSON: report.json, every figure and curve, for machines and later comparison;
//   - HTML: report.html, one self-contained file (inline CSS and inline SVG charts drawn from
//     the data, no script, no network, no other file; a Content-Security-Policy that forbids
//     loading anything), readable offline and attachable to a ticket.
// Every text from the data is escaped for its context (JSON strings, HTML and SVG text and
// attributes). The output depends only on the report, so the same report renders the same
// bytes.
//
// Thread-safety: functions only; safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/reporting/evaluation_report.h"

namespace csml {

std::string RenderEvaluationText(const EvaluationReport& report);
std::string RenderEvaluationJson(const EvaluationReport& report);
std::string RenderEvaluationHtml(const EvaluationReport& report);

// The ids of the charts in report.html, in page order; each is an <svg id="..."> whose
// data-points attribute counts the data marks it draws (0 only when the data is absent, as
// feature importance for a model imported without it).
inline constexpr std::string_view kReportChartIds[] = {
    "chart-roc",
    "chart-precision-recall",
    "chart-calibration",
    "chart-score-distribution",
    "chart-gain",
    "chart-lift",
    "chart-tiers",
    "chart-reasons",
    "chart-feature-importance",
    "chart-dependence",
};

// The files written by WriteEvaluationReport.
struct ReportFiles {
  std::filesystem::path json;
  std::filesystem::path html;
};

// Writes report.json and report.html into `dir` (created with its parents when missing).
// Each file is written to a temporary name, fsynced and renamed, so a reader never sees half a
// report. kIo naming the path on failure.
Result<ReportFiles> WriteEvaluationReport(const EvaluationReport& report,
                                          const std::filesystem::path& dir);

// `<root>/<version>/<timestamp>` with the timestamp as YYYYMMDDTHHMMSSZ (UTC, no colons so
// the name is valid on every file system), the default --out of `csml test`.
std::filesystem::path DefaultReportDir(const std::filesystem::path& root, std::string_view version,
                                       UnixSeconds generated_at);

}  // namespace csml
