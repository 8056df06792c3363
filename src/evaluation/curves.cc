#include "csml/evaluation/curves.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "csml/evaluation/metrics.h"
#include "score_groups.h"

namespace csml {
namespace {

using evaluation_internal::GroupByScore;
using evaluation_internal::PositivesInTop;
using evaluation_internal::ScoreGroup;
using evaluation_internal::ScoreGroups;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double Ratio(std::size_t part, std::size_t whole) {
  return whole == 0 ? kNan : static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

Result<std::vector<RocPoint>> RocCurve(std::span<const double> scores,
                                       std::span<const float> labels) {
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  const ScoreGroups g = GroupByScore(scores, labels);
  std::vector<RocPoint> points;
  points.reserve(g.groups.size() + 1);
  points.push_back(
      {std::numeric_limits<double>::infinity(), Ratio(0, g.negatives()), Ratio(0, g.positives)});
  std::size_t tp = 0;
  std::size_t fp = 0;
  for (const ScoreGroup& group : g.groups) {
    tp += group.positives;
    fp += group.rows - group.positives;
    points.push_back({group.score, Ratio(fp, g.negatives()), Ratio(tp, g.positives)});
  }
  return points;
}

Result<std::vector<PrPoint>> PrecisionRecallCurve(std::span<const double> scores,
                                                  std::span<const float> labels) {
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  const ScoreGroups g = GroupByScore(scores, labels);
  std::vector<PrPoint> points;
  points.reserve(g.groups.size());
  std::size_t tp = 0;
  std::size_t predicted = 0;
  for (const ScoreGroup& group : g.groups) {
    tp += group.positives;
    predicted += group.rows;
    points.push_back({group.score, Ratio(tp, g.positives), Ratio(tp, predicted)});
  }
  return points;
}

Result<std::vector<CalibrationBin>> CalibrationBins(std::span<const double> scores,
                                                    std::span<const float> labels, int bins) {
  if (bins < 1 || bins > 1'000'000) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("calibration: bins: expected an integer in [1, 1000000], got {}", bins));
  }
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  const auto n = static_cast<std::size_t>(bins);
  std::vector<CalibrationBin> out(n);
  std::vector<double> score_sum(n, 0.0);
  for (std::size_t b = 0; b < n; ++b) {
    out[b].lower = static_cast<double>(b) / static_cast<double>(bins);
    out[b].upper = static_cast<double>(b + 1) / static_cast<double>(bins);
  }
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!(scores[i] >= 0.0 && scores[i] <= 1.0)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("calibration: score {}: expected a probability in [0, 1], "
                                   "got {}",
                                   i, scores[i]));
    }
    const auto b = static_cast<std::size_t>(
        std::min(bins - 1, static_cast<int>(scores[i] * static_cast<double>(bins))));
    ++out[b].rows;
    out[b].positives += labels[i] == 1.0f ? 1 : 0;
    score_sum[b] += scores[i];
  }
  for (std::size_t b = 0; b < n; ++b) {
    out[b].mean_score = out[b].rows == 0 ? kNan : score_sum[b] / static_cast<double>(out[b].rows);
    out[b].observed_rate = Ratio(out[b].positives, out[b].rows);
  }
  return out;
}

Result<std::vector<GainPoint>> GainCurve(std::span<const double> scores,
                                         std::span<const float> labels, int steps) {
  if (steps < 1 || steps > 1'000'000) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("gain curve: steps: expected an integer in [1, 1000000], got {}", steps));
  }
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  const ScoreGroups g = GroupByScore(scores, labels);
  std::vector<GainPoint> points;
  points.reserve(static_cast<std::size_t>(steps));
  for (int k = 1; k <= steps; ++k) {
    const double share = static_cast<double>(k) / static_cast<double>(steps);
    GainPoint p;
    p.population_share = share;
    if (g.positives == 0) {
      p.positives_captured = kNan;
      p.lift = kNan;
    } else {
      p.positives_captured =
          PositivesInTop(g, share * static_cast<double>(g.rows)) / static_cast<double>(g.positives);
      p.lift = p.positives_captured / share;
    }
    points.push_back(p);
  }
  return points;
}

void WriteCalibrationBinsJson(JsonWriter& w, const std::vector<CalibrationBin>& bins) {
  w.BeginArray();
  for (const CalibrationBin& b : bins) {
    w.BeginObject()
        .Key("lower")
        .Double(b.lower)
        .Key("upper")
        .Double(b.upper)
        .Key("rows")
        .Uint(b.rows)
        .Key("churned")
        .Uint(b.positives)
        .Key("mean_risk")
        .Double(b.mean_score)
        .Key("churn_rate")
        .Double(b.observed_rate)
        .EndObject();
  }
  w.EndArray();
}

}  // namespace csml
