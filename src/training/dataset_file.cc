#include "csml/training/dataset_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>

#include <fmt/format.h>

namespace csml {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class File {
 public:
  explicit File(int fd) : fd_(fd) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

tl::unexpected<Error> IoError(const std::filesystem::path& path, std::string_view what) {
  return MakeError(ErrorCode::kIo, fmt::format("{}: cannot {}: {}", path.string(), what,
                                               std::generic_category().message(errno)));
}

// Reads up to `capacity` bytes (fewer only at the end of the file).
Result<std::size_t> ReadSome(int fd, char* out, std::size_t capacity,
                             const std::filesystem::path& path) {
  std::size_t got = 0;
  while (got < capacity) {
    const ssize_t n = ::read(fd, out + got, capacity - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(path, "read");
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

void KeepProblems(SnapshotBatch& piece, std::size_t max_kept, std::vector<SnapshotProblem>* out) {
  for (SnapshotProblem& p : piece.problems) {
    if (out->size() >= max_kept) break;
    out->push_back(std::move(p));
  }
}

}  // namespace

Status DatasetFileOptions::Validate() const {
  if (piece_bytes < 4096) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("piece_bytes: expected at least 4096, got {}", piece_bytes));
  }
  if (max_record_bytes < 1 || max_record_bytes > (1u << 30)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("max_record_bytes: expected a number in [1, 2^30], got {}", max_record_bytes));
  }
  return {};
}

Result<DatasetFile> ReadDatasetFile(const std::filesystem::path& path, const WindowOptions& window,
                                    const DatasetFileOptions& options) {
  CSML_TRY(options.Validate());
  File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return IoError(path, "open");
  DatasetFile out;
  DatasetBuilder builder;
  SnapshotReadOptions read;
  read.on_invalid = SnapshotReadOptions::OnInvalid::kSkip;
  read.max_problems_kept = options.max_problems_kept;
  read.max_record_bytes = options.max_record_bytes;

  // A piece always holds at least one whole record.
  std::string buffer(std::max(options.piece_bytes, 2 * options.max_record_bytes), '\0');
  std::size_t held = 0;  // bytes of buffer carried over from the previous read
  bool first_read = true;
  bool eof = false;
  Clock::time_point t = Clock::now();
  while (!eof) {
    CSML_ASSIGN_OR_RETURN(auto got,
                          ReadSome(file.get(), buffer.data() + held, buffer.size() - held, path));
    out.bytes += got;
    eof = held + got < buffer.size();
    const std::string_view text(buffer.data(), held + got);
    if (first_read) {
      first_read = false;
      std::string_view head = text;
      if (head.starts_with("\xEF\xBB\xBF")) head.remove_prefix(3);  // a UTF-8 byte order mark
      const std::size_t start = head.find_first_not_of(" \t\r\n");
      if (start != std::string_view::npos && head[start] == '[') {
        // A JSON array: read whole.
        read.max_problems_kept = options.max_problems_kept;
        CSML_ASSIGN_OR_RETURN(auto batch, ReadSnapshotFile(path, read));
        out.parse_seconds = SecondsSince(t);
        t = Clock::now();
        builder.Add(batch.records);
        builder.AddInvalid(batch.records_invalid);
        out.problems = std::move(batch.problems);
        std::error_code ec;
        out.bytes = static_cast<std::size_t>(std::filesystem::file_size(path, ec));
        auto dataset = builder.Finish(window);
        if (!dataset) return tl::unexpected(dataset.error().WithContext(path.string()));
        out.dataset = std::move(*dataset);
        out.encode_seconds = SecondsSince(t);
        return out;
      }
    }
    // Whole lines only, except at the end of the file.
    std::size_t cut = text.size();
    if (!eof) {
      const std::size_t newline = text.rfind('\n');
      if (newline == std::string_view::npos) {
        return MakeError(ErrorCode::kParse,
                         fmt::format("{}: record {}: a line is longer than {} bytes", path.string(),
                                     read.first_record_index, options.max_record_bytes));
      }
      cut = newline + 1;
    }
    read.max_problems_kept = options.max_problems_kept > out.problems.size()
                                 ? options.max_problems_kept - out.problems.size()
                                 : 0;
    auto piece = ParseSnapshots(text.substr(0, cut), read);
    if (!piece) return tl::unexpected(piece.error().WithContext(path.string()));
    out.parse_seconds += SecondsSince(t);
    t = Clock::now();
    read.first_record_index += piece->records_seen;
    builder.Add(piece->records);
    builder.AddInvalid(piece->records_invalid);
    KeepProblems(*piece, options.max_problems_kept, &out.problems);
    out.encode_seconds += SecondsSince(t);
    t = Clock::now();
    held = text.size() - cut;
    std::memmove(buffer.data(), buffer.data() + cut, held);
  }
  auto dataset = builder.Finish(window);
  if (!dataset) return tl::unexpected(dataset.error().WithContext(path.string()));
  out.dataset = std::move(*dataset);
  out.encode_seconds += SecondsSince(t);
  return out;
}

}  // namespace csml
