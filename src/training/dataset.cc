#include "csml/training/dataset.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "csml/features/schema.h"

namespace csml {
namespace {

// Days beyond this would reach before year 0 from any as-of time; the bound keeps
// days * 86400 far from overflow (the same bound as data/window.cc).
constexpr int kMaxWindowDays = 3'650'000;

const FeatureEncoder& DefaultEncoder() {
  static const FeatureEncoder kEncoder = FeatureEncoder::Create(FeatureEncoder::DefaultColumns())
                                             .value();  // the default columns are valid
  return kEncoder;
}

}  // namespace

DatasetBuilder::DatasetBuilder() = default;

void DatasetBuilder::Add(std::span<const Snapshot> records) {
  const FeatureEncoder& encoder = DefaultEncoder();
  const std::size_t cols = encoder.num_columns();
  counts_.records_seen += records.size();
  if (labels_.empty()) {
    // The first (often the only) piece sizes the vectors exactly; later pieces grow them
    // geometrically, so a stream of pieces costs amortized O(1) per row.
    std::size_t outcomes = 0;
    for (const Snapshot& s : records) outcomes += (s.label.has_value() && s.label_ts.has_value());
    values_.reserve(outcomes * cols);
    labels_.reserve(outcomes);
    snapshot_ts_.reserve(outcomes);
    label_ts_.reserve(outcomes);
    region_.reserve(outcomes);
  }
  for (const Snapshot& s : records) {
    if (!s.label.has_value() || !s.label_ts.has_value()) {
      ++counts_.unlabeled;
      continue;
    }
    if (*s.label != 0 && *s.label != 1) {
      ++counts_.invalid;  // the reader never produces one; a hand-built record might
      continue;
    }
    const std::size_t offset = values_.size();
    values_.resize(offset + cols);
    encoder.Encode(s.features, std::span<float>(values_.data() + offset, cols));
    labels_.push_back(static_cast<float>(*s.label));
    snapshot_ts_.push_back(s.snapshot_ts);
    label_ts_.push_back(*s.label_ts);
    region_.push_back(s.features.region);
    if (!any_labeled_ || *s.label_ts > newest_label_ts_) newest_label_ts_ = *s.label_ts;
    any_labeled_ = true;
  }
}

void DatasetBuilder::AddInvalid(std::size_t records) {
  counts_.records_seen += records;
  counts_.invalid += records;
}

void DatasetBuilder::AddOutsideWindow(std::size_t records) {
  counts_.records_seen += records;
  counts_.outside_window += records;
}

Result<Dataset> DatasetBuilder::Finish(const WindowOptions& window) {
  if (window.days < 1 || window.days > kMaxWindowDays) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("days: expected a whole number of days in [1, {}], got {}",
                                 kMaxWindowDays, window.days));
  }
  Dataset out;
  if (window.as_of) {
    out.as_of = *window.as_of;
  } else if (any_labeled_) {
    out.as_of = newest_label_ts_;
  } else {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("expected at least one labeled record (label 0 or 1 with a "
                                 "label_ts) to take the as-of time from, got none of {} records",
                                 counts_.records_seen));
  }
  out.days = window.days;
  out.start = out.as_of - static_cast<UnixSeconds>(window.days) * kSecondsPerDay;

  // Compact in place, keeping input order.
  const std::size_t cols = FeatureEncoder::DefaultColumns().size();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (label_ts_[i] > out.as_of) {
      ++counts_.immature;
    } else if (label_ts_[i] <= out.start) {
      ++counts_.outside_window;
    } else {
      if (kept != i) {
        std::copy_n(values_.begin() + static_cast<std::ptrdiff_t>(i * cols), cols,
                    values_.begin() + static_cast<std::ptrdiff_t>(kept * cols));
        labels_[kept] = labels_[i];
        snapshot_ts_[kept] = snapshot_ts_[i];
        label_ts_[kept] = label_ts_[i];
        region_[kept] = region_[i];
      }
      ++kept;
    }
  }
  // Return memory only when the window dropped most rows: shrinking copies, and the unused
  // tail of a large buffer costs address space, not resident memory, once it is not written.
  const bool shrink = kept * 2 < labels_.size();
  values_.resize(kept * cols);
  labels_.resize(kept);
  snapshot_ts_.resize(kept);
  label_ts_.resize(kept);
  region_.resize(kept);
  if (shrink) {
    values_.shrink_to_fit();
    labels_.shrink_to_fit();
    snapshot_ts_.shrink_to_fit();
    label_ts_.shrink_to_fit();
    region_.shrink_to_fit();
  }
  counts_.rows = kept;

  out.data.features.rows = kept;
  out.data.features.cols = cols;
  out.data.features.values = std::move(values_);
  out.data.features.column_names = FeatureEncoder::DefaultColumns();
  out.data.labels = std::move(labels_);
  out.snapshot_ts = std::move(snapshot_ts_);
  out.label_ts = std::move(label_ts_);
  out.region = std::move(region_);
  out.counts = counts_;

  *this = DatasetBuilder();
  return out;
}

Result<Dataset> BuildDataset(std::span<const Snapshot> records, std::size_t invalid_records,
                             const WindowOptions& window) {
  DatasetBuilder builder;
  builder.Add(records);
  builder.AddInvalid(invalid_records);
  return builder.Finish(window);
}

LabeledMatrix GatherRows(const Dataset& dataset, std::span<const std::size_t> rows) {
  const DenseMatrix& from = dataset.data.features;
  LabeledMatrix out;
  out.features.rows = rows.size();
  out.features.cols = from.cols;
  out.features.column_names = from.column_names;
  out.features.values.resize(rows.size() * from.cols);
  out.labels.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::span<const float> row = from.Row(rows[r]);
    std::copy(row.begin(), row.end(), out.features.Row(r).begin());
    out.labels.push_back(dataset.data.labels[rows[r]]);
  }
  return out;
}

}  // namespace csml
