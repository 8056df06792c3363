// The training pipeline of `csml train` (docs/COMMANDS.md), in the spirit of LightGBM's
// Application tasks: one options struct, checked once, and one run of
//
//   load -> validate -> dataset -> train (with its evaluation) -> publish (behind the gate).
//
// The pipeline knows no flags, no terminal and no logger. The adapter supplies the snapshots
// through a loader callback (a file or the CS API is the adapter's business), watches the run
// through a TrainObserver, and renders the result.
//
// MODEL_DIR is created only when a version is published: a run that fails (bad data, a split
// with one class, an XGBoost error) leaves no new directory behind.
//
// Not thread-safe per object; a run owns everything it allocates.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot_reader.h"
#include "csml/training/dataset.h"
#include "csml/training/promotion.h"
#include "csml/training/tenant_gate.h"
#include "csml/training/trainer.h"
#include "csml/validation/data_validator.h"

namespace csml {

// The labeled snapshots of one window, as the adapter loaded them. Records that broke the
// data contract are expected to be skipped and counted in batch.records_invalid (the
// validator decides whether they block training).
struct TrainingInput {
  SnapshotBatch batch;
  UnixSeconds as_of = 0;           // the window ends here
  int days = 0;                    // label_ts in (as_of - days, as_of]
  std::size_t outside_window = 0;  // records the source left out by the window
  std::string origin;              // "file data.jsonl", "GET http://host/path?days=90"
};

using TrainingLoader = std::function<Result<TrainingInput>()>;

enum class TrainStage { kLoad, kValidate, kDataset, kTrain, kPublish };

// "load", "validate", "dataset", "train", "publish".
std::string_view TrainStageName(TrainStage stage);

// What a run reports while it goes. Every method has an empty default; each is called on the
// thread that runs the pipeline.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  // A stage begins.
  virtual void OnStage(TrainStage /*stage*/) {}
  // The validator let the data through, with these findings (warnings only; may be empty).
  virtual void OnDataFindings(const ValidationReport& /*report*/) {}
  // After each boosting round (trainer.h).
  virtual void OnProgress(const TrainingProgress& /*progress*/) {}
  // Training has ended, well or not: nothing more comes through OnProgress.
  virtual void OnTrainingEnd() {}
};

struct TrainPipelineOptions {
  std::filesystem::path model_dir;  // the registry; created when the first version is published
  // Empty: publish into the global namespace (model_dir itself). A tenant id: publish into
  // that tenant's namespace (Registry::OpenTenant), behind the tenant data gate.
  std::string tenant;
  TenantDataGate tenant_gate;  // applied only with a tenant
  TrainOptions train;          // its on_progress is replaced by the observer's
  PromotionOptions promotion;
  ValidationOptions validation;  // as_of, days and select_window are taken from the input

  // Every field once; the message names the field (a caller may add the flag's name).
  [[nodiscard]] Status Validate() const;
};

struct TrainPipelineResult {
  std::string origin;
  ValidationReport validation;
  // The validator found errors: nothing was trained or published, and the fields below are
  // empty. The command's verdict (exit 1) rather than an Error.
  bool refused = false;
  // A tenant run whose data failed the tenant data gate: nothing was trained or published;
  // tenant_refusal says which threshold failed with the counts. Also a verdict (exit 1).
  bool tenant_refused = false;
  std::string tenant_refusal;
  TenantDataCounts tenant_counts;  // a tenant run's rows and positives (the gate's input)
  DatasetCounts counts;            // where every record went
  std::size_t rows = 0;            // rows of the dataset
  TrainingReport training;
  PublishOutcome published;
  std::filesystem::path registry_dir;
  std::string tenant;  // the namespace published into; empty: the global one
};

class TrainPipeline {
 public:
  // kInvalidArgument when the options do not validate.
  static Result<TrainPipeline> Create(TrainPipelineOptions options);

  // One run. Errors: the loader's, the dataset's and the trainer's (trainer.h), the
  // registry's; kInvalidArgument when model_dir is a file or under one.
  Result<TrainPipelineResult> Run(const TrainingLoader& load, TrainObserver& observer) const;

  const TrainPipelineOptions& options() const { return options_; }

 private:
  explicit TrainPipeline(TrainPipelineOptions options) : options_(std::move(options)) {}
  TrainPipelineOptions options_;
};

}  // namespace csml
