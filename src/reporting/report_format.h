// Number formatting shared by the text and HTML renderers (private to the reporting module):
// one spelling of "not available", of percentages and of signed changes.
#pragma once

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace csml::reporting_internal {

// "0.7812"; "n/a" for NaN or infinity.
inline std::string Fixed(double value, int decimals = 4) {
  return std::isfinite(value) ? fmt::format("{:.{}f}", value, decimals) : std::string("n/a");
}

// A share as "12.3%"; "n/a" for NaN.
inline std::string Percent(double share, int decimals = 1) {
  return std::isfinite(share) ? fmt::format("{:.{}f}%", share * 100, decimals) : std::string("n/a");
}

// "+0.0044" / "-0.0150"; "n/a" for NaN.
inline std::string Signed(double value, int decimals = 4) {
  return std::isfinite(value) ? fmt::format("{:+.{}f}", value, decimals) : std::string("n/a");
}

}  // namespace csml::reporting_internal
