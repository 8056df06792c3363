// Shadow scoring (docs/OPERATIONS.md §12): the shadow version scores the same customers the
// served version answered, on its own thread, so a shadow never adds to /score's latency
// beyond handing one job over (one compare-and-swap and a copy of the features into a
// preallocated slot). Each shadow score goes to the prediction log as a record of role
// "shadow" with the answer's request id, batch index, userId and features
// (csml/monitoring/prediction_record.h), where `csml monitor --compare` pairs the two.
//
// A full queue drops the job and counts it; nothing on the request path waits. A shadow
// model that fails to score a row counts a failure (the answer was sent already).
// Thread-safety: Offer and Stats from any thread; Stop from one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "csml/core/bounded_queue.h"
#include "csml/core/error.h"
#include "csml/monitoring/prediction_log.h"
#include "csml/serving/serving_model.h"

namespace csml {

struct ShadowScorerOptions {
  std::size_t queue_capacity = 8192;  // jobs waiting; rounded up to a power of two

  // queue_capacity in [16, 1 << 20].
  [[nodiscard]] Status Validate() const;
};

// What the request thread hands over: the answer's identity and the row, as views copied
// into the queue's slot.
struct ShadowOffer {
  std::shared_ptr<const ServingModel> shadow;
  std::int64_t unix_ms = 0;
  std::string_view request_id;
  ScoreEndpoint endpoint = ScoreEndpoint::kScore;
  std::int32_t batch_index = -1;
  std::string_view user_id;
  std::string_view tenant;
  Tier answered_tier = Tier::kLow;
  const RawFeatures* features = nullptr;
};

struct ShadowStats {
  std::uint64_t scored = 0;        // shadow scores computed
  std::uint64_t tier_changed = 0;  // of those, a tier other than the answer's
  std::uint64_t dropped = 0;       // offers refused because the queue was full
  std::uint64_t failed = 0;        // the shadow model failed to score
  std::size_t queue_depth = 0;
  std::size_t queue_capacity = 0;
};

class ShadowScorer {
 public:
  // `log` may be null (shadow figures on /metrics only); it must outlive the scorer.
  static Result<std::unique_ptr<ShadowScorer>> Create(const ShadowScorerOptions& options,
                                                      PredictionLog* log);
  ~ShadowScorer();  // Stop()
  ShadowScorer(const ShadowScorer&) = delete;
  ShadowScorer& operator=(const ShadowScorer&) = delete;

  // Queues one shadow score; false when the queue is full (counted). Never waits.
  bool Offer(const ShadowOffer& offer);

  ShadowStats Stats() const;

  // Scores what is queued, then joins the thread. Idempotent.
  void Stop();

 private:
  struct Job {
    std::shared_ptr<const ServingModel> shadow;
    std::int64_t unix_ms = 0;
    std::string request_id;
    ScoreEndpoint endpoint = ScoreEndpoint::kScore;
    std::int32_t batch_index = -1;
    std::string user_id;
    std::string tenant;
    Tier answered_tier = Tier::kLow;
    RawFeatures features;
  };
  ShadowScorer(const ShadowScorerOptions& options, PredictionLog* log);
  void Run();
  void Score(Job& job);

  PredictionLog* const log_;
  BoundedQueue<Job> queue_;
  std::atomic<bool> sleeping_{false};
  std::atomic<std::uint32_t> fence_{0};  // orders Offer against Run deciding to sleep
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> scored_{0};
  std::atomic<std::uint64_t> tier_changed_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::thread thread_;
};

}  // namespace csml
