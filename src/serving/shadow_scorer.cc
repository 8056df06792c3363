#include "csml/serving/shadow_scorer.h"

#include <chrono>

#include <fmt/format.h>

namespace csml {

Status ShadowScorerOptions::Validate() const {
  if (queue_capacity < 16 || queue_capacity > (std::size_t{1} << 20)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("shadow queue: expected 16 to 1048576 jobs, got {}", queue_capacity));
  }
  return {};
}

Result<std::unique_ptr<ShadowScorer>> ShadowScorer::Create(const ShadowScorerOptions& options,
                                                           PredictionLog* log) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  auto scorer = std::unique_ptr<ShadowScorer>(new ShadowScorer(options, log));
  scorer->thread_ = std::thread([raw = scorer.get()] { raw->Run(); });
  return scorer;
}

ShadowScorer::ShadowScorer(const ShadowScorerOptions& options, PredictionLog* log)
    : log_(log), queue_(options.queue_capacity) {}

ShadowScorer::~ShadowScorer() { Stop(); }

bool ShadowScorer::Offer(const ShadowOffer& offer) {
  const bool queued = queue_.TryPush([&](Job& job) {
    job.shadow = offer.shadow;
    job.unix_ms = offer.unix_ms;
    job.request_id.assign(offer.request_id);
    job.endpoint = offer.endpoint;
    job.batch_index = offer.batch_index;
    job.user_id.assign(offer.user_id);
    job.tenant.assign(offer.tenant);
    job.answered_tier = offer.answered_tier;
    job.features = *offer.features;
  });
  if (!queued) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Wakes the thread only when it went to sleep (see Run: the fences pair so a job pushed
  // while it was deciding to sleep is always seen).
  fence_.fetch_add(0, std::memory_order_seq_cst);  // a seq_cst RMW: TSan has no fences
  if (sleeping_.load(std::memory_order_relaxed)) {
    sleeping_.store(false, std::memory_order_relaxed);
    sleeping_.notify_one();
  }
  return true;
}

void ShadowScorer::Score(Job& job) {
  const Result<ScoreResult> scored = job.shadow->Score(job.features);
  if (!scored) {
    failed_.fetch_add(1, std::memory_order_relaxed);
  } else {
    scored_.fetch_add(1, std::memory_order_relaxed);
    if (scored->tier != job.answered_tier) tier_changed_.fetch_add(1, std::memory_order_relaxed);
    if (log_ != nullptr) {
      PredictionEvent event;
      event.unix_ms = job.unix_ms;
      event.request_id = job.request_id;
      event.endpoint = job.endpoint;
      event.batch_index = job.batch_index;
      event.user_id = job.user_id;
      event.model_version = job.shadow->version();
      event.tenant = job.tenant;
      event.role = PredictionRole::kShadow;
      event.risk = scored->risk;
      event.tier = scored->tier;
      event.reasons = scored->reasons;
      event.latency_us = 0;
      event.features = job.features;
      log_->Append(event);
    }
  }
  job.shadow.reset();  // the slot must not keep a retired model alive
}

void ShadowScorer::Run() {
  while (true) {
    bool any = false;
    while (queue_.TryPop([this](Job& job) { Score(job); })) any = true;
    if (any) continue;
    if (stopping_.load(std::memory_order_acquire)) {
      if (!queue_.TryPop([this](Job& job) { Score(job); })) return;
      continue;
    }
    sleeping_.store(true, std::memory_order_relaxed);
    fence_.fetch_add(0, std::memory_order_seq_cst);  // a seq_cst RMW: TSan has no fences
    if (queue_.ApproxSize() > 0 || stopping_.load(std::memory_order_acquire)) {
      sleeping_.store(false, std::memory_order_relaxed);
      continue;
    }
    // Sleeps until an offer clears the flag; the timeout-free wait is safe because every
    // push after the fence above sees sleeping_ set.
    sleeping_.wait(true, std::memory_order_relaxed);
  }
}

ShadowStats ShadowScorer::Stats() const {
  ShadowStats stats;
  stats.scored = scored_.load(std::memory_order_relaxed);
  stats.tier_changed = tier_changed_.load(std::memory_order_relaxed);
  stats.dropped = dropped_.load(std::memory_order_relaxed);
  stats.failed = failed_.load(std::memory_order_relaxed);
  stats.queue_depth = queue_.ApproxSize();
  stats.queue_capacity = queue_.capacity();
  return stats;
}

void ShadowScorer::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  sleeping_.store(false, std::memory_order_relaxed);
  sleeping_.notify_one();
  thread_.join();
}

}  // namespace csml
