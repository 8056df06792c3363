// The page and initializer of GET /docs (see docs_page.h); the assets come from the build.
#include "docs_page.h"

namespace csml::server {
namespace {

// Every URL is absolute: /docs and /docs/ (redirected) resolve relative ones differently.
constexpr std::string_view kIndexHtml = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>csml churn-risk API: Swagger UI</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-initializer.js"></script>
</body>
</html>
)html";

// BaseLayout: no top bar with a URL box (this page shows this server's document only);
// validatorUrl null: no badge fetched from the Swagger validator's site.
constexpr std::string_view kInitializerJs = R"js(window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0
  });
};
)js";

}  // namespace

std::vector<DocsAsset> DocsAssets() {
  std::vector<DocsAsset> assets = {
      {"", "text/html; charset=utf-8", kIndexHtml, ""},
      {"swagger-initializer.js", "text/javascript; charset=utf-8", kInitializerJs, ""},
  };
  for (const DocsAsset& asset : SwaggerUiAssets()) assets.push_back(asset);
  return assets;
}

}  // namespace csml::server
