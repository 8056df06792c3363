// csml models import FILE: publishes a LightGBM text model or an XGBoost JSON model trained
// outside csml as a registry version (docs/REGISTRY.md and docs/COMMANDS.md), so teams can serve
// the models they already have. The domain work (format, feature check against the schema, XGBoost
// cross-check, meta, publish) is ImportModel in csml/serving/model_import.h.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "command.h"
#include "csml/predict/forest.h"
#include "csml/registry/registry.h"
#include "csml/serving/model_import.h"
#include "environment.h"
#include "flag_names.h"

namespace csml::cli {
namespace {

struct ImportFlags {
  std::string file;
  std::string thresholds;  // "MEDIUM,HIGH"; empty = the defaults
  bool promote = false;
};

Result<std::string> ReadWholeFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("{}: cannot open: {}", path,
                                 std::error_code(errno, std::generic_category()).message()));
  }
  std::string bytes;
  char buf[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return MakeError(ErrorCode::kIo, fmt::format("{}: read error", path));
  return bytes;
}

Result<double> ParseProbability(std::string_view text, std::string_view which) {
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--thresholds: expected MEDIUM,HIGH as two numbers in [0, 1], "
                                 "got '{}' for {}",
                                 text, which));
  }
  return value;
}

Result<Thresholds> ParseThresholds(const std::string& text) {
  if (text.empty()) return Thresholds{};
  const std::size_t comma = text.find(',');
  if (comma == std::string::npos) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("--thresholds: expected MEDIUM,HIGH (e.g. 0.4,0.7), got '{}'", text));
  }
  CSML_ASSIGN_OR_RETURN(auto medium,
                        ParseProbability(std::string_view(text).substr(0, comma), "MEDIUM"));
  CSML_ASSIGN_OR_RETURN(auto high,
                        ParseProbability(std::string_view(text).substr(comma + 1), "HIGH"));
  Thresholds thresholds{medium, high};
  if (Status s = thresholds.Validate(); !s) {
    return tl::unexpected(NameFlags(s.error(), {{"thresholds", "--thresholds"}}));
  }
  return thresholds;
}

// The same bytes published twice would be two versions of one model: the second import is
// refused, naming the version that already holds them.
Result<int> RunImport(const ImportFlags& flags, const std::string& model_dir) {
  CSML_ASSIGN_OR_RETURN(auto thresholds, ParseThresholds(flags.thresholds));
  CSML_ASSIGN_OR_RETURN(auto bytes, ReadWholeFile(flags.file));
  ImportOptions options;
  options.thresholds = thresholds;
  options.source = flags.file;
  // Check the model before creating a registry directory for it.
  auto model = InspectModelForImport(bytes, options);
  if (!model) return tl::unexpected(model.error().WithContext(flags.file));
  CSML_ASSIGN_OR_RETURN(auto registry,
                        Registry::Open(model_dir, RegistryOpenMode::kCreateIfMissing));
  auto meta = ImportModel(registry, bytes, options);
  if (!meta) return tl::unexpected(meta.error().WithContext(flags.file));

  fmt::print("imported {} as {} into {}\n", flags.file, meta->version, registry.dir().string());
  fmt::print("model:   {} ({}), {} trees, {} features: {}\n", meta->algo,
             meta->algo == "lgbm" ? "LightGBM text" : "XGBoost JSON", model->num_trees,
             model->features.size(), fmt::join(model->features, " "));
  if (model->cross_check_max_diff) {
    fmt::print(
        "check:   XGBoost and csml's forest agree on {} generated rows (max |diff| {:.3g})\n",
        options.cross_check_rows, *model->cross_check_max_diff);
  }
  fmt::print("tiers:   medium >= {}, high >= {} ({})\n", meta->thresholds.medium,
             meta->thresholds.high, meta->threshold_method);
  if (flags.promote) {
    if (Status s = registry.Promote(meta->version); !s) return tl::unexpected(s.error());
    fmt::print("promoted {}: `csml serve` serves it\n", meta->version);
    return 0;
  }
  auto served = registry.ResolveServed();
  if (served && *served == meta->version) {
    fmt::print("served:  {} (newest, nothing promoted)\n", meta->version);
  } else if (served) {
    fmt::print("served:  still {} (promoted); `csml models promote {}` serves the import\n",
               *served, meta->version);
  }
  return 0;
}

}  // namespace

void AddModelsImportSubcommand(CLI::App* models, CommandSlot& slot) {
  auto flags = std::make_shared<ImportFlags>();
  auto* cmd = models->add_subcommand(
      "import", "Publish a LightGBM text or XGBoost JSON model trained elsewhere as a version");
  cmd->fallthrough();  // --model-dir belongs to `csml models`
  cmd->add_option("file", flags->file, "Model file: LightGBM text (model.txt) or XGBoost JSON")
      ->required();
  cmd->add_option("--thresholds", flags->thresholds,
                  "Tier cut points MEDIUM,HIGH recorded in the meta (default 0.4,0.7)");
  cmd->add_flag("--promote", flags->promote, "Also promote the new version (serve it)");
  cmd->callback([&slot, flags, models] {
    slot.name = "models import";
    // The parent's --model-dir (a flag, else MODEL_DIR, else ./model_store), read after parsing.
    const CLI::Option* dir_option = models->get_option_no_throw("--model-dir");
    std::string model_dir = ReadEnvironment().model_dir;
    if (dir_option != nullptr && dir_option->count() > 0) {
      model_dir = dir_option->as<std::string>();
    }
    slot.run = [flags, model_dir]() -> Result<int> { return RunImport(*flags, model_dir); };
  });
}

}  // namespace csml::cli
