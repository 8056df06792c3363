// Synthetic Customer Success data in the training data contract (docs/FEATURES.md and
// docs/DATA_CONTRACT.md), for development, demos, tests and benchmarks when no CS API is at hand.
//
// Each customer is observed every `cadence_days` (weekly by default), on a weekday of its own.
// Behind the features sits a day-by-day simulation per customer: a latent engagement that
// drifts (and sometimes drops after a bad experience), spells of dormancy, payment trouble
// episodes and support friction; the 7- and 30-day counts are sums over those simulated days,
// so one customer's rows are correlated as in real data. The chance that a customer churns in
// the `label_horizon_days` after a snapshot rises with inactivity, failed renewals, low usage,
// tickets, a low plan value and the region, plus a hidden loyalty trait; about 12% of
// labeled rows are positive.
//
// Worlds (SimulatorOptions::world). kAdditive, the default, is the process above: its log-odds
// are close to a sum of one effect per feature, so small trees fit it. kInteractions is a
// harder process on the same daily simulation (the same features, drawn the same way), whose
// log-odds are not additive: tickets matter mostly after a failed renewal, low usage mostly
// on expensive plans, inactivity through a threshold (two weeks; one week in SG), regions
// behave differently (IN is price-sensitive, EU's risk comes from tickets, SG from
// inactivity), a burst of activity on a dormant-looking account is a warning sign, and the
// base rate drifts upward across the simulated span (about +0.5 log-odds from the first to
// the last label day). tickets_7d carries no effect of its own there (only its correlation
// with tickets_30d). No extra "noise" fields are written: the data contract ignores unknown
// feature keys and the model reads only the schema's features, so they would test nothing.
//
// Base rate: each world has its own (about 12% for kAdditive, about 12% for kInteractions);
// `base_rate` in (0, 0.5] shifts the churn log-odds to aim at that share of positives: the
// shift is logit(R) - logit(own rate) times a per-world gain measured at R = 5%, so the result
// is near R (within about a percentage point from 3% to 20%), not exactly R.
//
// Timeline (end = the last label day): a labeled snapshot has label_ts = snapshot_ts +
// horizon with end - days < label_ts <= end, so `csml train --days=<days>` on the output sees
// every labeled row. Snapshots taken in the horizon before `end` have no outcome yet
// (label and label_ts null, about horizon / cadence of them per customer), as a live CS API
// would return. A few percent of some features are null; about 2.5% of customers have a
// region outside the one-hot set (JP, BR, AU, ZA) and 1.5% none.
//
// Determinism: the same options give the same records, bit for bit, on a given platform. The
// generator (xoshiro256** seeded by splitmix64, one stream per customer) and every sampler
// are implemented here, not taken from <random>, whose distributions differ between standard
// libraries. Values are rounded (usage_score to 4 decimals, plan_value to 2) so their text is
// short and stable.
//
// Memory: records are produced in snapshot_ts order, one at a time, into a sink; only the
// per-customer state is held (about 250 bytes per customer: 100,000 customers need ~25 MB
// however many days are simulated). SimulateSnapshots collects everything in memory and is
// meant for tests and small sets. Functions are thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"

namespace csml {

enum class SimulatedWorld {
  kAdditive,      // the default churn process, close to additive in the features
  kInteractions,  // interactions, thresholds, region-specific effects and drift
};

// "additive", "interactions".
std::string_view SimulatedWorldName(SimulatedWorld world);
// The world named by `name` (as SimulatedWorldName spells it); nullopt otherwise.
std::optional<SimulatedWorld> ParseSimulatedWorld(std::string_view name);

struct SimulatorOptions {
  std::size_t customers = 1000;  // N, number of customers, in [1, 10,000,000]
  int days = 180;                // D, span of label days covered, in days, in [1, 3650]
  std::uint64_t seed = 1;        // any value; same seed, same records
  UnixSeconds end = 0;           // the last label day (UTC seconds; the CLI passes today 00:00)
  int cadence_days = 7;          // days between two snapshots of a customer, in [1, 30]
  int label_horizon_days = 30;   // label_ts = snapshot_ts + this many days, in [1, 365]
  SimulatedWorld world = SimulatedWorld::kAdditive;
  double base_rate = 0;  // 0 = the world's own; otherwise the target share of positives, (0, 0.5]

  // kInvalidArgument naming the first option out of range.
  Status Validate() const;
};

struct SimulationSummary {
  std::size_t customers = 0;
  std::size_t records = 0;    // every record produced
  std::size_t labeled = 0;    // records with label 0 or 1
  std::size_t positives = 0;  // records with label 1
  UnixSeconds first_snapshot_ts = 0;
  UnixSeconds last_snapshot_ts = 0;

  std::size_t unlabeled() const { return records - labeled; }
  double positive_rate() const {
    return labeled == 0 ? 0.0 : static_cast<double>(positives) / static_cast<double>(labeled);
  }
};

// Receives each record once, in snapshot_ts order (ties in customer order). `region_text` is
// the region as the CS API would send it ("US", "JP"; empty for a null region): Snapshot keeps
// only Region::kOther for unknown regions. A sink error stops the simulation and is returned.
using SimulatedSnapshotSink =
    std::function<Status(const Snapshot& snapshot, std::string_view region_text)>;

Result<SimulationSummary> Simulate(const SimulatorOptions& options,
                                   const SimulatedSnapshotSink& sink);

// Collects the records of Simulate in memory (about 150 bytes each).
Result<std::vector<Snapshot>> SimulateSnapshots(const SimulatorOptions& options);

}  // namespace csml
