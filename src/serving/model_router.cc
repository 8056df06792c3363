#include "csml/serving/model_router.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "csml/serving/model_source.h"

namespace csml {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// Which side pointer a namespace names, so a poll loads only what moved.
struct SideKey {
  std::string canary;
  double canary_percent = 0;
  std::string shadow;
  double shadow_sample = 0;
  friend bool operator==(const SideKey&, const SideKey&) = default;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Reads SHADOW and CANARY; a pointer that cannot be read counts as absent (and is reported).
SideKey ReadSideKey(const Registry& registry, std::string* problem) {
  SideKey key;
  if (Result<std::optional<CanaryPointer>> canary = registry.ReadCanary(); !canary) {
    *problem = canary.error().message;
  } else if (*canary) {
    key.canary = (*canary)->version;
    key.canary_percent = (*canary)->percent;
  }
  if (Result<std::optional<ShadowPointer>> shadow = registry.ReadShadow(); !shadow) {
    *problem = shadow.error().message;
  } else if (*shadow) {
    key.shadow = (*shadow)->version;
    key.shadow_sample = (*shadow)->sample;
  }
  return key;
}

void Pick(const std::shared_ptr<const ServingModel>& serving, const SideModels* side,
          std::string_view user_id, Route* route) {
  route->model = serving;
  if (serving == nullptr || side == nullptr) return;
  if (side->canary != nullptr && InCanary(user_id, side->canary_percent)) {
    route->served = serving;
    route->model = side->canary;
    route->canary = true;
  }
  if (side->shadow != nullptr && InShadowSample(user_id, side->shadow_sample)) {
    route->shadow = side->shadow;
  }
}

}  // namespace

std::uint32_t UserBucket(std::string_view user_id, std::uint64_t salt) {
  // FNV-1a over the salt's bytes then the userId's, then a final avalanche (splitmix64's) so
  // neighbouring ids spread over the buckets. Hand-written: a 64-bit FNV is ten lines and no
  // Debian library offers a hash that is specified to stay the same across versions.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (int i = 0; i < 8; ++i) {
    h ^= (salt >> (8 * i)) & 0xffU;
    h *= 0x100000001b3ULL;
  }
  for (const char c : user_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<std::uint32_t>(h % 10000U);
}

bool InCanary(std::string_view user_id, double percent) {
  return static_cast<double>(UserBucket(user_id, kCanarySalt)) < percent * 100.0;
}

bool InShadowSample(std::string_view user_id, double sample) {
  return static_cast<double>(UserBucket(user_id, kShadowSalt)) < sample * 10000.0;
}

Status ModelRouterOptions::Validate() const {
  if (max_loaded_tenants < 1 || max_loaded_tenants > 100000) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("max loaded tenants: expected 1 to 100000, got {}", max_loaded_tenants));
  }
  if (poll_interval_ms < 0 || poll_interval_ms > 3600 * 1000) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("router poll interval: expected 0 to 3600000 ms, got {}", poll_interval_ms));
  }
  return {};
}

struct ModelRouter::Impl {
  // One tenant namespace with a version to serve.
  struct Entry {
    Entry(std::string tenant, Registry reg)
        : id(std::move(tenant)), registry(std::move(reg)), source(registry) {}
    const std::string id;
    const Registry registry;
    std::atomic<std::shared_ptr<const TenantModels>> models;  // null: not loaded
    std::atomic<std::int64_t> last_used_ms{0};
    std::atomic<bool> refused{false};  // the load failed: the global model answers
    std::atomic<std::uint64_t> scores{0};
    // Router thread only (under work_mu):
    ModelSource source;
    std::optional<ServableId> loaded_id;  // the source's answer the models were loaded for
    std::optional<ServableId> refused_id;
    SideKey side_key;
  };
  using Table =
      std::unordered_map<std::string, std::shared_ptr<Entry>, StringHash, std::equal_to<>>;

  Impl(const ModelRouterOptions& o, std::filesystem::path dir, const ModelManager& g, Observer obs)
      : options(o),
        tenant_load(TenantLoad(o)),
        root_dir(std::move(dir)),
        global(g),
        observer(std::move(obs)) {}

  static LoadOptions TenantLoad(const ModelRouterOptions& o) {
    LoadOptions load = o.load;
    if (!load.explain_table_bytes) load.explain_table_bytes = o.tenant_explain_table_bytes;
    return load;
  }

  const ModelRouterOptions options;
  const LoadOptions tenant_load;  // the global namespace's side versions load with options.load
  const std::filesystem::path root_dir;
  const ModelManager& global;
  const Observer observer;

  std::atomic<std::shared_ptr<const Table>> table{std::make_shared<const Table>()};
  std::atomic<bool> has_tenants{false};
  std::atomic<std::shared_ptr<const SideModels>> global_side;
  std::atomic<bool> has_global_side{false};

  mutable std::atomic<std::uint64_t> fallback_scores{0};
  std::atomic<std::uint64_t> loads{0};
  std::atomic<std::uint64_t> load_failures{0};
  std::atomic<std::uint64_t> unloads{0};

  // Serializes the work (the thread against Refresh() from a caller).
  std::mutex work_mu;
  std::optional<Registry> root;  // guarded by work_mu; opened once the directory exists
  SideKey global_side_key;       // guarded by work_mu
  std::vector<std::shared_ptr<const ServingModel>> retired;  // guarded by work_mu
  std::atomic<bool> has_retired{false};

  std::mutex mu;  // guards the four below
  std::condition_variable wake;
  std::vector<std::pair<std::string, Completion>> pending;
  bool refresh_requested = false;
  bool started = false;
  bool stopping = false;
  std::thread thread;

  void Tell(const RouterEvent& event) const {
    if (observer) observer(event);
  }

  void Retire(const std::shared_ptr<const TenantModels>& old) {
    if (old == nullptr) return;
    for (const auto* model : {&old->serving, &old->side.canary, &old->side.shadow}) {
      if (*model != nullptr) retired.push_back(*model);
    }
  }

  void ReleaseRetired() {
    std::erase_if(retired, [](const auto& model) { return model.use_count() == 1; });
    has_retired.store(!retired.empty(), std::memory_order_relaxed);
  }

  // Loads the side versions `key` names; a side that fails keeps `previous`'s model when it
  // named the same version, else is left out (and reported).
  SideModels LoadSide(const Registry& registry, const SideKey& key, const SideModels* previous,
                      const SideKey* previous_key) {
    SideModels side;
    const auto load = [&](const std::string& version, std::shared_ptr<const ServingModel> keep,
                          const char* what) -> std::shared_ptr<const ServingModel> {
      if (version.empty()) return nullptr;
      if (keep != nullptr) return keep;
      Result<std::shared_ptr<const ServingModel>> model = LoadServingModel(
          registry, version, registry.tenant().empty() ? options.load : tenant_load);
      if (!model) {
        load_failures.fetch_add(1, std::memory_order_relaxed);
        Tell({RouterEvent::Kind::kFailed,
              registry.tenant(),
              registry.Qualified(version),
              fmt::format("{} version: {}", what, model.error().message),
              {}});
        return nullptr;
      }
      return std::move(*model);
    };
    const bool same_canary = previous != nullptr && previous_key->canary == key.canary;
    const bool same_shadow = previous != nullptr && previous_key->shadow == key.shadow;
    side.canary = load(key.canary, same_canary ? previous->canary : nullptr, "canary");
    side.canary_percent = key.canary_percent;
    side.shadow = load(key.shadow, same_shadow ? previous->shadow : nullptr, "shadow");
    side.shadow_sample = key.shadow_sample;
    return side;
  }

  static std::string DescribeSide(const SideKey& key) {
    std::string out;
    if (!key.canary.empty()) out += fmt::format("canary {} at {}%", key.canary, key.canary_percent);
    if (!key.shadow.empty()) {
      if (!out.empty()) out += ", ";
      out += fmt::format("shadow {} on {} of traffic", key.shadow, key.shadow_sample);
    }
    return out.empty() ? std::string("no canary, no shadow") : out;
  }

  void RefreshGlobalSide() {
    std::string problem;
    const SideKey key = ReadSideKey(*root, &problem);
    if (key == global_side_key) return;
    const std::shared_ptr<const SideModels> previous = global_side.load();
    SideModels side = LoadSide(*root, key, previous.get(), &global_side_key);
    global_side_key = key;
    const bool any = side.canary != nullptr || side.shadow != nullptr;
    std::shared_ptr<const SideModels> next =
        any ? std::make_shared<const SideModels>(std::move(side)) : nullptr;
    const std::shared_ptr<const SideModels> old = global_side.exchange(std::move(next));
    has_global_side.store(any, std::memory_order_release);
    if (old != nullptr) {
      for (const auto* model : {&old->canary, &old->shadow}) {
        if (*model != nullptr) retired.push_back(*model);
      }
    }
    Tell({RouterEvent::Kind::kSideChanged, "", "", DescribeSide(key), {}});
  }

  // Loads the tenant's served version and side versions (first use or a registry change).
  bool LoadTenant(Entry& entry, const ServableId& id) {
    const auto started_at = Clock::now();
    const std::shared_ptr<const TenantModels> previous = entry.models.load();
    // First use follows the served-version rule (its fallback included); a reload loads what
    // the source names, and a failure keeps the loaded models.
    Result<std::shared_ptr<const ServingModel>> serving =
        previous == nullptr ? LoadServingModel(entry.registry, "", tenant_load)
                            : LoadServingModel(entry.registry, id.version, tenant_load);
    if (!serving) {
      load_failures.fetch_add(1, std::memory_order_relaxed);
      entry.refused_id = id;
      if (previous == nullptr) entry.refused.store(true, std::memory_order_release);
      Tell({RouterEvent::Kind::kFailed,
            entry.id,
            entry.registry.Qualified(id.version),
            serving.error().message,
            {}});
      return false;
    }
    std::string problem;
    const SideKey key = ReadSideKey(entry.registry, &problem);
    auto models = std::make_shared<TenantModels>();
    models->serving = std::move(*serving);
    models->side =
        LoadSide(entry.registry, key, previous ? &previous->side : nullptr, &entry.side_key);
    entry.side_key = key;
    entry.loaded_id = id;
    entry.refused_id.reset();
    const std::string version = models->serving->version();
    entry.last_used_ms.store(NowMs(), std::memory_order_relaxed);
    Retire(entry.models.exchange(std::move(models)));
    entry.refused.store(false, std::memory_order_release);
    loads.fetch_add(1, std::memory_order_relaxed);
    Tell({RouterEvent::Kind::kLoaded, entry.id, version, DescribeSide(key),
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_at)});
    return true;
  }

  void Unload(Entry& entry) {
    const std::shared_ptr<const TenantModels> old = entry.models.exchange(nullptr);
    if (old == nullptr) return;
    entry.loaded_id.reset();
    entry.side_key = {};
    Retire(old);
    unloads.fetch_add(1, std::memory_order_relaxed);
    Tell({RouterEvent::Kind::kUnloaded,
          entry.id,
          old->serving->version(),
          fmt::format("the cap of {} loaded tenants", options.max_loaded_tenants),
          {}});
  }

  // Unloads the least recently used tenants past the cap, never `keep`.
  void EnforceCap(const Table& tenants, const Entry* keep) {
    std::vector<Entry*> loaded;
    for (const auto& [id, entry] : tenants) {
      if (entry->models.load(std::memory_order_acquire) != nullptr) loaded.push_back(entry.get());
    }
    if (loaded.size() <= options.max_loaded_tenants) return;
    std::sort(loaded.begin(), loaded.end(), [](const Entry* a, const Entry* b) {
      return a->last_used_ms.load(std::memory_order_relaxed) <
             b->last_used_ms.load(std::memory_order_relaxed);
    });
    std::size_t excess = loaded.size() - options.max_loaded_tenants;
    for (Entry* entry : loaded) {
      if (excess == 0) break;
      if (entry == keep) continue;
      Unload(*entry);
      --excess;
    }
  }

  // A first-use load, if the tenant still needs one.
  void LoadOnFirstUse(std::string_view tenant) {
    const std::shared_ptr<const Table> tenants = table.load();
    const auto it = tenants->find(tenant);
    if (it == tenants->end()) return;
    Entry& entry = *it->second;
    if (entry.models.load() != nullptr || entry.refused.load()) return;
    Result<ServableId> id = entry.source.Poll();
    if (!id) {
      entry.refused.store(true, std::memory_order_release);
      load_failures.fetch_add(1, std::memory_order_relaxed);
      Tell({RouterEvent::Kind::kFailed, entry.id, "", id.error().message, {}});
      return;
    }
    if (LoadTenant(entry, *id)) EnforceCap(*tenants, &entry);
  }

  // The tenant table from the registry, keeping the entries of tenants still there.
  void RefreshTable() {
    Result<TenantListing> listing = root->ListTenants();
    if (!listing) return;  // an unreadable tenants/ keeps the table as it is
    const std::shared_ptr<const Table> current = table.load();
    auto next = std::make_shared<Table>();
    bool changed = false;
    for (const std::string& tenant : listing->tenants) {
      if (const auto it = current->find(tenant); it != current->end()) {
        next->emplace(tenant, it->second);
        continue;
      }
      Result<Registry> registry =
          Registry::OpenTenant(root_dir, tenant, RegistryOpenMode::kReadOnly);
      if (!registry) continue;
      auto entry = std::make_shared<Entry>(tenant, std::move(*registry));
      // Only a namespace with a version to serve routes to itself.
      if (!entry->source.Poll()) continue;
      next->emplace(tenant, std::move(entry));
      changed = true;
    }
    if (next->size() != current->size()) changed = true;
    if (!changed) return;
    for (const auto& [id, entry] : *current) {
      if (!next->contains(id)) Retire(entry->models.exchange(nullptr));
    }
    has_tenants.store(!next->empty(), std::memory_order_release);
    table.store(std::shared_ptr<const Table>(std::move(next)));
  }

  // Reloads the loaded tenants whose registry moved; lets refused ones try again once their
  // registry changed.
  void RefreshTenants() {
    const std::shared_ptr<const Table> tenants = table.load();
    for (const auto& [id, entry] : *tenants) {
      const std::shared_ptr<const TenantModels> models = entry->models.load();
      const bool refused = entry->refused.load();
      if (models == nullptr && !refused) continue;  // loads on first use
      Result<ServableId> source = entry->source.Poll();
      if (!source) continue;
      if (refused) {
        if (entry->refused_id != *source) {
          entry->refused_id.reset();
          entry->refused.store(false, std::memory_order_release);
        }
        continue;
      }
      if (entry->loaded_id != *source && entry->refused_id != *source) {
        LoadTenant(*entry, *source);
        continue;
      }
      std::string problem;
      const SideKey key = ReadSideKey(entry->registry, &problem);
      if (key == entry->side_key) continue;
      auto next = std::make_shared<TenantModels>();
      next->serving = models->serving;
      next->side = LoadSide(entry->registry, key, &models->side, &entry->side_key);
      entry->side_key = key;
      Retire(entry->models.exchange(std::move(next)));
      Tell({RouterEvent::Kind::kSideChanged,
            entry->id,
            models->serving->version(),
            DescribeSide(key),
            {}});
    }
  }

  void RefreshAll() {
    if (!root) {
      // A fresh deployment's registry may not exist yet: nothing to route until it does.
      Result<Registry> opened = Registry::Open(root_dir, RegistryOpenMode::kReadOnly);
      if (!opened) return;
      root.emplace(std::move(*opened));
    }
    RefreshGlobalSide();
    RefreshTable();
    RefreshTenants();
    ReleaseRetired();
  }

  void Run() {
    auto next_poll = Clock::now() + std::chrono::milliseconds(options.poll_interval_ms);
    std::unique_lock lock(mu);
    while (true) {
      auto deadline =
          options.poll_interval_ms > 0 ? next_poll : Clock::now() + std::chrono::hours(1);
      // Models retired while requests held them are looked at again soon.
      if (has_retired.load(std::memory_order_relaxed)) {
        deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(20));
      }
      wake.wait_until(lock, deadline,
                      [this] { return stopping || !pending.empty() || refresh_requested; });
      if (stopping) break;
      std::vector<std::pair<std::string, Completion>> work;
      work.swap(pending);
      bool refresh = refresh_requested;
      refresh_requested = false;
      if (options.poll_interval_ms > 0 && Clock::now() >= next_poll) {
        refresh = true;
        next_poll = Clock::now() + std::chrono::milliseconds(options.poll_interval_ms);
      }
      lock.unlock();
      {
        std::lock_guard work_lock(work_mu);
        for (auto& [tenant, done] : work) {
          LoadOnFirstUse(tenant);
          if (done) done();
        }
        if (refresh) RefreshAll();
        ReleaseRetired();
      }
      lock.lock();
    }
    std::vector<std::pair<std::string, Completion>> rest;
    rest.swap(pending);
    lock.unlock();
    for (auto& [tenant, done] : rest) {
      if (done) done();
    }
  }
};

Result<std::unique_ptr<ModelRouter>> ModelRouter::Create(const ModelRouterOptions& options,
                                                         std::filesystem::path root_dir,
                                                         const ModelManager& global,
                                                         Observer observer) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  return std::unique_ptr<ModelRouter>(new ModelRouter(
      std::make_unique<Impl>(options, std::move(root_dir), global, std::move(observer))));
}

ModelRouter::ModelRouter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ModelRouter::~ModelRouter() { Stop(); }

Route ModelRouter::Resolve(std::string_view tenant, std::string_view user_id,
                           bool count_score) const {
  Route route;
  if (!tenant.empty()) {
    if (impl_->has_tenants.load(std::memory_order_acquire)) {
      const std::shared_ptr<const Impl::Table> tenants = impl_->table.load();
      if (const auto it = tenants->find(tenant);
          it != tenants->end() && !it->second->refused.load(std::memory_order_acquire)) {
        Impl::Entry& entry = *it->second;
        const std::shared_ptr<const TenantModels> models = entry.models.load();
        if (models == nullptr) {
          route.status = Route::Status::kLoading;
          return route;
        }
        entry.last_used_ms.store(NowMs(), std::memory_order_relaxed);
        if (count_score) entry.scores.fetch_add(1, std::memory_order_relaxed);
        route.tenant_model = true;
        Pick(models->serving, &models->side, user_id, &route);
        return route;
      }
    }
    impl_->fallback_scores.fetch_add(1, std::memory_order_relaxed);
  }
  if (impl_->has_global_side.load(std::memory_order_acquire)) {
    const std::shared_ptr<const SideModels> side = impl_->global_side.load();
    Pick(impl_->global.Current(), side.get(), user_id, &route);
  } else {
    route.model = impl_->global.Current();
  }
  return route;
}

void ModelRouter::LoadThen(std::string_view tenant, Completion done) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->started && !impl_->stopping) {
      impl_->pending.emplace_back(std::string(tenant), std::move(done));
      impl_->wake.notify_one();
      return;
    }
  }
  if (done) done();
}

void ModelRouter::Refresh() {
  std::lock_guard work_lock(impl_->work_mu);
  impl_->RefreshAll();
}

void ModelRouter::RequestRefresh() {
  std::lock_guard lock(impl_->mu);
  impl_->refresh_requested = true;
  impl_->wake.notify_one();
}

void ModelRouter::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started || impl_->stopping) return;
  impl_->started = true;
  impl_->thread = std::thread([this] { impl_->Run(); });
}

void ModelRouter::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->wake.notify_all();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

ModelRouterStats ModelRouter::Stats() const {
  ModelRouterStats stats;
  const std::shared_ptr<const Impl::Table> tenants = impl_->table.load();
  stats.known_tenants = tenants->size();
  stats.max_loaded_tenants = impl_->options.max_loaded_tenants;
  for (const auto& [id, entry] : *tenants) {
    TenantStat stat;
    stat.tenant = id;
    stat.scores = entry->scores.load(std::memory_order_relaxed);
    if (const auto models = entry->models.load()) {
      stat.loaded = true;
      stat.serving_version = models->serving->version();
      ++stats.loaded_tenants;
    }
    stats.tenants.push_back(std::move(stat));
  }
  std::sort(stats.tenants.begin(), stats.tenants.end(),
            [](const TenantStat& a, const TenantStat& b) {
              return a.scores != b.scores ? a.scores > b.scores : a.tenant < b.tenant;
            });
  stats.loads = impl_->loads.load(std::memory_order_relaxed);
  stats.load_failures = impl_->load_failures.load(std::memory_order_relaxed);
  stats.unloads = impl_->unloads.load(std::memory_order_relaxed);
  stats.fallback_scores = impl_->fallback_scores.load(std::memory_order_relaxed);
  if (const auto side = impl_->global_side.load()) {
    if (side->canary != nullptr) {
      stats.global_canary = side->canary->version();
      stats.global_canary_percent = side->canary_percent;
    }
    if (side->shadow != nullptr) {
      stats.global_shadow = side->shadow->version();
      stats.global_shadow_sample = side->shadow_sample;
    }
  }
  return stats;
}

}  // namespace csml
