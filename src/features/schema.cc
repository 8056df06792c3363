#include "csml/features/schema.h"

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace csml {
namespace {

constexpr std::array<std::string_view, kNumKnownRegions> kRegionNames = {"IN", "SG", "US", "EU"};

std::string FormatBound(double v) { return fmt::format("{}", v); }

}  // namespace

const NumericFeatureSpec& SpecOf(NumericFeature feature) {
  return kNumericFeatureSpecs[static_cast<std::size_t>(feature)];
}

bool FindNumericFeature(std::string_view name, NumericFeature* feature) {
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    if (kNumericFeatureSpecs[i].name == name) {
      *feature = static_cast<NumericFeature>(i);
      return true;
    }
  }
  return false;
}

Status CheckRange(NumericFeature feature, double value) {
  const NumericFeatureSpec& spec = SpecOf(feature);
  if (!std::isfinite(value)) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("expected a finite number, got {}", value));
  }
  if (value >= spec.min && value <= spec.max) return {};
  if (spec.max == kUnbounded) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("expected a number >= {}, got {}", FormatBound(spec.min), value));
  }
  return MakeError(ErrorCode::kValidation,
                   fmt::format("expected a number in [{}, {}], got {}", FormatBound(spec.min),
                               FormatBound(spec.max), value));
}

Region ParseRegion(std::string_view text) {
  for (std::size_t i = 0; i < kNumKnownRegions; ++i) {
    if (kRegionNames[i] == text) return static_cast<Region>(i);
  }
  return Region::kOther;
}

std::string_view RegionName(Region region) {
  const auto i = static_cast<std::size_t>(region);
  if (i < kNumKnownRegions) return kRegionNames[i];
  return region == Region::kOther ? "other" : "missing";
}

Result<FeatureEncoder> FeatureEncoder::Create(std::span<const std::string> column_names) {
  FeatureEncoder encoder;
  encoder.columns_.reserve(column_names.size());
  for (std::size_t c = 0; c < column_names.size(); ++c) {
    const std::string& name = column_names[c];
    for (std::size_t prev = 0; prev < c; ++prev) {
      if (column_names[prev] == name) {
        return MakeError(ErrorCode::kValidation,
                         fmt::format("feature column {} ('{}') repeats column {}", c, name, prev));
      }
    }
    NumericFeature numeric{};
    if (FindNumericFeature(name, &numeric)) {
      encoder.columns_.push_back({Source::kNumeric, static_cast<std::uint8_t>(numeric)});
      continue;
    }
    if (name == "region_code") {
      encoder.columns_.push_back({Source::kRegionCode, 0});
      continue;
    }
    bool matched = false;
    for (std::size_t r = 0; r < kNumKnownRegions; ++r) {
      if (name == fmt::format("region_{}", kRegionNames[r])) {
        encoder.columns_.push_back({Source::kRegionOneHot, static_cast<std::uint8_t>(r)});
        matched = true;
        break;
      }
    }
    if (!matched) {
      return MakeError(ErrorCode::kValidation,
                       fmt::format("feature column {} ('{}') is not in the csml schema", c, name));
    }
  }
  encoder.names_.assign(column_names.begin(), column_names.end());
  return encoder;
}

const std::vector<std::string>& FeatureEncoder::DefaultColumns() {
  static const std::vector<std::string> kColumns = [] {
    std::vector<std::string> cols;
    cols.reserve(std::size(kNumericFeatureSpecs) + std::size(kRegionNames));
    for (const auto& spec : kNumericFeatureSpecs) cols.emplace_back(spec.name);
    for (const auto region : kRegionNames) cols.push_back(fmt::format("region_{}", region));
    return cols;
  }();
  return kColumns;
}

template <typename T>
void FeatureEncoder::EncodeImpl(const RawFeatures& features, std::span<T> out) const {
  const auto region = static_cast<std::uint8_t>(features.region);
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    const Column col = columns_[c];
    switch (col.source) {
      case Source::kNumeric:
        out[c] = static_cast<T>(features.numeric[col.index]);
        break;
      case Source::kRegionOneHot:
        out[c] = region == col.index ? T{1} : T{0};
        break;
      case Source::kRegionCode:
        out[c] = features.region == Region::kMissing ? std::numeric_limits<T>::quiet_NaN()
                                                     : static_cast<T>(region);
        break;
    }
  }
}

void FeatureEncoder::Encode(const RawFeatures& features, std::span<double> out) const {
  EncodeImpl(features, out);
}

void FeatureEncoder::Encode(const RawFeatures& features, std::span<float> out) const {
  EncodeImpl(features, out);
}

}  // namespace csml
