// Reading a snapshots file straight into a training Dataset, without ever holding the parsed
// records of the whole file: JSON Lines are read and parsed in pieces of `piece_bytes`, each
// piece's records are encoded into a DatasetBuilder and dropped. Memory then stays near the
// encoded matrix (about 77 bytes per labeled row) plus one piece, where reading the whole file
// first costs about 136 bytes per record more (data/snapshot.h's Snapshot).
//
// A JSON array cannot be cut at newlines; it is read whole (ReadSnapshotFile) and then
// encoded. Invalid records are skipped and counted, as with SnapshotReadOptions::kSkip; their
// first descriptions are kept. The window rule is training/dataset.h's.
//
// What this path does not do is run the data validator (validation/data_validator.h), which
// needs the whole batch; `csml train` validates, and so reads the whole batch first.
// Thread-safe: each call owns its buffers.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "csml/core/error.h"
#include "csml/data/snapshot_reader.h"
#include "csml/data/window.h"
#include "csml/training/dataset.h"

namespace csml {

struct DatasetFileOptions {
  std::size_t piece_bytes = 4u << 20;        // JSON Lines text per piece, in bytes, >= 4096
  std::size_t max_record_bytes = 1'000'000;  // a longer line is an error
  std::size_t max_problems_kept = 100;       // invalid records described (all are counted)

  [[nodiscard]] Status Validate() const;
};

struct DatasetFile {
  Dataset dataset;
  std::vector<SnapshotProblem> problems;  // the first max_problems_kept invalid records
  std::size_t bytes = 0;                  // the file's size
  double parse_seconds = 0;               // reading and parsing
  double encode_seconds = 0;              // encoding and the window
};

// Errors: kIo when the file cannot be read, kParse for malformed JSON (naming the record),
// the window's errors (training/dataset.h), kInvalidArgument for bad options.
Result<DatasetFile> ReadDatasetFile(const std::filesystem::path& path, const WindowOptions& window,
                                    const DatasetFileOptions& options = {});

}  // namespace csml
