#include "csml/validation/data_validator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "csml/core/number_format.h"
#include "csml/validation/source_window.h"

namespace csml {
namespace {

constexpr UnixSeconds kSecondsPerWeek = 7 * kSecondsPerDay;
// Weeks are counted from Monday; 1970-01-01 was a Thursday, so Monday 1969-12-29 is 3 days
// before the epoch.
constexpr UnixSeconds kMondayOffset = 3 * kSecondsPerDay;
// Coverage is kept for at most this many weeks back from the newest snapshot (20 years), so a
// wild timestamp cannot make the report huge.
constexpr std::size_t kMaxWeeks = 1040;
// An inside week with fewer snapshots than this share of the median week is thin.
constexpr double kThinWeekShare = 0.25;

UnixSeconds WeekStart(UnixSeconds t) {
  const UnixSeconds shifted = t + kMondayOffset;
  UnixSeconds q = shifted / kSecondsPerWeek;
  if (shifted % kSecondsPerWeek < 0) --q;  // floor for times before the epoch
  return q * kSecondsPerWeek - kMondayOffset;
}

double Share(std::size_t part, std::size_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

struct Kind {
  std::string_view id;
  std::string_view description;
};

// Maps one of the reader's per-record problems to a problem kind (the reader's messages are
// its contract: "expected ..., got ...").
Kind ClassifyProblem(const SnapshotProblem& p) {
  const std::string_view m = p.message;
  if (m == "required field is missing") return {"schema.missing_field", "required field missing"};
  if (m == "appears more than once") return {"schema.repeated_key", "key given more than once"};
  if (StartsWith(m, "expected a JSON object")) {
    return {"schema.not_an_object", "record is not a JSON object"};
  }
  if (StartsWith(m, "expected an RFC 3339 date-time when label is")) {
    return {"labels.missing_label_ts", "labeled record without a label_ts"};
  }
  if (StartsWith(m, "expected an RFC 3339 date-time such as")) {
    return {"schema.bad_time", "time is not RFC 3339"};
  }
  if (StartsWith(m, "expected a time after snapshot_ts")) {
    return {"labels.label_ts_not_after_snapshot", "label_ts is not after snapshot_ts"};
  }
  if (StartsWith(m, "expected 0, 1 or null")) return {"labels.bad_value", "label is not 0 or 1"};
  if (StartsWith(m, "expected a number >=") || StartsWith(m, "expected a number in [") ||
      StartsWith(m, "expected a finite number")) {
    return {"schema.out_of_range", "value out of range (docs/FEATURES.md)"};
  }
  if (StartsWith(m, "expected a non-empty string")) {
    return {"schema.empty_user_id", "empty userId"};
  }
  if (StartsWith(m, "expected ")) return {"schema.wrong_type", "wrong type"};
  return {"schema.invalid", "invalid record"};
}

void AddExample(std::vector<std::size_t>* examples, std::size_t record) {
  if (examples->size() < kMaxExamples) examples->push_back(record);
}

// Severity by a rate against an error threshold; nullopt when the rate is not even a warning.
std::optional<Severity> RateSeverity(double rate, double warn_above, double error_above) {
  if (rate > error_above) return Severity::kError;
  if (rate > warn_above) return Severity::kWarning;
  return std::nullopt;
}

// Per-record facts the dataset checks collect in one pass.
struct Collector {
  std::array<std::size_t, kNumNumericFeatures> missing{};
  std::array<double, kNumNumericFeatures> min{};
  std::array<double, kNumNumericFeatures> max{};
  std::array<double, kNumNumericFeatures> sum{};
  std::array<std::vector<std::size_t>, kNumNumericFeatures> missing_examples;
  std::size_t region_missing = 0;
  std::vector<std::size_t> region_missing_examples;
  std::size_t region_unknown = 0;
  std::vector<std::size_t> region_unknown_examples;
  std::vector<std::size_t> immature_examples;
  std::vector<std::size_t> duplicate_examples;
  std::size_t future = 0;
  std::vector<std::size_t> future_examples;

  Collector() {
    min.fill(std::numeric_limits<double>::infinity());
    max.fill(-std::numeric_limits<double>::infinity());
  }
};

struct KeyHash {
  std::size_t operator()(const std::pair<std::string_view, UnixSeconds>& k) const {
    return std::hash<std::string_view>{}(k.first) ^
           (std::hash<UnixSeconds>{}(k.second) * 0x9E3779B97F4A7C15ull);
  }
};

}  // namespace

std::string_view SeverityName(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}

Status ValidationOptions::Validate() const {
  const auto rate = [](std::string_view name, double v) -> Status {
    if (!(v >= 0.0 && v <= 1.0)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: expected a share in [0, 1], got {}", name, v));
    }
    return {};
  };
  for (const auto& [name, value] :
       {std::pair<std::string_view, double>{"max_invalid_rate", max_invalid_rate},
        {"warn_missing_rate", warn_missing_rate},
        {"max_missing_rate", max_missing_rate},
        {"warn_unknown_region_rate", warn_unknown_region_rate},
        {"max_unknown_region_rate", max_unknown_region_rate},
        {"max_duplicate_rate", max_duplicate_rate},
        {"warn_minority_rate", warn_minority_rate},
        {"max_immature_rate", max_immature_rate}}) {
    if (Status s = rate(name, value); !s) return s;
  }
  if (warn_missing_rate > max_missing_rate) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("warn_missing_rate {} is above max_missing_rate {}",
                                 warn_missing_rate, max_missing_rate));
  }
  if (warn_unknown_region_rate > max_unknown_region_rate) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("warn_unknown_region_rate {} is above max_unknown_region_rate {}",
                                 warn_unknown_region_rate, max_unknown_region_rate));
  }
  if (days < 1 || days > 3'650'000) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("days: expected a whole number of days >= 1, got {}", days));
  }
  if (max_empty_weeks < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("max_empty_weeks: expected >= 0, got {}", max_empty_weeks));
  }
  if (!(warn_stale_days >= 0.0) || !(max_stale_days >= warn_stale_days) ||
      !std::isfinite(max_stale_days)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("stale days: expected 0 <= warn ({}) <= max ({}), finite",
                                 warn_stale_days, max_stale_days));
  }
  return {};
}

std::size_t ValidationReport::errors() const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(),
                    [](const Finding& f) { return f.severity == Severity::kError; }));
}

std::size_t ValidationReport::warnings() const { return findings.size() - errors(); }

bool ValidationReport::BlocksTraining() const { return errors() > 0; }

Result<DataValidator> DataValidator::Create(const ValidationOptions& options) {
  if (Status s = options.Validate(); !s) return tl::unexpected(s.error());
  return DataValidator(options);
}

ValidationReport DataValidator::Validate(const SnapshotBatch& batch) const {
  const ValidationOptions& opt = options_;
  ValidationReport report;
  report.days = opt.days;
  report.records_seen = batch.records_seen;
  report.records_invalid = batch.records_invalid;

  // ---- schema: the reader's problems, grouped by kind and field ----------------------------
  const double invalid_rate = Share(batch.records_invalid, batch.records_seen);
  const Severity schema_severity =
      invalid_rate > opt.max_invalid_rate ? Severity::kError : Severity::kWarning;
  std::map<std::pair<std::string_view, std::string>, Finding> schema;
  std::vector<std::size_t> invalid_numbers;
  invalid_numbers.reserve(batch.problems.size());
  for (const SnapshotProblem& p : batch.problems) {
    invalid_numbers.push_back(p.record);
    const Kind kind = ClassifyProblem(p);
    Finding& f = schema[{kind.id, p.field}];
    if (f.count == 0) {
      f.kind = kind.id;
      f.field = p.field;
      // The reader's message for these two does not name the field; the summary does.
      if (kind.id == "schema.missing_field") {
        f.summary = fmt::format("required field {} is missing", p.field);
      } else if (kind.id == "schema.repeated_key") {
        f.summary = fmt::format("key {} given more than once", p.field);
      } else {
        f.summary = fmt::format("{}: {}", kind.description, p.message);
      }
      f.severity = schema_severity;
    }
    ++f.count;
    AddExample(&f.examples, p.record);
  }
  for (auto& [key, finding] : schema) report.findings.push_back(std::move(finding));
  if (batch.problems.size() < batch.records_invalid) {
    report.findings.push_back(
        Finding{"schema.undescribed",
                "",
                "invalid records beyond those the reader described (raise max_problems_kept)",
                schema_severity,
                batch.records_invalid - batch.problems.size(),
                {}});
  }

  // Input positions of the valid records, when every invalid one is known.
  std::sort(invalid_numbers.begin(), invalid_numbers.end());
  const bool exact_numbers = batch.problems.size() == batch.records_invalid &&
                             batch.records.size() + batch.records_invalid == batch.records_seen;
  std::vector<std::size_t> numbers;
  if (exact_numbers) {
    numbers.reserve(batch.records.size());
    std::size_t position = 0;
    std::size_t next_invalid = 0;
    for (std::size_t i = 0; i < batch.records.size(); ++i, ++position) {
      while (next_invalid < invalid_numbers.size() && invalid_numbers[next_invalid] == position) {
        ++next_invalid;
        ++position;
      }
      numbers.push_back(position);
    }
  }
  const auto example = [&](std::vector<std::size_t>* examples, std::size_t i) {
    if (exact_numbers) AddExample(examples, numbers[i]);
  };

  // ---- the window ----------------------------------------------------------------------------
  // MakeSourceWindow only fails on days, which Validate() checked.
  const SourceWindow window = MakeSourceWindow(batch.records, opt.days, opt.as_of).value();
  report.as_of = window.as_of;

  // ---- one pass over the valid records of the window ---------------------------------------
  Collector c;
  std::unordered_set<std::pair<std::string_view, UnixSeconds>, KeyHash> keys;
  keys.reserve(batch.records.size());
  std::map<UnixSeconds, WeekCoverage> weeks;
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    const Snapshot& s = batch.records[i];
    if (opt.select_window && !window.Contains(s)) {
      ++report.outside_window;
      continue;
    }
    ++report.records_checked;
    for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
      const double v = s.features.numeric[f];
      if (std::isnan(v)) {
        ++c.missing[f];
        example(&c.missing_examples[f], i);
        continue;
      }
      c.min[f] = std::min(c.min[f], v);
      c.max[f] = std::max(c.max[f], v);
      c.sum[f] += v;
    }
    if (s.features.region == Region::kMissing) {
      ++c.region_missing;
      example(&c.region_missing_examples, i);
    } else if (s.features.region == Region::kOther) {
      ++c.region_unknown;
      example(&c.region_unknown_examples, i);
    }

    const bool mature = s.IsLabeledAt(window.as_of);
    if (!s.label) {
      ++report.labels.unlabeled;
    } else if (!mature) {
      ++report.labels.immature;
      example(&c.immature_examples, i);
    } else {
      ++report.labels.labeled;
      ++(*s.label == 1 ? report.labels.positives : report.labels.negatives);
    }

    if (!keys.emplace(s.user_id, s.snapshot_ts).second) {
      ++report.duplicates;
      example(&c.duplicate_examples, i);
    }
    if (s.snapshot_ts > window.as_of) {
      ++c.future;
      example(&c.future_examples, i);
    }
    if (!report.oldest_snapshot_ts || s.snapshot_ts < *report.oldest_snapshot_ts) {
      report.oldest_snapshot_ts = s.snapshot_ts;
    }
    if (!report.newest_snapshot_ts || s.snapshot_ts > *report.newest_snapshot_ts) {
      report.newest_snapshot_ts = s.snapshot_ts;
    }
    WeekCoverage& week = weeks[WeekStart(s.snapshot_ts)];
    ++week.records;
    if (mature) ++week.labeled;
  }
  const std::size_t checked = report.records_checked;
  auto& findings = report.findings;

  if (checked == 0) {
    findings.push_back(Finding{
        "data.empty",
        "",
        batch.records_seen == 0 ? std::string("the source returned no records")
                                : fmt::format("no valid record in the window of {} days up to {}",
                                              opt.days, FormatRfc3339(window.as_of)),
        Severity::kError,
        0,
        {}});
  }

  // ---- features: missing rates and value ranges ---------------------------------------------
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    FeatureStats stats;
    stats.name = std::string(kNumericFeatureSpecs[f].name);
    stats.missing = c.missing[f];
    stats.present = checked - c.missing[f];
    stats.missing_rate = Share(c.missing[f], checked);
    if (stats.present > 0) {
      stats.min = c.min[f];
      stats.max = c.max[f];
      stats.mean = c.sum[f] / static_cast<double>(stats.present);
    } else {
      stats.min = stats.max = stats.mean = std::numeric_limits<double>::quiet_NaN();
    }
    if (auto sev = RateSeverity(stats.missing_rate, opt.warn_missing_rate, opt.max_missing_rate)) {
      findings.push_back(
          Finding{"data.missing", "features." + stats.name,
                  fmt::format("{} of values missing (warning above {}, error above {})",
                              Percent(stats.missing_rate), Percent(opt.warn_missing_rate),
                              Percent(opt.max_missing_rate)),
                  *sev, c.missing[f], c.missing_examples[f]});
    }
    report.features.push_back(std::move(stats));
  }
  {
    FeatureStats region;
    region.name = std::string(kRegionFeatureName);
    region.missing = c.region_missing;
    region.present = checked - c.region_missing;
    region.missing_rate = Share(c.region_missing, checked);
    region.min = region.max = region.mean = std::numeric_limits<double>::quiet_NaN();
    if (auto sev = RateSeverity(region.missing_rate, opt.warn_missing_rate, opt.max_missing_rate)) {
      findings.push_back(
          Finding{"data.missing", "features.region",
                  fmt::format("{} of values missing (warning above {}, error above {})",
                              Percent(region.missing_rate), Percent(opt.warn_missing_rate),
                              Percent(opt.max_missing_rate)),
                  *sev, c.region_missing, c.region_missing_examples});
    }
    report.features.push_back(std::move(region));
  }
  report.unknown_region = c.region_unknown;
  const double unknown_rate = Share(c.region_unknown, checked);
  if (auto sev =
          RateSeverity(unknown_rate, opt.warn_unknown_region_rate, opt.max_unknown_region_rate)) {
    findings.push_back(Finding{
        "data.unknown_region", "features.region",
        fmt::format("{} of regions are not IN, SG, US or EU (encoded as all zero; warning above "
                    "{}, error above {})",
                    Percent(unknown_rate), Percent(opt.warn_unknown_region_rate),
                    Percent(opt.max_unknown_region_rate)),
        *sev, c.region_unknown, c.region_unknown_examples});
  }

  // ---- labels ----------------------------------------------------------------------------------
  LabelStats& labels = report.labels;
  labels.positive_rate = labels.labeled == 0 ? std::numeric_limits<double>::quiet_NaN()
                                             : Share(labels.positives, labels.labeled);
  if (checked > 0 && labels.labeled < opt.min_labeled_records) {
    findings.push_back(
        Finding{"labels.too_few",
                "label",
                fmt::format("{} labeled records mature at {}; training needs at least {}",
                            labels.labeled, FormatRfc3339(window.as_of), opt.min_labeled_records),
                Severity::kError,
                labels.labeled,
                {}});
  }
  if (labels.labeled > 0) {
    const std::size_t minority = std::min(labels.positives, labels.negatives);
    if (minority < opt.min_class_records) {
      findings.push_back(
          Finding{"labels.class_missing",
                  "label",
                  fmt::format("{} positives and {} negatives; each class needs at least {} records",
                              labels.positives, labels.negatives, opt.min_class_records),
                  Severity::kError,
                  minority,
                  {}});
    } else if (Share(minority, labels.labeled) < opt.warn_minority_rate) {
      findings.push_back(
          Finding{"labels.imbalanced",
                  "label",
                  fmt::format("positive rate {} is extreme (minority class below {})",
                              Percent(labels.positive_rate), Percent(opt.warn_minority_rate)),
                  Severity::kWarning,
                  minority,
                  {}});
    }
  }
  if (labels.immature > 0) {
    const double rate = Share(labels.immature, labels.immature + labels.labeled);
    findings.push_back(Finding{
        "labels.not_mature", "label_ts",
        fmt::format("labels whose label_ts is after the as-of time {} ({} of labels; error "
                    "above {}); they are not used for training",
                    FormatRfc3339(window.as_of), Percent(rate), Percent(opt.max_immature_rate)),
        rate > opt.max_immature_rate ? Severity::kError : Severity::kWarning, labels.immature,
        c.immature_examples});
  }

  // ---- duplicates, time --------------------------------------------------------------------
  if (report.duplicates > 0) {
    const double rate = Share(report.duplicates, checked);
    findings.push_back(
        Finding{"data.duplicates", "",
                fmt::format("records repeat an earlier (userId, snapshot_ts) ({}; error above {})",
                            Percent(rate), Percent(opt.max_duplicate_rate)),
                rate > opt.max_duplicate_rate ? Severity::kError : Severity::kWarning,
                report.duplicates, c.duplicate_examples});
  }
  if (c.future > 0) {
    findings.push_back(
        Finding{"data.future_snapshots", "snapshot_ts",
                fmt::format("snapshots taken after the as-of time {}", FormatRfc3339(window.as_of)),
                Severity::kWarning, c.future, c.future_examples});
  }

  if (report.newest_snapshot_ts) {
    const UnixSeconds last_week = WeekStart(*report.newest_snapshot_ts);
    UnixSeconds first_week = WeekStart(*report.oldest_snapshot_ts);
    const auto max_span = static_cast<UnixSeconds>(kMaxWeeks - 1) * kSecondsPerWeek;
    first_week = std::max(first_week, last_week - max_span);
    std::vector<std::size_t> counts;
    for (UnixSeconds w = first_week; w <= last_week; w += kSecondsPerWeek) {
      const auto it = weeks.find(w);
      WeekCoverage week = it == weeks.end() ? WeekCoverage{} : it->second;
      week.week_start = w;
      report.weeks.push_back(week);
      counts.push_back(week.records);
    }
    std::vector<UnixSeconds> empty;
    std::vector<UnixSeconds> thin;
    if (report.weeks.size() > 2) {
      std::vector<std::size_t> sorted(counts.begin() + 1, counts.end() - 1);
      std::nth_element(sorted.begin(),
                       sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2),
                       sorted.end());
      const double median = static_cast<double>(sorted[sorted.size() / 2]);
      // The first and last weeks are partial by nature; only inside weeks are judged.
      for (std::size_t w = 1; w + 1 < report.weeks.size(); ++w) {
        if (counts[w] == 0) {
          empty.push_back(report.weeks[w].week_start);
        } else if (static_cast<double>(counts[w]) < kThinWeekShare * median) {
          thin.push_back(report.weeks[w].week_start);
        }
      }
    }
    const auto list_weeks = [](const std::vector<UnixSeconds>& ws) {
      std::string out;
      for (std::size_t i = 0; i < ws.size() && i < kMaxExamples; ++i) {
        if (i > 0) out += ", ";
        out += FormatRfc3339(ws[i]).substr(0, 10);
      }
      if (ws.size() > kMaxExamples) out += ", ...";
      return out;
    };
    if (!empty.empty()) {
      findings.push_back(Finding{
          "time.empty_weeks",
          "snapshot_ts",
          fmt::format("weeks without any snapshot inside the covered span (error above {}): {}",
                      opt.max_empty_weeks, list_weeks(empty)),
          static_cast<int>(empty.size()) > opt.max_empty_weeks ? Severity::kError
                                                               : Severity::kWarning,
          empty.size(),
          {}});
    }
    if (!thin.empty()) {
      findings.push_back(
          Finding{"time.thin_weeks",
                  "snapshot_ts",
                  fmt::format("weeks with fewer than {:.0f}% of the median week's snapshots: {}",
                              kThinWeekShare * 100.0, list_weeks(thin)),
                  Severity::kWarning,
                  thin.size(),
                  {}});
    }

    report.newest_age_days =
        static_cast<double>(window.as_of - *report.newest_snapshot_ts) / kSecondsPerDay;
    if (auto sev = RateSeverity(report.newest_age_days, opt.warn_stale_days, opt.max_stale_days)) {
      findings.push_back(
          Finding{"time.stale",
                  "snapshot_ts",
                  fmt::format("the newest snapshot ({}) is {:.1f} days older than the as-of time "
                              "(warning above {:g}, error above {:g} days)",
                              FormatRfc3339(*report.newest_snapshot_ts), report.newest_age_days,
                              opt.warn_stale_days, opt.max_stale_days),
                  *sev,
                  1,
                  {}});
    }
  }

  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity == Severity::kError;
    return std::tie(a.kind, a.field) < std::tie(b.kind, b.field);
  });
  return report;
}

Result<ValidationReport> ValidateSnapshots(const SnapshotBatch& batch,
                                           const ValidationOptions& options) {
  Result<DataValidator> validator = DataValidator::Create(options);
  if (!validator) return tl::unexpected(validator.error());
  return validator->Validate(batch);
}

}  // namespace csml
