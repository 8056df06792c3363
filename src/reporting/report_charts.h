// The charts of report.html, one function each, drawn from an EvaluationReport with SvgChart
// (private to the reporting module). Each returns one <svg> element whose id is the matching
// entry of kReportChartIds.
#pragma once

#include <string>

#include "csml/reporting/evaluation_report.h"

namespace csml::reporting_internal {

std::string RocChart(const EvaluationReport& report);
std::string PrecisionRecallChart(const EvaluationReport& report);
std::string CalibrationChart(const EvaluationReport& report);
std::string ScoreDistributionChart(const EvaluationReport& report);
std::string GainChart(const EvaluationReport& report);
std::string LiftChart(const EvaluationReport& report);
std::string TierChart(const EvaluationReport& report);
std::string FeatureImportanceChart(const EvaluationReport& report);
std::string ReasonsChart(const EvaluationReport& report);
std::string DependenceChart(const EvaluationReport& report);

}  // namespace csml::reporting_internal
