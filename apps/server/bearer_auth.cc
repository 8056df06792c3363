#include "bearer_auth.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>
#include <openssl/crypto.h>

namespace csml::server {
namespace {

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool IsB64Token(std::string_view token) {
  std::size_t i = 0;
  while (i < token.size() && IsTokenChar(token[i])) ++i;
  if (i == 0) return false;
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsBearerScheme(std::string_view scheme) {
  constexpr std::string_view kBearer = "bearer";
  if (scheme.size() != kBearer.size()) return false;
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    const char c =
        scheme[i] >= 'A' && scheme[i] <= 'Z' ? static_cast<char>(scheme[i] + 32) : scheme[i];
    if (c != kBearer[i]) return false;
  }
  return true;
}

}  // namespace

Result<BearerToken> BearerToken::Create(std::string token, std::string_view name) {
  if (token.empty()) return BearerToken();
  if (token.size() < kMinBytes || token.size() > kMaxBytes || !IsB64Token(token)) {
    // The token is a secret: the message says what is wrong with it, never what it is.
    const bool length_ok = token.size() >= kMinBytes && token.size() <= kMaxBytes;
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: expected {} to {} characters from letters, digits and -._~+/ "
                    "(optionally ending in =), got {}",
                    name, kMinBytes, kMaxBytes,
                    length_ok ? fmt::format("{} characters, some outside that set or '=' before "
                                            "the end",
                                            token.size())
                              : fmt::format("{} characters", token.size())));
  }
  return BearerToken(std::move(token));
}

BearerCheck BearerToken::Check(const Request& request) const {
  const std::optional<std::string_view> header = request.Header("authorization");
  if (!header) return BearerCheck::kMissing;
  const std::string_view value = TrimSpaces(*header);
  const std::size_t space = value.find_first_of(" \t");
  if (space == std::string_view::npos || !IsBearerScheme(value.substr(0, space))) {
    return BearerCheck::kMissing;
  }
  const std::string_view presented = TrimSpaces(value.substr(space));
  // Longer than any configured token can be: wrong without looking (the limit is public).
  if (presented.size() > kMaxBytes) return BearerCheck::kInvalid;
  std::array<char, kMaxBytes> padded{};
  std::memcpy(padded.data(), presented.data(), presented.size());
  const bool same_bytes = CRYPTO_memcmp(padded.data(), token_.data(), token_.size()) == 0;
  return same_bytes && presented.size() == token_.size() ? BearerCheck::kOk : BearerCheck::kInvalid;
}

bool BearerToken::SameAs(const BearerToken& other) const {
  return configured() && token_ == other.token_;
}

Response UnauthorizedResponse(BearerCheck check) {
  Response response =
      DetailResponse(401, check == BearerCheck::kMissing ? "Not authenticated"
                                                         : "Invalid authentication credentials");
  response.headers.emplace_back("www-authenticate", check == BearerCheck::kMissing
                                                        ? "Bearer"
                                                        : "Bearer error=\"invalid_token\"");
  return response;
}

}  // namespace csml::server
