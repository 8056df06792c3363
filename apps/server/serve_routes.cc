#include "serve_routes.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cors.h"
#include "csml/core/json_writer.h"
#include "csml/core/time.h"
#include "csml/serving/score_json.h"
#include "csml/serving/score_request.h"
#include "docs_page.h"
#include "live_drift.h"
#include "monitor_page.h"
#include "openapi.h"
#include "per_thread.h"
#include "prediction_logging.h"
#include "prometheus_text.h"

#ifndef CSML_VERSION
#define CSML_VERSION "unknown"
#endif

namespace csml::server {
namespace {

constexpr std::string_view kNoModel = "no model loaded";
constexpr std::string_view kCannotExplain = "the served model cannot explain its scores";
constexpr std::size_t kMaxBatchItemsLimit = 100'000;
// Tenants named on /metrics; the others are summed (bounded label cardinality).
constexpr std::size_t kTenantLabels = 20;
// Risk histogram buckets: the API prints risk in [0, 1].
constexpr std::array<double, 10> kRiskBounds = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
constexpr std::array<std::string_view, 10> kRiskBoundLabels = {"0.1", "0.2", "0.3", "0.4", "0.5",
                                                               "0.6", "0.7", "0.8", "0.9", "1"};
constexpr std::array<Tier, 3> kTiers = {Tier::kLow, Tier::kMedium, Tier::kHigh};

// The score routes' counters, one slot per thread (per_thread.h).
struct alignas(64) ScoreSlot {
  std::array<Counter, kRiskBounds.size() + 1> risk;  // the last bucket (+Inf) stays empty
  Counter risk_sum_micros;                           // sum of risk * 1e6
  std::array<Counter, kTiers.size()> tiers;
  Counter scored;  // /score 200s
  Counter rejected;
  Counter unavailable;
  Counter failed;
  Counter unauthorized;
  Counter unknown_keys;
  Counter requests_with_unknown_keys;
  Counter batches;  // /score/batch 200s
  Counter batch_items_scored;
  Counter batch_items_rejected;
  Counter batch_items_failed;
  Counter canary_answers;  // scores a canary version answered
  Counter tenant_answers;  // scores a tenant's own model answered
};

Response JsonResponse(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// FastAPI answers validation errors with 422 and bodies it could not read at all with 400.
int StatusFor(const ScoreRequestError& error) {
  return error.kind == ScoreRequestError::Kind::kUnparseable ? 400 : 422;
}

Response RejectionResponse(const ScoreRequestError& error, std::string_view route) {
  if (error.kind == ScoreRequestError::Kind::kUnparseable) {
    spdlog::debug("POST {}: unreadable body: {}", route, error.reason);
  }
  std::string body;
  AppendScoreRequestErrorJson(&body, error);
  return JsonResponse(StatusFor(error), std::move(body));
}

// True when the query has name=1, name=true or name=yes (any case).
bool QueryFlag(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name || eq == std::string_view::npos) continue;
    std::string value(pair.substr(eq + 1));
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return value == "1" || value == "true" || value == "yes";
  }
  return false;
}

// ---- POST /score?explain=true[&top=N|all] (docs/API.md "Explanations") --------------------

struct ExplainQuery {
  bool explain = false;
  std::size_t top = 4;  // drivers to list; SIZE_MAX for "all"
};

// The raw value of the first name=value pair of the query, if any.
std::optional<std::string_view> QueryValue(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return std::nullopt;
}

ValidationError QueryError(std::string_view name, std::string msg, std::string type,
                           std::string ctx_json = {}) {
  return ValidationError{{std::string("query"), std::string(name)},
                         std::move(msg),
                         std::move(type),
                         std::move(ctx_json)};
}

// FastAPI's reading of `explain: bool = False, top: int | "all" = 4`: pydantic's boolean
// words, a whole number >= 1 or "all"; anything else is a 422 naming the parameter.
tl::expected<ExplainQuery, ScoreRequestError> ParseExplainQuery(std::string_view query) {
  ExplainQuery out;
  ScoreRequestError error;
  if (const auto explain = QueryValue(query, "explain")) {
    std::string value(*explain);
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (value == "1" || value == "true" || value == "yes" || value == "on") {
      out.explain = true;
    } else if (!(value == "0" || value == "false" || value == "no" || value == "off")) {
      error.errors.push_back(
          QueryError("explain", "value could not be parsed to a boolean", "type_error.bool"));
    }
  }
  if (const auto top = QueryValue(query, "top")) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(top->data(), top->data() + top->size(), n);
    if (*top == "all") {
      out.top = std::numeric_limits<std::size_t>::max();
    } else if (ec != std::errc() || end != top->data() + top->size() || top->empty()) {
      error.errors.push_back(
          QueryError("top", "value is not a valid integer", "type_error.integer"));
    } else if (n < 1) {
      error.errors.push_back(QueryError("top", "ensure this value is greater than or equal to 1",
                                        "value_error.number.not_ge", R"({"limit_value":1})"));
    } else {
      out.top = n;
    }
  }
  if (!error.errors.empty()) return tl::unexpected(std::move(error));
  return out;
}

std::int64_t UnixSecondsOf(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void WriteReport(JsonWriter& json, const ReloadReport& report) {
  json.BeginObject();
  json.Key("outcome").String(ReloadOutcomeName(report.outcome));
  json.Key("trigger").String(ReloadTriggerName(report.trigger));
  if (!report.version.empty()) json.Key("version").String(report.version);
  if (!report.previous_version.empty()) json.Key("previousVersion").String(report.previous_version);
  json.Key("at").String(FormatRfc3339(UnixSecondsOf(report.finished_at)));
  json.Key("loadMs").Double(static_cast<double>(report.load_duration.count()) / 1000.0);
  if (!report.error.empty()) json.Key("error").String(report.error);
  json.EndObject();
}

// The answer to POST /admin/reload once the attempt ran.
Response ReloadResponse(const ReloadReport& report, const ModelManager& models) {
  const bool ok =
      report.outcome == ReloadOutcome::kLoaded || report.outcome == ReloadOutcome::kUnchanged;
  std::string body;
  JsonWriter json(&body);
  json.BeginObject();
  json.Key("outcome").String(ReloadOutcomeName(report.outcome));
  if (!report.version.empty()) json.Key("version").String(report.version);
  if (!report.previous_version.empty()) json.Key("previousVersion").String(report.previous_version);
  if (const auto model = models.Current()) json.Key("modelVersion").String(model->version());
  json.Key("loadMs").Double(static_cast<double>(report.load_duration.count()) / 1000.0);
  if (!report.error.empty()) json.Key("error").String(report.error);
  json.EndObject();
  return JsonResponse(ok ? 200 : 409, std::move(body));
}

}  // namespace

Status ServeRoutesOptions::Validate() const {
  if (max_batch_items < 1 || max_batch_items > kMaxBatchItemsLimit) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("max batch items: expected 1 to {}, got {}", kMaxBatchItemsLimit,
                                 max_batch_items));
  }
  if (drift_window != 0 &&
      (drift_window < LiveDrift::kMinWindow || drift_window > LiveDrift::kMaxWindow)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("drift window: expected 0 (off) or {} to {} scores, got {}",
                                 LiveDrift::kMinWindow, LiveDrift::kMaxWindow, drift_window));
  }
  Result<BearerToken> score = BearerToken::Create(score_token, "CSML_SCORE_TOKEN");
  if (!score) return tl::unexpected(score.error());
  Result<BearerToken> admin = BearerToken::Create(admin_token, "CSML_ADMIN_TOKEN");
  if (!admin) return tl::unexpected(admin.error());
  if (Result<CorsPolicy> cors = CorsPolicy::Create(cors_origins); !cors) {
    return tl::unexpected(cors.error());
  }
  if (score->SameAs(*admin)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "CSML_ADMIN_TOKEN: expected a token different from CSML_SCORE_TOKEN, got "
                     "the same one (a scoring client must not be able to reload models)");
  }
  return {};
}

struct ServeRoutes::Impl {
  ServeRoutesOptions options;
  ServeRoutesDeps deps;
  BearerToken score_token;
  BearerToken admin_token;
  std::string openapi;
  CorsPolicy cors;
  std::vector<DocsAsset> docs = DocsAssets();
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  std::atomic<bool> draining{false};
  PerThread<ScoreSlot> slots;
  std::unique_ptr<LiveDrift> drift;
  TrafficHistory traffic;
  // Last member, so it stops before anything its tick reads goes away.
  std::unique_ptr<Ticker> ticker;

  const ModelManager& models() const { return *deps.models; }

  static void RecordScore(ScoreSlot& slot, const ScoreResult& result) {
    std::size_t bucket = 0;
    while (bucket + 1 < kRiskBounds.size() && result.risk > kRiskBounds[bucket]) ++bucket;
    if (result.risk > kRiskBounds.back()) bucket = kRiskBounds.size();
    slot.risk[bucket].Add();
    slot.risk_sum_micros.Add(static_cast<std::uint64_t>(std::llround(result.risk * 1e6)));
    slot.tiers[static_cast<std::size_t>(result.tier)].Add();
  }

  static void RecordUnknownKeys(ScoreSlot& slot, std::uint32_t unknown) {
    if (unknown == 0) return;
    slot.unknown_keys.Add(unknown);
    slot.requests_with_unknown_keys.Add();
  }

  // nullopt when the request may score; else the 401 to answer.
  std::optional<Response> CheckScoreToken(const Request& request, ScoreSlot& slot) const {
    if (!score_token.configured()) return std::nullopt;
    const BearerCheck check = score_token.Check(request);
    if (check == BearerCheck::kOk) return std::nullopt;
    slot.unauthorized.Add();
    return UnauthorizedResponse(check);
  }

  // GET /openapi.json: behind the score token when one is set, like scoring.
  Response OpenApi(const Request& request) {
    if (auto denied = CheckScoreToken(request, slots.Local())) return std::move(*denied);
    Response response;
    response.body = openapi;
    return response;
  }

  // GET /docs and /docs/<asset> (docs_page.h): behind the score token when one is set.
  Response Docs(const Request& request, const DocsAsset& asset) {
    if (auto denied = CheckScoreToken(request, slots.Local())) return std::move(*denied);
    Response response;
    if (!asset.etag.empty()) {
      response.headers.emplace_back("etag", std::string(asset.etag));
      if (request.Header("if-none-match") == asset.etag) {
        response.status = 304;
        response.content_type = {};
        return response;
      }
    }
    response.content_type = asset.content_type;
    response.body.assign(asset.body);
    response.headers.emplace_back("cache-control", "no-cache");
    response.headers.emplace_back("x-content-type-options", "nosniff");
    response.headers.emplace_back("content-security-policy",
                                  std::string(kDocsContentSecurityPolicy));
    return response;
  }

  // The X-Tenant-Id a request names, or empty; a 422 for an id the registry would refuse.
  static tl::expected<std::string_view, ScoreRequestError> TenantOf(const Request& request) {
    const std::optional<std::string_view> header = request.Header("x-tenant-id");
    if (!header || header->empty()) return std::string_view();
    if (Status valid = ValidateTenantId(*header); !valid) {
      ScoreRequestError error;
      error.errors.push_back(ValidationError{{std::string("header"), std::string("x-tenant-id")},
                                             valid.error().message,
                                             "value_error.tenant_id",
                                             {}});
      return tl::unexpected(std::move(error));
    }
    return *header;
  }

  // Which model answers this customer (model_router.h); the global model when no router runs.
  Route RouteFor(std::string_view tenant, std::string_view user_id, bool count = true) const {
    if (deps.router != nullptr) return deps.router->Resolve(tenant, user_id, count);
    Route route;
    route.model = models().Current();
    return route;
  }

  // A tenant whose model is not loaded yet: the router thread loads it, then `answer` runs
  // there with the route and this request is answered (Request::Defer). Nobody else waits.
  // A server that cannot defer answers with the global model at once.
  template <typename Answer>
  Response AnswerWhenLoaded(const Request& request, std::string_view tenant,
                            std::string_view user_id, bool count, Answer answer) {
    Responder responder = request.Defer();
    if (!responder)
      return answer(ScoreCall{request.request_id, request.received, tenant}, RouteFor({}, user_id));
    auto shared = std::make_shared<Responder>(std::move(responder));
    deps.router->LoadThen(
        tenant, [this, shared, count, answer = std::move(answer), tenant = std::string(tenant),
                 user = std::string(user_id), request_id = std::string(request.request_id),
                 received = request.received]() {
          Route route = RouteFor(tenant, user, count);
          // Unloaded again already, or the router stopped: the global model answers.
          if (route.status == Route::Status::kLoading) route = RouteFor({}, user);
          shared->Send(answer(ScoreCall{request_id, received, tenant}, std::move(route)));
        });
    return DeferredResponse();
  }

  // Hands the shadow version its score of this customer (shadow_scorer.h); never waits.
  void OfferShadow(const Route& route, const ScoreCall& call, std::int32_t batch_index,
                   const ScoreRequest& scored_request, Tier answered) const {
    if (route.shadow == nullptr || deps.shadow == nullptr) return;
    ShadowOffer offer;
    offer.shadow = route.shadow;
    offer.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    offer.request_id = call.request_id;
    offer.endpoint = batch_index < 0 ? ScoreEndpoint::kScore : ScoreEndpoint::kScoreBatch;
    offer.batch_index = batch_index;
    offer.user_id = scored_request.user_id;
    offer.tenant = call.tenant;
    offer.answered_tier = answered;
    offer.features = &scored_request.features;
    deps.shadow->Offer(offer);
  }

  // Live drift is against the global served version's training profile: only its answers
  // count (a tenant's or a canary's rows would mix another model's profile into the window).
  static bool CountsForDrift(const Route& route) { return !route.tenant_model && !route.canary; }

  static void RecordRoute(ScoreSlot& slot, const Route& route) {
    if (route.canary) slot.canary_answers.Add();
    if (route.tenant_model) slot.tenant_answers.Add();
  }

  Response Score(const Request& request) {
    ScoreSlot& slot = slots.Local();
    if (auto denied = CheckScoreToken(request, slot)) return std::move(*denied);
    const auto explain = ParseExplainQuery(request.query);
    if (!explain) {
      slot.rejected.Add();
      return RejectionResponse(explain.error(), "/score");
    }
    const auto tenant = TenantOf(request);
    if (!tenant) {
      slot.rejected.Add();
      return RejectionResponse(tenant.error(), "/score");
    }
    ScoreRequestResult decoded = DecodeScoreRequest(
        request.body, BodyFormatFromContentType(request.Header("content-type").value_or("")));
    if (!decoded) {
      slot.rejected.Add();
      return RejectionResponse(decoded.error(), "/score");
    }
    // The request holds its route's models until it is answered, whatever a reload does.
    Route route = RouteFor(*tenant, decoded->user_id);
    if (route.status == Route::Status::kLoading) {
      return AnswerWhenLoaded(request, *tenant, decoded->user_id, /*count=*/true,
                              [this, explain = *explain, scored = std::move(*decoded)](
                                  const ScoreCall& call, Route loaded) {
                                return AnswerScore(call, explain, scored, std::move(loaded));
                              });
    }
    return AnswerScore(ScoreCall{request.request_id, request.received, *tenant}, *explain, *decoded,
                       std::move(route));
  }

  Response AnswerScore(const ScoreCall& call, const ExplainQuery& explain,
                       const ScoreRequest& scored_request, Route route) {
    ScoreSlot& slot = slots.Local();
    std::shared_ptr<const ServingModel> model = std::move(route.model);
    if (model == nullptr) {
      slot.unavailable.Add();
      return DetailResponse(503, kNoModel);
    }
    // Explained: scored and explained in one pass (the same numbers as Score and Explain).
    ScoreExplanation explanation;
    const bool explained = explain.explain && model->can_explain();
    const Result<ScoreResult> scored =
        explained ? model->ScoreExplained(scored_request.features, &explanation)
                  : model->Score(scored_request.features);
    if (!scored) {
      slot.failed.Add();
      spdlog::error("POST /score: userId {}: {}", scored_request.user_id, scored.error().message);
      return DetailResponse(500, "Internal Server Error");
    }
    slot.scored.Add();
    RecordScore(slot, *scored);
    RecordRoute(slot, route);
    if (CountsForDrift(route))
      drift->Record(*model, scored_request.features, scored->risk, scored->tier);
    RecordUnknownKeys(slot, scored_request.unknown_feature_keys);
    LogPrediction(deps.prediction_log, call, -1, scored_request, *scored, model->version(),
                  route.canary ? PredictionRole::kCanary : PredictionRole::kServed);
    OfferShadow(route, call, -1, scored_request, scored->tier);
    Response response;
    if (explain.explain) {
      if (!explained) return DetailResponse(409, kCannotExplain);
      WriteExplainedScore(*model, explanation, *scored, explain.top, &response);
    } else {
      response.body.reserve(160);
      AppendScoreResponseJson(&response.body, *scored, model->version());
    }
    response.log_model_version = model->version();
    response.log_keep_alive = std::move(model);
    return response;
  }

  // The valid items' scores, in item order: one batch walk per model answering (the served
  // version, and the canary's when some customers are in it).
  static std::vector<Result<ScoreResult>> ScoreValidItems(
      const std::vector<ScoreRequestResult>& items, const std::vector<Route>& routes) {
    std::vector<Result<ScoreResult>> scores(routes.size());
    std::vector<const ServingModel*> done;
    for (std::size_t first = 0; first < routes.size(); ++first) {
      const ServingModel* model = routes[first].model.get();
      if (std::find(done.begin(), done.end(), model) != done.end()) continue;
      done.push_back(model);
      std::vector<const RawFeatures*> features;
      std::vector<std::size_t> at;
      std::size_t valid = 0;
      for (const ScoreRequestResult& item : items) {
        if (!item) continue;
        if (valid >= first && routes[valid].model.get() == model) {
          features.push_back(&item->features);
          at.push_back(valid);
        }
        ++valid;
      }
      std::vector<Result<ScoreResult>> part(features.size());
      model->ScoreMany(features, part);
      for (std::size_t k = 0; k < at.size(); ++k) scores[at[k]] = std::move(part[k]);
    }
    return scores;
  }

  // The /score?explain=true body: the plain members, then drivers, baseline and margin.
  static void WriteExplainedScore(const ServingModel& model, const ScoreExplanation& explanation,
                                  const ScoreResult& scored, std::size_t top, Response* response) {
    response->body.reserve(512);
    JsonWriter json(&response->body);
    json.BeginObject();
    WriteScoreMembers(json, scored, model.version());
    WriteExplanationMembers(json, explanation, model.encoder().column_names(), top);
    json.EndObject();
  }

  Response ScoreBatch(const Request& request) {
    ScoreSlot& slot = slots.Local();
    if (auto denied = CheckScoreToken(request, slot)) return std::move(*denied);
    const auto tenant = TenantOf(request);
    if (!tenant) {
      slot.rejected.Add();
      return RejectionResponse(tenant.error(), "/score/batch");
    }
    BatchScoreRequestResult decoded = DecodeBatchScoreRequest(
        request.body, BodyFormatFromContentType(request.Header("content-type").value_or("")),
        options.max_batch_items);
    if (!decoded) {
      slot.rejected.Add();
      return RejectionResponse(decoded.error(), "/score/batch");
    }
    // The namespace's route; each item then takes its own (a canary splits by userId).
    Route route = RouteFor(*tenant, {}, /*count=*/false);
    if (route.status == Route::Status::kLoading) {
      return AnswerWhenLoaded(
          request, *tenant, {}, /*count=*/false,
          [this, batch = std::move(*decoded)](const ScoreCall& call, Route loaded) {
            return AnswerBatch(call, batch, std::move(loaded));
          });
    }
    return AnswerBatch(ScoreCall{request.request_id, request.received, *tenant}, *decoded,
                       std::move(route));
  }

  Response AnswerBatch(const ScoreCall& call, const BatchScoreRequest& batch, Route base) {
    ScoreSlot& slot = slots.Local();
    // The batch's modelVersion: the namespace's served version (items say which answered).
    std::shared_ptr<const ServingModel> model =
        base.canary ? std::move(base.served) : std::move(base.model);
    if (model == nullptr) {
      slot.unavailable.Add();
      return DetailResponse(503, kNoModel);
    }
    // Every item of the namespace base chose: the same tenant's models, or the global ones.
    const std::string_view tenant = base.tenant_model ? call.tenant : std::string_view();
    std::vector<Route> routes;
    routes.reserve(batch.items.size());
    for (const ScoreRequestResult& item : batch.items) {
      if (!item) continue;
      Route item_route = RouteFor(tenant, item->user_id);
      if (item_route.status == Route::Status::kLoading || item_route.model == nullptr) {
        item_route = Route{};
        item_route.model = model;  // unloaded meanwhile: the batch's own model answers
      }
      routes.push_back(std::move(item_route));
    }
    const std::vector<Result<ScoreResult>> scores = ScoreValidItems(batch.items, routes);
    std::size_t next_score = 0;
    Response response;
    response.body.reserve(64 + batch.items.size() * 200);
    JsonWriter json(&response.body);
    json.BeginObject();
    json.Key("modelVersion").String(model->version());
    json.Key("results").BeginArray();
    for (std::size_t i = 0; i < batch.items.size(); ++i) {
      const ScoreRequestResult& item = batch.items[i];
      json.BeginObject();
      if (!item) {
        slot.batch_items_rejected.Add();
        json.Key("status").Int(422);
        WriteScoreRequestErrorDetail(json, item.error());
        json.EndObject();
        continue;
      }
      const Route& item_route = routes[next_score];
      const ServingModel& item_model = *item_route.model;
      const Result<ScoreResult>& scored = scores[next_score++];
      if (!scored) {
        slot.batch_items_failed.Add();
        spdlog::error("POST /score/batch: item {}, userId {}: {}", i, item->user_id,
                      scored.error().message);
        json.Key("status").Int(500);
        json.Key("detail").String("Internal Server Error");
        json.EndObject();
        continue;
      }
      slot.batch_items_scored.Add();
      RecordScore(slot, *scored);
      RecordRoute(slot, item_route);
      if (CountsForDrift(item_route)) {
        drift->Record(item_model, item->features, scored->risk, scored->tier);
      }
      RecordUnknownKeys(slot, item->unknown_feature_keys);
      const auto index = static_cast<std::int32_t>(i);
      LogPrediction(deps.prediction_log, call, index, *item, *scored, item_model.version(),
                    item_route.canary ? PredictionRole::kCanary : PredictionRole::kServed);
      OfferShadow(item_route, call, index, *item, scored->tier);
      if (item->explain) {
        // The same members as /score?explain=true (docs/API.md), or this item's 409.
        const Result<ScoreExplanation> explanation = item_model.Explain(item->features);
        if (!explanation) {
          json.Key("status").Int(409);
          json.Key("detail").String(kCannotExplain);
          json.EndObject();
          continue;
        }
        json.Key("status").Int(200);
        json.Key("userId").String(item->user_id);
        WriteScoreMembers(json, *scored, item_model.version());
        WriteExplanationMembers(json, *explanation, item_model.encoder().column_names(),
                                item->explain_top);
        json.EndObject();
        continue;
      }
      json.Key("status").Int(200);
      json.Key("userId").String(item->user_id);
      WriteScoreMembers(json, *scored, item_model.version());
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    slot.batches.Add();
    response.log_model_version = model->version();
    response.log_keep_alive = std::move(model);
    return response;
  }

  void WriteReloadState(JsonWriter& json) const {
    json.BeginObject();
    json.Key("enabled").Bool(deps.reloader != nullptr);
    if (deps.reloader != nullptr) {
      const ReloaderState state = deps.reloader->State();
      if (state.serving_since) {
        json.Key("servingSince").String(FormatRfc3339(UnixSecondsOf(*state.serving_since)));
      }
      json.Key("degraded").Bool(state.degraded);
      json.Key("loaded").Uint(state.loaded);
      json.Key("failed").Uint(state.failed);
      json.Key("unchanged").Uint(state.unchanged);
      json.Key("polls").Uint(state.polls);
      json.Key("retired").Uint(state.retired);
      json.Key("retiredInUse").Uint(state.retired_in_use);
      if (state.last_attempt) {
        json.Key("lastAttempt");
        WriteReport(json, *state.last_attempt);
      }
      if (state.last_failure) {
        json.Key("lastFailure");
        WriteReport(json, *state.last_failure);
      }
    }
    json.EndObject();
  }

  Response Healthz(const Request& request) const {
    const std::shared_ptr<const ServingModel> model = models().Current();
    std::string body;
    if (model == nullptr) {
      body = "{\"ok\":false,\"detail\":";
      AppendJsonString(&body, kNoModel);
    } else {
      body = "{\"ok\":true,\"modelVersion\":";
      AppendJsonString(&body, model->version());
    }
    if (QueryFlag(request.query, "detail")) {
      body.append(",\"reload\":");
      JsonWriter json(&body);
      WriteReloadState(json);
    }
    body.push_back('}');
    return JsonResponse(model == nullptr ? 503 : 200, std::move(body));
  }

  Response Readyz() const {
    const std::shared_ptr<const ServingModel> model = models().Current();
    std::string body;
    JsonWriter json(&body);
    json.BeginObject();
    const bool draining_now = draining.load(std::memory_order_relaxed);
    json.Key("ready").Bool(model != nullptr && !draining_now);
    if (model != nullptr) json.Key("modelVersion").String(model->version());
    if (draining_now) {
      json.Key("detail").String("shutting down");
    } else if (model == nullptr) {
      json.Key("detail").String(kNoModel);
    }
    json.EndObject();
    return JsonResponse(model != nullptr && !draining_now ? 200 : 503, std::move(body));
  }

  Response AdminReload(const Request& request) {
    if (!admin_token.configured()) {
      return DetailResponse(403,
                            "Admin endpoints are disabled: set CSML_ADMIN_TOKEN to enable them");
    }
    if (const BearerCheck check = admin_token.Check(request); check != BearerCheck::kOk) {
      return UnauthorizedResponse(check);
    }
    if (deps.reloader == nullptr) return DetailResponse(503, "hot reload is not running");
    spdlog::info("POST /admin/reload: reload requested");
    if (deps.router != nullptr) deps.router->RequestRefresh();  // tenants, canary, shadow
    Responder responder = request.Defer();
    if (!responder)
      return ReloadResponse(deps.reloader->ReloadNow(ReloadTrigger::kRequest), models());
    // The reload thread answers when the attempt has run; the loop thread is not held.
    auto shared = std::make_shared<Responder>(std::move(responder));
    const ModelManager* manager = deps.models;
    deps.reloader->RequestReload([shared, manager](const ReloadReport& report) {
      shared->Send(ReloadResponse(report, *manager));
    });
    return DeferredResponse();
  }

  void AppendScoreMetrics(std::string* out) const {
    std::array<std::uint64_t, kRiskBounds.size() + 1> risk{};
    std::uint64_t risk_sum_micros = 0;
    std::array<std::uint64_t, kTiers.size()> tiers{};
    std::uint64_t unknown_keys = 0;
    std::uint64_t with_unknown = 0;
    std::uint64_t batches = 0;
    std::array<std::uint64_t, 3> items{};
    std::uint64_t unauthorized = 0;
    slots.ForEach([&](const ScoreSlot& slot) {
      for (std::size_t b = 0; b < risk.size(); ++b) risk[b] += slot.risk[b].Get();
      risk_sum_micros += slot.risk_sum_micros.Get();
      for (std::size_t t = 0; t < tiers.size(); ++t) tiers[t] += slot.tiers[t].Get();
      unknown_keys += slot.unknown_keys.Get();
      with_unknown += slot.requests_with_unknown_keys.Get();
      batches += slot.batches.Get();
      items[0] += slot.batch_items_scored.Get();
      items[1] += slot.batch_items_rejected.Get();
      items[2] += slot.batch_items_failed.Get();
      unauthorized += slot.unauthorized.Get();
    });
    AppendPromHeader(out, "csml_score_risk", "histogram",
                     "Risk scores answered (by /score and /score/batch items).");
    AppendPromHistogram(out, "csml_score_risk", {}, kRiskBoundLabels, risk,
                        static_cast<double>(risk_sum_micros) / 1e6);
    AppendPromHeader(out, "csml_score_tier_total", "counter", "Scores answered, by tier.");
    for (std::size_t t = 0; t < kTiers.size(); ++t) {
      AppendPromSample(out, "csml_score_tier_total", {{"tier", TierName(kTiers[t])}}, tiers[t]);
    }
    AppendPromHeader(out, "csml_score_unknown_feature_keys_total", "counter",
                     "Keys inside features that are not contract fields (ignored), summed.");
    AppendPromSample(out, "csml_score_unknown_feature_keys_total", {}, unknown_keys);
    AppendPromHeader(out, "csml_score_requests_with_unknown_feature_keys_total", "counter",
                     "Scored requests that carried at least one unknown feature key.");
    AppendPromSample(out, "csml_score_requests_with_unknown_feature_keys_total", {}, with_unknown);
    AppendPromHeader(out, "csml_score_batches_total", "counter", "Batches answered with 200.");
    AppendPromSample(out, "csml_score_batches_total", {}, batches);
    AppendPromHeader(out, "csml_score_batch_items_total", "counter",
                     "Items of answered batches, by outcome.");
    AppendPromSample(out, "csml_score_batch_items_total", {{"outcome", "scored"}}, items[0]);
    AppendPromSample(out, "csml_score_batch_items_total", {{"outcome", "rejected"}}, items[1]);
    AppendPromSample(out, "csml_score_batch_items_total", {{"outcome", "failed"}}, items[2]);
    AppendPromHeader(out, "csml_auth_refused_total", "counter",
                     "Scoring requests refused for a missing or wrong bearer token.");
    AppendPromSample(out, "csml_auth_refused_total", {}, unauthorized);
  }

  void AppendModelMetrics(std::string* out) const {
    const std::shared_ptr<const ServingModel> model = models().Current();
    AppendPromHeader(out, "csml_model_loaded", "gauge", "1 when a model is serving.");
    AppendPromSample(out, "csml_model_loaded", {}, std::uint64_t{model != nullptr ? 1u : 0u});
    AppendPromHeader(out, "csml_model_info", "gauge", "The serving model version (value 1).");
    if (model != nullptr) {
      AppendPromSample(out, "csml_model_info", {{"version", model->version()}}, std::uint64_t{1});
    }
    if (deps.reloader == nullptr) return;
    const ReloaderState state = deps.reloader->State();
    AppendPromHeader(out, "csml_model_reloads_total", "counter",
                     "Reload attempts that loaded a version, failed, or (when asked) found "
                     "nothing new.");
    AppendPromSample(out, "csml_model_reloads_total", {{"outcome", "loaded"}}, state.loaded);
    AppendPromSample(out, "csml_model_reloads_total", {{"outcome", "failed"}}, state.failed);
    AppendPromSample(out, "csml_model_reloads_total", {{"outcome", "unchanged"}}, state.unchanged);
    AppendPromHeader(out, "csml_model_registry_polls_total", "counter",
                     "Times the registry pointer was read.");
    AppendPromSample(out, "csml_model_registry_polls_total", {}, state.polls);
    AppendPromHeader(out, "csml_model_reload_degraded", "gauge",
                     "1 while the registry names a version that was refused (an older one "
                     "serves).");
    AppendPromSample(out, "csml_model_reload_degraded", {},
                     std::uint64_t{state.degraded ? 1u : 0u});
    if (state.serving_since) {
      AppendPromHeader(out, "csml_model_serving_since_seconds", "gauge",
                       "When the serving model was swapped in (Unix time).");
      AppendPromSample(out, "csml_model_serving_since_seconds", {},
                       static_cast<double>(UnixSecondsOf(*state.serving_since)));
    }
    if (state.last_attempt) {
      AppendPromHeader(out, "csml_model_last_reload_timestamp_seconds", "gauge",
                       "When the last reload attempt finished (Unix time).");
      AppendPromSample(out, "csml_model_last_reload_timestamp_seconds", {},
                       static_cast<double>(UnixSecondsOf(state.last_attempt->finished_at)));
      AppendPromHeader(out, "csml_model_last_load_duration_seconds", "gauge",
                       "How long the last load and its checks took.");
      AppendPromSample(out, "csml_model_last_load_duration_seconds", {},
                       static_cast<double>(state.last_attempt->load_duration.count()) / 1e6);
    }
    AppendPromHeader(out, "csml_model_retired_total", "counter",
                     "Replaced models destroyed on the reload thread.");
    AppendPromSample(out, "csml_model_retired_total", {}, state.retired);
    AppendPromHeader(out, "csml_model_retired_in_use", "gauge",
                     "Replaced models still held by requests in flight.");
    AppendPromSample(out, "csml_model_retired_in_use", {},
                     static_cast<std::uint64_t>(state.retired_in_use));
  }

  // ---- GET /monitor and /monitor.json (monitor_page.h) ----------------------------------

  TrafficSample SampleTraffic() const {
    TrafficSample sample;
    sample.at = std::chrono::steady_clock::now();
    slots.ForEach([&](const ScoreSlot& slot) {
      sample.scores += slot.scored.Get() + slot.batch_items_scored.Get();
    });
    if (deps.http_metrics != nullptr) {
      for (const std::string_view path : {"/score", "/score/batch"}) {
        const HttpMetrics::RouteLatency l = deps.http_metrics->LatencyOf(path);
        sample.latency.count += l.count;
        sample.latency.sum_ns += l.sum_ns;
        for (std::size_t b = 0; b < l.buckets.size(); ++b)
          sample.latency.buckets[b] += l.buckets[b];
      }
    }
    sample.requests = sample.latency.count;
    return sample;
  }

  // Once a second (the ticker thread): a traffic sample, and the drift alarms checked.
  void Tick() {
    traffic.Add(SampleTraffic());
    drift->Check(models().Current().get());
  }

  // The upper bound (ms) of the latency bucket holding quantile q of the counts; NaN for none.
  static double QuantileMs(const std::array<std::uint64_t, HttpMetrics::kNumLatencyBuckets>& b,
                           double q) {
    std::uint64_t total = 0;
    for (const std::uint64_t c : b) total += c;
    if (total == 0) return std::numeric_limits<double>::quiet_NaN();
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
      seen += b[i];
      if (seen >= std::max<std::uint64_t>(rank, 1)) {
        const std::size_t bound = std::min(i, HttpMetrics::kLatencyBoundsUs.size() - 1);
        return static_cast<double>(HttpMetrics::kLatencyBoundsUs[bound]) / 1000.0;
      }
    }
    return static_cast<double>(HttpMetrics::kLatencyBoundsUs.back()) / 1000.0;
  }

  static HttpMetrics::RouteLatency Minus(const HttpMetrics::RouteLatency& a,
                                         const HttpMetrics::RouteLatency& b) {
    HttpMetrics::RouteLatency d;
    d.count = a.count - std::min(a.count, b.count);
    d.sum_ns = a.sum_ns - std::min(a.sum_ns, b.sum_ns);
    for (std::size_t i = 0; i < d.buckets.size(); ++i) {
      d.buckets[i] = a.buckets[i] - std::min(a.buckets[i], b.buckets[i]);
    }
    return d;
  }

  static double SecondsBetween(std::chrono::steady_clock::time_point from,
                               std::chrono::steady_clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
  }

  void WriteTraffic(JsonWriter& json) const {
    std::vector<TrafficSample> samples = traffic.Samples();
    samples.push_back(SampleTraffic());
    const TrafficSample& now = samples.back();
    const TrafficSample& first = samples.front();
    const double seconds = SecondsBetween(first.at, now.at);
    const bool rated = samples.size() >= 2 && seconds > 0;
    json.Key("traffic").BeginObject();
    json.Key("seconds").Rounded(seconds, 1);
    const auto rate = [&](std::uint64_t later, std::uint64_t earlier, double s) {
      return s > 0 ? static_cast<double>(later - std::min(later, earlier)) / s
                   : std::numeric_limits<double>::quiet_NaN();
    };
    json.Key("requestsPerSecond")
        .Rounded(rated ? rate(now.requests, first.requests, seconds) : 0, 2);
    json.Key("scoresPerSecond").Rounded(rated ? rate(now.scores, first.scores, seconds) : 0, 2);
    const HttpMetrics::RouteLatency minute = Minus(now.latency, first.latency);
    json.Key("latencyMs").BeginObject();
    json.Key("requests").Uint(minute.count);
    json.Key("mean").Rounded(minute.count > 0 ? static_cast<double>(minute.sum_ns) /
                                                    static_cast<double>(minute.count) / 1e6
                                              : std::numeric_limits<double>::quiet_NaN(),
                             3);
    json.Key("p50").Double(QuantileMs(minute.buckets, 0.5));
    json.Key("p90").Double(QuantileMs(minute.buckets, 0.9));
    json.Key("p99").Double(QuantileMs(minute.buckets, 0.99));
    json.EndObject();
    json.Key("series").BeginArray();
    // One point per ticker second (the live sample only closes the rates above).
    for (std::size_t i = 1; i + 1 < samples.size(); ++i) {
      const TrafficSample& a = samples[i - 1];
      const TrafficSample& b = samples[i];
      const double s = SecondsBetween(a.at, b.at);
      json.BeginObject();
      json.Key("t").Rounded(std::min(0.0, SecondsBetween(now.at, b.at)), 1);
      json.Key("requestsPerSecond").Rounded(rate(b.requests, a.requests, s), 2);
      json.Key("p99Ms").Double(QuantileMs(Minus(b.latency, a.latency).buckets, 0.99));
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
  }

  static void WriteTierCounts(JsonWriter& json, const std::array<std::uint64_t, 3>& counts) {
    json.BeginObject();
    for (std::size_t t = 0; t < kTiers.size(); ++t) json.Key(TierName(kTiers[t])).Uint(counts[t]);
    json.EndObject();
  }

  static void WriteDrift(JsonWriter& json, const LiveDriftFigures& f) {
    json.Key("drift").BeginObject();
    json.Key("available").Bool(f.available);
    json.Key("window").Uint(f.window);
    json.Key("scores").Uint(f.drift.rows);
    json.Key("alarmAt").Double(kPsiAlarm);
    json.Key("recoveredAt").Double(kPsiRecovered);
    json.Key("risk").BeginObject();
    json.Key("psi").Double(f.available ? f.drift.risk_psi
                                       : std::numeric_limits<double>::quiet_NaN());
    json.Key("alarm").Bool(f.alarm.back());
    json.EndObject();
    json.Key("features").BeginArray();
    if (f.available) {
      for (std::size_t i = 0; i < f.drift.features.size(); ++i) {
        const FeatureDrift& d = f.drift.features[i];
        json.BeginObject();
        json.Key("name").String(d.name);
        json.Key("psi").Double(d.psi);
        json.Key("missingShare").Double(d.missing_share);
        json.Key("referenceMissingShare").Double(d.reference_missing);
        json.Key("alarm").Bool(f.alarm[i]);
        json.EndObject();
      }
    }
    json.EndArray();
    json.EndObject();
  }

  Response MonitorJson(const Request& request) {
    if (auto denied = CheckScoreToken(request, slots.Local())) return std::move(*denied);
    const std::shared_ptr<const ServingModel> model = models().Current();
    const LiveDriftFigures figures = drift->Check(model.get());
    std::string body;
    body.reserve(4096);
    JsonWriter json(&body);
    json.BeginObject();
    if (model != nullptr) {
      json.Key("version").String(model->version());
    } else {
      json.Key("version").Null();
    }
    std::optional<ReloaderState> state;
    if (deps.reloader != nullptr) state = deps.reloader->State();
    json.Key("servingSince");
    if (state && state->serving_since) {
      json.String(FormatRfc3339(UnixSecondsOf(*state->serving_since)));
    } else {
      json.Null();
    }
    json.Key("startedAt").String(FormatRfc3339(UnixSecondsOf(started_at)));
    json.Key("now").String(FormatRfc3339(UnixSecondsOf(std::chrono::system_clock::now())));
    json.Key("csmlVersion").String(CSML_VERSION);
    WriteTraffic(json);
    std::array<std::uint64_t, kTiers.size()> total{};
    slots.ForEach([&](const ScoreSlot& slot) {
      for (std::size_t t = 0; t < total.size(); ++t) total[t] += slot.tiers[t].Get();
    });
    json.Key("tiers").BeginObject();
    json.Key("window");
    WriteTierCounts(json, figures.tiers);
    json.Key("total");
    WriteTierCounts(json, total);
    json.EndObject();
    WriteDrift(json, figures);
    json.Key("reloads").BeginArray();
    if (deps.reload_history != nullptr) {
      for (const ReloadReport& report : deps.reload_history->Recent()) WriteReport(json, report);
    } else if (state && state->last_attempt) {
      WriteReport(json, *state->last_attempt);
    }
    json.EndArray();
    json.Key("reload");
    WriteReloadState(json);
    json.EndObject();
    Response response = JsonResponse(200, std::move(body));
    response.headers.emplace_back("cache-control", "no-store");
    return response;
  }

  Response MonitorPage(const Request& request) {
    if (auto denied = CheckScoreToken(request, slots.Local())) return std::move(*denied);
    Response response;
    response.content_type = "text/html; charset=utf-8";
    response.body.assign(MonitorPageHtml());
    response.headers.emplace_back("cache-control", "no-cache");
    response.headers.emplace_back("x-content-type-options", "nosniff");
    response.headers.emplace_back("content-security-policy",
                                  std::string(kMonitorContentSecurityPolicy));
    return response;
  }

  // Tenants, canary and shadow on /metrics. Tenant labels are bounded: the kTenantLabels
  // tenants with the most scores by name, the rest summed under tenant="_other" (an id cannot
  // start with '_', so it never names a real tenant).
  void AppendRouterMetrics(std::string* out) const {
    std::uint64_t canary = 0;
    std::uint64_t tenant = 0;
    slots.ForEach([&](const ScoreSlot& slot) {
      canary += slot.canary_answers.Get();
      tenant += slot.tenant_answers.Get();
    });
    AppendPromHeader(out, "csml_scores_by_route_total", "counter",
                     "Scores by which model answered: the global served version, a tenant's own "
                     "model, a canary version (a tenant's canary counts in both).");
    AppendPromSample(out, "csml_scores_by_route_total", {{"route", "tenant"}}, tenant);
    AppendPromSample(out, "csml_scores_by_route_total", {{"route", "canary"}}, canary);
    if (deps.router != nullptr) {
      const ModelRouterStats stats = deps.router->Stats();
      AppendPromHeader(out, "csml_tenant_models", "gauge",
                       "Tenant namespaces with a version to serve (known), loaded now, and the cap "
                       "on loaded ones.");
      AppendPromSample(out, "csml_tenant_models", {{"state", "known"}},
                       static_cast<std::uint64_t>(stats.known_tenants));
      AppendPromSample(out, "csml_tenant_models", {{"state", "loaded"}},
                       static_cast<std::uint64_t>(stats.loaded_tenants));
      AppendPromSample(out, "csml_tenant_models", {{"state", "cap"}},
                       static_cast<std::uint64_t>(stats.max_loaded_tenants));
      AppendPromHeader(out, "csml_tenant_model_events_total", "counter",
                       "Tenant model loads (first use and reloads), unloads by the cap, and "
                       "failed tenant, canary or shadow loads.");
      AppendPromSample(out, "csml_tenant_model_events_total", {{"event", "loaded"}}, stats.loads);
      AppendPromSample(out, "csml_tenant_model_events_total", {{"event", "unloaded"}},
                       stats.unloads);
      AppendPromSample(out, "csml_tenant_model_events_total", {{"event", "failed"}},
                       stats.load_failures);
      AppendPromHeader(out, "csml_tenant_fallback_scores_total", "counter",
                       "Requests with an X-Tenant-Id that the global model answered (no model of "
                       "their own, or it failed to load).");
      AppendPromSample(out, "csml_tenant_fallback_scores_total", {}, stats.fallback_scores);
      AppendPromHeader(out, "csml_tenant_scores_total", "counter",
                       "Scores a tenant's own models answered, for the busiest tenants; the rest "
                       "under tenant=\"_other\".");
      std::uint64_t other = 0;
      for (std::size_t i = 0; i < stats.tenants.size(); ++i) {
        if (i < kTenantLabels) {
          AppendPromSample(out, "csml_tenant_scores_total", {{"tenant", stats.tenants[i].tenant}},
                           stats.tenants[i].scores);
        } else {
          other += stats.tenants[i].scores;
        }
      }
      if (stats.tenants.size() > kTenantLabels) {
        AppendPromSample(out, "csml_tenant_scores_total", {{"tenant", "_other"}}, other);
      }
    }
    if (deps.shadow != nullptr) {
      const ShadowStats shadow = deps.shadow->Stats();
      AppendPromHeader(out, "csml_shadow_scores_total", "counter",
                       "Shadow scores: computed, of those in another tier than the answer, "
                       "dropped because the queue was full, failed.");
      AppendPromSample(out, "csml_shadow_scores_total", {{"outcome", "scored"}}, shadow.scored);
      AppendPromSample(out, "csml_shadow_scores_total", {{"outcome", "tier_changed"}},
                       shadow.tier_changed);
      AppendPromSample(out, "csml_shadow_scores_total", {{"outcome", "dropped"}}, shadow.dropped);
      AppendPromSample(out, "csml_shadow_scores_total", {{"outcome", "failed"}}, shadow.failed);
      AppendPromHeader(out, "csml_shadow_queue_depth", "gauge",
                       "Shadow scores waiting for the shadow thread.");
      AppendPromSample(out, "csml_shadow_queue_depth", {},
                       static_cast<std::uint64_t>(shadow.queue_depth));
    }
  }

  Response Metrics() const {
    Response response;
    response.content_type = kPrometheusContentType;
    std::string& out = response.body;
    out.reserve(std::size_t{16} * 1024);
    if (deps.http_metrics != nullptr) deps.http_metrics->AppendPrometheus(&out);
    AppendScoreMetrics(&out);
    drift->AppendPrometheus(&out, drift->Check(models().Current().get()));
    AppendModelMetrics(&out);
    AppendRouterMetrics(&out);
    if (deps.access_log != nullptr) {
      AppendPromHeader(&out, "csml_access_log_lines_total", "counter",
                       "Access log lines written, and dropped because the writer fell behind.");
      AppendPromSample(&out, "csml_access_log_lines_total", {{"outcome", "written"}},
                       deps.access_log->written_lines());
      AppendPromSample(&out, "csml_access_log_lines_total", {{"outcome", "dropped"}},
                       deps.access_log->dropped_lines());
    }
    if (deps.prediction_log != nullptr) AppendPredictionLogMetrics(&out, *deps.prediction_log);
    AppendPromHeader(&out, "csml_build_info", "gauge", "The csml version (value 1).");
    AppendPromSample(&out, "csml_build_info", {{"version", CSML_VERSION}}, std::uint64_t{1});
    AppendPromHeader(&out, "csml_process_start_time_seconds", "gauge",
                     "When the server started (Unix time).");
    AppendPromSample(&out, "csml_process_start_time_seconds", {},
                     static_cast<double>(UnixSecondsOf(started_at)));
    return response;
  }
};

Result<std::unique_ptr<ServeRoutes>> ServeRoutes::Create(const ServeRoutesOptions& options,
                                                         const ServeRoutesDeps& deps) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  if (deps.models == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "serve routes: expected a model manager");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->deps = deps;
  impl->score_token = BearerToken::Create(options.score_token, "CSML_SCORE_TOKEN").value();
  impl->admin_token = BearerToken::Create(options.admin_token, "CSML_ADMIN_TOKEN").value();
  impl->cors = CorsPolicy::Create(options.cors_origins).value();
  OpenApiParams openapi{CSML_VERSION, options.max_batch_items, impl->score_token.configured(), {}};
  for (const DocsAsset& asset : impl->docs) {
    if (!asset.name.empty()) openapi.docs_assets.push_back(asset.name);
  }
  impl->openapi = BuildOpenApiDocument(openapi);
  impl->drift = std::make_unique<LiveDrift>(options.drift_window);
  Impl* raw = impl.get();
  impl->ticker = std::make_unique<Ticker>(std::chrono::seconds(1), [raw] { raw->Tick(); });
  return std::unique_ptr<ServeRoutes>(new ServeRoutes(std::move(impl)));
}

ServeRoutes::ServeRoutes(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServeRoutes::~ServeRoutes() = default;

void ServeRoutes::AddTo(Router& router) {
  Impl* impl = impl_.get();
  // CORS (when --cors-origin is given) on the score and docs routes only, never on admin ones.
  const CorsPolicy& cors = impl->cors;
  AddWithCors(router, cors, "POST", "/score", [impl](const Request& r) { return impl->Score(r); });
  AddWithCors(router, cors, "POST", "/score/batch",
              [impl](const Request& r) { return impl->ScoreBatch(r); });
  router.Add("GET", "/healthz", [impl](const Request& r) { return impl->Healthz(r); });
  router.Add("GET", "/readyz", [impl](const Request&) { return impl->Readyz(); });
  router.Add("GET", "/metrics", [impl](const Request&) { return impl->Metrics(); });
  AddWithCors(router, cors, "GET", "/openapi.json",
              [impl](const Request& r) { return impl->OpenApi(r); });
  for (const DocsAsset& asset : impl->docs) {
    const std::string path = asset.name.empty() ? "/docs" : fmt::format("/docs/{}", asset.name);
    AddWithCors(router, cors, "GET", path,
                [impl, &asset](const Request& r) { return impl->Docs(r, asset); });
  }
  AddWithCors(router, cors, "GET", "/monitor",
              [impl](const Request& r) { return impl->MonitorPage(r); });
  AddWithCors(router, cors, "GET", "/monitor.json",
              [impl](const Request& r) { return impl->MonitorJson(r); });
  router.Add("POST", "/admin/reload", [impl](const Request& r) { return impl->AdminReload(r); });
}

void ServeRoutes::SetDraining() { impl_->draining.store(true, std::memory_order_relaxed); }

ScoreTotals ServeRoutes::Totals() const {
  ScoreTotals totals;
  impl_->slots.ForEach([&](const ScoreSlot& slot) {
    totals.scored += slot.scored.Get() + slot.batch_items_scored.Get();
    totals.rejected += slot.rejected.Get() + slot.batch_items_rejected.Get();
    totals.unavailable += slot.unavailable.Get();
    totals.failed += slot.failed.Get() + slot.batch_items_failed.Get();
    totals.unauthorized += slot.unauthorized.Get();
    totals.unknown_feature_keys += slot.unknown_keys.Get();
  });
  return totals;
}

}  // namespace csml::server
