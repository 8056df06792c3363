// Parses snapshots that arrive in pieces (an HTTP response body), so that memory stays near
// the size of the parsed records rather than the size of the text.
//
// The stream is a JSON array of records or JSON Lines. A small framing scanner finds where
// each top-level record ends (tracking strings, escapes and nesting), and complete records
// are parsed in batches with the same parser and rules as ReadSnapshotFile, so a record means
// the same thing whichever way it arrives. Record numbers in errors and problems count from 0
// over the whole stream. Not thread-safe: one parser per stream.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/data/snapshot_reader.h"

namespace csml {

class SnapshotStreamParser {
 public:
  // batch_bytes: how much record text is held before it is parsed (bytes).
  explicit SnapshotStreamParser(SnapshotReadOptions options, std::size_t batch_bytes = 4u << 20);

  // Consumes the next piece of text. Fails on broken framing (text outside the array, a
  // second top-level value) or, with OnInvalid::kFail, on the first invalid record.
  Status Feed(std::string_view chunk);

  // Ends the stream: parses what is held and returns every record. Fails when the text ended
  // inside a record or before the array was closed (a truncated body), naming how far it got.
  Result<SnapshotBatch> Finish();

  std::size_t bytes_fed() const { return bytes_fed_; }
  std::size_t records_framed() const { return records_framed_; }

 private:
  enum class Mode { kStart, kArray, kLines, kArrayClosed };

  Status FlushPending();
  Status FramingError(std::string_view what) const;

  SnapshotReadOptions options_;
  std::size_t batch_bytes_;
  SnapshotBatch batch_;
  std::string pending_;  // complete records, one per line, not parsed yet
  std::size_t pending_records_ = 0;
  std::string current_;  // the record being framed
  Mode mode_ = Mode::kStart;
  int depth_ = 0;  // nesting inside the current record
  bool in_string_ = false;
  bool escaped_ = false;
  bool in_record_ = false;
  bool expect_element_ = true;  // array mode: after '[' or ',' a record must come
  std::size_t bytes_fed_ = 0;
  std::size_t records_framed_ = 0;
};

}  // namespace csml
