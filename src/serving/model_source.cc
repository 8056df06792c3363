#include "csml/serving/model_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace csml {
namespace {

std::int64_t MtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// The meta file's mtime, or 0 when it does not exist (the loader then says why).
Result<std::int64_t> MetaMtimeNs(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return MtimeNs(st);
  if (errno == ENOENT) return std::int64_t{0};
  return MakeError(ErrorCode::kIo,
                   fmt::format("cannot stat {}: {}", path.string(), std::strerror(errno)));
}

}  // namespace

Result<ServableId> ModelSource::Poll() {
  Result<std::optional<std::string>> promoted = registry_.PromotedVersion();
  if (!promoted) return tl::unexpected(promoted.error());
  ServableId id;
  if (promoted->has_value()) {
    id.version = **promoted;
    id.promoted = true;
  } else {
    struct stat dir_stat {};
    if (::stat(registry_.dir().c_str(), &dir_stat) != 0) {
      return MakeError(ErrorCode::kIo, fmt::format("cannot stat model dir {}: {}",
                                                   registry_.dir().string(), std::strerror(errno)));
    }
    const std::int64_t dir_mtime = MtimeNs(dir_stat);
    if (scanned_dir_mtime_ns_ != dir_mtime) {
      Result<std::vector<ModelMeta>> versions = registry_.List();
      if (!versions) return tl::unexpected(versions.error());
      newest_version_ = versions->empty() ? std::string() : versions->back().version;
      scanned_dir_mtime_ns_ = dir_mtime;
    }
    if (newest_version_.empty()) {
      return MakeError(ErrorCode::kNotFound, fmt::format("model registry {} holds no model version",
                                                         registry_.dir().string()));
    }
    id.version = newest_version_;
  }
  if (!IsValidVersionName(id.version)) {
    return MakeError(ErrorCode::kParse, fmt::format("SERVING: expected a version name, got '{}'",
                                                    id.version.substr(0, 60)));
  }
  Result<std::int64_t> mtime = MetaMtimeNs(registry_.MetaPath(id.version));
  if (!mtime) return tl::unexpected(mtime.error());
  id.meta_mtime_ns = *mtime;
  return id;
}

}  // namespace csml
