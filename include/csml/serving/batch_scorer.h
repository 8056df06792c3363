// Offline batch scoring (`csml predict`): every snapshot of a file scored with one registry
// version on every core, written as JSON Lines in input order, one line per snapshot:
//   {"userId":"u_001","snapshot_ts":"2025-08-22T09:00:00Z","risk":0.7312,"tier":"high",
//    "reasons":["inactive_14d"],"modelVersion":"risk-xgb-2025-08-22-0900"}
// that is the snapshot's userId and snapshot_ts, then exactly the members `POST /score` answers
// for the same features (csml/serving/score_json.h writes both). This is how a nightly job
// scores all customers.
//
// A BatchScorer scores with a ServingModel (the same version, feature order, encoder,
// thresholds, reasons and flat forest as the server), but encodes and predicts rows in blocks
// (Forest::PredictBatch reads each tree once per block). BatchScore::risk is the calibrated
// risk at full precision (ServingModel::Risk; the model's probability when the version has no
// calibration); the tier is classified from the risk rounded to 4 decimals,
// exactly as `POST /score` classifies, so a customer gets the same tier from the nightly file
// and from the live API. The lines print the rounded risk unless told otherwise
// (BatchScoringOptions::full_precision_risk).
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
#include <vector>

#include "csml/core/error.h"
#include "csml/data/snapshot.h"
#include "csml/data/snapshot_reader.h"
#include "csml/ensemble/predictor.h"
#include "csml/features/schema.h"
#include "csml/reasons/reasons.h"
#include "csml/registry/registry.h"
#include "csml/serving/serving_model.h"
#include "csml/tiering/tiers.h"

namespace csml {

struct BatchScoringOptions {
  std::size_t threads = 0;         // worker threads; 0 = every hardware thread
  std::size_t block_rows = 16384;  // rows encoded, scored and formatted as one task, >= 1
  // JSON Lines: print the calibrated risk at full precision (shortest text that reads back to the
  // same double) instead of the risk rounded to 4 decimals as /score prints it.
  bool full_precision_risk = false;
  // JSON Lines: > 0 adds "drivers" (this many; SIZE_MAX for all), "baseline" and "margin" to
  // each line after modelVersion, exactly as POST /score?explain=true (score_json.h). The
  // model must be able to explain (ServingModel::can_explain; kValidation otherwise).
  std::size_t explain_top = 0;

  // block_rows >= 1 and threads <= 1024.
  [[nodiscard]] Status Validate() const;
  // threads, with 0 resolved to the machine's hardware threads (at least 1).
  std::size_t ResolvedThreads() const;
};

// One scored snapshot.
struct BatchScore {
  double risk = 0.0;  // the calibrated risk (ServingModel::Risk), not rounded
  Tier tier = Tier::kLow;
  ReasonSet reasons;
  double model_probability = 0.0;  // the predictor's probability before calibration
};

struct BatchScoringSummary {
  std::size_t rows = 0;     // snapshots scored and written
  std::size_t threads = 0;  // worker threads used
};

// What scoring a whole file read and scored: the scoring, and the reading as ReadSnapshotFile
// reports it (counts, and the first max_problems_kept problems in input order).
struct FileScoringSummary {
  BatchScoringSummary scoring;
  std::size_t records_seen = 0;
  std::size_t records_invalid = 0;
  std::vector<SnapshotProblem> problems;
};

class BatchScorer {
 public:
  // Builds the ServingModel from parts (ServingModel::Create checks they agree).
  static Result<BatchScorer> Create(std::string version,
                                    std::span<const std::string> feature_columns,
                                    Thresholds thresholds,
                                    std::unique_ptr<const Predictor> predictor);
  // Scores with a model already built (LoadVersion's); it must not be null.
  static Result<BatchScorer> ForModel(std::shared_ptr<const ServingModel> model);

  const std::string& version() const { return model_->version(); }
  const Thresholds& thresholds() const { return model_->thresholds(); }
  const FeatureEncoder& encoder() const { return model_->encoder(); }

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

  // Reads, scores and writes a snapshot file as a pipeline (`csml predict`): the calling
  // thread reads the file in pieces of whole lines and hands the text to the sink in input
  // order; options.threads workers parse, score and format the pieces. The text is byte for
  // byte what ReadSnapshotFile then WriteJsonLines give, and so are the counts, the problems
  // and the errors (a piece that does not parse alone, a record spanning the cut or a bad
  // record, is parsed again in order with the records before it counted). A JSON array is read
  // whole first. Memory stays bounded by a few pieces per worker. On an error the sink may
  // have received the lines of the records before it.
  Result<FileScoringSummary> ScoreFile(const std::filesystem::path& input,
                                       const SnapshotReadOptions& read_options,
                                       const BatchScoringOptions& options,
                                       const TextSink& sink) const;

  // ScoreFile into a file that appears only when complete, as WriteJsonLinesFile writes. The
  // input is opened before the output is created.
  Result<FileScoringSummary> ScoreFileTo(const std::filesystem::path& input,
                                         const SnapshotReadOptions& read_options,
                                         const BatchScoringOptions& options,
                                         const std::filesystem::path& path) const;

 private:
  explicit BatchScorer(std::shared_ptr<const ServingModel> model);

  Status ScoreBlock(std::span<const Snapshot> snapshots, std::span<BatchScore> out) const;
  // Scores a block and appends its JSON Lines to `text`; `scores` is scratch.
  Status FormatBlock(std::span<const Snapshot> snapshots, const BatchScoringOptions& options,
                     std::vector<BatchScore>* scores, std::string* text) const;
  Result<FileScoringSummary> ScoreOpenedFile(SnapshotFilePieces& pieces,
                                             const std::filesystem::path& input,
                                             const SnapshotReadOptions& read_options,
                                             const BatchScoringOptions& options,
                                             const TextSink& sink) const;

  std::shared_ptr<const ServingModel> model_;  // never null; shared so a BatchScorer copies
};

// Appends one line (with its '\n') of the format above for `model_version`: the risk rounded
// to 4 decimals as /score prints it, or the full probability when `full_precision_risk`.
// With `explanation` (and the model's `columns`), the line also holds the `top` drivers,
// baseline and margin (WriteExplanationMembers).
void AppendBatchScoreJsonLine(std::string* out, const Snapshot& snapshot, const BatchScore& score,
                              std::string_view model_version, bool full_precision_risk = false,
                              const ScoreExplanation* explanation = nullptr,
                              std::span<const std::string> columns = {}, std::size_t top = 0);

// LoadVersion (csml/serving/model_loader.h) for batch scoring: every check the server makes.
// An empty `version` means the version the server would serve. Errors carry the version.
Result<BatchScorer> LoadBatchScorer(const Registry& registry, std::string_view version);

}  // namespace csml
