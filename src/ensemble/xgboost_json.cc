#include "csml/ensemble/xgboost_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "csml/json/fields.h"

namespace csml {
namespace {

namespace dom = simdjson::dom;
using json::JsonPath;

constexpr std::string_view kContext = "XGBoost model";
// Upper bounds that no model csml trains comes near; they keep a hostile file from asking
// for absurd allocations before the checks below run.
constexpr std::int64_t kMaxFeatures = 1'000'000;
constexpr std::int64_t kMaxNodesPerTree = std::int64_t{1} << 24;

// XGBoost writes its parameters as strings: "12", "5E-1" (2.x: "[5E-1]").
std::string_view Unbracket(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    return text.substr(1, text.size() - 2);
  }
  return text;
}

// A string holding an integer in [min, max].
Result<std::int64_t> IntegerString(dom::object object, std::string_view key, const JsonPath& path,
                                   std::int64_t min, std::int64_t max) {
  const JsonPath at = path.Key(key);
  const std::string expected = fmt::format("a string holding an integer in [{}, {}]", min, max);
  std::optional<dom::element> value = json::Find(object, key);
  if (!value) return at.Missing(expected);
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) return at.WrongType(expected, *value);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return at.WrongType(expected, *value);
  }
  if (n < min || n > max) return at.Invalid(expected, json::Describe(*value));
  return n;
}

Result<double> NumberString(dom::object object, std::string_view key, const JsonPath& path) {
  const JsonPath at = path.Key(key);
  constexpr std::string_view kExpected = "a string holding a number";
  std::optional<dom::element> value = json::Find(object, key);
  if (!value) return at.Missing(kExpected);
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) return at.WrongType(kExpected, *value);
  const std::string_view digits = Unbracket(text);
  double n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return at.WrongType(kExpected, *value);
  }
  return n;
}

// An array of exactly `size` entries (num_nodes, one per tree, ...).
Result<dom::array> SizedArray(dom::object object, std::string_view key, const JsonPath& path,
                              std::size_t size, std::string_view size_name) {
  CSML_ASSIGN_OR_RETURN(dom::array array, json::ArrayField(object, key, path));
  if (array.size() != size) {
    return path.Key(key).Invalid(fmt::format("{} entries ({})", size, size_name),
                                 std::to_string(array.size()));
  }
  return array;
}

// Integers, booleans as 0 / 1 when bools_ok (default_left is written either way).
Result<std::vector<std::int64_t>> IntArray(dom::object object, std::string_view key,
                                           const JsonPath& path, std::size_t size,
                                           std::string_view size_name, bool bools_ok = false) {
  CSML_ASSIGN_OR_RETURN(dom::array array, SizedArray(object, key, path, size, size_name));
  std::vector<std::int64_t> out;
  out.reserve(size);
  for (dom::element item : array) {
    std::int64_t v = 0;
    bool b = false;
    if (item.get_int64().get(v) == simdjson::SUCCESS) {
      out.push_back(v);
    } else if (bools_ok && item.get_bool().get(b) == simdjson::SUCCESS) {
      out.push_back(b ? 1 : 0);
    } else {
      return path.Key(key).Index(out.size()).WrongType("an integer", item);
    }
  }
  return out;
}

// XGBoost reads its numbers as float32: any value that rounds to a finite float.
Result<std::vector<float>> FloatArray(dom::object object, std::string_view key,
                                      const JsonPath& path, std::size_t size) {
  CSML_ASSIGN_OR_RETURN(dom::array array, SizedArray(object, key, path, size, "num_nodes"));
  // From 2^128 - 2^103 (the midpoint between the largest float and 2^128) up, float32
  // rounding gives infinity.
  constexpr double kOverflow = 0x1p128 - 0x1p103;
  constexpr auto kMax = static_cast<double>(std::numeric_limits<float>::max());
  std::vector<float> out;
  out.reserve(size);
  for (dom::element item : array) {
    double v = 0;
    const JsonPath at = path.Key(key).Index(out.size());
    if (item.get_double().get(v) != simdjson::SUCCESS) return at.WrongType("a number", item);
    if (!std::isfinite(v) || std::fabs(v) >= kOverflow) {
      return at.Invalid("a finite float32", fmt::format("{}", v));
    }
    out.push_back(static_cast<float>(std::clamp(v, -kMax, kMax)));
  }
  return out;
}

Result<std::int32_t> Child(std::int64_t child, std::size_t n, const JsonPath& at) {
  if (child < 1 || child >= static_cast<std::int64_t>(n)) {
    return at.Invalid(fmt::format("-1 or a node index in [1, {})", n), std::to_string(child));
  }
  return static_cast<std::int32_t>(child);
}

Result<XgboostJsonTree> ReadTree(dom::object tree, std::size_t index, const JsonPath& path,
                                 std::int64_t num_features) {
  CSML_ASSIGN_OR_RETURN(dom::element id, json::Field(tree, "id", path));
  std::int64_t id_value = -1;
  if (id.get_int64().get(id_value) != simdjson::SUCCESS) {
    return path.Key("id").WrongType("an integer", id);
  }
  if (id_value != static_cast<std::int64_t>(index)) {
    return path.Key("id").Invalid(fmt::format("{} (its position)", index), json::Describe(id));
  }
  const JsonPath param_path = path.Key("tree_param");
  CSML_ASSIGN_OR_RETURN(dom::object param, json::ObjectField(tree, "tree_param", path));
  CSML_ASSIGN_OR_RETURN(const std::int64_t num_nodes,
                        IntegerString(param, "num_nodes", param_path, 1, kMaxNodesPerTree));
  const auto n = static_cast<std::size_t>(num_nodes);
  XgboostJsonTree out;
  if (json::Find(param, "num_deleted")) {
    CSML_ASSIGN_OR_RETURN(const std::int64_t deleted,
                          IntegerString(param, "num_deleted", param_path, 0, num_nodes - 1));
    out.num_deleted = static_cast<std::size_t>(deleted);
  }
  if (json::Find(param, "size_leaf_vector")) {
    CSML_TRY(IntegerString(param, "size_leaf_vector", param_path, 0, 0));
  }

  CSML_ASSIGN_OR_RETURN(auto left, IntArray(tree, "left_children", path, n, "num_nodes"));
  CSML_ASSIGN_OR_RETURN(auto right, IntArray(tree, "right_children", path, n, "num_nodes"));
  CSML_ASSIGN_OR_RETURN(out.split_indices, IntArray(tree, "split_indices", path, n, "num_nodes"));
  CSML_ASSIGN_OR_RETURN(out.split_conditions, FloatArray(tree, "split_conditions", path, n));
  CSML_ASSIGN_OR_RETURN(auto default_left,
                        IntArray(tree, "default_left", path, n, "num_nodes", /*bools_ok=*/true));
  // XGBoost reads these too; only their lengths matter to it.
  for (std::string_view key : {"base_weights", "parents", "loss_changes"}) {
    CSML_TRY(SizedArray(tree, key, path, n, "num_nodes"));
  }
  // The nodes' covers, which XGBoost's TreeSHAP weighs paths by (and so does csml's).
  CSML_ASSIGN_OR_RETURN(out.sum_hessian, FloatArray(tree, "sum_hessian", path, n));
  // Categorical splits (XGBoost >= 1.5 with enable_categorical) are refused: csml trains
  // one-hot regions and has no reference output to check them against.
  if (json::Find(tree, "split_type")) {
    CSML_ASSIGN_OR_RETURN(auto split_type, IntArray(tree, "split_type", path, n, "num_nodes"));
    for (std::size_t i = 0; i < n; ++i) {
      if (split_type[i] != 0) {
        return path.Key("split_type")
            .Index(i)
            .Invalid("0 (a numerical split)",
                     fmt::format("{} (categorical splits are not supported)", split_type[i]));
      }
    }
  }
  for (std::string_view key :
       {"categories_nodes", "categories", "categories_segments", "categories_sizes"}) {
    dom::array categories;
    if (tree.at_key(key).get(categories) == simdjson::SUCCESS && categories.size() != 0) {
      return path.Key(key).Invalid("an empty array (numerical splits only)",
                                   fmt::format("{} entries", categories.size()));
    }
  }

  // Node i is a leaf when both children are -1 and a split when both are node indices.
  out.left_children.resize(n);
  out.right_children.resize(n);
  out.default_left.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.default_left[i] = default_left[i] != 0;
    if (left[i] == -1 || right[i] == -1) {
      if (left[i] != right[i]) {
        const bool left_leaf = left[i] == -1;
        return path.Key(left_leaf ? "right_children" : "left_children")
            .Index(i)
            .Invalid(fmt::format("-1 like {}[{}] (a leaf)",
                                 left_leaf ? "left_children" : "right_children", i),
                     std::to_string(left_leaf ? right[i] : left[i]));
      }
      out.left_children[i] = -1;
      out.right_children[i] = -1;
      continue;
    }
    CSML_ASSIGN_OR_RETURN(out.left_children[i],
                          Child(left[i], n, path.Key("left_children").Index(i)));
    CSML_ASSIGN_OR_RETURN(out.right_children[i],
                          Child(right[i], n, path.Key("right_children").Index(i)));
  }

  // Walk from the root: every reached node has children no other node claimed, so the walk
  // ends and never leaves the arrays. Nodes it does not reach are pruned ones (num_deleted).
  std::vector<bool> seen(n, false);
  std::vector<std::size_t> pending = {0};
  seen[0] = true;
  std::size_t reached = 1;
  while (!pending.empty()) {
    const std::size_t node = pending.back();
    pending.pop_back();
    if (out.is_leaf(node)) continue;
    for (const bool go_left : {true, false}) {
      const auto child =
          static_cast<std::size_t>(go_left ? out.left_children[node] : out.right_children[node]);
      if (seen[child]) {
        return path.Key(go_left ? "left_children" : "right_children")
            .Index(node)
            .Invalid("a node no other node points to", std::to_string(child));
      }
      seen[child] = true;
      ++reached;
      pending.push_back(child);
    }
    const std::int64_t feature = out.split_indices[node];
    if (feature < 0 || feature >= num_features) {
      return path.Key("split_indices")
          .Index(node)
          .Invalid(fmt::format("a feature index in [0, {})", num_features),
                   std::to_string(feature));
    }
  }
  if (n - reached > out.num_deleted) {
    const auto first =
        static_cast<std::size_t>(std::find(seen.begin(), seen.end(), false) - seen.begin());
    return path.Invalid(
        fmt::format("at most num_deleted = {} nodes the root does not reach", out.num_deleted),
        fmt::format("{} (node {} is not reachable from the root)", n - reached, first));
  }
  return out;
}

}  // namespace

Result<XgboostJsonModel> ReadXgboostJson(std::string_view json_text) {
  dom::parser parser;
  CSML_ASSIGN_OR_RETURN(dom::element doc, json::Parse(parser, json_text, kContext));
  const JsonPath root(kContext);
  CSML_ASSIGN_OR_RETURN(dom::object top, json::AsObject(doc, root));
  const JsonPath learner_path = root.Key("learner");
  CSML_ASSIGN_OR_RETURN(dom::object learner, json::ObjectField(top, "learner", root));
  XgboostJsonModel model;

  const JsonPath objective_path = learner_path.Key("objective");
  CSML_ASSIGN_OR_RETURN(dom::object objective,
                        json::ObjectField(learner, "objective", learner_path));
  CSML_ASSIGN_OR_RETURN(std::string_view objective_name,
                        json::StringField(objective, "name", objective_path));
  if (objective_name != "binary:logistic") {
    return objective_path.Key("name").Invalid("binary:logistic (a churn probability)",
                                              objective_name);
  }
  model.objective = objective_name;

  const JsonPath param_path = learner_path.Key("learner_model_param");
  CSML_ASSIGN_OR_RETURN(dom::object param,
                        json::ObjectField(learner, "learner_model_param", learner_path));
  CSML_ASSIGN_OR_RETURN(const std::int64_t num_features,
                        IntegerString(param, "num_feature", param_path, 1, kMaxFeatures));
  model.num_features = static_cast<std::size_t>(num_features);
  CSML_TRY(IntegerString(param, "num_class", param_path, 0, 1));
  if (json::Find(param, "num_target")) {
    CSML_TRY(IntegerString(param, "num_target", param_path, 1, 1));
  }
  CSML_ASSIGN_OR_RETURN(const double base_score, NumberString(param, "base_score", param_path));
  model.base_score = static_cast<float>(base_score);
  if (!(model.base_score > 0.0f && model.base_score < 1.0f)) {
    return param_path.Key("base_score")
        .Invalid("a probability in (0, 1) for binary:logistic", fmt::format("{}", base_score));
  }

  if (std::optional<dom::element> names = json::Find(learner, "feature_names")) {
    const JsonPath names_path = learner_path.Key("feature_names");
    CSML_ASSIGN_OR_RETURN(dom::array array, json::AsArray(*names, names_path));
    for (dom::element item : array) {
      CSML_ASSIGN_OR_RETURN(std::string_view name,
                            json::AsString(item, names_path.Index(model.feature_names.size())));
      model.feature_names.emplace_back(name);
    }
    if (!model.feature_names.empty() && model.feature_names.size() != model.num_features) {
      return names_path.Invalid(fmt::format("num_feature = {} names", model.num_features),
                                std::to_string(model.feature_names.size()));
    }
  }

  const JsonPath booster_path = learner_path.Key("gradient_booster");
  CSML_ASSIGN_OR_RETURN(dom::object booster,
                        json::ObjectField(learner, "gradient_booster", learner_path));
  CSML_ASSIGN_OR_RETURN(std::string_view booster_name,
                        json::StringField(booster, "name", booster_path));
  if (booster_name != "gbtree") {
    return booster_path.Key("name").Invalid("gbtree (dart and gblinear are not supported)",
                                            booster_name);
  }
  const JsonPath model_path = booster_path.Key("model");
  CSML_ASSIGN_OR_RETURN(dom::object gbtree, json::ObjectField(booster, "model", booster_path));
  CSML_ASSIGN_OR_RETURN(dom::array trees, json::ArrayField(gbtree, "trees", model_path));
  const std::size_t num_trees = trees.size();
  const JsonPath gbtree_param_path = model_path.Key("gbtree_model_param");
  CSML_ASSIGN_OR_RETURN(dom::object gbtree_param,
                        json::ObjectField(gbtree, "gbtree_model_param", model_path));
  CSML_ASSIGN_OR_RETURN(const std::int64_t declared,
                        IntegerString(gbtree_param, "num_trees", gbtree_param_path, 0,
                                      std::numeric_limits<std::int32_t>::max()));
  if (static_cast<std::size_t>(declared) != num_trees) {
    return gbtree_param_path.Key("num_trees")
        .Invalid(fmt::format("{} (the length of the trees array)", num_trees),
                 fmt::format("{} (a truncated file?)", declared));
  }
  CSML_ASSIGN_OR_RETURN(auto tree_info,
                        IntArray(gbtree, "tree_info", model_path, num_trees, "one per tree"));
  for (std::size_t i = 0; i < num_trees; ++i) {
    if (tree_info[i] != 0) {
      return model_path.Key("tree_info")
          .Index(i)
          .Invalid("0 (one output group)", std::to_string(tree_info[i]));
    }
  }

  model.trees.reserve(num_trees);
  for (dom::element item : trees) {
    const JsonPath tree_path = model_path.Key("trees").Index(model.trees.size());
    CSML_ASSIGN_OR_RETURN(dom::object tree, json::AsObject(item, tree_path));
    CSML_ASSIGN_OR_RETURN(XgboostJsonTree read,
                          ReadTree(tree, model.trees.size(), tree_path, num_features));
    model.trees.push_back(std::move(read));
  }
  return model;
}

}  // namespace csml
