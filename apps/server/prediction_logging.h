// The server's side of the prediction log (csml/monitoring/prediction_log.h): turning one
// scored /score request or /score/batch item into a PredictionEvent, and the log's gauges and
// counters on /metrics. The log itself is the domain's; this only adapts a Request to it.
//
// Cost on the request path: a clock read and PredictionLog::Append (one compare-and-swap and
// a copy into a preallocated slot); nothing waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "csml/monitoring/prediction_log.h"
#include "csml/serving/score_request.h"
#include "csml/serving/serving_model.h"
#include "router.h"

namespace csml::server {

// Who asked, for the record: the request's id and arrival, and its X-Tenant-Id (empty: none).
// Views; a deferred request keeps their strings alive itself.
struct ScoreCall {
  std::string_view request_id;
  std::chrono::steady_clock::time_point received;
  std::string_view tenant;
};

// Appends one scored customer to the log (when log is not null). batch_index -1 for /score.
void LogPrediction(PredictionLog* log, const ScoreCall& call, std::int32_t batch_index,
                   const ScoreRequest& scored_request, const ScoreResult& result,
                   std::string_view model_version, PredictionRole role);

// csml_prediction_log_* for /metrics.
void AppendPredictionLogMetrics(std::string* out, const PredictionLog& log);

}  // namespace csml::server
