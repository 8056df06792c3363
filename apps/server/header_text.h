// Small text helpers for HTTP header values, shared by the router and the CORS policy.
#pragma once

#include <string>
#include <string_view>

namespace csml::server {

// `s` in ASCII lower case (header names, tokens and origins compare case-insensitively).
std::string LowerAscii(std::string_view s);

// `s` without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view TrimOws(std::string_view s);

}  // namespace csml::server
