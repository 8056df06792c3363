#include "csml/serving/batch_scorer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/core/time.h"
#include "csml/serving/model_loader.h"
#include "csml/serving/score_json.h"

namespace csml {
namespace {

constexpr std::size_t kMaxThreads = 1024;

// Runs task(i) for i in [0, num_tasks) on up to `threads` threads (the calling thread is one
// of them) and returns the error of the lowest-numbered failed task, if any. Tasks never
// throw: everything they call reports errors as values.
Status ParallelFor(std::size_t num_tasks, std::size_t threads,
                   const std::function<Status(std::size_t)>& task) {
  std::vector<std::optional<Error>> errors(num_tasks);
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i = next.fetch_add(1); i < num_tasks; i = next.fetch_add(1)) {
      if (Status s = task(i); !s) errors[i] = s.error();
    }
  };
  const std::size_t helpers = std::min(threads, num_tasks) - (num_tasks > 0 ? 1 : 0);
  std::vector<std::thread> pool;
  pool.reserve(helpers);
  for (std::size_t t = 0; t < helpers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  for (const std::optional<Error>& error : errors) {
    if (error) return tl::unexpected(*error);
  }
  return {};
}

Error IoError(std::string_view what, const std::filesystem::path& path, int err) {
  return Error{ErrorCode::kIo, fmt::format("{}: {}: {}", path.string(), what, std::strerror(err))};
}

Status WriteAll(int fd, std::string_view text, const std::filesystem::path& path) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(IoError("cannot write", path, errno));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Status BatchScoringOptions::Validate() const {
  if (block_rows < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "BatchScoringOptions.block_rows: expected at least 1, got 0");
  }
  if (threads > kMaxThreads) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("BatchScoringOptions.threads: expected 0 (all) to {}, got {}",
                                 kMaxThreads, threads));
  }
  return {};
}

std::size_t BatchScoringOptions::ResolvedThreads() const {
  if (threads != 0) return threads;
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

BatchScorer::BatchScorer(std::shared_ptr<const ServingModel> model) : model_(std::move(model)) {}

Result<BatchScorer> BatchScorer::Create(std::string version,
                                        std::span<const std::string> feature_columns,
                                        Thresholds thresholds,
                                        std::unique_ptr<const Predictor> predictor) {
  Result<std::shared_ptr<const ServingModel>> model =
      ServingModel::Create(std::move(version), feature_columns, thresholds, std::move(predictor));
  if (!model) return tl::unexpected(model.error());
  return BatchScorer(std::move(*model));
}

Result<BatchScorer> BatchScorer::ForModel(std::shared_ptr<const ServingModel> model) {
  if (model == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "batch scorer: expected a model, got none");
  }
  return BatchScorer(std::move(model));
}

Status BatchScorer::ScoreBlock(std::span<const Snapshot> snapshots,
                               std::span<BatchScore> out) const {
  const FeatureEncoder& encoder = model_->encoder();
  const std::size_t width = encoder.num_columns();
  std::vector<double> rows(snapshots.size() * width);
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    encoder.Encode(snapshots[i].features, std::span<double>(rows).subspan(i * width, width));
  }
  std::vector<double> risk(snapshots.size());
  if (Status s = model_->predictor().PredictBatch(rows, risk); !s) {
    return tl::unexpected(s.error().WithContext(fmt::format("model {}", model_->version())));
  }
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    Result<ScoreResult> scored = model_->Finish(risk[i], snapshots[i].features);
    if (!scored) {
      return tl::unexpected(
          scored.error().WithContext(fmt::format("user {}", snapshots[i].user_id)));
    }
    out[i].risk = model_->Risk(risk[i]);
    out[i].model_probability = risk[i];
    out[i].tier = scored->tier;
    out[i].reasons = scored->reasons;
  }
  return {};
}

Status BatchScorer::Score(std::span<const Snapshot> snapshots, std::span<BatchScore> out,
                          const BatchScoringOptions& options) const {
  if (Status valid = options.Validate(); !valid) return valid;
  if (out.size() != snapshots.size()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("expected an output buffer of {} scores (one per snapshot), got {}",
                    snapshots.size(), out.size()));
  }
  const std::size_t block = options.block_rows;
  const std::size_t num_blocks = (snapshots.size() + block - 1) / block;
  return ParallelFor(num_blocks, options.ResolvedThreads(), [&](std::size_t b) {
    const std::size_t begin = b * block;
    const std::size_t n = std::min(block, snapshots.size() - begin);
    return ScoreBlock(snapshots.subspan(begin, n), out.subspan(begin, n));
  });
}

Result<BatchScoringSummary> BatchScorer::WriteJsonLines(std::span<const Snapshot> snapshots,
                                                        const BatchScoringOptions& options,
                                                        const TextSink& sink) const {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  if (options.explain_top > 0 && !model_->can_explain()) {
    return MakeError(
        ErrorCode::kValidation,
        fmt::format("model {}: cannot explain (the model file has no node covers)", version()));
  }
  BatchScoringSummary summary;
  summary.threads = options.ResolvedThreads();
  const std::size_t block = options.block_rows;
  const std::size_t num_blocks = (snapshots.size() + block - 1) / block;
  // One round is one block per thread; its text is handed to the sink in order before the
  // next round starts, which bounds memory.
  std::vector<std::string> texts(summary.threads);
  std::vector<std::vector<BatchScore>> scores(summary.threads);
  for (std::size_t first = 0; first < num_blocks; first += summary.threads) {
    const std::size_t in_round = std::min(summary.threads, num_blocks - first);
    Status round = ParallelFor(in_round, summary.threads, [&](std::size_t slot) {
      const std::size_t begin = (first + slot) * block;
      const std::span<const Snapshot> part =
          snapshots.subspan(begin, std::min(block, snapshots.size() - begin));
      std::vector<BatchScore>& part_scores = scores[slot];
      part_scores.resize(part.size());
      if (Status s = ScoreBlock(part, part_scores); !s) return s;
      std::string& text = texts[slot];
      text.clear();
      for (std::size_t i = 0; i < part.size(); ++i) {
        if (options.explain_top > 0) {
          const Result<ScoreExplanation> e = model_->Explain(part[i].features);
          if (!e) return Status(tl::unexpected(e.error()));
          AppendBatchScoreJsonLine(&text, part[i], part_scores[i], version(),
                                   options.full_precision_risk, &*e,
                                   model_->encoder().column_names(), options.explain_top);
          continue;
        }
        AppendBatchScoreJsonLine(&text, part[i], part_scores[i], version(),
                                 options.full_precision_risk);
      }
      return Status{};
    });
    if (!round) return tl::unexpected(round.error());
    for (std::size_t slot = 0; slot < in_round; ++slot) {
      if (Status s = sink(texts[slot]); !s) return tl::unexpected(s.error());
    }
  }
  summary.rows = snapshots.size();
  return summary;
}

Result<BatchScoringSummary> BatchScorer::WriteJsonLinesFile(
    std::span<const Snapshot> snapshots, const BatchScoringOptions& options,
    const std::filesystem::path& path) const {
  if (path.empty() || !path.has_filename()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("output path: expected a file name, got '{}'", path.string()));
  }
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  // O_EXCL on a fresh name rather than mkstemp: the file gets mode 0666 less the umask, as any
  // other file the user writes, without touching the process-wide umask.
  std::filesystem::path temp_path;
  int fd = -1;
  std::random_device entropy;
  for (int attempt = 0; fd < 0; ++attempt) {
    temp_path =
        dir / fmt::format(".{}.tmp-{}-{:08x}", path.filename().string(), ::getpid(), entropy());
    fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && (errno != EEXIST || attempt == 100)) {
      return tl::unexpected(IoError("cannot create a temporary file next to", path, errno));
    }
  }
  const auto abandon = [&](Error error) -> Result<BatchScoringSummary> {
    ::close(fd);
    ::unlink(temp_path.c_str());
    return tl::unexpected(std::move(error));
  };
  auto summary = WriteJsonLines(
      snapshots, options, [&](std::string_view text) { return WriteAll(fd, text, temp_path); });
  if (!summary) return abandon(summary.error());
  if (::fsync(fd) != 0) return abandon(IoError("cannot fsync", temp_path, errno));
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp_path.c_str());
    return tl::unexpected(IoError("cannot close", temp_path, err));
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_path.c_str());
    return tl::unexpected(IoError("cannot rename the temporary file onto", path, err));
  }
  // Make the rename itself durable.
  if (const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return summary;
}

void AppendBatchScoreJsonLine(std::string* out, const Snapshot& snapshot, const BatchScore& score,
                              std::string_view model_version, bool full_precision_risk,
                              const ScoreExplanation* explanation,
                              std::span<const std::string> columns, std::size_t top) {
  const ScoreResult printed{full_precision_risk ? score.risk : RoundTo(score.risk, 4), score.tier,
                            score.reasons};
  JsonWriter json(out);
  json.BeginObject();
  json.Key("userId").String(snapshot.user_id);
  json.Key("snapshot_ts").String(FormatRfc3339(snapshot.snapshot_ts));
  WriteScoreMembers(json, printed, model_version);
  if (explanation != nullptr) WriteExplanationMembers(json, *explanation, columns, top);
  json.EndObject();
  out->push_back('\n');
}

Result<BatchScorer> LoadBatchScorer(const Registry& registry, std::string_view version) {
  Result<LoadedVersion> loaded = LoadVersion(registry, version);
  if (!loaded) return tl::unexpected(loaded.error());
  return BatchScorer::ForModel(std::move(loaded->model));
}

}  // namespace csml
