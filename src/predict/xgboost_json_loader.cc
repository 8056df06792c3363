// LoadXgboostJson: reads XGBoost's JSON model (Booster.save_model("m.json")):
//
//   {"learner": {"objective": {"name": "binary:logistic", ...},
//                "learner_model_param": {"base_score": "5E-1", "num_feature": "12", ...},
//                "feature_names": [...],
//                "gradient_booster": {"name": "gbtree", "model": {"trees": [
//                    {"left_children": [...], "right_children": [...], "split_indices": [...],
//                     "split_conditions": [...], "default_left": [...],
//                     "tree_param": {"num_nodes": "61", "num_deleted": "0", ...}, ...}]}}}}
//
// Node i is a leaf when left_children[i] == -1; a leaf's value is split_conditions[i].
// XGBoost compares float32(x) < split_condition; the loader turns that into the equivalent
// double bound so the Forest walks XGBoost trees with the same `x <= t` as LightGBM's.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "csml/predict/forest.h"
#include "forest_builder.h"

namespace csml {
namespace {

using predict_detail::RawKind;
using predict_detail::RawNode;
namespace dom = simdjson::dom;

Error ParseError(std::string_view path, std::string what) {
  return Error{ErrorCode::kParse, fmt::format("{}: {}", path, what)};
}

Error RuleError(std::string_view path, std::string what) {
  return Error{ErrorCode::kValidation, fmt::format("{}: {}", path, what)};
}

Result<dom::element> Member(dom::object object, std::string_view key, std::string_view path) {
  dom::element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS) {
    return tl::unexpected(ParseError(path, fmt::format("missing the member '{}'", key)));
  }
  return value;
}

Result<dom::object> ObjectMember(dom::object object, std::string_view key, std::string_view path) {
  auto value = Member(object, key, path);
  if (!value) return tl::unexpected(value.error());
  dom::object result;
  if (value->get_object().get(result) != simdjson::SUCCESS) {
    return tl::unexpected(ParseError(fmt::format("{}.{}", path, key), "expected an object"));
  }
  return result;
}

Result<dom::array> ArrayMember(dom::object object, std::string_view key, std::string_view path) {
  auto value = Member(object, key, path);
  if (!value) return tl::unexpected(value.error());
  dom::array result;
  if (value->get_array().get(result) != simdjson::SUCCESS) {
    return tl::unexpected(ParseError(fmt::format("{}.{}", path, key), "expected an array"));
  }
  return result;
}

Result<std::string_view> StringMember(dom::object object, std::string_view key,
                                      std::string_view path) {
  auto value = Member(object, key, path);
  if (!value) return tl::unexpected(value.error());
  std::string_view result;
  if (value->get_string().get(result) != simdjson::SUCCESS) {
    return tl::unexpected(ParseError(fmt::format("{}.{}", path, key), "expected a string"));
  }
  return result;
}

// XGBoost stores its parameters as strings: "12", "5E-1" (2.x: "[5E-1]").
template <typename T>
Result<T> NumberInString(dom::object object, std::string_view key, std::string_view path) {
  auto text = StringMember(object, key, path);
  if (!text) return tl::unexpected(text.error());
  std::string_view digits = *text;
  if (digits.size() >= 2 && digits.front() == '[' && digits.back() == ']') {
    digits = digits.substr(1, digits.size() - 2);
  }
  T value{};
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return tl::unexpected(
        ParseError(fmt::format("{}.{}", path, key),
                   fmt::format("expected {} in a string, got \"{}\"",
                               std::is_integral_v<T> ? "an integer" : "a number", *text)));
  }
  return value;
}

// Reads an array of exactly `expected` integers (booleans count as 0/1).
Result<std::vector<std::int64_t>> IntArray(dom::object tree, std::string_view key,
                                           std::size_t expected, std::string_view path) {
  auto array = ArrayMember(tree, key, path);
  if (!array) return tl::unexpected(array.error());
  const std::string where = fmt::format("{}.{}", path, key);
  if (array->size() != expected) {
    return tl::unexpected(RuleError(
        where, fmt::format("expected num_nodes = {} items, got {}", expected, array->size())));
  }
  std::vector<std::int64_t> values;
  values.reserve(expected);
  for (dom::element item : *array) {
    std::int64_t v = 0;
    bool b = false;
    if (item.get_int64().get(v) == simdjson::SUCCESS) {
      values.push_back(v);
    } else if (item.get_bool().get(b) == simdjson::SUCCESS) {
      values.push_back(b ? 1 : 0);
    } else {
      return tl::unexpected(
          ParseError(where, fmt::format("item {} is not an integer", values.size())));
    }
  }
  return values;
}

Result<std::vector<double>> NumberArray(dom::object tree, std::string_view key,
                                        std::size_t expected, std::string_view path) {
  auto array = ArrayMember(tree, key, path);
  if (!array) return tl::unexpected(array.error());
  const std::string where = fmt::format("{}.{}", path, key);
  if (array->size() != expected) {
    return tl::unexpected(RuleError(
        where, fmt::format("expected num_nodes = {} items, got {}", expected, array->size())));
  }
  std::vector<double> values;
  values.reserve(expected);
  for (dom::element item : *array) {
    double v = 0;
    if (item.get_double().get(v) != simdjson::SUCCESS) {
      return tl::unexpected(
          ParseError(where, fmt::format("item {} is not a number", values.size())));
    }
    values.push_back(v);
  }
  return values;
}

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

// XGBoost reads its numbers as float32: accept any value that rounds to a finite float.
Result<float> ToFloat(double v, std::string_view path, std::size_t node, std::string_view what) {
  // From 2^128 - 2^103 (the midpoint between the largest float and 2^128) up, float32
  // rounding gives infinity.
  constexpr double kOverflow = 0x1p128 - 0x1p103;
  if (!std::isfinite(v) || std::fabs(v) >= kOverflow) {
    return tl::unexpected(
        RuleError(path, fmt::format("node {}: {} {} is not a finite float32", node, what, v)));
  }
  constexpr auto kMax = static_cast<double>(std::numeric_limits<float>::max());
  return static_cast<float>(std::clamp(v, -kMax, kMax));
}

Status ReadTree(dom::object tree, std::size_t tree_index, ForestBuilder* builder) {
  const std::string path = fmt::format("learner.gradient_booster.model.trees[{}]", tree_index);
  auto param = ObjectMember(tree, "tree_param", path);
  if (!param) return tl::unexpected(param.error());
  const std::string param_path = path + ".tree_param";
  auto num_nodes = NumberInString<long long>(*param, "num_nodes", param_path);
  if (!num_nodes) return tl::unexpected(num_nodes.error());
  if (*num_nodes < 1 || *num_nodes > std::numeric_limits<std::int32_t>::max()) {
    return tl::unexpected(RuleError(param_path + ".num_nodes",
                                    fmt::format("expected a count >= 1, got {}", *num_nodes)));
  }
  const auto n = static_cast<std::size_t>(*num_nodes);
  long long num_deleted = 0;
  dom::element ignored;
  if (param->at_key("num_deleted").get(ignored) == simdjson::SUCCESS) {
    auto d = NumberInString<long long>(*param, "num_deleted", param_path);
    if (!d) return tl::unexpected(d.error());
    if (*d < 0 || *d >= *num_nodes) {
      return tl::unexpected(
          RuleError(param_path + ".num_deleted",
                    fmt::format("expected a count in [0, {}), got {}", *num_nodes, *d)));
    }
    num_deleted = *d;
  }

  // Categorical splits (XGBoost >= 1.5 with enable_categorical) are refused: csml trains
  // one-hot regions and has no reference output to check them against.
  if (tree.at_key("split_type").get(ignored) == simdjson::SUCCESS) {
    auto split_type = IntArray(tree, "split_type", n, path);
    if (!split_type) return tl::unexpected(split_type.error());
    for (std::size_t i = 0; i < n; ++i) {
      if ((*split_type)[i] != 0) {
        return tl::unexpected(
            RuleError(path + ".split_type",
                      fmt::format("node {}: categorical splits are not supported (split_type {})",
                                  i, (*split_type)[i])));
      }
    }
  }

  auto left = IntArray(tree, "left_children", n, path);
  if (!left) return tl::unexpected(left.error());
  auto right = IntArray(tree, "right_children", n, path);
  if (!right) return tl::unexpected(right.error());
  auto feature = IntArray(tree, "split_indices", n, path);
  if (!feature) return tl::unexpected(feature.error());
  auto default_left = IntArray(tree, "default_left", n, path);
  if (!default_left) return tl::unexpected(default_left.error());
  auto conditions = NumberArray(tree, "split_conditions", n, path);
  if (!conditions) return tl::unexpected(conditions.error());

  std::vector<RawNode> nodes(n);
  for (std::size_t i = 0; i < n; ++i) {
    RawNode& node = nodes[i];
    const std::int64_t l = (*left)[i];
    const std::int64_t r = (*right)[i];
    if (l == -1 || r == -1) {
      if (l != r) {
        return tl::unexpected(RuleError(
            path, fmt::format("node {}: left_children {} and right_children {} must both be -1 "
                              "(a leaf) or both be nodes",
                              i, l, r)));
      }
      auto value = ToFloat((*conditions)[i], path + ".split_conditions", i, "leaf value");
      if (!value) return tl::unexpected(value.error());
      node.kind = RawKind::kLeaf;
      node.value = static_cast<double>(*value);
      continue;
    }
    for (const auto& [child, key] :
         {std::pair{l, "left_children"}, std::pair{r, "right_children"}}) {
      if (child < 0 || static_cast<std::uint64_t>(child) >= n) {
        return tl::unexpected(
            RuleError(fmt::format("{}.{}", path, key),
                      fmt::format("node {}: child {} is out of range [0, {})", i, child, n)));
      }
    }
    node.kind = RawKind::kNumeric;
    node.left = l;
    node.right = r;
    // Range-checked by the builder for the nodes the root reaches; pruned (deleted) nodes
    // keep a marker index.
    node.feature = (*feature)[i];
    node.nan_left = (*default_left)[i] != 0;
    auto condition = ToFloat((*conditions)[i], path + ".split_conditions", i, "split condition");
    if (!condition) return tl::unexpected(condition.error());
    node.value = FloatLessBound(*condition);
  }
  auto namer = [](std::size_t i) { return fmt::format("node {}", i); };
  return builder->AddTree(nodes, static_cast<std::size_t>(num_deleted), path, namer);
}

}  // namespace

Result<Forest> LoadXgboostJson(std::string_view json) {
  dom::parser parser;
  const simdjson::padded_string padded(json);
  dom::element root;
  if (const auto error = parser.parse(padded).get(root); error != simdjson::SUCCESS) {
    return tl::unexpected(Error{
        ErrorCode::kParse,
        fmt::format("XGBoost JSON model: not valid JSON ({})", simdjson::error_message(error))});
  }
  dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    return tl::unexpected(ParseError("XGBoost JSON model", "expected a JSON object"));
  }
  auto learner = ObjectMember(top, "learner", "XGBoost JSON model");
  if (!learner) return tl::unexpected(learner.error());

  auto objective = ObjectMember(*learner, "objective", "learner");
  if (!objective) return tl::unexpected(objective.error());
  auto objective_name = StringMember(*objective, "name", "learner.objective");
  if (!objective_name) return tl::unexpected(objective_name.error());
  if (*objective_name != "binary:logistic") {
    return tl::unexpected(RuleError(
        "learner.objective.name",
        fmt::format("expected binary:logistic (a churn probability), got {}", *objective_name)));
  }

  auto param = ObjectMember(*learner, "learner_model_param", "learner");
  if (!param) return tl::unexpected(param.error());
  constexpr std::string_view kParamPath = "learner.learner_model_param";
  auto num_feature = NumberInString<long long>(*param, "num_feature", kParamPath);
  if (!num_feature) return tl::unexpected(num_feature.error());
  if (*num_feature < 0 || static_cast<std::uint64_t>(*num_feature) >= Forest::kMaxFeatures) {
    return tl::unexpected(RuleError(
        "learner.learner_model_param.num_feature",
        fmt::format("expected a count in [0, {}), got {}", Forest::kMaxFeatures, *num_feature)));
  }
  const auto num_features = static_cast<std::size_t>(*num_feature);
  for (const std::string_view key : {"num_class", "num_target"}) {
    dom::element ignored;
    if (param->at_key(key).get(ignored) != simdjson::SUCCESS) continue;
    auto count = NumberInString<long long>(*param, key, kParamPath);
    if (!count) return tl::unexpected(count.error());
    if (*count > 1) {
      return tl::unexpected(RuleError(fmt::format("{}.{}", kParamPath, key),
                                      fmt::format("expected 0 or 1 (binary), got {}", *count)));
    }
  }
  auto base_score = NumberInString<double>(*param, "base_score", kParamPath);
  if (!base_score) return tl::unexpected(base_score.error());
  const auto base_score_f = static_cast<float>(*base_score);
  if (!(base_score_f > 0.0f && base_score_f < 1.0f)) {
    return tl::unexpected(RuleError(
        "learner.learner_model_param.base_score",
        fmt::format("expected a probability in (0, 1) for binary:logistic, got {}", *base_score)));
  }

  std::vector<std::string> names;
  dom::element names_element;
  if (learner->at_key("feature_names").get(names_element) == simdjson::SUCCESS) {
    dom::array names_array;
    if (names_element.get_array().get(names_array) != simdjson::SUCCESS) {
      return tl::unexpected(ParseError("learner.feature_names", "expected an array of strings"));
    }
    for (dom::element item : names_array) {
      std::string_view name;
      if (item.get_string().get(name) != simdjson::SUCCESS) {
        return tl::unexpected(ParseError("learner.feature_names",
                                         fmt::format("item {} is not a string", names.size())));
      }
      names.emplace_back(name);
    }
  }
  if (names.empty()) {
    for (std::size_t i = 0; i < num_features; ++i) names.push_back(fmt::format("f{}", i));
  } else if (names.size() != num_features) {
    return tl::unexpected(RuleError(
        "learner.feature_names",
        fmt::format("expected num_feature = {} names, got {}", num_features, names.size())));
  }

  auto booster = ObjectMember(*learner, "gradient_booster", "learner");
  if (!booster) return tl::unexpected(booster.error());
  auto booster_name = StringMember(*booster, "name", "learner.gradient_booster");
  if (!booster_name) return tl::unexpected(booster_name.error());
  if (*booster_name != "gbtree") {
    return tl::unexpected(
        RuleError("learner.gradient_booster.name",
                  fmt::format("expected gbtree (dart and gblinear are not supported), got {}",
                              *booster_name)));
  }
  auto model = ObjectMember(*booster, "model", "learner.gradient_booster");
  if (!model) return tl::unexpected(model.error());
  constexpr std::string_view kModelPath = "learner.gradient_booster.model";
  auto trees = ArrayMember(*model, "trees", kModelPath);
  if (!trees) return tl::unexpected(trees.error());
  const std::size_t num_trees = trees->size();

  if (auto tree_info = ArrayMember(*model, "tree_info", kModelPath); tree_info) {
    if (tree_info->size() != num_trees) {
      return tl::unexpected(RuleError(
          "learner.gradient_booster.model.tree_info",
          fmt::format("expected one entry per tree ({}), got {}", num_trees, tree_info->size())));
    }
  }
  dom::object model_param;
  if (model->at_key("gbtree_model_param").get(model_param) == simdjson::SUCCESS) {
    auto declared = NumberInString<long long>(model_param, "num_trees",
                                              "learner.gradient_booster.model.gbtree_model_param");
    if (!declared) return tl::unexpected(declared.error());
    if (*declared < 0 || static_cast<std::uint64_t>(*declared) != num_trees) {
      return tl::unexpected(
          RuleError("learner.gradient_booster.model.gbtree_model_param.num_trees",
                    fmt::format("says {} trees but the trees array has {} (truncated?)", *declared,
                                num_trees)));
    }
  }

  ForestBuilder builder(ForestFormat::kXgboostJson, std::move(names));
  // XGBoost starts every sum at the logistic margin of base_score, computed in float32.
  builder.set_base_margin(static_cast<double>(-std::log(1.0f / base_score_f - 1.0f)));
  std::size_t index = 0;
  for (dom::element tree_element : *trees) {
    dom::object tree;
    if (tree_element.get_object().get(tree) != simdjson::SUCCESS) {
      return tl::unexpected(
          ParseError(fmt::format("{}.trees[{}]", kModelPath, index), "expected an object"));
    }
    if (Status s = ReadTree(tree, index, &builder); !s) {
      return tl::unexpected(s.error());
    }
    ++index;
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
