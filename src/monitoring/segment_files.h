// Segment file names and zstd streaming, shared by the prediction log's writer and reader.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "csml/core/error.h"

namespace csml::monitoring_internal {

inline constexpr std::string_view kSegmentPrefix = "predictions-";
inline constexpr std::string_view kPlainSuffix = ".jsonl";
inline constexpr std::string_view kCompressedSuffix = ".jsonl.zst";

enum class SegmentKind : std::uint8_t { kNone, kPlain, kCompressed };

// What a directory entry's name is: a plain segment, a compressed one, or neither (temporary
// files and anything else).
SegmentKind KindOfName(std::string_view name);

// Compresses the file at src into dst (through dst + ".tmp", fsynced, then renamed); src is
// left in place. kIo naming the step that failed, with errno kept in *error_number.
Status CompressFile(const std::string& src, const std::string& dst, int level, int* error_number);

// Calls fn with consecutive chunks of the file's (decompressed, for .zst) bytes.
Status ReadFileChunks(const std::string& path, bool compressed,
                      const std::function<void(std::string_view)>& fn);

}  // namespace csml::monitoring_internal
