// Builders of small, deterministic labeled snapshot sets for the training tests and the
// publish-interrupt child: customers observed weekly, each outcome known 30 days after its
// snapshot, churn driven by inactivity, failed renewals and usage through a logistic link.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "csml/core/time.h"
#include "csml/data/snapshot.h"
#include "csml/training/dataset.h"
#include "csml/training/train_pipeline.h"

namespace csml::testing {

inline constexpr UnixSeconds kTestAsOf = 1755820800;  // 2025-08-22T00:00:00Z

// A pipeline loader that hands over these records as a year-long window ending at kTestAsOf.
inline TrainingLoader RecordsLoader(std::vector<Snapshot> records) {
  return [records = std::move(records)]() -> Result<TrainingInput> {
    TrainingInput input;
    input.batch.records = records;
    input.batch.records_seen = records.size();
    input.as_of = kTestAsOf;
    input.days = 365;
    input.origin = "test records";
    return input;
  };
}
inline constexpr int kTestHorizonDays = 30;

struct SyntheticOptions {
  std::size_t customers = 200;
  int weeks = 20;  // snapshots per customer, the newest labeled ones ending at kTestAsOf
  std::uint32_t seed = 1;
  double signal = 1.0;  // 0 = labels are coin flips at the base rate
  // Overrides the label of a record from its features and snapshot index (0 = oldest week).
  std::function<int(const Snapshot&, int week)> label_rule;
};

// Records in snapshot order; every label_ts = snapshot_ts + 30 days <= kTestAsOf.
std::vector<Snapshot> MakeSnapshots(const SyntheticOptions& options);

// MakeSnapshots through BuildDataset with a window of `days` up to kTestAsOf.
Dataset MakeDataset(const SyntheticOptions& options, int days = 365);

}  // namespace csml::testing
