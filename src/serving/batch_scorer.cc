#include "csml/serving/batch_scorer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/core/time.h"
#include "csml/predict/forest.h"
#include "csml/predict/forest_predictor.h"
#include "csml/serving/model_loader.h"

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

BatchScorer::BatchScorer(std::string version, FeatureEncoder encoder, Thresholds thresholds,
                         std::shared_ptr<const Predictor> predictor)
    : version_(std::move(version)),
      encoder_(std::move(encoder)),
      thresholds_(thresholds),
      predictor_(std::move(predictor)) {}

Result<BatchScorer> BatchScorer::Create(std::string version,
                                        std::span<const std::string> feature_columns,
                                        Thresholds thresholds,
                                        std::unique_ptr<const Predictor> predictor) {
  if (version.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "model version: expected a name, got ''");
  }
  const std::string context = fmt::format("model {}", version);
  if (Status valid = thresholds.Validate(); !valid) {
    return tl::unexpected(valid.error().WithContext(context));
  }
  Result<FeatureEncoder> encoder = FeatureEncoder::Create(feature_columns);
  if (!encoder) return tl::unexpected(encoder.error().WithContext(context));
  if (encoder->num_columns() == 0) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: expected at least one feature column, got none", context));
  }
  if (predictor == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: expected a predictor, got none", context));
  }
  if (predictor->num_features() != encoder->num_columns()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: the predictor expects {} features but meta.json lists {}",
                                 context, predictor->num_features(), encoder->num_columns()));
  }
  return BatchScorer(std::move(version), std::move(*encoder), thresholds, std::move(predictor));
}

Status BatchScorer::ScoreBlock(std::span<const Snapshot> snapshots,
                               std::span<BatchScore> out) const {
  const std::size_t width = encoder_.num_columns();
  std::vector<double> rows(snapshots.size() * width);
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    encoder_.Encode(snapshots[i].features, std::span<double>(rows).subspan(i * width, width));
  }
  std::vector<double> risk(snapshots.size());
  if (Status s = predictor_->PredictBatch(rows, risk); !s) {
    return tl::unexpected(s.error().WithContext(fmt::format("model {}", version_)));
  }
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    if (!std::isfinite(risk[i]) || risk[i] < 0.0 || risk[i] > 1.0) {
      return MakeError(ErrorCode::kModel,
                       fmt::format("model {}: user {}: expected a probability in [0, 1], got {}",
                                   version_, snapshots[i].user_id, risk[i]));
    }
    out[i].risk = risk[i];
    out[i].tier = thresholds_.Classify(RoundTo(risk[i], 4));
    out[i].reasons = ExplainRisk(snapshots[i].features);
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
        AppendBatchScoreJsonLine(&text, part[i], part_scores[i]);
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

void AppendBatchScoreJsonLine(std::string* out, const Snapshot& snapshot, const BatchScore& score) {
  out->append("{\"userId\":");
  AppendJsonString(out, snapshot.user_id);
  out->append(",\"snapshot_ts\":\"");
  out->append(FormatRfc3339(snapshot.snapshot_ts));
  out->append("\",\"risk\":");
  const std::size_t risk_at = out->size();
  AppendShortestDouble(out, score.risk);
  // 0 and 1 print as "0.0" and "1.0", so every reader sees a float (as Python prints them).
  if (out->find_first_of(".e", risk_at) == std::string::npos) out->append(".0");
  out->append(",\"tier\":\"");
  out->append(TierName(score.tier));
  out->append("\",\"reasons\":[");
  bool first = true;
  score.reasons.ForEach([&](Reason reason) {
    if (!first) out->push_back(',');
    first = false;
    out->push_back('"');
    out->append(ReasonName(reason));
    out->push_back('"');
  });
  out->append("]}\n");
}

Result<BatchScorer> LoadBatchScorer(const Registry& registry, std::string_view version) {
  std::string name(version);
  if (name.empty()) {
    Result<std::string> served = registry.ResolveServed();
    if (!served) return tl::unexpected(served.error());
    name = std::move(*served);
  }
  const std::string context = fmt::format("loading model {}", name);
  Result<ModelMeta> meta = registry.ReadMeta(name);
  if (!meta) return tl::unexpected(meta.error().WithContext(context));
  Result<std::string> bytes = registry.ReadModelBytes(*meta);
  if (!bytes) return tl::unexpected(bytes.error().WithContext(context));
  Result<Forest> forest = LoadForest(*bytes);
  if (!forest) return tl::unexpected(forest.error().WithContext(context));
  if (Status same = CheckModelColumns(forest->feature_names(), meta->features); !same) {
    return tl::unexpected(same.error().WithContext(context));
  }
  auto predictor = std::make_unique<const ForestPredictor>(std::move(*forest));
  Result<BatchScorer> scorer =
      BatchScorer::Create(meta->version, meta->features, meta->thresholds, std::move(predictor));
  if (!scorer) return tl::unexpected(scorer.error().WithContext(context));
  return scorer;
}

}  // namespace csml
