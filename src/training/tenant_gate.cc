#include "csml/training/tenant_gate.h"

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace csml {

Status TenantDataGate::Validate() const {
  if (min_rows < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("min tenant rows: expected a number >= 1, got {}", min_rows));
  }
  if (min_positives < 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("min tenant positives: expected a number >= 0, got {}", min_positives));
  }
  return {};
}

TenantDataCounts CountTenantData(const Dataset& dataset) {
  TenantDataCounts counts;
  counts.rows = dataset.rows();
  for (float label : dataset.data.labels) {
    if (label > 0.5F) ++counts.positives;
  }
  return counts;
}

Status CheckTenantDataGate(const TenantDataCounts& counts, const TenantDataGate& gate) {
  std::vector<std::string> short_of;
  if (counts.rows < static_cast<std::size_t>(gate.min_rows)) {
    short_of.push_back(
        fmt::format("{} labeled rows, fewer than min tenant rows {}", counts.rows, gate.min_rows));
  }
  if (counts.positives < static_cast<std::size_t>(gate.min_positives)) {
    short_of.push_back(fmt::format("{} positives (label 1), fewer than min tenant positives {}",
                                   counts.positives, gate.min_positives));
  }
  if (short_of.empty()) return {};
  return MakeError(ErrorCode::kValidation, fmt::format("too little data for a tenant model: {}",
                                                       fmt::join(short_of, "; ")));
}

}  // namespace csml
