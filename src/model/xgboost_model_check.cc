#include "xgboost_model_check.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

namespace csml::model_detail {
namespace {

namespace dom = simdjson::dom;

// Upper bounds that no model csml trains comes near; they keep a hostile file from asking
// for absurd allocations before the checks below run.
constexpr std::int64_t kMaxFeatures = 1'000'000;
constexpr std::int64_t kMaxNodesPerTree = 1 << 24;

tl::unexpected<Error> Broken(std::string_view path, std::string_view expected,
                             std::string_view got) {
  return MakeError(ErrorCode::kModel,
                   fmt::format("XGBoost model: {}: expected {}, got {}", path, expected, got));
}

std::string Describe(dom::element e) {
  std::string text = simdjson::minify(e);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string Join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

Result<dom::element> Field(dom::object obj, std::string_view key, std::string_view path) {
  dom::element e;
  if (obj.at_key(key).get(e) != simdjson::SUCCESS) {
    return Broken(Join(path, key), "a value", "nothing (the key is missing)");
  }
  return e;
}

Result<dom::object> ObjectField(dom::object obj, std::string_view key, std::string_view path) {
  auto e = Field(obj, key, path);
  if (!e) return tl::unexpected(e.error());
  dom::object out;
  if (e->get(out) != simdjson::SUCCESS) return Broken(Join(path, key), "an object", Describe(*e));
  return out;
}

Result<dom::array> ArrayField(dom::object obj, std::string_view key, std::string_view path) {
  auto e = Field(obj, key, path);
  if (!e) return tl::unexpected(e.error());
  dom::array out;
  if (e->get(out) != simdjson::SUCCESS) return Broken(Join(path, key), "an array", Describe(*e));
  return out;
}

// XGBoost writes its model parameters as strings holding integers ("num_nodes":"7").
Result<std::int64_t> IntegerStringField(dom::object obj, std::string_view key,
                                        std::string_view path, std::int64_t min, std::int64_t max) {
  auto e = Field(obj, key, path);
  if (!e) return tl::unexpected(e.error());
  const std::string expected = fmt::format("a string holding an integer in [{}, {}]", min, max);
  std::string_view text;
  if (e->get(text) != simdjson::SUCCESS) return Broken(Join(path, key), expected, Describe(*e));
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Broken(Join(path, key), expected, Describe(*e));
  }
  return value;
}

// An array of exactly `size` integers.
Result<std::vector<std::int64_t>> IntArrayField(dom::object obj, std::string_view key,
                                                std::string_view path, std::size_t size) {
  auto arr = ArrayField(obj, key, path);
  if (!arr) return tl::unexpected(arr.error());
  if (arr->size() != size) {
    return Broken(Join(path, key), fmt::format("{} entries (num_nodes)", size),
                  std::to_string(arr->size()));
  }
  std::vector<std::int64_t> out;
  out.reserve(size);
  for (dom::element e : *arr) {
    std::int64_t v = 0;
    if (e.get(v) != simdjson::SUCCESS) {
      return Broken(fmt::format("{}[{}]", Join(path, key), out.size()), "an integer", Describe(e));
    }
    out.push_back(v);
  }
  return out;
}

Status CheckArraySize(dom::object obj, std::string_view key, std::string_view path,
                      std::size_t size) {
  auto arr = ArrayField(obj, key, path);
  if (!arr) return tl::unexpected(arr.error());
  if (arr->size() != size) {
    return Broken(Join(path, key), fmt::format("{} entries (num_nodes)", size),
                  std::to_string(arr->size()));
  }
  return {};
}

Status CheckTree(dom::object tree, std::size_t index, std::int64_t num_features) {
  const std::string path = fmt::format("trees[{}]", index);
  auto id = Field(tree, "id", path);
  if (!id) return tl::unexpected(id.error());
  std::int64_t id_value = -1;
  if (id->get(id_value) != simdjson::SUCCESS || id_value != static_cast<std::int64_t>(index)) {
    return Broken(path + ".id", fmt::format("{} (its position)", index), Describe(*id));
  }
  auto param = ObjectField(tree, "tree_param", path);
  if (!param) return tl::unexpected(param.error());
  const std::string param_path = path + ".tree_param";
  auto num_nodes = IntegerStringField(*param, "num_nodes", param_path, 1, kMaxNodesPerTree);
  if (!num_nodes) return tl::unexpected(num_nodes.error());
  dom::element leaf_vector;
  if (param->at_key("size_leaf_vector").get(leaf_vector) == simdjson::SUCCESS) {
    auto size_leaf_vector = IntegerStringField(*param, "size_leaf_vector", param_path, 0, 0);
    if (!size_leaf_vector) return tl::unexpected(size_leaf_vector.error());
  }
  const auto n = static_cast<std::size_t>(*num_nodes);

  auto left = IntArrayField(tree, "left_children", path, n);
  if (!left) return tl::unexpected(left.error());
  auto right = IntArrayField(tree, "right_children", path, n);
  if (!right) return tl::unexpected(right.error());
  auto split_index = IntArrayField(tree, "split_indices", path, n);
  if (!split_index) return tl::unexpected(split_index.error());
  for (std::string_view key : {"split_conditions", "default_left", "base_weights", "parents",
                               "loss_changes", "sum_hessian"}) {
    if (auto s = CheckArraySize(tree, key, path, n); !s) return s;
  }
  dom::element split_type_element;
  if (tree.at_key("split_type").get(split_type_element) == simdjson::SUCCESS) {
    auto split_type = IntArrayField(tree, "split_type", path, n);
    if (!split_type) return tl::unexpected(split_type.error());
    for (std::size_t i = 0; i < n; ++i) {
      if ((*split_type)[i] != 0) {
        return Broken(fmt::format("{}.split_type[{}]", path, i), "0 (numerical split)",
                      fmt::format("{} (categorical splits are not supported)", (*split_type)[i]));
      }
    }
  }
  for (std::string_view key :
       {"categories_nodes", "categories", "categories_segments", "categories_sizes"}) {
    dom::array categories;
    if (tree.at_key(key).get(categories) == simdjson::SUCCESS && categories.size() != 0) {
      return Broken(Join(path, key), "an empty array (numerical splits only)",
                    fmt::format("{} entries", categories.size()));
    }
  }

  // Walk from the root: every reached node is a leaf (-1, -1) or has two children inside
  // the arrays that no other node claimed, so the walk ends and never leaves the arrays.
  // Nodes the walk does not reach (pruned ones) are never read by prediction.
  std::vector<bool> seen(n, false);
  std::vector<std::size_t> pending = {0};
  seen[0] = true;
  const std::string child_range = fmt::format("-1 or a node index in [1, {})", n);
  while (!pending.empty()) {
    const std::size_t node = pending.back();
    pending.pop_back();
    const std::int64_t l = (*left)[node];
    const std::int64_t r = (*right)[node];
    if (l == -1 && r == -1) continue;
    for (const auto& [child, key] :
         {std::pair{l, "left_children"}, std::pair{r, "right_children"}}) {
      if (child < 1 || child >= static_cast<std::int64_t>(n)) {
        return Broken(fmt::format("{}.{}[{}]", path, key, node), child_range,
                      std::to_string(child));
      }
      if (seen[static_cast<std::size_t>(child)]) {
        return Broken(fmt::format("{}.{}[{}]", path, key, node), "a node no other node points to",
                      std::to_string(child));
      }
      seen[static_cast<std::size_t>(child)] = true;
      pending.push_back(static_cast<std::size_t>(child));
    }
    const std::int64_t feature = (*split_index)[node];
    if (feature < 0 || feature >= num_features) {
      return Broken(fmt::format("{}.split_indices[{}]", path, node),
                    fmt::format("a feature index in [0, {})", num_features),
                    std::to_string(feature));
    }
  }
  return {};
}

}  // namespace

Status CheckXgboostModelJson(std::string_view model_json) {
  const simdjson::padded_string padded(model_json);
  dom::parser parser;
  dom::element doc;
  if (const auto error = parser.parse(padded).get(doc); error != simdjson::SUCCESS) {
    return MakeError(ErrorCode::kParse, fmt::format("XGBoost model: expected JSON, got invalid "
                                                    "text ({})",
                                                    simdjson::error_message(error)));
  }
  dom::object root;
  if (doc.get(root) != simdjson::SUCCESS) return Broken("(top level)", "an object", Describe(doc));
  auto learner = ObjectField(root, "learner", "");
  if (!learner) return tl::unexpected(learner.error());
  auto model_param = ObjectField(*learner, "learner_model_param", "learner");
  if (!model_param) return tl::unexpected(model_param.error());
  const std::string model_param_path = "learner.learner_model_param";
  auto num_features =
      IntegerStringField(*model_param, "num_feature", model_param_path, 1, kMaxFeatures);
  if (!num_features) return tl::unexpected(num_features.error());
  auto num_class = IntegerStringField(*model_param, "num_class", model_param_path, 0, 1);
  if (!num_class) return tl::unexpected(num_class.error());
  dom::element num_target;
  if (model_param->at_key("num_target").get(num_target) == simdjson::SUCCESS) {
    auto targets = IntegerStringField(*model_param, "num_target", model_param_path, 1, 1);
    if (!targets) return tl::unexpected(targets.error());
  }

  auto booster = ObjectField(*learner, "gradient_booster", "learner");
  if (!booster) return tl::unexpected(booster.error());
  auto name = Field(*booster, "name", "learner.gradient_booster");
  if (!name) return tl::unexpected(name.error());
  std::string_view name_text;
  if (name->get(name_text) != simdjson::SUCCESS || name_text != "gbtree") {
    return Broken("learner.gradient_booster.name", "\"gbtree\"", Describe(*name));
  }
  auto model = ObjectField(*booster, "model", "learner.gradient_booster");
  if (!model) return tl::unexpected(model.error());
  const std::string model_path = "learner.gradient_booster.model";
  auto trees = ArrayField(*model, "trees", model_path);
  if (!trees) return tl::unexpected(trees.error());
  auto gbtree_param = ObjectField(*model, "gbtree_model_param", model_path);
  if (!gbtree_param) return tl::unexpected(gbtree_param.error());
  const auto num_trees = static_cast<std::int64_t>(trees->size());
  auto declared_trees = IntegerStringField(
      *gbtree_param, "num_trees", model_path + ".gbtree_model_param", num_trees, num_trees);
  if (!declared_trees) return tl::unexpected(declared_trees.error());
  auto tree_info = IntArrayField(*model, "tree_info", model_path, trees->size());
  if (!tree_info) return tl::unexpected(tree_info.error());
  for (std::size_t i = 0; i < tree_info->size(); ++i) {
    if ((*tree_info)[i] != 0) {
      return Broken(fmt::format("{}.tree_info[{}]", model_path, i), "0 (one output group)",
                    std::to_string((*tree_info)[i]));
    }
  }
  std::size_t index = 0;
  for (dom::element tree : *trees) {
    dom::object tree_object;
    if (tree.get(tree_object) != simdjson::SUCCESS) {
      return Broken(fmt::format("trees[{}]", index), "an object", Describe(tree));
    }
    if (auto s = CheckTree(tree_object, index, *num_features); !s) return s;
    ++index;
  }
  return {};
}

}  // namespace csml::model_detail
