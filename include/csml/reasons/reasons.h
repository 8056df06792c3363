// The human-readable reasons attached to every score (docs/API.md, docs/EXPLANATIONS.md).
//
// Two ways to choose them, per model version (ReasonMode):
//   - rules (the default, the seed's): rules fire on the contract's raw features, never on
//     the model, in a fixed order. A missing value (NaN) fires no rule that needs it. When no
//     rule fires the answer is general_risk_factors alone. ExplainRisk().
//   - model: the codes of the features whose TreeSHAP contribution raised this customer's
//     risk, largest first, at most kMaxModelReasons, each through a versioned ReasonCatalog
//     whose entry's condition holds on the value the model saw. ModelReasons.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/features/schema.h"

namespace csml {

// Every code csml can answer. The first five are the seed's (their names and meaning never
// change); the others exist for model reasons (the default catalog's conditions in brackets).
enum class Reason : std::uint8_t {
  kInactive14d,         // time_since_last_use_days >= 14
  kPaymentIssueRecent,  // failed_renewals_30d > 0
  kNoRecentActivity,    // activity_7d == 0
  kLowFeatureUsage,     // usage_score < 0.3
  kGeneralRiskFactors,  // none of the above (rules); nothing raised the risk (model)
  kLowActivity30d,      // low_activity_30d      [activity_30d < 8]
  kSupportTickets7d,    // support_tickets_7d    [tickets_7d >= 1]
  kSupportTickets30d,   // support_tickets_30d   [tickets_30d >= 2]
  kLowPlanValue,        // low_plan_value        [plan_value < 50]
  kHighPlanValue,       // high_plan_value       [plan_value >= 50]
  kRegionIn,            // region_in             [region_IN == 1, or region_code == 0]
  kRegionSg,            // region_sg             [region_SG == 1, or region_code == 1]
  kRegionUs,            // region_us             [region_US == 1, or region_code == 2]
  kRegionEu,            // region_eu             [region_EU == 1, or region_code == 3]
};
inline constexpr std::uint8_t kNumReasons = 14;

std::string_view ReasonName(Reason reason);
// The code of a name ("inactive_14d"), if it is one.
std::optional<Reason> ReasonFromName(std::string_view name);

// A small ordered set of reasons, each at most once. Add() keeps the contract's (the enum's)
// order whatever the order of the calls (the rules); Append() puts a code last (model
// reasons, largest contribution first). Holds up to kCapacity; further codes are dropped.
class ReasonSet {
 public:
  static constexpr std::size_t kCapacity = 8;

  void Add(Reason r) {
    if (Contains(r) || size_ == kCapacity) return;
    std::size_t at = size_;
    while (at > 0 && codes_[at - 1] > r) {
      codes_[at] = codes_[at - 1];
      --at;
    }
    codes_[at] = r;
    ++size_;
  }
  void Append(Reason r) {
    if (Contains(r) || size_ == kCapacity) return;
    codes_[size_++] = r;
  }
  bool Contains(Reason r) const {
    for (std::size_t i = 0; i < size_; ++i) {
      if (codes_[i] == r) return true;
    }
    return false;
  }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (std::size_t i = 0; i < size_; ++i) fn(codes_[i]);
  }

  friend bool operator==(const ReasonSet& a, const ReasonSet& b) {
    if (a.size_ != b.size_) return false;
    for (std::size_t i = 0; i < a.size_; ++i) {
      if (a.codes_[i] != b.codes_[i]) return false;
    }
    return true;
  }

 private:
  std::array<Reason, kCapacity> codes_{};
  std::uint8_t size_ = 0;
};

// Applies the seed's rules to one customer's features.
ReasonSet ExplainRisk(const RawFeatures& features);

// ---- model reasons ----------------------------------------------------------------------

enum class ReasonMode : std::uint8_t {
  kRules,  // ExplainRisk: the seed's output, byte for byte
  kModel,  // ModelReasons over the version's catalog
};
std::string_view ReasonModeName(ReasonMode mode);  // "rules", "model"
std::optional<ReasonMode> ParseReasonMode(std::string_view name);

// How a catalog entry compares the value the model saw with its threshold. The direction of
// an entry is the side of the value it names: > and >= the high side, < and <= the low side,
// == one value (a one-hot column's 1, a region code).
enum class ReasonOp : std::uint8_t { kAtLeast, kAbove, kBelow, kAtMost, kEquals };
std::string_view ReasonOpText(ReasonOp op);  // ">=", ">", "<", "<=", "=="

// A versioned map from (model column, direction) to a code. The file form (meta.json
// extra.reasons.catalog, or ReasonCatalog::Default()):
//   {"format":1,"version":"csml-default-1","entries":[
//     {"column":"time_since_last_use_days","when":">=","value":14,"code":"inactive_14d"}, ...]}
// format is the layout (this code reads 1); version names the content, so a report or a log
// can say which mapping produced a code.
struct ReasonCatalogEntry {
  std::string column;  // a model column name (FeatureEncoder's: activity_7d, region_IN, ...)
  ReasonOp op = ReasonOp::kAtLeast;
  double value = 0.0;
  Reason code = Reason::kGeneralRiskFactors;

  // Whether the condition holds; false for NaN (a missing value names no direction).
  bool Holds(double v) const;
};

struct ReasonCatalog {
  static constexpr int kFormat = 1;
  int format = kFormat;
  std::string version;
  std::vector<ReasonCatalogEntry> entries;  // tried in this order within a column

  // The compiled-in catalog: the seed's four rules as the conditions of their codes, and
  // the other features' codes of the Reason enum.
  static const ReasonCatalog& Default();

  // Parses the file form. Errors (kParse) name the entry and key: an unknown code (only
  // Reason's names, and never general_risk_factors), an unknown `when`, a non-finite value,
  // a format above kFormat, an empty version or column.
  static Result<ReasonCatalog> FromJson(std::string_view json);
  std::string ToJson() const;  // compact, keys in the order above
};

// A version's choice, recorded at training in meta.json as extra.reasons:
//   {"mode":"model","catalog":{<ReasonCatalog file form>}}
// Absent (every version trained without `--reasons model`): rules. A catalog absent with mode
// model means ReasonCatalog::Default().
struct ReasonSettings {
  ReasonMode mode = ReasonMode::kRules;
  std::optional<ReasonCatalog> catalog;

  std::string ToJson() const;  // the value of extra.reasons
  // Reads the `reasons` member of meta.json's extra object (text of a JSON object); errors
  // (kParse) name extra.reasons and the key.
  static Result<ReasonSettings> FromExtraJson(std::string_view extra_json);
};

// Model reasons of a catalog bound to one model's columns. Immutable; thread-safe.
class ModelReasons {
 public:
  static constexpr std::size_t kMaxModelReasons = 4;  // adverse-action practice: at most four

  // Catalog entries whose column the model lacks are ignored (a catalog may cover more
  // columns than one version uses).
  ModelReasons(const ReasonCatalog& catalog, std::span<const std::string> columns);

  // The reasons for one row (values as the model saw them, NaN = missing) and its TreeSHAP
  // contributions, both in the model's column order:
  //   1. the columns whose contribution is > 0 (raised the risk), largest first, ties in
  //      column order;
  //   2. for each, the first entry of its column (catalog order) whose condition holds on
  //      its value gives its code, unless the code is already listed; a column with no such
  //      entry gives none (its value is on a side no code names);
  //   3. at most kMaxModelReasons codes; none at all -> general_risk_factors alone.
  // Sizes that disagree give general_risk_factors.
  ReasonSet Explain(std::span<const double> values, std::span<const double> contributions) const;

  const std::string& catalog_version() const { return version_; }

 private:
  struct Bound {
    std::size_t column;
    ReasonCatalogEntry entry;
  };
  std::size_t num_columns_ = 0;
  std::vector<Bound> bound_;  // by column, then catalog order
  std::string version_;
};

}  // namespace csml
