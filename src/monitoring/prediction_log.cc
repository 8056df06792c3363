#include "csml/monitoring/prediction_log.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "csml/core/bounded_queue.h"
#include "segment_files.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

using monitoring_internal::KindOfName;
using monitoring_internal::SegmentKind;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kWriteChunkBytes =
    std::size_t{256} * 1024;               // buffered lines written at this size
constexpr std::size_t kDrainBatch = 4096;  // events formatted between checks
constexpr auto kIdleSleep = std::chrono::milliseconds(10);
// The compressor thread's nice value: it runs on CPU the request threads leave (measured: a
// 64 MiB segment at level 3 is about 0.2 s of one core, which at normal priority was the
// request path's p99).
constexpr int kCompressorNice = 19;

bool IsDiskFull(int error_number) {
  return error_number == ENOSPC || error_number == EDQUOT || error_number == EFBIG;
}

// The host name as a file-name-safe token.
std::string HostToken() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) return "host";
  std::string out;
  for (const char* c = host.data(); *c != '\0' && out.size() < 64; ++c) {
    const bool safe = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_';
    out.push_back(safe ? *c : '_');
  }
  return out.empty() ? std::string("host") : out;
}

std::string UtcStamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return fmt::format("{:04d}{:02d}{:02d}T{:02d}{:02d}{:02d}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

long DefaultWrite(int fd, const char* data, std::size_t size) { return ::write(fd, data, size); }

}  // namespace

Status PredictionLogOptions::Validate() const {
  auto bad = [](std::string what) {
    return MakeError(ErrorCode::kInvalidArgument, std::move(what));
  };
  if (dir.empty()) return bad("prediction log: expected a directory, got an empty path");
  if (queue_capacity < 16 || queue_capacity > (std::size_t{1} << 24)) {
    return bad(fmt::format("prediction log queue: expected 16 to 16777216 records, got {}",
                           queue_capacity));
  }
  if (segment_max_bytes < 4096 || segment_max_bytes > (std::size_t{4} << 30)) {
    return bad(fmt::format("prediction log segment size: expected 4096 bytes to 4 GiB, got {}",
                           segment_max_bytes));
  }
  if (segment_max_age.count() <= 0 || retention_age.count() <= 0 ||
      disk_retry_interval.count() <= 0) {
    return bad("prediction log: expected positive segment age, retention age and retry interval");
  }
  if (flush_interval.count() <= 0 || flush_interval > std::chrono::seconds(60)) {
    return bad(fmt::format("prediction log flush interval: expected 1 to 60000 ms, got {}",
                           flush_interval.count()));
  }
  if (retention_bytes < segment_max_bytes) {
    return bad(
        fmt::format("prediction log retention: expected at least the segment size ({} "
                    "bytes), got {}",
                    segment_max_bytes, retention_bytes));
  }
  if (compression_level < 1 || compression_level > 19) {
    return bad(fmt::format("prediction log compression level: expected 1 to 19, got {}",
                           compression_level));
  }
  return {};
}

struct PredictionLog::Impl {
  PredictionLogOptions options;
  Observer observer;
  SegmentWriteFn write_fn;
  BoundedQueue<PredictionRecord> queue;
  std::string name_prefix;  // predictions-<host>-<pid>-<start>-

  // Counters: `appended` and `dropped_queue_full` by request threads, the rest by the writer.
  std::atomic<std::uint64_t> appended{0};
  std::atomic<std::uint64_t> dropped_queue_full{0};
  std::atomic<std::uint64_t> dropped_disk{0};
  std::atomic<std::uint64_t> written_records{0};
  std::atomic<std::uint64_t> written_bytes{0};
  std::atomic<std::uint64_t> segments_closed{0};
  std::atomic<std::uint64_t> segments_compressed{0};
  std::atomic<std::uint64_t> segments_removed{0};
  std::atomic<std::uint64_t> dir_bytes{0};
  std::atomic<bool> disk_full{false};
  std::atomic<bool> stop{false};

  // The writer thread's own state.
  int fd = -1;
  std::string segment_path;
  std::uint64_t segment_seq = 0;
  std::uint64_t segment_bytes = 0;  // written to the open segment
  Clock::time_point segment_opened;
  std::string buffer;  // formatted lines not yet written
  std::uint64_t buffer_lines = 0;
  Clock::time_point last_flush;
  Clock::time_point next_retry;
  bool probing = false;  // after a full disk: the next write decides
  std::thread writer;

  // Closed segments waiting for the compressor thread (oldest first).
  std::mutex compress_mutex;
  std::condition_variable compress_wake;
  std::deque<std::string> compress_queue;
  bool compress_stop = false;
  std::thread compressor;

  Impl(const PredictionLogOptions& o, Observer obs, SegmentWriteFn w)
      : options(o), observer(std::move(obs)), write_fn(std::move(w)), queue(o.queue_capacity) {}

  void Notify(PredictionLogEvent::Kind kind, std::string message) {
    if (observer) observer(PredictionLogEvent{kind, std::move(message)});
  }

  Status OpenSegment() {
    segment_path = fmt::format("{}/{}{:06d}{}", options.dir, name_prefix, ++segment_seq,
                               monitoring_internal::kPlainSuffix);
    fd = ::open(segment_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      return MakeError(ErrorCode::kIo,
                       fmt::format("create {}: {}", segment_path, std::strerror(errno)));
    }
    segment_bytes = 0;
    segment_opened = Clock::now();
    return {};
  }

  // Writes the buffered lines. On failure the segment is cut back to its last whole line,
  // the lines are counted as dropped and logging stops.
  void WriteOut() {
    last_flush = Clock::now();
    if (buffer.empty()) return;
    if (fd < 0) {
      if (Status opened = OpenSegment(); !opened) {
        FailWrite(errno, opened.error().message);
        return;
      }
    }
    const char* data = buffer.data();
    std::size_t left = buffer.size();
    while (left > 0) {
      const long n = write_fn(fd, data, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int e = errno;
        // Cut the partial write back: a reader never sees half a line from a full disk.
        if (::ftruncate(fd, static_cast<off_t>(segment_bytes)) != 0) {
          // Nothing better to do: the reader counts a torn last line.
        }
        FailWrite(e, fmt::format("write {}: {}", segment_path, std::strerror(e)));
        return;
      }
      data += n;
      left -= static_cast<std::size_t>(n);
    }
    segment_bytes += buffer.size();
    written_bytes.fetch_add(buffer.size(), std::memory_order_relaxed);
    written_records.fetch_add(buffer_lines, std::memory_order_relaxed);
    buffer.clear();
    buffer_lines = 0;
    if (probing) {
      probing = false;
      disk_full.store(false, std::memory_order_relaxed);
      Notify(PredictionLogEvent::Kind::kResumed, "prediction log: writing again");
    }
  }

  void FailWrite(int error_number, const std::string& message) {
    dropped_disk.fetch_add(buffer_lines, std::memory_order_relaxed);
    buffer.clear();
    buffer_lines = 0;
    next_retry = Clock::now() + options.disk_retry_interval;
    if (probing) {
      probing = false;  // still failing: said once already
      return;
    }
    disk_full.store(true, std::memory_order_relaxed);
    Notify(PredictionLogEvent::Kind::kStopped,
           fmt::format("prediction log stopped ({}): {}; scoring goes on, records are dropped "
                       "and counted; retrying every {} ms",
                       IsDiskFull(error_number) ? "disk full" : "write error", message,
                       options.disk_retry_interval.count()));
  }

  // Closes the open segment, compresses it and applies retention.
  void Rotate(bool reopen) {
    WriteOut();
    if (fd >= 0) {
      ::fdatasync(fd);
      ::close(fd);
      fd = -1;
      segments_closed.fetch_add(1, std::memory_order_relaxed);
      if (segment_bytes == 0) {
        ::unlink(segment_path.c_str());
      } else if (options.compress) {
        {
          const std::lock_guard<std::mutex> lock(compress_mutex);
          compress_queue.push_back(segment_path);
        }
        compress_wake.notify_one();
      }
    }
    ApplyRetention();
    if (reopen && !disk_full.load(std::memory_order_relaxed)) {
      if (Status opened = OpenSegment(); !opened) FailWrite(errno, opened.error().message);
    }
  }

  void ApplyRetention() {
    struct Entry {
      std::string path;
      std::uint64_t bytes;
      std::int64_t mtime;
      bool removable;  // closed (or a crashed replica's leftover)
    };
    std::vector<Entry> entries;
    std::uint64_t total = 0;
    const std::int64_t now = std::time(nullptr);
    std::error_code ec;
    for (fs::directory_iterator it(options.dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const SegmentKind kind = KindOfName(name);
      if (kind == SegmentKind::kNone) continue;
      struct stat st {};
      if (::stat(it->path().c_str(), &st) != 0) continue;
      const std::string path = it->path().string();
      const auto bytes = static_cast<std::uint64_t>(st.st_size);
      total += bytes;
      if (path == segment_path && fd >= 0) continue;  // the open segment stays
      // A plain segment of another replica may be its open one: removable only once it is
      // older than a segment may stay open.
      const bool own = name.substr(0, name_prefix.size()) == name_prefix;
      const bool removable = kind == SegmentKind::kCompressed || own ||
                             now - st.st_mtime > options.segment_max_age.count();
      entries.push_back(Entry{path, bytes, static_cast<std::int64_t>(st.st_mtime), removable});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.mtime != b.mtime ? a.mtime < b.mtime : a.path < b.path;
    });
    for (const Entry& e : entries) {
      const bool too_old = now - e.mtime > options.retention_age.count();
      const bool over = total > options.retention_bytes;
      if (!e.removable && !too_old) continue;
      if (!over && !too_old) continue;
      if (::unlink(e.path.c_str()) == 0) {
        total -= e.bytes;
        segments_removed.fetch_add(1, std::memory_order_relaxed);
      }
    }
    dir_bytes.store(total, std::memory_order_relaxed);
  }

  // The compressor thread: compresses closed segments in the order they closed, at the lowest
  // priority, so that a request thread sharing its core preempts it. Drains its queue before
  // it stops.
  void RunCompressor() {
    // Linux applies a nice value to the calling thread alone when given its thread id.
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), kCompressorNice) !=
        0) {
      // Not fatal: compression then competes with the request threads as before.
    }
    while (true) {
      std::string path;
      {
        std::unique_lock<std::mutex> lock(compress_mutex);
        compress_wake.wait(lock, [this] { return compress_stop || !compress_queue.empty(); });
        if (compress_queue.empty()) return;  // stopping, nothing left
        path = std::move(compress_queue.front());
        compress_queue.pop_front();
      }
      std::error_code ec;
      if (!fs::exists(path, ec)) continue;  // removed by retention meanwhile
      const std::string zst = path + ".zst";
      int error_number = 0;
      if (Status done = monitoring_internal::CompressFile(path, zst, options.compression_level,
                                                          &error_number);
          done) {
        ::unlink(path.c_str());
        segments_compressed.fetch_add(1, std::memory_order_relaxed);
      } else {
        Notify(PredictionLogEvent::Kind::kError,
               fmt::format("prediction log: compressing a closed segment failed (kept "
                           "uncompressed): {}",
                           done.error().message));
      }
    }
  }

  void StopCompressor() {
    if (!compressor.joinable()) return;
    {
      const std::lock_guard<std::mutex> lock(compress_mutex);
      compress_stop = true;
    }
    compress_wake.notify_one();
    compressor.join();
  }

  // Takes up to kDrainBatch events from the ring; returns how many.
  std::size_t Drain() {
    std::size_t taken = 0;
    const bool stopped = disk_full.load(std::memory_order_relaxed) && !probing;
    while (taken < kDrainBatch && queue.TryPop([&](const PredictionRecord& record) {
      if (stopped) {
        dropped_disk.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      AppendPredictionJsonLine(&buffer, record.View());
      ++buffer_lines;
    })) {
      ++taken;
    }
    return taken;
  }

  void Run() {
    last_flush = Clock::now();
    while (true) {
      const bool stopping = stop.load(std::memory_order_acquire);
      const std::size_t taken = Drain();
      const Clock::time_point now = Clock::now();
      if (disk_full.load(std::memory_order_relaxed) && !probing && now >= next_retry) {
        probing = true;  // the next lines are written; success resumes logging
        if (fd < 0) last_flush = now - options.flush_interval;
      }
      if (buffer.size() >= kWriteChunkBytes || now - last_flush >= options.flush_interval) {
        WriteOut();
      }
      if (fd >= 0 && (segment_bytes + buffer.size() >= options.segment_max_bytes ||
                      now - segment_opened >= options.segment_max_age)) {
        Rotate(true);
      }
      if (stopping && taken == 0 && queue.ApproxSize() == 0) break;
      if (taken == 0) std::this_thread::sleep_for(kIdleSleep);
    }
    Rotate(false);
  }
};

Result<std::unique_ptr<PredictionLog>> PredictionLog::Create(const PredictionLogOptions& options,
                                                             Observer observer,
                                                             SegmentWriteFn write_fn) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec || !fs::is_directory(options.dir)) {
    return MakeError(ErrorCode::kIo, fmt::format("prediction log {}: cannot create the directory{}",
                                                 options.dir, ec ? ": " + ec.message() : ""));
  }
  auto impl = std::make_unique<Impl>(options, std::move(observer),
                                     write_fn ? std::move(write_fn) : SegmentWriteFn(DefaultWrite));
  impl->name_prefix = fmt::format("{}{}-{}-{}-", monitoring_internal::kSegmentPrefix, HostToken(),
                                  ::getpid(), UtcStamp());
  CSML_TRY(impl->OpenSegment());
  impl->ApplyRetention();
  Impl* raw = impl.get();
  if (options.compress) raw->compressor = std::thread([raw] { raw->RunCompressor(); });
  raw->writer = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<PredictionLog>(new PredictionLog(std::move(impl)));
}

PredictionLog::PredictionLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PredictionLog::~PredictionLog() {
  impl_->stop.store(true, std::memory_order_release);
  impl_->writer.join();
  impl_->StopCompressor();  // after the writer: the last segment is queued by then
}

bool PredictionLog::Append(const PredictionEvent& event) {
  const bool queued =
      impl_->queue.TryPush([&event](PredictionRecord& slot) { slot.Assign(event); });
  if (queued) {
    impl_->appended.fetch_add(1, std::memory_order_relaxed);
  } else {
    impl_->dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
  }
  return queued;
}

PredictionLogStats PredictionLog::Stats() const {
  PredictionLogStats s;
  s.appended = impl_->appended.load(std::memory_order_relaxed);
  s.dropped_queue_full = impl_->dropped_queue_full.load(std::memory_order_relaxed);
  s.dropped_disk = impl_->dropped_disk.load(std::memory_order_relaxed);
  s.written_records = impl_->written_records.load(std::memory_order_relaxed);
  s.written_bytes = impl_->written_bytes.load(std::memory_order_relaxed);
  s.segments_closed = impl_->segments_closed.load(std::memory_order_relaxed);
  s.segments_compressed = impl_->segments_compressed.load(std::memory_order_relaxed);
  s.segments_removed = impl_->segments_removed.load(std::memory_order_relaxed);
  s.dir_bytes = impl_->dir_bytes.load(std::memory_order_relaxed);
  s.queue_depth = impl_->queue.ApproxSize();
  s.queue_capacity = impl_->queue.capacity();
  s.disk_full = impl_->disk_full.load(std::memory_order_relaxed);
  return s;
}

const PredictionLogOptions& PredictionLog::options() const { return impl_->options; }

}  // namespace csml
