#include "csml/serving/served_version.h"

#include <map>
#include <utility>

#include <fmt/format.h>

namespace csml {

Result<ServedVersion> ResolveServedVersion(const Registry& registry, const LoadOptions& options) {
  std::optional<LoadedVersion> chosen;
  std::map<std::string, Error> refused;  // candidates are tried once each
  Result<ServedChoice> choice = registry.ChooseServed([&](const std::string& version) -> Status {
    if (auto it = refused.find(version); it != refused.end()) return tl::unexpected(it->second);
    Result<LoadedVersion> loaded = LoadVersion(registry, version, options);
    if (!loaded) {
      refused.emplace(version, loaded.error());
      return tl::unexpected(loaded.error());
    }
    chosen = std::move(*loaded);
    return {};
  });
  if (!choice) return tl::unexpected(choice.error());
  if (!chosen || chosen->meta.version != choice->version) {
    return MakeError(ErrorCode::kInternal,
                     fmt::format("served version {}: chosen but not loaded", choice->version));
  }
  ServedVersion out;
  out.choice = std::move(*choice);
  out.loaded = std::move(*chosen);
  return out;
}

Result<PromoteOutcome> PromoteChecked(const Registry& registry, std::string_view version,
                                      const PromoteOptions& options) {
  PromoteOutcome out;
  out.version = std::string(version);
  // A bad name or an unknown version is an error before anything is loaded.
  CSML_ASSIGN_OR_RETURN(const ModelMeta meta, registry.ReadMeta(version));
  if (auto before = registry.PromotedVersion(); before) out.previous = *before;
  if (Result<LoadedVersion> loaded = LoadVersion(registry, meta.version); !loaded) {
    out.load_error = loaded.error().message;
    if (!options.force) return out;
    out.forced = true;
  }
  CSML_TRY(registry.Promote(meta.version));
  out.promoted = true;
  return out;
}

}  // namespace csml
