#include "csml/training/train_pipeline.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "csml/registry/registry.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

// The registry directory must be a directory, or not exist under a directory that does.
// Checked before any work, so a path under a file fails in a second rather than after training.
Status CheckModelDir(const fs::path& dir) {
  std::error_code ec;
  fs::path existing = dir;
  while (!existing.empty() && !fs::exists(existing, ec)) {
    const fs::path parent = existing.parent_path();
    if (parent == existing) break;
    existing = parent;
  }
  if (existing.empty()) return {};  // a relative path whose first part does not exist yet
  if (!fs::is_directory(existing, ec)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("model registry {}: expected a directory, but {} is a file",
                                 dir.string(), existing.string()));
  }
  return {};
}

// Removes a registry directory this run created when nothing was published into it: only
// the registry's own hidden files (lock, temporaries) are in it then.
void RemoveIfUnused(const fs::path& dir) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind('.', 0) != 0) return;
  }
  if (!ec) fs::remove_all(dir, ec);
}

// Hands freed heap back to the system (glibc keeps it resident otherwise): a million parsed
// records are ~190 MB that training would carry for nothing.
void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

}  // namespace

std::string_view TrainStageName(TrainStage stage) {
  switch (stage) {
    case TrainStage::kLoad:
      return "load";
    case TrainStage::kValidate:
      return "validate";
    case TrainStage::kDataset:
      return "dataset";
    case TrainStage::kTrain:
      return "train";
    case TrainStage::kPublish:
      return "publish";
  }
  return "unknown";
}

Status TrainPipelineOptions::Validate() const {
  if (model_dir.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "model_dir: expected a directory, got ''");
  }
  if (!tenant.empty()) {
    CSML_TRY(ValidateTenantId(tenant));
    CSML_TRY(tenant_gate.Validate());
  }
  CSML_TRY(train.Validate());
  CSML_TRY(promotion.Validate());
  CSML_TRY(validation.Validate());
  return {};
}

Result<TrainPipeline> TrainPipeline::Create(TrainPipelineOptions options) {
  CSML_TRY(options.Validate());
  return TrainPipeline(std::move(options));
}

Result<TrainPipelineResult> TrainPipeline::Run(const TrainingLoader& load,
                                               TrainObserver& observer) const {
  TrainPipelineResult out;
  CSML_TRY(CheckModelDir(options_.model_dir));

  // ---- load
  observer.OnStage(TrainStage::kLoad);
  CSML_ASSIGN_OR_RETURN(TrainingInput input, load());
  out.origin = input.origin;

  // ---- validate
  observer.OnStage(TrainStage::kValidate);
  ValidationOptions validation = options_.validation;
  validation.as_of = input.as_of;
  validation.days = input.days;
  validation.select_window = false;  // the loader selected the window
  CSML_ASSIGN_OR_RETURN(out.validation, ValidateSnapshots(input.batch, validation));
  out.validation.source = input.origin;
  if (out.validation.BlocksTraining()) {
    out.refused = true;
    return out;
  }
  observer.OnDataFindings(out.validation);

  // ---- dataset
  observer.OnStage(TrainStage::kDataset);
  DatasetBuilder builder;
  builder.Add(input.batch.records);
  builder.AddInvalid(input.batch.records_invalid);
  builder.AddOutsideWindow(input.outside_window);
  WindowOptions window;
  window.days = input.days;
  window.as_of = input.as_of;
  input = TrainingInput();  // the records are encoded; free them before training
  ReleaseFreedMemory();
  CSML_ASSIGN_OR_RETURN(const Dataset dataset, builder.Finish(window));
  out.counts = dataset.counts;
  out.rows = dataset.rows();
  out.tenant = options_.tenant;

  // ---- the tenant data gate: a tenant model needs enough of the tenant's own outcomes
  if (!options_.tenant.empty()) {
    out.tenant_counts = CountTenantData(dataset);
    if (Status gate = CheckTenantDataGate(out.tenant_counts, options_.tenant_gate); !gate) {
      out.tenant_refused = true;
      out.tenant_refusal = gate.error().message;
      return out;
    }
  }

  // ---- train and evaluate
  observer.OnStage(TrainStage::kTrain);
  TrainOptions train = options_.train;
  train.on_progress = [&observer](const TrainingProgress& p) { observer.OnProgress(p); };
  auto trained = TrainModel(dataset, train);
  observer.OnTrainingEnd();
  if (!trained) return tl::unexpected(trained.error());
  out.training = std::move(trained->report);

  // ---- publish behind the promotion gate
  observer.OnStage(TrainStage::kPublish);
  std::error_code ec;
  const bool existed = fs::exists(options_.model_dir, ec);
  const fs::path tenant_dir =
      options_.tenant.empty() ? fs::path() : options_.model_dir / kTenantsDir / options_.tenant;
  const bool tenant_existed = !tenant_dir.empty() && fs::exists(tenant_dir, ec);
  CSML_ASSIGN_OR_RETURN(const Registry registry,
                        options_.tenant.empty()
                            ? Registry::Open(options_.model_dir, RegistryOpenMode::kCreateIfMissing)
                            : Registry::OpenTenant(options_.model_dir, options_.tenant,
                                                   RegistryOpenMode::kCreateIfMissing));
  auto published = PublishAndPromote(registry, trained->model_json, std::move(trained->meta),
                                     options_.promotion);
  if (!published) {
    if (!tenant_dir.empty() && !tenant_existed) RemoveIfUnused(tenant_dir);
    if (!existed) RemoveIfUnused(options_.model_dir);
    return tl::unexpected(published.error());
  }
  out.published = std::move(*published);
  out.registry_dir = registry.dir();
  return out;
}

}  // namespace csml
