// Live drift of the served version (docs/MONITORING.md, "Live drift"): PSI of each feature and
// of the risk over the last N scores against the version's reference profile
// (csml/evaluation/reference_profile.h), the missing share per feature and the tier mix.
//
// Recording is per thread (per_thread.h): a score costs about a dozen plain stores into its
// event loop's own slot (one cell per feature, the risk's, the tier's), no lock and no
// read-modify-write. Each slot counts in chunks of N/16 of its own scores, kept with the time
// they filled; a reader merges the newest chunks of every thread (open ones first, then the
// others newest first) until they hold N scores, so the window is the last N scores to within
// one chunk per thread, whichever threads they came through. A slot counts for one profile
// at a time: the first score of a newly served version resets it, and a reader counts only
// the slots of the version it asks about, so a hot reload starts a new window.
//
// Alarms: Check() (from the sampler thread, and at every scrape) logs one warning when a PSI
// rises above 0.25 and one line when it falls back below 0.2 (hysteresis, so a PSI near the
// line does not log at every check), once the window holds at least min(1000, N) scores.
// Thread-safety: Record() from any thread; everything else from any thread at any time.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "csml/evaluation/reference_profile.h"
#include "csml/serving/serving_model.h"
#include "csml/tiering/tiers.h"
#include "per_thread.h"

namespace csml::server {

inline constexpr double kPsiRecovered = 0.2;

struct LiveDriftFigures {
  bool available = false;  // the version has a reference profile (and live drift is on)
  std::string version;
  std::size_t window = 0;                             // N
  DriftFigures drift;                                 // drift.rows: scores in the window
  std::array<std::uint64_t, 3> tiers{};               // low, medium, high in the window
  std::array<bool, kNumNumericFeatures + 2> alarm{};  // per feature, then the risk
};

class LiveDrift {
 public:
  static constexpr std::size_t kChunksPerWindow = 16;
  static constexpr std::size_t kMinWindow = 100;
  static constexpr std::size_t kMaxWindow = 10'000'000;
  // Cells a chunk can count: a profile with more bins (a hand-written meta) gets no live drift.
  static constexpr std::size_t kMaxCells = 192;

  // window: the N of "the last N scores", kMinWindow to kMaxWindow; 0 turns live drift off.
  explicit LiveDrift(std::size_t window);
  LiveDrift(const LiveDrift&) = delete;
  LiveDrift& operator=(const LiveDrift&) = delete;

  std::size_t window() const { return window_; }

  // On the request path: counts one scored customer for `model` (nothing when it has no
  // profile or live drift is off).
  void Record(const ServingModel& model, const RawFeatures& features, double risk, Tier tier);

  // The window of `model` (null: nothing serves), merged from every thread now.
  LiveDriftFigures Figures(const ServingModel* model) const;

  // Figures() and the alarm lines for crossings since the last check.
  LiveDriftFigures Check(const ServingModel* model);

  // csml_drift_*, csml_feature_psi, csml_score_psi, csml_feature_missing_share for /metrics.
  void AppendPrometheus(std::string* out, const LiveDriftFigures& figures) const;

 private:
  struct Chunk {
    std::atomic<std::uint64_t> seq{0};  // odd while the owner resets it
    Counter rows;
    Counter filled_ns;  // steady clock, when the chunk filled; 0 while it is open
    std::array<Counter, 3> tiers;
    std::array<Counter, kMaxCells> cells;
  };
  struct alignas(64) Slot {
    std::atomic<const ReferenceProfile*> profile{nullptr};  // what the chunks count
    // Owner thread only: keeps `profile` alive (so no other profile can reuse its address
    // while a reader compares against it), its layout, and the chunk being filled.
    std::shared_ptr<const ReferenceProfile> keep;
    std::unique_ptr<DriftLayout> layout;
    std::size_t open = 0;
    std::array<Chunk, kChunksPerWindow + 1> chunks;
  };

  void Reset(Slot& slot, std::shared_ptr<const ReferenceProfile> profile) const;
  static void ResetChunk(Chunk& chunk);

  const std::size_t window_;
  const std::size_t chunk_rows_;
  mutable PerThread<Slot> slots_;

  // Alarm state, for the version last checked.
  std::mutex alarm_mu_;
  std::shared_ptr<const ReferenceProfile> alarm_profile_;
  std::array<bool, kNumNumericFeatures + 2> alarm_{};
};

}  // namespace csml::server
