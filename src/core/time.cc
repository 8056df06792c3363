#include "csml/core/time.h"

#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace csml {
namespace {

// The parsers below run twice per snapshot record, so the success path does no allocation and
// no locale work; only a failure builds a message.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `width` digits at text[pos]; false when any is not a digit.
bool ReadDigits(std::string_view text, std::size_t pos, std::size_t width, int* value) {
  if (pos + width > text.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *value = v;
  return true;
}

std::string Quote(std::string_view text) {
  // Long junk is shortened so an error message stays one readable line.
  constexpr std::size_t kMaxShown = 64;
  if (text.size() <= kMaxShown) return fmt::format("\"{}\"", text);
  return fmt::format("\"{}...\" ({} bytes)", text.substr(0, kMaxShown), text.size());
}

tl::unexpected<Error> DateTimeError(std::string_view text, std::string_view why) {
  return MakeError(ErrorCode::kParse,
                   fmt::format("expected an RFC 3339 date-time such as \"2025-08-22T09:00:00Z\", "
                               "got {}: {}",
                               Quote(text), why));
}

tl::unexpected<Error> DateError(std::string_view text, std::string_view why) {
  return MakeError(ErrorCode::kParse,
                   fmt::format("expected a date YYYY-MM-DD such as \"2025-08-22\", got {}: {}",
                               Quote(text), why));
}

// Parses "YYYY-MM-DD" at the start of `text` into days since the epoch. On failure returns a
// short reason (the caller wraps it); on success returns an empty view.
std::string_view ParseDatePart(std::string_view text, std::chrono::sys_days* day,
                               std::string* reason_storage) {
  int y = 0;
  int m = 0;
  int d = 0;
  if (!ReadDigits(text, 0, 4, &y) || text.size() < 5 || text[4] != '-' ||
      !ReadDigits(text, 5, 2, &m) || text.size() < 8 || text[7] != '-' ||
      !ReadDigits(text, 8, 2, &d)) {
    return "the date must be YYYY-MM-DD with digits";
  }
  if (m < 1 || m > 12) {
    *reason_storage = fmt::format("month {:02} is not in 01..12", m);
    return *reason_storage;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) {
    const auto last = std::chrono::year_month_day_last{
        std::chrono::year{y},
        std::chrono::month_day_last{std::chrono::month{static_cast<unsigned>(m)}}};
    *reason_storage = fmt::format("day {:02} is not in 01..{:02} for {:04}-{:02}", d,
                                  static_cast<unsigned>(last.day()), y, m);
    return *reason_storage;
  }
  *day = std::chrono::sys_days{ymd};
  return {};
}

}  // namespace

Result<UnixSeconds> ParseRfc3339(std::string_view text) {
  // date-time = YYYY-MM-DD "T" HH:MM:SS [ "." 1*DIGIT ] ( "Z" / ("+" / "-") HH:MM )
  std::chrono::sys_days day{};
  std::string reason;
  if (const std::string_view why = ParseDatePart(text, &day, &reason); !why.empty()) {
    return DateTimeError(text, why);
  }
  if (text.size() < 11 || (text[10] != 'T' && text[10] != 't')) {
    return DateTimeError(text, "expected 'T' between date and time");
  }
  int hh = 0;
  int mm = 0;
  int ss = 0;
  if (!ReadDigits(text, 11, 2, &hh) || text.size() < 14 || text[13] != ':' ||
      !ReadDigits(text, 14, 2, &mm) || text.size() < 17 || text[16] != ':' ||
      !ReadDigits(text, 17, 2, &ss)) {
    return DateTimeError(text, "the time must be HH:MM:SS with digits");
  }
  if (hh > 23) return DateTimeError(text, fmt::format("hour {:02} is not in 00..23", hh));
  if (mm > 59) return DateTimeError(text, fmt::format("minute {:02} is not in 00..59", mm));
  if (ss == 60) return DateTimeError(text, "leap seconds (second 60) are not supported");
  if (ss > 59) return DateTimeError(text, fmt::format("second {:02} is not in 00..59", ss));

  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    // Fractional seconds only ever add to a non-negative count, so dropping them truncates
    // toward the past, as documented.
    ++pos;
    const std::size_t first = pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    if (pos == first) return DateTimeError(text, "expected digits after '.'");
  }
  if (pos >= text.size()) {
    return DateTimeError(text, "missing time zone: expected 'Z' or an offset such as +02:00");
  }
  int offset_seconds = 0;
  const char zone = text[pos];
  if (zone == 'Z' || zone == 'z') {
    ++pos;
  } else if (zone == '+' || zone == '-') {
    int oh = 0;
    int om = 0;
    if (!ReadDigits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadDigits(text, pos + 4, 2, &om)) {
      return DateTimeError(text, "the offset must be +HH:MM or -HH:MM");
    }
    if (oh > 23 || om > 59) {
      return DateTimeError(text, fmt::format("offset {:02}:{:02} is not in 00:00..23:59", oh, om));
    }
    offset_seconds = (oh * 3600 + om * 60) * (zone == '-' ? -1 : 1);
    pos += 6;
  } else {
    return DateTimeError(text, "missing time zone: expected 'Z' or an offset such as +02:00");
  }
  if (pos != text.size()) {
    return DateTimeError(text,
                         fmt::format("unexpected text after the time zone at offset {}", pos));
  }
  const UnixSeconds day_seconds =
      static_cast<UnixSeconds>(day.time_since_epoch().count()) * kSecondsPerDay;
  // Local time = UTC + offset, so UTC = local - offset.
  return day_seconds + UnixSeconds{hh} * 3600 + UnixSeconds{mm} * 60 + ss - offset_seconds;
}

Result<UnixSeconds> ParseDate(std::string_view text) {
  std::chrono::sys_days day{};
  std::string reason;
  if (const std::string_view why = ParseDatePart(text, &day, &reason); !why.empty()) {
    return DateError(text, why);
  }
  if (text.size() != 10) return DateError(text, "unexpected text after the date");
  return static_cast<UnixSeconds>(day.time_since_epoch().count()) * kSecondsPerDay;
}

std::string FormatRfc3339(UnixSeconds t) {
  // RFC 3339 has four-digit years; clamping keeps absurd inputs from overflowing the calendar
  // arithmetic. ParseRfc3339 never produces a time outside this range.
  constexpr UnixSeconds kMin = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr UnixSeconds kMax = 253402300799;  // 9999-12-31T23:59:59Z
  t = t < kMin ? kMin : (t > kMax ? kMax : t);
  // Floor division keeps times before 1970 on the right day.
  UnixSeconds days = t / kSecondsPerDay;
  UnixSeconds rem = t % kSecondsPerDay;
  if (rem < 0) {
    rem += kSecondsPerDay;
    --days;
  }
  const std::chrono::year_month_day ymd{
      std::chrono::sys_days{std::chrono::days{static_cast<int>(days)}}};
  const auto secs = static_cast<int>(rem);
  char buf[40];
  const int n =
      std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02dZ",
                    static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                    static_cast<unsigned>(ymd.day()), secs / 3600, (secs / 60) % 60, secs % 60);
  return std::string(buf, static_cast<std::size_t>(n));
}

UnixSeconds NowUtc() {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return static_cast<UnixSeconds>(now.time_since_epoch().count());
}

}  // namespace csml
