#include "csml/serving/model_loader.h"

#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "csml/predict/forest.h"
#include "csml/predict/forest_explainer.h"
#include "csml/predict/forest_predictor.h"
#include "csml/serving/served_version.h"

namespace csml {
namespace {

// XGBoost names the columns of a model saved without names "f0", "f1", ...; those say nothing
// about the order, so only real names are compared with the meta.
bool HasDefaultNames(const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] != fmt::format("f{}", i)) return false;
  }
  return true;
}

}  // namespace

Status CheckModelColumns(const std::vector<std::string>& model_names,
                         const std::vector<std::string>& meta_names) {
  if (HasDefaultNames(model_names)) return {};
  if (model_names.size() != meta_names.size()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("the model has {} feature columns but meta.json lists {}",
                                 model_names.size(), meta_names.size()));
  }
  for (std::size_t i = 0; i < model_names.size(); ++i) {
    if (model_names[i] != meta_names[i]) {
      return MakeError(ErrorCode::kValidation,
                       fmt::format("feature column {}: meta.json says '{}' but the model says '{}'",
                                   i, meta_names[i], model_names[i]));
    }
  }
  return {};
}

Result<LoadedVersion> LoadVersion(const Registry& registry, std::string_view version,
                                  const LoadOptions& options) {
  std::string name(version);
  if (name.empty()) {
    Result<ServedVersion> served = ResolveServedVersion(registry, options);
    if (!served) return tl::unexpected(served.error());
    return std::move(served->loaded);
  }
  const std::string context = fmt::format("loading model {}", name);
  LoadedVersion loaded;
  Result<ModelMeta> meta = registry.ReadMeta(name);
  if (!meta) return tl::unexpected(meta.error().WithContext(context));
  loaded.meta = std::move(*meta);
  Result<std::string> bytes = registry.ReadModelBytes(loaded.meta);
  if (!bytes) return tl::unexpected(bytes.error().WithContext(context));
  Result<Forest> forest = LoadForest(*bytes);
  if (!forest) return tl::unexpected(forest.error().WithContext(context));
  if (Status same = CheckModelColumns(forest->feature_names(), loaded.meta.features); !same) {
    return tl::unexpected(same.error().WithContext(context));
  }
  // Explanations when the file carries node covers (every model csml trains does); a model
  // without them still scores.
  std::shared_ptr<const ForestExplainer> explainer;
  if (forest->has_covers()) {
    ForestExplainerOptions explain_options;
    if (options.explain_table_bytes) explain_options.max_table_bytes = *options.explain_table_bytes;
    if (Result<ForestExplainer> made = ForestExplainer::Create(*forest, explain_options)) {
      explainer = std::make_shared<const ForestExplainer>(std::move(*made));
    }
  }
  // Reasons: the caller's choice, else the version's; its catalog, else the compiled-in one.
  Result<ReasonSettings> settings = ReasonSettings::FromExtraJson(loaded.meta.extra_json);
  if (!settings) return tl::unexpected(settings.error().WithContext(context));
  std::shared_ptr<const ModelReasons> model_reasons;
  if (options.reasons.value_or(settings->mode) == ReasonMode::kModel) {
    model_reasons = std::make_shared<const ModelReasons>(
        settings->catalog ? *settings->catalog : ReasonCatalog::Default(), loaded.meta.features);
  }
  auto predictor = std::make_unique<const ForestPredictor>(std::move(*forest));
  Result<std::shared_ptr<const ServingModel>> model = ServingModel::Create(
      registry.Qualified(loaded.meta.version), loaded.meta.features, loaded.meta.thresholds,
      std::move(predictor), loaded.meta.calibration, std::move(explainer), std::move(model_reasons),
      loaded.meta.reference_profile
          ? std::make_shared<const ReferenceProfile>(*loaded.meta.reference_profile)
          : nullptr);
  if (!model) return tl::unexpected(model.error().WithContext(context));
  if (Result<ScoreResult> warm_up = (*model)->Score(RawFeatures{}); !warm_up) {
    return tl::unexpected(warm_up.error().WithContext(context + ", warm-up row"));
  }
  loaded.model = std::move(*model);
  return loaded;
}

Result<std::shared_ptr<const ServingModel>> LoadServingModel(const Registry& registry,
                                                             std::string_view version,
                                                             const LoadOptions& options) {
  Result<LoadedVersion> loaded = LoadVersion(registry, version, options);
  if (!loaded) return tl::unexpected(loaded.error());
  return std::move(loaded->model);
}

Result<std::shared_ptr<const ServingModel>> LoadServedModel(const Registry& registry) {
  return LoadServingModel(registry, "");
}

}  // namespace csml
