#include "csml/serving/score_request.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <simdjson.h>

#include "csml/core/json_writer.h"
#include "csml/serving/python_json.h"

namespace csml {
namespace {

constexpr std::string_view kParseErrorDetail = "There was an error parsing the body";

// ---- errors, as pydantic v1 words them ----------------------------------------------------

ValidationError MakeValidationError(std::vector<ErrorLocPart> loc, std::string msg,
                                    std::string type, std::string ctx_json = {}) {
  return ValidationError{std::move(loc), std::move(msg), std::move(type), std::move(ctx_json)};
}

std::vector<ErrorLocPart> BodyLoc() { return {std::string("body")}; }
std::vector<ErrorLocPart> FieldLoc(std::string_view field) {
  return {std::string("body"), std::string(field)};
}
std::vector<ErrorLocPart> FeatureLoc(std::string_view feature) {
  return {std::string("body"), std::string("features"), std::string(feature)};
}

ValidationError Missing(std::vector<ErrorLocPart> loc) {
  return MakeValidationError(std::move(loc), "field required", "value_error.missing");
}
ValidationError NoneNotAllowed(std::vector<ErrorLocPart> loc) {
  return MakeValidationError(std::move(loc), "none is not an allowed value",
                             "type_error.none.not_allowed");
}
ValidationError NotADict(std::vector<ErrorLocPart> loc) {
  return MakeValidationError(std::move(loc), "value is not a valid dict", "type_error.dict");
}
ValidationError NonStringKeys(std::vector<ErrorLocPart> loc) {
  return MakeValidationError(std::move(loc), "keywords must be strings", "type_error");
}
ValidationError NotAString(std::vector<ErrorLocPart> loc) {
  return MakeValidationError(std::move(loc), "str type expected", "type_error.str");
}
ValidationError NotAFloat(std::vector<ErrorLocPart> loc) {
  return MakeValidationError(std::move(loc), "value is not a valid float", "type_error.float");
}
// pydantic prints the confloat limit as given (ge=0, le=1: ints), so "0", not "0.0".
ValidationError NotGe(std::vector<ErrorLocPart> loc, double limit) {
  return MakeValidationError(
      std::move(loc), fmt::format("ensure this value is greater than or equal to {}", limit),
      "value_error.number.not_ge", fmt::format("{{\"limit_value\":{}}}", limit));
}
ValidationError NotLe(std::vector<ErrorLocPart> loc, double limit) {
  return MakeValidationError(
      std::move(loc), fmt::format("ensure this value is less than or equal to {}", limit),
      "value_error.number.not_le", fmt::format("{{\"limit_value\":{}}}", limit));
}
ValidationError NotFinite(std::vector<ErrorLocPart> loc) {
  return MakeValidationError(std::move(loc), "ensure this value is a finite number",
                             "value_error.number.not_finite_number");
}

ValidationError JsonDecodeError(const PyJsonError& e) {
  std::string ctx;
  ctx.append("{\"msg\":");
  AppendJsonString(&ctx, e.msg);
  ctx.append(",\"doc\":");
  AppendJsonString(&ctx, e.doc);
  ctx.append(fmt::format(",\"pos\":{},\"lineno\":{},\"colno\":{}}}", e.pos, e.lineno, e.colno));
  return MakeValidationError({std::string("body"), static_cast<std::int64_t>(e.pos)},
                             e.FullMessage(), "value_error.jsondecode", std::move(ctx));
}

ScoreRequestError Invalid(std::vector<ValidationError> errors) {
  return ScoreRequestError{ScoreRequestError::Kind::kInvalid, std::move(errors), {}};
}

// ---- the contract's fields ----------------------------------------------------------------

// Index of a features member: 0..7 the numeric features in schema order, kRegionField the
// region, -1 anything else.
constexpr int kRegionField = static_cast<int>(kNumNumericFeatures);

int FeatureFieldIndex(std::string_view key) {
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    if (kNumericFeatureSpecs[i].name == key) return static_cast<int>(i);
  }
  if (key == kRegionFeatureName) return kRegionField;
  return -1;
}

bool InRange(const NumericFeatureSpec& spec, double v) {
  return std::isfinite(v) && v >= spec.min && v <= spec.max;
}

// ---- fast path: simdjson DOM, well-formed requests only ------------------------------------
//
// It accepts a body only when the reference path would accept it with the same result, and
// declines (returns false) on anything else, including valid but unusual input (duplicate
// contract keys, coerced types, values out of range). simdjson accepts a subset of what
// CPython accepts (RFC 8259, UTF-8), so a document it parses reads the same in both.

// Nesting the fast path parses; deeper documents go to the reference path, which decides.
constexpr std::size_t kFastMaxDepth = 64;
constexpr std::size_t kFastInitialCapacity = 4096;

struct FastParser {
  FastParser() : allocated(parser.allocate(kFastInitialCapacity, kFastMaxDepth + 1)) {}
  simdjson::dom::parser parser;
  // Without the depth limit the parser cannot be used; the reference path then decides.
  simdjson::error_code allocated;
  std::vector<char> buffer;  // the body plus simdjson's padding
};

bool FastNumber(simdjson::dom::element value, double* out) {
  switch (value.type()) {
    case simdjson::dom::element_type::INT64:
      *out = static_cast<double>(value.get_int64().value_unsafe());
      return true;
    case simdjson::dom::element_type::UINT64:
      *out = static_cast<double>(value.get_uint64().value_unsafe());
      return true;
    case simdjson::dom::element_type::DOUBLE:
      *out = value.get_double().value_unsafe();
      return true;
    default:
      return false;
  }
}

bool FastFeatures(simdjson::dom::object object, ScoreRequest* out) {
  std::uint32_t seen = 0;
  std::uint32_t unknown = 0;
  RawFeatures features;
  for (const auto field : object) {
    const int index = FeatureFieldIndex(field.key);
    if (index < 0) {
      ++unknown;
      continue;
    }
    const std::uint32_t bit = 1u << static_cast<unsigned>(index);
    if ((seen & bit) != 0) return false;
    seen |= bit;
    if (field.value.is_null()) continue;  // null = missing
    if (index == kRegionField) {
      std::string_view region;
      if (field.value.get_string().get(region) != simdjson::SUCCESS) return false;
      features.region = ParseRegion(region);
      continue;
    }
    double v = 0.0;
    if (!FastNumber(field.value, &v)) return false;
    if (!InRange(kNumericFeatureSpecs[static_cast<std::size_t>(index)], v)) return false;
    features.numeric[static_cast<std::size_t>(index)] = v;
  }
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    if (kNumericFeatureSpecs[i].required && (seen & (1u << i)) == 0) return false;
  }
  if (kRegionRequired && (seen & (1u << static_cast<unsigned>(kRegionField))) == 0) return false;
  out->features = features;
  out->unknown_feature_keys = unknown;
  return true;
}

bool FastRequestObject(simdjson::dom::object top, ScoreRequest* out, bool batch_item = false);

// Parses `body` with this thread's fast parser; false when the fast path declines it.
bool FastParse(std::string_view body, simdjson::dom::element* root) {
  thread_local FastParser fast;
  if (fast.allocated != simdjson::SUCCESS) return false;
  // Python decodes a body that starts with a UTF-8 BOM as utf-8-sig; one with a NUL among the
  // first two bytes as UTF-16 or UTF-32, which the reference path handles.
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  if (body.size() >= 2 && (body[0] == '\0' || body[1] == '\0')) return false;
  const std::size_t needed = body.size() + simdjson::SIMDJSON_PADDING;
  if (fast.buffer.size() < needed) fast.buffer.resize(needed);
  std::memcpy(fast.buffer.data(), body.data(), body.size());
  return fast.parser.parse(fast.buffer.data(), body.size(), false).get(*root) == simdjson::SUCCESS;
}

bool TryFastDecode(std::string_view body, ScoreRequest* out) {
  simdjson::dom::element root;
  if (!FastParse(body, &root)) return false;
  simdjson::dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) return false;
  return FastRequestObject(top, out);
}

// A batch item's `explain` and `top` when they are plainly valid; false declines.
bool FastExplainField(std::string_view key, simdjson::dom::element value, ScoreRequest* out) {
  if (key == "explain") return value.get_bool().get(out->explain) == simdjson::SUCCESS;
  std::string_view all;
  if (value.get_string().get(all) == simdjson::SUCCESS) {
    out->explain_top = std::numeric_limits<std::size_t>::max();
    return all == "all";
  }
  std::int64_t n = 0;
  if (value.type() != simdjson::dom::element_type::INT64 ||
      value.get_int64().get(n) != simdjson::SUCCESS || n < 1) {
    return false;
  }
  out->explain_top = static_cast<std::size_t>(n);
  return true;
}

// One request object (a whole /score body, or an item of a batch, which may also carry
// explain and top).
bool FastRequestObject(simdjson::dom::object top, ScoreRequest* out, bool batch_item) {
  bool have_user = false;
  bool have_features = false;
  bool have_explain = false;
  bool have_top = false;
  for (const auto field : top) {
    if (batch_item && (field.key == "explain" || field.key == "top")) {
      bool& seen = field.key == "explain" ? have_explain : have_top;
      if (seen || !FastExplainField(field.key, field.value, out)) return false;
      seen = true;
      continue;
    }
    if (field.key == "userId") {
      std::string_view user_id;
      if (have_user || field.value.get_string().get(user_id) != simdjson::SUCCESS) return false;
      out->user_id.assign(user_id);
      have_user = true;
    } else if (field.key == "features") {
      simdjson::dom::object features;
      if (have_features || field.value.get_object().get(features) != simdjson::SUCCESS) {
        return false;
      }
      if (!FastFeatures(features, out)) return false;
      have_features = true;
    }
  }
  return have_user && have_features;
}

// ---- reference path: pydantic v1 over a CPython-parsed document ----------------------------

// A Python value as pydantic sees it: a node of the document, or a str that dict() made from
// a pair (a key of a two-key object, or the second character of a two-character string).
struct PyValue {
  const PyJsonDocument* doc = nullptr;
  std::uint32_t index = 0;
  std::optional<std::string_view> made_str;

  PyJsonKind kind() const { return made_str ? PyJsonKind::kString : doc->node(index).kind; }
  const PyJsonNode& node() const { return doc->node(index); }
  std::string_view str() const { return made_str ? *made_str : doc->text(node()); }
};

struct DictEntry {
  std::string_view key;
  PyValue value;
};

std::size_t Utf8LeadLength(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b < 0x80) return 1;
  if ((b & 0xE0u) == 0xC0u) return 2;
  if ((b & 0xF0u) == 0xE0u) return 3;
  return 4;
}

// What dict() and the model's constructor made of a value.
enum class DictOutcome : std::uint8_t {
  kDict,           // entries hold the dict's items
  kNotADict,       // dict(value) raised: DictError, "value is not a valid dict"
  kNonStringKeys,  // dict() worked but Model(**d) raised "keywords must be strings"
};

bool IsHashableScalar(PyJsonKind kind) {
  return kind != PyJsonKind::kArray && kind != PyJsonKind::kObject;
}

// One element of dict(iterable): an iterable of exactly two items, the first a hashable key.
// Returns false when dict() would raise; *string_key says whether the key is a str.
bool PairFromElement(const PyJsonDocument& doc, std::uint32_t e, DictEntry* out, bool* string_key) {
  const PyJsonNode& node = doc.node(e);
  *string_key = true;
  switch (node.kind) {
    case PyJsonKind::kArray: {
      if (node.size != 2) return false;
      const std::uint32_t first = e + 1;
      const std::uint32_t second = doc.node(first).end;
      const PyJsonKind key_kind = doc.node(first).kind;
      if (!IsHashableScalar(key_kind)) return false;  // unhashable list or dict key
      *string_key = key_kind == PyJsonKind::kString;
      const std::string_view key = *string_key ? doc.text(doc.node(first)) : std::string_view();
      *out = DictEntry{key, PyValue{&doc, second, std::nullopt}};
      return true;
    }
    case PyJsonKind::kString: {
      if (node.size != 2) return false;
      const std::string_view text = doc.text(node);
      const std::size_t split = Utf8LeadLength(text.front());
      *out = DictEntry{text.substr(0, split), PyValue{&doc, e, text.substr(split)}};
      return true;
    }
    case PyJsonKind::kObject: {
      // Iterating a dict yields its distinct keys in first-insertion order.
      std::optional<std::string_view> k0;
      std::optional<std::string_view> k1;
      std::uint32_t key = e + 1;
      for (std::uint32_t m = 0; m < node.size; ++m) {
        const std::string_view k = doc.text(doc.node(key));
        if (!k0) {
          k0 = k;
        } else if (k != *k0) {
          if (!k1) {
            k1 = k;
          } else if (k != *k1) {
            return false;  // three distinct keys
          }
        }
        key = doc.node(key + 1).end;
      }
      if (!k0 || !k1) return false;
      *out = DictEntry{*k0, PyValue{&doc, e, *k1}};
      return true;
    }
    default:
      return false;  // numbers, bools and None are not iterable
  }
}

// pydantic's Model.validate: a dict as is, otherwise dict(value), then Model(**d).
DictOutcome ToPyDict(const PyValue& value, std::vector<DictEntry>* entries) {
  entries->clear();
  if (value.kind() == PyJsonKind::kString) {  // dict("") == {}; longer strings fail
    return value.str().empty() ? DictOutcome::kDict : DictOutcome::kNotADict;
  }
  const PyJsonDocument& doc = *value.doc;
  const PyJsonNode& node = value.node();
  if (node.kind == PyJsonKind::kObject) {
    std::uint32_t key = value.index + 1;
    for (std::uint32_t m = 0; m < node.size; ++m) {
      entries->push_back(DictEntry{doc.text(doc.node(key)), PyValue{&doc, key + 1, std::nullopt}});
      key = doc.node(key + 1).end;
    }
    return DictOutcome::kDict;
  }
  if (node.kind != PyJsonKind::kArray) return DictOutcome::kNotADict;
  bool all_string_keys = true;
  std::uint32_t element = value.index + 1;
  for (std::uint32_t i = 0; i < node.size; ++i) {
    DictEntry entry;
    bool string_key = true;
    if (!PairFromElement(doc, element, &entry, &string_key)) return DictOutcome::kNotADict;
    if (string_key) {
      entries->push_back(entry);
    } else {
      all_string_keys = false;
    }
    element = doc.node(element).end;
  }
  return all_string_keys ? DictOutcome::kDict : DictOutcome::kNonStringKeys;
}

// A later duplicate replaces an earlier one, as in a Python dict.
const PyValue* Find(const std::vector<DictEntry>& entries, std::string_view key) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

// pydantic's str_validator: str as is; int, float (bool is an int) through str().
// False for None, list and dict (the caller words the error).
bool CoerceToStr(const PyValue& value, std::string* out) {
  switch (value.kind()) {
    case PyJsonKind::kString:
      out->assign(value.str());
      return true;
    case PyJsonKind::kInt: {
      const std::string_view literal = value.doc->text(value.node());
      out->assign(literal == "-0" ? std::string_view("0") : literal);
      return true;
    }
    case PyJsonKind::kFloat:
      out->clear();
      AppendPythonFloatRepr(out, value.node().number);
      return true;
    case PyJsonKind::kTrue:
      out->assign("True");
      return true;
    case PyJsonKind::kFalse:
      out->assign("False");
      return true;
    default:
      return false;
  }
}

void ValidateNumericFeature(std::size_t index, const PyValue* value, RawFeatures* features,
                            std::vector<ValidationError>* errors) {
  const NumericFeatureSpec& spec = kNumericFeatureSpecs[index];
  if (value == nullptr) {
    if (spec.required) errors->push_back(Missing(FeatureLoc(spec.name)));
    return;
  }
  double v = 0.0;
  switch (value->kind()) {
    case PyJsonKind::kNull:
      return;  // Optional: None is missing
    case PyJsonKind::kInt:
      v = value->node().number;
      if (!std::isfinite(v)) {
        errors->push_back(NotAFloat(FeatureLoc(spec.name)));
        return;
      }
      break;
    case PyJsonKind::kFloat:
      v = value->node().number;
      break;
    default:
      errors->push_back(NotAFloat(FeatureLoc(spec.name)));
      return;
  }
  // confloat's validators in pydantic's order: size (ge, then le), then finiteness.
  if (!(v >= spec.min)) {
    errors->push_back(NotGe(FeatureLoc(spec.name), spec.min));
  } else if (spec.max != kUnbounded && !(v <= spec.max)) {
    errors->push_back(NotLe(FeatureLoc(spec.name), spec.max));
  } else if (!std::isfinite(v)) {
    errors->push_back(NotFinite(FeatureLoc(spec.name)));
  } else {
    features->numeric[index] = v;
  }
}

void ValidateRegion(const PyValue* value, RawFeatures* features,
                    std::vector<ValidationError>* errors) {
  if (value == nullptr) {
    if (kRegionRequired) errors->push_back(Missing(FeatureLoc(kRegionFeatureName)));
    return;
  }
  if (value->kind() == PyJsonKind::kNull) return;  // Optional: None is missing
  // Stricter than pydantic's str (docs/API.md): a number or bool is not coerced.
  if (value->kind() != PyJsonKind::kString) {
    errors->push_back(NotAString(FeatureLoc(kRegionFeatureName)));
    return;
  }
  features->region = ParseRegion(value->str());
}

void ValidateFeatures(const std::vector<DictEntry>& entries, ScoreRequest* request,
                      std::vector<ValidationError>* errors) {
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    ValidateNumericFeature(i, Find(entries, kNumericFeatureSpecs[i].name), &request->features,
                           errors);
  }
  ValidateRegion(Find(entries, kRegionFeatureName), &request->features, errors);
  std::uint32_t unknown = 0;
  for (const DictEntry& entry : entries) {
    if (FeatureFieldIndex(entry.key) < 0) ++unknown;
  }
  request->unknown_feature_keys = unknown;
}

ScoreRequestResult ValidateRequestValue(const PyValue& body, bool batch_item = false);

// FastAPI's request_body_to_args for a single body model: None is a missing body, anything
// else goes through the model's validator.
ScoreRequestResult ValidateBody(const PyJsonDocument& doc) {
  const PyValue body{&doc, 0, std::nullopt};
  if (body.kind() == PyJsonKind::kNull) return tl::unexpected(Invalid({Missing(BodyLoc())}));
  return ValidateRequestValue(body);
}

// A batch item's `explain` and `top` (score_request.h), after the features.
void ValidateExplainFields(const std::vector<DictEntry>& top, ScoreRequest* request,
                           std::vector<ValidationError>* errors) {
  if (const PyValue* explain = Find(top, "explain"); explain != nullptr) {
    if (explain->kind() == PyJsonKind::kNull) {
      errors->push_back(NoneNotAllowed(FieldLoc("explain")));
    } else if (explain->kind() == PyJsonKind::kTrue || explain->kind() == PyJsonKind::kFalse) {
      request->explain = explain->kind() == PyJsonKind::kTrue;
    } else {
      errors->push_back(MakeValidationError(
          FieldLoc("explain"), "value could not be parsed to a boolean", "type_error.bool"));
    }
  }
  const PyValue* top_n = Find(top, "top");
  if (top_n == nullptr) return;
  if (top_n->kind() == PyJsonKind::kNull) {
    errors->push_back(NoneNotAllowed(FieldLoc("top")));
  } else if (top_n->kind() == PyJsonKind::kString && top_n->str() == "all") {
    request->explain_top = std::numeric_limits<std::size_t>::max();
  } else if (top_n->kind() == PyJsonKind::kInt && std::isfinite(top_n->node().number)) {
    const double n = top_n->node().number;
    if (n < 1) {
      errors->push_back(MakeValidationError(FieldLoc("top"),
                                            "ensure this value is greater than or equal to 1",
                                            "value_error.number.not_ge", R"({"limit_value":1})"));
    } else {
      request->explain_top =
          n >= 1e18 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(n);
    }
  } else {
    errors->push_back(
        MakeValidationError(FieldLoc("top"), "value is not a valid integer", "type_error.integer"));
  }
}

// The request model's validator on one value (not None): dict coercion, then the fields.
ScoreRequestResult ValidateRequestValue(const PyValue& body, bool batch_item) {
  std::vector<DictEntry> top;
  switch (ToPyDict(body, &top)) {
    case DictOutcome::kDict:
      break;
    case DictOutcome::kNotADict:
      return tl::unexpected(Invalid({NotADict(BodyLoc())}));
    case DictOutcome::kNonStringKeys:
      return tl::unexpected(Invalid({NonStringKeys(BodyLoc())}));
  }

  ScoreRequest request;
  std::vector<ValidationError> errors;
  if (const PyValue* user_id = Find(top, "userId"); user_id == nullptr) {
    errors.push_back(Missing(FieldLoc("userId")));
  } else if (user_id->kind() == PyJsonKind::kNull) {
    errors.push_back(NoneNotAllowed(FieldLoc("userId")));
  } else if (!CoerceToStr(*user_id, &request.user_id)) {
    errors.push_back(NotAString(FieldLoc("userId")));
  }

  if (const PyValue* features = Find(top, "features"); features == nullptr) {
    errors.push_back(Missing(FieldLoc("features")));
  } else if (features->kind() == PyJsonKind::kNull) {
    errors.push_back(NoneNotAllowed(FieldLoc("features")));
  } else {
    std::vector<DictEntry> entries;
    switch (ToPyDict(*features, &entries)) {
      case DictOutcome::kDict:
        ValidateFeatures(entries, &request, &errors);
        break;
      case DictOutcome::kNotADict:
        errors.push_back(NotADict(FieldLoc("features")));
        break;
      case DictOutcome::kNonStringKeys:
        errors.push_back(NonStringKeys(FieldLoc("features")));
        break;
    }
  }
  if (batch_item) ValidateExplainFields(top, &request, &errors);
  if (!errors.empty()) return tl::unexpected(Invalid(std::move(errors)));
  return request;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view TrimAsciiWhitespace(std::string_view s) {
  constexpr std::string_view kWhitespace = " \t\r\n\f\v";
  const std::size_t first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  const std::size_t last = s.find_last_not_of(kWhitespace);
  return s.substr(first, last - first + 1);
}

}  // namespace

BodyFormat BodyFormatFromContentType(std::string_view content_type) {
  if (content_type.empty()) return BodyFormat::kJson;
  // email.message.Message.get_content_type(): the part before ';', stripped and lowered; a
  // value without exactly one '/' counts as text/plain.
  std::string media;
  for (const char c : TrimAsciiWhitespace(content_type.substr(0, content_type.find(';')))) {
    media.push_back(AsciiLower(c));
  }
  const std::size_t slash = media.find('/');
  if (slash == std::string::npos || media.find('/', slash + 1) != std::string::npos) {
    return BodyFormat::kNotJson;
  }
  const std::string_view main_type = std::string_view(media).substr(0, slash);
  const std::string_view sub_type = std::string_view(media).substr(slash + 1);
  constexpr std::string_view kJsonSuffix = "+json";
  const bool json_subtype =
      sub_type == "json" || (sub_type.size() >= kJsonSuffix.size() &&
                             sub_type.substr(sub_type.size() - kJsonSuffix.size()) == kJsonSuffix);
  return main_type == "application" && json_subtype ? BodyFormat::kJson : BodyFormat::kNotJson;
}

ScoreRequestResult DecodeScoreRequest(std::string_view body, BodyFormat format) {
  if (format == BodyFormat::kJson && !body.empty()) {
    ScoreRequest request;
    if (TryFastDecode(body, &request)) return request;
  }
  return DecodeScoreRequestReference(body, format);
}

ScoreRequestResult DecodeScoreRequestReference(std::string_view body, BodyFormat format) {
  // FastAPI reads an empty body as None whatever its type; a non-JSON body stays bytes, which
  // dict() cannot convert.
  if (body.empty()) return tl::unexpected(Invalid({Missing(BodyLoc())}));
  if (format == BodyFormat::kNotJson) return tl::unexpected(Invalid({NotADict(BodyLoc())}));
  auto doc = PyJsonLoads(body);
  if (!doc) {
    const PyJsonError& e = doc.error();
    if (e.kind == PyJsonError::Kind::kNotDecodable) {
      return tl::unexpected(ScoreRequestError{ScoreRequestError::Kind::kUnparseable, {}, e.msg});
    }
    return tl::unexpected(Invalid({JsonDecodeError(e)}));
  }
  return ValidateBody(*doc);
}

void WriteScoreRequestErrorDetail(JsonWriter& json, const ScoreRequestError& error) {
  json.Key("detail");
  if (error.kind == ScoreRequestError::Kind::kUnparseable) {
    json.String(kParseErrorDetail);
    return;
  }
  json.BeginArray();
  for (const ValidationError& e : error.errors) {
    json.BeginObject();
    json.Key("loc").BeginArray();
    for (const ErrorLocPart& part : e.loc) {
      if (const auto* name = std::get_if<std::string>(&part)) {
        json.String(*name);
      } else {
        json.Int(std::get<std::int64_t>(part));
      }
    }
    json.EndArray();
    json.Key("msg").String(e.msg);
    json.Key("type").String(e.type);
    if (!e.ctx_json.empty()) json.Key("ctx").Raw(e.ctx_json);
    json.EndObject();
  }
  json.EndArray();
}

void AppendScoreRequestErrorJson(std::string* out, const ScoreRequestError& error) {
  JsonWriter json(out);
  json.BeginObject();
  WriteScoreRequestErrorDetail(json, error);
  json.EndObject();
}

// ---- POST /score/batch ----------------------------------------------------------------------

namespace {

std::vector<ErrorLocPart> ItemsLoc() { return {std::string("body"), std::string("items")}; }

ValidationError NotAList(std::vector<ErrorLocPart> loc) {
  return MakeValidationError(std::move(loc), "value is not a valid list", "type_error.list");
}

ValidationError TooManyItems(std::size_t max_items) {
  return MakeValidationError(
      ItemsLoc(), fmt::format("ensure this value has at most {} items", max_items),
      "value_error.list.max_items", fmt::format("{{\"limit_value\":{}}}", max_items));
}

// Moves an item's error locations from ["body", ...] to ["body", "items", index, ...], where
// pydantic puts the errors of one element of a list field.
ScoreRequestResult AsBatchItem(ScoreRequestResult item, std::size_t index) {
  if (item) return item;
  for (ValidationError& e : item.error().errors) {
    std::vector<ErrorLocPart> loc = {std::string("body"), std::string("items"),
                                     static_cast<std::int64_t>(index)};
    if (!e.loc.empty()) loc.insert(loc.end(), e.loc.begin() + 1, e.loc.end());
    e.loc = std::move(loc);
  }
  return item;
}

// The fast path of a batch: taken only when the outer document parses with simdjson, `items`
// appears once, and every item takes the single-request fast path; the reference path
// decides everything else (so a batch reads exactly as its items would one by one).
enum class FastBatch : std::uint8_t { kDecoded, kTooMany, kDeclined };

FastBatch TryFastDecodeBatch(std::string_view body, std::size_t max_items, BatchScoreRequest* out) {
  simdjson::dom::element root;
  if (!FastParse(body, &root)) return FastBatch::kDeclined;
  simdjson::dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) return FastBatch::kDeclined;
  simdjson::dom::array items;
  bool have_items = false;
  for (const auto field : top) {
    if (field.key != "items") continue;
    if (have_items || field.value.get_array().get(items) != simdjson::SUCCESS) {
      return FastBatch::kDeclined;
    }
    have_items = true;
  }
  if (!have_items) return FastBatch::kDeclined;
  if (items.size() > max_items) return FastBatch::kTooMany;
  out->items.clear();
  out->items.reserve(items.size());
  for (const simdjson::dom::element item : items) {
    simdjson::dom::object object;
    if (item.get_object().get(object) != simdjson::SUCCESS) return FastBatch::kDeclined;
    ScoreRequest request;
    if (!FastRequestObject(object, &request, /*batch_item=*/true)) return FastBatch::kDeclined;
    out->items.emplace_back(std::move(request));
  }
  return FastBatch::kDecoded;
}

BatchScoreRequestResult DecodeBatchReference(std::string_view body, BodyFormat format,
                                             std::size_t max_items) {
  if (body.empty()) return tl::unexpected(Invalid({Missing(BodyLoc())}));
  if (format == BodyFormat::kNotJson) return tl::unexpected(Invalid({NotADict(BodyLoc())}));
  auto doc = PyJsonLoads(body);
  if (!doc) {
    const PyJsonError& e = doc.error();
    if (e.kind == PyJsonError::Kind::kNotDecodable) {
      return tl::unexpected(ScoreRequestError{ScoreRequestError::Kind::kUnparseable, {}, e.msg});
    }
    return tl::unexpected(Invalid({JsonDecodeError(e)}));
  }
  const PyValue root{&*doc, 0, std::nullopt};
  if (root.kind() == PyJsonKind::kNull) return tl::unexpected(Invalid({Missing(BodyLoc())}));
  std::vector<DictEntry> top;
  switch (ToPyDict(root, &top)) {
    case DictOutcome::kDict:
      break;
    case DictOutcome::kNotADict:
      return tl::unexpected(Invalid({NotADict(BodyLoc())}));
    case DictOutcome::kNonStringKeys:
      return tl::unexpected(Invalid({NonStringKeys(BodyLoc())}));
  }
  const PyValue* items = Find(top, "items");
  if (items == nullptr) return tl::unexpected(Invalid({Missing(ItemsLoc())}));
  if (items->kind() == PyJsonKind::kNull) {
    return tl::unexpected(Invalid({NoneNotAllowed(ItemsLoc())}));
  }
  if (items->kind() != PyJsonKind::kArray) return tl::unexpected(Invalid({NotAList(ItemsLoc())}));
  const std::uint32_t count = items->node().size;
  if (count > max_items) return tl::unexpected(Invalid({TooManyItems(max_items)}));

  BatchScoreRequest batch;
  batch.items.reserve(count);
  std::uint32_t element = items->index + 1;
  for (std::uint32_t i = 0; i < count; ++i) {
    const PyValue item{&*doc, element, std::nullopt};
    if (item.kind() == PyJsonKind::kNull) {
      batch.items.emplace_back(tl::unexpected(Invalid({NoneNotAllowed(
          {std::string("body"), std::string("items"), static_cast<std::int64_t>(i)})})));
    } else {
      batch.items.push_back(AsBatchItem(ValidateRequestValue(item, /*batch_item=*/true), i));
    }
    element = doc->node(element).end;
  }
  return batch;
}

}  // namespace

BatchScoreRequestResult DecodeBatchScoreRequest(std::string_view body, BodyFormat format,
                                                std::size_t max_items) {
  if (format == BodyFormat::kJson && !body.empty()) {
    BatchScoreRequest batch;
    switch (TryFastDecodeBatch(body, max_items, &batch)) {
      case FastBatch::kDecoded:
        return batch;
      case FastBatch::kTooMany:
        return tl::unexpected(Invalid({TooManyItems(max_items)}));
      case FastBatch::kDeclined:
        break;
    }
  }
  return DecodeBatchReference(body, format, max_items);
}

}  // namespace csml
