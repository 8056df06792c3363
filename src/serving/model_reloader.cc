#include "csml/serving/model_reloader.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace csml {
namespace {

constexpr int kMaxPollIntervalMs = 3'600'000;
constexpr int kMaxRetireCheckMs = 10'000;

}  // namespace

Status ModelReloaderOptions::Validate() const {
  if (poll_interval_ms < 0 || poll_interval_ms > kMaxPollIntervalMs) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("reload poll interval: expected 0 (off) to {} ms, got {}",
                                 kMaxPollIntervalMs, poll_interval_ms));
  }
  if (retire_check_interval_ms < 1 || retire_check_interval_ms > kMaxRetireCheckMs) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("retire check interval: expected 1 to {} ms, got {}",
                                 kMaxRetireCheckMs, retire_check_interval_ms));
  }
  return {};
}

std::string_view ReloadTriggerName(ReloadTrigger trigger) {
  switch (trigger) {
    case ReloadTrigger::kStartup:
      return "startup";
    case ReloadTrigger::kPoll:
      return "poll";
    case ReloadTrigger::kRequest:
      return "request";
  }
  return "unknown";
}

std::string_view ReloadOutcomeName(ReloadOutcome outcome) {
  switch (outcome) {
    case ReloadOutcome::kLoaded:
      return "loaded";
    case ReloadOutcome::kUnchanged:
      return "unchanged";
    case ReloadOutcome::kFailed:
      return "failed";
    case ReloadOutcome::kNoVersion:
      return "no_version";
  }
  return "unknown";
}

Result<std::unique_ptr<ModelReloader>> ModelReloader::Create(const ModelReloaderOptions& options,
                                                             Source source, Loader loader,
                                                             ModelManager& manager,
                                                             Observer observer, Fallback fallback) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  if (!source || !loader) {
    return MakeError(ErrorCode::kInvalidArgument, "model reloader: expected a source and a loader");
  }
  return std::unique_ptr<ModelReloader>(
      new ModelReloader(options, std::move(source), std::move(loader), manager, std::move(observer),
                        std::move(fallback)));
}

ModelReloader::ModelReloader(const ModelReloaderOptions& options, Source source, Loader loader,
                             ModelManager& manager, Observer observer, Fallback fallback)
    : options_(options),
      source_(std::move(source)),
      loader_(std::move(loader)),
      manager_(manager),
      observer_(std::move(observer)),
      fallback_(std::move(fallback)) {}

void ModelReloader::ServeFallback(ReloadReport& report) {
  if (!fallback_ || manager_.Current() != nullptr) return;
  Result<FallbackModel> fallback = fallback_();
  if (!fallback || fallback->model == nullptr) return;  // the refusal already says enough
  report.fallback_version = fallback->model->version();
  report.fallback_reason = std::move(fallback->reason);
  // Not a source answer: the next poll that names the refused version again stays degraded,
  // and any other answer is loaded as usual.
  serving_id_ = ServableId{report.fallback_version, 0, false};
  manager_.Swap(std::move(fallback->model));
}

ModelReloader::~ModelReloader() { Stop(); }

std::pair<ReloadReport, bool> ModelReloader::Attempt(ReloadTrigger trigger, bool forced) {
  std::lock_guard<std::mutex> attempt(attempt_mu_);
  ReloadReport report;
  report.trigger = trigger;
  if (serving_id_) report.previous_version = serving_id_->version;
  const bool asked = trigger != ReloadTrigger::kPoll;
  bool tell = asked;
  bool degraded = false;

  Result<ServableId> id = source_();
  if (!id) {
    const bool empty = id.error().code == ErrorCode::kNotFound;
    report.outcome = empty ? ReloadOutcome::kNoVersion : ReloadOutcome::kFailed;
    report.error = id.error().message;
    // A source that keeps failing the same way is reported once, not every poll.
    tell = asked || report.error != last_source_error_;
    last_source_error_ = report.error;
    degraded = !empty;
    if (!empty) ServeFallback(report);
  } else {
    last_source_error_.clear();
    report.version = id->version;
    if (serving_id_ == *id) {
      report.outcome = ReloadOutcome::kUnchanged;
    } else if (!forced && refused_id_ == *id) {
      report.outcome = ReloadOutcome::kUnchanged;  // refused before; told then
      degraded = true;
    } else {
      const auto started = std::chrono::steady_clock::now();
      Result<std::shared_ptr<const ServingModel>> model = loader_(*id);
      report.load_duration = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started);
      tell = true;
      if (model && *model == nullptr) {
        model = MakeError(ErrorCode::kInternal,
                          fmt::format("loading model {}: the loader returned no model and no error",
                                      id->version));
      }
      if (!model) {
        report.outcome = ReloadOutcome::kFailed;
        report.error = model.error().message;
        refused_id_ = *id;
        degraded = true;
        ServeFallback(report);
      } else {
        std::shared_ptr<const ServingModel> old = manager_.Swap(std::move(*model));
        report.outcome = ReloadOutcome::kLoaded;
        serving_id_ = *id;
        refused_id_.reset();
        if (old != nullptr) {
          std::lock_guard<std::mutex> lock(mu_);
          retired_.push_back(std::move(old));
        }
      }
    }
  }
  report.finished_at = std::chrono::system_clock::now();

  std::lock_guard<std::mutex> lock(mu_);
  ++state_.polls;
  state_.degraded = degraded;
  switch (report.outcome) {
    case ReloadOutcome::kLoaded:
      ++state_.loaded;
      state_.serving_version = report.version;
      state_.serving_since = report.finished_at;
      break;
    case ReloadOutcome::kFailed:
      if (tell) {
        ++state_.failed;
        state_.last_failure = report;
      }
      if (!report.fallback_version.empty()) {
        state_.serving_version = report.fallback_version;
        state_.serving_since = report.finished_at;
      }
      break;
    case ReloadOutcome::kUnchanged:
      if (asked) ++state_.unchanged;
      break;
    case ReloadOutcome::kNoVersion:
      break;
  }
  if (tell) state_.last_attempt = report;
  state_.retired_in_use = retired_.size();
  return {std::move(report), tell};
}

bool ModelReloader::ReleaseRetired() {
  std::vector<std::shared_ptr<const ServingModel>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A retired model is no longer in the manager, so its use count can only fall; at 1 the
    // reloader holds the last reference and destroying it here keeps it off request threads.
    auto unused = std::stable_partition(retired_.begin(), retired_.end(),
                                        [](const auto& model) { return model.use_count() > 1; });
    std::move(unused, retired_.end(), std::back_inserter(done));
    retired_.erase(unused, retired_.end());
    state_.retired += done.size();
    state_.retired_in_use = retired_.size();
    if (retired_.empty() && done.empty()) return true;
  }
  done.clear();  // the models' destructors run here, outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  return retired_.empty();
}

ReloadReport ModelReloader::ReloadNow(ReloadTrigger trigger) {
  auto [report, tell] = Attempt(trigger, /*forced=*/true);
  if (tell && observer_) observer_(report);
  ReleaseRetired();
  return report;
}

void ModelReloader::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void ModelReloader::RequestReload(Completion done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    requested_ = true;
    if (done) pending_.push_back(std::move(done));
  }
  wake_.notify_one();
}

ReloaderState ModelReloader::State() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void ModelReloader::Run() {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::milliseconds(options_.poll_interval_ms);
  const auto retire_check = std::chrono::milliseconds(options_.retire_check_interval_ms);
  Clock::time_point next_poll = Clock::now() + interval;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto woken = [this] { return stopping_ || requested_; };
    const bool polling = options_.poll_interval_ms > 0;
    if (!polling && retired_.empty()) {
      wake_.wait(lock, woken);
    } else {
      Clock::time_point wake_at = polling ? next_poll : Clock::now() + retire_check;
      if (!retired_.empty()) wake_at = std::min(wake_at, Clock::now() + retire_check);
      wake_.wait_until(lock, wake_at, woken);
    }
    if (stopping_) break;
    const bool requested = std::exchange(requested_, false);
    std::vector<Completion> completions = std::exchange(pending_, {});
    lock.unlock();

    const bool poll_due = options_.poll_interval_ms > 0 && Clock::now() >= next_poll;
    if (requested || poll_due) {
      auto [report, tell] =
          Attempt(requested ? ReloadTrigger::kRequest : ReloadTrigger::kPoll, requested);
      if (tell && observer_) observer_(report);
      for (Completion& done : completions) {
        if (done) done(report);
      }
      next_poll = Clock::now() + interval;
    }
    ReleaseRetired();
    lock.lock();
  }
}

void ModelReloader::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();

  std::vector<Completion> completions;
  std::vector<std::shared_ptr<const ServingModel>> retired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    completions = std::exchange(pending_, {});
    retired = std::exchange(retired_, {});
    state_.retired_in_use = 0;
  }
  if (!completions.empty()) {
    ReloadReport stopped;
    stopped.outcome = ReloadOutcome::kFailed;
    stopped.trigger = ReloadTrigger::kRequest;
    stopped.error = "the reloader stopped before the reload ran";
    stopped.finished_at = std::chrono::system_clock::now();
    for (Completion& done : completions) {
      if (done) done(stopped);
    }
  }
}

}  // namespace csml
