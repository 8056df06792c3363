// Choosing a model's tier thresholds (the seed's "automatically calibrated" tiers).
//
// By default the cut points are quantiles of the validation risk: medium from the 70th
// percentile, high from the 90th, so about 30% of customers are flagged and the riskiest
// 10% are "high", whatever the model's score scale. Quantiles follow evaluation/quantile.h.
// A fixed pair (the service's 0.4 / 0.7) can be asked for instead. Plain values and functions;
// thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/tiering/tiers.h"

namespace csml {

struct ThresholdOptions {
  enum class Method { kValidationQuantiles, kFixed };
  Method method = Method::kValidationQuantiles;
  double medium_quantile = 0.7;  // kValidationQuantiles: in (0, 1), <= high_quantile
  double high_quantile = 0.9;    // kValidationQuantiles: in (0, 1)
  Thresholds fixed;              // kFixed: the cut points themselves

  [[nodiscard]] Status Validate() const;
};

// "validation_quantiles" or "fixed": the method name meta.json records.
std::string_view ThresholdMethodName(ThresholdOptions::Method method);

// The thresholds for a model whose validation rows scored `validation_risk`. kInvalidArgument
// for invalid options, or no risk values with kValidationQuantiles.
Result<Thresholds> CalibrateThresholds(std::span<const double> validation_risk,
                                       const ThresholdOptions& options);

// Parses "0.4,0.7" (two numbers, medium first) into thresholds or quantiles; the message
// names `what` ("--thresholds").
Result<Thresholds> ParseThresholdPair(std::string_view text, std::string_view what);

}  // namespace csml
