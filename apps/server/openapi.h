// The OpenAPI 3.0 description of every endpoint `csml serve` answers (GET /openapi.json, read
// by the Swagger UI of GET /docs). Tests check that its paths and methods are exactly the
// router's and that it validates against the OpenAPI 3.0 schema.
//
// openapi.cc holds one function per endpoint, each returning that endpoint's operation
// object (with its parameters, request and response examples), and the components they
// share: the error answers (401, 403, 404, 405, 413, 415, 422, 503, ...) with examples, the
// X-Request-Id header and the schemas. Adding an endpoint is one such function and one line
// in its list.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace csml::server {

struct OpenApiParams {
  std::string_view version;                   // the csml version, info.version
  std::size_t max_batch_items = 0;            // BatchScoreRequest.items.maxItems
  bool score_token_required = false;          // whether the score and docs routes need the token
  std::vector<std::string_view> docs_assets;  // the files under /docs/ (GET /docs/{asset})
};

// The document as JSON text; built once at start-up.
std::string BuildOpenApiDocument(const OpenApiParams& params);

}  // namespace csml::server
