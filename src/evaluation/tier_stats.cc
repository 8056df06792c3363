#include "csml/evaluation/tier_stats.h"

#include <limits>

#include "csml/core/json_writer.h"
#include "csml/evaluation/metrics.h"

namespace csml {

Result<TierReport> ComputeTierReport(std::span<const double> scores, std::span<const float> labels,
                                     const Thresholds& thresholds) {
  CSML_TRY(thresholds.Validate());
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  TierReport report;
  std::size_t positives = 0;
  for (std::size_t t = 0; t < report.tiers.size(); ++t) report.tiers[t].tier = static_cast<Tier>(t);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    TierStats& stats = report.tiers[static_cast<std::size_t>(thresholds.Classify(scores[i]))];
    ++stats.rows;
    if (labels[i] == 1.0f) {
      ++stats.positives;
      ++positives;
    }
  }
  const auto rows = static_cast<double>(scores.size());
  for (TierStats& stats : report.tiers) {
    stats.share = static_cast<double>(stats.rows) / rows;
    stats.churn_rate = stats.rows == 0
                           ? kNan
                           : static_cast<double>(stats.positives) / static_cast<double>(stats.rows);
  }
  report.base_rate = static_cast<double>(positives) / rows;
  const TierStats& high = report.of(Tier::kHigh);
  report.high_precision = high.churn_rate;
  report.high_recall =
      positives == 0 ? kNan : static_cast<double>(high.positives) / static_cast<double>(positives);
  report.high_lift =
      (positives == 0 || high.rows == 0) ? kNan : report.high_precision / report.base_rate;
  return report;
}

void WriteTierStatsJson(JsonWriter& w, const TierStats& t) {
  w.BeginObject()
      .Key("rows")
      .Uint(t.rows)
      .Key("share")
      .Double(t.share)
      .Key("churned")
      .Uint(t.positives)
      .Key("churn_rate")
      .Double(t.churn_rate)
      .EndObject();
}

}  // namespace csml
