#include "csml/monitoring/prediction_log_reader.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "segment_files.h"

namespace csml {

namespace fs = std::filesystem;
using monitoring_internal::KindOfName;
using monitoring_internal::SegmentKind;

Result<std::vector<std::string>> ListPredictionSegments(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return MakeError(ErrorCode::kNotFound, fmt::format("prediction log {}: not a directory", dir));
  }
  std::vector<std::string> plain;
  std::set<std::string> compressed;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    switch (KindOfName(name)) {
      case SegmentKind::kPlain:
        plain.push_back(it->path().string());
        break;
      case SegmentKind::kCompressed:
        compressed.insert(it->path().string());
        break;
      case SegmentKind::kNone:
        break;
    }
  }
  if (ec) {
    return MakeError(ErrorCode::kIo, fmt::format("prediction log {}: {}", dir, ec.message()));
  }
  std::vector<std::string> out(compressed.begin(), compressed.end());
  for (std::string& p : plain) {
    if (compressed.count(p + ".zst") == 0) out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status ReadPredictionSegment(const std::string& path, const PredictionRecordFn& fn,
                             PredictionLogReadStats* stats) {
  const bool compressed =
      KindOfName(fs::path(path).filename().string()) == SegmentKind::kCompressed;
  PredictionLineParser parser;
  PredictionRecord record;
  std::string carry;  // a line split between chunks
  auto take_line = [&](std::string_view line) {
    if (line.empty()) return;
    if (Status parsed = parser.Parse(line, &record); !parsed) {
      ++stats->bad_lines;
      if (stats->first_bad_line_error.empty()) {
        stats->first_bad_line_error = fmt::format("{}: {}", path, parsed.error().message);
      }
      return;
    }
    ++stats->records;
    fn(record);
  };
  Status read = monitoring_internal::ReadFileChunks(path, compressed, [&](std::string_view chunk) {
    stats->bytes += chunk.size();
    while (!chunk.empty()) {
      const std::size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        carry.append(chunk);
        return;
      }
      if (carry.empty()) {
        take_line(chunk.substr(0, nl));
      } else {
        carry.append(chunk.substr(0, nl));
        take_line(carry);
        carry.clear();
      }
      chunk.remove_prefix(nl + 1);
    }
  });
  if (!read) return read;
  ++stats->files;
  if (compressed) ++stats->compressed_files;
  if (!carry.empty()) ++stats->torn_lines;
  return {};
}

Result<PredictionLogReadStats> ReadPredictionLog(const std::string& dir,
                                                 const PredictionRecordFn& fn) {
  CSML_ASSIGN_OR_RETURN(std::vector<std::string> segments, ListPredictionSegments(dir));
  PredictionLogReadStats stats;
  for (const std::string& path : segments) {
    Status read = ReadPredictionSegment(path, fn, &stats);
    // A segment compressed since it was listed is read from its .zst; one removed by
    // retention meanwhile is not an error.
    if (!read && read.error().code == ErrorCode::kIo && !fs::exists(path)) {
      const std::string zst = path + ".zst";
      if (KindOfName(fs::path(path).filename().string()) != SegmentKind::kPlain ||
          !fs::exists(zst)) {
        continue;
      }
      read = ReadPredictionSegment(zst, fn, &stats);
    }
    if (!read) return tl::unexpected(read.error());
  }
  return stats;
}

}  // namespace csml
