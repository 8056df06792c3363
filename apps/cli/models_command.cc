// csml models: look into and steer the model registry (docs/REGISTRY.md).
//   list         every version, oldest first, '*' marking the one served
//   show V       the version's meta.json
//   promote V    serve V (moves the SERVING pointer) once it loads as the server loads it
//   rollback     serve the version promoted before the current one
//   gc           list (and with --apply remove) what killed publishes left behind
//   tenants      the tenant namespaces and the version each serves
//   shadow V     name the version scored beside the served one (SHADOW); --clear ends it
//   canary V     name the version served to P % of customers (CANARY); --clear ends it
// Every action but tenants takes --tenant T: tenant T's namespace instead of the global one.
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/core/time.h"
#include "csml/registry/registry.h"
#include "csml/serving/served_version.h"
#include "environment.h"

namespace csml::cli {
namespace {

struct ModelsFlags {
  std::string model_dir;
  std::optional<std::string> tenant;  // --tenant: that tenant's namespace; absent: the global one
  std::string version;
  bool force = false;             // promote: even when the server's load fails
  std::string older_than = "1h";  // gc: the age bound
  bool apply = false;             // gc: remove (default: list only)
  bool clear = false;             // shadow, canary: remove the pointer
  double sample = 1.0;            // shadow: share of requests scored
  std::optional<double> percent;  // canary: share of customers served
};

// "90s", "30m", "1h", "7d": a whole number and a unit.
Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--older-than: expected a whole number and a unit (s, m, h, d), "
                                 "such as 30m or 1h, got '{}'",
                                 text.substr(0, 40)));
  };
  if (text.size() < 2) return bad();
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return bad();
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < 0 ||
      n > std::int64_t{100} * 365 * 86400 / unit) {
    return bad();
  }
  return std::chrono::seconds(n * unit);
}

// The registry directory comes from --model-dir or MODEL_DIR; an error opening it says so.
Result<Registry> OpenRegistry(const std::string& model_dir) {
  auto registry = Registry::Open(model_dir, RegistryOpenMode::kReadOnly);
  if (!registry) {
    Error error = registry.error();
    error.message += " (--model-dir or MODEL_DIR)";
    return tl::unexpected(std::move(error));
  }
  return registry;
}

// The namespace the action works on: --tenant's, else the global one.
Result<Registry> OpenNamespace(const ModelsFlags& flags) {
  if (!flags.tenant) return OpenRegistry(flags.model_dir);
  auto registry = Registry::OpenTenant(flags.model_dir, *flags.tenant, RegistryOpenMode::kReadOnly);
  if (!registry) {
    Error error = registry.error();
    error.message = fmt::format("--tenant: {} (--model-dir or MODEL_DIR)", error.message);
    return tl::unexpected(std::move(error));
  }
  return registry;
}

// A version argument may name its namespace, "T/V" (docs/REGISTRY.md): it then selects
// tenant T, which --tenant, when given, must agree with. Returns the flags with the tenant
// and the plain version.
Result<ModelsFlags> WithQualifiedVersion(ModelsFlags flags) {
  if (flags.version.find('/') == std::string::npos) return flags;
  CSML_ASSIGN_OR_RETURN(auto name, ParseQualifiedVersion(flags.version));
  if (flags.tenant && *flags.tenant != name.tenant) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("version {} belongs to tenant {}, but --tenant is {}",
                                 flags.version, name.tenant, *flags.tenant));
  }
  flags.tenant = std::move(name.tenant);
  flags.version = std::move(name.version);
  return flags;
}

std::string MetricCell(const std::map<std::string, double>& metrics, const std::string& name) {
  const auto it = metrics.find(name);
  if (it == metrics.end() || std::isnan(it->second)) return "-";
  return fmt::format("{:.4f}", it->second);
}

// "shadow: V (sample 0.25)" and "canary: V (10 % of customers)" lines of `models list`, only
// when set (a registry without them lists as before).
Status PrintSidePointers(const Registry& registry) {
  CSML_ASSIGN_OR_RETURN(auto shadow, registry.ReadShadow());
  CSML_ASSIGN_OR_RETURN(auto canary, registry.ReadCanary());
  if (shadow) {
    fmt::print("  shadow: {} (sample {}: scored beside the served version)\n",
               registry.Qualified(shadow->version), shadow->sample);
  }
  if (canary) {
    fmt::print("  canary: {} ({} % of customers)\n", registry.Qualified(canary->version),
               canary->percent);
  }
  return {};
}

Result<int> RunList(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto registry, OpenNamespace(flags));
  CSML_ASSIGN_OR_RETURN(auto listing, registry.Scan());
  for (const RegistryProblem& problem : listing.problems) {
    spdlog::warn("{}: {}", (registry.dir() / problem.file).string(), problem.message);
  }
  if (listing.versions.empty()) {
    fmt::print("no model versions in {}\n", registry.dir().string());
    return 0;
  }
  // The server's rule, with the server's load: what a server starting now would serve.
  auto served = ResolveServedVersion(registry);
  const std::string served_version = served ? served->choice.version : std::string();

  std::size_t width = std::string_view("VERSION").size();
  for (const ModelMeta& m : listing.versions) width = std::max(width, m.version.size());
  fmt::print("  {:<{}}  {:<20}  {:<4}  {:>9}  {:>9}  {:>8}\n", "VERSION", width, "CREATED", "ALGO",
             "VAL AUC", "TRAIN AUC", "ROWS");
  for (const ModelMeta& m : listing.versions) {
    fmt::print("{} {:<{}}  {:<20}  {:<4}  {:>9}  {:>9}  {:>8}\n",
               m.version == served_version ? '*' : ' ', m.version, width,
               FormatRfc3339(m.created_at), m.algo, MetricCell(m.validation_metrics, "auc"),
               MetricCell(m.train_metrics, "auc"), m.rows.train);
  }
  if (served) {
    fmt::print("\n* served: {} ({}: {})\n", registry.Qualified(served_version),
               ServedByName(served->choice.by), served->choice.reason);
  } else {
    fmt::print("\n  served: none ({})\n", served.error().message);
  }
  CSML_TRY(PrintSidePointers(registry));
  return 0;
}

Result<int> RunShow(const ModelsFlags& given) {
  CSML_ASSIGN_OR_RETURN(const ModelsFlags flags, WithQualifiedVersion(given));
  CSML_ASSIGN_OR_RETURN(auto registry, OpenNamespace(flags));
  CSML_ASSIGN_OR_RETURN(auto meta, registry.ReadMeta(flags.version));
  fmt::print("{}", meta.ToJson());
  return 0;
}

Result<int> RunPromote(const ModelsFlags& given) {
  CSML_ASSIGN_OR_RETURN(const ModelsFlags flags, WithQualifiedVersion(given));
  CSML_ASSIGN_OR_RETURN(auto registry, OpenNamespace(flags));
  PromoteOptions options;
  options.force = flags.force;
  // Which trials this promote ends (Registry::Promote clears the pointer naming the version).
  const auto shadow = registry.ReadShadow();
  const auto canary = registry.ReadCanary();
  CSML_ASSIGN_OR_RETURN(auto outcome, PromoteChecked(registry, flags.version, options));
  outcome.version = registry.Qualified(outcome.version);
  if (outcome.previous) outcome.previous = registry.Qualified(*outcome.previous);
  const std::string previous = outcome.previous.value_or("nothing promoted");
  const auto print_ended = [&] {
    if (shadow && *shadow && (*shadow)->version == flags.version) {
      fmt::print("ended the shadow of {} (SHADOW removed)\n", outcome.version);
    }
    if (canary && *canary && (*canary)->version == flags.version) {
      fmt::print("ended the canary of {} (CANARY removed)\n", outcome.version);
    }
  };
  if (!outcome.promoted) {
    fmt::print(stderr,
               "csml models promote: refused {}: it fails the load a server makes: {}\n"
               "csml models promote: SERVING is unchanged ({}); --force promotes it anyway\n",
               outcome.version, outcome.load_error, previous);
    return 1;
  }
  if (outcome.forced) {
    fmt::print(
        "promoted {} (before: {}) with --force, although it fails the load a server makes: {}\n"
        "servers refuse it and keep their current model; new servers fall back "
        "(docs/REGISTRY.md)\n",
        outcome.version, previous, outcome.load_error);
    print_ended();
    return 0;
  }
  fmt::print("promoted {} (before: {}); it loads and scores as a server loads it\n",
             outcome.version, previous);
  print_ended();
  return 0;
}

Result<int> RunRollback(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto registry, OpenNamespace(flags));
  auto before = registry.PromotedVersion();
  CSML_ASSIGN_OR_RETURN(auto target, registry.Rollback());
  fmt::print("rolled back to {} (from {})\n", registry.Qualified(target),
             (before && before->has_value()) ? registry.Qualified(**before) : std::string("?"));
  return 0;
}

Result<int> RunGc(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto registry, OpenNamespace(flags));
  GarbageOptions options;
  CSML_ASSIGN_OR_RETURN(options.older_than, ParseDuration(flags.older_than));
  options.apply = flags.apply;
  CSML_ASSIGN_OR_RETURN(auto report, registry.CollectGarbage(options));
  for (const GarbageFile& f : report.garbage) {
    fmt::print("{} {} ({}, {} bytes, modified {})\n", flags.apply ? "removed" : "would remove",
               f.file, f.kind, f.size_bytes, FormatRfc3339(f.modified_at));
  }
  for (const GarbageFile& f : report.young) {
    fmt::print("left {} ({}, modified {}: younger than {}, maybe a publish still running)\n",
               f.file, f.kind, FormatRfc3339(f.modified_at), flags.older_than);
  }
  for (const GarbageFile& f : report.kept) {
    fmt::print("kept {} ({}: {} names its version)\n", f.file, f.kind, f.kept_by);
  }
  if (flags.apply) {
    fmt::print("{}: removed {} file{} ({} bytes)\n", registry.dir().string(), report.garbage.size(),
               report.garbage.size() == 1 ? "" : "s", report.garbage_bytes);
  } else {
    fmt::print("{}: {} file{} ({} bytes) would be removed; dry run, --apply removes them\n",
               registry.dir().string(), report.garbage.size(),
               report.garbage.size() == 1 ? "" : "s", report.garbage_bytes);
  }
  return 0;
}

Result<int> RunTenants(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto root, OpenRegistry(flags.model_dir));
  CSML_ASSIGN_OR_RETURN(auto listing, root.ListTenants());
  for (const RegistryProblem& problem : listing.problems) {
    spdlog::warn("{}: {} (not a tenant namespace)", (root.dir() / problem.file).string(),
                 problem.message);
  }
  if (listing.tenants.empty()) {
    fmt::print("no tenant namespaces in {}\n", root.dir().string());
    return 0;
  }
  std::size_t width = std::string_view("TENANT").size();
  for (const std::string& t : listing.tenants) width = std::max(width, t.size());
  fmt::print("{:<{}}  {:>8}  {}\n", "TENANT", width, "VERSIONS", "SERVED");
  for (const std::string& tenant : listing.tenants) {
    CSML_ASSIGN_OR_RETURN(auto registry,
                          Registry::OpenTenant(root.dir(), tenant, RegistryOpenMode::kReadOnly));
    CSML_ASSIGN_OR_RETURN(auto scan, registry.Scan());
    auto served = ResolveServedVersion(registry);
    fmt::print("{:<{}}  {:>8}  {}\n", tenant, width, scan.versions.size(),
               served ? fmt::format("{} ({})", registry.Qualified(served->choice.version),
                                    ServedByName(served->choice.by))
                      : std::string("none"));
  }
  return 0;
}

// `shadow V` / `canary V` or `--clear`: exactly one of them.
Status CheckSideArguments(const ModelsFlags& flags, std::string_view action) {
  if (flags.clear && !flags.version.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("models {}: expected a version or --clear, got both", action));
  }
  if (!flags.clear && flags.version.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("models {}: expected a version (or --clear)", action));
  }
  return {};
}

Result<int> RunShadow(const ModelsFlags& given) {
  CSML_TRY(CheckSideArguments(given, "shadow"));
  CSML_ASSIGN_OR_RETURN(const ModelsFlags flags, WithQualifiedVersion(given));
  CSML_ASSIGN_OR_RETURN(auto registry, OpenNamespace(flags));
  if (flags.clear) {
    CSML_ASSIGN_OR_RETURN(auto cleared, registry.ClearShadow());
    if (cleared) {
      fmt::print("cleared the shadow {}\n", registry.Qualified(*cleared));
    } else {
      fmt::print("no shadow set in {}\n", registry.dir().string());
    }
    return 0;
  }
  if (auto s = registry.SetShadow(flags.version, flags.sample); !s) {
    Error error = s.error();
    if (error.message.starts_with("shadow sample")) error.message.replace(0, 13, "--sample");
    return tl::unexpected(std::move(error));
  }
  fmt::print("shadow {} (sample {}) beside the served version\n", registry.Qualified(flags.version),
             flags.sample);
  return 0;
}

Result<int> RunCanary(const ModelsFlags& given) {
  CSML_TRY(CheckSideArguments(given, "canary"));
  if (!given.clear && !given.percent) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "models canary: expected --percent P (0 < P < 100) with a version");
  }
  if (given.clear && given.percent) {
    return MakeError(ErrorCode::kInvalidArgument, "models canary --clear: expected no --percent");
  }
  CSML_ASSIGN_OR_RETURN(const ModelsFlags flags, WithQualifiedVersion(given));
  CSML_ASSIGN_OR_RETURN(auto registry, OpenNamespace(flags));
  if (flags.clear) {
    CSML_ASSIGN_OR_RETURN(auto cleared, registry.ClearCanary());
    if (cleared) {
      fmt::print("cleared the canary {}\n", registry.Qualified(*cleared));
    } else {
      fmt::print("no canary set in {}\n", registry.dir().string());
    }
    return 0;
  }
  if (auto s = registry.SetCanary(flags.version, *flags.percent); !s) {
    Error error = s.error();
    if (error.message.starts_with("canary percent")) error.message.replace(0, 14, "--percent");
    return tl::unexpected(std::move(error));
  }
  fmt::print("canary {} on {} % of customers\n", registry.Qualified(flags.version), *flags.percent);
  return 0;
}

// --tenant on one action (not on `models`, whose `import` has no namespace yet).
void AddTenantOption(CLI::App* action, const std::shared_ptr<ModelsFlags>& flags) {
  action->add_option("--tenant", flags->tenant,
                     "Work on this tenant's namespace (<model-dir>/tenants/T) instead of the "
                     "global one");
}

// Registers one `models` action; it shares the flags and reads --model-dir from the parent.
CLI::App* AddAction(CLI::App* models, CommandSlot& slot, const std::shared_ptr<ModelsFlags>& flags,
                    const char* name, const char* help, Result<int> (*run)(const ModelsFlags&)) {
  auto* action = models->add_subcommand(name, help);
  action->fallthrough();  // `csml models list --model-dir D` reaches the parent's option
  action->callback([&slot, flags, name, run] {
    slot.name = std::string("models ") + name;
    slot.run = [flags, run]() -> Result<int> { return run(*flags); };
  });
  return action;
}

}  // namespace

void AddModelsCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<ModelsFlags>();
  flags->model_dir = env.model_dir;
  auto* models = app.add_subcommand(
      "models",
      "List, show, promote and roll back model versions; collect garbage; tenants, shadow and "
      "canary pointers");
  models->require_subcommand(1);
  models->add_option("--model-dir", flags->model_dir, "Model registry directory (env MODEL_DIR)")
      ->capture_default_str();
  AddTenantOption(AddAction(models, slot, flags, "list",
                            "List versions, oldest first; '*' marks the served one", RunList),
                  flags);
  auto* show = AddAction(models, slot, flags, "show", "Print a version's meta.json", RunShow);
  show->add_option("version", flags->version, "Version name (or TENANT/NAME)")->required();
  AddTenantOption(show, flags);
  auto* promote = AddAction(models, slot, flags, "promote",
                            "Serve this version (moves the SERVING pointer) once it loads, "
                            "checks and scores as a server loads it",
                            RunPromote);
  promote->add_option("version", flags->version, "Version name (or TENANT/NAME)")->required();
  AddTenantOption(promote, flags);
  promote->add_flag("--force", flags->force,
                    "Move the pointer even when the version fails the server's load (its files "
                    "must still match their sha256)");
  AddTenantOption(AddAction(models, slot, flags, "rollback",
                            "Serve the version promoted before the current one", RunRollback),
                  flags);
  auto* gc = AddAction(models, slot, flags, "gc",
                       "List leftovers of killed publishes (temporary files, model files without "
                       "meta.json); --apply removes them",
                       RunGc);
  gc->add_option("--older-than", flags->older_than,
                 "Only files last modified at least this long ago (30m, 1h, 7d)")
      ->capture_default_str();
  gc->add_flag("--apply", flags->apply, "Remove the files (default: a dry run that lists them)");
  AddTenantOption(gc, flags);
  AddAction(models, slot, flags, "tenants",
            "List the tenant namespaces with their version count and served version", RunTenants);
  auto* shadow = AddAction(models, slot, flags, "shadow",
                           "Name the version scored beside the served one on a sample of the "
                           "traffic (SHADOW); --clear ends it",
                           RunShadow);
  shadow->add_option("version", flags->version, "Version name (or TENANT/NAME)");
  shadow->add_option("--sample", flags->sample, "Share of requests scored, 0 < S <= 1")
      ->capture_default_str();
  shadow->add_flag("--clear", flags->clear, "Remove the shadow pointer");
  AddTenantOption(shadow, flags);
  auto* canary = AddAction(models, slot, flags, "canary",
                           "Name the version served to P % of the customers (CANARY); --clear "
                           "ends it",
                           RunCanary);
  canary->add_option("version", flags->version, "Version name (or TENANT/NAME)");
  canary->add_option("--percent", flags->percent, "Share of customers served, 0 < P < 100");
  canary->add_flag("--clear", flags->clear, "Remove the canary pointer");
  AddTenantOption(canary, flags);
  AddModelsImportSubcommand(models, slot);
}

}  // namespace csml::cli
