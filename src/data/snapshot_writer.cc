#include "csml/data/snapshot_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "csml/core/time.h"
#include "csml/features/schema.h"

namespace csml {
namespace {

// Buffered bytes before a write(2); large enough that syscalls are not the cost.
constexpr std::size_t kFlushBytes = std::size_t{1} << 20;

void WriteRecordSeparator(SnapshotFormat format, std::size_t index, std::string* out) {
  if (format == SnapshotFormat::kJsonArray && index > 0) out->append(",\n");
}

void WriteRecordEnd(SnapshotFormat format, std::string* out) {
  if (format == SnapshotFormat::kJsonLines) out->push_back('\n');
}

void WriteClosing(SnapshotFormat format, std::size_t count, std::string* out) {
  if (format == SnapshotFormat::kJsonArray) out->append(count > 0 ? "\n]\n" : "]\n");
}

tl::unexpected<Error> IoError(std::string_view what, const std::filesystem::path& path) {
  return MakeError(ErrorCode::kIo,
                   fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
}

Status WriteAll(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Result<SnapshotFormat> SnapshotFormatForPath(const std::filesystem::path& path) {
  const std::string extension = path.extension().string();
  if (extension == ".json") return SnapshotFormat::kJsonArray;
  if (extension == ".jsonl") return SnapshotFormat::kJsonLines;
  return MakeError(ErrorCode::kInvalidArgument,
                   fmt::format("{}: expected a file name ending in .json (JSON array) or .jsonl "
                               "(JSON Lines), got extension \"{}\"",
                               path.string(), extension));
}

void WriteSnapshotJson(const Snapshot& snapshot, JsonWriter* writer,
                       std::string_view other_region_text) {
  writer->BeginObject();
  writer->Key("userId").String(snapshot.user_id);
  writer->Key("snapshot_ts").String(FormatRfc3339(snapshot.snapshot_ts));
  writer->Key("features").BeginObject();
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    writer->Key(kNumericFeatureSpecs[i].name).Double(snapshot.features.numeric[i]);
  }
  writer->Key(kRegionFeatureName);
  switch (snapshot.features.region) {
    case Region::kMissing:
      writer->Null();
      break;
    case Region::kOther:
      writer->String(other_region_text.empty() ? RegionName(Region::kOther) : other_region_text);
      break;
    default:
      writer->String(RegionName(snapshot.features.region));
  }
  writer->EndObject();
  writer->Key("label");
  if (snapshot.label.has_value()) {
    writer->Int(*snapshot.label);
  } else {
    writer->Null();
  }
  writer->Key("label_ts");
  if (snapshot.label_ts.has_value()) {
    writer->String(FormatRfc3339(*snapshot.label_ts));
  } else {
    writer->Null();
  }
  writer->EndObject();
}

std::string SerializeSnapshots(std::span<const Snapshot> snapshots, SnapshotFormat format) {
  std::string out;
  // About 300 bytes per record; a guess only to avoid repeated growth.
  out.reserve(snapshots.size() * 300 + 8);
  if (format == SnapshotFormat::kJsonArray) out.append("[\n");
  JsonWriter writer(&out);
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    WriteRecordSeparator(format, i, &out);
    WriteSnapshotJson(snapshots[i], &writer);
    WriteRecordEnd(format, &out);
  }
  WriteClosing(format, snapshots.size(), &out);
  return out;
}

Result<SnapshotFileWriter> SnapshotFileWriter::Create(const std::filesystem::path& path,
                                                      SnapshotFormat format) {
  if (path.filename().empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("\"{}\": expected a file path, got a directory", path.string()));
  }
  // Unique within the process (counter) and across processes (pid); same directory as the
  // target so the final rename stays on one file system and is atomic.
  static std::atomic<unsigned> counter{0};
  std::filesystem::path temp_path = path;
  temp_path += fmt::format(".tmp.{}.{}", ::getpid(), counter.fetch_add(1));
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == ENOENT) {
      // The usual cause by far: say it in the user's terms, not the temporary file's.
      const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
      return MakeError(ErrorCode::kIo, fmt::format("{}: cannot create it: the directory {} does "
                                                   "not exist",
                                                   path.string(), dir.string()));
    }
    return IoError(
        fmt::format("cannot create the temporary file {}", temp_path.filename().string()), path);
  }
  SnapshotFileWriter writer(path, std::move(temp_path), fd, format);
  if (format == SnapshotFormat::kJsonArray) writer.buffer_.append("[\n");
  return writer;
}

SnapshotFileWriter::SnapshotFileWriter(std::filesystem::path path, std::filesystem::path temp_path,
                                       int fd, SnapshotFormat format)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd), format_(format) {
  buffer_.reserve(kFlushBytes + 4096);
}

SnapshotFileWriter::SnapshotFileWriter(SnapshotFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::exchange(other.fd_, -1)),
      format_(other.format_),
      buffer_(std::move(other.buffer_)),
      records_(other.records_) {}

SnapshotFileWriter::~SnapshotFileWriter() { Abandon(); }

void SnapshotFileWriter::Abandon() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(temp_path_.c_str());
}

Status SnapshotFileWriter::Append(const Snapshot& snapshot, std::string_view other_region_text) {
  if (fd_ < 0) {
    return MakeError(ErrorCode::kInternal,
                     fmt::format("{}: append after the file was committed", path_.string()));
  }
  WriteRecordSeparator(format_, records_, &buffer_);
  JsonWriter writer(&buffer_);
  WriteSnapshotJson(snapshot, &writer, other_region_text);
  WriteRecordEnd(format_, &buffer_);
  ++records_;
  if (buffer_.size() >= kFlushBytes) return Flush();
  return {};
}

Status SnapshotFileWriter::Flush() {
  Status written = WriteAll(fd_, buffer_, temp_path_);
  buffer_.clear();
  if (!written) Abandon();
  return written;
}

Status SnapshotFileWriter::Commit() {
  if (fd_ < 0) {
    return MakeError(
        ErrorCode::kInternal,
        fmt::format("{}: commit of a file already committed or failed", path_.string()));
  }
  WriteClosing(format_, records_, &buffer_);
  if (Status flushed = Flush(); !flushed) return flushed;
  if (::fsync(fd_) != 0) {
    Status failed = IoError("cannot fsync", temp_path_);
    Abandon();
    return failed;
  }
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    Status failed = IoError("cannot close", temp_path_);
    ::unlink(temp_path_.c_str());
    return failed;
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    Status failed = IoError("cannot rename the temporary file over", path_);
    ::unlink(temp_path_.c_str());
    return failed;
  }
  // Make the rename itself durable; a failure here leaves a complete file, so it is ignored.
  std::filesystem::path dir = path_.parent_path();
  if (dir.empty()) dir = ".";
  if (const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace csml
