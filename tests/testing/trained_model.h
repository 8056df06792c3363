// The trainer's set-up as the model tests and benchmarks repeat it: simulated CS snapshots,
// the labeled ones encoded in the default column order (docs/FEATURES.md) as `csml train`
// encodes them, and an XGBoost model boosted on them, saved as JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"
#include "csml/model/dense_matrix.h"
#include "csml/model/xgboost_booster.h"

namespace csml::testing {

inline constexpr UnixSeconds kSimulationEnd = 1754006400;  // 2025-08-01T00:00:00Z

// `csml simulate --customers C --days D --seed S` up to kSimulationEnd, in memory.
Result<std::vector<Snapshot>> SimulateHistory(std::size_t customers, int days, std::uint64_t seed);

// The labeled snapshots (unlabeled ones skipped) encoded in FeatureEncoder::DefaultColumns(),
// with the column names set.
Result<LabeledMatrix> EncodeLabeled(const std::vector<Snapshot>& records);

// Boosts `rounds` rounds with `params` on `train` (no validation set); the model as JSON.
Result<std::string> TrainModelJson(const BoosterParams& params, int rounds,
                                   const LabeledMatrix& train);

// Leaf-wise hist trees of 31 leaves, eta 0.05, min_child_weight 1, one thread.
BoosterParams LeafWise31Params();

}  // namespace csml::testing
