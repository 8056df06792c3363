// A small, fast JSON text writer that appends to a std::string.
//
// It writes exactly what it is told, in that order (callers rely on key order), escapes
// strings per RFC 8259 (replacing invalid UTF-8 with U+FFFD so output is always valid JSON),
// and formats doubles in the shortest form that reads back to the same value. It does not
// check structure: Key() outside an object is the caller's bug. Not thread-safe; one writer
// per output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace csml {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  // Non-finite doubles have no JSON form and are written as null.
  JsonWriter& Double(double value);
  // Writes value rounded half away from zero to `decimals` places, without trailing zeros
  // (0.7312, 0.7, 1); this is how the API prints risk.
  JsonWriter& Rounded(double value, int decimals);
  JsonWriter& Int(std::int64_t value);
  JsonWriter& Uint(std::uint64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Appends already-serialized JSON as one value (trusted input).
  JsonWriter& Raw(std::string_view json);

 private:
  void BeforeValue();
  void Open();
  void Close();
  // Marks the innermost open container as holding an element; true if it already held one.
  bool MarkElement();

  static constexpr std::size_t kInlineDepth = 64;

  std::string* out_;
  // Whether each open container already holds an element: bit d for depth d < kInlineDepth,
  // `deep_` beyond, so the usual shallow documents never allocate.
  std::uint64_t inline_has_element_ = 0;
  std::size_t depth_ = 0;
  std::vector<bool> deep_;
  bool after_key_ = false;
};

// Appends `value` as a quoted, escaped JSON string.
void AppendJsonString(std::string* out, std::string_view value);

// Appends the shortest decimal text that parses back to `value` (finite values only).
void AppendShortestDouble(std::string* out, double value);

// Rounds half away from zero to `decimals` places (0 <= decimals <= 15), as Python's
// round() does for the values the API prints; see the .cc for the exact rule.
double RoundTo(double value, int decimals);

}  // namespace csml
