// Errors as values: every fallible domain function returns csml::Result<T>.
//
// An Error carries a coarse code (what kind of failure, so an adapter can map it to an HTTP
// status or an exit code in one place) and a message written for a person: what was expected,
// what came, and where. The domain never logs and never throws across a module boundary.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <tl/expected.hpp>

namespace csml {

enum class ErrorCode {
  kInvalidArgument,  // a caller passed a value outside the contract (options, flags)
  kParse,            // input text could not be parsed (JSON, RFC 3339, model file)
  kValidation,       // input parsed but broke a data-contract rule
  kNotFound,         // a named thing (version, file) does not exist
  kAlreadyExists,    // a name that must be new is taken
  kIo,               // the operating system refused a read, write, rename or fsync
  kModel,            // a model library (XGBoost) reported a failure
  kUnavailable,      // a remote source could not be reached or answered 5xx
  kTimeout,          // a deadline passed
  kInternal,         // an invariant broke: a bug in csml
};

// Stable lower_snake name of a code, for logs and JSON ("invalid_argument", ...).
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Returns a copy whose message is "<context>: <message>", for adding where an error happened
  // as it travels outward ("model_store/x.meta.json: expected ...").
  [[nodiscard]] Error WithContext(std::string_view context) const;
};

// Result<T> is tl::expected<T, Error> that cannot be dropped: a call whose Result is ignored
// does not compile under -Werror (tl::expected 1.0 has no [[nodiscard]] of its own). It converts
// to and from tl::expected<T, Error>, so monadic helpers (map, and_then) keep working.
template <typename T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using Base = tl::expected<T, Error>;
  using Base::Base;
  Result() = default;
  Result(const Base& other) : Base(other) {}  // NOLINT(google-explicit-constructor)
  Result(Base&& other) noexcept(std::is_nothrow_move_constructible_v<Base>)
      : Base(std::move(other)) {}  // NOLINT(google-explicit-constructor)
};

// The result of an operation that yields no value: success, or an Error.
using Status = Result<void>;

[[nodiscard]] inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace csml

// Early return of an error, for functions returning csml::Result<T> or csml::Status.
//   CSML_TRY(registry.Promote(v));                 // returns the error, if any
//   CSML_ASSIGN_OR_RETURN(auto meta, ReadMeta(p)); // declares meta from the value, or returns
// The error keeps its code and message; add context before the macro where a caller needs it.
#define CSML_TRY(expr)                                                             \
  do {                                                                             \
    auto&& csml_try_result_ = (expr);                                              \
    if (!csml_try_result_) {                                                       \
      return ::tl::unexpected<::csml::Error>(std::move(csml_try_result_).error()); \
    }                                                                              \
  } while (false)

// NOLINTBEGIN(bugprone-macro-parentheses): lhs is a declaration, tmp a name.
#define CSML_CONCAT_INNER_(a, b) a##b
#define CSML_CONCAT_(a, b) CSML_CONCAT_INNER_(a, b)
#define CSML_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)                         \
  auto tmp = (expr);                                                        \
  if (!tmp) return ::tl::unexpected<::csml::Error>(std::move(tmp).error()); \
  lhs = std::move(*tmp)
#define CSML_ASSIGN_OR_RETURN(lhs, expr) \
  CSML_ASSIGN_OR_RETURN_IMPL_(CSML_CONCAT_(csml_assign_result_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)
