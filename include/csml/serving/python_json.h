// Reading a request body exactly as the Python service did: CPython's json.loads() on the raw
// bytes, which is what Starlette's Request.json() calls.
//
// Why this exists: clients of the Python service receive `value_error.jsondecode` errors whose
// message, position and echoed document come from CPython's C scanner ("Expecting ','
// delimiter: line 1 column 31 (char 30)"), and they receive 200s for inputs a standards parser
// rejects (NaN, Infinity, lone surrogate escapes). Reproducing both needs CPython's rules:
//   - the bytes are decoded by json.detect_encoding(): UTF-8 (a UTF-8 BOM is dropped), or
//     UTF-16/UTF-32 when the first bytes hold a BOM or NULs; 'surrogatepass', so encoded
//     surrogates are accepted; any other undecodable byte is a UnicodeDecodeError;
//   - positions ("char N") count code points of the decoded text, lines count '\n';
//   - NaN, Infinity and -Infinity are values; numbers are matched as a prefix (CPython's
//     regex), so "01" is the number 0 followed by an unexpected "1";
//   - containers nest at most `max_depth` levels; deeper input is CPython's RecursionError.
//
// The reader is the slow path of request decoding: it builds a flat tape of nodes (no
// per-value allocation) that the request validator walks, and runs only for bodies the
// simdjson fast path declined. Thread-safety: free functions; a PyJsonDocument is an
// immutable value once returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace csml {

enum class PyJsonKind : std::uint8_t {
  kNull,
  kFalse,
  kTrue,
  kInt,
  kFloat,
  kString,
  kArray,
  kObject
};

// One value of the tape. Children of a container follow it directly; `end` skips the subtree.
struct PyJsonNode {
  PyJsonKind kind = PyJsonKind::kNull;
  // Index one past the last node of this value's subtree (the next sibling, if any).
  std::uint32_t end = 0;
  // kArray: number of elements; kObject: number of members (each a kString key node followed
  // by the value's subtree); kString: length in code points, as Python's len() counts it.
  std::uint32_t size = 0;
  // kString: the decoded value as UTF-8 (lone surrogates become U+FFFD); kInt: the literal.
  std::uint32_t text_offset = 0;
  std::uint32_t text_size = 0;
  // kInt, kFloat: the value as Python's float() gives it. For a kInt too large for a double
  // (where Python's float(int) raises OverflowError) this is +-infinity.
  double number = 0.0;
};

// The parsed document. Node 0 is the root value.
class PyJsonDocument {
 public:
  const PyJsonNode& node(std::uint32_t index) const { return nodes_[index]; }
  std::uint32_t num_nodes() const { return static_cast<std::uint32_t>(nodes_.size()); }
  std::string_view text(const PyJsonNode& node) const {
    return std::string_view(text_).substr(node.text_offset, node.text_size);
  }

 private:
  friend class PyJsonScanner;
  std::vector<PyJsonNode> nodes_;
  std::string text_;
};

// Why json.loads() failed.
struct PyJsonError {
  enum class Kind : std::uint8_t {
    kDecodeError,   // json.JSONDecodeError: msg, doc, pos, lineno and colno are set
    kNotDecodable,  // UnicodeDecodeError or RecursionError (FastAPI answers these with 400)
  };
  Kind kind = Kind::kDecodeError;
  std::string msg;  // "Expecting value"; for kNotDecodable a description for logs
  std::string doc;  // the decoded document as UTF-8 (lone surrogates as U+FFFD)
  std::size_t pos = 0;
  std::size_t lineno = 0;
  std::size_t colno = 0;

  // str(JSONDecodeError): "Expecting value: line 1 column 1 (char 0)".
  std::string FullMessage() const;
};

struct PyJsonOptions {
  // Containers nested deeper than this fail as CPython's RecursionError does. CPython's limit
  // is its recursion limit (1000) minus the frames already on the server's stack, so the
  // Python service failed somewhat below 1000; 900 keeps us below that for any stack.
  std::size_t max_depth = 900;
};

// json.loads(bytes) with CPython's default decoder (strict=True).
tl::expected<PyJsonDocument, PyJsonError> PyJsonLoads(std::string_view bytes,
                                                      const PyJsonOptions& options = {});

// Appends repr(value) for a Python float: the shortest round-trip digits, fixed notation with
// at least one fractional digit ("0.7312", "1.0") when the decimal exponent is in [-4, 16),
// otherwise scientific ("1e-05", "1e+16"); "nan", "inf", "-inf".
void AppendPythonFloatRepr(std::string* out, double value);

}  // namespace csml
