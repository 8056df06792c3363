// Reading labeled snapshots (docs/DATA_CONTRACT.md) from JSON text: a JSON array of records or JSON
// Lines (one record per line), told apart by the first non-space character ('[' = array).
//
// Parsing and validation happen in one pass and in one place: a record is valid when it has
// a userId (a non-empty string; a JSON integer is taken as its decimal text), an RFC 3339
// snapshot_ts, a features object holding every required feature of the schema
// (features/schema.h: explicit null = missing = NaN; numbers must be finite JSON numbers in
// range; region a string or null; unknown keys are ignored), a label of 0, 1 or null (absent
// = null) and, when the label is 0 or 1, a label_ts after snapshot_ts (label_ts may be null
// or absent only when the label is null). Unknown top-level keys are ignored; a key given
// twice is invalid.
//
// Malformed JSON (text that is not JSON at all) is always an Error naming the record and the
// byte offset. An invalid record is an Error (OnInvalid::kFail) or is skipped and described
// (OnInvalid::kSkip). Record numbers are 0-based positions in the input, in messages too.
//
// The reader is built for throughput (simdjson DOM, JSON Lines in batches): the only
// allocation per record is the userId when it is longer than std::string's inline buffer.
// Functions are thread-safe: each call owns its parser.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/data/snapshot.h"

namespace csml {

// One invalid record: which one, which field, what was wrong.
struct SnapshotProblem {
  std::size_t record = 0;  // 0-based index in the input (plus first_record_index)
  std::string field;       // "features.usage_score", "snapshot_ts", ... ; "" for the record
  std::string message;     // "expected a number in [0, 1], got 1.5"
  // JSON Lines: the 1-based line of the input the record starts on; 0 for a JSON array's
  // element (simdjson's DOM keeps no positions).
  std::size_t line = 0;

  // "record 12, field features.usage_score: expected ..." (or "record 12: ..." with no field).
  std::string ToString() const;
};

struct SnapshotReadOptions {
  enum class OnInvalid { kFail, kSkip };
  OnInvalid on_invalid = OnInvalid::kFail;
  // kSkip: at most this many problems are described; all are counted.
  std::size_t max_problems_kept = 1000;
  // JSON Lines are parsed in batches of this many bytes; a single record longer than this is
  // an error. 1 MB is simdjson's default and keeps a batch in cache.
  std::size_t max_record_bytes = 1'000'000;
  // The number given to the first record of the text, in messages and SnapshotProblem::record;
  // a caller parsing one stream in pieces passes the count of records before this piece.
  std::size_t first_record_index = 0;
};

struct SnapshotBatch {
  std::vector<Snapshot> records;          // the valid records, in input order
  std::vector<SnapshotProblem> problems;  // kSkip: the first max_problems_kept problems
  std::size_t records_seen = 0;           // every record in the input, valid or not
  std::size_t records_invalid = 0;        // records skipped as invalid
};

// Parses `json_text` (copied once into a padded buffer). Errors: kParse for malformed JSON,
// kValidation for the first invalid record under kFail, kInvalidArgument for bad options.
Result<SnapshotBatch> ParseSnapshots(std::string_view json_text,
                                     const SnapshotReadOptions& options);

// Reads and parses a file; errors are prefixed with the path, kIo when it cannot be read.
Result<SnapshotBatch> ReadSnapshotFile(const std::filesystem::path& path,
                                       const SnapshotReadOptions& options);

}  // namespace csml
