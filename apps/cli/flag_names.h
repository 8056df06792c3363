// The domain's messages name its fields ("validation fraction: expected ..."); a user typed
// flags. NameTheFlag replaces a leading field name with the flag that sets it, so every
// message of a command names what the user typed (docs/COMMANDS.md).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "csml/core/error.h"

namespace csml::cli {

using FieldFlags = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// `error` with its leading "field: " replaced by "flag: " for the first field of `fields`
// that it starts with; unchanged when none matches.
inline Error NameTheFlag(Error error, FieldFlags fields) {
  for (const auto& [field, flag] : fields) {
    const std::string prefix = std::string(field) + ": ";
    if (error.message.rfind(prefix, 0) == 0) {
      error.message = fmt::format("{}: {}", flag, error.message.substr(prefix.size()));
      return error;
    }
  }
  return error;
}

}  // namespace csml::cli
