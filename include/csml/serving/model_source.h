// The source half of hot reload (TF Serving's "source", made small): it tells which registry
// version a server should be serving right now, cheaply enough to be asked every second.
//
// The answer is a ServableId: the version name plus the modification time of its meta.json,
// so a version rewritten in place (same name, new meta) counts as new. The answer is the
// first candidate of the served-version rule (Registry::ChooseServed) without its check:
// when SERVING names a version, that version is the answer even if it is broken or missing.
// The loader then refuses it and the server keeps its current model, which is the rule's
// fallback (a server with no model yet loads that fallback: ModelReloader's Fallback). A
// registry where nothing was promoted answers its newest version.
//
// Cost of one Poll(): reading SERVING and one stat(); without a pointer, one stat() of the
// directory, and a full scan only when the directory changed since the last scan.
// Thread-safety: not thread-safe (it caches the last scan); one reload thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "csml/core/error.h"
#include "csml/registry/registry.h"

namespace csml {

struct ServableId {
  std::string version;
  std::int64_t meta_mtime_ns = 0;  // 0 when the meta file does not exist
  bool promoted = false;           // named by SERVING; false: the newest, nothing promoted

  friend bool operator==(const ServableId&, const ServableId&) = default;
};

class ModelSource {
 public:
  explicit ModelSource(Registry registry) : registry_(std::move(registry)) {}

  // The version to serve now. kNotFound when nothing is promoted and the registry holds no
  // version; kParse when SERVING holds something that is not a version name; kIo when the
  // directory cannot be read.
  Result<ServableId> Poll();

  const Registry& registry() const { return registry_; }

 private:
  Registry registry_;
  // The newest version from the last scan, valid while the directory's mtime is unchanged.
  std::optional<std::int64_t> scanned_dir_mtime_ns_;
  std::string newest_version_;
};

}  // namespace csml
