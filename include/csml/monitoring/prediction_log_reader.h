// Reading the prediction log back: every segment of every replica in a directory, plain
// (.jsonl) and compressed (.jsonl.zst), record by record.
//
// A segment's last line without its '\n' is a write the process did not finish (a crash):
// it is skipped and counted as torn, never an error. Other lines that are not records are
// skipped and counted as bad, the first one's error kept for the message. A .jsonl whose
// .jsonl.zst exists too is a segment caught between compression and removal: only the .zst
// is read.
//
// Thread-safety: free functions; the callback runs on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "csml/core/error.h"
#include "csml/monitoring/prediction_record.h"

namespace csml {

struct PredictionLogReadStats {
  std::uint64_t files = 0;
  std::uint64_t compressed_files = 0;
  std::uint64_t records = 0;
  std::uint64_t torn_lines = 0;
  std::uint64_t bad_lines = 0;
  std::uint64_t bytes = 0;  // uncompressed
  std::string first_bad_line_error;
};

using PredictionRecordFn = std::function<void(const PredictionRecord&)>;

// The segment files of dir, sorted by name (paths).
Result<std::vector<std::string>> ListPredictionSegments(const std::string& dir);

// Reads one segment file (plain or .zst) into fn, adding to stats.
Status ReadPredictionSegment(const std::string& path, const PredictionRecordFn& fn,
                             PredictionLogReadStats* stats);

// Reads every segment of dir. kNotFound when dir does not exist.
Result<PredictionLogReadStats> ReadPredictionLog(const std::string& dir,
                                                 const PredictionRecordFn& fn);

}  // namespace csml
