// The API's documentation surface, end to end: GET /docs (Swagger UI served offline by csml),
// /openapi.json (complete, valid OpenAPI 3, exactly the router's routes), who may read them,
// and CORS (--cors-origin). The real binary over real HTTP, except the route-table check, which
// builds the routes in process to read the router itself.
#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "cors.h"
#include "csml/serving/model_manager.h"
#include "router.h"
#include "serve_fixture.h"
#include "serve_routes.h"

namespace csml::e2e {
namespace {

using server::CorsPolicy;
using server::Request;
using server::Router;
using server::ServeRoutes;
using server::ServeRoutesDeps;
using server::ServeRoutesOptions;
using std::chrono::seconds;

const std::string kScoreToken = "docs-score-token-0123456789";
const std::string kAdminToken = "docs-admin-token-9876543210";

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

HttpRequestSpec WithOrigin(HttpRequestSpec spec, const std::string& origin) {
  spec.headers.emplace_back("Origin", origin);
  return spec;
}

HttpRequestSpec Preflight(std::string path, const std::string& origin, const std::string& method,
                          const std::string& headers = "content-type") {
  HttpRequestSpec spec;
  spec.method = "OPTIONS";
  spec.path = std::move(path);
  spec.content_type = std::nullopt;
  spec.headers = {{"Origin", origin}, {"Access-Control-Request-Method", method}};
  if (!headers.empty()) spec.headers.emplace_back("Access-Control-Request-Headers", headers);
  return spec;
}

// ---- the route table against the document (in process) ---------------------------------

// "METHOD /path" of every operation the router answers (HEAD and OPTIONS are not operations)
// and of every operation the document describes, with /docs/{asset} expanded over its enum.
struct RoutesAndDocument {
  std::set<std::string> routed;
  std::set<std::string> described;
  std::string document;
};

RoutesAndDocument Collect(const ServeRoutesOptions& options) {
  RoutesAndDocument out;
  ModelManager models;
  auto routes = ServeRoutes::Create(options, ServeRoutesDeps{&models, nullptr, nullptr, nullptr});
  EXPECT_TRUE(routes.has_value()) << routes.error().message;
  if (!routes) return out;
  Router router;
  (*routes)->AddTo(router);
  for (const std::string& path : router.Paths()) {
    for (const std::string& method : router.Methods(path)) {
      if (method == "HEAD" || method == "OPTIONS") continue;
      std::string entry = method;
      entry += ' ';
      entry += path;
      out.routed.insert(std::move(entry));
    }
  }
  // With a score token set, the document needs it too.
  const std::string authorization = "Bearer " + options.score_token;
  Request get;
  get.method = "GET";
  get.path = "/openapi.json";
  get.header_source = &authorization;
  get.header_lookup = [](const void* source,
                         std::string_view name) -> std::optional<std::string_view> {
    if (name != "authorization") return std::nullopt;
    return *static_cast<const std::string*>(source);
  };
  Router::Outcome answer = router.Handle(get);
  EXPECT_EQ(answer.response.status, 200);
  out.document = answer.response.body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(out.document).get(doc), simdjson::SUCCESS);
  for (auto [path, item] : doc["paths"].get_object()) {
    for (auto [method, operation] : item.get_object()) {
      const std::string p(path);
      if (p.find("{asset}") == std::string::npos) {
        out.described.insert(Upper(std::string(method)) + " " + p);
        continue;
      }
      simdjson::dom::array params = operation["parameters"].get_array();
      for (simdjson::dom::element param : params) {
        std::string_view name;
        if (param["name"].get(name) != simdjson::SUCCESS || name != "asset") continue;
        for (simdjson::dom::element value : param["schema"]["enum"].get_array()) {
          out.described.insert(Upper(std::string(method)) + " /docs/" +
                               std::string(value.get_string().value()));
        }
      }
    }
  }
  return out;
}

TEST(ApiDocumentTest, EveryRouteTheRouterKnowsIsDescribedAndViceVersa) {
  for (const bool cors : {false, true}) {
    ServeRoutesOptions options;
    if (cors) options.cors_origins = {"*"};
    const RoutesAndDocument r = Collect(options);
    ASSERT_FALSE(r.routed.empty());
    EXPECT_EQ(r.routed, r.described) << "cors " << cors;
    // The docs and score routes are there, with more than a handful of assets.
    EXPECT_TRUE(r.routed.count("GET /docs") == 1 && r.routed.count("GET /docs/LICENSE") == 1 &&
                r.routed.count("POST /score") == 1);
  }
}

// Every operation lists X-Request-Id and has an example on its request body and on at least
// one media type of each response (directly or through components/responses); every error
// status of the issue has an example; every schema has a description and an example.
TEST(ApiDocumentTest, EveryOperationResponseAndSchemaHasAnExample) {
  ServeRoutesOptions options;
  options.score_token = kScoreToken;
  const RoutesAndDocument r = Collect(options);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.document).get(doc), simdjson::SUCCESS);
  const simdjson::dom::element components = doc["components"];

  const auto has_example = [](simdjson::dom::element response) {
    simdjson::dom::object content;
    if (response["content"].get(content) != simdjson::SUCCESS) return false;
    for (auto [type, media] : content) {
      if (media["example"].error() == simdjson::SUCCESS) return true;
    }
    return false;
  };
  std::set<std::string> statuses_with_example;
  for (auto [name, response] : components["responses"].get_object()) {
    EXPECT_TRUE(has_example(response)) << name;
    EXPECT_EQ(response["headers"]["X-Request-Id"].error(), simdjson::SUCCESS) << name;
    std::string_view description = response["description"].get_string().value();
    statuses_with_example.insert(std::string(description.substr(0, 3)));
  }
  int operations = 0;
  for (auto [path, item] : doc["paths"].get_object()) {
    for (auto [method, operation] : item.get_object()) {
      ++operations;
      const std::string where = std::string(method) + " " + std::string(path);
      bool request_id = false;
      for (simdjson::dom::element param : operation["parameters"].get_array()) {
        std::string_view ref;
        request_id = request_id || (param["$ref"].get(ref) == simdjson::SUCCESS &&
                                    ref == "#/components/parameters/XRequestId");
      }
      EXPECT_TRUE(request_id) << where;
      simdjson::dom::element body;
      if (operation["requestBody"].get(body) == simdjson::SUCCESS) {
        EXPECT_TRUE(has_example(body)) << where;
      }
      for (auto [status, response] : operation["responses"].get_object()) {
        if (response["$ref"].error() == simdjson::SUCCESS) continue;  // checked above
        if (status == "304") continue;                                // no body
        EXPECT_TRUE(has_example(response)) << where << " " << status;
        EXPECT_EQ(response["headers"]["X-Request-Id"].error(), simdjson::SUCCESS) << where;
        statuses_with_example.insert(std::string(status));
      }
    }
  }
  const auto assets = std::count_if(r.described.begin(), r.described.end(), [](const auto& entry) {
    return entry.rfind("GET /docs/", 0) == 0;
  });
  EXPECT_GT(assets, 5);
  EXPECT_EQ(operations, static_cast<int>(r.described.size() - assets + 1))
      << "one operation per route, GET /docs/{asset} standing for every asset";
  for (const char* status : {"401", "403", "404", "405", "413", "415", "422", "503"}) {
    EXPECT_EQ(statuses_with_example.count(status), 1u) << status;
  }
  // 422 in pydantic's shape.
  simdjson::dom::element error422 = components["responses"]["ValidationFailed"]["content"]
                                              ["application/json"]["example"]["detail"]
                                                  .at(0);
  EXPECT_EQ(error422["loc"].at(0).get_string().value(), "body");
  EXPECT_EQ(error422["type"].error(), simdjson::SUCCESS);
  EXPECT_EQ(error422["msg"].error(), simdjson::SUCCESS);
  for (auto [name, schema] : components["schemas"].get_object()) {
    EXPECT_EQ(schema["description"].error(), simdjson::SUCCESS) << name;
    EXPECT_EQ(schema["example"].error(), simdjson::SUCCESS) << name;
  }
  // The score and docs routes say they need the token; the document never holds one.
  EXPECT_EQ(doc["paths"]["/docs"]["get"]["security"].at(0)["scoreToken"].error(),
            simdjson::SUCCESS);
  EXPECT_EQ(r.document.find(kScoreToken), std::string::npos);
}

TEST(CorsPolicyTest, OriginsAreCheckedWhenTheServerStarts) {
  for (const char* good :
       {"*", "http://localhost:3000", "https://cs.example.com", "http://[::1]:80"}) {
    EXPECT_TRUE(CorsPolicy::Create({good}).has_value()) << good;
  }
  for (const char* bad :
       {"", "localhost:3000", "ftp://x.test", "http://x.test/", "http://x.test/app",
        "http://x.test:0", "http://x.test:99999", "http://", "https://a b"}) {
    auto policy = CorsPolicy::Create({bad});
    ASSERT_FALSE(policy.has_value()) << bad;
    EXPECT_NE(policy.error().message.find("cors origin"), std::string::npos);
  }
}

// ---- the real binary ------------------------------------------------------------------

class DocsTest : public OneVersionServedTest {};

TEST_F(DocsTest, ThePageAndEveryAssetItNamesAreServedByCsmlItself) {
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  auto page = Fetch(port(), GetPath("/docs"));
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(page->Header("content-type").value_or(""), "text/html; charset=utf-8");
  EXPECT_NE(page->Header("content-security-policy").value_or("").find("default-src 'self'"),
            std::string::npos);
  // Offline: no absolute URL anywhere in the page, and every file it names is served here.
  EXPECT_EQ(page->body.find("//"), std::string::npos) << page->body;
  std::set<std::string> named;
  const std::regex reference(R"re((?:src|href)="([^"]+)")re");
  for (std::sregex_iterator it(page->body.begin(), page->body.end(), reference), end; it != end;
       ++it) {
    named.insert((*it)[1].str());
  }
  EXPECT_EQ(named,
            (std::set<std::string>{"/docs/swagger-ui.css", "/docs/favicon-32x32.png",
                                   "/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js"}));
  for (const std::string& path : named) {
    auto asset = Fetch(port(), GetPath(path));
    ASSERT_TRUE(asset.has_value()) << path;
    EXPECT_EQ(asset->status, 200) << path;
    EXPECT_GT(asset->body.size(), 100u) << path;
  }
  auto init = Fetch(port(), GetPath("/docs/swagger-initializer.js"));
  ASSERT_TRUE(init.has_value());
  EXPECT_NE(init->body.find("url: \"/openapi.json\""), std::string::npos) << init->body;
  EXPECT_EQ(init->body.find("//"), std::string::npos) << init->body;
  auto bundle = Fetch(port(), GetPath("/docs/swagger-ui-bundle.js"));
  ASSERT_TRUE(bundle.has_value());
  EXPECT_EQ(bundle->Header("content-type").value_or(""), "text/javascript; charset=utf-8");
  EXPECT_GT(bundle->body.size(), 1'000'000u);
  EXPECT_NE(bundle->body.find("SwaggerUIBundle"), std::string::npos);

  // The licence ships with the binary.
  auto licence = Fetch(port(), GetPath("/docs/LICENSE"));
  ASSERT_TRUE(licence.has_value());
  EXPECT_EQ(licence->status, 200);
  EXPECT_NE(licence->body.find("Apache License"), std::string::npos);

  // Embedded files have a strong ETag and answer If-None-Match with 304.
  const std::string etag = bundle->Header("etag").value_or("");
  ASSERT_EQ(etag.size(), 66u) << etag;
  HttpRequestSpec again = GetPath("/docs/swagger-ui-bundle.js");
  again.headers.emplace_back("If-None-Match", etag);
  auto cached = Fetch(port(), again);
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->status, 304);
  EXPECT_EQ(cached->body, "");

  auto unknown = Fetch(port(), GetPath("/docs/nope.js"));
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(DocsTest, DocsAndTheDocumentNeedTheScoreTokenWhenOneIsSetAndNeverTheAdminOne) {
  ASSERT_NO_FATAL_FAILURE(
      Serve({}, {{"CSML_SCORE_TOKEN", kScoreToken}, {"CSML_ADMIN_TOKEN", kAdminToken}}));
  for (const std::string path :
       {"/docs", "/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js", "/openapi.json"}) {
    auto missing = Fetch(port(), GetPath(path));
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->status, 401) << path;
    EXPECT_EQ(missing->body, R"({"detail":"Not authenticated"})");
    auto admin = Fetch(port(), WithBearer(GetPath(path), kAdminToken));
    ASSERT_TRUE(admin.has_value());
    EXPECT_EQ(admin->status, 401) << path << ": the admin token does not open the docs";
    auto ok = Fetch(port(), WithBearer(GetPath(path), kScoreToken));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200) << path;
    EXPECT_EQ(ok->body.find(kScoreToken), std::string::npos) << path;
    EXPECT_EQ(ok->body.find(kAdminToken), std::string::npos) << path;
  }
  auto doc = Fetch(port(), WithBearer(GetPath("/openapi.json"), kScoreToken));
  ASSERT_TRUE(doc.has_value());
  EXPECT_NE(doc->body.find(R"("security":[{"scoreToken":[]}])"), std::string::npos);
}

TEST_F(DocsTest, DocsAndTheDocumentAreOpenWhenScoringIsOpen) {
  ASSERT_NO_FATAL_FAILURE(Serve({}, {{"CSML_ADMIN_TOKEN", kAdminToken}}));
  for (const std::string path : {"/docs", "/docs/swagger-ui.css", "/openapi.json"}) {
    auto open = Fetch(port(), GetPath(path));
    ASSERT_TRUE(open.has_value());
    EXPECT_EQ(open->status, 200) << path;
    EXPECT_EQ(open->body.find(kAdminToken), std::string::npos) << path;
  }
  auto doc = Fetch(port(), GetPath("/openapi.json"));
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->body.find(R"("scoreToken":[])"), std::string::npos)
      << "no operation asks for a score token that is not set";
}

// Runs the npm OpenAPI validator (tests/e2e/validate_openapi.mjs) on files.
testing::RunResult Validate(const std::vector<std::string>& files, const std::string& log) {
  std::vector<std::string> args = {CSML_OPENAPI_VALIDATOR, CSML_NPM_MODULES};
  args.insert(args.end(), files.begin(), files.end());
  return testing::Run(CSML_NODE, args, log, seconds(60));
}

TEST_F(DocsTest, TheDocumentValidatesAgainstTheOpenApi3Schema) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--max-batch-items", "250", "--cors-origin", "*"},
                                {{"CSML_SCORE_TOKEN", kScoreToken}}));
  auto doc = Fetch(port(), WithBearer(GetPath("/openapi.json"), kScoreToken));
  ASSERT_TRUE(doc.has_value());
  ASSERT_EQ(doc->status, 200);
  const std::string good = dir_.Join("openapi.json");
  testing::WriteFile(good, doc->body);
  // The checks can fail: a document with an operation that lost its responses, and one with
  // a reference to a schema that does not exist.
  std::string broken = doc->body;
  broken.replace(broken.find("\"responses\":"), 12, "\"answers\":");
  const std::string no_responses = dir_.Join("no-responses.json");
  testing::WriteFile(no_responses, broken);
  std::string dangling = doc->body;
  dangling.replace(dangling.find("#/components/schemas/ScoreRequest"), 33,
                   "#/components/schemas/ScoreRequesX");
  const std::string bad_ref = dir_.Join("bad-ref.json");
  testing::WriteFile(bad_ref, dangling);

  const testing::RunResult valid = Validate({good}, dir_.Join("validate.log"));
  EXPECT_EQ(valid.exit_code, 0) << valid.output;
  EXPECT_NE(valid.output.find("valid OpenAPI 3.0.3"), std::string::npos) << valid.output;
  for (const std::string& file : {no_responses, bad_ref}) {
    const testing::RunResult invalid = Validate({file}, dir_.Join("invalid.log"));
    EXPECT_EQ(invalid.exit_code, 1) << file << "\n" << invalid.output;
    EXPECT_NE(invalid.output.find("INVALID"), std::string::npos) << invalid.output;
  }
}

// ---- CORS ------------------------------------------------------------------------------

TEST_F(DocsTest, CorsIsOffByDefault) {
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  auto preflight = Fetch(port(), Preflight("/score", "http://app.test", "POST"));
  ASSERT_TRUE(preflight.has_value());
  EXPECT_EQ(preflight->status, 405);
  EXPECT_FALSE(preflight->Header("access-control-allow-origin").has_value());
  auto scored = Fetch(port(), WithOrigin(PostJson("/score", SeedScoreBody()), "http://app.test"));
  ASSERT_TRUE(scored.has_value());
  EXPECT_EQ(scored->status, 200);
  EXPECT_FALSE(scored->Header("access-control-allow-origin").has_value());
}

TEST_F(DocsTest, CorsOriginsGetPreflightsAndHeadersOnScoringAndDocsButNeverOnAdmin) {
  ASSERT_NO_FATAL_FAILURE(
      Serve({"--cors-origin", "http://app.test", "--cors-origin", "https://cs.example.com:8443"},
            {{"CSML_SCORE_TOKEN", kScoreToken}, {"CSML_ADMIN_TOKEN", kAdminToken}}));
  for (const std::string origin : {"http://app.test", "https://cs.example.com:8443"}) {
    auto preflight = Fetch(
        port(), Preflight("/score", origin, "POST", "authorization, content-type, x-request-id"));
    ASSERT_TRUE(preflight.has_value());
    EXPECT_EQ(preflight->status, 204) << preflight->body;
    EXPECT_EQ(preflight->Header("access-control-allow-origin").value_or(""), origin);
    EXPECT_EQ(preflight->Header("access-control-allow-methods").value_or(""), "POST");
    EXPECT_EQ(preflight->Header("access-control-allow-headers").value_or(""),
              "Authorization, Content-Type, X-Request-Id");
    EXPECT_EQ(preflight->Header("vary").value_or(""), "Origin");
  }
  auto docs_preflight = Fetch(port(), Preflight("/openapi.json", "http://app.test", "GET", ""));
  ASSERT_TRUE(docs_preflight.has_value());
  EXPECT_EQ(docs_preflight->status, 204);
  EXPECT_EQ(docs_preflight->Header("access-control-allow-methods").value_or(""), "GET, HEAD");

  // Refused preflights: another origin, a method or a header the route does not take.
  for (const HttpRequestSpec& spec :
       {Preflight("/score", "http://evil.test", "POST"),
        Preflight("/score", "http://app.test", "PUT"),
        Preflight("/score", "http://app.test", "POST", "x-tenant-secret")}) {
    auto refused = Fetch(port(), spec);
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->status, 400);
    EXPECT_NE(refused->body.find("Disallowed CORS"), std::string::npos) << refused->body;
    EXPECT_FALSE(refused->Header("access-control-allow-origin").has_value());
  }

  // Actual answers, errors included, carry the headers for an allowed origin only.
  auto scored = Fetch(
      port(),
      WithOrigin(WithBearer(PostJson("/score", SeedScoreBody()), kScoreToken), "http://app.test"));
  ASSERT_TRUE(scored.has_value());
  EXPECT_EQ(scored->status, 200);
  EXPECT_EQ(scored->Header("access-control-allow-origin").value_or(""), "http://app.test");
  EXPECT_EQ(scored->Header("access-control-expose-headers").value_or(""), "X-Request-Id");
  auto denied = Fetch(port(), WithOrigin(PostJson("/score", SeedScoreBody()), "http://app.test"));
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->Header("access-control-allow-origin").value_or(""), "http://app.test");
  auto docs =
      Fetch(port(), WithOrigin(WithBearer(GetPath("/docs"), kScoreToken), "http://app.test"));
  ASSERT_TRUE(docs.has_value());
  EXPECT_EQ(docs->Header("access-control-allow-origin").value_or(""), "http://app.test");
  auto other = Fetch(
      port(),
      WithOrigin(WithBearer(PostJson("/score", SeedScoreBody()), kScoreToken), "http://evil.test"));
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->status, 200);
  EXPECT_FALSE(other->Header("access-control-allow-origin").has_value());

  // Admin: no preflight answer and no CORS headers, whatever the origin.
  auto admin_preflight = Fetch(port(), Preflight("/admin/reload", "http://app.test", "POST"));
  ASSERT_TRUE(admin_preflight.has_value());
  EXPECT_EQ(admin_preflight->status, 405);
  EXPECT_FALSE(admin_preflight->Header("access-control-allow-origin").has_value());
  auto admin = Fetch(
      port(), WithOrigin(WithBearer(PostJson("/admin/reload", ""), kAdminToken), "http://app.test"),
      seconds(20));
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->status, 200) << admin->body;
  EXPECT_FALSE(admin->Header("access-control-allow-origin").has_value());
  // Operations endpoints are not CORS routes either.
  auto health = Fetch(port(), WithOrigin(GetPath("/healthz"), "http://app.test"));
  ASSERT_TRUE(health.has_value());
  EXPECT_FALSE(health->Header("access-control-allow-origin").has_value());
}

TEST_F(DocsTest, AnyOriginIsAStar) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--cors-origin", "*"}));
  auto preflight = Fetch(port(), Preflight("/score/batch", "http://anything.test", "POST"));
  ASSERT_TRUE(preflight.has_value());
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->Header("access-control-allow-origin").value_or(""), "*");
  EXPECT_FALSE(preflight->Header("vary").has_value());
  auto scored = Fetch(port(), WithOrigin(PostJson("/score", SeedScoreBody()), "http://other.test"));
  ASSERT_TRUE(scored.has_value());
  EXPECT_EQ(scored->Header("access-control-allow-origin").value_or(""), "*");
}

TEST(CorsFlagTest, ABadOriginStopsTheServerBeforeItListens) {
  testing::TempDir dir;
  const testing::RunResult r = testing::Run(
      CsmlBinary(),
      {"serve", "--port", "0", "--model-dir", dir.Join("models"), "--cors-origin", "app.test"},
      dir.Join("serve.log"), seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--cors-origin"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("app.test"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace csml::e2e
