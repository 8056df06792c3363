#include "prediction_logging.h"

#include <chrono>

#include "prometheus_text.h"

namespace csml::server {

void LogPrediction(PredictionLog* log, const ScoreCall& call, std::int32_t batch_index,
                   const ScoreRequest& scored_request, const ScoreResult& result,
                   std::string_view model_version, PredictionRole role) {
  if (log == nullptr) return;
  PredictionEvent event;
  event.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  event.request_id = call.request_id;
  event.endpoint = batch_index < 0 ? ScoreEndpoint::kScore : ScoreEndpoint::kScoreBatch;
  event.batch_index = batch_index;
  event.user_id = scored_request.user_id;
  event.model_version = model_version;
  event.tenant = call.tenant;
  event.role = role;
  event.risk = result.risk;
  event.tier = result.tier;
  event.reasons = result.reasons;
  event.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - call.received)
                         .count();
  event.features = scored_request.features;
  log->Append(event);  // a full queue drops and counts it: never waited for
}

void AppendPredictionLogMetrics(std::string* out, const PredictionLog& log) {
  const PredictionLogStats s = log.Stats();
  AppendPromHeader(out, "csml_prediction_log_records_total", "counter",
                   "Scores offered to the prediction log, by outcome (written; dropped because "
                   "the queue was full; dropped because the disk refused them).");
  AppendPromSample(out, "csml_prediction_log_records_total", {{"outcome", "written"}},
                   s.written_records);
  AppendPromSample(out, "csml_prediction_log_records_total", {{"outcome", "dropped_queue_full"}},
                   s.dropped_queue_full);
  AppendPromSample(out, "csml_prediction_log_records_total", {{"outcome", "dropped_disk"}},
                   s.dropped_disk);
  AppendPromHeader(out, "csml_prediction_log_queue_depth", "gauge",
                   "Records waiting for the prediction log's writer.");
  AppendPromSample(out, "csml_prediction_log_queue_depth", {},
                   static_cast<std::uint64_t>(s.queue_depth));
  AppendPromHeader(out, "csml_prediction_log_queue_capacity", "gauge",
                   "Records the prediction log's queue holds before it drops.");
  AppendPromSample(out, "csml_prediction_log_queue_capacity", {},
                   static_cast<std::uint64_t>(s.queue_capacity));
  AppendPromHeader(out, "csml_prediction_log_written_bytes_total", "counter",
                   "Uncompressed bytes written to prediction log segments.");
  AppendPromSample(out, "csml_prediction_log_written_bytes_total", {}, s.written_bytes);
  AppendPromHeader(out, "csml_prediction_log_segments_total", "counter",
                   "Prediction log segments closed, compressed, and removed by retention.");
  AppendPromSample(out, "csml_prediction_log_segments_total", {{"event", "closed"}},
                   s.segments_closed);
  AppendPromSample(out, "csml_prediction_log_segments_total", {{"event", "compressed"}},
                   s.segments_compressed);
  AppendPromSample(out, "csml_prediction_log_segments_total", {{"event", "removed"}},
                   s.segments_removed);
  AppendPromHeader(out, "csml_prediction_log_dir_bytes", "gauge",
                   "Bytes of prediction log segments in the directory (all replicas), at the "
                   "last retention pass.");
  AppendPromSample(out, "csml_prediction_log_dir_bytes", {}, s.dir_bytes);
  AppendPromHeader(out, "csml_prediction_log_disk_full", "gauge",
                   "1 while the prediction log is stopped because the disk refused a write.");
  AppendPromSample(out, "csml_prediction_log_disk_full", {}, std::uint64_t{s.disk_full ? 1u : 0u});
}

}  // namespace csml::server
