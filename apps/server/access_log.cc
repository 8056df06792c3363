#include "access_log.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <iterator>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "csml/core/json_writer.h"

namespace csml::server {
namespace {

// Writes to a pipe of at most PIPE_BUF bytes are atomic, so whole lines up to this size
// never interleave with another process or thread writing the same pipe.
constexpr std::size_t kAtomicWriteBytes = 4096;
constexpr std::size_t kMaxPathBytes = 200;
constexpr std::size_t kSpareBuffers = 8;

bool WriteAllTo(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 100);
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Status AccessLogOptions::Validate() const {
  if (sample_every < 1 || sample_every > 1'000'000) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("access log sampling: expected 1 to 1000000 (log 1 in N), got {}",
                                 sample_every));
  }
  if (flush_bytes < 256 || flush_bytes > (1 << 20)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("access log flush size: expected 256 to 1048576 bytes, got {}", flush_bytes));
  }
  if (max_pending_bytes < flush_bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("access log queue: expected at least the flush size ({} bytes), "
                                 "got {}",
                                 flush_bytes, max_pending_bytes));
  }
  return {};
}

Result<AccessLogDestination> ParseAccessLogDestination(std::string_view text) {
  if (text == "off") return AccessLogDestination::kOff;
  if (text == "stdout") return AccessLogDestination::kStdout;
  if (text == "stderr") return AccessLogDestination::kStderr;
  return MakeError(ErrorCode::kInvalidArgument,
                   fmt::format("access log: expected off, stdout or stderr, got '{}'", text));
}

Result<std::unique_ptr<AccessLog>> AccessLog::Create(const AccessLogOptions& options) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  return std::unique_ptr<AccessLog>(new AccessLog(options));
}

AccessLog::AccessLog(const AccessLogOptions& options)
    : options_(options),
      fd_(options.destination == AccessLogDestination::kStderr ? STDERR_FILENO : STDOUT_FILENO) {
  if (enabled()) writer_ = std::thread([this] { WriterLoop(); });
}

AccessLog::~AccessLog() {
  if (!enabled()) return;
  // Every recording thread has stopped: their leftover lines can be taken from here.
  buffers_.ForEachUnowned([this](ThreadBuffer& buffer) {
    if (!buffer.text.empty()) Submit(buffer);
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void AccessLog::Record(const AccessLogEntry& entry) {
  if (!enabled()) return;
  ThreadBuffer& buffer = buffers_.Local();
  if (entry.status < 400 && options_.sample_every > 1 &&
      buffer.sample_counter++ % static_cast<std::uint64_t>(options_.sample_every) != 0) {
    return;
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  if (now.tv_sec != buffer.cached_second) {
    std::tm utc{};
    const std::time_t seconds = now.tv_sec;
    gmtime_r(&seconds, &utc);
    std::strftime(buffer.cached_prefix, sizeof(buffer.cached_prefix), "%Y-%m-%dT%H:%M:%S", &utc);
    buffer.cached_second = now.tv_sec;
  }
  std::string& out = buffer.text;
  if (out.capacity() < options_.flush_bytes) out.reserve(options_.flush_bytes + 1024);
  auto it = std::back_inserter(out);
  // FMT_COMPILE: the format strings are parsed at compile time, not on every line (that
  // parsing was a third of the line's cost).
  fmt::format_to(it, FMT_COMPILE("{{\"ts\":\"{}.{:03d}Z\",\"method\":"), buffer.cached_prefix,
                 static_cast<int>(now.tv_nsec / 1'000'000));
  AppendJsonString(&out, entry.method.substr(0, 32));
  out.append(",\"route\":");
  AppendJsonString(&out, entry.route);
  if (!entry.path.empty()) {
    out.append(",\"path\":");
    AppendJsonString(&out, entry.path.substr(0, kMaxPathBytes));
  }
  fmt::format_to(it, FMT_COMPILE(",\"status\":{},\"latency_ms\":{:.3f},\"request_id\":"),
                 entry.status, static_cast<double>(entry.latency_ns) / 1e6);
  AppendJsonString(&out, entry.request_id);
  if (!entry.model_version.empty()) {
    out.append(",\"model_version\":");
    AppendJsonString(&out, entry.model_version);
  }
  fmt::format_to(it, FMT_COMPILE(",\"bytes_in\":{},\"bytes_out\":{}}}\n"), entry.bytes_in,
                 entry.bytes_out);
  ++buffer.lines;
  if (out.size() >= options_.flush_bytes) Submit(buffer);
}

void AccessLog::FlushThisThread() {
  if (!enabled()) return;
  ThreadBuffer& buffer = buffers_.Local();
  if (!buffer.text.empty()) Submit(buffer);
}

void AccessLog::Submit(ThreadBuffer& buffer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_bytes_ + buffer.text.size() > options_.max_pending_bytes) {
      dropped_ += buffer.lines;
      buffer.text.clear();
      buffer.lines = 0;
      return;
    }
    pending_bytes_ += buffer.text.size();
    queue_.push_back(Batch{std::move(buffer.text), buffer.lines});
    buffer.lines = 0;
    if (!spare_.empty()) {
      buffer.text = std::move(spare_.back());
      spare_.pop_back();
    } else {
      buffer.text = std::string();
    }
  }
  wake_.notify_one();
}

std::size_t AccessLog::WriteBatch(const Batch& batch) {
  std::string_view rest = batch.text;
  while (!rest.empty()) {
    std::size_t take = rest.size();
    if (take > kAtomicWriteBytes) {
      const std::size_t last_newline = rest.rfind('\n', kAtomicWriteBytes - 1);
      take = last_newline == std::string_view::npos ? rest.find('\n') : last_newline;
      take = take == std::string_view::npos ? rest.size() : take + 1;
    }
    if (!WriteAllTo(fd_, rest.data(), take)) {
      // The destination is gone (a closed pipe): the rest of the batch is lost.
      return static_cast<std::size_t>(std::count(rest.begin(), rest.end(), '\n'));
    }
    rest.remove_prefix(take);
  }
  return 0;
}

void AccessLog::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    const std::size_t lost = WriteBatch(batch);
    lock.lock();
    pending_bytes_ -= batch.text.size();
    written_ += batch.lines - std::min(lost, batch.lines);
    dropped_ += lost;
    if (spare_.size() < kSpareBuffers) {
      batch.text.clear();
      spare_.push_back(std::move(batch.text));
    }
  }
}

std::uint64_t AccessLog::dropped_lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

std::uint64_t AccessLog::written_lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

}  // namespace csml::server
