// Rows grouped by distinct score, highest first: the one sorted view every ranking metric and
// curve of the evaluation module is computed from, so ties are treated the same everywhere.
// Internal to the evaluation module.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace csml::evaluation_internal {

struct ScoreGroup {
  double score = 0;
  std::size_t rows = 0;
  std::size_t positives = 0;
};

struct ScoreGroups {
  std::vector<ScoreGroup> groups;  // distinct scores, descending
  std::size_t rows = 0;
  std::size_t positives = 0;
  std::size_t negatives() const { return rows - positives; }
};

// Inputs must already be checked (CheckScoresAndLabels).
ScoreGroups GroupByScore(std::span<const double> scores, std::span<const float> labels);

// Positives among the top `take` rows (take in [0, rows], not necessarily whole), counting the
// group cut by the edge in proportion.
double PositivesInTop(const ScoreGroups& g, double take);

}  // namespace csml::evaluation_internal
