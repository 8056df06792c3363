#include "csml/training/time_split.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace csml {
namespace {

constexpr double kMinValidationFraction = 0.01;
constexpr double kMaxValidationFraction = 0.9;

}  // namespace

Status TimeSplitOptions::Validate() const {
  if (!(validation_fraction >= kMinValidationFraction &&
        validation_fraction <= kMaxValidationFraction)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("validation fraction: expected a number in [{}, {}], got {}",
                    kMinValidationFraction, kMaxValidationFraction, validation_fraction));
  }
  return {};
}

Result<TimeSplit> SplitByTime(std::span<const UnixSeconds> snapshot_ts,
                              std::span<const UnixSeconds> label_ts,
                              const TimeSplitOptions& options) {
  CSML_TRY(options.Validate());
  if (snapshot_ts.size() != label_ts.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("time split: expected one label_ts per snapshot_ts ({}), got {}",
                                 snapshot_ts.size(), label_ts.size()));
  }
  const std::size_t n = snapshot_ts.size();
  if (n < 2) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("time split: expected at least 2 labeled rows in the window, "
                                 "got {}",
                                 n));
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return snapshot_ts[a] < snapshot_ts[b]; });

  const auto validation_rows =
      static_cast<std::size_t>(std::ceil(options.validation_fraction * static_cast<double>(n)));
  TimeSplit split;
  split.validation_start = snapshot_ts[order[n - std::max<std::size_t>(validation_rows, 1)]];
  split.validation_end = snapshot_ts[order.back()];
  if (snapshot_ts[order.front()] >= split.validation_start) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("time split: every one of the {} rows was taken at {}, so no "
                                 "snapshot is older than the validation window; expected "
                                 "snapshots from more than one time",
                                 n, FormatRfc3339(split.validation_start)));
  }
  for (std::size_t i : order) {
    if (snapshot_ts[i] >= split.validation_start) {
      split.validation.push_back(i);
    } else if (label_ts[i] < split.validation_start) {
      if (split.train.empty()) split.train_start = snapshot_ts[i];
      split.train_end = snapshot_ts[i];
      split.train_label_end = std::max(split.train_label_end, label_ts[i]);
      split.train.push_back(i);
    } else {
      ++split.embargoed;
    }
  }
  if (split.train.empty()) {
    return MakeError(
        ErrorCode::kValidation,
        fmt::format("time split: no training row: the validation window starts at {} (the "
                    "newest {:g}% of {} rows) and each of the {} older rows has its outcome "
                    "(label_ts) at or after that time, so training on it would look into the "
                    "validation period; expected a longer window (--days) or a smaller "
                    "validation share",
                    FormatRfc3339(split.validation_start), options.validation_fraction * 100, n,
                    split.embargoed));
  }
  return split;
}

}  // namespace csml
