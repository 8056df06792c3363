#include "csml/training/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <fmt/format.h>

namespace csml {
namespace {

constexpr double kLogLossEpsilon = 1e-15;

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

Status CheckInputs(std::span<const double> scores, std::span<const float> labels) {
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

double AucUnchecked(std::span<const double> scores, std::span<const float> labels) {
  // Rank sum of the positives with mid-ranks for ties (Mann-Whitney U).
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0;
  std::size_t positives = 0;
  std::size_t i = 0;
  while (i < order.size()) {
    std::size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    // Ranks i+1 .. j share their mean.
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1.0f) {
        positive_rank_sum += mid_rank;
        ++positives;
      }
    }
    i = j;
  }
  const std::size_t negatives = order.size() - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  const auto p = static_cast<double>(positives);
  const auto n = static_cast<double>(negatives);
  return (positive_rank_sum - p * (p + 1) / 2.0) / (p * n);
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

std::size_t CountPositives(std::span<const float> labels) {
  return static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1.0f));
}

}  // namespace

Result<double> RocAuc(std::span<const double> scores, std::span<const float> labels) {
  if (auto s = CheckInputs(scores, labels); !s) return tl::unexpected(s.error());
  return AucUnchecked(scores, labels);
}

Result<double> LogLoss(std::span<const double> scores, std::span<const float> labels) {
  if (auto s = CheckInputs(scores, labels); !s) return tl::unexpected(s.error());
  return LogLossUnchecked(scores, labels);
}

Result<double> BrierScore(std::span<const double> scores, std::span<const float> labels) {
  if (auto s = CheckInputs(scores, labels); !s) return tl::unexpected(s.error());
  return BrierUnchecked(scores, labels);
}

Result<double> BaseRate(std::span<const float> labels) {
  if (auto s = CheckLabels(labels); !s) return tl::unexpected(s.error());
  return static_cast<double>(CountPositives(labels)) / static_cast<double>(labels.size());
}

Result<BinaryMetrics> ComputeBinaryMetrics(std::span<const double> scores,
                                           std::span<const float> labels) {
  if (auto s = CheckInputs(scores, labels); !s) return tl::unexpected(s.error());
  BinaryMetrics m;
  m.rows = labels.size();
  m.positives = CountPositives(labels);
  m.base_rate = static_cast<double>(m.positives) / static_cast<double>(m.rows);
  m.auc = AucUnchecked(scores, labels);
  m.log_loss = LogLossUnchecked(scores, labels);
  m.brier = BrierUnchecked(scores, labels);
  return m;
}

}  // namespace csml
