#include "csml/serving/python_json.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace csml {
namespace {

// Bodies above this size are refused before decoding so node indexes fit in 32 bits; the HTTP
// layer's body limit is far below it.
constexpr std::size_t kMaxDocumentBytes = std::size_t{1} << 30;

bool IsWhitespace(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char32_t c) { return c >= '0' && c <= '9'; }
bool IsHighSurrogate(char32_t c) { return c >= 0xD800 && c <= 0xDBFF; }
bool IsLowSurrogate(char32_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

int HexValue(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

// Appends a code point as UTF-8; a lone surrogate (which Python keeps in a str but UTF-8
// cannot carry) becomes U+FFFD.
void AppendUtf8(std::string* out, char32_t cp) {
  if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::uint8_t Byte(std::string_view b, std::size_t i) { return static_cast<std::uint8_t>(b[i]); }

// bytes.decode('utf-8', 'surrogatepass'): strict UTF-8 except that encoded surrogates pass.
bool DecodeUtf8(std::string_view b, std::vector<char32_t>* out) {
  std::size_t i = 0;
  while (i < b.size()) {
    const std::uint8_t c0 = Byte(b, i);
    if (c0 < 0x80) {
      out->push_back(c0);
      ++i;
      continue;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (c0 >= 0xC2 && c0 <= 0xDF) {
      len = 2;
      cp = c0 & 0x1Fu;
      min = 0x80;
    } else if ((c0 & 0xF0u) == 0xE0u) {
      len = 3;
      cp = c0 & 0x0Fu;
      min = 0x800;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
      len = 4;
      cp = c0 & 0x07u;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + len > b.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const std::uint8_t ck = Byte(b, i + k);
      if ((ck & 0xC0u) != 0x80u) return false;
      cp = (cp << 6) | (ck & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF) return false;
    out->push_back(cp);
    i += len;
  }
  return true;
}

// bytes.decode('utf-16-xx', 'surrogatepass'): pairs join, lone surrogates pass.
bool DecodeUtf16(std::string_view b, bool big_endian, std::vector<char32_t>* out) {
  if (b.size() % 2 != 0) return false;
  const auto unit = [&](std::size_t i) -> char32_t {
    return big_endian ? static_cast<char32_t>((Byte(b, i) << 8) | Byte(b, i + 1))
                      : static_cast<char32_t>((Byte(b, i + 1) << 8) | Byte(b, i));
  };
  for (std::size_t i = 0; i < b.size(); i += 2) {
    const char32_t u = unit(i);
    if (IsHighSurrogate(u) && i + 2 < b.size()) {
      const char32_t u2 = unit(i + 2);
      if (IsLowSurrogate(u2)) {
        out->push_back(0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00));
        i += 2;
        continue;
      }
    }
    out->push_back(u);
  }
  return true;
}

// bytes.decode('utf-32-xx', 'surrogatepass').
bool DecodeUtf32(std::string_view b, bool big_endian, std::vector<char32_t>* out) {
  if (b.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < b.size(); i += 4) {
    char32_t u = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const std::size_t at = big_endian ? i + k : i + 3 - k;
      u = (u << 8) | Byte(b, at);
    }
    if (u > 0x10FFFF) return false;
    out->push_back(u);
  }
  return true;
}

// json.detect_encoding() followed by bytes.decode(encoding, 'surrogatepass').
bool DecodeBody(std::string_view b, std::vector<char32_t>* out) {
  out->reserve(b.size());
  const auto starts = [&](std::string_view prefix) { return b.substr(0, prefix.size()) == prefix; };
  using namespace std::string_view_literals;
  if (starts("\xFF\xFE\x00\x00"sv)) return DecodeUtf32(b.substr(4), false, out);
  if (starts("\x00\x00\xFE\xFF"sv)) return DecodeUtf32(b.substr(4), true, out);
  if (starts("\xFF\xFE"sv)) return DecodeUtf16(b.substr(2), false, out);
  if (starts("\xFE\xFF"sv)) return DecodeUtf16(b.substr(2), true, out);
  if (starts("\xEF\xBB\xBF"sv)) return DecodeUtf8(b.substr(3), out);
  if (b.size() >= 4) {
    if (Byte(b, 0) == 0) {
      return Byte(b, 1) != 0 ? DecodeUtf16(b, true, out) : DecodeUtf32(b, true, out);
    }
    if (Byte(b, 1) == 0) {
      return (Byte(b, 2) != 0 || Byte(b, 3) != 0) ? DecodeUtf16(b, false, out)
                                                  : DecodeUtf32(b, false, out);
    }
  } else if (b.size() == 2) {
    if (Byte(b, 0) == 0) return DecodeUtf16(b, true, out);
    if (Byte(b, 1) == 0) return DecodeUtf16(b, false, out);
  }
  return DecodeUtf8(b, out);
}

double ParseDecimal(const std::string& ascii) {
  // strtod rounds correctly and, unlike from_chars, returns +-inf on overflow and 0 or a
  // subnormal on underflow, which is what Python's float() gives.
  return std::strtod(ascii.c_str(), nullptr);
}

}  // namespace

// A transcription of CPython's Modules/_json.c scanner (scan_once_unicode and the functions it
// calls), so that every failure has CPython's message and position.
class PyJsonScanner {
 public:
  PyJsonScanner(const std::vector<char32_t>& s, std::size_t max_depth, PyJsonDocument* doc)
      : s_(s), len_(s.size()), max_depth_(max_depth), doc_(doc) {}

  enum class Failure : std::uint8_t { kNone, kDecode, kRecursion };

  // JSONDecoder.decode(): one value, surrounded by whitespace only.
  bool Decode() {
    std::size_t idx = SkipWhitespace(0);
    std::size_t end = 0;
    if (!ScanOnce(idx, &end, 0)) return false;
    end = SkipWhitespace(end);
    if (end != len_) return Fail("Extra data", end);
    return true;
  }

  Failure failure() const { return failure_; }
  const char* message() const { return message_; }
  std::size_t position() const { return position_; }

 private:
  std::size_t SkipWhitespace(std::size_t idx) const {
    while (idx < len_ && IsWhitespace(s_[idx])) ++idx;
    return idx;
  }

  bool Fail(const char* message, std::size_t pos) {
    failure_ = Failure::kDecode;
    message_ = message;
    position_ = pos;
    return false;
  }
  // CPython raises StopIteration(idx) where no value starts; JSONDecoder turns it into this.
  bool StopIteration(std::size_t pos) { return Fail("Expecting value", pos); }

  std::uint32_t PushNode(PyJsonKind kind) {
    doc_->nodes_.push_back(PyJsonNode{});
    PyJsonNode& node = doc_->nodes_.back();
    node.kind = kind;
    node.end = static_cast<std::uint32_t>(doc_->nodes_.size());
    return static_cast<std::uint32_t>(doc_->nodes_.size() - 1);
  }

  void PushNumber(PyJsonKind kind, double value) {
    const std::uint32_t i = PushNode(kind);
    doc_->nodes_[i].number = value;
  }

  bool ScanOnce(std::size_t idx, std::size_t* next, std::size_t depth) {
    if (idx >= len_) return StopIteration(idx);
    const auto matches = [&](std::string_view word) {
      if (idx + word.size() > len_) return false;
      for (std::size_t k = 0; k < word.size(); ++k) {
        if (s_[idx + k] != static_cast<char32_t>(word[k])) return false;
      }
      return true;
    };
    switch (s_[idx]) {
      case '"':
        return ScanString(idx + 1, next);
      case '{':
        if (depth + 1 > max_depth_) return Recursion();
        return ParseObject(idx + 1, next, depth + 1);
      case '[':
        if (depth + 1 > max_depth_) return Recursion();
        return ParseArray(idx + 1, next, depth + 1);
      case 'n':
        if (matches("null")) {
          PushNode(PyJsonKind::kNull);
          *next = idx + 4;
          return true;
        }
        break;
      case 't':
        if (matches("true")) {
          PushNode(PyJsonKind::kTrue);
          *next = idx + 4;
          return true;
        }
        break;
      case 'f':
        if (matches("false")) {
          PushNode(PyJsonKind::kFalse);
          *next = idx + 5;
          return true;
        }
        break;
      case 'N':
        if (matches("NaN")) {
          PushNumber(PyJsonKind::kFloat, std::numeric_limits<double>::quiet_NaN());
          *next = idx + 3;
          return true;
        }
        break;
      case 'I':
        if (matches("Infinity")) {
          PushNumber(PyJsonKind::kFloat, std::numeric_limits<double>::infinity());
          *next = idx + 8;
          return true;
        }
        break;
      case '-':
        if (matches("-Infinity")) {
          PushNumber(PyJsonKind::kFloat, -std::numeric_limits<double>::infinity());
          *next = idx + 9;
          return true;
        }
        break;
      default:
        break;
    }
    return MatchNumber(idx, next);
  }

  bool Recursion() {
    failure_ = Failure::kRecursion;
    message_ = "maximum nesting depth exceeded while decoding a JSON document";
    return false;
  }

  // scanstring_unicode: `end` is the index after the opening quote.
  bool ScanString(std::size_t end, std::size_t* next_end) {
    const std::size_t begin = end - 1;
    std::string& text = doc_->text_;
    const std::size_t text_offset = text.size();
    std::uint32_t length = 0;
    while (true) {
      char32_t c = 0;
      std::size_t next = end;
      for (; next < len_; ++next) {
        c = s_[next];
        if (c == '"' || c == '\\') break;
        if (c <= 0x1F) return Fail("Invalid control character at", next);
      }
      if (!(c == '"' || c == '\\')) return Fail("Unterminated string starting at", begin);
      for (std::size_t k = end; k < next; ++k) AppendUtf8(&text, s_[k]);
      length += static_cast<std::uint32_t>(next - end);
      ++next;
      if (c == '"') {
        end = next;
        break;
      }
      if (next == len_) return Fail("Unterminated string starting at", begin);
      c = s_[next];
      if (c != 'u') {
        end = next + 1;
        switch (c) {
          case '"':
          case '\\':
          case '/':
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          case 'n':
            c = '\n';
            break;
          case 'r':
            c = '\r';
            break;
          case 't':
            c = '\t';
            break;
          default:
            return Fail("Invalid \\escape", end - 2);
        }
      } else {
        c = 0;
        ++next;
        end = next + 4;
        if (end >= len_) return Fail("Invalid \\uXXXX escape", next - 1);
        for (; next < end; ++next) {
          const int digit = HexValue(s_[next]);
          if (digit < 0) return Fail("Invalid \\uXXXX escape", end - 5);
          c = (c << 4) | static_cast<char32_t>(digit);
        }
        // A high surrogate joins a following \uXXXX low surrogate; otherwise it stays alone.
        if (IsHighSurrogate(c) && end + 6 < len_ && s_[next++] == '\\' && s_[next++] == 'u') {
          char32_t c2 = 0;
          end += 6;
          for (; next < end; ++next) {
            const int digit = HexValue(s_[next]);
            if (digit < 0) return Fail("Invalid \\uXXXX escape", end - 5);
            c2 = (c2 << 4) | static_cast<char32_t>(digit);
          }
          if (IsLowSurrogate(c2)) {
            c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
          } else {
            end -= 6;
          }
        }
      }
      AppendUtf8(&text, c);
      ++length;
    }
    const std::uint32_t i = PushNode(PyJsonKind::kString);
    PyJsonNode& node = doc_->nodes_[i];
    node.size = length;
    node.text_offset = static_cast<std::uint32_t>(text_offset);
    node.text_size = static_cast<std::uint32_t>(text.size() - text_offset);
    *next_end = end;
    return true;
  }

  // _parse_object_unicode: `idx` is the index after '{'.
  bool ParseObject(std::size_t idx, std::size_t* next_out, std::size_t depth) {
    const std::uint32_t self = PushNode(PyJsonKind::kObject);
    std::uint32_t members = 0;
    idx = SkipWhitespace(idx);
    if (idx >= len_ || s_[idx] != '}') {
      while (true) {
        if (idx >= len_ || s_[idx] != '"') {
          return Fail("Expecting property name enclosed in double quotes", idx);
        }
        std::size_t next = 0;
        if (!ScanString(idx + 1, &next)) return false;
        idx = SkipWhitespace(next);
        if (idx >= len_ || s_[idx] != ':') return Fail("Expecting ':' delimiter", idx);
        idx = SkipWhitespace(idx + 1);
        if (!ScanOnce(idx, &next, depth)) return false;
        ++members;
        idx = SkipWhitespace(next);
        if (idx < len_ && s_[idx] == '}') break;
        if (idx >= len_ || s_[idx] != ',') return Fail("Expecting ',' delimiter", idx);
        idx = SkipWhitespace(idx + 1);
      }
    }
    *next_out = idx + 1;
    Close(self, members);
    return true;
  }

  // _parse_array_unicode: `idx` is the index after '['.
  bool ParseArray(std::size_t idx, std::size_t* next_out, std::size_t depth) {
    const std::uint32_t self = PushNode(PyJsonKind::kArray);
    std::uint32_t elements = 0;
    idx = SkipWhitespace(idx);
    if (idx >= len_ || s_[idx] != ']') {
      while (true) {
        std::size_t next = 0;
        if (!ScanOnce(idx, &next, depth)) return false;
        ++elements;
        idx = SkipWhitespace(next);
        if (idx < len_ && s_[idx] == ']') break;
        if (idx >= len_ || s_[idx] != ',') return Fail("Expecting ',' delimiter", idx);
        idx = SkipWhitespace(idx + 1);
      }
    }
    *next_out = idx + 1;
    Close(self, elements);
    return true;
  }

  void Close(std::uint32_t self, std::uint32_t size) {
    PyJsonNode& node = doc_->nodes_[self];
    node.size = size;
    node.end = static_cast<std::uint32_t>(doc_->nodes_.size());
  }

  // _match_number_unicode: CPython's number regex applied as a prefix match.
  bool MatchNumber(std::size_t start, std::size_t* next) {
    const std::size_t end_idx = len_ - 1;  // ScanOnce guarantees start < len_
    std::size_t idx = start;
    bool is_float = false;
    if (s_[idx] == '-') {
      ++idx;
      if (idx > end_idx) return StopIteration(start);
    }
    if (s_[idx] >= '1' && s_[idx] <= '9') {
      ++idx;
      while (idx <= end_idx && IsDigit(s_[idx])) ++idx;
    } else if (s_[idx] == '0') {
      ++idx;
    } else {
      return StopIteration(start);
    }
    if (idx < end_idx && s_[idx] == '.' && IsDigit(s_[idx + 1])) {
      is_float = true;
      idx += 2;
      while (idx <= end_idx && IsDigit(s_[idx])) ++idx;
    }
    if (idx < end_idx && (s_[idx] == 'e' || s_[idx] == 'E')) {
      const std::size_t e_start = idx;
      ++idx;
      if (idx < end_idx && (s_[idx] == '-' || s_[idx] == '+')) ++idx;
      while (idx <= end_idx && IsDigit(s_[idx])) ++idx;
      if (IsDigit(s_[idx - 1])) {
        is_float = true;
      } else {
        idx = e_start;
      }
    }
    std::string ascii;
    ascii.reserve(idx - start);
    for (std::size_t k = start; k < idx; ++k) ascii.push_back(static_cast<char>(s_[k]));
    const double value = ParseDecimal(ascii);
    if (is_float) {
      PushNumber(PyJsonKind::kFloat, value);
    } else {
      std::string& text = doc_->text_;
      const std::uint32_t i = PushNode(PyJsonKind::kInt);
      PyJsonNode& node = doc_->nodes_[i];
      node.number = value;
      node.text_offset = static_cast<std::uint32_t>(text.size());
      node.text_size = static_cast<std::uint32_t>(ascii.size());
      text.append(ascii);
    }
    *next = idx;
    return true;
  }

  const std::vector<char32_t>& s_;
  const std::size_t len_;
  const std::size_t max_depth_;
  PyJsonDocument* doc_;
  Failure failure_ = Failure::kNone;
  const char* message_ = "";
  std::size_t position_ = 0;
};

std::string PyJsonError::FullMessage() const {
  if (kind != Kind::kDecodeError) return msg;
  return fmt::format("{}: line {} column {} (char {})", msg, lineno, colno, pos);
}

tl::expected<PyJsonDocument, PyJsonError> PyJsonLoads(std::string_view bytes,
                                                      const PyJsonOptions& options) {
  PyJsonError error;
  if (bytes.size() > kMaxDocumentBytes) {
    error.kind = PyJsonError::Kind::kNotDecodable;
    error.msg = fmt::format("document of {} bytes is above the {} byte limit of the reader",
                            bytes.size(), kMaxDocumentBytes);
    return tl::unexpected(std::move(error));
  }
  std::vector<char32_t> text;
  if (!DecodeBody(bytes, &text)) {
    error.kind = PyJsonError::Kind::kNotDecodable;
    error.msg = "body is not valid UTF-8, UTF-16 or UTF-32 text";
    return tl::unexpected(std::move(error));
  }
  PyJsonDocument doc;
  PyJsonScanner scanner(text, options.max_depth, &doc);
  if (scanner.Decode()) return doc;
  if (scanner.failure() == PyJsonScanner::Failure::kRecursion) {
    error.kind = PyJsonError::Kind::kNotDecodable;
    error.msg = scanner.message();
    return tl::unexpected(std::move(error));
  }
  // JSONDecodeError.__init__: lineno counts '\n' before pos, colno is measured from the last
  // one (or from the start of the document).
  error.kind = PyJsonError::Kind::kDecodeError;
  error.msg = scanner.message();
  error.pos = scanner.position();
  std::size_t newlines = 0;
  std::size_t line_start = 0;
  for (std::size_t k = 0; k < error.pos && k < text.size(); ++k) {
    if (text[k] == '\n') {
      ++newlines;
      line_start = k + 1;
    }
  }
  error.lineno = newlines + 1;
  error.colno = error.pos - line_start + 1;
  error.doc.reserve(bytes.size());
  for (const char32_t cp : text) AppendUtf8(&error.doc, cp);
  return tl::unexpected(std::move(error));
}

void AppendPythonFloatRepr(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("nan");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "inf" : "-inf");
    return;
  }
  // Shortest round-trip digits in scientific form: "-d.ddde+XX".
  std::array<char, 40> buf{};
  const auto res =
      std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
  const std::string_view sci(buf.data(), static_cast<std::size_t>(res.ptr - buf.data()));
  const std::size_t e_at = sci.find('e');
  int exponent = 0;
  std::from_chars(sci.data() + e_at + 1 + (sci[e_at + 1] == '+' ? 1 : 0), sci.data() + sci.size(),
                  exponent);
  std::string_view mantissa = sci.substr(0, e_at);
  const bool negative = !mantissa.empty() && mantissa.front() == '-';
  if (negative) mantissa.remove_prefix(1);
  std::array<char, 32> digit_buf{};
  std::size_t num_digit_chars = 0;
  for (const char c : mantissa) {
    if (c != '.') digit_buf[num_digit_chars++] = c;
  }
  const std::string_view digits(digit_buf.data(), num_digit_chars);
  // Python (format_float_short, repr mode): decpt is where the decimal point goes after the
  // first digits; scientific when decpt <= -4 or decpt > 16.
  const int decpt = exponent + 1;
  if (decpt <= -4 || decpt > 16) {
    out->append(sci);
    return;
  }
  if (negative) out->push_back('-');
  const int num_digits = static_cast<int>(digits.size());
  if (decpt <= 0) {
    out->append("0.");
    out->append(static_cast<std::size_t>(-decpt), '0');
    out->append(digits);
  } else if (decpt >= num_digits) {
    out->append(digits);
    out->append(static_cast<std::size_t>(decpt - num_digits), '0');
    out->append(".0");
  } else {
    out->append(digits.substr(0, static_cast<std::size_t>(decpt)));
    out->push_back('.');
    out->append(digits.substr(static_cast<std::size_t>(decpt)));
  }
}

}  // namespace csml
