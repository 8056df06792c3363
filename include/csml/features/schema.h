// The feature schema of the data contract (docs/FEATURES.md) and the encoder that turns a
// customer's contract features into a model's input row.
//
// RawFeatures holds what a request or a snapshot says, before any model is involved: eight
// numbers (NaN = missing) and a region. A FeatureEncoder is built once per model from the
// column order the model recorded (meta.json "features") and then encodes rows with no
// allocation. Both are plain values; a const FeatureEncoder is safe to share across threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"

namespace csml {

// The contract's numeric features, in schema order.
enum class NumericFeature : std::uint8_t {
  kActivity7d,
  kActivity30d,
  kTimeSinceLastUseDays,
  kFailedRenewals30d,
  kTickets7d,
  kTickets30d,
  kPlanValue,
  kUsageScore,
};
inline constexpr std::size_t kNumNumericFeatures = 8;

// Regions with a one-hot column; every other string is kOther, JSON null or absence kMissing.
enum class Region : std::uint8_t { kIN, kSG, kUS, kEU, kOther, kMissing };
inline constexpr std::size_t kNumKnownRegions = 4;

struct NumericFeatureSpec {
  std::string_view name;
  double min;     // inclusive
  double max;     // inclusive; +infinity when unbounded
  bool required;  // absent from a score request is a 422; explicit null is always allowed
};

inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

inline constexpr std::array<NumericFeatureSpec, kNumNumericFeatures> kNumericFeatureSpecs = {{
    {"activity_7d", 0.0, kUnbounded, true},
    {"activity_30d", 0.0, kUnbounded, true},
    {"time_since_last_use_days", 0.0, kUnbounded, true},
    {"failed_renewals_30d", 0.0, kUnbounded, true},
    {"tickets_7d", 0.0, kUnbounded, true},
    {"tickets_30d", 0.0, kUnbounded, false},
    {"plan_value", 0.0, kUnbounded, true},
    {"usage_score", 0.0, 1.0, true},
}};

inline constexpr std::string_view kRegionFeatureName = "region";
inline constexpr bool kRegionRequired = true;

const NumericFeatureSpec& SpecOf(NumericFeature feature);

// Looks up a numeric feature by its contract name; false when the name is not one.
bool FindNumericFeature(std::string_view name, NumericFeature* feature);

// Checks a present (non-missing) value against the feature's range. The message says what
// was expected and what came: "expected a number in [0, 1], got 1.5".
Status CheckRange(NumericFeature feature, double value);

// IN, SG, US or EU in any ASCII letter case; any other text is Region::kOther.
Region ParseRegion(std::string_view text);
// "IN", "SG", "US", "EU"; "other" and "missing" for the rest.
std::string_view RegionName(Region region);

// One customer's features as the contract states them.
struct RawFeatures {
  std::array<double, kNumNumericFeatures> numeric = MissingNumerics();
  Region region = Region::kMissing;

  double Get(NumericFeature f) const { return numeric[static_cast<std::size_t>(f)]; }
  void Set(NumericFeature f, double v) { numeric[static_cast<std::size_t>(f)] = v; }

  static constexpr std::array<double, kNumNumericFeatures> MissingNumerics() {
    std::array<double, kNumNumericFeatures> a{};
    a.fill(std::numeric_limits<double>::quiet_NaN());
    return a;
  }
};

// Maps a model's recorded column names onto RawFeatures.
//
// Known columns: the eight numeric names, region_IN / region_SG / region_US / region_EU
// (one-hot: 1 for the matching region, 0 otherwise, all 0 for other or missing regions) and
// region_code (IN 0, SG 1, US 2, EU 3, other 4, missing NaN; for categorical models).
// Numeric missing encodes as NaN.
class FeatureEncoder {
 public:
  // Fails naming the first column that is unknown or repeated.
  static Result<FeatureEncoder> Create(std::span<const std::string> column_names);

  // The one-hot column order csml trains with.
  static const std::vector<std::string>& DefaultColumns();

  std::size_t num_columns() const { return columns_.size(); }
  const std::vector<std::string>& column_names() const { return names_; }

  // out.size() must equal num_columns().
  void Encode(const RawFeatures& features, std::span<double> out) const;
  void Encode(const RawFeatures& features, std::span<float> out) const;

 private:
  enum class Source : std::uint8_t { kNumeric, kRegionOneHot, kRegionCode };
  struct Column {
    Source source;
    std::uint8_t index;  // NumericFeature or Region, by source
  };

  template <typename T>
  void EncodeImpl(const RawFeatures& features, std::span<T> out) const;

  std::vector<Column> columns_;
  std::vector<std::string> names_;
};

}  // namespace csml
