// Text and JSON forms of a ValidationReport (declared in data_validator.h).
#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/core/number_format.h"
#include "csml/validation/data_validator.h"

namespace csml {
namespace {

std::string Day(UnixSeconds t) { return FormatRfc3339(t).substr(0, 10); }

std::string Examples(const std::vector<std::size_t>& examples) {
  std::string out;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(examples[i]);
  }
  return out.empty() ? "-" : out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "-";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

// A share as "12.3%"; "-" when unknown, like the table's other empty cells.
std::string Share(double share) { return Percent(share, 1, "-"); }

// A bar of up to `width` characters, proportional to count / largest.
std::string Bar(std::size_t count, std::size_t largest, std::size_t width) {
  if (largest == 0 || count == 0) return "";
  const auto n = std::max<std::size_t>(
      1,
      static_cast<std::size_t>(std::llround(
          static_cast<double>(count) * static_cast<double>(width) / static_cast<double>(largest))));
  return std::string(n, '#');
}

}  // namespace

std::string RenderValidationText(const ValidationReport& r) {
  std::string out;
  const auto line = [&out](std::string_view text) {
    out += text;
    out += '\n';
  };
  if (!r.source.empty()) line(fmt::format("source:     {}", r.source));
  line(fmt::format("window:     {} days up to {} (as-of)", r.days, FormatRfc3339(r.as_of)));
  line(fmt::format("records:    {} read, {} invalid, {} outside the window, {} checked",
                   r.records_seen, r.records_invalid, r.outside_window, r.records_checked));
  line("");

  line("problems");
  if (r.findings.empty()) {
    line("  none");
  } else {
    line(fmt::format("  {:<8} {:<36} {:<28} {:>8}  {}", "severity", "kind", "field", "count",
                     "example records"));
    for (const Finding& f : r.findings) {
      line(fmt::format("  {:<8} {:<36} {:<28} {:>8}  {}", SeverityName(f.severity), f.kind,
                       f.field.empty() ? "-" : f.field, f.count, Examples(f.examples)));
      line(fmt::format("           {}", f.summary));
    }
  }
  line("");

  line("features");
  line(fmt::format("  {:<26} {:>9} {:>8} {:>12} {:>12} {:>12}", "name", "missing", "rate", "min",
                   "max", "mean"));
  for (const FeatureStats& f : r.features) {
    line(fmt::format("  {:<26} {:>9} {:>8} {:>12} {:>12} {:>12}", f.name, f.missing,
                     Share(f.missing_rate), Number(f.min), Number(f.max), Number(f.mean)));
  }
  const double unknown_share = r.records_checked == 0 ? 0.0
                                                      : static_cast<double>(r.unknown_region) /
                                                            static_cast<double>(r.records_checked);
  line(fmt::format("  unknown regions (not IN/SG/US/EU): {} ({})", r.unknown_region,
                   Share(unknown_share)));
  line("");

  const LabelStats& l = r.labels;
  line("labels");
  line(fmt::format("  labeled (mature at as-of) {:>9}   positives {} ({}), negatives {}", l.labeled,
                   l.positives, Share(l.positive_rate), l.negatives));
  line(fmt::format("  unlabeled (label null)    {:>9}", l.unlabeled));
  line(fmt::format("  not mature (after as-of)  {:>9}", l.immature));
  line(fmt::format("  duplicates (userId, snapshot_ts) {}", r.duplicates));
  line("");

  line("coverage: snapshots per week (Monday, UTC)");
  if (r.weeks.empty()) {
    line("  none");
  } else {
    std::size_t largest = 0;
    for (const WeekCoverage& w : r.weeks) largest = std::max(largest, w.records);
    for (const WeekCoverage& w : r.weeks) {
      line(fmt::format("  {}  {:>9} {:>9} labeled  {}", Day(w.week_start), w.records, w.labeled,
                       Bar(w.records, largest, 30)));
    }
  }
  if (r.newest_snapshot_ts) {
    line(fmt::format("  oldest snapshot {}, newest {} ({:.1f} days before as-of)",
                     FormatRfc3339(*r.oldest_snapshot_ts), FormatRfc3339(*r.newest_snapshot_ts),
                     r.newest_age_days));
  }
  line("");

  const std::size_t errors = r.errors();
  const std::size_t warnings = r.warnings();
  line(fmt::format("verdict: {} ({} error{}, {} warning{})",
                   r.BlocksTraining() ? "FAIL: errors block training" : "OK: can be trained on",
                   errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s"));
  return out;
}

std::string RenderValidationJson(const ValidationReport& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("ok").Bool(!r.BlocksTraining());
  w.Key("errors").Uint(r.errors());
  w.Key("warnings").Uint(r.warnings());
  if (!r.source.empty()) w.Key("source").String(r.source);
  w.Key("as_of").String(FormatRfc3339(r.as_of));
  w.Key("days").Int(r.days);
  w.Key("records").BeginObject();
  w.Key("seen").Uint(r.records_seen);
  w.Key("invalid").Uint(r.records_invalid);
  w.Key("outside_window").Uint(r.outside_window);
  w.Key("checked").Uint(r.records_checked);
  w.EndObject();

  w.Key("findings").BeginArray();
  for (const Finding& f : r.findings) {
    w.BeginObject();
    w.Key("severity").String(SeverityName(f.severity));
    w.Key("kind").String(f.kind);
    w.Key("field").String(f.field);
    w.Key("count").Uint(f.count);
    w.Key("examples").BeginArray();
    for (std::size_t e : f.examples) w.Uint(e);
    w.EndArray();
    w.Key("summary").String(f.summary);
    w.EndObject();
  }
  w.EndArray();

  w.Key("features").BeginArray();
  for (const FeatureStats& f : r.features) {
    w.BeginObject();
    w.Key("name").String(f.name);
    w.Key("present").Uint(f.present);
    w.Key("missing").Uint(f.missing);
    w.Key("missing_rate").Double(f.missing_rate);
    w.Key("min").Double(f.min);  // NaN (no value, or region) is written as null
    w.Key("max").Double(f.max);
    w.Key("mean").Double(f.mean);
    w.EndObject();
  }
  w.EndArray();
  w.Key("unknown_region").Uint(r.unknown_region);

  w.Key("labels").BeginObject();
  w.Key("labeled").Uint(r.labels.labeled);
  w.Key("positives").Uint(r.labels.positives);
  w.Key("negatives").Uint(r.labels.negatives);
  w.Key("unlabeled").Uint(r.labels.unlabeled);
  w.Key("immature").Uint(r.labels.immature);
  w.Key("positive_rate").Double(r.labels.positive_rate);
  w.EndObject();
  w.Key("duplicates").Uint(r.duplicates);

  w.Key("weeks").BeginArray();
  for (const WeekCoverage& week : r.weeks) {
    w.BeginObject();
    w.Key("week_start").String(Day(week.week_start));
    w.Key("records").Uint(week.records);
    w.Key("labeled").Uint(week.labeled);
    w.EndObject();
  }
  w.EndArray();
  w.Key("freshness").BeginObject();
  if (r.newest_snapshot_ts) {
    w.Key("oldest_snapshot_ts").String(FormatRfc3339(*r.oldest_snapshot_ts));
    w.Key("newest_snapshot_ts").String(FormatRfc3339(*r.newest_snapshot_ts));
    w.Key("newest_age_days").Double(r.newest_age_days);
  } else {
    w.Key("oldest_snapshot_ts").Null();
    w.Key("newest_snapshot_ts").Null();
    w.Key("newest_age_days").Null();
  }
  w.EndObject();
  w.EndObject();
  out += '\n';
  return out;
}

}  // namespace csml
