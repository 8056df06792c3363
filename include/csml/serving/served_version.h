// The served version, as the server decides it: the registry's served-version rule
// (Registry::ChooseServed) with the server's own load as the check (LoadVersion: meta,
// sha256, forest build, schema, warm-up score). `csml serve` at start-up, `csml models list`,
// `csml predict` and `csml test` without --version all resolve with ResolveServedVersion, so
// they name the same version and say why (docs/REGISTRY.md, "The served version").
//
// And the check `csml models promote` makes before it moves the pointer: the same load, so a
// version that promotes is a version servers load.
// Thread-safety: free functions over an immutable Registry; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/registry/registry.h"
#include "csml/serving/model_loader.h"

namespace csml {

struct ServedVersion {
  ServedChoice choice;   // the version and why
  LoadedVersion loaded;  // loaded and checked as the server loads it
};

// The rule with the server's load as the check; each candidate is loaded at most once and
// the chosen one is returned loaded. kNotFound when no version qualifies (the message says
// what failed).
// `options` are the server's load options (e.g. its reasons setting).
Result<ServedVersion> ResolveServedVersion(const Registry& registry,
                                           const LoadOptions& options = {});

struct PromoteOptions {
  // Move the pointer even when the version fails the server's load (its files must still be
  // whole and match their sha256: the registry never points at bytes it cannot vouch for).
  bool force = false;
};

struct PromoteOutcome {
  std::string version;
  std::optional<std::string> previous;  // what SERVING named before; nullopt: nothing
  bool promoted = false;                // the pointer now names `version`
  bool forced = false;                  // promoted although the load failed (--force)
  std::string load_error;               // why the load failed; empty when it passed
};

// Loads `version` as the server does and moves SERVING to it when that passes (or when forced).
// A refusal is an outcome (promoted = false, load_error set), not an error; errors are a bad
// or unknown name (kInvalidArgument, kNotFound), files that are not whole or do not match
// their sha256 (kValidation, even when forced) and I/O.
Result<PromoteOutcome> PromoteChecked(const Registry& registry, std::string_view version,
                                      const PromoteOptions& options);

}  // namespace csml
