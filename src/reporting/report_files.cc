// Writing report.json and report.html whole: temporary name, fsync, rename, fsync directory.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "csml/reporting/monitor_run.h"
#include "csml/reporting/report_renderer.h"

namespace csml {
namespace {

tl::unexpected<Error> IoError(std::string_view what, const std::filesystem::path& path, int err) {
  return MakeError(ErrorCode::kIo,
                   fmt::format("{}: {}: {}", path.string(), what, std::strerror(err)));
}

// Owns a file descriptor; closes it once.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the result (a delayed write error shows at close).
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status WriteWhole(const std::filesystem::path& path, std::string_view text) {
  const std::filesystem::path temp =
      path.parent_path() / fmt::format(".tmp-{}-{}", path.filename().string(), ::getpid());
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return IoError("cannot create", temp, errno);
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::unlink(temp.c_str());
      return IoError("cannot write", temp, err);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || fd.Close() != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return IoError("cannot write", temp, err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return IoError(fmt::format("cannot rename {} to", temp.string()), path, err);
  }
  return {};
}

}  // namespace

Result<ReportFiles> WriteEvaluationReport(const EvaluationReport& report,
                                          const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, fmt::format("{}: cannot create the report directory: {}",
                                                 dir.string(), ec.message()));
  }
  ReportFiles files{dir / "report.json", dir / "report.html"};
  CSML_TRY(WriteWhole(files.json, RenderEvaluationJson(report)));
  CSML_TRY(WriteWhole(files.html, RenderEvaluationHtml(report)));
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return IoError("cannot fsync the report directory", dir, errno);
  }
  return files;
}

Result<MonitorReportFiles> WriteMonitorReport(const MonitorReport& report,
                                              const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, fmt::format("{}: cannot create the report directory: {}",
                                                 dir.string(), ec.message()));
  }
  MonitorReportFiles files{dir / "report.json", dir / "report.html"};
  CSML_TRY(WriteWhole(files.json, RenderMonitorJson(report)));
  CSML_TRY(WriteWhole(files.html, RenderMonitorHtml(report)));
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return IoError("cannot fsync the report directory", dir, errno);
  }
  return files;
}

std::filesystem::path DefaultReportDir(const std::filesystem::path& root, std::string_view version,
                                       UnixSeconds generated_at) {
  // "2025-06-01T09:30:00Z" -> "20250601T093000Z".
  std::string stamp;
  for (const char c : FormatRfc3339(generated_at)) {
    if (c != '-' && c != ':') stamp += c;
  }
  return root / std::string(version) / stamp;
}

}  // namespace csml
