// The churn-risk API of DESIGN section 3 on a Router: POST /score and GET /healthz.
//
// This is the one place where domain results become HTTP: a decoded request is scored with
// the model the manager holds at that moment; a rejected body becomes the Python service's
// 422 or 400, no model becomes 503, a model failure becomes 500 (logged, never shown).
// Thread-safety: the handlers only read the manager and bump atomic counters, so they run on
// every event-loop thread at once.
#pragma once

#include <atomic>
#include <cstdint>

#include "csml/serving/model_manager.h"
#include "http_server.h"

namespace csml::server {

// Counters for health and metrics; unknown feature keys are counted here (DESIGN 2).
struct ScoreRouteStats {
  std::atomic<std::uint64_t> scored{0};                // 200 answers
  std::atomic<std::uint64_t> rejected{0};              // 400 and 422 answers
  std::atomic<std::uint64_t> unavailable{0};           // 503: no model loaded
  std::atomic<std::uint64_t> failed{0};                // 500: the model failed
  std::atomic<std::uint64_t> unknown_feature_keys{0};  // summed over scored requests
};

// Adds the routes; `models` and `stats` must outlive the server.
void AddScoreRoutes(Router& router, const ModelManager& models, ScoreRouteStats& stats);

}  // namespace csml::server
