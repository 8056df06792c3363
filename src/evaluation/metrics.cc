#include "csml/evaluation/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "score_groups.h"

namespace csml {
namespace {

using evaluation_internal::GroupByScore;
using evaluation_internal::PositivesInTop;
using evaluation_internal::ScoreGroup;
using evaluation_internal::ScoreGroups;

constexpr double kLogLossEpsilon = 1e-15;
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

Status CheckLabels(std::span<const float> labels) {
  if (labels.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "metrics: expected at least one row, got none");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0.0f && labels[i] != 1.0f) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("metrics: label {}: expected 0 or 1, got {}", i, labels[i]));
    }
  }
  return {};
}

Status CheckProbabilities(std::span<const double> scores) {
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!(scores[i] >= 0.0 && scores[i] <= 1.0)) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("metrics: score {}: expected a probability in [0, 1], got {}", i, scores[i]));
    }
  }
  return {};
}

double AucFromGroups(const ScoreGroups& g) {
  if (g.positives == 0 || g.negatives() == 0) return kNan;
  // Each positive beats every negative scored below it and ties half of those scored equal.
  double wins = 0;
  std::size_t negatives_seen = 0;
  for (const ScoreGroup& group : g.groups) {
    const std::size_t group_negatives = group.rows - group.positives;
    negatives_seen += group_negatives;
    const auto below = static_cast<double>(g.negatives() - negatives_seen);
    wins +=
        static_cast<double>(group.positives) * (below + 0.5 * static_cast<double>(group_negatives));
  }
  return wins / (static_cast<double>(g.positives) * static_cast<double>(g.negatives()));
}

double AveragePrecisionFromGroups(const ScoreGroups& g) {
  if (g.positives == 0) return kNan;
  double sum = 0;
  std::size_t true_positives = 0;
  std::size_t predicted = 0;
  for (const ScoreGroup& group : g.groups) {
    true_positives += group.positives;
    predicted += group.rows;
    const double precision = static_cast<double>(true_positives) / static_cast<double>(predicted);
    sum += static_cast<double>(group.positives) * precision;
  }
  return sum / static_cast<double>(g.positives);
}

double LogLossUnchecked(std::span<const double> scores, std::span<const float> labels) {
  double sum = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double p = std::clamp(scores[i], kLogLossEpsilon, 1.0 - kLogLossEpsilon);
    sum -= labels[i] == 1.0f ? std::log(p) : std::log(1.0 - p);
  }
  return sum / static_cast<double>(scores.size());
}

double BrierUnchecked(std::span<const double> scores, std::span<const float> labels) {
  double sum = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double d = scores[i] - static_cast<double>(labels[i]);
    sum += d * d;
  }
  return sum / static_cast<double>(scores.size());
}

double CalibrationErrorUnchecked(std::span<const double> scores, std::span<const float> labels,
                                 int bins) {
  std::vector<double> score_sum(static_cast<std::size_t>(bins), 0.0);
  std::vector<double> positive_count(static_cast<std::size_t>(bins), 0.0);
  std::vector<double> row_count(static_cast<std::size_t>(bins), 0.0);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const auto b = static_cast<std::size_t>(
        std::min(bins - 1, static_cast<int>(scores[i] * static_cast<double>(bins))));
    score_sum[b] += scores[i];
    positive_count[b] += labels[i];
    row_count[b] += 1;
  }
  double error = 0;
  for (std::size_t b = 0; b < row_count.size(); ++b) {
    if (row_count[b] == 0) continue;
    error += std::abs(score_sum[b] - positive_count[b]);  // = rows * |mean score - rate|
  }
  return error / static_cast<double>(scores.size());
}

Status CheckBins(int bins) {
  if (bins < 1 || bins > 1'000'000) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("metrics: bins: expected an integer in [1, 1000000], got {}", bins));
  }
  return {};
}

double TopFractionLiftFromGroups(const ScoreGroups& g, double fraction) {
  if (g.positives == 0) return kNan;
  const double take = fraction * static_cast<double>(g.rows);
  const double rate_in_top = PositivesInTop(g, take) / take;
  const double base_rate = static_cast<double>(g.positives) / static_cast<double>(g.rows);
  return rate_in_top / base_rate;
}

}  // namespace

Status CheckScoresAndLabels(std::span<const double> scores, std::span<const float> labels) {
  if (scores.size() != labels.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("metrics: expected one score per label ({}), got {}",
                                 labels.size(), scores.size()));
  }
  if (auto s = CheckLabels(labels); !s) return s;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("metrics: score {}: expected a number, got NaN", i));
    }
  }
  return {};
}

Result<double> RocAuc(std::span<const double> scores, std::span<const float> labels) {
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  return AucFromGroups(GroupByScore(scores, labels));
}

double AucStandardError(double auc, std::size_t positives, std::size_t negatives) {
  if (positives == 0 || negatives == 0 || std::isnan(auc)) return kNan;
  const auto p = static_cast<double>(positives);
  const auto n = static_cast<double>(negatives);
  const double q1 = auc / (2.0 - auc);
  const double q2 = 2.0 * auc * auc / (1.0 + auc);
  const double variance =
      (auc * (1.0 - auc) + (p - 1.0) * (q1 - auc * auc) + (n - 1.0) * (q2 - auc * auc)) / (p * n);
  return std::sqrt(std::max(0.0, variance));
}

Result<double> AveragePrecision(std::span<const double> scores, std::span<const float> labels) {
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  return AveragePrecisionFromGroups(GroupByScore(scores, labels));
}

Result<double> LogLoss(std::span<const double> scores, std::span<const float> labels) {
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  return LogLossUnchecked(scores, labels);
}

Result<double> BrierScore(std::span<const double> scores, std::span<const float> labels) {
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  return BrierUnchecked(scores, labels);
}

Result<double> BaseRate(std::span<const float> labels) {
  CSML_TRY(CheckLabels(labels));
  const auto positives = std::count(labels.begin(), labels.end(), 1.0f);
  return static_cast<double>(positives) / static_cast<double>(labels.size());
}

Result<double> ExpectedCalibrationError(std::span<const double> scores,
                                        std::span<const float> labels, int bins) {
  CSML_TRY(CheckBins(bins));
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  CSML_TRY(CheckProbabilities(scores));
  return CalibrationErrorUnchecked(scores, labels, bins);
}

Result<double> TopFractionLift(std::span<const double> scores, std::span<const float> labels,
                               double fraction) {
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("metrics: fraction: expected a number in (0, 1], got {}", fraction));
  }
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  return TopFractionLiftFromGroups(GroupByScore(scores, labels), fraction);
}

Result<BinaryMetrics> ComputeBinaryMetrics(std::span<const double> scores,
                                           std::span<const float> labels) {
  CSML_TRY(CheckScoresAndLabels(scores, labels));
  CSML_TRY(CheckProbabilities(scores));
  const ScoreGroups groups = GroupByScore(scores, labels);
  BinaryMetrics m;
  m.rows = groups.rows;
  m.positives = groups.positives;
  m.base_rate = static_cast<double>(m.positives) / static_cast<double>(m.rows);
  m.auc = AucFromGroups(groups);
  m.auc_standard_error = AucStandardError(m.auc, groups.positives, groups.negatives());
  m.pr_auc = AveragePrecisionFromGroups(groups);
  m.log_loss = LogLossUnchecked(scores, labels);
  m.brier = BrierUnchecked(scores, labels);
  m.calibration_error = CalibrationErrorUnchecked(scores, labels, 10);
  m.top_decile_lift = TopFractionLiftFromGroups(groups, 0.1);
  return m;
}

}  // namespace csml
