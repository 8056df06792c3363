// The prediction log: every score appended as one JSON line (prediction_record.h) to
// segment files in a directory, off the request path (docs/MONITORING.md).
//
// Request threads call Append(): one compare-and-swap claims a slot of a bounded ring and
// the event is copied into it (no lock, no syscall, no allocation once the ring's strings
// have grown). A full ring drops the event and counts it; Append never waits. One writer
// thread drains the ring, formats the lines and writes them:
//   - to the open segment  <dir>/predictions-<host>-<pid>-<start>-<seq>.jsonl
//     (host and pid make names unique per replica, so replicas may share one directory);
//   - written out (write(2)) at least every flush_interval, so a crash loses at most that;
//   - rotated when it reaches segment_max_bytes or segment_max_age; a closed segment is
//     compressed to <name>.jsonl.zst (written to a temporary name, renamed, then the .jsonl
//     removed, so a reader never sees half a file) unless compression is off. Compression
//     runs on a thread of its own at nice 19, so a request thread on the same core preempts
//     it; under sustained full load closed segments wait as plain .jsonl (readers take both,
//     retention counts them) until the CPU has time;
//   - retention: after each rotation, closed segments of every replica in the directory are
//     removed oldest first while they total more than retention_bytes or are older than
//     retention_age; an open .jsonl is counted but never removed (unless it is older than
//     retention_age, a crashed replica's leftover).
// A full disk (ENOSPC, EDQUOT, EFBIG) stops logging: the segment is cut back to its last
// whole line, events are counted as dropped, the observer is told once, and a write is
// tried again every disk_retry_interval; when it succeeds the observer is told once more.
//
// Thread-safety: Append() and Stats() from any thread. The destructor writes what is queued,
// closes the open segment, joins the writer, then lets the compressor finish every closed
// segment still waiting and joins it; call it after the request threads have stopped.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "csml/core/error.h"
#include "csml/monitoring/prediction_record.h"

namespace csml {

struct PredictionLogOptions {
  std::string dir;                                       // created if missing
  std::size_t queue_capacity = 65536;                    // events; rounded up to a power of two
  std::size_t segment_max_bytes = 64 << 20;              // uncompressed bytes of one segment
  std::chrono::seconds segment_max_age{3600};            // a segment open this long is rotated
  std::chrono::milliseconds flush_interval{1000};        // written out at least this often
  std::uint64_t retention_bytes = 1ull << 30;            // all segments in dir, on disk
  std::chrono::seconds retention_age{90 * 86400};        // closed segments older are removed
  std::chrono::milliseconds disk_retry_interval{30000};  // after a full disk
  bool compress = true;                                  // zstd closed segments
  int compression_level = 3;

  // queue 16 to 16M; segment 4 KiB to 4 GiB; ages and intervals positive; flush <= 60 s;
  // retention_bytes >= segment_max_bytes; level 1 to 19.
  [[nodiscard]] Status Validate() const;
};

struct PredictionLogStats {
  std::uint64_t appended = 0;            // events taken into the ring
  std::uint64_t dropped_queue_full = 0;  // refused by a full ring (exact)
  std::uint64_t dropped_disk = 0;        // taken but not written: disk full or write error
  std::uint64_t written_records = 0;     // lines written to a segment
  std::uint64_t written_bytes = 0;       // uncompressed bytes written
  std::uint64_t segments_closed = 0;
  std::uint64_t segments_compressed = 0;
  std::uint64_t segments_removed = 0;  // by retention
  std::uint64_t dir_bytes = 0;         // on disk in dir after the last retention pass
  std::size_t queue_depth = 0;
  std::size_t queue_capacity = 0;
  bool disk_full = false;  // logging stopped: the disk refused a write
};

// What the writer thread reports, for the adapter to log (the domain does not log).
struct PredictionLogEvent {
  enum class Kind : std::uint8_t {
    kStopped,  // a write failed: logging stops until a retry succeeds
    kResumed,  // a retry succeeded
    kError,    // a rotation, compression or removal failed (logging goes on)
  };
  Kind kind = Kind::kError;
  std::string message;
};

// Test seam: how segment bytes reach the file (defaults to write(2)); returns bytes written
// or -1 with errno set.
using SegmentWriteFn = std::function<long(int fd, const char* data, std::size_t size)>;

class PredictionLog {
 public:
  using Observer = std::function<void(const PredictionLogEvent&)>;

  // Creates the directory, opens the first segment and starts the writer thread.
  static Result<std::unique_ptr<PredictionLog>> Create(const PredictionLogOptions& options,
                                                       Observer observer = {},
                                                       SegmentWriteFn write_fn = {});
  ~PredictionLog();
  PredictionLog(const PredictionLog&) = delete;
  PredictionLog& operator=(const PredictionLog&) = delete;

  // Queues the event; false when the ring was full (the event is dropped and counted).
  bool Append(const PredictionEvent& event);

  PredictionLogStats Stats() const;
  const PredictionLogOptions& options() const;

  struct Impl;

 private:
  explicit PredictionLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace csml
