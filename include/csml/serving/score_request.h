// Decoding a `POST /score` body into a ScoreRequest, with the Python service's answers for
// every body it rejected (docs/FEATURES.md and docs/API.md).
//
// The Python service was FastAPI 0.92 on pydantic 1.10; its clients parse the 422 bodies, so
// a rejection is a list of pydantic v1 errors ({loc, msg, type, ctx?}) in pydantic's order:
// userId before features, features in schema order (docs/FEATURES.md: activity_7d ... usage_score,
// then region). What each kind of input gets:
//   - body empty, or JSON null                      -> loc [body], field required
//   - Content-Type not JSON (text/plain, ...)        -> loc [body], value is not a valid dict
//   - malformed JSON                                 -> loc [body, <char>], value_error.jsondecode,
//     message and ctx {msg, doc, pos, lineno, colno} exactly as CPython's json module
//   - body not decodable text (invalid UTF-8), or containers nested deeper than 900 levels
//     (CPython's RecursionError)                     -> kUnparseable: FastAPI's 400
//     {"detail":"There was an error parsing the body"}
//   - body or features not an object: pydantic's dict() coercion applies, so `[]` (like `""`)
//     is an empty dict and every required field is missing; an array of [key, value] pairs
//     is a dict (a key that is not a string is pydantic's `keywords must be strings`,
//     type_error); anything else is `value is not a valid dict` (type_error.dict).
//   - userId: string; a JSON number or bool is coerced to Python's str() of it ("123",
//     "1.5", "True"), as pydantic's str does; null -> none is not an allowed value; array or
//     object -> str type expected.
//   - features null -> none is not an allowed value.
//   - a numeric feature must be a JSON number (csml refuses pydantic's coercion,
//     docs/API.md: a string such as "2" or a bool is `value is not a valid float`); null means
//     missing (NaN); absent is field required except for tickets_30d. Range checks run before the
//     finiteness check, as in pydantic's confloat(ge=0[, le=1], allow_inf_nan=False): so NaN
//     and -Infinity fail `ge` (not_ge), +Infinity and 1e400 fail `le` on usage_score and
//     not_finite_number elsewhere. An integer literal beyond the double range (Python raised
//     OverflowError, a 500) is `value is not a valid float`.
//   - region: a JSON string (stricter than pydantic's str, which coerced a number or bool by
//     str()): a number, bool, array or object -> str type expected (type_error.str); null
//     means missing. A known code in any ASCII letter case is that code ("in" is IN).
//     Unknown regions encode as all-zero one-hot, so they are accepted.
//   - duplicate keys: the last one wins (Python's dict). Unknown keys are ignored; those
//     inside features are counted (every occurrence) for metrics.
//
// Thread-safety: DecodeScoreRequest may be called from many threads at once; each thread keeps
// its own parser buffers (allocated on first use, grown to the largest body seen).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include "csml/core/json_writer.h"
#include "csml/features/schema.h"

namespace csml {

struct ScoreRequest {
  std::string user_id;
  RawFeatures features;
  std::uint32_t unknown_feature_keys = 0;  // members of `features` that are not contract fields
  // Batch items only (a /score body's `explain` key is an unknown key, ignored: /score reads
  // its query). `"explain": true` adds drivers, baseline and margin to the item's result;
  // `"top"` is how many drivers (SIZE_MAX for "all"); read even when explain is false.
  bool explain = false;
  std::size_t explain_top = 4;
};

// How the body is to be read, from the request's Content-Type (see BodyFormatFromContentType).
enum class BodyFormat : std::uint8_t {
  kJson,     // parse the bytes as JSON
  kNotJson,  // the bytes are an opaque value (FastAPI validated them as bytes)
};

// FastAPI's rule: JSON when the header is absent or empty, or when its media type (before any
// ';', trimmed, case-insensitive) is application/json or application/<anything>+json.
BodyFormat BodyFormatFromContentType(std::string_view content_type);

// One element of an error location: a field name or a character offset.
using ErrorLocPart = std::variant<std::string, std::int64_t>;

// One pydantic v1 error.
struct ValidationError {
  std::vector<ErrorLocPart> loc;
  std::string msg;
  std::string type;
  std::string ctx_json;  // a serialized JSON object, or empty when the error has no ctx

  friend bool operator==(const ValidationError&, const ValidationError&) = default;
};

struct ScoreRequestError {
  enum class Kind : std::uint8_t {
    kInvalid,      // the Python service's 422: `errors` holds at least one entry
    kUnparseable,  // the Python service's 400 "There was an error parsing the body"
  };
  Kind kind = Kind::kInvalid;
  std::vector<ValidationError> errors;
  std::string reason;  // kUnparseable: what went wrong, for logs (not sent to the client)
};

using ScoreRequestResult = tl::expected<ScoreRequest, ScoreRequestError>;

// Decodes a body. Well-formed requests take a simdjson path that allocates nothing beyond a
// long userId; everything else goes through DecodeScoreRequestReference.
ScoreRequestResult DecodeScoreRequest(std::string_view body, BodyFormat format);

// The same contract through CPython-faithful parsing only (PyJsonLoads) and the pydantic
// rules above: slower, and the definition DecodeScoreRequest's fast path must agree with.
ScoreRequestResult DecodeScoreRequestReference(std::string_view body, BodyFormat format);

// ---- POST /score/batch ----------------------------------------------------------------------
//
// The batch body is {"items": [<a /score body>, ...]}, read as the Python service would read
// a model `items: conlist(ScoreRequest, max_items=N)`: the body-level rules above apply to
// the whole body (empty, not JSON, malformed, not a dict); then `items` absent is field
// required, null is none is not an allowed value, anything but an array is `value is not a
// valid list` (type_error.list), more than N items is `ensure this value has at most N items`
// (value_error.list.max_items, ctx limit_value). Those fail the whole batch. Each item is
// then decoded exactly as a /score body (a null item is none is not an allowed value) and
// succeeds or fails on its own, its error locations under ["body", "items", <index>, ...].
// An item may also carry `explain` and `top`, read as a model with `explain: bool = False`
// and `top: int | "all" = 4` after features, stricter than pydantic like the features are:
//   - explain: JSON true or false; null -> none is not an allowed value; anything else ->
//     value could not be parsed to a boolean (type_error.bool).
//   - top: a JSON integer >= 1 or the string "all"; null -> none is not an allowed value; an
//     integer below 1 -> ensure this value is greater than or equal to 1
//     (value_error.number.not_ge, ctx limit_value 1); anything else (a float, another string,
//     a bool) -> value is not a valid integer (type_error.integer).

struct BatchScoreRequest {
  // One entry per item, in order: the decoded request, or its kInvalid errors.
  std::vector<ScoreRequestResult> items;
};

using BatchScoreRequestResult = tl::expected<BatchScoreRequest, ScoreRequestError>;

// Well-formed batches of well-formed items take the simdjson path; anything else is read
// through the CPython-faithful reference path. The item limit is checked before any item is
// decoded.
BatchScoreRequestResult DecodeBatchScoreRequest(std::string_view body, BodyFormat format,
                                                std::size_t max_items);

// The error's response body: {"detail":[{"loc":[...],"msg":...,"type":...,"ctx":{...}}]} for
// kInvalid, {"detail":"There was an error parsing the body"} for kUnparseable. Compact, keys in
// pydantic's order, strings escaped as Python's json.dumps(ensure_ascii=False) does.
void AppendScoreRequestErrorJson(std::string* out, const ScoreRequestError& error);

// The same "detail" member, written into an object `json` has open (a /score/batch item).
void WriteScoreRequestErrorDetail(JsonWriter& json, const ScoreRequestError& error);

}  // namespace csml
