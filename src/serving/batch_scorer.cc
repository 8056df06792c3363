#include "csml/serving/batch_scorer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
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

// Lets `produce` write into a temporary file next to `path` and renames it over `path` when
// it succeeds; on any error the target is left untouched and the temporary file removed.
template <typename Summary>
Result<Summary> WriteAtomically(
    const std::filesystem::path& path,
    const std::function<Result<Summary>(const BatchScorer::TextSink&)>& produce) {
  if (path.empty() || !path.has_filename()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("output path: expected a file name, got '{}'", path.string()));
  }
  // A device, FIFO or socket (`--out /dev/null`, a pipe) is written in place: renaming a file
  // over it would replace the special file itself. Such a target cannot be all-or-nothing.
  if (struct stat st{};
      ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    const int out = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (out < 0) return tl::unexpected(IoError("cannot open", path, errno));
    auto summary = produce([&](std::string_view text) { return WriteAll(out, text, path); });
    if (::close(out) != 0 && summary) return tl::unexpected(IoError("cannot close", path, errno));
    return summary;
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
  const auto abandon = [&](Error error) -> Result<Summary> {
    ::close(fd);
    ::unlink(temp_path.c_str());
    return tl::unexpected(std::move(error));
  };
  auto summary = produce([&](std::string_view text) { return WriteAll(fd, text, temp_path); });
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

Status BatchScorer::FormatBlock(std::span<const Snapshot> snapshots,
                                const BatchScoringOptions& options, std::vector<BatchScore>* scores,
                                std::string* text) const {
  scores->resize(snapshots.size());
  if (Status s = ScoreBlock(snapshots, *scores); !s) return s;
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    if (options.explain_top > 0) {
      const Result<ScoreExplanation> e = model_->Explain(snapshots[i].features);
      if (!e) return Status(tl::unexpected(e.error()));
      AppendBatchScoreJsonLine(text, snapshots[i], (*scores)[i], version(),
                               options.full_precision_risk, &*e, model_->encoder().column_names(),
                               options.explain_top);
      continue;
    }
    AppendBatchScoreJsonLine(text, snapshots[i], (*scores)[i], version(),
                             options.full_precision_risk);
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
      texts[slot].clear();
      return FormatBlock(part, options, &scores[slot], &texts[slot]);
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
  return WriteAtomically<BatchScoringSummary>(
      path, [&](const TextSink& sink) { return WriteJsonLines(snapshots, options, sink); });
}

namespace {

// A piece of the input on its way through the pipeline. The worker that takes it fills
// everything after `piece`; the reading thread reads them once `done` is set (under the
// pipeline's mutex).
struct PieceJob {
  SnapshotTextPiece piece;
  bool done = false;
  bool parsed = false;  // false: the piece does not parse alone; it is parsed again in order
  Status scored;        // a scoring error (a model bug)
  std::size_t records_seen = 0;
  std::size_t records_invalid = 0;
  std::size_t rows = 0;
  std::vector<SnapshotProblem> problems;
  std::string text;
};

// Worker threads taking jobs in order of submission; joined on destruction.
class PieceWorkers {
 public:
  PieceWorkers(std::size_t threads, std::function<void(PieceJob&)> work) : work_(std::move(work)) {
    pool_.reserve(threads);
    for (std::size_t t = 0; t < threads; ++t) pool_.emplace_back([this] { Run(); });
  }
  ~PieceWorkers() { Stop(); }
  PieceWorkers(const PieceWorkers&) = delete;
  PieceWorkers& operator=(const PieceWorkers&) = delete;

  void Submit(PieceJob* job) {
    {
      const std::lock_guard lock(mutex_);
      queue_.push_back(job);
    }
    work_ready_.notify_one();
  }

  void WaitDone(const PieceJob& job) {
    std::unique_lock lock(mutex_);
    job_done_.wait(lock, [&] { return job.done; });
  }

  // Lets the workers finish the job each holds, drops the rest and joins them.
  void Stop() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
      queue_.clear();
    }
    work_ready_.notify_all();
    for (std::thread& thread : pool_) thread.join();
    pool_.clear();
  }

 private:
  void Run() {
    for (;;) {
      PieceJob* job = nullptr;
      {
        std::unique_lock lock(mutex_);
        work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = queue_.front();
        queue_.pop_front();
      }
      work_(*job);
      {
        const std::lock_guard lock(mutex_);
        job->done = true;
      }
      job_done_.notify_all();
    }
  }

  std::function<void(PieceJob&)> work_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable job_done_;
  std::deque<PieceJob*> queue_;
  bool stopping_ = false;
  std::vector<std::thread> pool_;
};

// About 2,500 records of a few hundred bytes: big enough that handing a piece over costs
// nothing next to parsing it, small enough to stay in cache.
constexpr std::size_t kPieceBytes = std::size_t{1} << 20;

void KeepProblems(std::vector<SnapshotProblem>* kept, std::vector<SnapshotProblem>&& more,
                  std::size_t record_offset, std::size_t max_kept) {
  for (SnapshotProblem& problem : more) {
    if (kept->size() >= max_kept) return;
    problem.record += record_offset;
    kept->push_back(std::move(problem));
  }
}

}  // namespace

Result<FileScoringSummary> BatchScorer::ScoreFile(const std::filesystem::path& input,
                                                  const SnapshotReadOptions& read_options,
                                                  const BatchScoringOptions& options,
                                                  const TextSink& sink) const {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  CSML_ASSIGN_OR_RETURN(auto pieces, SnapshotFilePieces::Open(input, read_options, kPieceBytes));
  return ScoreOpenedFile(*pieces, input, read_options, options, sink);
}

Result<FileScoringSummary> BatchScorer::ScoreFileTo(const std::filesystem::path& input,
                                                    const SnapshotReadOptions& read_options,
                                                    const BatchScoringOptions& options,
                                                    const std::filesystem::path& path) const {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  CSML_ASSIGN_OR_RETURN(auto pieces, SnapshotFilePieces::Open(input, read_options, kPieceBytes));
  return WriteAtomically<FileScoringSummary>(path, [&](const TextSink& sink) {
    return ScoreOpenedFile(*pieces, input, read_options, options, sink);
  });
}

Result<FileScoringSummary> BatchScorer::ScoreOpenedFile(SnapshotFilePieces& pieces,
                                                        const std::filesystem::path& input,
                                                        const SnapshotReadOptions& read_options,
                                                        const BatchScoringOptions& options,
                                                        const TextSink& sink) const {
  FileScoringSummary summary;
  const auto add_batch = [&](SnapshotBatch&& batch) -> Status {
    summary.records_seen += batch.records_seen;
    summary.records_invalid += batch.records_invalid;
    KeepProblems(&summary.problems, std::move(batch.problems), 0, read_options.max_problems_kept);
    Result<BatchScoringSummary> written = WriteJsonLines(batch.records, options, sink);
    if (!written) return tl::unexpected(written.error());
    summary.scoring.rows += written->rows;
    return {};
  };
  summary.scoring.threads = options.ResolvedThreads();
  if (!pieces.is_json_lines()) {
    // A JSON array is one document (and an empty file has no records): read it whole.
    Result<SnapshotBatch> batch = ReadSnapshotFile(input, read_options);
    if (!batch) return tl::unexpected(batch.error());
    CSML_TRY(add_batch(std::move(*batch)));
    return summary;
  }

  // Pieces are parsed alone, so their records are numbered from 0 and renumbered in order.
  SnapshotReadOptions piece_options = read_options;
  piece_options.first_record_index = 0;
  // Enough pieces in flight that every worker has the next one when it finishes. Declared
  // before the workers, so that the workers are joined before the jobs go.
  const std::size_t max_in_flight = 2 * summary.scoring.threads + 2;
  std::deque<std::unique_ptr<PieceJob>> in_flight;
  PieceWorkers workers(summary.scoring.threads, [&](PieceJob& job) {
    Result<SnapshotBatch> batch = ParseSnapshotPiece(job.piece, piece_options);
    if (!batch) return;
    job.parsed = true;
    job.records_seen = batch->records_seen;
    job.records_invalid = batch->records_invalid;
    job.problems = std::move(batch->problems);
    job.rows = batch->records.size();
    std::vector<BatchScore> scores;
    job.scored = FormatBlock(batch->records, options, &scores, &job.text);
  });
  bool input_ended = false;
  for (;;) {
    while (!input_ended && in_flight.size() < max_in_flight) {
      Result<std::optional<SnapshotTextPiece>> next = pieces.Next();
      if (!next) return tl::unexpected(next.error());
      if (!*next) {
        input_ended = true;
        break;
      }
      auto job = std::make_unique<PieceJob>();
      job->piece = std::move(**next);
      workers.Submit(job.get());
      in_flight.push_back(std::move(job));
    }
    if (in_flight.empty()) break;
    PieceJob& job = *in_flight.front();
    workers.WaitDone(job);
    if (!job.parsed) break;
    if (!job.scored) return tl::unexpected(job.scored.error());
    KeepProblems(&summary.problems, std::move(job.problems),
                 read_options.first_record_index + summary.records_seen,
                 read_options.max_problems_kept);
    summary.records_seen += job.records_seen;
    summary.records_invalid += job.records_invalid;
    summary.scoring.rows += job.rows;
    CSML_TRY(sink(job.text));
    in_flight.pop_front();
  }
  if (in_flight.empty()) return summary;

  // The front piece does not parse alone: a record spans its cut, or the file is bad there.
  // Parse the rest of the input in order, from that piece on, as ReadSnapshotFile would.
  workers.Stop();
  std::size_t held = 0;  // bytes of in_flight[0] handed over already
  const SnapshotByteSource rest = [&](char* out, std::size_t capacity) -> Result<std::size_t> {
    while (!in_flight.empty()) {
      const std::string_view text = in_flight.front()->piece.text;
      if (held < text.size()) {
        const std::size_t n = std::min(capacity, text.size() - held);
        std::memcpy(out, text.data() + held, n);
        held += n;
        return n;
      }
      in_flight.pop_front();
      held = 0;
    }
    return pieces.ReadRest(out, capacity);
  };
  SnapshotReadOptions rest_options = read_options;
  rest_options.first_record_index = read_options.first_record_index + summary.records_seen;
  const SnapshotTextPiece& front = in_flight.front()->piece;
  Result<SnapshotBatch> batch =
      ReadSnapshotLines(rest, front.first_byte, front.first_line, rest_options);
  if (!batch) return tl::unexpected(batch.error().WithContext(input.string()));
  CSML_TRY(add_batch(std::move(*batch)));
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
