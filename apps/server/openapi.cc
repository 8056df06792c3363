#include "openapi.h"

#include <fmt/format.h>

namespace csml::server {
namespace {

// Placeholders: @VERSION@, @MAX_ITEMS@, @SCORE_SECURITY@.
constexpr std::string_view kTemplate = R"json({
"openapi":"3.0.3",
"info":{"title":"csml churn-risk API","version":"@VERSION@",
 "description":"Churn-risk scores for the Customer Success platform, with operations endpoints. Errors use FastAPI's shapes: {\"detail\": \"...\"} or {\"detail\": [pydantic v1 errors]}. Every response carries X-Request-Id."},
"paths":{
 "/score":{"post":{"operationId":"score","summary":"Score one customer",
  "security":@SCORE_SECURITY@,
  "parameters":[{"name":"explain","in":"query","required":false,"description":"true/1/yes/on: add drivers, baseline and margin (docs/EXPLANATIONS.md)","schema":{"type":"boolean","default":false}},
   {"name":"top","in":"query","required":false,"description":"With explain: how many drivers, a whole number >= 1 or all","schema":{"oneOf":[{"type":"integer","minimum":1},{"type":"string","enum":["all"]}],"default":4}}],
  "requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/ScoreRequest"}}}},
  "responses":{
   "200":{"description":"The risk, tier and reasons","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ScoreResponse"}}}},
   "400":{"description":"The body could not be read (invalid UTF-8, nesting too deep)","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "401":{"description":"Missing or wrong bearer token (when CSML_SCORE_TOKEN is set)","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "413":{"description":"Body above the size limit","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "415":{"description":"A Content-Encoding other than identity","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "409":{"description":"explain=true but the served model has no node covers to explain with","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "422":{"description":"The request broke the contract: one entry per problem","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ValidationErrors"}}}},
   "503":{"description":"No model loaded","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}}}}},
 "/score/batch":{"post":{"operationId":"scoreBatch","summary":"Score up to @MAX_ITEMS@ customers with one model version",
  "security":@SCORE_SECURITY@,
  "requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/BatchScoreRequest"}}}},
  "responses":{
   "200":{"description":"One result per item, in order: a score (status 200) or that item's errors (status 422)","content":{"application/json":{"schema":{"$ref":"#/components/schemas/BatchScoreResponse"}}}},
   "400":{"description":"The body could not be read","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "401":{"description":"Missing or wrong bearer token (when CSML_SCORE_TOKEN is set)","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "413":{"description":"Body above the size limit","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "415":{"description":"A Content-Encoding other than identity","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "422":{"description":"The batch as a whole broke the contract (not an object, items missing or not a list, too many items)","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ValidationErrors"}}}},
   "503":{"description":"No model loaded","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}}}}},
 "/healthz":{"get":{"operationId":"healthz","summary":"Liveness and the serving model",
  "parameters":[{"name":"detail","in":"query","required":false,"description":"1, true or yes: add the reload state","schema":{"type":"string"}}],
  "responses":{
   "200":{"description":"A model is serving","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Health"}}}},
   "503":{"description":"No model loaded","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Health"}}}}}}},
 "/readyz":{"get":{"operationId":"readyz","summary":"Readiness: a model is loaded and the server is not stopping",
  "responses":{
   "200":{"description":"Ready to score","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Ready"}}}},
   "503":{"description":"No model loaded yet, or shutting down","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Ready"}}}}}}},
 "/metrics":{"get":{"operationId":"metrics","summary":"Prometheus metrics (text format 0.0.4)",
  "responses":{"200":{"description":"Metrics","content":{"text/plain":{"schema":{"type":"string"}}}}}}},
 "/openapi.json":{"get":{"operationId":"openapi","summary":"This document",
  "responses":{"200":{"description":"OpenAPI 3.0 document","content":{"application/json":{"schema":{"type":"object"}}}}}}},
 "/admin/reload":{"post":{"operationId":"adminReload","summary":"Look at the registry now and load the version it names",
  "description":"Waits for the attempt and answers with its outcome. A version refused before is tried again.",
  "security":[{"adminToken":[]}],
  "responses":{
   "200":{"description":"Loaded, or nothing new to load","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ReloadResult"}}}},
   "401":{"description":"Missing or wrong admin token","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "403":{"description":"Admin endpoints are disabled: CSML_ADMIN_TOKEN is not set","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}},
   "409":{"description":"The version the registry names was refused (or there is none); the serving model is unchanged","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ReloadResult"}}}},
   "503":{"description":"Hot reload is not running","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Detail"}}}}}}}
},
"components":{
 "securitySchemes":{
  "scoreToken":{"type":"http","scheme":"bearer","description":"CSML_SCORE_TOKEN"},
  "adminToken":{"type":"http","scheme":"bearer","description":"CSML_ADMIN_TOKEN"}},
 "schemas":{
  "Features":{"type":"object","additionalProperties":true,
   "required":["activity_7d","activity_30d","time_since_last_use_days","failed_renewals_30d","tickets_7d","plan_value","usage_score","region"],
   "properties":{
    "activity_7d":{"type":"number","minimum":0,"nullable":true},
    "activity_30d":{"type":"number","minimum":0,"nullable":true},
    "time_since_last_use_days":{"type":"number","minimum":0,"nullable":true},
    "failed_renewals_30d":{"type":"number","minimum":0,"nullable":true},
    "tickets_7d":{"type":"number","minimum":0,"nullable":true},
    "tickets_30d":{"type":"number","minimum":0,"nullable":true},
    "plan_value":{"type":"number","minimum":0,"nullable":true},
    "usage_score":{"type":"number","minimum":0,"maximum":1,"nullable":true},
    "region":{"type":"string","nullable":true,"description":"IN, SG, US or EU, in any letter case; any other string encodes as none of them"}}},
  "ScoreRequest":{"type":"object","required":["userId","features"],
   "properties":{"userId":{"type":"string"},"features":{"$ref":"#/components/schemas/Features"}}},
  "ScoreResponse":{"type":"object","required":["risk","tier","reasons","modelVersion"],
   "properties":{
    "risk":{"type":"number","minimum":0,"maximum":1,"description":"Churn probability, 4 decimals"},
    "tier":{"type":"string","enum":["low","medium","high"]},
    "reasons":{"type":"array","items":{"type":"string","enum":["inactive_14d","payment_issue_recent","no_recent_activity","low_feature_usage","general_risk_factors"]}},
    "modelVersion":{"type":"string"},
    "drivers":{"type":"array","description":"explain=true only: the largest TreeSHAP contributions, by magnitude","items":{"$ref":"#/components/schemas/Driver"}},
    "baseline":{"type":"number","description":"explain=true only: the expected margin (log-odds) drivers start from"},
    "margin":{"type":"number","description":"explain=true only: the model's raw output (log-odds) before the sigmoid; baseline + all contributions"}}},
  "Driver":{"type":"object","required":["feature","value","contribution"],
   "properties":{"feature":{"type":"string","description":"Model column (region one-hot columns: region_IN, ...)"},
    "value":{"type":"number","nullable":true,"description":"The value the model saw; null when missing"},
    "contribution":{"type":"number","description":"Log-odds; > 0 raised the risk"}}},
  "BatchScoreRequest":{"type":"object","required":["items"],
   "properties":{"items":{"type":"array","maxItems":@MAX_ITEMS@,"items":{"$ref":"#/components/schemas/ScoreRequest"}}}},
  "BatchItemResult":{"type":"object","required":["status"],
   "description":"status 200: userId and the ScoreResponse fields; status 422: detail holds the item's errors, located under [body, items, index]",
   "properties":{
    "status":{"type":"integer","enum":[200,422,500]},
    "userId":{"type":"string"},
    "risk":{"type":"number"},"tier":{"type":"string"},
    "reasons":{"type":"array","items":{"type":"string"}},
    "modelVersion":{"type":"string"},
    "detail":{"oneOf":[{"type":"string"},{"type":"array","items":{"$ref":"#/components/schemas/ValidationError"}}]}}},
  "BatchScoreResponse":{"type":"object","required":["modelVersion","results"],
   "properties":{"modelVersion":{"type":"string","description":"The one version that scored every item"},
    "results":{"type":"array","items":{"$ref":"#/components/schemas/BatchItemResult"}}}},
  "ValidationError":{"type":"object","required":["loc","msg","type"],
   "properties":{"loc":{"type":"array","items":{"oneOf":[{"type":"string"},{"type":"integer"}]}},
    "msg":{"type":"string"},"type":{"type":"string"},"ctx":{"type":"object"}}},
  "ValidationErrors":{"type":"object","required":["detail"],
   "properties":{"detail":{"type":"array","items":{"$ref":"#/components/schemas/ValidationError"}}}},
  "Detail":{"type":"object","required":["detail"],"properties":{"detail":{"type":"string"}}},
  "Health":{"type":"object","required":["ok"],
   "properties":{"ok":{"type":"boolean"},"modelVersion":{"type":"string"},"detail":{"type":"string"},
    "reload":{"type":"object","description":"With ?detail=1: the hot-reload state (degraded, counts, last attempt and last failure)"}}},
  "Ready":{"type":"object","required":["ready"],
   "properties":{"ready":{"type":"boolean"},"modelVersion":{"type":"string"},"detail":{"type":"string"}}},
  "ReloadResult":{"type":"object","required":["outcome"],
   "properties":{
    "outcome":{"type":"string","enum":["loaded","unchanged","failed","no_version"]},
    "version":{"type":"string","description":"What the registry names"},
    "previousVersion":{"type":"string"},
    "modelVersion":{"type":"string","description":"What is serving after the attempt"},
    "loadMs":{"type":"number"},
    "error":{"type":"string"}}}}}
}
)json";

void ReplaceAll(std::string* text, std::string_view from, std::string_view to) {
  for (std::size_t at = text->find(from); at != std::string::npos;
       at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

}  // namespace

std::string BuildOpenApiDocument(const OpenApiParams& params) {
  std::string doc(kTemplate);
  ReplaceAll(&doc, "@VERSION@", params.version);
  ReplaceAll(&doc, "@MAX_ITEMS@", fmt::format("{}", params.max_batch_items));
  ReplaceAll(&doc, "@SCORE_SECURITY@",
             params.score_token_required ? R"([{"scoreToken":[]}])" : "[]");
  return doc;
}

}  // namespace csml::server
