// LoadXgboostJson: csml's Forest from an XGBoost JSON model. ReadXgboostJson
// (csml/ensemble/xgboost_json.h) reads and checks the file; this turns its trees into the
// Forest's layout.
//
// Node i is a leaf when left_children[i] == -1; a leaf's value is split_conditions[i].
// XGBoost compares float32(x) < split_condition; the loader turns that into the equivalent
// double bound so the Forest walks XGBoost trees with the same `x <= t` as LightGBM's.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "csml/ensemble/xgboost_json.h"
#include "csml/predict/forest.h"
#include "forest_builder.h"

namespace csml {
namespace {

using predict_detail::RawKind;
using predict_detail::RawNode;

// The largest double x with float32(x) < t, so that `float32(x) < t` <=> `x <= bound`.
// float32(x) < t means x rounds to at most p, the float below t: x lies below the midpoint m
// of p and t, or on it when the tie rounds to p (round-half-to-even). m is exact in double.
double FloatLessBound(float t) {
  constexpr float kLowest = std::numeric_limits<float>::lowest();
  if (t == kLowest) {
    // Below the lowest float is -infinity; values from -(2^128 - 2^103) down round to it (the
    // tie goes to infinity because kLowest's significand is odd).
    return -0x1p128 + 0x1p103;
  }
  const float p = std::nextafter(t, -std::numeric_limits<float>::infinity());
  const double m = (static_cast<double>(p) + static_cast<double>(t)) / 2.0;
  return static_cast<float>(m) == p ? m
                                    : std::nextafter(m, -std::numeric_limits<double>::infinity());
}

Status AddTree(const XgboostJsonTree& tree, std::size_t tree_index, ForestBuilder* builder) {
  const std::size_t n = tree.num_nodes();
  std::vector<RawNode> nodes(n);
  for (std::size_t i = 0; i < n; ++i) {
    RawNode& node = nodes[i];
    node.cover = static_cast<double>(tree.sum_hessian[i]);
    if (tree.is_leaf(i)) {
      node.kind = RawKind::kLeaf;
      node.value = static_cast<double>(tree.split_conditions[i]);
      continue;
    }
    node.kind = RawKind::kNumeric;
    node.left = tree.left_children[i];
    node.right = tree.right_children[i];
    // Range-checked by the reader (and again by the builder) for the nodes the root reaches;
    // pruned (deleted) nodes keep a marker index.
    node.feature = tree.split_indices[i];
    node.nan_left = tree.default_left[i];
    node.value = FloatLessBound(tree.split_conditions[i]);
  }
  auto namer = [](std::size_t i) { return fmt::format("node {}", i); };
  return builder->AddTree(
      nodes, tree.num_deleted,
      fmt::format("XGBoost model: learner.gradient_booster.model.trees[{}]", tree_index), namer);
}

}  // namespace

Result<Forest> LoadXgboostJson(std::string_view json) {
  CSML_ASSIGN_OR_RETURN(XgboostJsonModel model, ReadXgboostJson(json));
  if (model.num_features >= Forest::kMaxFeatures) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("XGBoost model: learner.learner_model_param.num_feature: expected "
                                 "a count below {} (csml's forest layout), got {}",
                                 Forest::kMaxFeatures, model.num_features));
  }
  std::vector<std::string> names = std::move(model.feature_names);
  if (names.empty()) {
    for (std::size_t i = 0; i < model.num_features; ++i) names.push_back(fmt::format("f{}", i));
  }
  ForestBuilder builder(ForestFormat::kXgboostJson, std::move(names));
  // XGBoost starts every sum at the logistic margin of base_score, computed in float32.
  builder.set_base_margin(static_cast<double>(-std::log(1.0f / model.base_score - 1.0f)));
  for (std::size_t i = 0; i < model.trees.size(); ++i) {
    CSML_TRY(AddTree(model.trees[i], i, &builder));
  }
  return std::move(builder).Build();
}

Result<Forest> LoadForest(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() &&
         (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\r' || bytes[i] == '\n')) {
    ++i;
  }
  const std::string_view rest = bytes.substr(i);
  if (rest.starts_with("{")) return LoadXgboostJson(bytes);
  if (rest.starts_with("tree")) return LoadLightgbmText(bytes);
  return tl::unexpected(Error{ErrorCode::kParse,
                              "model: expected an XGBoost JSON model (starting with '{') or a "
                              "LightGBM text model (starting with 'tree')"});
}

}  // namespace csml
