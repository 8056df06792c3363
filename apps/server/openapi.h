// The OpenAPI 3.0 description of every endpoint `csml serve` answers (GET /openapi.json).
// A test checks that its paths and methods are exactly the router's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace csml::server {

struct OpenApiParams {
  std::string_view version;           // the csml version, info.version
  std::size_t max_batch_items = 0;    // BatchScoreRequest.items.maxItems
  bool score_token_required = false;  // whether /score and /score/batch need the token
};

// The document as compact-enough JSON text; built once at start-up.
std::string BuildOpenApiDocument(const OpenApiParams& params);

}  // namespace csml::server
