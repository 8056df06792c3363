#include "csml/validation/source_window.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace csml {
namespace {

// Same bound as data/window.cc: keeps days * 86400 far from overflow.
constexpr int kMaxWindowDays = 3'650'000;

}  // namespace

bool SourceWindow::Contains(const Snapshot& snapshot) const {
  if (snapshot.IsLabeledAt(as_of)) return *snapshot.label_ts > start;
  return snapshot.snapshot_ts > start && snapshot.snapshot_ts <= as_of;
}

Result<SourceWindow> MakeSourceWindow(std::span<const Snapshot> records, int days,
                                      std::optional<UnixSeconds> as_of) {
  if (days < 1 || days > kMaxWindowDays) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("days: expected a whole number of days in [1, {}], got {}",
                                 kMaxWindowDays, days));
  }
  SourceWindow window;
  window.days = days;
  if (as_of) {
    window.as_of = *as_of;
  } else {
    std::optional<UnixSeconds> newest_label;
    std::optional<UnixSeconds> newest_snapshot;
    for (const Snapshot& s : records) {
      if (s.label && s.label_ts && (!newest_label || *s.label_ts > *newest_label)) {
        newest_label = *s.label_ts;
      }
      if (!newest_snapshot || s.snapshot_ts > *newest_snapshot) newest_snapshot = s.snapshot_ts;
    }
    window.as_of = newest_label ? *newest_label : newest_snapshot.value_or(0);
  }
  window.start = window.as_of - static_cast<UnixSeconds>(days) * kSecondsPerDay;
  return window;
}

std::size_t KeepSourceWindow(const SourceWindow& window, std::vector<Snapshot>* records) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < records->size(); ++i) {
    Snapshot& s = (*records)[i];
    if (!window.Contains(s)) continue;
    if (kept != i) (*records)[kept] = std::move(s);
    ++kept;
  }
  const std::size_t dropped = records->size() - kept;
  records->resize(kept);
  return dropped;
}

}  // namespace csml
