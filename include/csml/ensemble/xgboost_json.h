// ReadXgboostJson: the one reader of XGBoost's JSON model format (Booster.save_model("m.json"),
// XGBoost 1.x-2.x). The model module runs it before XGBoost sees a file (XGBoost trusts the
// tree arrays it loads: a child index out of range crashes the process); the predict module
// builds its Forest from what it yields.
//
//   {"learner": {"objective": {"name": "binary:logistic", ...},
//                "learner_model_param": {"base_score": "5E-1", "num_feature": "12",
//                                        "num_class": "0", ...},
//                "feature_names": [...],
//                "gradient_booster": {"name": "gbtree", "model": {
//                    "gbtree_model_param": {"num_trees": "84", ...}, "tree_info": [0, ...],
//                    "trees": [{"id": 0, "tree_param": {"num_nodes": "61", "num_deleted": "0"},
//                               "left_children": [...], "right_children": [...],
//                               "split_indices": [...], "split_conditions": [...],
//                               "default_left": [...], "base_weights": [...], ...}]}}}}
//
// What it accepts is what csml can score, and it checks all of it: objective binary:logistic,
// the gbtree booster, one output group, base_score a probability, num_feature >= 1, feature
// names (when present) one per feature, num_trees and tree_info agreeing with the trees,
// tree ids in order; per tree, every array num_nodes long (sum_hessian finite float32s),
// numerical splits only, children -1 (both: a leaf) or a node index, every node reached from the
// root once (up to num_deleted pruned nodes unreached), split features of reached splits below
// num_feature, and every split condition and leaf value a finite float32.
//
// Errors read "XGBoost model: <path>: expected <what>, got <value>": ErrorCode::kParse for
// text that is not JSON and for a value that is missing or of the wrong JSON type,
// ErrorCode::kValidation for a value that breaks one of the rules above.
// Thread-safety: a free function; the result owns copies of everything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"

namespace csml {

// One tree as the file stores it, node i at index i of every array.
struct XgboostJsonTree {
  // -1 (both) for a leaf; otherwise node indices in [1, num_nodes).
  std::vector<std::int32_t> left_children;
  std::vector<std::int32_t> right_children;
  // The split's feature; only meaningful for splits the root reaches (pruned nodes keep a
  // marker value).
  std::vector<std::int64_t> split_indices;
  // A split's threshold (x goes left when float32(x) < condition); a leaf's value.
  std::vector<float> split_conditions;
  // Where a missing value goes at a split: true = left.
  std::vector<bool> default_left;
  // Each node's cover: the hessian sum of the training rows that reached it (a finite float).
  std::vector<float> sum_hessian;
  // Nodes the file keeps but the root does not reach (XGBoost's pruned nodes).
  std::size_t num_deleted = 0;

  std::size_t num_nodes() const { return left_children.size(); }
  bool is_leaf(std::size_t node) const { return left_children[node] == -1; }
};

struct XgboostJsonModel {
  std::string objective;    // "binary:logistic"
  float base_score = 0.5f;  // the probability every sum starts from, as XGBoost reads it
  std::size_t num_features = 0;
  // learner.feature_names as the file has them; empty when it has none.
  std::vector<std::string> feature_names;
  std::vector<XgboostJsonTree> trees;
};

Result<XgboostJsonModel> ReadXgboostJson(std::string_view json);

}  // namespace csml
