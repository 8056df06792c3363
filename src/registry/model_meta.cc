#include "csml/registry/model_meta.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include "csml/core/json_writer.h"

namespace csml {
namespace {

namespace dom = simdjson::dom;

constexpr std::size_t kMaxVersionLength = 100;

tl::unexpected<Error> Bad(std::string_view key, std::string_view expected, std::string_view got) {
  return MakeError(ErrorCode::kParse, fmt::format("{}: expected {}, got {}", key, expected, got));
}

std::string Describe(dom::element e) {
  std::string text = simdjson::minify(e);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// Top-level keys one per line so people can read and diff the file; values stay compact.
class TopLevelWriter {
 public:
  explicit TopLevelWriter(std::string* out) : out_(out) { out_->append("{"); }
  std::string* Value(std::string_view key) {
    out_->append(first_ ? "\n  " : ",\n  ");
    first_ = false;
    AppendJsonString(out_, key);
    out_->append(": ");
    return out_;
  }
  void Finish() { out_->append("\n}\n"); }

 private:
  std::string* out_;
  bool first_ = true;
};

void WriteTime(JsonWriter& w, UnixSeconds t) {
  if (t == 0) {
    w.Null();
  } else {
    w.String(FormatRfc3339(t));
  }
}

void WriteMetrics(std::string* out, const std::map<std::string, double>& metrics) {
  JsonWriter w(out);
  w.BeginObject();
  for (const auto& [name, value] : metrics) w.Key(name).Double(value);
  w.EndObject();
}

// Reads fields of one JSON object, naming them by their path in errors.
class ObjectReader {
 public:
  ObjectReader(dom::object obj, std::string path) : obj_(obj), path_(std::move(path)) {}

  std::string PathOf(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  bool Has(std::string_view key) const {
    dom::element e;
    return obj_.at_key(key).get(e) == simdjson::SUCCESS && !e.is_null();
  }

  Result<dom::element> Required(std::string_view key) const {
    dom::element e;
    if (obj_.at_key(key).get(e) != simdjson::SUCCESS) {
      return Bad(PathOf(key), "a value", "nothing (the key is missing)");
    }
    return e;
  }

  Result<std::string> String(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS) return Bad(PathOf(key), "a string", Describe(e));
    return std::string(s);
  }

  Result<double> Number(std::string_view key, double min, double max) const {
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    double v = 0;
    if (e.get(v) != simdjson::SUCCESS || !std::isfinite(v) || v < min || v > max) {
      return Bad(PathOf(key), fmt::format("a number in [{}, {}]", min, max), Describe(e));
    }
    return v;
  }

  // A number, or null for "unknown" (NaN).
  Result<double> NumberOrNull(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    if (e.is_null()) return std::numeric_limits<double>::quiet_NaN();
    double v = 0;
    if (e.get(v) != simdjson::SUCCESS) return Bad(PathOf(key), "a number or null", Describe(e));
    return v;
  }

  Result<std::int64_t> Count(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    std::int64_t v = 0;
    if (e.get(v) != simdjson::SUCCESS || v < 0) {
      return Bad(PathOf(key), "an integer >= 0", Describe(e));
    }
    return v;
  }

  // An RFC 3339 string, or null for "unknown" (0).
  Result<UnixSeconds> Time(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    if (e.is_null()) return UnixSeconds{0};
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS) {
      return Bad(PathOf(key), "an RFC 3339 date-time string", Describe(e));
    }
    auto t = ParseRfc3339(s);
    if (!t)
      return MakeError(ErrorCode::kParse, fmt::format("{}: {}", PathOf(key), t.error().message));
    return *t;
  }

  Result<ObjectReader> Object(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    dom::object o;
    if (e.get(o) != simdjson::SUCCESS) return Bad(PathOf(key), "an object", Describe(e));
    return ObjectReader(o, PathOf(key));
  }

  // The value of an object-valued key as compact JSON text.
  Result<std::string> RawObject(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    if (!e.is_object()) return Bad(PathOf(key), "an object", Describe(e));
    return simdjson::minify(e);
  }

  Result<std::map<std::string, double>> Metrics(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto o, Object(key));
    std::map<std::string, double> out;
    for (auto [name, value] : o.obj_) {
      CSML_ASSIGN_OR_RETURN(auto v, o.NumberOrNull(name));
      out[std::string(name)] = v;
    }
    return out;
  }

  // ---- keys that may be absent: absent and null read as "not recorded".

  // NaN when absent or null.
  Result<double> OptionalNumber(std::string_view key) const {
    if (!Has(key)) return std::numeric_limits<double>::quiet_NaN();
    return NumberOrNull(key);
  }

  // 0 when absent or null; a number is rounded to a count (negative ones to 0).
  Result<std::uint64_t> OptionalCount(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto v, OptionalNumber(key));
    return std::isfinite(v) && v > 0 ? static_cast<std::uint64_t>(std::llround(v)) : 0;
  }

  Result<int> OptionalInt(std::string_view key) const {
    CSML_ASSIGN_OR_RETURN(auto v, OptionalNumber(key));
    if (!std::isfinite(v)) return 0;
    if (std::fabs(v) > 1e9) {
      return Bad(PathOf(key), "an integer of at most 9 digits", fmt::format("{}", v));
    }
    return static_cast<int>(std::llround(v));
  }

  Result<std::string> OptionalString(std::string_view key) const {
    if (!Has(key)) return std::string();
    return String(key);
  }

  Result<bool> OptionalBool(std::string_view key) const {
    if (!Has(key)) return false;
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    bool b = false;
    if (e.get(b) != simdjson::SUCCESS) return Bad(PathOf(key), "true or false", Describe(e));
    return b;
  }

  Result<UnixSeconds> OptionalTime(std::string_view key) const {
    if (!Has(key)) return UnixSeconds{0};
    return Time(key);
  }

  Result<std::optional<ObjectReader>> OptionalObject(std::string_view key) const {
    if (!Has(key)) return std::optional<ObjectReader>();
    CSML_ASSIGN_OR_RETURN(auto o, Object(key));
    return std::optional<ObjectReader>(o);
  }

  Result<std::optional<dom::array>> OptionalArray(std::string_view key) const {
    if (!Has(key)) return std::optional<dom::array>();
    CSML_ASSIGN_OR_RETURN(auto e, Required(key));
    dom::array a;
    if (e.get(a) != simdjson::SUCCESS) return Bad(PathOf(key), "an array", Describe(e));
    return std::optional<dom::array>(a);
  }

  dom::object object() const { return obj_; }
  const std::string& path() const { return path_; }

 private:
  dom::object obj_;
  std::string path_;
};

// Parses `text` as the JSON object named `path` in errors ("meta.json extra"). The parser
// owns the parsed document, so it must outlive the reader.
Result<ObjectReader> ParseObject(dom::parser& parser, const simdjson::padded_string& text,
                                 std::string path) {
  dom::element e;
  if (const auto error = parser.parse(text).get(e); error != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kParse,
                     fmt::format("{}: expected a JSON object, got invalid JSON ({})", path,
                                 simdjson::error_message(error)));
  }
  dom::object o;
  if (e.get(o) != simdjson::SUCCESS) return Bad(path, "a JSON object", Describe(e));
  return ObjectReader(o, std::move(path));
}

Result<std::optional<TierReport>> ReadTierReport(const ObjectReader& tiers) {
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> validation,
                        tiers.OptionalObject("validation"));
  if (!validation) return std::optional<TierReport>();
  TierReport report;
  report.base_rate = std::numeric_limits<double>::quiet_NaN();
  for (const Tier tier : {Tier::kLow, Tier::kMedium, Tier::kHigh}) {
    CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> entry,
                          validation->OptionalObject(TierName(tier)));
    if (!entry) return std::optional<TierReport>();  // a partial table is no reference
    TierStats& stats = report.tiers[static_cast<std::size_t>(tier)];
    stats.tier = tier;
    CSML_ASSIGN_OR_RETURN(stats.rows, entry->OptionalCount("rows"));
    CSML_ASSIGN_OR_RETURN(stats.positives, entry->OptionalCount("churned"));
    CSML_ASSIGN_OR_RETURN(stats.share, entry->OptionalNumber("share"));
    CSML_ASSIGN_OR_RETURN(stats.churn_rate, entry->OptionalNumber("churn_rate"));
  }
  report.high_precision = report.of(Tier::kHigh).churn_rate;
  report.high_recall = std::numeric_limits<double>::quiet_NaN();
  report.high_lift = std::numeric_limits<double>::quiet_NaN();
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> high, tiers.OptionalObject("high_tier"));
  if (high) {
    CSML_ASSIGN_OR_RETURN(report.high_recall, high->OptionalNumber("recall"));
    CSML_ASSIGN_OR_RETURN(report.high_lift, high->OptionalNumber("lift"));
  }
  return std::optional<TierReport>(report);
}

Result<std::vector<CalibrationBin>> ReadCalibrationTable(const ObjectReader& calibration,
                                                         std::string_view key = "table") {
  std::vector<CalibrationBin> out;
  CSML_ASSIGN_OR_RETURN(const std::optional<dom::array> table, calibration.OptionalArray(key));
  if (!table) return out;
  for (dom::element item : *table) {
    const std::string path = fmt::format("{}[{}]", calibration.PathOf(key), out.size());
    dom::object bin_object;
    if (item.get(bin_object) != simdjson::SUCCESS) return Bad(path, "an object", Describe(item));
    const ObjectReader bin_reader(bin_object, path);
    CalibrationBin bin;
    CSML_ASSIGN_OR_RETURN(bin.lower, bin_reader.OptionalNumber("lower"));
    CSML_ASSIGN_OR_RETURN(bin.upper, bin_reader.OptionalNumber("upper"));
    CSML_ASSIGN_OR_RETURN(bin.rows, bin_reader.OptionalCount("rows"));
    CSML_ASSIGN_OR_RETURN(bin.positives, bin_reader.OptionalCount("churned"));
    CSML_ASSIGN_OR_RETURN(bin.mean_score, bin_reader.OptionalNumber("mean_risk"));
    CSML_ASSIGN_OR_RETURN(bin.observed_rate, bin_reader.OptionalNumber("churn_rate"));
    out.push_back(bin);
  }
  return out;
}

Result<std::vector<std::pair<std::string, double>>> ReadImportance(const ObjectReader& importance) {
  std::vector<std::pair<std::string, double>> out;
  for (auto [key, value] : importance.object()) {
    double gain = 0;
    if (value.is_null() || value.get(gain) != simdjson::SUCCESS) {
      return Bad(importance.PathOf(key), "a number", Describe(value));
    }
    if (!std::isfinite(gain) || gain < 0) {
      return Bad(importance.PathOf(key), "a finite number >= 0", Describe(value));
    }
    out.emplace_back(std::string(key), gain);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

void WriteCandidateJson(JsonWriter& w, const SearchCandidate& c) {
  w.BeginObject()
      .Key("eta")
      .Double(c.eta)
      .Key("max_leaves")
      .Int(c.max_leaves)
      .Key("max_depth")
      .Int(c.max_depth)
      .Key("min_child_weight")
      .Double(c.min_child_weight)
      .Key("lambda")
      .Double(c.lambda)
      .Key("alpha")
      .Double(c.alpha)
      .Key("subsample")
      .Double(c.subsample)
      .Key("colsample_bytree")
      .Double(c.colsample_bytree)
      .Key("scale_pos_weight")
      .Double(c.scale_pos_weight)
      .EndObject();
}

Result<SearchCandidate> ReadCandidate(const ObjectReader& r) {
  SearchCandidate c;
  CSML_ASSIGN_OR_RETURN(c.eta, r.OptionalNumber("eta"));
  CSML_ASSIGN_OR_RETURN(c.max_leaves, r.OptionalInt("max_leaves"));
  CSML_ASSIGN_OR_RETURN(c.max_depth, r.OptionalInt("max_depth"));
  CSML_ASSIGN_OR_RETURN(c.min_child_weight, r.OptionalNumber("min_child_weight"));
  CSML_ASSIGN_OR_RETURN(c.lambda, r.OptionalNumber("lambda"));
  CSML_ASSIGN_OR_RETURN(c.alpha, r.OptionalNumber("alpha"));
  CSML_ASSIGN_OR_RETURN(c.subsample, r.OptionalNumber("subsample"));
  CSML_ASSIGN_OR_RETURN(c.colsample_bytree, r.OptionalNumber("colsample_bytree"));
  CSML_ASSIGN_OR_RETURN(c.scale_pos_weight, r.OptionalNumber("scale_pos_weight"));
  if (std::isnan(c.scale_pos_weight)) c.scale_pos_weight = 1;
  return c;
}

// An array of numbers (null = NaN) at `key` of `r`; empty when absent.
Result<std::vector<double>> ReadNumberArray(const ObjectReader& r, std::string_view key) {
  std::vector<double> out;
  CSML_ASSIGN_OR_RETURN(const std::optional<dom::array> items, r.OptionalArray(key));
  if (!items) return out;
  for (dom::element item : *items) {
    double v = std::numeric_limits<double>::quiet_NaN();
    if (!item.is_null() && item.get(v) != simdjson::SUCCESS) {
      return Bad(fmt::format("{}[{}]", r.PathOf(key), out.size()), "a number or null",
                 Describe(item));
    }
    out.push_back(v);
  }
  return out;
}

// Each element of the array at `key` as an object reader; empty when absent.
Result<std::vector<ObjectReader>> ReadObjectArray(const ObjectReader& r, std::string_view key) {
  std::vector<ObjectReader> out;
  CSML_ASSIGN_OR_RETURN(const std::optional<dom::array> items, r.OptionalArray(key));
  if (!items) return out;
  for (dom::element item : *items) {
    const std::string path = fmt::format("{}[{}]", r.PathOf(key), out.size());
    dom::object o;
    if (item.get(o) != simdjson::SUCCESS) return Bad(path, "an object", Describe(item));
    out.emplace_back(o, path);
  }
  return out;
}

void WriteSearchJson(JsonWriter& w, const SearchRecord& s) {
  w.BeginObject().Key("strategy").String(s.strategy).Key("selection").String(s.selection);
  if (!s.skipped.empty()) w.Key("skipped").String(s.skipped);
  w.Key("budget_seconds")
      .Double(s.budget_seconds)
      .Key("budget_auto")
      .Bool(s.budget_auto)
      .Key("work_budget")
      .Double(s.work_budget)
      .Key("work_used")
      .Double(s.work_used);
  if (std::isfinite(s.final_fit_cap)) w.Key("final_fit_cap").Double(s.final_fit_cap);
  w.Key("seconds")
      .Double(s.seconds)
      .Key("search_rows")
      .Uint(s.search_rows)
      .Key("row_stride")
      .Uint(s.row_stride)
      .Key("candidates_planned")
      .Int(s.candidates_planned)
      .Key("folds")
      .BeginArray();
  for (const SearchRecord::Fold& f : s.folds) {
    w.BeginObject()
        .Key("validation_from")
        .String(FormatRfc3339(f.validation_from))
        .Key("validation_to")
        .String(FormatRfc3339(f.validation_to))
        .Key("train_newest_label_ts")
        .String(FormatRfc3339(f.train_newest_label_ts))
        .Key("train_rows")
        .Uint(f.train_rows)
        .Key("validation_rows")
        .Uint(f.validation_rows)
        .Key("embargoed_rows")
        .Uint(f.embargoed_rows)
        .EndObject();
  }
  w.EndArray().Key("trials").BeginArray();
  for (const SearchRecord::Trial& t : s.trials) {
    w.BeginObject().Key("id").Int(t.id).Key("params");
    WriteCandidateJson(w, t.params);
    w.Key("rung").Int(t.rung).Key("fold_auc").BeginArray();
    for (double v : t.fold_auc) w.Double(v);
    w.EndArray().Key("fold_logloss").BeginArray();
    for (double v : t.fold_logloss) w.Double(v);
    w.EndArray().Key("fold_rounds").BeginArray();
    for (int v : t.fold_rounds) w.Int(v);
    w.EndArray().Key("mean_auc").Double(t.mean_auc).Key("mean_logloss").Double(t.mean_logloss);
    if (std::isfinite(t.final_fit_work)) w.Key("final_fit_work").Double(t.final_fit_work);
    w.EndObject();
  }
  w.EndArray()
      .Key("winner")
      .Int(s.winner)
      .Key("scale_pos_weight_kept")
      .Bool(s.scale_pos_weight_kept)
      .EndObject();
}

Result<SearchRecord> ReadSearch(const ObjectReader& r) {
  SearchRecord s;
  CSML_ASSIGN_OR_RETURN(s.strategy, r.OptionalString("strategy"));
  CSML_ASSIGN_OR_RETURN(s.selection, r.OptionalString("selection"));
  CSML_ASSIGN_OR_RETURN(s.skipped, r.OptionalString("skipped"));
  CSML_ASSIGN_OR_RETURN(s.budget_seconds, r.OptionalNumber("budget_seconds"));
  CSML_ASSIGN_OR_RETURN(s.budget_auto, r.OptionalBool("budget_auto"));
  CSML_ASSIGN_OR_RETURN(s.work_budget, r.OptionalNumber("work_budget"));
  CSML_ASSIGN_OR_RETURN(s.work_used, r.OptionalNumber("work_used"));
  CSML_ASSIGN_OR_RETURN(s.final_fit_cap, r.OptionalNumber("final_fit_cap"));
  CSML_ASSIGN_OR_RETURN(s.seconds, r.OptionalNumber("seconds"));
  CSML_ASSIGN_OR_RETURN(s.search_rows, r.OptionalCount("search_rows"));
  CSML_ASSIGN_OR_RETURN(s.row_stride, r.OptionalCount("row_stride"));
  CSML_ASSIGN_OR_RETURN(s.candidates_planned, r.OptionalInt("candidates_planned"));
  CSML_ASSIGN_OR_RETURN(const std::vector<ObjectReader> folds, ReadObjectArray(r, "folds"));
  for (const ObjectReader& f : folds) {
    SearchRecord::Fold fold;
    CSML_ASSIGN_OR_RETURN(fold.validation_from, f.OptionalTime("validation_from"));
    CSML_ASSIGN_OR_RETURN(fold.validation_to, f.OptionalTime("validation_to"));
    CSML_ASSIGN_OR_RETURN(fold.train_newest_label_ts, f.OptionalTime("train_newest_label_ts"));
    CSML_ASSIGN_OR_RETURN(fold.train_rows, f.OptionalCount("train_rows"));
    CSML_ASSIGN_OR_RETURN(fold.validation_rows, f.OptionalCount("validation_rows"));
    CSML_ASSIGN_OR_RETURN(fold.embargoed_rows, f.OptionalCount("embargoed_rows"));
    s.folds.push_back(fold);
  }
  CSML_ASSIGN_OR_RETURN(const std::vector<ObjectReader> trials, ReadObjectArray(r, "trials"));
  for (const ObjectReader& t : trials) {
    SearchRecord::Trial trial;
    CSML_ASSIGN_OR_RETURN(trial.id, t.OptionalInt("id"));
    CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> params, t.OptionalObject("params"));
    if (params) {
      CSML_ASSIGN_OR_RETURN(trial.params, ReadCandidate(*params));
    }
    CSML_ASSIGN_OR_RETURN(trial.rung, t.OptionalInt("rung"));
    CSML_ASSIGN_OR_RETURN(trial.fold_auc, ReadNumberArray(t, "fold_auc"));
    CSML_ASSIGN_OR_RETURN(trial.fold_logloss, ReadNumberArray(t, "fold_logloss"));
    CSML_ASSIGN_OR_RETURN(const std::vector<double> rounds, ReadNumberArray(t, "fold_rounds"));
    for (double v : rounds) trial.fold_rounds.push_back(std::isfinite(v) ? static_cast<int>(v) : 0);
    CSML_ASSIGN_OR_RETURN(trial.mean_auc, t.OptionalNumber("mean_auc"));
    CSML_ASSIGN_OR_RETURN(trial.mean_logloss, t.OptionalNumber("mean_logloss"));
    CSML_ASSIGN_OR_RETURN(trial.final_fit_work, t.OptionalNumber("final_fit_work"));
    s.trials.push_back(std::move(trial));
  }
  s.winner = -1;
  if (r.Has("winner")) {
    CSML_ASSIGN_OR_RETURN(s.winner, r.OptionalInt("winner"));
  }
  if (s.winner >= static_cast<int>(s.trials.size())) {
    return Bad(r.PathOf("winner"), fmt::format("an index below {} (the trials)", s.trials.size()),
               std::to_string(s.winner));
  }
  CSML_ASSIGN_OR_RETURN(s.scale_pos_weight_kept, r.OptionalBool("scale_pos_weight_kept"));
  return s;
}

Status CheckJsonObject(std::string_view text, std::string_view what) {
  dom::parser parser;
  dom::element e;
  const simdjson::padded_string padded(text);
  if (const auto error = parser.parse(padded).get(e); error != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: expected a JSON object, got invalid JSON ({})", what,
                                 simdjson::error_message(error)));
  }
  if (!e.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: expected a JSON object, got {}", what, Describe(e)));
  }
  return {};
}

}  // namespace

bool IsValidVersionName(std::string_view version) {
  if (version.empty() || version.size() > kMaxVersionLength) return false;
  for (char c : version) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return version.front() != '-';
}

std::string_view ModelFileSuffix(std::string_view algo) {
  if (algo == "xgb") return ".model.json";
  if (algo == "lgbm") return ".model.txt";
  return {};
}

namespace {

// meta.json `calibration` (format 2): {"method": "platt", "slope": a, "intercept": b} or
// {"method": "isotonic", "x": [...], "y": [...]}.
void WriteCalibration(std::string* out, const Calibration& c) {
  JsonWriter w(out);
  w.BeginObject().Key("method").String(CalibrationMethodName(c.method()));
  if (c.method() == CalibrationMethod::kPlatt) {
    w.Key("slope").Double(c.slope()).Key("intercept").Double(c.intercept());
  } else if (c.method() == CalibrationMethod::kIsotonic) {
    w.Key("x").BeginArray();
    for (double x : c.knots_x()) w.Double(x);
    w.EndArray().Key("y").BeginArray();
    for (double y : c.knots_y()) w.Double(y);
    w.EndArray();
  }
  w.EndObject();
}

Result<std::vector<double>> ReadNumberArray(dom::element e, const std::string& path) {
  dom::array array;
  if (e.get(array) != simdjson::SUCCESS) return Bad(path, "an array of numbers", Describe(e));
  std::vector<double> out;
  for (dom::element v : array) {
    double d = 0;
    if (v.get(d) != simdjson::SUCCESS || !std::isfinite(d)) {
      return Bad(fmt::format("{}[{}]", path, out.size()), "a number", Describe(v));
    }
    out.push_back(d);
  }
  return out;
}

Result<Calibration> ReadCalibration(const ObjectReader& c) {
  CSML_ASSIGN_OR_RETURN(const std::string name, c.String("method"));
  const std::optional<CalibrationMethod> method = ParseCalibrationMethod(name);
  if (!method) {
    return Bad(c.PathOf("method"), "\"none\", \"platt\" or \"isotonic\"",
               fmt::format("'{}'", name));
  }
  Result<Calibration> out = Calibration();
  if (*method == CalibrationMethod::kPlatt) {
    CSML_ASSIGN_OR_RETURN(const double slope, c.Number("slope", -1e6, 1e6));
    CSML_ASSIGN_OR_RETURN(const double intercept, c.Number("intercept", -1e6, 1e6));
    out = Calibration::Platt(slope, intercept);
  } else if (*method == CalibrationMethod::kIsotonic) {
    CSML_ASSIGN_OR_RETURN(const dom::element xe, c.Required("x"));
    CSML_ASSIGN_OR_RETURN(const dom::element ye, c.Required("y"));
    CSML_ASSIGN_OR_RETURN(std::vector<double> x, ReadNumberArray(xe, c.PathOf("x")));
    CSML_ASSIGN_OR_RETURN(std::vector<double> y, ReadNumberArray(ye, c.PathOf("y")));
    out = Calibration::Isotonic(std::move(x), std::move(y));
  }
  if (!out) return MakeError(ErrorCode::kParse, c.PathOf("method") + ": " + out.error().message);
  return out;
}

// meta.json `reference_profile`: {"rows": n, "risk_rows": m, "bins": 10, "features":
// {"activity_7d": {"edges": [...], "shares": [...], "missing": s}, ..., "region": {"IN": s,
// ..., "other": s, "missing": s}}, "risk": {"edges": [...], "shares": [...], "missing": s}}.
void WriteBins(JsonWriter& w, const BinnedDistribution& d) {
  w.BeginObject().Key("edges").BeginArray();
  for (const double e : d.edges) w.Double(e);
  w.EndArray().Key("shares").BeginArray();
  for (const double s : d.shares) w.Double(s);
  w.EndArray().Key("missing").Double(d.missing_share).EndObject();
}

void WriteReferenceProfile(std::string* out, const ReferenceProfile& p) {
  JsonWriter w(out);
  w.BeginObject().Key("rows").Uint(p.rows).Key("risk_rows").Uint(p.risk_rows);
  w.Key("bins").Int(p.bins).Key("features").BeginObject();
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    w.Key(SpecOf(static_cast<NumericFeature>(f)).name);
    WriteBins(w, p.numeric[f]);
  }
  w.Key(kRegionFeatureName).BeginObject();
  for (std::size_t c = 0; c < kNumRegionCategories; ++c) {
    w.Key(RegionName(static_cast<Region>(c))).Double(p.region[c]);
  }
  w.EndObject().EndObject().Key("risk");
  WriteBins(w, p.risk);
  w.EndObject();
}

constexpr double kShareSumTolerance = 1e-6;

Result<BinnedDistribution> ReadBins(const ObjectReader& r) {
  BinnedDistribution d;
  CSML_ASSIGN_OR_RETURN(const dom::element edges, r.Required("edges"));
  CSML_ASSIGN_OR_RETURN(d.edges, ReadNumberArray(edges, r.PathOf("edges")));
  for (std::size_t i = 1; i < d.edges.size(); ++i) {
    if (!(d.edges[i - 1] < d.edges[i])) {
      return Bad(fmt::format("{}[{}]", r.PathOf("edges"), i),
                 fmt::format("an edge above {}", d.edges[i - 1]), fmt::format("{}", d.edges[i]));
    }
  }
  CSML_ASSIGN_OR_RETURN(const dom::element shares, r.Required("shares"));
  CSML_ASSIGN_OR_RETURN(d.shares, ReadNumberArray(shares, r.PathOf("shares")));
  if (d.shares.size() != d.bins()) {
    return Bad(r.PathOf("shares"), fmt::format("{} shares (one more than edges)", d.bins()),
               fmt::format("{}", d.shares.size()));
  }
  CSML_ASSIGN_OR_RETURN(d.missing_share, r.Number("missing", 0.0, 1.0));
  double total = d.missing_share;
  for (std::size_t i = 0; i < d.shares.size(); ++i) {
    if (d.shares[i] < 0 || d.shares[i] > 1) {
      return Bad(fmt::format("{}[{}]", r.PathOf("shares"), i), "a share in [0, 1]",
                 fmt::format("{}", d.shares[i]));
    }
    total += d.shares[i];
  }
  if (std::fabs(total - 1.0) > kShareSumTolerance) {
    return Bad(r.PathOf("shares"), "shares that sum to 1 with missing",
               fmt::format("a sum of {}", total));
  }
  return d;
}

Result<ReferenceProfile> ReadReferenceProfile(const ObjectReader& r) {
  ReferenceProfile p;
  CSML_ASSIGN_OR_RETURN(const std::int64_t rows, r.Count("rows"));
  CSML_ASSIGN_OR_RETURN(const std::int64_t risk_rows, r.Count("risk_rows"));
  p.rows = static_cast<std::uint64_t>(rows);
  p.risk_rows = static_cast<std::uint64_t>(risk_rows);
  CSML_ASSIGN_OR_RETURN(const double bins, r.Number("bins", 2, 1000));
  p.bins = static_cast<int>(bins);
  CSML_ASSIGN_OR_RETURN(const ObjectReader features, r.Object("features"));
  // Every contract feature is required; a name this csml does not know (a later csml's) is
  // left alone.
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) {
    CSML_ASSIGN_OR_RETURN(const ObjectReader bins_reader,
                          features.Object(SpecOf(static_cast<NumericFeature>(f)).name));
    CSML_ASSIGN_OR_RETURN(p.numeric[f], ReadBins(bins_reader));
  }
  CSML_ASSIGN_OR_RETURN(const ObjectReader region, features.Object(kRegionFeatureName));
  double total = 0;
  for (std::size_t c = 0; c < kNumRegionCategories; ++c) {
    CSML_ASSIGN_OR_RETURN(p.region[c], region.Number(RegionName(static_cast<Region>(c)), 0, 1));
    total += p.region[c];
  }
  if (std::fabs(total - 1.0) > kShareSumTolerance) {
    return Bad(region.path(), "category shares that sum to 1", fmt::format("a sum of {}", total));
  }
  CSML_ASSIGN_OR_RETURN(const ObjectReader risk, r.Object("risk"));
  CSML_ASSIGN_OR_RETURN(p.risk, ReadBins(risk));
  return p;
}

}  // namespace

std::string ModelMeta::ToJson() const {
  std::string out;
  TopLevelWriter top(&out);
  JsonWriter(top.Value("meta_format"))
      .Int(calibration.is_none() ? kMetaFormatWithoutCalibration : kMetaFormatVersion);
  JsonWriter(top.Value("version")).String(version);
  JsonWriter(top.Value("algo")).String(algo);
  JsonWriter(top.Value("created_at")).String(FormatRfc3339(created_at));
  JsonWriter(top.Value("model_file")).String(model_file);
  JsonWriter(top.Value("model_sha256")).String(model_sha256);
  JsonWriter(top.Value("model_size_bytes")).Int(model_size_bytes);
  {
    JsonWriter w(top.Value("features"));
    w.BeginArray();
    for (const std::string& f : features) w.String(f);
    w.EndArray();
  }
  {
    JsonWriter w(top.Value("thresholds"));
    w.BeginObject()
        .Key("medium")
        .Double(thresholds.medium)
        .Key("high")
        .Double(thresholds.high)
        .Key("method")
        .String(threshold_method)
        .EndObject();
  }
  if (!calibration.is_none()) WriteCalibration(top.Value("calibration"), calibration);
  if (reference_profile) WriteReferenceProfile(top.Value("reference_profile"), *reference_profile);
  {
    JsonWriter w(top.Value("training_window"));
    w.BeginObject().Key("from");
    WriteTime(w, window.from);
    w.Key("to");
    WriteTime(w, window.to);
    w.Key("as_of");
    WriteTime(w, window.as_of);
    w.Key("days").Int(window.days).EndObject();
  }
  {
    JsonWriter w(top.Value("rows"));
    w.BeginObject()
        .Key("train")
        .Int(rows.train)
        .Key("validation")
        .Int(rows.validation)
        .Key("skipped_unlabeled")
        .Int(rows.skipped_unlabeled)
        .Key("skipped_invalid")
        .Int(rows.skipped_invalid)
        .Key("outside_window")
        .Int(rows.outside_window)
        .EndObject();
  }
  JsonWriter(top.Value("base_rate")).Double(base_rate);
  WriteMetrics(top.Value("train_metrics"), train_metrics);
  WriteMetrics(top.Value("validation_metrics"), validation_metrics);
  JsonWriter(top.Value("params")).Raw(params_json.empty() ? "{}" : params_json);
  JsonWriter(top.Value("extra")).Raw(extra_json.empty() ? "{}" : extra_json);
  top.Finish();
  return out;
}

Result<ModelMeta> ModelMeta::FromJson(std::string_view json) {
  const simdjson::padded_string padded(json);
  dom::parser parser;
  dom::element doc;
  if (const auto error = parser.parse(padded).get(doc); error != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kParse, fmt::format("expected a JSON object, got invalid JSON ({})",
                                                    simdjson::error_message(error)));
  }
  dom::object root_object;
  if (doc.get(root_object) != simdjson::SUCCESS) {
    return Bad("(top level)", "a JSON object", Describe(doc));
  }
  const ObjectReader root(root_object, "");
  ModelMeta m;

  auto format = root.Count("meta_format");
  if (!format) return tl::unexpected(format.error());
  if (*format < 1 || *format > kMetaFormatVersion) {
    return Bad("meta_format",
               fmt::format("1 to {} (newer files need a newer csml)", kMetaFormatVersion),
               std::to_string(*format));
  }

#define CSML_META_READ(target, expr)                    \
  do {                                                  \
    auto value_ = (expr);                               \
    if (!value_) return tl::unexpected(value_.error()); \
    (target) = std::move(*value_);                      \
  } while (false)

  CSML_META_READ(m.version, root.String("version"));
  if (!IsValidVersionName(m.version)) {
    return Bad("version", "a name of 1 to 100 characters from [a-z0-9-]",
               fmt::format("'{}'", m.version));
  }
  CSML_META_READ(m.algo, root.String("algo"));
  if (ModelFileSuffix(m.algo).empty()) {
    return Bad("algo", "\"xgb\" or \"lgbm\"", fmt::format("'{}'", m.algo));
  }
  CSML_META_READ(m.created_at, root.Time("created_at"));
  CSML_META_READ(m.model_file, root.String("model_file"));
  CSML_META_READ(m.model_sha256, root.String("model_sha256"));
  CSML_META_READ(m.model_size_bytes, root.Count("model_size_bytes"));

  auto features = root.Required("features");
  if (!features) return tl::unexpected(features.error());
  dom::array feature_array;
  if (features->get(feature_array) != simdjson::SUCCESS || feature_array.size() == 0) {
    return Bad("features", "a non-empty array of column names", Describe(*features));
  }
  for (dom::element f : feature_array) {
    std::string_view name;
    if (f.get(name) != simdjson::SUCCESS || name.empty()) {
      return Bad(fmt::format("features[{}]", m.features.size()), "a non-empty string", Describe(f));
    }
    m.features.emplace_back(name);
  }

  auto thresholds = root.Object("thresholds");
  if (!thresholds) return tl::unexpected(thresholds.error());
  CSML_META_READ(m.thresholds.medium, thresholds->Number("medium", 0.0, 1.0));
  CSML_META_READ(m.thresholds.high, thresholds->Number("high", 0.0, 1.0));
  if (auto s = m.thresholds.Validate(); !s) {
    return MakeError(ErrorCode::kParse, "thresholds: " + s.error().message);
  }
  CSML_META_READ(m.threshold_method, thresholds->String("method"));
  if (root.Has("calibration")) {
    if (*format < 2) {
      return Bad("calibration", "no calibration in a meta_format 1 file (format 2 adds it)",
                 "a calibration");
    }
    CSML_ASSIGN_OR_RETURN(auto calibration, root.Object("calibration"));
    CSML_META_READ(m.calibration, ReadCalibration(calibration));
  }

  if (root.Has("reference_profile")) {
    CSML_ASSIGN_OR_RETURN(auto profile, root.Object("reference_profile"));
    CSML_META_READ(m.reference_profile, ReadReferenceProfile(profile));
  }

  if (root.Has("training_window")) {
    CSML_ASSIGN_OR_RETURN(auto window, root.Object("training_window"));
    CSML_META_READ(m.window.from, window.Time("from"));
    CSML_META_READ(m.window.to, window.Time("to"));
    CSML_META_READ(m.window.as_of, window.Time("as_of"));
    std::int64_t days = 0;
    CSML_META_READ(days, window.Count("days"));
    if (days > 100000) return Bad("training_window.days", "at most 100000", std::to_string(days));
    m.window.days = static_cast<int>(days);
  }
  if (root.Has("rows")) {
    CSML_ASSIGN_OR_RETURN(auto rows, root.Object("rows"));
    CSML_META_READ(m.rows.train, rows.Count("train"));
    CSML_META_READ(m.rows.validation, rows.Count("validation"));
    CSML_META_READ(m.rows.skipped_unlabeled, rows.Count("skipped_unlabeled"));
    CSML_META_READ(m.rows.skipped_invalid, rows.Count("skipped_invalid"));
    CSML_META_READ(m.rows.outside_window, rows.Count("outside_window"));
  }
  if (root.Has("base_rate")) CSML_META_READ(m.base_rate, root.NumberOrNull("base_rate"));
  if (root.Has("train_metrics")) CSML_META_READ(m.train_metrics, root.Metrics("train_metrics"));
  if (root.Has("validation_metrics")) {
    CSML_META_READ(m.validation_metrics, root.Metrics("validation_metrics"));
  }
  if (root.Has("params")) CSML_META_READ(m.params_json, root.RawObject("params"));
  if (root.Has("extra")) CSML_META_READ(m.extra_json, root.RawObject("extra"));
#undef CSML_META_READ
  return m;
}

std::string TrainingParams::ToJson() const {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Key("objective")
      .String(objective)
      .Key("tree_method")
      .String(tree_method)
      .Key("grow_policy")
      .String(grow_policy)
      .Key("eta")
      .Double(eta)
      .Key("max_leaves")
      .Int(max_leaves)
      .Key("max_depth")
      .Int(max_depth)
      .Key("min_child_weight")
      .Double(min_child_weight)
      .Key("subsample")
      .Double(subsample)
      .Key("colsample_bytree")
      .Double(colsample_bytree)
      .Key("lambda")
      .Double(lambda);
  if (alpha != 0.0) w.Key("alpha").Double(alpha);
  if (scale_pos_weight != 1.0) w.Key("scale_pos_weight").Double(scale_pos_weight);
  if (!monotone_constraints.empty()) {
    w.Key("monotone_constraints").BeginArray();
    for (int c : monotone_constraints) w.Int(c);
    w.EndArray();
  }
  w.Key("max_bin")
      .Int(max_bin)
      .Key("seed")
      .Uint(seed)
      .Key("threads")
      .Int(threads)
      .Key("max_rounds")
      .Int(max_rounds)
      .Key("early_stopping_rounds")
      .Int(early_stopping_rounds)
      .Key("early_stopping_metric")
      .String(early_stopping_metric)
      .Key("validation_fraction")
      .Double(validation_fraction)
      .Key("refit")
      .String(refit)
      .EndObject();
  return out;
}

std::string SearchCandidate::Summary() const {
  std::string out = fmt::format("eta {}, {} leaves", eta, max_leaves);
  if (max_depth > 0) out += fmt::format(", depth {}", max_depth);
  out += fmt::format(", mcw {}, L2 {}, L1 {}, rows {}, cols {}", min_child_weight, lambda, alpha,
                     subsample, colsample_bytree);
  if (scale_pos_weight != 1.0) out += fmt::format(", spw {:.3g}", scale_pos_weight);
  return out;
}

std::string TrainingParams::Summary() const {
  std::string shape = max_leaves > 0 ? fmt::format("{} leaves", max_leaves) : "";
  if (max_depth > 0) shape += fmt::format("{}depth {}", shape.empty() ? "" : ", ", max_depth);
  if (shape.empty()) shape = "unbounded trees";
  std::string extras;
  if (alpha != 0.0) extras += fmt::format(", alpha {}", alpha);
  if (scale_pos_weight != 1.0) extras += fmt::format(", scale_pos_weight {}", scale_pos_weight);
  if (!monotone_constraints.empty()) {
    extras += fmt::format(", monotone ({})", fmt::join(monotone_constraints, ","));
  }
  return fmt::format(
      "eta {}, {}, min_child_weight {}, lambda {}, subsample {}, colsample_bytree {}{}, max_bin "
      "{} ({}, {})",
      eta, shape, min_child_weight, lambda, subsample, colsample_bytree, extras, max_bin,
      tree_method, grow_policy);
}

Result<TrainingParams> TrainingParams::FromJson(std::string_view params_json) {
  const simdjson::padded_string padded(params_json);
  dom::parser parser;
  CSML_ASSIGN_OR_RETURN(const ObjectReader p, ParseObject(parser, padded, "meta.json params"));
  TrainingParams out;
  if (p.Has("objective")) {
    CSML_ASSIGN_OR_RETURN(out.objective, p.String("objective"));
  }
  CSML_ASSIGN_OR_RETURN(out.tree_method, p.OptionalString("tree_method"));
  CSML_ASSIGN_OR_RETURN(out.grow_policy, p.OptionalString("grow_policy"));
  CSML_ASSIGN_OR_RETURN(out.eta, p.OptionalNumber("eta"));
  CSML_ASSIGN_OR_RETURN(out.max_leaves, p.OptionalInt("max_leaves"));
  CSML_ASSIGN_OR_RETURN(out.max_depth, p.OptionalInt("max_depth"));
  CSML_ASSIGN_OR_RETURN(out.min_child_weight, p.OptionalNumber("min_child_weight"));
  CSML_ASSIGN_OR_RETURN(out.subsample, p.OptionalNumber("subsample"));
  CSML_ASSIGN_OR_RETURN(out.colsample_bytree, p.OptionalNumber("colsample_bytree"));
  CSML_ASSIGN_OR_RETURN(out.lambda, p.OptionalNumber("lambda"));
  CSML_ASSIGN_OR_RETURN(out.alpha, p.OptionalNumber("alpha"));
  if (std::isnan(out.alpha)) out.alpha = 0;
  CSML_ASSIGN_OR_RETURN(out.scale_pos_weight, p.OptionalNumber("scale_pos_weight"));
  if (std::isnan(out.scale_pos_weight)) out.scale_pos_weight = 1;
  CSML_ASSIGN_OR_RETURN(const std::vector<double> monotone,
                        ReadNumberArray(p, "monotone_constraints"));
  for (double v : monotone) {
    if (v != -1.0 && v != 0.0 && v != 1.0) {
      return Bad(p.PathOf("monotone_constraints"), "-1, 0 or 1 per column", fmt::format("{}", v));
    }
    out.monotone_constraints.push_back(static_cast<int>(v));
  }
  CSML_ASSIGN_OR_RETURN(out.max_bin, p.OptionalInt("max_bin"));
  if (p.Has("seed")) {
    // A seed is a full 64-bit integer; a double would round it.
    std::uint64_t seed = 0;
    if (p.Required("seed")->get(seed) != simdjson::SUCCESS) {
      return Bad(p.PathOf("seed"), "an integer >= 0", Describe(*p.Required("seed")));
    }
    out.seed = seed;
  }
  CSML_ASSIGN_OR_RETURN(out.threads, p.OptionalInt("threads"));
  CSML_ASSIGN_OR_RETURN(out.max_rounds, p.OptionalInt("max_rounds"));
  CSML_ASSIGN_OR_RETURN(out.early_stopping_rounds, p.OptionalInt("early_stopping_rounds"));
  CSML_ASSIGN_OR_RETURN(out.early_stopping_metric, p.OptionalString("early_stopping_metric"));
  CSML_ASSIGN_OR_RETURN(out.validation_fraction, p.OptionalNumber("validation_fraction"));
  CSML_ASSIGN_OR_RETURN(out.refit, p.OptionalString("refit"));
  // Absent numbers read as NaN above; a params object records them all or none.
  for (double* v : {&out.eta, &out.min_child_weight, &out.subsample, &out.colsample_bytree,
                    &out.lambda, &out.validation_fraction}) {
    if (std::isnan(*v)) *v = 0;
  }
  return out;
}

std::string TrainingSummary::ToJson() const {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  if (!trainer.empty()) w.Key("trainer").String(trainer);
  if (data) {
    w.Key("data")
        .BeginObject()
        .Key("records_seen")
        .Uint(data->records_seen)
        .Key("invalid")
        .Uint(data->invalid)
        .Key("unlabeled")
        .Uint(data->unlabeled)
        .Key("immature")
        .Uint(data->immature)
        .Key("outside_window")
        .Uint(data->outside_window)
        .Key("in_window")
        .Uint(data->in_window)
        .EndObject();
  }
  if (split) {
    w.Key("split")
        .BeginObject()
        .Key("method")
        .String(split->method)
        .Key("validation_fraction")
        .Double(split->validation_fraction)
        .Key("validation_from")
        .String(FormatRfc3339(split->validation_from))
        .Key("validation_to")
        .String(FormatRfc3339(split->validation_to))
        .Key("train_from")
        .String(FormatRfc3339(split->train_from))
        .Key("train_to")
        .String(FormatRfc3339(split->train_to))
        .Key("train_newest_label_ts")
        .String(FormatRfc3339(split->train_newest_label_ts))
        .Key("train_rows")
        .Uint(split->train_rows)
        .Key("embargoed_rows")
        .Uint(split->embargoed_rows)
        .Key("validation_rows")
        .Uint(split->validation_rows)
        .EndObject();
  }
  if (early_stopping) {
    w.Key("early_stopping")
        .BeginObject()
        .Key("metric")
        .String(early_stopping->metric)
        .Key("best_round")
        .Int(early_stopping->best_round)
        .Key("best_value")
        .Double(early_stopping->best_value)
        .Key("rounds_run")
        .Int(early_stopping->rounds_run)
        .Key("patience")
        .Int(early_stopping->patience)
        .Key("max_rounds")
        .Int(early_stopping->max_rounds)
        .EndObject();
  }
  if (final_model) {
    w.Key("final_model")
        .BeginObject()
        .Key("fit_on")
        .String(final_model->fit_on)
        .Key("refit")
        .Bool(final_model->refit)
        .Key("rows")
        .Uint(final_model->rows)
        .Key("rounds")
        .Int(final_model->rounds)
        .Key("validation_metrics_from")
        .String(final_model->validation_metrics_from)
        .EndObject();
  }
  if (tiers) {
    w.Key("tiers").BeginObject().Key("method").String(tiers->method);
    if (std::isfinite(tiers->medium_quantile) && std::isfinite(tiers->high_quantile)) {
      w.Key("medium_quantile")
          .Double(tiers->medium_quantile)
          .Key("high_quantile")
          .Double(tiers->high_quantile);
    }
    w.Key("medium").Double(tiers->medium).Key("high").Double(tiers->high);
    if (tiers->validation) {
      const TierReport& v = *tiers->validation;
      w.Key("validation").BeginObject();
      for (const TierStats& t : v.tiers) {
        w.Key(TierName(t.tier));
        WriteTierStatsJson(w, t);
      }
      w.EndObject();
      w.Key("high_tier")
          .BeginObject()
          .Key("precision")
          .Double(v.high_precision)
          .Key("recall")
          .Double(v.high_recall)
          .Key("lift")
          .Double(v.high_lift)
          .EndObject();
    }
    w.EndObject();
  }
  if (calibration) {
    w.Key("calibration")
        .BeginObject()
        .Key("bins")
        .Int(calibration->bins)
        .Key("error")
        .Double(calibration->error)
        .Key("table");
    WriteCalibrationBinsJson(w, calibration->table);
    if (!calibration->method.empty()) {
      w.Key("method")
          .String(calibration->method)
          .Key("logloss_none")
          .Double(calibration->logloss_none)
          .Key("logloss_platt")
          .Double(calibration->logloss_platt)
          .Key("logloss_isotonic")
          .Double(calibration->logloss_isotonic)
          .Key("error_before")
          .Double(calibration->error_before)
          .Key("table_before");
      WriteCalibrationBinsJson(w, calibration->table_before);
    }
    w.EndObject();
  }
  if (search) {
    w.Key("search");
    WriteSearchJson(w, *search);
  }
  if (!feature_importance_gain.empty()) {
    w.Key("feature_importance_gain").BeginObject();
    for (const auto& [name, gain] : feature_importance_gain) w.Key(name).Double(gain);
    w.EndObject();
  }
  w.EndObject();
  return out;
}

Result<TrainingSummary> TrainingSummary::FromJson(std::string_view extra_json) {
  const simdjson::padded_string padded(extra_json);
  dom::parser parser;
  CSML_ASSIGN_OR_RETURN(const ObjectReader extra, ParseObject(parser, padded, "meta.json extra"));
  TrainingSummary out;
  CSML_ASSIGN_OR_RETURN(out.trainer, extra.OptionalString("trainer"));

  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> data, extra.OptionalObject("data"));
  if (data) {
    // Assigned, not emplace()d: clang-tidy's clang cannot see these nested aggregates'
    // default constructors inside the enclosing struct's header.
    out.data = DataCounts{};
    DataCounts& d = *out.data;
    CSML_ASSIGN_OR_RETURN(d.records_seen, data->OptionalCount("records_seen"));
    CSML_ASSIGN_OR_RETURN(d.invalid, data->OptionalCount("invalid"));
    CSML_ASSIGN_OR_RETURN(d.unlabeled, data->OptionalCount("unlabeled"));
    CSML_ASSIGN_OR_RETURN(d.immature, data->OptionalCount("immature"));
    CSML_ASSIGN_OR_RETURN(d.outside_window, data->OptionalCount("outside_window"));
    CSML_ASSIGN_OR_RETURN(d.in_window, data->OptionalCount("in_window"));
  }
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> split, extra.OptionalObject("split"));
  if (split) {
    out.split = Split{};
    Split& s = *out.split;
    CSML_ASSIGN_OR_RETURN(s.method, split->OptionalString("method"));
    CSML_ASSIGN_OR_RETURN(s.validation_fraction, split->OptionalNumber("validation_fraction"));
    CSML_ASSIGN_OR_RETURN(s.validation_from, split->OptionalTime("validation_from"));
    CSML_ASSIGN_OR_RETURN(s.validation_to, split->OptionalTime("validation_to"));
    CSML_ASSIGN_OR_RETURN(s.train_from, split->OptionalTime("train_from"));
    CSML_ASSIGN_OR_RETURN(s.train_to, split->OptionalTime("train_to"));
    CSML_ASSIGN_OR_RETURN(s.train_newest_label_ts, split->OptionalTime("train_newest_label_ts"));
    CSML_ASSIGN_OR_RETURN(s.train_rows, split->OptionalCount("train_rows"));
    CSML_ASSIGN_OR_RETURN(s.embargoed_rows, split->OptionalCount("embargoed_rows"));
    CSML_ASSIGN_OR_RETURN(s.validation_rows, split->OptionalCount("validation_rows"));
  }
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> es,
                        extra.OptionalObject("early_stopping"));
  if (es) {
    out.early_stopping = EarlyStopping{};
    EarlyStopping& e = *out.early_stopping;
    CSML_ASSIGN_OR_RETURN(e.metric, es->OptionalString("metric"));
    CSML_ASSIGN_OR_RETURN(e.best_round, es->OptionalInt("best_round"));
    CSML_ASSIGN_OR_RETURN(e.best_value, es->OptionalNumber("best_value"));
    CSML_ASSIGN_OR_RETURN(e.rounds_run, es->OptionalInt("rounds_run"));
    CSML_ASSIGN_OR_RETURN(e.patience, es->OptionalInt("patience"));
    CSML_ASSIGN_OR_RETURN(e.max_rounds, es->OptionalInt("max_rounds"));
  }
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> fm, extra.OptionalObject("final_model"));
  if (fm) {
    out.final_model = FinalModel{};
    FinalModel& f = *out.final_model;
    CSML_ASSIGN_OR_RETURN(f.fit_on, fm->OptionalString("fit_on"));
    CSML_ASSIGN_OR_RETURN(f.refit, fm->OptionalBool("refit"));
    CSML_ASSIGN_OR_RETURN(f.rows, fm->OptionalCount("rows"));
    CSML_ASSIGN_OR_RETURN(f.rounds, fm->OptionalInt("rounds"));
    CSML_ASSIGN_OR_RETURN(f.validation_metrics_from, fm->OptionalString("validation_metrics_from"));
  }
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> tiers, extra.OptionalObject("tiers"));
  if (tiers) {
    out.tiers = Tiers{};
    Tiers& t = *out.tiers;
    CSML_ASSIGN_OR_RETURN(t.method, tiers->OptionalString("method"));
    CSML_ASSIGN_OR_RETURN(t.medium_quantile, tiers->OptionalNumber("medium_quantile"));
    CSML_ASSIGN_OR_RETURN(t.high_quantile, tiers->OptionalNumber("high_quantile"));
    CSML_ASSIGN_OR_RETURN(t.medium, tiers->OptionalNumber("medium"));
    CSML_ASSIGN_OR_RETURN(t.high, tiers->OptionalNumber("high"));
    CSML_ASSIGN_OR_RETURN(t.validation, ReadTierReport(*tiers));
  }
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> calibration,
                        extra.OptionalObject("calibration"));
  if (calibration) {
    out.calibration = Calibration{};
    Calibration& c = *out.calibration;
    CSML_ASSIGN_OR_RETURN(c.bins, calibration->OptionalInt("bins"));
    CSML_ASSIGN_OR_RETURN(c.error, calibration->OptionalNumber("error"));
    CSML_ASSIGN_OR_RETURN(c.table, ReadCalibrationTable(*calibration));
    CSML_ASSIGN_OR_RETURN(c.method, calibration->OptionalString("method"));
    CSML_ASSIGN_OR_RETURN(c.logloss_none, calibration->OptionalNumber("logloss_none"));
    CSML_ASSIGN_OR_RETURN(c.logloss_platt, calibration->OptionalNumber("logloss_platt"));
    CSML_ASSIGN_OR_RETURN(c.logloss_isotonic, calibration->OptionalNumber("logloss_isotonic"));
    CSML_ASSIGN_OR_RETURN(c.error_before, calibration->OptionalNumber("error_before"));
    CSML_ASSIGN_OR_RETURN(c.table_before, ReadCalibrationTable(*calibration, "table_before"));
  }
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> search, extra.OptionalObject("search"));
  if (search) {
    CSML_ASSIGN_OR_RETURN(out.search, ReadSearch(*search));
  }
  CSML_ASSIGN_OR_RETURN(const std::optional<ObjectReader> importance,
                        extra.OptionalObject("feature_importance_gain"));
  if (importance) {
    CSML_ASSIGN_OR_RETURN(out.feature_importance_gain, ReadImportance(*importance));
  }
  return out;
}

Status ModelMeta::ValidateDraft() const {
  auto bad = [](std::string_view field, std::string_view expected, std::string_view got) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("ModelMeta.{}: expected {}, got {}", field, expected, got));
  };
  if (ModelFileSuffix(algo).empty()) return bad("algo", "\"xgb\" or \"lgbm\"", algo);
  if (created_at <= 0) return bad("created_at", "a time after 1970", std::to_string(created_at));
  if (features.empty()) return bad("features", "at least one column name", "none");
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < features.size(); ++i) {
    if (features[i].empty()) return bad(fmt::format("features[{}]", i), "a name", "''");
    if (!seen.insert(features[i]).second) {
      return bad(fmt::format("features[{}]", i), "a name not used before",
                 fmt::format("'{}' again", features[i]));
    }
  }
  if (auto s = thresholds.Validate(); !s) return s;
  if (threshold_method.empty()) return bad("threshold_method", "a name", "''");
  if (auto s = CheckJsonObject(params_json, "ModelMeta.params_json"); !s) return s;
  if (auto s = CheckJsonObject(extra_json, "ModelMeta.extra_json"); !s) return s;
  return {};
}

}  // namespace csml
