// SHA-256 of bytes as lower-case hex (OpenSSL EVP), for model file integrity checks.
#pragma once

#include <string>
#include <string_view>

#include "csml/core/error.h"

namespace csml {

// 64 lower-case hex digits; Error{kInternal} only if OpenSSL itself fails. Thread-safe.
Result<std::string> Sha256Hex(std::string_view bytes);

}  // namespace csml
