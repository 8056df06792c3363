// Reading JSON documents with simdjson's DOM: the field look-ups and type checks that every
// domain reader needs (meta.json, snapshots, model files, report inputs), with one wording
// for what went wrong.
//
// Domain-internal: adapters never include it (they get typed values from the domain). A
// module that reads JSON lists csml::json in its DEPS and includes this header; simdjson
// comes with it.
//
// Every error names where it happened as a path from the document's root
// ("learner.gradient_booster.model.trees[3].left_children") and reads
//   "<context>: <path>: expected <what>, got <value as JSON, cut to 40 characters>"
// where the context says which document it is ("XGBoost model", "meta.json"). A value that
// is missing or of the wrong JSON type is ErrorCode::kParse; a value of the right type that
// breaks a rule of the format is ErrorCode::kValidation (JsonPath::Invalid).
//
//   JsonPath root("meta.json");
//   CSML_ASSIGN_OR_RETURN(dom::object top, AsObject(doc, root));
//   CSML_ASSIGN_OR_RETURN(std::string_view version, StringField(top, "version", root));
//   if (version.empty()) return root.Key("version").Invalid("a non-empty string", "\"\"");
//
// Thread-safety: free functions and a value type; the DOM they read must outlive the views
// they return (simdjson's rule).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "csml/core/error.h"

namespace csml::json {

namespace dom = simdjson::dom;

// A place in a document, for error messages.
class JsonPath {
 public:
  // The document's root; context names the document in every message and must outlive the
  // path and its copies (a string literal, typically).
  explicit JsonPath(std::string_view context) : context_(context) {}

  JsonPath Key(std::string_view key) const;
  JsonPath Index(std::size_t index) const;

  // "learner.objective" ("(top level)" at the root).
  std::string Text() const;

  // "<context>: <path>: expected <expected>, got <got>" as kParse (a missing value or one of
  // the wrong type) or kValidation (the right type, a broken rule).
  tl::unexpected<Error> WrongType(std::string_view expected, dom::element got) const;
  tl::unexpected<Error> Missing(std::string_view expected) const;
  tl::unexpected<Error> Invalid(std::string_view expected, std::string_view got) const;

 private:
  std::string_view context_;
  std::string path_;
};

// A value as it is written in the document, minified and cut to max_chars ("..." marks a cut).
std::string Describe(dom::element value, std::size_t max_chars = 40);

// Parses text (copied into simdjson's padded buffer) into parser's DOM: kParse
// "<context>: expected JSON, got text that is not valid JSON (<simdjson's reason>)".
Result<dom::element> Parse(dom::parser& parser, std::string_view text, std::string_view context);

// Type checks of a value already found.
Result<dom::object> AsObject(dom::element value, const JsonPath& path);
Result<dom::array> AsArray(dom::element value, const JsonPath& path);
Result<std::string_view> AsString(dom::element value, const JsonPath& path);
// JSON integers only (1.0 is not one).
Result<std::int64_t> AsInt64(dom::element value, const JsonPath& path);
// Any JSON number.
Result<double> AsNumber(dom::element value, const JsonPath& path);
Result<bool> AsBool(dom::element value, const JsonPath& path);

// Fields of an object: the required forms fail with Missing() when the key is absent; Find()
// is for optional keys.
std::optional<dom::element> Find(dom::object object, std::string_view key);
Result<dom::element> Field(dom::object object, std::string_view key, const JsonPath& path);
Result<dom::object> ObjectField(dom::object object, std::string_view key, const JsonPath& path);
Result<dom::array> ArrayField(dom::object object, std::string_view key, const JsonPath& path);
Result<std::string_view> StringField(dom::object object, std::string_view key,
                                     const JsonPath& path);
Result<std::int64_t> Int64Field(dom::object object, std::string_view key, const JsonPath& path);
Result<double> NumberField(dom::object object, std::string_view key, const JsonPath& path);
Result<bool> BoolField(dom::object object, std::string_view key, const JsonPath& path);

}  // namespace csml::json
