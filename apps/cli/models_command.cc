// csml models: look into and steer the model registry (docs/REGISTRY.md).
//   list         every version, oldest first, '*' marking the one served
//   show V       the version's meta.json
//   promote V    serve V (moves the SERVING pointer) once it loads as the server loads it
//   rollback     serve the version promoted before the current one
//   gc           list (and with --apply remove) what killed publishes left behind
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
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
  std::string version;
  bool force = false;             // promote: even when the server's load fails
  std::string older_than = "1h";  // gc: the age bound
  bool apply = false;             // gc: remove (default: list only)
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

std::string MetricCell(const std::map<std::string, double>& metrics, const std::string& name) {
  const auto it = metrics.find(name);
  if (it == metrics.end() || std::isnan(it->second)) return "-";
  return fmt::format("{:.4f}", it->second);
}

Result<int> RunList(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto registry, OpenRegistry(flags.model_dir));
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
    fmt::print("\n* served: {} ({}: {})\n", served_version, ServedByName(served->choice.by),
               served->choice.reason);
  } else {
    fmt::print("\n  served: none ({})\n", served.error().message);
  }
  return 0;
}

Result<int> RunShow(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto registry, OpenRegistry(flags.model_dir));
  CSML_ASSIGN_OR_RETURN(auto meta, registry.ReadMeta(flags.version));
  fmt::print("{}", meta.ToJson());
  return 0;
}

Result<int> RunPromote(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto registry, OpenRegistry(flags.model_dir));
  PromoteOptions options;
  options.force = flags.force;
  CSML_ASSIGN_OR_RETURN(auto outcome, PromoteChecked(registry, flags.version, options));
  const std::string previous = outcome.previous.value_or("nothing promoted");
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
    return 0;
  }
  fmt::print("promoted {} (before: {}); it loads and scores as a server loads it\n",
             outcome.version, previous);
  return 0;
}

Result<int> RunRollback(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto registry, OpenRegistry(flags.model_dir));
  auto before = registry.PromotedVersion();
  CSML_ASSIGN_OR_RETURN(auto target, registry.Rollback());
  fmt::print("rolled back to {} (from {})\n", target,
             (before && before->has_value()) ? **before : std::string("?"));
  return 0;
}

Result<int> RunGc(const ModelsFlags& flags) {
  CSML_ASSIGN_OR_RETURN(auto registry, OpenRegistry(flags.model_dir));
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
    fmt::print("kept {} ({}: SERVING names its version)\n", f.file, f.kind);
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
      "models", "List, show, promote and roll back model versions; collect garbage");
  models->require_subcommand(1);
  models->add_option("--model-dir", flags->model_dir, "Model registry directory (env MODEL_DIR)")
      ->capture_default_str();
  AddAction(models, slot, flags, "list", "List versions, oldest first; '*' marks the served one",
            RunList);
  AddAction(models, slot, flags, "show", "Print a version's meta.json", RunShow)
      ->add_option("version", flags->version, "Version name")
      ->required();
  auto* promote = AddAction(models, slot, flags, "promote",
                            "Serve this version (moves the SERVING pointer) once it loads, "
                            "checks and scores as a server loads it",
                            RunPromote);
  promote->add_option("version", flags->version, "Version name")->required();
  promote->add_flag("--force", flags->force,
                    "Move the pointer even when the version fails the server's load (its files "
                    "must still match their sha256)");
  AddAction(models, slot, flags, "rollback", "Serve the version promoted before the current one",
            RunRollback);
  auto* gc = AddAction(models, slot, flags, "gc",
                       "List leftovers of killed publishes (temporary files, model files without "
                       "meta.json); --apply removes them",
                       RunGc);
  gc->add_option("--older-than", flags->older_than,
                 "Only files last modified at least this long ago (30m, 1h, 7d)")
      ->capture_default_str();
  gc->add_flag("--apply", flags->apply, "Remove the files (default: a dry run that lists them)");
  AddModelsImportSubcommand(models, slot);
}

}  // namespace csml::cli
