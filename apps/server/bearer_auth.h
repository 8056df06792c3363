// Bearer-token checks for the serving endpoints (RFC 6750): "Authorization: Bearer <token>".
//
// The presented token is compared with the expected one in constant time (OpenSSL's
// CRYPTO_memcmp over the expected token's length, whatever the presented one holds), so the
// time taken says nothing about how much of a guess was right. Tokens are never logged.
// Thread-safety: immutable after construction; Check() from any thread.
#pragma once

#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "http_server.h"

namespace csml::server {

enum class BearerCheck : std::uint8_t {
  kOk,       // the expected token was presented
  kMissing,  // no Authorization header, or not the Bearer scheme
  kInvalid,  // a Bearer token that is not the expected one
};

class BearerToken {
 public:
  static constexpr std::size_t kMinBytes = 16;
  static constexpr std::size_t kMaxBytes = 256;

  // An empty token means "not configured". A configured one must be kMinBytes to kMaxBytes
  // of RFC 6750 token characters (letters, digits, -._~+/ and trailing =); `name` (the
  // environment variable) goes into the error message, the token never does.
  static Result<BearerToken> Create(std::string token, std::string_view name);

  BearerToken() = default;
  bool configured() const { return !token_.empty(); }
  BearerCheck Check(const Request& request) const;
  bool SameAs(const BearerToken& other) const;

 private:
  explicit BearerToken(std::string token) : token_(std::move(token)) {}
  std::string token_;
};

// 401 {"detail":"Not authenticated"} (missing) or {"detail":"Invalid authentication
// credentials"} (invalid), with WWW-Authenticate: Bearer, as FastAPI's HTTPBearer words them.
Response UnauthorizedResponse(BearerCheck check);

}  // namespace csml::server
