// Hot reload, as TF Serving's manager does it, made small: one reload thread asks a source
// which version to serve (csml/serving/model_source.h), and when the answer changes it loads
// and checks that version off the request path (csml/serving/model_loader.h: sha256, schema,
// warm-up), swaps it into the ModelManager in one atomic store, and retires the old model.
//
//   poll (every poll_interval_ms) or RequestReload() (SIGHUP, POST /admin/reload)
//     -> source: ServableId {version, meta mtime}
//     -> same as serving?               yes: nothing to do
//     -> refused before, and only a poll? yes: nothing to do (no retry storm, no log spam)
//     -> loader: load + check           fails: the serving model is untouched; the failure is
//                                              reported and kept in State()
//     -> ModelManager::Swap             requests that already hold the old model finish on it
//     -> retire                         the old model is destroyed on the reload thread once
//                                       no request holds it, never on a request thread
//
// The reloader never logs (the domain does not): every attempt worth telling is handed to
// the observer on the reload thread, and State() is a snapshot for health and metrics.
// Thread-safety: every public method is safe from any thread. The observer and the
// completions run on the reload thread (or the caller of ReloadNow) and must not call
// Stop(); they may call State().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "csml/core/error.h"
#include "csml/serving/model_manager.h"
#include "csml/serving/model_source.h"
#include "csml/serving/serving_model.h"

namespace csml {

struct ModelReloaderOptions {
  // How often the source is asked; 0 turns polling off (reloads happen only on request).
  int poll_interval_ms = 1000;
  // While an old model is still held by requests, how often the reload thread looks again.
  int retire_check_interval_ms = 20;

  // poll_interval_ms in [0, 1 hour], retire_check_interval_ms in [1, 10 s].
  [[nodiscard]] Status Validate() const;
};

enum class ReloadTrigger : std::uint8_t {
  kStartup,  // ReloadNow() before serving
  kPoll,     // the poll interval passed
  kRequest,  // RequestReload(): an operator asked (SIGHUP, POST /admin/reload)
};

enum class ReloadOutcome : std::uint8_t {
  kLoaded,     // a new version was loaded, checked and is now serving
  kUnchanged,  // the source names the version already serving (or, on a poll, one refused)
  kFailed,     // the source or the load failed; the serving model (if any) keeps serving
  kNoVersion,  // the registry holds no version to serve; the serving model (if any) stays
};

std::string_view ReloadTriggerName(ReloadTrigger trigger);  // "startup", "poll", "request"
std::string_view ReloadOutcomeName(ReloadOutcome outcome);  // "loaded", "unchanged", ...

// One reload attempt.
struct ReloadReport {
  ReloadOutcome outcome = ReloadOutcome::kUnchanged;
  ReloadTrigger trigger = ReloadTrigger::kPoll;
  std::string version;           // what the source named; empty when the source failed
  std::string previous_version;  // serving before the attempt; empty when none
  std::string error;             // kFailed: why (names the version and the failed check)
  // kFailed with no model serving yet (start-up): the served-version rule's fallback that
  // was loaded instead (csml/serving/served_version.h), and why; empty when none.
  std::string fallback_version;
  std::string fallback_reason;
  std::chrono::system_clock::time_point finished_at;
  std::chrono::microseconds load_duration{0};  // load and checks; 0 when nothing was loaded
};

// A snapshot of the reloader for /healthz and /metrics.
struct ReloaderState {
  std::string serving_version;  // empty when no model is serving
  std::optional<std::chrono::system_clock::time_point> serving_since;
  // Attempts by outcome (a poll that finds nothing new is not counted).
  std::uint64_t loaded = 0;
  std::uint64_t failed = 0;
  std::uint64_t unchanged = 0;               // requested reloads that found nothing new
  std::uint64_t polls = 0;                   // times the source was asked
  std::optional<ReloadReport> last_attempt;  // the latest kLoaded, kFailed or requested one
  std::optional<ReloadReport> last_failure;
  // True while the source names something that was refused (or the source itself fails):
  // the server is serving an older version than the registry asks for.
  bool degraded = false;
  std::uint64_t retired = 0;       // old models destroyed on the reload thread
  std::size_t retired_in_use = 0;  // old models still held by requests
};

class ModelReloader {
 public:
  using Source = std::function<Result<ServableId>()>;
  using Loader = std::function<Result<std::shared_ptr<const ServingModel>>(const ServableId&)>;
  using Observer = std::function<void(const ReloadReport&)>;
  using Completion = std::function<void(const ReloadReport&)>;
  // What to serve when the source's version is refused (or the source fails) while no model
  // is serving: the served-version rule's fallback, and why. A running server keeps its
  // model instead, which is that same fallback unless its files changed since it was loaded.
  struct FallbackModel {
    std::shared_ptr<const ServingModel> model;
    std::string reason;
  };
  using Fallback = std::function<Result<FallbackModel>()>;

  // Checks the options; `manager` must outlive the reloader. The thread starts in Start().
  // Without a fallback, a refused version leaves a server without a model until one loads.
  static Result<std::unique_ptr<ModelReloader>> Create(const ModelReloaderOptions& options,
                                                       Source source, Loader loader,
                                                       ModelManager& manager, Observer observer,
                                                       Fallback fallback = nullptr);

  ~ModelReloader();  // Stop()
  ModelReloader(const ModelReloader&) = delete;
  ModelReloader& operator=(const ModelReloader&) = delete;

  // One attempt on the calling thread, now, whatever the source said before (a version that
  // was refused is tried again). Serialized with the reload thread's attempts.
  ReloadReport ReloadNow(ReloadTrigger trigger);

  // Starts the reload thread (polling, requests, retirement). Calling it twice is a no-op.
  void Start();

  // Asks the reload thread for an attempt as soon as it can (requests made while one runs
  // get another attempt after it, so a promotion just before the request is always seen).
  // `done`, if given, runs on the reload thread with the result. A version refused before is
  // tried again. Never blocks; safe from a signal-waiting thread.
  void RequestReload(Completion done = nullptr);

  ReloaderState State() const;

  // Stops and joins the thread; pending completions get kFailed "the reloader stopped".
  // Retired models are released here. Idempotent.
  void Stop();

 private:
  ModelReloader(const ModelReloaderOptions& options, Source source, Loader loader,
                ModelManager& manager, Observer observer, Fallback fallback);
  // With no model serving, loads the fallback into the manager and notes it in `report`.
  void ServeFallback(ReloadReport& report);

  // Source -> compare -> load -> swap; `forced` retries a version refused before. Holds
  // attempt_mu_. Returns the report and whether it is worth telling the observer.
  std::pair<ReloadReport, bool> Attempt(ReloadTrigger trigger, bool forced);
  void Run();
  // Destroys the retired models no request holds any more; true when none is left.
  bool ReleaseRetired();

  const ModelReloaderOptions options_;
  const Source source_;
  const Loader loader_;
  ModelManager& manager_;
  const Observer observer_;
  const Fallback fallback_;

  // Serializes attempts (ReloadNow against the thread). Held while loading.
  std::mutex attempt_mu_;
  std::optional<ServableId> serving_id_;  // guarded by attempt_mu_
  std::optional<ServableId> refused_id_;  // guarded by attempt_mu_
  std::string last_source_error_;         // guarded by attempt_mu_: reported once per change

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  bool started_ = false;
  bool stopping_ = false;
  std::vector<Completion> pending_;  // requests not yet attempted
  bool requested_ = false;
  ReloaderState state_;
  std::vector<std::shared_ptr<const ServingModel>> retired_;
  std::thread thread_;
};

}  // namespace csml
