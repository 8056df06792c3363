// The routes of `csml serve` on a Router: the churn-risk API of docs/API.md and the
// operations endpoints around it.
//
//   POST /score          one customer (docs/API.md)                      score token, if set
//   POST /score/batch    up to max_batch_items customers, one model    score token, if set
//   GET  /healthz        {"ok":...,"modelVersion":...}; ?detail=1 adds the reload state
//   GET  /readyz         200 once a model is loaded; 503 before, and while shutting down
//   GET  /metrics        Prometheus text: HTTP, scores, live drift, model and reloads,
//                        access log, prediction log
//   GET  /monitor        the live page over /monitor.json (monitor_page.h)  score token, if set
//   GET  /monitor.json   version, traffic, latency, tiers, drift, reloads   score token, if set
//   GET  /openapi.json   every endpoint, described                      score token, if set
//   GET  /docs, /docs/*  Swagger UI over /openapi.json (docs_page.h)    score token, if set
//   POST /admin/reload   load what the registry names now; answers with the outcome
//                        (admin token; 403 when none is configured)
//
// This is the one place where serving results become HTTP: a rejected body becomes the
// Python service's 422 or 400, no model becomes 503, a model failure becomes 500 (logged,
// never shown). Each request takes the manager's model once and holds it to its end.
// Thread-safety: handlers only read shared state and write per-thread counters, so they run
// on every event-loop thread at once; Summary() and SetDraining() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "access_log.h"
#include "bearer_auth.h"
#include "csml/core/error.h"
#include "csml/monitoring/prediction_log.h"
#include "csml/serving/model_manager.h"
#include "csml/serving/model_reloader.h"
#include "csml/serving/model_router.h"
#include "csml/serving/shadow_scorer.h"
#include "http_metrics.h"
#include "http_server.h"
#include "monitor_page.h"

namespace csml::server {

struct ServeRoutesOptions {
  std::size_t max_batch_items = 1000;  // items in one POST /score/batch
  std::string score_token;             // bearer token for /score and /score/batch; empty: open
  std::string admin_token;             // bearer token for /admin/*; empty: admin endpoints refused
  std::vector<std::string> cors_origins;  // --cors-origin: CORS on the score and docs routes
  // --drift-window: live drift over the last N scores (live_drift.h); 0 = off.
  std::size_t drift_window = 10'000;

  // max_batch_items 1 to 100,000; drift_window 0 or 100 to 10,000,000; each token empty or 16 to
  // 256 token characters; the two tokens must differ; each CORS origin as cors.h takes it. Messages
  // name CSML_SCORE_TOKEN / CSML_ADMIN_TOKEN, never a token.
  [[nodiscard]] Status Validate() const;
};

// What the score routes answered, for the stop summary.
struct ScoreTotals {
  std::uint64_t scored = 0;       // 200 answers of /score, and items scored by /score/batch
  std::uint64_t rejected = 0;     // 400/422 answers, and items rejected by /score/batch
  std::uint64_t unavailable = 0;  // 503: no model
  std::uint64_t failed = 0;       // 500: the model failed
  std::uint64_t unauthorized = 0;
  std::uint64_t unknown_feature_keys = 0;
};

// What the routes read; every pointer but `models` may be null, and all must outlive the
// server.
struct ServeRoutesDeps {
  const ModelManager* models = nullptr;
  ModelReloader* reloader = nullptr;  // null: /admin/reload answers 503
  const HttpMetrics* http_metrics = nullptr;
  const AccessLog* access_log = nullptr;
  PredictionLog* prediction_log = nullptr;        // null: scores are not logged
  const ReloadHistory* reload_history = nullptr;  // null: /monitor lists the last attempt only
  // Tenants, canary and shadow (model_router.h); null: every request gets `models`' model.
  ModelRouter* router = nullptr;
  ShadowScorer* shadow = nullptr;  // null: shadow versions are not scored
};

class ServeRoutes {
 public:
  static Result<std::unique_ptr<ServeRoutes>> Create(const ServeRoutesOptions& options,
                                                     const ServeRoutesDeps& deps);
  ~ServeRoutes();
  ServeRoutes(const ServeRoutes&) = delete;
  ServeRoutes& operator=(const ServeRoutes&) = delete;

  // Adds the routes above; this object must outlive the server.
  void AddTo(Router& router);

  // From now on /readyz answers 503 "shutting down" (scoring goes on).
  void SetDraining();

  ScoreTotals Totals() const;

  struct Impl;

 private:
  explicit ServeRoutes(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace csml::server
