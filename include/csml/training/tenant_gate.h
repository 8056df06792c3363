// The minimum-data gate of a tenant model (docs/REGISTRY.md, docs/OPERATIONS.md): a model
// trained on one tenant's rows is published into that tenant's namespace only when the window
// holds enough labeled rows and enough churned customers (label 1) for its validation AUC and
// tiers to mean something; below that, the tenant is better served by the global model.
//
// Plain values and functions; the pipeline applies the gate after the dataset is built and
// before training, so a refused tenant costs no training time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "csml/core/error.h"
#include "csml/training/dataset.h"

namespace csml {

struct TenantDataGate {
  std::int64_t min_rows = 1000;     // labeled rows in the window, >= 1
  std::int64_t min_positives = 50;  // rows with label 1, >= 0

  // "min tenant rows: expected a number >= 1, got 0" and the like.
  [[nodiscard]] Status Validate() const;
};

struct TenantDataCounts {
  std::size_t rows = 0;       // labeled rows in the window
  std::size_t positives = 0;  // of them with label 1
};

TenantDataCounts CountTenantData(const Dataset& dataset);

// kValidation when the counts are below either threshold; the message names every threshold
// that fails ("min tenant rows", "min tenant positives") with the count and the bound.
[[nodiscard]] Status CheckTenantDataGate(const TenantDataCounts& counts,
                                         const TenantDataGate& gate);

}  // namespace csml
