#include "csml/training/tier_calibration.h"

#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "csml/evaluation/quantile.h"

namespace csml {
namespace {

bool InOpenUnitInterval(double q) { return q > 0.0 && q < 1.0; }

Result<double> ParseNumber(std::string_view text, std::string_view what) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: expected a number, got '{}'", what, text));
  }
  return value;
}

}  // namespace

Status ThresholdOptions::Validate() const {
  if (method == Method::kFixed) {
    if (auto s = fixed.Validate(); !s) return tl::unexpected(s.error().WithContext("thresholds"));
    return {};
  }
  if (!InOpenUnitInterval(medium_quantile) || !InOpenUnitInterval(high_quantile) ||
      medium_quantile > high_quantile) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("tier quantiles: expected 0 < medium <= high < 1, got medium "
                                 "{} and high {}",
                                 medium_quantile, high_quantile));
  }
  return {};
}

std::string_view ThresholdMethodName(ThresholdOptions::Method method) {
  return method == ThresholdOptions::Method::kFixed ? "fixed" : "validation_quantiles";
}

Result<Thresholds> CalibrateThresholds(std::span<const double> validation_risk,
                                       const ThresholdOptions& options) {
  CSML_TRY(options.Validate());
  if (options.method == ThresholdOptions::Method::kFixed) return options.fixed;
  const double qs[] = {options.medium_quantile, options.high_quantile};
  auto values = Quantiles(validation_risk, qs);
  if (!values) return tl::unexpected(values.error().WithContext("tier thresholds"));
  Thresholds out{(*values)[0], (*values)[1]};
  if (auto s = out.Validate(); !s) {
    return tl::unexpected(s.error().WithContext("tier thresholds from validation quantiles"));
  }
  return out;
}

Result<Thresholds> ParseThresholdPair(std::string_view text, std::string_view what) {
  const std::size_t comma = text.find(',');
  if (comma == std::string_view::npos || text.find(',', comma + 1) != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: expected two numbers 'MEDIUM,HIGH' such as '0.4,0.7', got "
                                 "'{}'",
                                 what, text));
  }
  CSML_ASSIGN_OR_RETURN(auto medium, ParseNumber(text.substr(0, comma), what));
  CSML_ASSIGN_OR_RETURN(auto high, ParseNumber(text.substr(comma + 1), what));
  Thresholds out{medium, high};
  if (auto s = out.Validate(); !s) return tl::unexpected(s.error().WithContext(what));
  return out;
}

}  // namespace csml
