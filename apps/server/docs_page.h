// GET /docs: Swagger UI over /openapi.json, fully offline. The page, its initializer and every
// asset are served by csml itself: Swagger UI's files (npm swagger-ui-dist, pinned by
// tools/npm/package-lock.json) are embedded into the binary at build time
// (apps/server/CMakeLists.txt generates swagger_ui_assets.cc), with their licence at
// /docs/LICENSE. The page's Content-Security-Policy allows this origin only, so a reference to
// any other host is refused by the browser (and is a console error the browser test sees).
#pragma once

#include <string_view>
#include <vector>

namespace csml::server {

struct DocsAsset {
  std::string_view name;          // the path under /docs/ ("" for /docs itself)
  std::string_view content_type;  // static storage
  std::string_view body;          // static storage (embedded)
  std::string_view etag;          // a quoted strong ETag ("\"<sha256>\"")
};

// The embedded swagger-ui-dist files (generated) and their version.
std::vector<DocsAsset> SwaggerUiAssets();
std::string_view SwaggerUiVersion();

// Everything under /docs: the page (name ""), its initializer script, and SwaggerUiAssets().
std::vector<DocsAsset> DocsAssets();

// The Content-Security-Policy of every /docs answer.
inline constexpr std::string_view kDocsContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'";

}  // namespace csml::server
