// Which model answers a request, for every tenant (docs/OPERATIONS.md §12): the global
// namespace's models and each tenant's, their canary and shadow versions, loaded on first use
// under a cap with least-recently-used unloading, and reloaded when the registry moves.
//
// Precedence, for a request with tenant T (empty without the X-Tenant-Id header) and userId U:
//   1. namespace: T's when T's namespace has a version to serve and it loaded; otherwise the
//      global one (an unknown tenant, a tenant the data gate refused, a tenant whose model
//      fails to load). No header: the global namespace.
//   2. canary: when that namespace has a CANARY at P %, the customers whose userId bucket
//      (UserBucket, a stable hash) is below P get the canary version; the others its served
//      version. A customer never flips between the two while P stays.
//   3. shadow: when that namespace has a SHADOW with sample S, the customers whose shadow
//      bucket (another salt) is below S are also scored by the shadow version, off the
//      request path (csml/serving/shadow_scorer.h), whichever version answered.
// A tenant's canary and shadow apply only to its own customers' requests; the global ones
// only to requests the global namespace answers.
//
// The global namespace's served version stays with the ModelManager and ModelReloader the
// server already runs (same checks, same reload guarantees); this router adds the rest on its
// own thread: global canary and shadow, the tenant table, tenant loads and reloads.
//
// Hot path: Resolve() never waits. It reads two atomic snapshots and the tenant's entry; a
// tenant whose model is not loaded yet answers kLoading, and the caller asks LoadThen() to
// run its completion on the router thread once the load was tried (the caller's request then
// waits, nobody else's does). A load that fails leaves the tenant answered by the global
// model until its registry changes (no retry storm).
// Thread-safety: Resolve, LoadThen, Stats, RequestRefresh are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/registry/registry.h"
#include "csml/serving/model_loader.h"
#include "csml/serving/model_manager.h"
#include "csml/serving/serving_model.h"

namespace csml {

// [0, 10000): the customer's bucket in hundredths of a percent, from a 64-bit FNV-1a of the
// userId with `salt` mixed in. Stable across processes, restarts and machines.
std::uint32_t UserBucket(std::string_view user_id, std::uint64_t salt);
inline constexpr std::uint64_t kCanarySalt = 0x63616e617279ULL;  // "canary"
inline constexpr std::uint64_t kShadowSalt = 0x736861646f77ULL;  // "shadow"

// True when userId's bucket is below `percent` (0..100).
bool InCanary(std::string_view user_id, double percent);
// True when userId's shadow bucket is below `sample` (0..1) of the customers.
bool InShadowSample(std::string_view user_id, double sample);

// One namespace's side versions, as the router thread last loaded them. Immutable.
struct SideModels {
  std::shared_ptr<const ServingModel> canary;
  double canary_percent = 0;
  std::shared_ptr<const ServingModel> shadow;
  double shadow_sample = 0;
};

// A tenant's models: its served version and its side versions. Immutable.
struct TenantModels {
  std::shared_ptr<const ServingModel> serving;
  SideModels side;
};

struct Route {
  enum class Status : std::uint8_t {
    kReady,    // `model` answers (null: no model anywhere, the caller's 503)
    kLoading,  // the tenant's model is not loaded: call LoadThen, then Resolve again
  };
  Status status = Status::kReady;
  std::shared_ptr<const ServingModel> model;   // answers
  std::shared_ptr<const ServingModel> shadow;  // scored beside it; null: none
  bool canary = false;                         // `model` is the namespace's canary
  std::shared_ptr<const ServingModel> served;  // when canary: the namespace's served version
  bool tenant_model = false;                   // `model` is the tenant's, not the global one
};

struct ModelRouterOptions {
  // Tenant namespaces kept loaded at once; past it the least recently used is unloaded.
  std::size_t max_loaded_tenants = 100;
  // How often the registry is read again (tenants, pointers); 0: only on RequestRefresh().
  int poll_interval_ms = 1000;
  // How tenant and side models load (the server's reasons setting).
  LoadOptions load;
  // The TreeSHAP table budget of each tenant model (LoadOptions::explain_table_bytes) unless
  // `load` sets one: small, so a thousand tenant models fit in 300 MiB; their explanations
  // are the same numbers, computed more by the node walk (docs/PERFORMANCE.md §9).
  std::size_t tenant_explain_table_bytes = std::size_t{64} << 10;

  // max_loaded_tenants in [1, 100000]; poll_interval_ms in [0, 1 hour].
  [[nodiscard]] Status Validate() const;
};

// Counters for /metrics and /healthz.
struct TenantStat {
  std::string tenant;
  std::string serving_version;  // qualified; empty when not loaded
  std::uint64_t scores = 0;     // scores the tenant's own models answered
  bool loaded = false;
};

struct ModelRouterStats {
  std::size_t known_tenants = 0;  // namespaces with a version to serve
  std::size_t loaded_tenants = 0;
  std::size_t max_loaded_tenants = 0;
  std::uint64_t loads = 0;            // tenant loads that succeeded (first use and reloads)
  std::uint64_t load_failures = 0;    // tenant, canary and shadow loads that failed
  std::uint64_t unloads = 0;          // tenants unloaded by the cap
  std::uint64_t fallback_scores = 0;  // requests with a tenant header the global model answered
  std::vector<TenantStat> tenants;    // every known tenant, most scores first
  std::string global_canary;          // qualified versions; empty when none
  double global_canary_percent = 0;
  std::string global_shadow;
  double global_shadow_sample = 0;
};

// One thing the router did worth a log line (the domain does not log; the server does).
struct RouterEvent {
  enum class Kind : std::uint8_t { kLoaded, kUnloaded, kFailed, kSideChanged };
  Kind kind = Kind::kLoaded;
  std::string tenant;  // empty: the global namespace
  std::string version;
  std::string detail;  // kFailed: why; kSideChanged: what
  std::chrono::microseconds load_duration{0};
};

class ModelRouter {
 public:
  using Observer = std::function<void(const RouterEvent&)>;
  using Completion = std::function<void()>;

  // `global` must outlive the router; `root_dir` is the registry's root (its global
  // namespace), opened once it exists. The thread starts in Start(); before it, Refresh() may
  // be called on the caller's thread.
  static Result<std::unique_ptr<ModelRouter>> Create(const ModelRouterOptions& options,
                                                     std::filesystem::path root_dir,
                                                     const ModelManager& global, Observer observer);
  ~ModelRouter();  // Stop()
  ModelRouter(const ModelRouter&) = delete;
  ModelRouter& operator=(const ModelRouter&) = delete;

  // Which model answers (see the precedence above). Never waits. Each call counts one score
  // for the tenant that answers unless `count_score` is false (a batch resolves its
  // namespace once, uncounted, then each item); a request with a tenant header that the
  // global model answers counts one fallback either way.
  Route Resolve(std::string_view tenant, std::string_view user_id, bool count_score = true) const;

  // Queues a load of `tenant` (if it still needs one) and runs `done` on the router thread
  // after the attempt, whatever its outcome. Never blocks. After Stop(), `done` runs at once.
  void LoadThen(std::string_view tenant, Completion done);

  // One pass over the registry now, on the calling thread (tests, start-up).
  void Refresh();
  // Asks the thread for a pass as soon as it can (SIGHUP, POST /admin/reload).
  void RequestRefresh();

  void Start();
  void Stop();  // joins the thread; pending completions run. Idempotent.

  ModelRouterStats Stats() const;

 private:
  struct Impl;
  explicit ModelRouter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace csml
