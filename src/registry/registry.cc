#include "csml/registry/registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <system_error>

#include <fmt/format.h>

#include "csml/registry/sha256.h"

namespace csml {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMetaSuffix = ".meta.json";
constexpr std::string_view kTempPrefix = ".tmp-";
constexpr std::string_view kLockFile = ".lock";
// More publishes of one algo within one minute than this is a runaway loop, not a registry.
constexpr int kMaxNameSuffix = 1000;

std::string ErrnoText(int err) { return std::generic_category().message(err); }

tl::unexpected<Error> IoError(std::string_view what, const fs::path& path, int err) {
  return MakeError(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                   fmt::format("{} {}: {}", what, path.string(), ErrnoText(err)));
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now so a failing close (delayed write error) is reported.
  Status Close(const fs::path& path) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return IoError("close", path, errno);
    return {};
  }

 private:
  int fd_;
};

Result<std::string> ReadWholeFile(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open", path, errno);
  std::string out;
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
    out.reserve(static_cast<std::size_t>(st.st_size));
  }
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", path, errno);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

Status WriteAll(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write", path, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Status FsyncDir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return IoError("cannot fsync directory", dir, errno);
  return {};
}

// Removes a temporary file unless released; keeps error paths from leaving litter.
class TempFile {
 public:
  TempFile() = default;
  explicit TempFile(fs::path path) : path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  TempFile(TempFile&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const fs::path& path() const { return path_; }
  void Release() { path_.clear(); }

 private:
  fs::path path_;
};

// Writes bytes to a new hidden file in dir and fsyncs it.
Result<TempFile> WriteTempFile(const fs::path& dir, std::string_view suffix,
                               std::string_view bytes) {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^
                                          static_cast<std::uint64_t>(::getpid()));
  for (int attempt = 0; attempt < 16; ++attempt) {
    const fs::path path =
        dir / fmt::format("{}{}-{:016x}{}", kTempPrefix, ::getpid(), rng(), suffix);
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      if (errno == EEXIST) continue;
      return IoError("cannot create", path, errno);
    }
    TempFile file(path);
    CSML_TRY(WriteAll(fd.get(), bytes, path));
    if (::fsync(fd.get()) != 0) return IoError("cannot fsync", path, errno);
    CSML_TRY(fd.Close(path));
    return file;
  }
  return MakeError(ErrorCode::kIo,
                   fmt::format("cannot create a temporary file in {}", dir.string()));
}

// Moves from -> to unless `to` exists (kAlreadyExists then). renameat2(RENAME_NOREPLACE)
// where the file system has it, else link + unlink, which is no-replace as well.
Status RenameNoReplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  const int err = errno;
  if (err == EEXIST) {
    return MakeError(ErrorCode::kAlreadyExists, fmt::format("{} already exists", to.string()));
  }
  if (err != EINVAL && err != ENOSYS && err != ENOTSUP) {
    return IoError(fmt::format("cannot rename {} to", from.string()), to, err);
  }
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) {
      return MakeError(ErrorCode::kAlreadyExists, fmt::format("{} already exists", to.string()));
    }
    return IoError(fmt::format("cannot link {} to", from.string()), to, errno);
  }
  ::unlink(from.c_str());
  return {};
}

// An exclusive flock on the registry's lock file, held for its lifetime.
class RegistryLock {
 public:
  static Result<RegistryLock> Acquire(const fs::path& dir) {
    const fs::path path = dir / kLockFile;
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return IoError("cannot open lock file", path, errno);
    RegistryLock lock(fd);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return IoError("cannot lock", path, errno);
    }
    return lock;
  }
  RegistryLock(RegistryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RegistryLock(const RegistryLock&) = delete;
  RegistryLock& operator=(const RegistryLock&) = delete;
  RegistryLock& operator=(RegistryLock&&) = delete;
  ~RegistryLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
  }

 private:
  explicit RegistryLock(int fd) : fd_(fd) {}
  int fd_;
};

std::string VersionBaseName(std::string_view algo, UnixSeconds created_at) {
  const auto t = static_cast<std::time_t>(created_at);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("risk-{}-{:04}-{:02}-{:02}-{:02}{:02}", algo, tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Orders names as people read them: digit runs by value, so "x-2" sorts before "x-10".
bool NaturalLess(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      std::size_t ie = i;
      std::size_t je = j;
      while (ie < a.size() && is_digit(a[ie])) ++ie;
      while (je < b.size() && is_digit(b[je])) ++je;
      std::string_view da = a.substr(i, ie - i);
      std::string_view db = b.substr(j, je - j);
      while (da.size() > 1 && da.front() == '0') da.remove_prefix(1);
      while (db.size() > 1 && db.front() == '0') db.remove_prefix(1);
      if (da.size() != db.size()) return da.size() < db.size();
      if (da != db) return da < db;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// Replays the history into the stack of promoted versions (newest last).
std::vector<std::string> PromotionStack(const std::vector<PointerMove>& history) {
  std::vector<std::string> stack;
  for (const PointerMove& move : history) {
    if (move.action == "promote") {
      stack.push_back(move.version);
    } else if (move.action == "rollback") {
      if (!stack.empty()) stack.pop_back();
      if (stack.empty() || stack.back() != move.version) stack.push_back(move.version);
    }
  }
  return stack;
}

constexpr std::array<std::string_view, 6> kHistoryActions = {
    "promote", "rollback", "shadow-set", "shadow-clear", "canary-set", "canary-clear"};

bool IsHistoryAction(std::string_view action) {
  return std::find(kHistoryActions.begin(), kHistoryActions.end(), action) != kHistoryActions.end();
}

// "shadow" for SHADOW, "canary" for CANARY: the history's action prefix.
std::string SideActionPrefix(std::string_view file) {
  return file == kShadowPointerFile ? "shadow" : "canary";
}

// Reads a share written by fmt's "{}" for a double: the whole text must be the number.
std::optional<double> ParseShare(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

Status ValidateSample(double sample) {
  if (!(sample > 0 && sample <= 1)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("shadow sample: expected a share in (0, 1], got {}", sample));
  }
  return {};
}

Status ValidatePercent(double percent) {
  if (!(percent > 0 && percent < 100)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("canary percent: expected a number in (0, 100), got {}", percent));
  }
  return {};
}

}  // namespace

Status ValidateTenantId(std::string_view tenant) {
  if (tenant.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "tenant id: expected 1 to 64 characters, got ''");
  }
  if (tenant.size() > kMaxTenantIdLength) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("tenant id: expected at most {} characters, got {} ('{}...')",
                                 kMaxTenantIdLength, tenant.size(), tenant.substr(0, 20)));
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(tenant.front())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("tenant id: expected a letter or a digit first, got '{}'",
                                 tenant.substr(0, kMaxTenantIdLength)));
  }
  for (char c : tenant) {
    if (!alnum(c) && c != '-' && c != '_') {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("tenant id: expected only letters, digits, '-' and '_', got "
                                   "'{}'",
                                   tenant));
    }
  }
  return {};
}

std::string QualifiedVersion(std::string_view tenant, std::string_view version) {
  if (tenant.empty()) return std::string(version);
  return fmt::format("{}/{}", tenant, version);
}

Result<QualifiedVersionName> ParseQualifiedVersion(std::string_view text) {
  QualifiedVersionName out;
  std::string_view version = text;
  if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    const std::string_view tenant = text.substr(0, slash);
    CSML_TRY(ValidateTenantId(tenant));
    out.tenant = std::string(tenant);
    version = text.substr(slash + 1);
  }
  if (!IsValidVersionName(version)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("version: expected a name of 1 to 100 characters from "
                                 "[a-z0-9-] (or TENANT/NAME), got '{}'",
                                 text.substr(0, 200)));
  }
  out.version = std::string(version);
  return out;
}

Result<Registry> Registry::Open(std::filesystem::path dir, RegistryOpenMode mode) {
  if (dir.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "model registry: expected a directory, got ''");
  }
  std::error_code ec;
  if (mode == RegistryOpenMode::kCreateIfMissing) {
    fs::create_directories(dir, ec);
    if (ec) {
      return MakeError(ErrorCode::kIo, fmt::format("model registry {}: cannot create: {}",
                                                   dir.string(), ec.message()));
    }
  }
  const fs::file_status st = fs::status(dir, ec);
  if (ec || !fs::exists(st)) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("model registry {}: no such directory", dir.string()));
  }
  if (!fs::is_directory(st)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("model registry {}: expected a directory, got a file", dir.string()));
  }
  fs::path root = dir;
  return Registry(std::move(dir), std::move(root), std::string());
}

Result<Registry> Registry::OpenTenant(std::filesystem::path root, std::string_view tenant,
                                      RegistryOpenMode mode) {
  CSML_TRY(ValidateTenantId(tenant));
  if (mode == RegistryOpenMode::kReadOnly) {
    CSML_TRY(Open(root, RegistryOpenMode::kReadOnly));
  }
  fs::path dir = root / kTenantsDir / std::string(tenant);
  auto opened = Open(dir, mode);
  if (!opened) {
    if (opened.error().code == ErrorCode::kNotFound) {
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("tenant {} has no namespace in model registry {} (no {})",
                                   tenant, root.string(), dir.string()));
    }
    return tl::unexpected(opened.error());
  }
  return Registry(std::move(dir), std::move(root), std::string(tenant));
}

Result<TenantListing> Registry::ListTenants() const {
  TenantListing listing;
  const fs::path tenants = root_ / kTenantsDir;
  std::error_code ec;
  if (!fs::exists(tenants, ec)) return listing;
  if (!fs::is_directory(tenants, ec)) {
    listing.problems.push_back({std::string(kTenantsDir),
                                "expected a directory of tenant "
                                "namespaces, got a file"});
    return listing;
  }
  fs::directory_iterator it(tenants, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, fmt::format("model registry {}: cannot list: {}",
                                                 tenants.string(), ec.message()));
  }
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    const std::string file = fmt::format("{}/{}", kTenantsDir, name);
    if (Status valid = ValidateTenantId(name); !valid) {
      listing.problems.push_back({file, valid.error().message});
      continue;
    }
    if (!entry.is_directory(ec)) {
      listing.problems.push_back({file, "expected a tenant namespace directory, got a file"});
      continue;
    }
    listing.tenants.push_back(name);
  }
  std::sort(listing.tenants.begin(), listing.tenants.end());
  std::sort(listing.problems.begin(), listing.problems.end(),
            [](const RegistryProblem& a, const RegistryProblem& b) { return a.file < b.file; });
  return listing;
}

std::filesystem::path Registry::MetaPath(std::string_view version) const {
  return dir_ / (std::string(version) + std::string(kMetaSuffix));
}

Result<ModelMeta> Registry::ReadMeta(std::string_view version) const {
  if (!IsValidVersionName(version)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("version: expected a name of 1 to 100 characters from "
                                 "[a-z0-9-], got '{}'",
                                 version));
  }
  const fs::path meta_path = MetaPath(version);
  auto text = ReadWholeFile(meta_path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) {
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("version {} not found in {}", version, dir_.string()));
    }
    return tl::unexpected(text.error());
  }
  auto meta = ModelMeta::FromJson(*text);
  if (!meta) return tl::unexpected(meta.error().WithContext(meta_path.string()));
  if (meta->version != version) {
    return MakeError(ErrorCode::kParse, fmt::format("{}: version: expected '{}' (the file name), "
                                                    "got '{}'",
                                                    meta_path.string(), version, meta->version));
  }
  const std::string expected_file = meta->version + std::string(ModelFileSuffix(meta->algo));
  if (meta->model_file != expected_file) {
    return MakeError(ErrorCode::kParse,
                     fmt::format("{}: model_file: expected '{}', got '{}'", meta_path.string(),
                                 expected_file, meta->model_file));
  }
  std::error_code ec;
  const fs::path model_path = ModelPath(*meta);
  const auto size = fs::file_size(model_path, ec);
  if (ec) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("version {}: model file {} is missing ({})", version,
                                 model_path.string(), ec.message()));
  }
  if (static_cast<std::int64_t>(size) != meta->model_size_bytes) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("version {}: model file {}: expected {} bytes, got {}", version,
                                 model_path.string(), meta->model_size_bytes, size));
  }
  return meta;
}

Result<RegistryListing> Registry::Scan() const {
  RegistryListing listing;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, fmt::format("model registry {}: cannot list: {}",
                                                 dir_.string(), ec.message()));
  }
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : it) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());

  for (const std::string& name : names) {
    // The root holds the tenant namespaces; they are listed by ListTenants, not here.
    if (tenant_.empty() && name == kTenantsDir) continue;
    if (name.starts_with(kTempPrefix)) {
      listing.problems.push_back({name, "leftover temporary file of an interrupted write"});
      continue;
    }
    if (EndsWith(name, kMetaSuffix)) {
      const std::string version = name.substr(0, name.size() - kMetaSuffix.size());
      auto meta = ReadMeta(version);
      if (meta) {
        listing.versions.push_back(std::move(*meta));
      } else {
        listing.problems.push_back({name, meta.error().message});
      }
      continue;
    }
    for (std::string_view suffix : {ModelFileSuffix("xgb"), ModelFileSuffix("lgbm")}) {
      if (!EndsWith(name, suffix)) continue;
      const std::string version = name.substr(0, name.size() - suffix.size());
      if (!fs::exists(MetaPath(version), ec)) {
        listing.problems.push_back(
            {name, "model file without a meta.json (an interrupted or running publish)"});
      }
    }
  }
  std::sort(listing.versions.begin(), listing.versions.end(),
            [](const ModelMeta& a, const ModelMeta& b) {
              if (a.created_at != b.created_at) return a.created_at < b.created_at;
              return NaturalLess(a.version, b.version);
            });
  return listing;
}

Result<std::vector<ModelMeta>> Registry::List() const {
  CSML_ASSIGN_OR_RETURN(auto listing, Scan());
  return std::move(listing.versions);
}

Result<std::string> Registry::ReadModelBytes(const ModelMeta& meta) const {
  const std::string expected_file = meta.version + std::string(ModelFileSuffix(meta.algo));
  if (!IsValidVersionName(meta.version) || meta.model_file != expected_file) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("model_file: expected '<version>.model.json' or "
                                 "'<version>.model.txt' inside the registry, got '{}'",
                                 meta.model_file));
  }
  const fs::path path = ModelPath(meta);
  auto bytes = ReadWholeFile(path);
  if (!bytes) return tl::unexpected(bytes.error());
  if (static_cast<std::int64_t>(bytes->size()) != meta.model_size_bytes) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: expected {} bytes (meta.json), got {}", path.string(),
                                 meta.model_size_bytes, bytes->size()));
  }
  CSML_ASSIGN_OR_RETURN(auto sha, Sha256Hex(*bytes));
  if (sha != meta.model_sha256) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{}: expected sha256 {} (meta.json), got {}", path.string(),
                                 meta.model_sha256, sha));
  }
  return bytes;
}

Result<ModelMeta> Registry::Publish(std::string_view model_bytes, ModelMeta draft) const {
  CSML_TRY(draft.ValidateDraft());
  if (model_bytes.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "publish: expected model bytes, got none");
  }
  const std::string suffix(ModelFileSuffix(draft.algo));
  CSML_ASSIGN_OR_RETURN(auto sha, Sha256Hex(model_bytes));
  draft.model_sha256 = sha;
  draft.model_size_bytes = static_cast<std::int64_t>(model_bytes.size());

  CSML_ASSIGN_OR_RETURN(auto model_temp, WriteTempFile(dir_, suffix, model_bytes));

  // Claim a name by moving the model there without replacing anything: whoever moves a
  // model to a name first owns it, across threads and processes.
  const std::string base = VersionBaseName(draft.algo, draft.created_at);
  std::error_code ec;
  bool claimed = false;
  for (int n = 1; n <= kMaxNameSuffix && !claimed; ++n) {
    std::string name = n == 1 ? base : fmt::format("{}-{}", base, n);
    if (fs::exists(MetaPath(name), ec)) continue;
    auto moved = RenameNoReplace(model_temp.path(), dir_ / (name + suffix));
    if (!moved) {
      if (moved.error().code == ErrorCode::kAlreadyExists) continue;
      return tl::unexpected(moved.error());
    }
    model_temp.Release();
    draft.version = std::move(name);
    claimed = true;
  }
  if (!claimed) {
    return MakeError(
        ErrorCode::kAlreadyExists,
        fmt::format("publish: {} and its {} suffixes are all taken", base, kMaxNameSuffix));
  }
  draft.model_file = draft.version + suffix;
  // From here on the model file is ours; remove it if the meta cannot follow.
  TempFile claimed_model(dir_ / draft.model_file);

  CSML_ASSIGN_OR_RETURN(auto meta_temp, WriteTempFile(dir_, kMetaSuffix, draft.ToJson()));
  if (auto s = RenameNoReplace(meta_temp.path(), MetaPath(draft.version)); !s) {
    return tl::unexpected(s.error().WithContext("publish"));
  }
  meta_temp.Release();
  claimed_model.Release();
  CSML_TRY(FsyncDir(dir_));
  return draft;
}

Result<std::optional<std::string>> Registry::PromotedVersion() const {
  const fs::path path = dir_ / kServingPointerFile;
  auto text = ReadWholeFile(path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::optional<std::string>();
    return tl::unexpected(text.error());
  }
  std::string_view v = *text;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) {
    v.remove_suffix(1);
  }
  if (v.empty()) return std::optional<std::string>();
  if (!IsValidVersionName(v)) {
    return MakeError(ErrorCode::kParse, fmt::format("{}: expected one version name, got '{}'",
                                                    path.string(), v.substr(0, 60)));
  }
  return std::optional<std::string>(std::string(v));
}

std::string_view ServedByName(ServedBy by) {
  switch (by) {
    case ServedBy::kPointer:
      return "pointer";
    case ServedBy::kFallback:
      return "fallback";
    case ServedBy::kNewest:
      return "newest";
  }
  return "unknown";
}

Result<ServedChoice> Registry::ChooseServed(const VersionCheck& check) const {
  Result<std::optional<std::string>> promoted = PromotedVersion();
  if (!promoted && promoted.error().code != ErrorCode::kParse) {
    return tl::unexpected(promoted.error());
  }
  ServedChoice choice;
  if (!promoted || promoted->has_value()) {
    // Rules 1 and 2: the pointer, then the versions promoted before it, newest first.
    std::string pointer_problem;
    std::vector<std::string> stack;
    if (promoted) {
      Status usable = check(**promoted);
      if (usable) {
        choice.version = **promoted;
        choice.by = ServedBy::kPointer;
        choice.reason = fmt::format("SERVING names {}", **promoted);
        return choice;
      }
      pointer_problem =
          fmt::format("SERVING names {}, which fails: {}", **promoted, usable.error().message);
    } else {
      pointer_problem = fmt::format("SERVING cannot be read: {}", promoted.error().message);
    }
    Result<std::vector<PointerMove>> history = History();
    if (history) stack = PromotionStack(*history);
    if (promoted) {
      // SERVING is the present; whatever the history says after it is not.
      while (!stack.empty() && stack.back() == **promoted) stack.pop_back();
    }
    std::size_t skipped = 0;
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      if (promoted && *it == **promoted) continue;
      if (Status usable = check(*it); !usable) {
        ++skipped;
        continue;
      }
      choice.version = *it;
      choice.by = ServedBy::kFallback;
      choice.reason = fmt::format("{}; fell back to {}, the latest version promoted before it{}",
                                  pointer_problem, *it,
                                  skipped == 0 ? std::string()
                                               : fmt::format(" that passes ({} in between fail{})",
                                                             skipped, skipped == 1 ? "s" : ""));
      return choice;
    }
    return MakeError(
        ErrorCode::kNotFound,
        fmt::format("{}{}; no version promoted before it passes{}", pointer_problem,
                    history ? "" : fmt::format(" ({})", history.error().message),
                    skipped == 0 ? std::string() : fmt::format(" ({} tried)", skipped)));
  }
  // Rule 3: nothing promoted.
  CSML_ASSIGN_OR_RETURN(auto versions, List());
  if (versions.empty()) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("model registry {} holds no model version", dir_.string()));
  }
  std::string first_problem;
  std::size_t skipped = 0;
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (Status usable = check(it->version); !usable) {
      if (first_problem.empty()) first_problem = usable.error().message;
      ++skipped;
      continue;
    }
    choice.version = it->version;
    choice.by = ServedBy::kNewest;
    choice.reason =
        skipped == 0
            ? std::string("nothing promoted (no SERVING); the newest version")
            : fmt::format(
                  "nothing promoted (no SERVING); the newest version that passes ({} newer "
                  "fail{}, the newest: {})",
                  skipped, skipped == 1 ? "s" : "", first_problem);
    return choice;
  }
  return MakeError(ErrorCode::kNotFound,
                   fmt::format("nothing promoted (no SERVING) and none of the {} versions in {} "
                               "passes (the newest: {})",
                               versions.size(), dir_.string(), first_problem));
}

Result<std::string> Registry::ResolveServed() const {
  CSML_ASSIGN_OR_RETURN(ServedChoice choice, ChooseServed([this](const std::string& version) {
                          return Status(ReadMeta(version).map([](const ModelMeta&) {}));
                        }));
  return std::move(choice.version);
}

Status Registry::WritePointer(std::string_view version, std::string_view action) const {
  CSML_ASSIGN_OR_RETURN(auto temp, WriteTempFile(dir_, "", std::string(version) + "\n"));
  const fs::path pointer = dir_ / kServingPointerFile;
  if (::rename(temp.path().c_str(), pointer.c_str()) != 0) {
    return IoError("cannot replace", pointer, errno);
  }
  temp.Release();
  return AppendHistory(version, action, "");
}

Status Registry::AppendHistory(std::string_view version, std::string_view action,
                               std::string_view detail) const {
  const fs::path history = dir_ / kServingHistoryFile;
  Fd fd(::open(history.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) return IoError("cannot open", history, errno);
  const std::string line =
      detail.empty()
          ? fmt::format("{} {} {}\n", FormatRfc3339(NowUtc()), version, action)
          : fmt::format("{} {} {} {}\n", FormatRfc3339(NowUtc()), version, action, detail);
  if (auto s = WriteAll(fd.get(), line, history); !s) return s;
  if (::fsync(fd.get()) != 0) return IoError("cannot fsync", history, errno);
  if (auto s = fd.Close(history); !s) return s;
  return FsyncDir(dir_);
}

Status Registry::Promote(std::string_view version) const {
  CSML_ASSIGN_OR_RETURN(auto meta, ReadMeta(version));
  CSML_TRY(ReadModelBytes(meta));
  CSML_ASSIGN_OR_RETURN(auto lock, RegistryLock::Acquire(dir_));
  auto current = PromotedVersion();
  if (current && current->has_value() && **current == version) return {};
  CSML_TRY(WritePointer(version, "promote"));
  // A promoted version is no longer a shadow or a canary: that trial has ended.
  for (std::string_view file : {kShadowPointerFile, kCanaryPointerFile}) {
    auto side = ReadSidePointer(file);
    if (side && side->has_value() && (*side)->first == version) {
      CSML_TRY(ClearSidePointer(file, "reason=promote"));
    }
  }
  return {};
}

Result<std::string> Registry::Rollback() const {
  CSML_ASSIGN_OR_RETURN(auto lock, RegistryLock::Acquire(dir_));
  CSML_ASSIGN_OR_RETURN(auto current, PromotedVersion());
  if (!current.has_value()) {
    return MakeError(ErrorCode::kNotFound,
                     "rollback: nothing was promoted, so there is nothing "
                     "to roll back");
  }
  auto history = History();
  if (!history) return tl::unexpected(history.error());
  std::vector<std::string> stack = PromotionStack(*history);
  // SERVING is the truth about the present; the history supplies the past.
  if (stack.empty() || stack.back() != *current) stack.push_back(*current);
  if (stack.size() < 2) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("rollback: no version was promoted before {}", *current));
  }
  const std::string target = stack[stack.size() - 2];
  auto meta = ReadMeta(target);
  if (!meta) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("rollback to {}: {}", target, meta.error().message));
  }
  if (auto bytes = ReadModelBytes(*meta); !bytes) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("rollback to {}: {}", target, bytes.error().message));
  }
  CSML_TRY(WritePointer(target, "rollback"));
  return target;
}

Result<std::vector<PointerMove>> Registry::History() const {
  const fs::path path = dir_ / kServingHistoryFile;
  auto text = ReadWholeFile(path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::vector<PointerMove>();
    return tl::unexpected(text.error());
  }
  std::vector<PointerMove> moves;
  std::string_view rest = *text;
  std::size_t line_number = 0;
  while (!rest.empty()) {
    ++line_number;
    const std::size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.empty()) continue;
    auto bad = [&](std::string_view what) {
      return MakeError(ErrorCode::kParse,
                       fmt::format("{} line {}: expected '<rfc3339> <version> <action>', "
                                   "{}",
                                   path.string(), line_number, what));
    };
    const std::size_t s1 = line.find(' ');
    const std::size_t s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    if (s2 == std::string_view::npos) return bad(fmt::format("got '{}'", line.substr(0, 80)));
    PointerMove move;
    auto at = ParseRfc3339(line.substr(0, s1));
    if (!at) return bad(at.error().message);
    move.at = *at;
    move.version = std::string(line.substr(s1 + 1, s2 - s1 - 1));
    const std::string_view tail = line.substr(s2 + 1);
    const std::size_t s3 = tail.find(' ');
    move.action = std::string(tail.substr(0, s3));
    if (s3 != std::string_view::npos) move.detail = std::string(tail.substr(s3 + 1));
    if (!IsValidVersionName(move.version)) {
      return bad(fmt::format("got version '{}'", move.version));
    }
    if (!IsHistoryAction(move.action)) {
      return bad(fmt::format("got action '{}'", move.action));
    }
    moves.push_back(std::move(move));
  }
  return moves;
}

Status GarbageOptions::Validate() const {
  if (older_than.count() < 0) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("older than: expected a duration >= 0, got {} s", older_than.count()));
  }
  return {};
}

Result<GarbageReport> Registry::CollectGarbage(const GarbageOptions& options) const {
  CSML_TRY(options.Validate());
  const UnixSeconds now = options.now != 0 ? options.now : NowUtc();
  const UnixSeconds bound = now - static_cast<UnixSeconds>(options.older_than.count());
  // The pointers' versions keep their model files even without a meta: SERVING, SHADOW and
  // CANARY reference them.
  std::vector<std::pair<std::string, std::string_view>> pointers;  // version, pointer file
  if (auto promoted = PromotedVersion(); promoted && promoted->has_value()) {
    pointers.emplace_back(**promoted, kServingPointerFile);
  }
  for (std::string_view pointer_file : {kShadowPointerFile, kCanaryPointerFile}) {
    if (auto side = ReadSidePointer(pointer_file); side && side->has_value()) {
      pointers.emplace_back((*side)->first, pointer_file);
    }
  }

  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, fmt::format("model registry {}: cannot list: {}",
                                                 dir_.string(), ec.message()));
  }
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : it) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());

  GarbageReport report;
  for (const std::string& name : names) {
    GarbageFile file;
    file.file = name;
    std::string version;
    if (name.starts_with(kTempPrefix)) {
      file.kind = "temporary";
    } else {
      for (std::string_view suffix : {ModelFileSuffix("xgb"), ModelFileSuffix("lgbm")}) {
        if (EndsWith(name, suffix)) version = name.substr(0, name.size() - suffix.size());
      }
      if (version.empty() || !IsValidVersionName(version)) continue;
      if (fs::exists(MetaPath(version), ec) || ec) continue;  // a version's (or unknown): keep
      file.kind = "orphan model";
    }
    const fs::path path = dir_ / name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    file.size_bytes = static_cast<std::int64_t>(st.st_size);
    file.modified_at = static_cast<UnixSeconds>(st.st_mtim.tv_sec);
    const auto named = std::find_if(pointers.begin(), pointers.end(),
                                    [&](const auto& p) { return p.first == version; });
    if (!version.empty() && named != pointers.end()) {
      file.kept_by = std::string(named->second);
      report.kept.push_back(std::move(file));
      continue;
    }
    if (file.modified_at > bound) {
      report.young.push_back(std::move(file));
      continue;
    }
    if (options.apply) {
      // A publish may have completed since the listing: look for the meta once more.
      if (!version.empty() && (fs::exists(MetaPath(version), ec) || ec)) continue;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return IoError("cannot remove", path, errno);
      }
    }
    report.garbage_bytes += file.size_bytes;
    report.garbage.push_back(std::move(file));
  }
  if (options.apply && !report.garbage.empty()) CSML_TRY(FsyncDir(dir_));
  return report;
}

Status Registry::CheckSideVersion(std::string_view file, std::string_view version) const {
  const std::string what = SideActionPrefix(file);
  auto meta = ReadMeta(version);
  if (!meta) return tl::unexpected(meta.error().WithContext(what));
  if (auto bytes = ReadModelBytes(*meta); !bytes) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("{} {}: {}", what, version, bytes.error().message));
  }
  auto promoted = PromotedVersion();
  if (promoted && promoted->has_value() && **promoted == version) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{} {}: expected a version other than the one SERVING names", what,
                                 Qualified(version)));
  }
  return {};
}

Status Registry::SetSidePointer(std::string_view file, std::string_view version,
                                std::string_view share, std::string_view detail) const {
  CSML_ASSIGN_OR_RETURN(auto lock, RegistryLock::Acquire(dir_));
  CSML_TRY(CheckSideVersion(file, version));
  CSML_ASSIGN_OR_RETURN(auto temp, WriteTempFile(dir_, "", fmt::format("{} {}\n", version, share)));
  const fs::path pointer = dir_ / file;
  if (::rename(temp.path().c_str(), pointer.c_str()) != 0) {
    return IoError("cannot replace", pointer, errno);
  }
  temp.Release();
  CSML_TRY(AppendHistory(version, SideActionPrefix(file) + "-set", detail));
  return FsyncDir(dir_);
}

Result<std::optional<std::string>> Registry::ClearSidePointer(std::string_view file,
                                                              std::string_view detail) const {
  // A pointer that cannot be read is removed all the same; its version is then unknown.
  auto side = ReadSidePointer(file);
  if (side && !side->has_value()) return std::optional<std::string>();
  const fs::path pointer = dir_ / file;
  if (::unlink(pointer.c_str()) != 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return IoError("cannot remove", pointer, errno);
  }
  std::optional<std::string> version;
  if (side) version = (*side)->first;
  if (version) {
    CSML_TRY(AppendHistory(*version, SideActionPrefix(file) + "-clear", detail));
  }
  CSML_TRY(FsyncDir(dir_));
  return version;
}

Result<std::optional<std::pair<std::string, double>>> Registry::ReadSidePointer(
    std::string_view file) const {
  using Side = std::optional<std::pair<std::string, double>>;
  const fs::path path = dir_ / file;
  auto text = ReadWholeFile(path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return Side();
    return tl::unexpected(text.error());
  }
  std::string_view v = *text;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) {
    v.remove_suffix(1);
  }
  const bool shadow = file == kShadowPointerFile;
  auto bad = [&] {
    return MakeError(ErrorCode::kParse,
                     fmt::format("{}: expected '<version> <{}>', got '{}'", path.string(),
                                 shadow ? "sample" : "percent", v.substr(0, 80)));
  };
  const std::size_t space = v.find(' ');
  if (space == std::string_view::npos) return bad();
  const std::string_view version = v.substr(0, space);
  const std::optional<double> share = ParseShare(v.substr(space + 1));
  if (!IsValidVersionName(version) || !share) return bad();
  if (!(shadow ? ValidateSample(*share) : ValidatePercent(*share))) return bad();
  return Side(std::make_pair(std::string(version), *share));
}

Status Registry::SetShadow(std::string_view version, double sample) const {
  CSML_TRY(ValidateSample(sample));
  const std::string share = fmt::format("{}", sample);
  return SetSidePointer(kShadowPointerFile, version, share, "sample=" + share);
}

Result<std::optional<std::string>> Registry::ClearShadow() const {
  CSML_ASSIGN_OR_RETURN(auto lock, RegistryLock::Acquire(dir_));
  return ClearSidePointer(kShadowPointerFile, "");
}

Result<std::optional<ShadowPointer>> Registry::ReadShadow() const {
  CSML_ASSIGN_OR_RETURN(auto side, ReadSidePointer(kShadowPointerFile));
  if (!side) return std::optional<ShadowPointer>();
  return std::optional<ShadowPointer>(ShadowPointer{std::move(side->first), side->second});
}

Status Registry::SetCanary(std::string_view version, double percent) const {
  CSML_TRY(ValidatePercent(percent));
  const std::string share = fmt::format("{}", percent);
  return SetSidePointer(kCanaryPointerFile, version, share, "percent=" + share);
}

Result<std::optional<std::string>> Registry::ClearCanary() const {
  CSML_ASSIGN_OR_RETURN(auto lock, RegistryLock::Acquire(dir_));
  return ClearSidePointer(kCanaryPointerFile, "");
}

Result<std::optional<CanaryPointer>> Registry::ReadCanary() const {
  CSML_ASSIGN_OR_RETURN(auto side, ReadSidePointer(kCanaryPointerFile));
  if (!side) return std::optional<CanaryPointer>();
  return std::optional<CanaryPointer>(CanaryPointer{std::move(side->first), side->second});
}

}  // namespace csml
