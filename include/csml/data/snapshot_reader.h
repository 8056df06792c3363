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
#include <functional>
#include <memory>
#include <optional>
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

// ---- JSON Lines in pieces, for parsing on several threads -------------------------------------
//
// A JSON Lines file is cut at newlines into pieces that are parsed independently (the records
// before a piece are counted only later, so a piece is parsed with first_record_index 0 and its
// problems renumbered by the caller). A piece cut inside a record spanning lines fails to parse
// alone; the caller then parses the rest of the input in order with ReadSnapshotLines, which
// gives exactly what ReadSnapshotFile gives from that point.

// Bytes after a piece's text that the parser may read (simdjson's padding).
inline constexpr std::size_t kSnapshotPiecePadding = 64;

// A run of whole lines of the input and where it starts in it.
struct SnapshotTextPiece {
  std::unique_ptr<char[]> storage;  // text, then kSnapshotPiecePadding bytes
  std::string_view text;
  std::size_t first_byte = 0;  // bytes of the input before the piece
  std::size_t first_line = 1;  // 1-based line of the piece's first byte
};

// Supplies bytes in order: copies up to `capacity` to `out`, returns how many; 0 = the end.
using SnapshotByteSource = std::function<Result<std::size_t>(char* out, std::size_t capacity)>;

// Reads a snapshot file in pieces of about `piece_bytes`, cut after a newline. The file is
// opened and checked as ReadSnapshotFile does (same errors); a byte order mark and leading
// whitespace are skipped. Not thread-safe: one thread reads, any thread parses the pieces.
class SnapshotFilePieces {
 public:
  static Result<std::unique_ptr<SnapshotFilePieces>> Open(const std::filesystem::path& path,
                                                          const SnapshotReadOptions& options,
                                                          std::size_t piece_bytes);
  ~SnapshotFilePieces();
  SnapshotFilePieces(const SnapshotFilePieces&) = delete;
  SnapshotFilePieces& operator=(const SnapshotFilePieces&) = delete;

  // False when the file is a JSON array or holds no records: read it with ReadSnapshotFile.
  bool is_json_lines() const { return json_lines_; }

  // The next piece, or nullopt at the end of the input. Errors are kIo, naming the path.
  Result<std::optional<SnapshotTextPiece>> Next();

  // The input after the last piece Next() handed out, as a byte source.
  Result<std::size_t> ReadRest(char* out, std::size_t capacity);

 private:
  SnapshotFilePieces(std::filesystem::path path, int fd, std::size_t piece_bytes);
  Result<std::size_t> ReadSome(char* out, std::size_t capacity);
  Status FillCarry(std::size_t target);

  std::filesystem::path path_;
  int fd_;
  std::size_t piece_bytes_;
  std::string carry_;  // read but not handed out
  bool at_end_ = false;
  bool json_lines_ = false;
  std::size_t next_byte_ = 0;
  std::size_t next_line_ = 1;
};

// Parses a piece as JSON Lines ending with the piece (a record cut at its end is malformed).
// Records, problems and errors are numbered from options.first_record_index; lines and bytes
// are the input's.
Result<SnapshotBatch> ParseSnapshotPiece(const SnapshotTextPiece& piece,
                                         const SnapshotReadOptions& options);

// Parses the JSON Lines `read` supplies up to its end, the text starting at byte `first_byte`
// and line `first_line` of the input, records numbered from options.first_record_index.
Result<SnapshotBatch> ReadSnapshotLines(const SnapshotByteSource& read, std::size_t first_byte,
                                        std::size_t first_line, const SnapshotReadOptions& options);

}  // namespace csml
