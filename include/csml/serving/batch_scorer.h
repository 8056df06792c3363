// Offline batch scoring (`csml predict`): every snapshot of a file scored with one registry
// version on every core, written as JSON Lines
//   {"userId":"u_001","snapshot_ts":"2025-08-22T09:00:00Z","risk":0.7312019438743591,
//    "tier":"high","reasons":["inactive_14d"]}
// in input order. This is how a nightly job scores all customers.
//
// A BatchScorer is the batch twin of ServingModel: the same version, feature order, encoder,
// thresholds and reasons, and the same flat forest, but rows are encoded and scored in blocks
// (Forest::PredictBatch reads each tree once per block). `risk` is the model's probability at
// full precision (the shortest text that reads back to the same double); `tier` is classified
// from the risk rounded to 4 decimals, exactly as `POST /score` classifies, so a customer gets
// the same tier from the nightly file and from the live API.
//
// Thread-safety: a BatchScorer is immutable; its methods may run on many threads at once. Each
// call starts its own worker threads and joins them before it returns.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/data/snapshot.h"
#include "csml/ensemble/predictor.h"
#include "csml/features/schema.h"
#include "csml/reasons/reasons.h"
#include "csml/registry/registry.h"
#include "csml/tiering/tiers.h"

namespace csml {

struct BatchScoringOptions {
  std::size_t threads = 0;         // worker threads; 0 = every hardware thread
  std::size_t block_rows = 16384;  // rows encoded, scored and formatted as one task, >= 1

  // block_rows >= 1 and threads <= 1024.
  [[nodiscard]] Status Validate() const;
  // threads, with 0 resolved to the machine's hardware threads (at least 1).
  std::size_t ResolvedThreads() const;
};

// One scored snapshot.
struct BatchScore {
  double risk = 0.0;  // the model's probability, not rounded
  Tier tier = Tier::kLow;
  ReasonSet reasons;
};

struct BatchScoringSummary {
  std::size_t rows = 0;     // snapshots scored and written
  std::size_t threads = 0;  // worker threads used
};

class BatchScorer {
 public:
  // Checks the parts agree as ServingModel::Create does: a version name, valid thresholds,
  // every column known to the schema, a predictor expecting exactly that many columns.
  static Result<BatchScorer> Create(std::string version,
                                    std::span<const std::string> feature_columns,
                                    Thresholds thresholds,
                                    std::unique_ptr<const Predictor> predictor);

  const std::string& version() const { return version_; }
  const Thresholds& thresholds() const { return thresholds_; }
  const FeatureEncoder& encoder() const { return encoder_; }

  // Scores snapshots[i] into out[i]; out.size() must equal snapshots.size(). Fails when the
  // predictor fails or gives something that is not a probability (a model bug).
  Status Score(std::span<const Snapshot> snapshots, std::span<BatchScore> out,
               const BatchScoringOptions& options) const;

  // Receives the JSON Lines text in input order, a block of whole lines at a time; an error
  // stops the scoring and is returned.
  using TextSink = std::function<Status(std::string_view text)>;

  // Scores and formats blocks in parallel, hands them to `sink` in order. Memory stays
  // bounded by threads * block_rows lines whatever the number of snapshots.
  Result<BatchScoringSummary> WriteJsonLines(std::span<const Snapshot> snapshots,
                                             const BatchScoringOptions& options,
                                             const TextSink& sink) const;

  // WriteJsonLines into a file that appears only when complete: a temporary file next to
  // `path`, fsynced and renamed over it. On any error the target is left untouched and the
  // temporary file removed. Errors name the path.
  Result<BatchScoringSummary> WriteJsonLinesFile(std::span<const Snapshot> snapshots,
                                                 const BatchScoringOptions& options,
                                                 const std::filesystem::path& path) const;

 private:
  BatchScorer(std::string version, FeatureEncoder encoder, Thresholds thresholds,
              std::shared_ptr<const Predictor> predictor);

  Status ScoreBlock(std::span<const Snapshot> snapshots, std::span<BatchScore> out) const;

  std::string version_;
  FeatureEncoder encoder_;
  Thresholds thresholds_;
  std::shared_ptr<const Predictor> predictor_;  // shared so a BatchScorer can be copied
};

// Appends one line (with its '\n') of the format above.
void AppendBatchScoreJsonLine(std::string* out, const Snapshot& snapshot, const BatchScore& score);

// Loads a registry version for batch scoring with csml's forest, with the loader's checks
// (size and sha256 of the model file, the model's column names equal to the meta's order).
// An empty `version` means the version the server would serve (the promoted one, else the
// newest). Errors carry the version.
Result<BatchScorer> LoadBatchScorer(const Registry& registry, std::string_view version);

}  // namespace csml
