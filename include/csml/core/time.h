// Times in csml are UTC seconds since the Unix epoch (UnixSeconds); text is RFC 3339.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "csml/core/error.h"

namespace csml {

using UnixSeconds = std::int64_t;
inline constexpr UnixSeconds kSecondsPerDay = 86400;

// Parses RFC 3339 date-times ("2025-08-22T09:00:00Z", "...T09:00:00.123+02:00", lower-case
// t/z accepted). Fractional seconds are truncated toward the past; offsets are applied so
// the result is UTC. The error says what was expected and what came.
Result<UnixSeconds> ParseRfc3339(std::string_view text);

// Parses a calendar date "YYYY-MM-DD" as 00:00:00 UTC that day.
Result<UnixSeconds> ParseDate(std::string_view text);

// Formats as "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatRfc3339(UnixSeconds t);

// The current time, whole seconds.
UnixSeconds NowUtc();

}  // namespace csml
