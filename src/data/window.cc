#include "csml/data/window.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace csml {
namespace {

bool HasOutcome(const Snapshot& s) { return s.label.has_value() && s.label_ts.has_value(); }

// Days beyond this would reach before year 0 from any as-of a file can hold; the bound only
// keeps days * 86400 far from overflow.
constexpr int kMaxWindowDays = 3'650'000;

}  // namespace

Result<UnixSeconds> NewestLabelTs(std::span<const Snapshot> records) {
  std::optional<UnixSeconds> newest;
  for (const Snapshot& s : records) {
    if (HasOutcome(s) && (!newest || *s.label_ts > *newest)) newest = *s.label_ts;
  }
  if (!newest) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("expected at least one labeled record (label 0 or 1 with a "
                                 "label_ts) to take the as-of time from, got none of {} records",
                                 records.size()));
  }
  return *newest;
}

Result<WindowedSnapshots> SelectWindow(std::vector<Snapshot> records,
                                       const WindowOptions& options) {
  if (options.days < 1 || options.days > kMaxWindowDays) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("days: expected a whole number of days in [1, {}], got {}",
                                 kMaxWindowDays, options.days));
  }
  WindowedSnapshots out;
  if (options.as_of) {
    out.as_of = *options.as_of;
  } else {
    Result<UnixSeconds> newest = NewestLabelTs(records);
    if (!newest) return tl::unexpected(newest.error());
    out.as_of = *newest;
  }
  out.start = out.as_of - static_cast<UnixSeconds>(options.days) * kSecondsPerDay;

  // Compact in place: kept records move toward the front, keeping their order.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    Snapshot& s = records[i];
    if (!HasOutcome(s)) {
      ++out.unlabeled;
    } else if (*s.label_ts > out.as_of) {
      ++out.immature;
    } else if (*s.label_ts <= out.start) {
      ++out.outside_window;
    } else {
      if (kept != i) records[kept] = std::move(s);
      ++kept;
    }
  }
  records.resize(kept);
  out.records = std::move(records);
  return out;
}

}  // namespace csml
