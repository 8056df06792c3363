// Number formatting for every report csml prints or writes (text, HTML, validation findings,
// the training summary): one spelling of a fixed-point figure, a percentage and a signed
// change, and of a figure that is not available.
#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace csml {

// "0.7812"; `missing` ("n/a") for NaN or infinity.
inline std::string Fixed(double value, int decimals = 4, std::string_view missing = "n/a") {
  return std::isfinite(value) ? fmt::format("{:.{}f}", value, decimals) : std::string(missing);
}

// A share as "12.3%"; `missing` ("n/a") for NaN or infinity.
inline std::string Percent(double share, int decimals = 1, std::string_view missing = "n/a") {
  return std::isfinite(share) ? fmt::format("{:.{}f}%", share * 100, decimals)
                              : std::string(missing);
}

// "+0.0044" / "-0.0150"; `missing` ("n/a") for NaN or infinity.
inline std::string Signed(double value, int decimals = 4, std::string_view missing = "n/a") {
  return std::isfinite(value) ? fmt::format("{:+.{}f}", value, decimals) : std::string(missing);
}

}  // namespace csml
