#include "score_routes.h"

#include <string>

#include <spdlog/spdlog.h>

#include "csml/core/json_writer.h"
#include "csml/serving/score_request.h"

namespace csml::server {
namespace {

constexpr std::string_view kNoModel = "no model loaded";

Response JsonResponse(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// The status of a rejected body: FastAPI answers validation errors with 422 and bodies it
// could not read at all with 400.
int StatusFor(const ScoreRequestError& error) {
  return error.kind == ScoreRequestError::Kind::kUnparseable ? 400 : 422;
}

Response Healthz(const ModelManager& models) {
  const std::shared_ptr<const ServingModel> model = models.Current();
  std::string body;
  if (model == nullptr) {
    body = "{\"ok\":false,\"detail\":";
    AppendJsonString(&body, kNoModel);
    body.push_back('}');
    return JsonResponse(503, std::move(body));
  }
  body = "{\"ok\":true,\"modelVersion\":";
  AppendJsonString(&body, model->version());
  body.push_back('}');
  return JsonResponse(200, std::move(body));
}

Response Score(const Request& request, const ModelManager& models, ScoreRouteStats& stats) {
  const ScoreRequestResult decoded = DecodeScoreRequest(
      request.body, BodyFormatFromContentType(request.Header("content-type").value_or("")));
  if (!decoded) {
    stats.rejected.fetch_add(1, std::memory_order_relaxed);
    if (decoded.error().kind == ScoreRequestError::Kind::kUnparseable) {
      spdlog::debug("POST /score: unreadable body: {}", decoded.error().reason);
    }
    std::string body;
    AppendScoreRequestErrorJson(&body, decoded.error());
    return JsonResponse(StatusFor(decoded.error()), std::move(body));
  }
  // The request holds this model until it is answered, whatever a reload does meanwhile.
  const std::shared_ptr<const ServingModel> model = models.Current();
  if (model == nullptr) {
    stats.unavailable.fetch_add(1, std::memory_order_relaxed);
    return DetailResponse(503, kNoModel);
  }
  const Result<ScoreResult> scored = model->Score(decoded->features);
  if (!scored) {
    stats.failed.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("POST /score: userId {}: {}", decoded->user_id, scored.error().message);
    return DetailResponse(500, "Internal Server Error");
  }
  stats.scored.fetch_add(1, std::memory_order_relaxed);
  if (decoded->unknown_feature_keys > 0) {
    stats.unknown_feature_keys.fetch_add(decoded->unknown_feature_keys, std::memory_order_relaxed);
  }
  std::string body;
  body.reserve(160);
  AppendScoreResponseJson(&body, *scored, model->version());
  return JsonResponse(200, std::move(body));
}

}  // namespace

void AddScoreRoutes(Router& router, const ModelManager& models, ScoreRouteStats& stats) {
  router.Add("POST", "/score",
             [&models, &stats](const Request& request) { return Score(request, models, stats); });
  router.Add("GET", "/healthz", [&models](const Request&) { return Healthz(models); });
}

}  // namespace csml::server
