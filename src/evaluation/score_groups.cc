#include "score_groups.h"

#include <algorithm>
#include <numeric>

namespace csml::evaluation_internal {

ScoreGroups GroupByScore(std::span<const double> scores, std::span<const float> labels) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  ScoreGroups out;
  out.rows = scores.size();
  for (std::size_t i : order) {
    const bool positive = labels[i] == 1.0f;
    if (out.groups.empty() || out.groups.back().score != scores[i]) {
      out.groups.push_back({scores[i], 0, 0});
    }
    ++out.groups.back().rows;
    if (positive) {
      ++out.groups.back().positives;
      ++out.positives;
    }
  }
  return out;
}

double PositivesInTop(const ScoreGroups& g, double take) {
  double positives = 0;
  double remaining = take;
  for (const ScoreGroup& group : g.groups) {
    if (remaining <= 0) break;
    const auto rows = static_cast<double>(group.rows);
    if (remaining >= rows) {
      positives += static_cast<double>(group.positives);
      remaining -= rows;
    } else {
      positives += static_cast<double>(group.positives) * (remaining / rows);
      remaining = 0;
    }
  }
  return positives;
}

}  // namespace csml::evaluation_internal
