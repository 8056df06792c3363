// Options structs of the domain and the adapters name their fields in errors ("port: expected
// 0 to 65535, got 70000"); the user typed a flag or set a variable. A command checks its
// options through NameFlags, so the message names what the user can change:
// "--port: expected 0 to 65535, got 70000".
#pragma once

#include <initializer_list>
#include <span>
#include <string_view>
#include <utility>

#include "csml/core/error.h"

namespace csml::cli {

struct FieldFlag {
  std::string_view field;  // as the options' Validate() spells it: "port", "max_invalid_rate"
  std::string_view flag;   // as the user types it: "--port", "--max-invalid-rate"
};

// The flags of server::ServerOptions, shared by `csml serve` and `csml cs-api`.
inline constexpr FieldFlag kServerOptionFlags[] = {
    {"host", "--host"},
    {"port", "--port"},
    {"threads", "--threads"},
    {"max body bytes", "--max-body-bytes"},
    {"header timeout", "--header-timeout-ms"},
    {"body timeout", "--body-timeout-ms"},
    {"idle timeout", "--idle-timeout-ms"},
    {"write timeout", "--write-timeout-ms"},
    {"max connections", "--max-connections"},
    {"shutdown grace", "--shutdown-grace-ms"},
};

// `error` with the field names of `names` replaced by their flags: a field that starts the
// message (followed by ':' or ' '), and a snake_case field anywhere as a whole word. Longer
// fields are tried first, so "access log sampling" wins over "access log".
Error NameFlags(Error error, std::span<const FieldFlag> names);
inline Error NameFlags(Error error, std::initializer_list<FieldFlag> names) {
  return NameFlags(std::move(error), std::span<const FieldFlag>(names.begin(), names.size()));
}

// NameFlags on the error of a failed check; an ok status passes through.
Status NameFlags(Status status, std::span<const FieldFlag> names);
inline Status NameFlags(Status status, std::initializer_list<FieldFlag> names) {
  return NameFlags(std::move(status), std::span<const FieldFlag>(names.begin(), names.size()));
}

}  // namespace csml::cli
