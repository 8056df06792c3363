#include "csml/serving/model_import.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/features/schema.h"
#include "csml/model/xgboost_predictor.h"
#include "csml/registry/sha256.h"

namespace csml {
namespace {

// The 1-based line of LightGBM's `feature_names=` header line, or 0 when there is none.
std::size_t FeatureNamesLine(std::string_view text) {
  std::size_t line = 1;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (text.substr(start, end - start).starts_with("feature_names=")) return line;
    if (text.substr(start, end - start).starts_with("Tree=")) return 0;
    start = end + 1;
    ++line;
  }
  return 0;
}

bool HasXgboostDefaultNames(const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] != fmt::format("f{}", i)) return false;
  }
  return true;
}

// Where the names are in the file, for messages: "line 5 (feature_names=)" or
// "learner.feature_names".
std::string NamesLocation(const Forest& forest, std::string_view bytes) {
  if (forest.format() == ForestFormat::kXgboostJson) return "learner.feature_names";
  const std::size_t line = FeatureNamesLine(bytes);
  return line == 0 ? std::string("feature_names=") : fmt::format("line {} (feature_names=)", line);
}

std::string SchemaColumns() {
  std::string out;
  for (const NumericFeatureSpec& spec : kNumericFeatureSpecs) {
    out += spec.name;
    out += ", ";
  }
  out += "region_IN, region_SG, region_US, region_EU, region_code";
  return out;
}

Status CheckFeatures(const Forest& forest, std::string_view bytes) {
  const std::vector<std::string>& names = forest.feature_names();
  if (forest.format() == ForestFormat::kXgboostJson && HasXgboostDefaultNames(names)) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("learner.feature_names: expected the model's column names (set "
                                 "feature_names before saving), got none for its {} features",
                                 names.size()));
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    // One column at a time, so the message names the first column the schema does not know.
    const std::span<const std::string> one(&names[i], 1);
    if (!FeatureEncoder::Create(one)) {
      return MakeError(ErrorCode::kValidation,
                       fmt::format("{}: feature {} '{}' is not a column of the csml feature "
                                   "schema; expected one of: {}",
                                   NamesLocation(forest, bytes), i, names[i], SchemaColumns()));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (names[j] == names[i]) {
        return MakeError(ErrorCode::kValidation,
                         fmt::format("{}: feature {} '{}' repeats feature {}",
                                     NamesLocation(forest, bytes), i, names[i], j));
      }
    }
  }
  // Whatever FeatureEncoder adds to the per-column rules (it is what the server builds).
  if (auto encoder = FeatureEncoder::Create(names); !encoder) {
    return tl::unexpected(encoder.error().WithContext(NamesLocation(forest, bytes)));
  }
  return {};
}

// Rows that reach many branches of a model over the schema's columns: counts spread over
// several orders of magnitude with exact zeros, usage in [0, 1], every region and missing
// values, from a fixed seed so a refusal can be reproduced.
std::vector<double> CrossCheckRows(const std::vector<std::string>& columns, std::size_t num_rows) {
  // mt19937_64's output is fixed by the standard (its distributions are not, so none is used):
  // the same model always meets the same rows.
  std::mt19937_64 bits(0x637376696d706f72);
  const auto uniform = [&bits] { return static_cast<double>(bits() >> 11) * 0x1.0p-53; };
  std::vector<double> rows(num_rows * columns.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t r = 0; r < num_rows; ++r) {
    // Region per row: IN SG US EU other missing.
    const auto region = static_cast<std::uint32_t>(bits() % 6);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const std::string& name = columns[c];
      double& v = rows[r * columns.size() + c];
      if (name.starts_with("region_") && name != "region_code") {
        static constexpr std::string_view kOneHot[] = {"region_IN", "region_SG", "region_US",
                                                       "region_EU"};
        v = region < 4 && name == kOneHot[region] ? 1.0 : 0.0;
      } else if (name == "region_code") {
        v = region == 5 ? nan : static_cast<double>(std::min<std::uint32_t>(region, 4));
      } else if (uniform() < 0.08) {
        v = nan;
      } else if (name == "usage_score") {
        v = uniform();
      } else if (uniform() < 0.15) {
        v = 0.0;
      } else {
        // Log-uniform over [0.01, 10,000], rounded to two decimals as contract data usually is.
        v = std::round(std::pow(10.0, -2.0 + 6.0 * uniform()) * 100.0) / 100.0;
      }
    }
  }
  return rows;
}

Result<double> CrossCheckWithXgboost(const Forest& forest, std::string_view bytes,
                                     const ImportOptions& options) {
  auto reference = XgboostPredictor::FromJson(bytes);
  if (!reference) {
    return tl::unexpected(reference.error().WithContext("XGBoost could not load the model"));
  }
  if ((*reference)->num_features() != forest.num_features()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("XGBoost reads {} features but csml's forest reads {}",
                                 (*reference)->num_features(), forest.num_features()));
  }
  const std::vector<double> rows = CrossCheckRows(forest.feature_names(), options.cross_check_rows);
  std::vector<double> expected(options.cross_check_rows);
  if (Status s = (*reference)->PredictBatch(rows, expected); !s) return tl::unexpected(s.error());
  std::vector<double> got(options.cross_check_rows);
  forest.PredictBatch(rows, got);
  double max_diff = 0.0;
  for (std::size_t r = 0; r < got.size(); ++r) {
    const double diff = std::fabs(got[r] - expected[r]);
    if (!(diff <= options.cross_check_tolerance)) {
      return MakeError(ErrorCode::kValidation,
                       fmt::format("csml's forest and XGBoost disagree on generated row {}: {} "
                                   "vs {} (tolerance {}); the model uses something the forest "
                                   "does not read as XGBoost does",
                                   r, got[r], expected[r], options.cross_check_tolerance));
    }
    max_diff = std::max(max_diff, diff);
  }
  return max_diff;
}

std::string ImportExtraJson(const ImportedModel& model, ForestFormat format,
                            const ImportOptions& options) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Key("imported")
      .BeginObject()
      .Key("source")
      .String(options.source)
      .Key("format")
      .String(ForestFormatName(format))
      .Key("num_trees")
      .Uint(model.num_trees);
  if (model.cross_check_max_diff) {
    w.Key("xgboost_cross_check")
        .BeginObject()
        .Key("rows")
        .Uint(options.cross_check_rows)
        .Key("max_abs_diff")
        .Double(*model.cross_check_max_diff)
        .EndObject();
  }
  w.EndObject().EndObject();
  return out;
}

Result<std::pair<ImportedModel, ForestFormat>> Inspect(std::string_view bytes,
                                                       const ImportOptions& options) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  Result<Forest> forest = LoadForest(bytes);
  if (!forest) return tl::unexpected(forest.error());
  if (Status s = CheckFeatures(*forest, bytes); !s) return tl::unexpected(s.error());
  ImportedModel model;
  model.algo = AlgoForFormat(forest->format());
  model.features = forest->feature_names();
  model.num_trees = forest->num_trees();
  if (forest->format() == ForestFormat::kXgboostJson && options.cross_check_rows > 0) {
    Result<double> diff = CrossCheckWithXgboost(*forest, bytes, options);
    if (!diff) return tl::unexpected(diff.error());
    model.cross_check_max_diff = *diff;
  }
  return std::make_pair(std::move(model), forest->format());
}

}  // namespace

Status ImportOptions::Validate() const {
  if (Status s = thresholds.Validate(); !s) {
    return tl::unexpected(s.error().WithContext("ImportOptions.thresholds"));
  }
  if (threshold_method.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ImportOptions.threshold_method: expected a name, got ''");
  }
  if (created_at < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("ImportOptions.created_at: expected a time >= 0 (0 = now), got {}",
                                 created_at));
  }
  if (!(cross_check_tolerance > 0.0 && cross_check_tolerance < 1.0)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("ImportOptions.cross_check_tolerance: expected a number in (0, "
                                 "1), got {}",
                                 cross_check_tolerance));
  }
  return {};
}

std::string_view AlgoForFormat(ForestFormat format) {
  return format == ForestFormat::kXgboostJson ? "xgb" : "lgbm";
}

Result<ImportedModel> InspectModelForImport(std::string_view model_bytes,
                                            const ImportOptions& options) {
  CSML_ASSIGN_OR_RETURN(auto inspected, Inspect(model_bytes, options));
  return std::move(inspected.first);
}

Result<ModelMeta> ImportModel(const Registry& registry, std::string_view model_bytes,
                              const ImportOptions& options) {
  // The same bytes twice would be two versions of one model: name the one that exists.
  CSML_ASSIGN_OR_RETURN(const std::string sha, Sha256Hex(model_bytes));
  CSML_ASSIGN_OR_RETURN(const std::vector<ModelMeta> versions, registry.List());
  for (const ModelMeta& meta : versions) {
    if (meta.model_sha256 != sha) continue;
    return MakeError(ErrorCode::kAlreadyExists,
                     fmt::format("already in the registry as version {} (same sha256 {}); "
                                 "`csml models promote {}` serves it",
                                 meta.version, sha, meta.version));
  }
  CSML_ASSIGN_OR_RETURN(auto inspected, Inspect(model_bytes, options));
  const auto& [model, format] = inspected;
  ModelMeta draft;
  draft.algo = model.algo;
  draft.created_at = options.created_at != 0 ? options.created_at : NowUtc();
  draft.features = model.features;
  draft.thresholds = options.thresholds;
  draft.threshold_method = options.threshold_method;
  draft.extra_json = ImportExtraJson(model, format, options);
  return registry.Publish(model_bytes, std::move(draft));
}

}  // namespace csml
