// The OpenAPI document (see openapi.h). Each endpoint is one function below returning its
// operation as JSON text; Endpoints() lists them. The text may use these placeholders, which
// BuildOpenApiDocument() fills in:
//   @REQUEST_ID@      the X-Request-Id request parameter (every operation lists it)
//   @TENANT_ID@       the X-Tenant-Id request parameter (the score operations)
//   @HEADERS@         a response's headers object (X-Request-Id, on every response)
//   @SCORE_SECURITY@  [{"scoreToken":[]}] when CSML_SCORE_TOKEN is set, else []
//   @MAX_ITEMS@       the batch limit in force
//   @SEED_REQUEST@    the README's /score request (the example Swagger UI prefills)
//   @SEED_RESPONSE@   its answer
//   @DOCS_ASSETS@     the file names under /docs/, as a JSON array
//   @VERSION@         the csml version
#include "openapi.h"

#include <fmt/format.h>

#include "csml/core/json_writer.h"

namespace csml::server {
namespace {

struct Endpoint {
  std::string_view path;
  std::string_view method;  // lower case, as OpenAPI spells it
  std::string_view operation;
};

// ---- scoring ---------------------------------------------------------------------------

constexpr Endpoint kScore = {"/score", "post", R"json({
  "operationId":"score","tags":["scoring"],"summary":"Score one customer",
  "description":"The churn risk of one customer, its tier and the reason codes, from the model version serving now (docs/API.md). Unknown feature keys are ignored; null is a missing value.",
  "security":@SCORE_SECURITY@,
  "parameters":[@REQUEST_ID@,@TENANT_ID@,
   {"name":"explain","in":"query","required":false,"description":"true/1/yes/on: add drivers, baseline and margin (docs/EXPLANATIONS.md)","schema":{"type":"boolean","default":false},"example":true},
   {"name":"top","in":"query","required":false,"description":"With explain: how many drivers, a whole number >= 1 or all","schema":{"oneOf":[{"type":"integer","minimum":1},{"type":"string","enum":["all"]}],"default":4},"example":4}],
  "requestBody":{"required":true,"description":"One customer: the README's example",
   "content":{"application/json":{"schema":{"$ref":"#/components/schemas/ScoreRequest"},"example":@SEED_REQUEST@}}},
  "responses":{
   "200":{"description":"The risk, tier and reasons, and the model version that scored","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/ScoreResponse"},"example":@SEED_RESPONSE@}}},
   "400":{"$ref":"#/components/responses/BadBody"},
   "401":{"$ref":"#/components/responses/Unauthorized"},
   "413":{"$ref":"#/components/responses/PayloadTooLarge"},
   "415":{"$ref":"#/components/responses/UnsupportedMediaType"},
   "409":{"description":"explain=true but the served model has no node covers to explain with","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"},"example":{"detail":"model risk-lgbm-imported: cannot explain (the model file has no node covers)"}}}},
   "422":{"$ref":"#/components/responses/ValidationFailed"},
   "500":{"$ref":"#/components/responses/InternalError"},
   "503":{"$ref":"#/components/responses/NoModel"}}})json"};

constexpr Endpoint kScoreBatch = {"/score/batch", "post", R"json({
  "operationId":"scoreBatch","tags":["scoring"],"summary":"Score up to @MAX_ITEMS@ customers",
  "description":"One result per item, in order; a bad item does not fail the others. An item with \"explain\": true (and optionally \"top\") adds drivers, baseline and margin to its result, as /score?explain=true does (docs/EXPLANATIONS.md).",
  "security":@SCORE_SECURITY@,
  "parameters":[@REQUEST_ID@,@TENANT_ID@],
  "requestBody":{"required":true,"description":"Up to @MAX_ITEMS@ /score bodies",
   "content":{"application/json":{"schema":{"$ref":"#/components/schemas/BatchScoreRequest"},
    "example":{"items":[@SEED_REQUEST@,{"userId":"u_002","features":{"activity_7d":9,"activity_30d":30,"time_since_last_use_days":1,"failed_renewals_30d":0,"tickets_7d":1,"plan_value":99,"region":"US","usage_score":0.8},"explain":true,"top":2}]}}}},
  "responses":{
   "200":{"description":"One result per item: a score (status 200, with drivers when the item asked to explain), that item's errors (status 422), status 409 when it asked to explain and the served model cannot, status 500 when the model failed on it","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/BatchScoreResponse"},
     "example":{"modelVersion":"risk-xgb-2026-11-26-0607","results":[
      {"status":200,"userId":"u_001","risk":0.4273,"tier":"medium","reasons":["inactive_14d","payment_issue_recent","low_feature_usage"],"modelVersion":"risk-xgb-2026-11-26-0607"},
      {"status":200,"userId":"u_002","risk":0.0312,"tier":"low","reasons":["general_risk_factors"],"modelVersion":"risk-xgb-2026-11-26-0607","drivers":[{"feature":"time_since_last_use_days","value":1,"contribution":-0.9121},{"feature":"activity_30d","value":30,"contribution":-0.4410}],"baseline":-1.9310,"margin":-3.4344},
      {"status":422,"detail":[{"loc":["body","items",2,"features","activity_7d"],"msg":"field required","type":"value_error.missing"}]}]}}}},
   "400":{"$ref":"#/components/responses/BadBody"},
   "401":{"$ref":"#/components/responses/Unauthorized"},
   "413":{"$ref":"#/components/responses/PayloadTooLarge"},
   "415":{"$ref":"#/components/responses/UnsupportedMediaType"},
   "422":{"description":"The batch as a whole broke the contract: not an object, items missing, null or not a list, or more than @MAX_ITEMS@ items","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/ValidationErrors"},
     "example":{"detail":[{"loc":["body","items"],"msg":"ensure this value has at most @MAX_ITEMS@ items","type":"value_error.list.max_items","ctx":{"limit_value":@MAX_ITEMS@}}]}}}},
   "503":{"$ref":"#/components/responses/NoModel"}}})json"};

// ---- operations ------------------------------------------------------------------------

constexpr Endpoint kHealthz = {"/healthz", "get", R"json({
  "operationId":"healthz","tags":["operations"],"summary":"Liveness and the serving model",
  "parameters":[@REQUEST_ID@,
   {"name":"detail","in":"query","required":false,"description":"1, true or yes: add the hot-reload state","schema":{"type":"string","enum":["1","true","yes"]},"example":"1"}],
  "responses":{
   "200":{"description":"A model is serving","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Health"},"example":{"ok":true,"modelVersion":"risk-xgb-2026-11-26-0607"}}}},
   "503":{"description":"No model loaded","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Health"},"example":{"ok":false,"detail":"no model loaded"}}}}}})json"};

constexpr Endpoint kReadyz = {"/readyz", "get", R"json({
  "operationId":"readyz","tags":["operations"],"summary":"Readiness: a model is loaded and the server is not stopping",
  "parameters":[@REQUEST_ID@],
  "responses":{
   "200":{"description":"Ready to score","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Ready"},"example":{"ready":true,"modelVersion":"risk-xgb-2026-11-26-0607"}}}},
   "503":{"description":"No model loaded yet, or shutting down","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Ready"},"example":{"ready":false,"detail":"shutting down"}}}}}})json"};

constexpr Endpoint kMetrics = {"/metrics", "get", R"json({
  "operationId":"metrics","tags":["operations"],"summary":"Prometheus metrics (text format 0.0.4)",
  "parameters":[@REQUEST_ID@],
  "responses":{
   "200":{"description":"HTTP, scoring, model and reload series (docs/OPERATIONS.md lists them)","headers":@HEADERS@,
    "content":{"text/plain":{"schema":{"type":"string"},"example":"# HELP csml_model_loaded 1 when a model is serving.\n# TYPE csml_model_loaded gauge\ncsml_model_loaded 1\n"}}}}})json"};

constexpr Endpoint kOpenApi = {"/openapi.json", "get", R"json({
  "operationId":"openapi","tags":["docs"],"summary":"This document",
  "description":"Open when scoring is open; needs the score token when CSML_SCORE_TOKEN is set.",
  "security":@SCORE_SECURITY@,
  "parameters":[@REQUEST_ID@],
  "responses":{
   "200":{"description":"The OpenAPI 3.0.3 document of this server","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"type":"object"},"example":{"openapi":"3.0.3","info":{"title":"csml churn-risk API","version":"@VERSION@"},"paths":{}}}}},
   "401":{"$ref":"#/components/responses/Unauthorized"}}})json"};

// ---- monitoring ------------------------------------------------------------------------

constexpr Endpoint kMonitorPage = {"/monitor", "get", R"json({
  "operationId":"monitorPage","tags":["monitoring"],"summary":"The live page: version, traffic, latency, tier mix, drift, reloads",
  "description":"A self-contained HTML page (inline script, style and SVG; it loads nothing else) that draws GET /monitor.json every 2 s (docs/MONITORING.md). Open when scoring is open; needs the score token when CSML_SCORE_TOKEN is set.",
  "security":@SCORE_SECURITY@,
  "parameters":[@REQUEST_ID@],
  "responses":{
   "200":{"description":"The page","headers":@HEADERS@,
    "content":{"text/html":{"schema":{"type":"string"},"example":"<!DOCTYPE html>..."}}},
   "401":{"$ref":"#/components/responses/Unauthorized"}}})json"};

constexpr Endpoint kMonitorJson = {"/monitor.json", "get", R"json({
  "operationId":"monitor","tags":["monitoring"],"summary":"What the live page draws, as JSON",
  "description":"The serving version and since when; requests and scores per second, latency (upper bounds of the /metrics buckets) over the last minute with one point per second; the tier mix of the drift window and since start; live drift (PSI per feature and of the risk over the last --drift-window scores against the version's reference profile, missing shares, alarms); the last reloads, newest first. Open when scoring is open; needs the score token when CSML_SCORE_TOKEN is set.",
  "security":@SCORE_SECURITY@,
  "parameters":[@REQUEST_ID@],
  "responses":{
   "200":{"description":"The figures now","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Monitor"},"example":@MONITOR_EXAMPLE@}}},
   "401":{"$ref":"#/components/responses/Unauthorized"}}})json"};

// ---- docs ------------------------------------------------------------------------------

constexpr Endpoint kDocs = {"/docs", "get", R"json({
  "operationId":"docs","tags":["docs"],"summary":"Swagger UI over this document",
  "description":"An interactive page: every endpoint, and a request sent from the browser. Every asset is served by csml (no CDN). Open when scoring is open; needs the score token when CSML_SCORE_TOKEN is set.",
  "security":@SCORE_SECURITY@,
  "parameters":[@REQUEST_ID@],
  "responses":{
   "200":{"description":"The page","headers":@HEADERS@,
    "content":{"text/html":{"schema":{"type":"string"},"example":"<!DOCTYPE html>..."}}},
   "401":{"$ref":"#/components/responses/Unauthorized"}}})json"};

constexpr Endpoint kDocsAsset = {"/docs/{asset}", "get", R"json({
  "operationId":"docsAsset","tags":["docs"],"summary":"A file of the Swagger UI page, or its licence",
  "description":"Swagger UI's files (npm swagger-ui-dist, embedded into csml at build time), the page's initializer, and Swagger UI's LICENSE and NOTICE (Apache-2.0).",
  "security":@SCORE_SECURITY@,
  "parameters":[@REQUEST_ID@,
   {"name":"asset","in":"path","required":true,"description":"The file name","schema":{"type":"string","enum":@DOCS_ASSETS@},"example":"LICENSE"}],
  "responses":{
   "200":{"description":"The file, with a strong ETag for the embedded ones","headers":@HEADERS@,
    "content":{"text/javascript":{"schema":{"type":"string"}},"text/css":{"schema":{"type":"string"}},
     "image/png":{"schema":{"type":"string","format":"binary"}},
     "text/plain":{"schema":{"type":"string"},"example":"Apache License\nVersion 2.0, January 2004\n..."}}},
   "304":{"description":"If-None-Match named the file's ETag","headers":@HEADERS@},
   "401":{"$ref":"#/components/responses/Unauthorized"},
   "404":{"$ref":"#/components/responses/NotFound"}}})json"};

// ---- admin -----------------------------------------------------------------------------

constexpr Endpoint kAdminReload = {"/admin/reload", "post", R"json({
  "operationId":"adminReload","tags":["admin"],"summary":"Look at the registry now and load the version it names",
  "description":"Waits for the attempt and answers with its outcome. A version refused before is tried again. Never answers CORS preflights.",
  "security":[{"adminToken":[]}],
  "parameters":[@REQUEST_ID@],
  "responses":{
   "200":{"description":"Loaded, or nothing new to load","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/ReloadResult"},
     "example":{"outcome":"loaded","version":"risk-xgb-2025-08-22-0900","previousVersion":"risk-xgb-2025-08-15-0900","modelVersion":"risk-xgb-2025-08-22-0900","loadMs":4.1}}}},
   "401":{"$ref":"#/components/responses/Unauthorized"},
   "403":{"description":"Admin endpoints are disabled: CSML_ADMIN_TOKEN is not set","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"},
     "example":{"detail":"Admin endpoints are disabled: set CSML_ADMIN_TOKEN to enable them"}}}},
   "409":{"description":"The version the registry names was refused (or there is none); the serving model is unchanged","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/ReloadResult"},
     "example":{"outcome":"failed","version":"risk-xgb-2025-08-22-0900","modelVersion":"risk-xgb-2025-08-15-0900","loadMs":2.3,"error":"model.json: schema mismatch"}}}},
   "503":{"description":"Hot reload is not running","headers":@HEADERS@,
    "content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"},"example":{"detail":"hot reload is not running"}}}}}})json"};

// Every endpoint, in the order the document lists them. One line per endpoint.
constexpr Endpoint kEndpoints[] = {kScore,   kScoreBatch,  kHealthz,     kReadyz,
                                   kMetrics, kMonitorPage, kMonitorJson, kOpenApi,
                                   kDocs,    kDocsAsset,   kAdminReload};

// ---- shared parts ----------------------------------------------------------------------

constexpr std::string_view kInfo = R"json({
 "title":"csml churn-risk API","version":"@VERSION@",
 "description":"Churn-risk scores for the Customer Success platform, with operations endpoints (docs/API.md). Errors use FastAPI's shapes: {\"detail\": \"...\"} or, for validation, {\"detail\": [pydantic v1 errors]}. Every response carries X-Request-Id. Any path no route has is a 404 (components/responses/NotFound); a method a path does not answer is a 405 with Allow (components/responses/MethodNotAllowed); a trailing-slash variant of a route is a 307 to the route."})json";

constexpr std::string_view kTags = R"json([
 {"name":"scoring","description":"The churn-risk API of the Python service csml replaces"},
 {"name":"operations","description":"Health, readiness and metrics for load balancers and Prometheus"},
 {"name":"monitoring","description":"The live page of the served version: traffic, tiers, drift, reloads"},
 {"name":"docs","description":"This document and its Swagger UI"},
 {"name":"admin","description":"Needs CSML_ADMIN_TOKEN; 403 when none is set"}])json";

// An error answer with a {"detail": "..."} body.
std::string DetailError(std::string_view description, std::string_view example,
                        std::string_view extra_headers = "") {
  std::string out = R"json({"description":)json";
  AppendJsonString(&out, description);
  out += R"json(,"headers":{"X-Request-Id":{"$ref":"#/components/headers/XRequestId"})json";
  out += extra_headers;
  out +=
      R"json(},"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"},"example":{"detail":)json";
  AppendJsonString(&out, example);
  out += "}}}}";
  return out;
}

std::string Responses() {
  std::string out = "{";
  const auto add = [&](std::string_view name, const std::string& response) {
    if (out.size() > 1) out += ",\n  ";
    AppendJsonString(&out, name);
    out += ":" + response;
  };
  add("BadBody", DetailError("400: the body could not be read as text (invalid UTF-8, nesting "
                             "deeper than 900 levels)",
                             "There was an error parsing the body"));
  add("Unauthorized",
      DetailError(
          "401: a bearer token is required and missing (Not authenticated) or wrong "
          "(Invalid authentication credentials)",
          "Not authenticated",
          R"json(,"WWW-Authenticate":{"description":"Bearer, or Bearer error=\"invalid_token\"","schema":{"type":"string"}})json"));
  add("NotFound", DetailError("404: no route has the path", "Not Found"));
  add("MethodNotAllowed",
      DetailError(
          "405: the path exists, the method does not", "Method Not Allowed",
          R"json(,"Allow":{"description":"The methods the path answers","schema":{"type":"string"},"example":"POST"})json"));
  add("PayloadTooLarge", DetailError("413: the body is above --max-body-bytes (default 1 MiB)",
                                     "Request body exceeds the limit of 1048576 bytes"));
  add("UnsupportedMediaType",
      DetailError("415: a Content-Encoding other than identity (send bodies uncompressed)",
                  "Content-Encoding 'gzip' is not supported; send the body uncompressed"));
  add("ValidationFailed",
      R"json({"description":"422: the body broke the contract; one pydantic v1 error per problem (docs/API.md lists them)","headers":@HEADERS@,
   "content":{"application/json":{"schema":{"$ref":"#/components/schemas/ValidationErrors"},
    "example":{"detail":[{"loc":["body","features","usage_score"],"msg":"value is not a valid float","type":"type_error.float"},{"loc":["body","features","activity_7d"],"msg":"ensure this value is greater than or equal to 0","type":"value_error.number.not_ge","ctx":{"limit_value":0}}]}}}})json");
  add("InternalError", DetailError("500: the model failed on this request (logged with the userId, "
                                   "never explained)",
                                   "Internal Server Error"));
  add("NoModel", DetailError("503: no model loaded", "no model loaded"));
  return out + "}";
}

constexpr std::string_view kSchemas = R"json({
  "Features":{"type":"object","additionalProperties":true,"description":"docs/FEATURES.md: eight required keys and the optional tickets_30d; null is a missing value; unknown keys are ignored",
   "required":["activity_7d","activity_30d","time_since_last_use_days","failed_renewals_30d","tickets_7d","plan_value","usage_score","region"],
   "properties":{
    "activity_7d":{"type":"number","minimum":0,"nullable":true,"description":"Active days in the last 7 days"},
    "activity_30d":{"type":"number","minimum":0,"nullable":true,"description":"Active days in the last 30 days"},
    "time_since_last_use_days":{"type":"number","minimum":0,"nullable":true,"description":"Days since the last use"},
    "failed_renewals_30d":{"type":"number","minimum":0,"nullable":true,"description":"Failed renewal payments in the last 30 days"},
    "tickets_7d":{"type":"number","minimum":0,"nullable":true,"description":"Support tickets in the last 7 days"},
    "tickets_30d":{"type":"number","minimum":0,"nullable":true,"description":"Support tickets in the last 30 days (optional)"},
    "plan_value":{"type":"number","minimum":0,"nullable":true,"description":"Monthly plan value"},
    "usage_score":{"type":"number","minimum":0,"maximum":1,"nullable":true,"description":"Feature usage, 0 to 1"},
    "region":{"type":"string","nullable":true,"description":"IN, SG, US or EU, in any letter case; any other string encodes as none of them"}},
   "example":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}},
  "ScoreRequest":{"type":"object","required":["userId","features"],"description":"One customer to score",
   "properties":{"userId":{"type":"string","description":"The customer; echoed in logs, not used to score"},"features":{"$ref":"#/components/schemas/Features"}},
   "example":@SEED_REQUEST@},
  "ScoreResponse":{"type":"object","required":["risk","tier","reasons","modelVersion"],"description":"A score; keys always in this order",
   "properties":{
    "risk":{"type":"number","minimum":0,"maximum":1,"description":"Churn probability, rounded to 4 decimals"},
    "tier":{"type":"string","enum":["low","medium","high"],"description":"From the rounded risk and the version's thresholds"},
    "reasons":{"type":"array","description":"The reason rules that hold, in their fixed order; with model reasons (csml serve --reasons model) the codes of the features whose TreeSHAP contribution raised the risk, largest first, at most 4 (docs/EXPLANATIONS.md)","items":{"type":"string","enum":["inactive_14d","payment_issue_recent","no_recent_activity","low_feature_usage","general_risk_factors","low_activity_30d","support_tickets_7d","support_tickets_30d","low_plan_value","high_plan_value","region_in","region_sg","region_us","region_eu"]}},
    "modelVersion":{"type":"string","description":"The registry version that scored this request"},
    "drivers":{"type":"array","description":"explain=true only: the largest TreeSHAP contributions, by magnitude","items":{"$ref":"#/components/schemas/Driver"}},
    "baseline":{"type":"number","description":"explain=true only: the expected margin (log-odds) drivers start from"},
    "margin":{"type":"number","description":"explain=true only: the model's raw output (log-odds) before the sigmoid and any calibration; baseline + all contributions"}},
   "example":@SEED_RESPONSE@},
  "Driver":{"type":"object","required":["feature","value","contribution"],"description":"One feature's TreeSHAP contribution to the margin",
   "properties":{"feature":{"type":"string","description":"Model column (region one-hot columns: region_IN, ...)"},
    "value":{"type":"number","nullable":true,"description":"The value the model saw; null when missing"},
    "contribution":{"type":"number","description":"Log-odds; > 0 raised the risk"}},
   "example":{"feature":"time_since_last_use_days","value":15,"contribution":0.8123}},
  "BatchScoreRequest":{"type":"object","required":["items"],"description":"Customers scored by one model version",
   "properties":{"items":{"type":"array","maxItems":@MAX_ITEMS@,"description":"At most @MAX_ITEMS@ (--max-batch-items)","items":{"$ref":"#/components/schemas/BatchScoreItem"}}},
   "example":{"items":[@SEED_REQUEST@]}},
  "BatchScoreItem":{"type":"object","required":["userId","features"],"description":"One customer of a batch: a /score body, optionally asking for its explanation",
   "properties":{"userId":{"type":"string","description":"The customer; echoed in logs, not used to score"},"features":{"$ref":"#/components/schemas/Features"},
    "explain":{"type":"boolean","default":false,"description":"true: add drivers, baseline and margin to this item's result (JSON true or false only)"},
    "top":{"oneOf":[{"type":"integer","minimum":1},{"type":"string","enum":["all"]}],"default":4,"description":"With explain: how many drivers, a whole number >= 1 or all"}},
   "example":{"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2},"explain":true,"top":"all"}},
  "BatchItemResult":{"type":"object","required":["status"],
   "description":"status 200: userId and the ScoreResponse fields (drivers, baseline and margin when the item asked to explain); status 422: detail holds the item's errors, located under [body, items, index]; status 409: the item asked to explain and the served model has no node covers; status 500: the model failed on the item",
   "properties":{
    "status":{"type":"integer","enum":[200,409,422,500],"description":"This item's outcome"},
    "userId":{"type":"string"},
    "risk":{"type":"number","minimum":0,"maximum":1},"tier":{"type":"string","enum":["low","medium","high"]},
    "reasons":{"type":"array","items":{"type":"string"}},
    "modelVersion":{"type":"string"},
    "drivers":{"type":"array","description":"explain: true only: the largest TreeSHAP contributions, by magnitude","items":{"$ref":"#/components/schemas/Driver"}},
    "baseline":{"type":"number","description":"explain: true only: the expected margin (log-odds) drivers start from"},
    "margin":{"type":"number","description":"explain: true only: the model's raw output (log-odds); baseline + all contributions"},
    "detail":{"description":"The item's errors (422), the reason it cannot be explained (409) or Internal Server Error (500)","oneOf":[{"type":"string"},{"type":"array","items":{"$ref":"#/components/schemas/ValidationError"}}]}},
   "example":{"status":200,"userId":"u_001","risk":0.4273,"tier":"medium","reasons":["inactive_14d","payment_issue_recent","low_feature_usage"],"modelVersion":"risk-xgb-2026-11-26-0607"}},
  "BatchScoreResponse":{"type":"object","required":["modelVersion","results"],"description":"One result per item, in order",
   "properties":{"modelVersion":{"type":"string","description":"The one version that scored every item"},
    "results":{"type":"array","items":{"$ref":"#/components/schemas/BatchItemResult"}}},
   "example":{"modelVersion":"risk-xgb-2026-11-26-0607","results":[{"status":422,"detail":[{"loc":["body","items",0,"userId"],"msg":"field required","type":"value_error.missing"}]}]}},
  "ValidationError":{"type":"object","required":["loc","msg","type"],"description":"One pydantic v1 error",
   "properties":{"loc":{"type":"array","description":"Where: body, then keys and indexes","items":{"oneOf":[{"type":"string"},{"type":"integer"}]}},
    "msg":{"type":"string","description":"What, as pydantic words it"},"type":{"type":"string","description":"pydantic's error type"},
    "ctx":{"type":"object","description":"Limits of some types, e.g. limit_value"}},
   "example":{"loc":["body","features","usage_score"],"msg":"ensure this value is less than or equal to 1","type":"value_error.number.not_le","ctx":{"limit_value":1}}},
  "ValidationErrors":{"type":"object","required":["detail"],"description":"FastAPI's 422 body",
   "properties":{"detail":{"type":"array","items":{"$ref":"#/components/schemas/ValidationError"}}},
   "example":{"detail":[{"loc":["body","userId"],"msg":"field required","type":"value_error.missing"}]}},
  "Detail":{"type":"object","required":["detail"],"description":"FastAPI's error body",
   "properties":{"detail":{"type":"string","description":"What went wrong"}},"example":{"detail":"Not Found"}},
  "Health":{"type":"object","required":["ok"],"description":"Liveness",
   "properties":{"ok":{"type":"boolean","description":"A model is serving"},"modelVersion":{"type":"string"},"detail":{"type":"string"},
    "reload":{"type":"object","description":"With ?detail=1: the hot-reload state (enabled, servingSince, degraded, counts, lastAttempt and lastFailure)"}},
   "example":{"ok":true,"modelVersion":"risk-xgb-2026-11-26-0607"}},
  "Ready":{"type":"object","required":["ready"],"description":"Readiness",
   "properties":{"ready":{"type":"boolean"},"modelVersion":{"type":"string"},"detail":{"type":"string","description":"no model loaded, or shutting down"}},
   "example":{"ready":true,"modelVersion":"risk-xgb-2026-11-26-0607"}},
  "ReloadResult":{"type":"object","required":["outcome"],"description":"The outcome of one reload attempt; keys without a value are left out",
   "properties":{
    "outcome":{"type":"string","enum":["loaded","unchanged","failed","no_version"]},
    "version":{"type":"string","description":"What the registry names"},
    "previousVersion":{"type":"string","description":"What served before"},
    "modelVersion":{"type":"string","description":"What is serving after the attempt"},
    "loadMs":{"type":"number","description":"How long the load and its checks took"},
    "error":{"type":"string","description":"Why it failed"}},
   "example":{"outcome":"unchanged","version":"risk-xgb-2025-08-22-0900","modelVersion":"risk-xgb-2025-08-22-0900","loadMs":0.1}},
  "FeatureDrift":{"type":"object","required":["name","psi","missingShare","referenceMissingShare","alarm"],"description":"One feature over the drift window",
   "properties":{"name":{"type":"string","description":"A contract feature (docs/FEATURES.md), or region"},
    "psi":{"type":"number","nullable":true,"description":"Population stability index against the training rows; null with no scores"},
    "missingShare":{"type":"number","nullable":true,"description":"Share of the window's scores with the feature missing"},
    "referenceMissingShare":{"type":"number","description":"The same share among the training rows"},
    "alarm":{"type":"boolean","description":"true from a PSI above 0.25 until it falls below 0.2"}},
   "example":{"name":"usage_score","psi":0.412,"missingShare":0.06,"referenceMissingShare":0.01,"alarm":true}},
  "Monitor":{"type":"object","required":["version","servingSince","startedAt","now","csmlVersion","traffic","tiers","drift","reloads","reload"],"description":"GET /monitor.json (docs/MONITORING.md)",
   "properties":{
    "version":{"type":"string","nullable":true,"description":"The serving version; null when none"},
    "servingSince":{"type":"string","format":"date-time","nullable":true},
    "startedAt":{"type":"string","format":"date-time"},"now":{"type":"string","format":"date-time"},
    "csmlVersion":{"type":"string"},
    "traffic":{"type":"object","description":"POST /score and /score/batch over the last minute (one sample a second)",
     "properties":{"seconds":{"type":"number"},"requestsPerSecond":{"type":"number"},"scoresPerSecond":{"type":"number"},
      "latencyMs":{"type":"object","description":"mean, and p50/p90/p99 as the upper bound of their /metrics bucket; null with no requests"},
      "series":{"type":"array","items":{"type":"object","description":"t (seconds before now, <= 0), requestsPerSecond, p99Ms"}}}},
    "tiers":{"type":"object","description":"window: the drift window's scores by tier; total: every score since start"},
    "drift":{"type":"object","description":"Live drift of the serving version",
     "properties":{"available":{"type":"boolean","description":"false when live drift is off or the version has no reference profile"},
      "window":{"type":"integer","description":"--drift-window"},"scores":{"type":"integer","description":"Scores in the window now"},
      "alarmAt":{"type":"number"},"recoveredAt":{"type":"number"},
      "risk":{"type":"object","description":"psi of the risk and its alarm"},
      "features":{"type":"array","items":{"$ref":"#/components/schemas/FeatureDrift"}}}},
    "reloads":{"type":"array","description":"The last reload attempts, newest first","items":{"type":"object"}},
    "reload":{"type":"object","description":"The hot-reload state, as /healthz?detail=1 has it"}},
   "example":@MONITOR_EXAMPLE@}})json";

constexpr std::string_view kComponentsRest = R"json(
 "parameters":{
  "XTenantId":{"name":"X-Tenant-Id","in":"header","required":false,
   "description":"The tenant whose model answers: a tenant with a model of its own gets it (modelVersion <tenant>/<version>), any other tenant and a request without the header get the global model (docs/OPERATIONS.md section 12). A bad id is a 422 on [header, x-tenant-id].",
   "schema":{"type":"string","minLength":1,"maxLength":64,"pattern":"^[A-Za-z0-9][A-Za-z0-9_-]*$"},"example":"acme"},
  "XRequestId":{"name":"X-Request-Id","in":"header","required":false,
   "description":"1 to 128 characters from A-Z a-z 0-9 - _ . : ; echoed in the answer and logged. Otherwise the server makes one.",
   "schema":{"type":"string","minLength":1,"maxLength":128,"pattern":"^[A-Za-z0-9._:-]+$"}}},
 "headers":{
  "XRequestId":{"description":"The request's X-Request-Id, or one the server made (<8 hex digits>-<thread>-<counter>)","schema":{"type":"string"},"example":"req-7f3a.1"}},
 "securitySchemes":{
  "scoreToken":{"type":"http","scheme":"bearer","description":"CSML_SCORE_TOKEN: Authorization: Bearer <token> on the score and docs routes when it is set"},
  "adminToken":{"type":"http","scheme":"bearer","description":"CSML_ADMIN_TOKEN: Authorization: Bearer <token> on /admin/*"}})json";

constexpr std::string_view kSeedRequest =
    R"json({"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}})json";
constexpr std::string_view kSeedResponse =
    R"json({"risk":0.4273,"tier":"medium","reasons":["inactive_14d","payment_issue_recent","low_feature_usage"],"modelVersion":"risk-xgb-2026-11-26-0607"})json";

constexpr std::string_view kMonitorExample =
    R"json({"version":"risk-xgb-2026-12-01-0900","servingSince":"2026-12-01T09:05:12Z","startedAt":"2026-12-01T09:05:11Z","now":"2026-12-02T10:00:00Z","csmlVersion":"@VERSION@",
 "traffic":{"seconds":60,"requestsPerSecond":412.5,"scoresPerSecond":530.1,"latencyMs":{"requests":24750,"mean":0.081,"p50":0.1,"p90":0.1,"p99":0.25},"series":[{"t":-1,"requestsPerSecond":409,"p99Ms":0.25},{"t":0,"requestsPerSecond":416,"p99Ms":0.25}]},
 "tiers":{"window":{"low":7012,"medium":1985,"high":1003},"total":{"low":3512004,"medium":1003120,"high":499321}},
 "drift":{"available":true,"window":10000,"scores":10000,"alarmAt":0.25,"recoveredAt":0.2,"risk":{"psi":0.031,"alarm":false},
  "features":[{"name":"usage_score","psi":0.412,"missingShare":0.06,"referenceMissingShare":0.01,"alarm":true},{"name":"region","psi":0.004,"missingShare":0,"referenceMissingShare":0,"alarm":false}]},
 "reloads":[{"outcome":"loaded","trigger":"startup","version":"risk-xgb-2026-12-01-0900","at":"2026-12-01T09:05:12Z","loadMs":3.2}],
 "reload":{"enabled":true,"servingSince":"2026-12-01T09:05:12Z","degraded":false,"loaded":1,"failed":0,"unchanged":0,"polls":12,"retired":0,"retiredInUse":0}})json";

void ReplaceAll(std::string* text, std::string_view from, std::string_view to) {
  for (std::size_t at = text->find(from); at != std::string::npos;
       at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

// The paths object: the endpoints grouped by path, in their order.
std::string Paths() {
  std::string out = "{";
  for (std::size_t i = 0; i < std::size(kEndpoints); ++i) {
    const Endpoint& endpoint = kEndpoints[i];
    bool seen = false;
    for (std::size_t j = 0; j < i; ++j) seen = seen || kEndpoints[j].path == endpoint.path;
    if (seen) continue;
    if (out.size() > 1) out += ",\n";
    AppendJsonString(&out, endpoint.path);
    out += ":{";
    bool first = true;
    for (std::size_t j = i; j < std::size(kEndpoints); ++j) {
      if (kEndpoints[j].path != endpoint.path) continue;
      if (!first) out += ",";
      first = false;
      AppendJsonString(&out, kEndpoints[j].method);
      out += ":";
      out += kEndpoints[j].operation;
    }
    out += "}";
  }
  return out + "}";
}

}  // namespace

std::string BuildOpenApiDocument(const OpenApiParams& params) {
  std::string doc = "{\"openapi\":\"3.0.3\",\n\"info\":";
  doc += kInfo;
  doc += ",\n\"tags\":";
  doc += kTags;
  doc += ",\n\"paths\":";
  doc += Paths();
  doc += ",\n\"components\":{\n \"responses\":";
  doc += Responses();
  doc += ",\n \"schemas\":";
  doc += kSchemas;
  doc += ",";
  doc += kComponentsRest;
  doc += "}}\n";

  std::string assets = "[";
  for (const std::string_view name : params.docs_assets) {
    if (assets.size() > 1) assets += ",";
    AppendJsonString(&assets, name);
  }
  assets += "]";
  ReplaceAll(&doc, "@REQUEST_ID@", R"json({"$ref":"#/components/parameters/XRequestId"})json");
  ReplaceAll(&doc, "@TENANT_ID@", R"json({"$ref":"#/components/parameters/XTenantId"})json");
  ReplaceAll(&doc, "@HEADERS@",
             R"json({"X-Request-Id":{"$ref":"#/components/headers/XRequestId"}})json");
  ReplaceAll(&doc, "@SCORE_SECURITY@",
             params.score_token_required ? R"([{"scoreToken":[]}])" : "[]");
  ReplaceAll(&doc, "@MAX_ITEMS@", fmt::format("{}", params.max_batch_items));
  ReplaceAll(&doc, "@SEED_REQUEST@", kSeedRequest);
  ReplaceAll(&doc, "@SEED_RESPONSE@", kSeedResponse);
  ReplaceAll(&doc, "@MONITOR_EXAMPLE@", kMonitorExample);
  ReplaceAll(&doc, "@DOCS_ASSETS@", assets);
  ReplaceAll(&doc, "@VERSION@", params.version);
  return doc;
}

}  // namespace csml::server
