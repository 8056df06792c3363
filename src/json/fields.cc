#include "csml/json/fields.h"

#include <fmt/format.h>

namespace csml::json {

JsonPath JsonPath::Key(std::string_view key) const {
  JsonPath out = *this;
  if (!out.path_.empty()) out.path_ += '.';
  out.path_ += key;
  return out;
}

JsonPath JsonPath::Index(std::size_t index) const {
  JsonPath out = *this;
  out.path_ += fmt::format("[{}]", index);
  return out;
}

std::string JsonPath::Text() const { return path_.empty() ? "(top level)" : path_; }

tl::unexpected<Error> JsonPath::WrongType(std::string_view expected, dom::element got) const {
  return MakeError(ErrorCode::kParse, fmt::format("{}: {}: expected {}, got {}", context_, Text(),
                                                  expected, Describe(got)));
}

tl::unexpected<Error> JsonPath::Missing(std::string_view expected) const {
  return MakeError(ErrorCode::kParse,
                   fmt::format("{}: {}: expected {}, got nothing (the key is missing)", context_,
                               Text(), expected));
}

tl::unexpected<Error> JsonPath::Invalid(std::string_view expected, std::string_view got) const {
  return MakeError(ErrorCode::kValidation,
                   fmt::format("{}: {}: expected {}, got {}", context_, Text(), expected, got));
}

std::string Describe(dom::element value, std::size_t max_chars) {
  std::string text = simdjson::minify(value);
  if (text.size() > max_chars && max_chars > 3) text = text.substr(0, max_chars - 3) + "...";
  return text;
}

Result<dom::element> Parse(dom::parser& parser, std::string_view text, std::string_view context) {
  dom::element doc;
  const simdjson::padded_string padded(text);
  if (const auto error = parser.parse(padded).get(doc); error != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kParse,
                     fmt::format("{}: expected JSON, got text that is not valid JSON ({})", context,
                                 simdjson::error_message(error)));
  }
  return doc;
}

Result<dom::object> AsObject(dom::element value, const JsonPath& path) {
  dom::object out;
  if (value.get_object().get(out) != simdjson::SUCCESS) return path.WrongType("an object", value);
  return out;
}

Result<dom::array> AsArray(dom::element value, const JsonPath& path) {
  dom::array out;
  if (value.get_array().get(out) != simdjson::SUCCESS) return path.WrongType("an array", value);
  return out;
}

Result<std::string_view> AsString(dom::element value, const JsonPath& path) {
  std::string_view out;
  if (value.get_string().get(out) != simdjson::SUCCESS) return path.WrongType("a string", value);
  return out;
}

Result<std::int64_t> AsInt64(dom::element value, const JsonPath& path) {
  std::int64_t out = 0;
  if (value.get_int64().get(out) != simdjson::SUCCESS) return path.WrongType("an integer", value);
  return out;
}

Result<double> AsNumber(dom::element value, const JsonPath& path) {
  double out = 0;
  if (value.get_double().get(out) != simdjson::SUCCESS) return path.WrongType("a number", value);
  return out;
}

Result<bool> AsBool(dom::element value, const JsonPath& path) {
  bool out = false;
  if (value.get_bool().get(out) != simdjson::SUCCESS) return path.WrongType("true or false", value);
  return out;
}

std::optional<dom::element> Find(dom::object object, std::string_view key) {
  dom::element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

Result<dom::element> Field(dom::object object, std::string_view key, const JsonPath& path) {
  std::optional<dom::element> value = Find(object, key);
  if (!value) return path.Key(key).Missing("a value");
  return *value;
}

namespace {

template <typename T, typename As>
Result<T> TypedField(dom::object object, std::string_view key, const JsonPath& path,
                     std::string_view kind, As as) {
  std::optional<dom::element> value = Find(object, key);
  if (!value) return path.Key(key).Missing(kind);
  return as(*value, path.Key(key));
}

}  // namespace

Result<dom::object> ObjectField(dom::object object, std::string_view key, const JsonPath& path) {
  return TypedField<dom::object>(object, key, path, "an object", AsObject);
}

Result<dom::array> ArrayField(dom::object object, std::string_view key, const JsonPath& path) {
  return TypedField<dom::array>(object, key, path, "an array", AsArray);
}

Result<std::string_view> StringField(dom::object object, std::string_view key,
                                     const JsonPath& path) {
  return TypedField<std::string_view>(object, key, path, "a string", AsString);
}

Result<std::int64_t> Int64Field(dom::object object, std::string_view key, const JsonPath& path) {
  return TypedField<std::int64_t>(object, key, path, "an integer", AsInt64);
}

Result<double> NumberField(dom::object object, std::string_view key, const JsonPath& path) {
  return TypedField<double>(object, key, path, "a number", AsNumber);
}

Result<bool> BoolField(dom::object object, std::string_view key, const JsonPath& path) {
  return TypedField<bool>(object, key, path, "true or false", AsBool);
}

}  // namespace csml::json
