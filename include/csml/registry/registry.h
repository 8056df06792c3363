// Registry: the versioned model store in one directory (MODEL_DIR, docs/REGISTRY.md).
//
// Layout inside the directory:
//   <version>.model.json | <version>.model.txt   the model bytes (XGBoost JSON / LightGBM text)
//   <version>.meta.json                          ModelMeta; its presence makes the version exist
//   SERVING                                      one line: the promoted version
//   SERVING.history                              append-only "<rfc3339> <version> <action>"
//   SHADOW                                       optional: "<version> <sample>" scored beside
//   CANARY                                       optional: "<version> <percent>" serving P %
//   .lock                                        flock(2) target serializing pointer moves
//   .tmp-*                                       files being written (ignored; leftovers of a
//                                                crash are reported by Scan, never listed,
//                                                and removed by CollectGarbage)
//
// A version exists when its meta parses and names a model file that exists with the
// recorded size; ReadModelBytes also checks the recorded sha256. Publish writes both files
// under temporary names, fsyncs them, moves the model to its final name with a no-replace
// rename (which is also how a version name is claimed, so two publishers never share one)
// and then the meta, then fsyncs the directory. A crash leaves either no version or a whole
// one; an orphaned model file only makes the next publisher take the next suffix. A publish
// that fails removes the files it wrote; what a killed one leaves, CollectGarbage removes.
//
// Tenant namespaces: <root>/tenants/<tenant>/ holds exactly the files above for one tenant
// (Registry::OpenTenant); the root is the global namespace and is unchanged by them. A
// tenant's version is named "<tenant>/<version>" where one namespace must be told from
// another (QualifiedVersion); inside its namespace it keeps its plain name.
//
// Thread and process safety: a Registry is an immutable path; its methods may be called from
// many threads and processes at once. Publishers never collide; readers see whole versions
// only; Promote and Rollback hold an exclusive flock on .lock while they read the history
// and move the pointer, and SERVING is replaced by an atomic rename.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/registry/model_meta.h"

namespace csml {

enum class RegistryOpenMode {
  kReadOnly,         // the directory must exist (kNotFound otherwise)
  kCreateIfMissing,  // creates the directory and its parents
};

// A directory entry that is not a whole version, and why.
struct RegistryProblem {
  std::string file;     // file name inside the registry
  std::string message;  // "model file missing", "expected ...", "leftover temporary file"
};

struct RegistryListing {
  std::vector<ModelMeta> versions;  // oldest first: created_at, then version name
  std::vector<RegistryProblem> problems;
};

// One line of SERVING.history.
struct PointerMove {
  UnixSeconds at = 0;
  std::string version;
  // "promote", "rollback", "shadow-set", "shadow-clear", "canary-set" or "canary-clear".
  std::string action;
  // The rest of the line after the action, e.g. "sample=0.25", "percent=10",
  // "reason=promote"; empty for promote and rollback.
  std::string detail;
};

// A tenant id names a namespace directory: 1 to 64 characters from [A-Za-z0-9_-], the first a
// letter or a digit (so never ".", "..", a path separator or a hidden name).
inline constexpr std::size_t kMaxTenantIdLength = 64;
// kInvalidArgument naming the rule that `tenant` breaks.
[[nodiscard]] Status ValidateTenantId(std::string_view tenant);

// "<tenant>/<version>", or just the version when tenant is empty (the global namespace).
std::string QualifiedVersion(std::string_view tenant, std::string_view version);

struct QualifiedVersionName {
  std::string tenant;  // empty: the global namespace
  std::string version;
};
// The inverse of QualifiedVersion: "acme/risk-xgb-..." or "risk-xgb-..."; kInvalidArgument
// when the tenant id or the version name is not valid.
Result<QualifiedVersionName> ParseQualifiedVersion(std::string_view text);

// SHADOW: a version scored beside the served one on a sample of the traffic.
struct ShadowPointer {
  std::string version;
  double sample = 1.0;  // share of requests, 0 < sample <= 1
};

// CANARY: a version served to a share of the customers.
struct CanaryPointer {
  std::string version;
  double percent = 0;  // 0 < percent < 100
};

// The tenants with a namespace under the root, and the directory entries under tenants/
// that are not one (an invalid name, a file).
struct TenantListing {
  std::vector<std::string> tenants;  // sorted
  std::vector<RegistryProblem> problems;
};

// How the served version was chosen (the served-version rule, Registry::ChooseServed).
enum class ServedBy : std::uint8_t {
  kPointer,   // SERVING names it and it passes the check
  kFallback,  // SERVING names a version that fails the check (or is unreadable): the latest
              // version promoted before it that passes
  kNewest,    // nothing promoted: the newest version that passes
};

std::string_view ServedByName(ServedBy by);  // "pointer", "fallback", "newest"

// The served version and why, in one line for people ("the SERVING pointer", "SERVING names
// X, which fails to load: ...; fell back to Y, promoted before it", ...).
struct ServedChoice {
  std::string version;
  ServedBy by = ServedBy::kPointer;
  std::string reason;
};

// Whether a version can be served. The registry's own check is ReadMeta (a whole version);
// the serving module passes the server's load (csml/serving/served_version.h).
using VersionCheck = std::function<Status(const std::string& version)>;

// `csml models gc`: what is garbage and whether to remove it.
struct GarbageOptions {
  // Only files last modified at least this long ago are garbage: a younger temporary or
  // model file without meta may belong to a publish still running.
  std::chrono::seconds older_than{3600};
  bool apply = false;   // false: a dry run that lists and removes nothing
  UnixSeconds now = 0;  // 0 = the current time

  // older_than >= 0.
  [[nodiscard]] Status Validate() const;
};

// One file gc found.
struct GarbageFile {
  std::string file;     // name inside the registry
  std::string kind;     // "temporary" or "orphan model"
  std::string kept_by;  // kept only: the pointer naming its version ("SERVING", "SHADOW", ...)
  std::int64_t size_bytes = 0;
  UnixSeconds modified_at = 0;
};

struct GarbageReport {
  std::vector<GarbageFile> garbage;  // removed (apply) or to be removed (dry run)
  std::vector<GarbageFile> young;    // would be garbage but newer than the bound: left alone
  std::vector<GarbageFile> kept;  // orphan model files SERVING, SHADOW or CANARY name: left alone
  std::int64_t garbage_bytes = 0;
};

class Registry {
 public:
  // The global namespace: the directory itself.
  static Result<Registry> Open(std::filesystem::path dir, RegistryOpenMode mode);

  // Tenant `tenant`'s namespace, <root>/tenants/<tenant>/. kInvalidArgument for a bad tenant
  // id; with kReadOnly, kNotFound when the root or the namespace does not exist; with
  // kCreateIfMissing the namespace (and the root) are created. Every operation below then
  // works on that namespace exactly as on the global one.
  static Result<Registry> OpenTenant(std::filesystem::path root, std::string_view tenant,
                                     RegistryOpenMode mode);

  const std::filesystem::path& dir() const { return dir_; }
  // The registry's root directory (dir() for the global namespace).
  const std::filesystem::path& root() const { return root_; }
  // The tenant of this namespace; empty for the global one.
  const std::string& tenant() const { return tenant_; }
  // The version's name as told apart from other namespaces: "<tenant>/<version>" or, in the
  // global namespace, the version itself.
  std::string Qualified(std::string_view version) const {
    return QualifiedVersion(tenant_, version);
  }

  // The tenants with a namespace under root() (whichever namespace this is). No tenants/
  // directory: none.
  Result<TenantListing> ListTenants() const;

  // Every whole version plus every entry that is not one.
  Result<RegistryListing> Scan() const;
  // The whole versions of Scan(), oldest first.
  Result<std::vector<ModelMeta>> List() const;

  // The meta of one version; kNotFound when it does not exist, kInvalidArgument for a name
  // that could leave the directory, kParse when the meta is broken.
  Result<ModelMeta> ReadMeta(std::string_view version) const;

  // The model bytes, checked against the meta's size and sha256 (kValidation on mismatch).
  Result<std::string> ReadModelBytes(const ModelMeta& meta) const;

  std::filesystem::path ModelPath(const ModelMeta& meta) const { return dir_ / meta.model_file; }
  std::filesystem::path MetaPath(std::string_view version) const;

  // Publishes a new version. The draft's version, model_file, model_sha256 and
  // model_size_bytes are filled here; the name is risk-<algo>-YYYY-MM-DD-HHMM from
  // created_at (UTC), with -2, -3, ... when taken. Returns the meta as written.
  Result<ModelMeta> Publish(std::string_view model_bytes, ModelMeta draft) const;

  // The promoted version named by SERVING, or nullopt when nothing was promoted.
  Result<std::optional<std::string>> PromotedVersion() const;

  // The served-version rule, the one definition every command and the server follow
  // (docs/REGISTRY.md, "The served version"):
  //   1. SERVING names a version that passes `check`: that version ("pointer").
  //   2. SERVING names a version that fails `check`, or cannot be read: the most recently
  //      promoted version before it (SERVING.history replayed, rollbacks undone) that passes
  //      ("fallback"). Never an unpromoted version: that would serve a candidate nobody chose.
  //   3. Nothing promoted (no SERVING): the newest version that passes ("newest").
  // kNotFound when no version qualifies; the message says what was tried. `check` runs on
  // candidates in that order and stops at the first that passes.
  Result<ServedChoice> ChooseServed(const VersionCheck& check) const;

  // ChooseServed's version with the registry's own check (a whole version: meta and model
  // file of the recorded size). The server's rule adds the load (ResolveServedVersion).
  Result<std::string> ResolveServed() const;

  // Lists, and with options.apply removes, what killed publishes leave behind: temporary
  // files (.tmp-*) and model files without a meta.json, last modified at least
  // options.older_than ago. Never touches a meta.json, a model file a meta.json names, the
  // model file of the version SERVING names, SERVING, its history or the lock file. The
  // server never calls it; `csml models gc` does.
  Result<GarbageReport> CollectGarbage(const GarbageOptions& options) const;

  // Points SERVING at an existing version whose model passes the sha256 check, and records
  // the move in the history. Promoting the version already promoted changes nothing.
  Status Promote(std::string_view version) const;

  // Points SERVING back at the version promoted before the current one and returns it;
  // kNotFound when there is no earlier promotion, kValidation when that version is gone.
  Result<std::string> Rollback() const;

  // The pointer moves, oldest first; an unreadable line is kParse naming the line.
  Result<std::vector<PointerMove>> History() const;

  // SHADOW and CANARY (docs/REGISTRY.md): written like SERVING (a temporary file renamed over
  // the old one, under the lock) and recorded in SERVING.history. Set checks that the version
  // exists, is whole (its sha256 matches) and is not the version SERVING names, and the
  // share (kInvalidArgument: 0 < sample <= 1, 0 < percent < 100). Clear returns the version
  // that was named, or nullopt when there was none (nothing is written then). Read returns
  // nullopt when the file does not exist; kParse when it cannot be read as written. Promote
  // of the version SHADOW or CANARY names removes that pointer ("<x>-clear reason=promote").
  Status SetShadow(std::string_view version, double sample) const;
  Result<std::optional<std::string>> ClearShadow() const;
  Result<std::optional<ShadowPointer>> ReadShadow() const;
  Status SetCanary(std::string_view version, double percent) const;
  Result<std::optional<std::string>> ClearCanary() const;
  Result<std::optional<CanaryPointer>> ReadCanary() const;

 private:
  Registry(std::filesystem::path dir, std::filesystem::path root, std::string tenant)
      : dir_(std::move(dir)), root_(std::move(root)), tenant_(std::move(tenant)) {}

  Status WritePointer(std::string_view version, std::string_view action) const;
  Status AppendHistory(std::string_view version, std::string_view action,
                       std::string_view detail) const;
  Status SetSidePointer(std::string_view file, std::string_view version, std::string_view share,
                        std::string_view detail) const;
  // Without taking the lock: the caller holds it.
  Result<std::optional<std::string>> ClearSidePointer(std::string_view file,
                                                      std::string_view detail) const;
  Result<std::optional<std::pair<std::string, double>>> ReadSidePointer(
      std::string_view file) const;
  Status CheckSideVersion(std::string_view file, std::string_view version) const;

  std::filesystem::path dir_;
  std::filesystem::path root_;
  std::string tenant_;
};

// The pointer file's name, "SERVING".
inline constexpr std::string_view kServingPointerFile = "SERVING";
inline constexpr std::string_view kServingHistoryFile = "SERVING.history";
inline constexpr std::string_view kShadowPointerFile = "SHADOW";
inline constexpr std::string_view kCanaryPointerFile = "CANARY";
// The directory under the root that holds the tenant namespaces.
inline constexpr std::string_view kTenantsDir = "tenants";

}  // namespace csml
