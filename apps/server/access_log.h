// The access log: one JSON line per request, written without slowing the request path.
//
//   {"ts":"2025-08-22T09:00:00.123Z","method":"POST","route":"/score","status":200,
//    "latency_ms":0.084,"request_id":"5f0c1a2b-0-1c","model_version":"risk-xgb-...",
//    "bytes_in":231,"bytes_out":118}
//
// What it never holds: request or response bodies, headers, query strings, tokens. A path is
// written only when no route matched (a 404), truncated to 200 bytes and escaped.
//
// Cost on the request path: the line is formatted into the calling thread's own buffer (no
// lock, no allocation once the buffer has grown, no syscall). A full buffer (flush_bytes) is
// handed to a writer thread under a mutex, once per few hundred lines; the writer writes it
// in whole lines of at most 4 KiB per write(2), so lines never interleave with other writers
// of the same pipe. When the writer falls behind (max_pending_bytes queued) new lines are
// dropped and counted, never waited for. Sampling: with sample_every N, one in N requests
// answered below 400 is logged; every 4xx and 5xx is.
//
// Thread-safety: Record() and FlushThisThread() from any thread; each thread has its own
// buffer. Destroy the log only after every thread that records has stopped.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "csml/core/error.h"
#include "per_thread.h"

namespace csml::server {

enum class AccessLogDestination : std::uint8_t { kOff, kStdout, kStderr };

struct AccessLogOptions {
  AccessLogDestination destination = AccessLogDestination::kStdout;
  int sample_every = 1;                     // log 1 in N requests answered below 400, >= 1
  std::size_t flush_bytes = 16384;          // a thread's buffer goes to the writer at this size
  std::size_t max_pending_bytes = 4 << 20;  // queued for the writer; beyond it lines are dropped

  // sample_every 1 to 1,000,000; flush_bytes 256 B to 1 MiB; max_pending_bytes >= flush_bytes.
  [[nodiscard]] Status Validate() const;
};

// "off", "stdout", "stderr" -> destination; anything else is kInvalidArgument.
Result<AccessLogDestination> ParseAccessLogDestination(std::string_view text);

struct AccessLogEntry {
  std::string_view method;
  std::string_view route;  // the matched route, or "unmatched"
  std::string_view path;   // written only for unmatched routes
  int status = 0;
  std::int64_t latency_ns = 0;
  std::string_view request_id;
  std::string_view model_version;  // empty: none (the key is left out)
  std::size_t bytes_in = 0;
  std::size_t bytes_out = 0;
};

class AccessLog {
 public:
  // Starts the writer thread unless the destination is kOff.
  static Result<std::unique_ptr<AccessLog>> Create(const AccessLogOptions& options);
  ~AccessLog();  // hands over every buffer, writes everything queued, joins the writer
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  bool enabled() const { return options_.destination != AccessLogDestination::kOff; }

  void Record(const AccessLogEntry& entry);

  // Hands this thread's buffered lines to the writer (event loops call it every ~100 ms, so
  // a quiet server's lines still appear promptly, and when they end).
  void FlushThisThread();

  std::uint64_t dropped_lines() const;
  std::uint64_t written_lines() const;

 private:
  struct alignas(64) ThreadBuffer {
    std::string text;
    std::size_t lines = 0;
    std::uint64_t sample_counter = 0;
    std::int64_t cached_second = -1;
    char cached_prefix[24] = {};  // "YYYY-MM-DDTHH:MM:SS" of cached_second
  };
  struct Batch {
    std::string text;
    std::size_t lines = 0;
  };

  explicit AccessLog(const AccessLogOptions& options);
  void Submit(ThreadBuffer& buffer);
  void WriterLoop();
  // Writes a batch; returns the number of lines that could not be written.
  std::size_t WriteBatch(const Batch& batch);

  const AccessLogOptions options_;
  const int fd_;
  PerThread<ThreadBuffer> buffers_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Batch> queue_;         // guarded by mu_
  std::vector<std::string> spare_;  // emptied buffers to reuse, guarded by mu_
  std::size_t pending_bytes_ = 0;   // guarded by mu_
  std::uint64_t dropped_ = 0;       // guarded by mu_
  std::uint64_t written_ = 0;       // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  std::thread writer_;
};

}  // namespace csml::server
