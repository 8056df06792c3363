#include "segment_files.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace csml::monitoring_internal {
namespace {

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

tl::unexpected<Error> IoError(std::string_view what, const std::string& path, int* error_number) {
  const int e = errno;
  if (error_number != nullptr) *error_number = e;
  return tl::unexpected(
      Error{ErrorCode::kIo, fmt::format("{} {}: {}", what, path, std::strerror(e))});
}

bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

SegmentKind KindOfName(std::string_view name) {
  if (name.substr(0, kSegmentPrefix.size()) != kSegmentPrefix) return SegmentKind::kNone;
  if (EndsWith(name, kCompressedSuffix)) return SegmentKind::kCompressed;
  if (EndsWith(name, kPlainSuffix)) return SegmentKind::kPlain;
  return SegmentKind::kNone;
}

Status CompressFile(const std::string& src, const std::string& dst, int level, int* error_number) {
  const Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) return IoError("open", src, error_number);
  const std::string tmp = dst + ".tmp";
  Status status = [&]() -> Status {
    const Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out.fd < 0) return IoError("create", tmp, error_number);
    const std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
    if (cctx == nullptr) return MakeError(ErrorCode::kInternal, "zstd: out of memory");
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
    std::vector<char> in_buf(ZSTD_CStreamInSize());
    std::vector<char> out_buf(ZSTD_CStreamOutSize());
    while (true) {
      const ssize_t n = ::read(in.fd, in_buf.data(), in_buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("read", src, error_number);
      }
      const ZSTD_EndDirective mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
      ZSTD_inBuffer input{in_buf.data(), static_cast<std::size_t>(n), 0};
      bool finished = false;
      while (!finished) {
        ZSTD_outBuffer output{out_buf.data(), out_buf.size(), 0};
        const std::size_t left = ZSTD_compressStream2(cctx.get(), &output, &input, mode);
        if (ZSTD_isError(left) != 0) {
          return MakeError(ErrorCode::kInternal,
                           fmt::format("zstd: {}: {}", src, ZSTD_getErrorName(left)));
        }
        if (!WriteAll(out.fd, out_buf.data(), output.pos))
          return IoError("write", tmp, error_number);
        finished = mode == ZSTD_e_end ? left == 0 : input.pos == input.size;
      }
      if (n == 0) break;
    }
    if (::fdatasync(out.fd) != 0) return IoError("fsync", tmp, error_number);
    return {};
  }();
  if (!status) {
    ::unlink(tmp.c_str());
    return status;
  }
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    Status failed = IoError("rename", tmp, error_number);
    ::unlink(tmp.c_str());
    return failed;
  }
  return {};
}

Status ReadFileChunks(const std::string& path, bool compressed,
                      const std::function<void(std::string_view)>& fn) {
  const Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) return IoError("open", path, nullptr);
  std::vector<char> in_buf(compressed ? ZSTD_DStreamInSize() : std::size_t{1} << 20);
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx;
  std::vector<char> out_buf;
  if (compressed) {
    dctx.reset(ZSTD_createDCtx());
    if (dctx == nullptr) return MakeError(ErrorCode::kInternal, "zstd: out of memory");
    out_buf.resize(ZSTD_DStreamOutSize());
  }
  std::size_t last = 0;
  while (true) {
    const ssize_t n = ::read(in.fd, in_buf.data(), in_buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("read", path, nullptr);
    }
    if (n == 0) break;
    if (!compressed) {
      fn(std::string_view(in_buf.data(), static_cast<std::size_t>(n)));
      continue;
    }
    ZSTD_inBuffer input{in_buf.data(), static_cast<std::size_t>(n), 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{out_buf.data(), out_buf.size(), 0};
      last = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(last) != 0) {
        return MakeError(ErrorCode::kParse,
                         fmt::format("zstd: {}: {}", path, ZSTD_getErrorName(last)));
      }
      if (output.pos > 0) fn(std::string_view(out_buf.data(), output.pos));
    }
  }
  if (compressed && last != 0) {
    return MakeError(ErrorCode::kParse,
                     fmt::format("zstd: {}: the file ends inside a frame", path));
  }
  return {};
}

}  // namespace csml::monitoring_internal
