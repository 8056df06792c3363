// csml models: look into and steer the model registry (docs/REGISTRY.md).
//   list         every version, oldest first, '*' marking the one served
//   show V       the version's meta.json
//   promote V    serve V (moves the SERVING pointer)
//   rollback     serve the version promoted before the current one
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
#include "environment.h"

namespace csml::cli {
namespace {

struct ModelsFlags {
  std::string model_dir;
  std::string version;
};

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
  auto promoted = registry.PromotedVersion();
  if (!promoted) spdlog::warn("{}", promoted.error().message);
  auto served = registry.ResolveServed();
  const std::string served_version = served ? *served : std::string();

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
  if (!served_version.empty()) {
    std::string why = "newest; nothing promoted";
    if (promoted && promoted->has_value()) {
      why = **promoted == served_version
                ? "promoted"
                : fmt::format("newest; the promoted {} is not a whole version", **promoted);
    }
    fmt::print("\n* served: {} ({})\n", served_version, why);
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
  auto before = registry.PromotedVersion();
  CSML_TRY(registry.Promote(flags.version));
  const std::string previous =
      (before && before->has_value()) ? **before : std::string("nothing promoted");
  fmt::print("promoted {} (before: {})\n", flags.version, previous);
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
  auto* models = app.add_subcommand("models", "List, show, promote and roll back model versions");
  models->require_subcommand(1);
  models->add_option("--model-dir", flags->model_dir, "Model registry directory (env MODEL_DIR)")
      ->capture_default_str();
  AddAction(models, slot, flags, "list", "List versions, oldest first; '*' marks the served one",
            RunList);
  AddAction(models, slot, flags, "show", "Print a version's meta.json", RunShow)
      ->add_option("version", flags->version, "Version name")
      ->required();
  AddAction(models, slot, flags, "promote", "Serve this version (moves the SERVING pointer)",
            RunPromote)
      ->add_option("version", flags->version, "Version name")
      ->required();
  AddAction(models, slot, flags, "rollback", "Serve the version promoted before the current one",
            RunRollback);
  AddModelsImportSubcommand(models, slot);
}

}  // namespace csml::cli
