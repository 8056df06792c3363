#include "csml/registry/model_meta.h"

#include <cmath>
#include <set>
#include <string>

#include <fmt/format.h>
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
    auto e = Required(key);
    if (!e) return tl::unexpected(e.error());
    std::string_view s;
    if (e->get(s) != simdjson::SUCCESS) return Bad(PathOf(key), "a string", Describe(*e));
    return std::string(s);
  }

  Result<double> Number(std::string_view key, double min, double max) const {
    auto e = Required(key);
    if (!e) return tl::unexpected(e.error());
    double v = 0;
    if (e->get(v) != simdjson::SUCCESS || !std::isfinite(v) || v < min || v > max) {
      return Bad(PathOf(key), fmt::format("a number in [{}, {}]", min, max), Describe(*e));
    }
    return v;
  }

  // A number, or null for "unknown" (NaN).
  Result<double> NumberOrNull(std::string_view key) const {
    auto e = Required(key);
    if (!e) return tl::unexpected(e.error());
    if (e->is_null()) return std::numeric_limits<double>::quiet_NaN();
    double v = 0;
    if (e->get(v) != simdjson::SUCCESS) return Bad(PathOf(key), "a number or null", Describe(*e));
    return v;
  }

  Result<std::int64_t> Count(std::string_view key) const {
    auto e = Required(key);
    if (!e) return tl::unexpected(e.error());
    std::int64_t v = 0;
    if (e->get(v) != simdjson::SUCCESS || v < 0) {
      return Bad(PathOf(key), "an integer >= 0", Describe(*e));
    }
    return v;
  }

  // An RFC 3339 string, or null for "unknown" (0).
  Result<UnixSeconds> Time(std::string_view key) const {
    auto e = Required(key);
    if (!e) return tl::unexpected(e.error());
    if (e->is_null()) return UnixSeconds{0};
    std::string_view s;
    if (e->get(s) != simdjson::SUCCESS) {
      return Bad(PathOf(key), "an RFC 3339 date-time string", Describe(*e));
    }
    auto t = ParseRfc3339(s);
    if (!t)
      return MakeError(ErrorCode::kParse, fmt::format("{}: {}", PathOf(key), t.error().message));
    return *t;
  }

  Result<ObjectReader> Object(std::string_view key) const {
    auto e = Required(key);
    if (!e) return tl::unexpected(e.error());
    dom::object o;
    if (e->get(o) != simdjson::SUCCESS) return Bad(PathOf(key), "an object", Describe(*e));
    return ObjectReader(o, PathOf(key));
  }

  // The value of an object-valued key as compact JSON text.
  Result<std::string> RawObject(std::string_view key) const {
    auto e = Required(key);
    if (!e) return tl::unexpected(e.error());
    if (!e->is_object()) return Bad(PathOf(key), "an object", Describe(*e));
    return simdjson::minify(*e);
  }

  Result<std::map<std::string, double>> Metrics(std::string_view key) const {
    auto o = Object(key);
    if (!o) return tl::unexpected(o.error());
    std::map<std::string, double> out;
    for (auto [name, value] : o->obj_) {
      auto v = o->NumberOrNull(name);
      if (!v) return tl::unexpected(v.error());
      out[std::string(name)] = *v;
    }
    return out;
  }

 private:
  dom::object obj_;
  std::string path_;
};

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

std::string ModelMeta::ToJson() const {
  std::string out;
  TopLevelWriter top(&out);
  JsonWriter(top.Value("meta_format")).Int(kMetaFormatVersion);
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

  if (root.Has("training_window")) {
    auto window = root.Object("training_window");
    if (!window) return tl::unexpected(window.error());
    CSML_META_READ(m.window.from, window->Time("from"));
    CSML_META_READ(m.window.to, window->Time("to"));
    CSML_META_READ(m.window.as_of, window->Time("as_of"));
    std::int64_t days = 0;
    CSML_META_READ(days, window->Count("days"));
    if (days > 100000) return Bad("training_window.days", "at most 100000", std::to_string(days));
    m.window.days = static_cast<int>(days);
  }
  if (root.Has("rows")) {
    auto rows = root.Object("rows");
    if (!rows) return tl::unexpected(rows.error());
    CSML_META_READ(m.rows.train, rows->Count("train"));
    CSML_META_READ(m.rows.validation, rows->Count("validation"));
    CSML_META_READ(m.rows.skipped_unlabeled, rows->Count("skipped_unlabeled"));
    CSML_META_READ(m.rows.skipped_invalid, rows->Count("skipped_invalid"));
    CSML_META_READ(m.rows.outside_window, rows->Count("outside_window"));
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
