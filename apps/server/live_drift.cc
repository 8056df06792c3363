#include "live_drift.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "prometheus_text.h"

namespace csml::server {
namespace {

constexpr std::size_t kMinAlarmScores = 1000;
constexpr std::array<Tier, 3> kTierOrder = {Tier::kLow, Tier::kMedium, Tier::kHigh};

std::uint64_t SteadyNs() {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  // Never 0, which marks an open chunk.
  return static_cast<std::uint64_t>(
             std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) |
         1u;
}

// One chunk as a reader saw it.
struct ChunkView {
  std::uint64_t filled_ns = 0;  // 0: open
  std::uint64_t rows = 0;
  std::array<std::uint64_t, 3> tiers{};
  std::vector<std::uint64_t> cells;
};

std::string_view NameOf(const LiveDriftFigures& f, std::size_t i) {
  return i < f.drift.features.size() ? f.drift.features[i].name : std::string_view("risk");
}

double PsiOf(const LiveDriftFigures& f, std::size_t i) {
  return i < f.drift.features.size() ? f.drift.features[i].psi : f.drift.risk_psi;
}

}  // namespace

LiveDrift::LiveDrift(std::size_t window)
    : window_(window), chunk_rows_(std::max<std::size_t>(1, window / kChunksPerWindow)) {}

void LiveDrift::ResetChunk(Chunk& chunk) {
  const std::uint64_t seq = chunk.seq.load(std::memory_order_relaxed);
  // A sequence lock without fences (ThreadSanitizer does not model them): the odd sequence
  // is stored first, and every reset store is a release, so no reader sees a reset value
  // without also seeing the odd sequence; the readers load with acquire (Figures).
  chunk.seq.store(seq + 1, std::memory_order_relaxed);
  constexpr auto kRelease = std::memory_order_release;
  chunk.rows.Set(0, kRelease);
  chunk.filled_ns.Set(0, kRelease);
  for (Counter& c : chunk.tiers) c.Set(0, kRelease);
  for (Counter& c : chunk.cells) c.Set(0, kRelease);
  chunk.seq.store(seq + 2, std::memory_order_release);
}

void LiveDrift::Reset(Slot& slot, std::shared_ptr<const ReferenceProfile> profile) const {
  slot.profile.store(nullptr, std::memory_order_release);
  for (Chunk& chunk : slot.chunks) ResetChunk(chunk);
  slot.open = 0;
  slot.layout = std::make_unique<DriftLayout>(*profile);
  if (slot.layout->cells() > kMaxCells) slot.layout.reset();
  slot.keep = std::move(profile);
  if (slot.layout != nullptr) slot.profile.store(slot.keep.get(), std::memory_order_release);
}

void LiveDrift::Record(const ServingModel& model, const RawFeatures& features, double risk,
                       Tier tier) {
  if (window_ == 0) return;
  const std::shared_ptr<const ReferenceProfile>& profile = model.reference_profile();
  if (profile == nullptr) return;
  Slot& slot = slots_.Local();
  if (slot.keep.get() != profile.get()) Reset(slot, profile);  // once per version and thread
  if (slot.layout == nullptr) return;
  Chunk& chunk = slot.chunks[slot.open];
  for (const std::uint32_t cell : CellsOf(*profile, *slot.layout, features, risk)) {
    chunk.cells[cell].Add();
  }
  chunk.tiers[static_cast<std::size_t>(tier)].Add();
  chunk.rows.Add();
  if (chunk.rows.Get() >= chunk_rows_) {
    chunk.filled_ns.Set(SteadyNs());
    slot.open = (slot.open + 1) % slot.chunks.size();
    ResetChunk(slot.chunks[slot.open]);
  }
}

LiveDriftFigures LiveDrift::Figures(const ServingModel* model) const {
  LiveDriftFigures out;
  out.window = window_;
  if (model == nullptr) return out;
  out.version = model->version();
  const std::shared_ptr<const ReferenceProfile>& profile = model->reference_profile();
  if (window_ == 0 || profile == nullptr) return out;
  const DriftLayout layout(*profile);
  if (layout.cells() > kMaxCells) return out;
  out.available = true;

  std::vector<ChunkView> views;
  slots_.ForEach([&](const Slot& slot) {
    if (slot.profile.load(std::memory_order_acquire) != profile.get()) return;
    for (const Chunk& chunk : slot.chunks) {
      const std::uint64_t before = chunk.seq.load(std::memory_order_acquire);
      if (before % 2 != 0) continue;
      // Acquire loads: the sequence check after them cannot move before them.
      constexpr auto kAcquire = std::memory_order_acquire;
      ChunkView view;
      view.rows = chunk.rows.Get(kAcquire);
      if (view.rows == 0) continue;
      view.filled_ns = chunk.filled_ns.Get(kAcquire);
      for (std::size_t t = 0; t < view.tiers.size(); ++t) {
        view.tiers[t] = chunk.tiers[t].Get(kAcquire);
      }
      view.cells.resize(layout.cells());
      for (std::size_t c = 0; c < view.cells.size(); ++c) {
        view.cells[c] = chunk.cells[c].Get(kAcquire);
      }
      if (chunk.seq.load(std::memory_order_relaxed) != before) continue;  // reset meanwhile
      views.push_back(std::move(view));
    }
  });
  // Open chunks (the newest scores of each thread) first, then the filled ones newest first.
  std::sort(views.begin(), views.end(), [](const ChunkView& a, const ChunkView& b) {
    if ((a.filled_ns == 0) != (b.filled_ns == 0)) return a.filled_ns == 0;
    return a.filled_ns > b.filled_ns;
  });
  std::vector<std::uint64_t> cells(layout.cells(), 0);
  std::uint64_t rows = 0;
  for (const ChunkView& view : views) {
    if (rows >= window_) break;
    rows += view.rows;
    for (std::size_t t = 0; t < view.tiers.size(); ++t) out.tiers[t] += view.tiers[t];
    for (std::size_t c = 0; c < cells.size(); ++c) cells[c] += view.cells[c];
  }
  out.drift = DriftOfCells(*profile, layout, cells, rows);
  return out;
}

LiveDriftFigures LiveDrift::Check(const ServingModel* model) {
  LiveDriftFigures out = Figures(model);
  const std::lock_guard<std::mutex> lock(alarm_mu_);
  const std::shared_ptr<const ReferenceProfile> profile =
      model != nullptr ? model->reference_profile() : nullptr;
  if (profile != alarm_profile_) {
    alarm_profile_ = profile;
    alarm_.fill(false);
  }
  if (out.available && out.drift.rows >= std::min(kMinAlarmScores, window_)) {
    for (std::size_t i = 0; i < alarm_.size(); ++i) {
      const double psi = PsiOf(out, i);
      if (!std::isfinite(psi)) continue;
      if (!alarm_[i] && psi > kPsiAlarm) {
        alarm_[i] = true;
        spdlog::warn(
            "drift: {} PSI {:.3f} is above {} over the last {} scores of {} "
            "(docs/MONITORING.md, \"What to do when an alarm fires\")",
            NameOf(out, i), psi, kPsiAlarm, out.drift.rows, out.version);
      } else if (alarm_[i] && psi < kPsiRecovered) {
        alarm_[i] = false;
        spdlog::warn("drift: {} PSI {:.3f} is back below {} over the last {} scores of {}",
                     NameOf(out, i), psi, kPsiRecovered, out.drift.rows, out.version);
      }
    }
  }
  out.alarm = alarm_;
  return out;
}

void LiveDrift::AppendPrometheus(std::string* out, const LiveDriftFigures& f) const {
  AppendPromHeader(out, "csml_drift_window_size", "gauge",
                   "Scores live drift is computed over (--drift-window; 0 = off).");
  AppendPromSample(out, "csml_drift_window_size", {}, static_cast<std::uint64_t>(window_));
  AppendPromHeader(out, "csml_drift_available", "gauge",
                   "1 when the serving version has a reference profile to compare against.");
  AppendPromSample(out, "csml_drift_available", {}, std::uint64_t{f.available ? 1u : 0u});
  if (!f.available) return;
  AppendPromHeader(out, "csml_drift_window_scores", "gauge",
                   "Scores of the serving version in the drift window now.");
  AppendPromSample(out, "csml_drift_window_scores", {}, f.drift.rows);
  if (f.drift.rows == 0) return;
  AppendPromHeader(out, "csml_feature_psi", "gauge",
                   "PSI of the feature over the drift window against the training rows.");
  for (const FeatureDrift& d : f.drift.features) {
    AppendPromSample(out, "csml_feature_psi", {{"feature", d.name}}, d.psi);
  }
  AppendPromHeader(out, "csml_score_psi", "gauge",
                   "PSI of the risk over the drift window against the validation rows.");
  AppendPromSample(out, "csml_score_psi", {}, f.drift.risk_psi);
  AppendPromHeader(out, "csml_feature_missing_share", "gauge",
                   "Share of the drift window's scores with the feature missing.");
  for (const FeatureDrift& d : f.drift.features) {
    AppendPromSample(out, "csml_feature_missing_share", {{"feature", d.name}}, d.missing_share);
  }
  AppendPromHeader(out, "csml_drift_tier_share", "gauge",
                   "Share of each tier among the drift window's scores.");
  for (std::size_t t = 0; t < kTierOrder.size(); ++t) {
    AppendPromSample(out, "csml_drift_tier_share", {{"tier", TierName(kTierOrder[t])}},
                     static_cast<double>(f.tiers[t]) / static_cast<double>(f.drift.rows));
  }
  AppendPromHeader(out, "csml_drift_alarm", "gauge",
                   "1 while the PSI is above 0.25 (until it falls below 0.2).");
  for (std::size_t i = 0; i < f.alarm.size(); ++i) {
    AppendPromSample(out, "csml_drift_alarm", {{"feature", NameOf(f, i)}},
                     std::uint64_t{f.alarm[i] ? 1u : 0u});
  }
}

}  // namespace csml::server
