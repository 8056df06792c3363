// Writing snapshots in the training data contract (docs/DATA_CONTRACT.md), as a JSON array or as
// JSON Lines, such that ReadSnapshotFile/ParseSnapshots give back the same records.
//
// A record is written with keys in a fixed order: userId, snapshot_ts, features (the eight
// numeric features in schema order, then region), label, label_ts. Missing numbers (NaN) and
// a missing region are null; numbers use the shortest text that reads back to the same double.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/core/json_writer.h"
#include "csml/data/snapshot.h"

namespace csml {

enum class SnapshotFormat {
  kJsonArray,  // one JSON array of records (.json)
  kJsonLines,  // one record per line (.jsonl)
};

// ".json" -> kJsonArray, ".jsonl" -> kJsonLines (case-sensitive); anything else is a
// kInvalidArgument error naming the path.
Result<SnapshotFormat> SnapshotFormatForPath(const std::filesystem::path& path);

// Appends one record as a JSON object. Snapshot keeps only that a region is outside the
// one-hot set (Region::kOther); `other_region_text` is written for it when not empty (a
// caller that knows the original text, such as the simulator, passes it), else "other".
void WriteSnapshotJson(const Snapshot& snapshot, JsonWriter* writer,
                       std::string_view other_region_text = {});

// Serializes a whole batch. Arrays are written one record per line between "[" and "]";
// JSON Lines end every record with '\n'.
std::string SerializeSnapshots(std::span<const Snapshot> snapshots, SnapshotFormat format);

// Streams records to a file that appears only when complete: records go to a temporary file
// next to the target, and Commit() flushes, fsyncs and renames it over the target. If Commit()
// is never reached (an error, a crash) the target is untouched; the destructor removes the
// temporary file. Memory stays bounded by a small buffer whatever the number of records.
// Move-only; not thread-safe.
class SnapshotFileWriter {
 public:
  static Result<SnapshotFileWriter> Create(const std::filesystem::path& path,
                                           SnapshotFormat format);

  SnapshotFileWriter(SnapshotFileWriter&& other) noexcept;
  SnapshotFileWriter& operator=(SnapshotFileWriter&& other) = delete;
  SnapshotFileWriter(const SnapshotFileWriter&) = delete;
  SnapshotFileWriter& operator=(const SnapshotFileWriter&) = delete;
  ~SnapshotFileWriter();

  Status Append(const Snapshot& snapshot, std::string_view other_region_text = {});
  // Completes the file. After Commit (successful or not) the writer accepts nothing more.
  Status Commit();

  std::size_t records_written() const { return records_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  SnapshotFileWriter(std::filesystem::path path, std::filesystem::path temp_path, int fd,
                     SnapshotFormat format);
  Status Flush();
  void Abandon();

  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  SnapshotFormat format_ = SnapshotFormat::kJsonLines;
  std::string buffer_;
  std::size_t records_ = 0;
};

}  // namespace csml
