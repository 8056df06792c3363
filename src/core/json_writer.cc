#include "csml/core/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace csml {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Printable ASCII that a JSON string holds unescaped.
constexpr bool IsPlainJsonByte(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t i = 0;
  while (i < value.size()) {
    // A run of printable ASCII other than '"' and '\\' is copied as it is, in one append: keys,
    // ids and versions are nothing else, and a push_back per byte was the most expensive
    // thing the server did per request after the kernel (docs/PERFORMANCE.md).
    std::size_t plain = i;
    while (plain < value.size() && IsPlainJsonByte(static_cast<unsigned char>(value[plain]))) {
      ++plain;
    }
    if (plain > i) {
      out->append(value.data() + i, plain - i);
      i = plain;
      if (i == value.size()) break;
    }
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      const std::size_t len = Utf8SequenceLength(value, i);
      if (len == 0) {
        out->append(kReplacementChar);
        ++i;
      } else {
        out->append(value.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          const std::array<char, 6> esc = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out->append(esc.data(), esc.size());
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

void AppendShortestDouble(std::string* out, double value) {
  std::array<char, 32> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out->append(buf.data(), res.ptr);
}

double RoundTo(double value, int decimals) {
  // Scale, round half away from zero, unscale. For the 4-decimal probabilities the API prints
  // this agrees with Python's round() except on exact binary ties, which a probability produced
  // by a model essentially never is; the result is the double nearest the decimal, so it
  // prints in its short form.
  static constexpr std::array<double, 16> kPow10 = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  if (!std::isfinite(value) || decimals < 0 || decimals > 15) return value;
  const double scale = kPow10[static_cast<std::size_t>(decimals)];
  return std::round(value * scale) / scale;
}

void JsonWriter::Open() {
  if (depth_ < kInlineDepth) {
    inline_has_element_ &= ~(std::uint64_t{1} << depth_);
  } else {
    deep_.push_back(false);
  }
  ++depth_;
}

void JsonWriter::Close() {
  --depth_;
  if (depth_ >= kInlineDepth) deep_.pop_back();
}

bool JsonWriter::MarkElement() {
  const std::size_t top = depth_ - 1;
  if (top < kInlineDepth) {
    const std::uint64_t bit = std::uint64_t{1} << top;
    const bool had = (inline_has_element_ & bit) != 0;
    inline_has_element_ |= bit;
    return had;
  }
  const bool had = deep_.back();
  deep_.back() = true;
  return had;
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_->push_back('{');
  Open();
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_->push_back('}');
  Close();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  out_->push_back('[');
  Open();
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_->push_back(']');
  Close();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  if (depth_ > 0 && MarkElement()) out_->push_back(',');
  AppendJsonString(out_, key);
  out_->push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  if (std::isfinite(value)) {
    AppendShortestDouble(out_, value);
  } else {
    out_->append("null");
  }
  return *this;
}

JsonWriter& JsonWriter::Rounded(double value, int decimals) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_->append("null");
    return *this;
  }
  AppendShortestDouble(out_, RoundTo(value, decimals));
  return *this;
}

JsonWriter& JsonWriter::Int(std::int64_t value) {
  BeforeValue();
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out_->append(buf.data(), res.ptr);
  return *this;
}

JsonWriter& JsonWriter::Uint(std::uint64_t value) {
  BeforeValue();
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out_->append(buf.data(), res.ptr);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_->append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_->append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_->append(json);
  return *this;
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ > 0 && MarkElement()) out_->push_back(',');
}

}  // namespace csml
