// ForestBuilder: the one place that turns trees, as a loader read them, into Forest's layout.
//
// Both loaders check their own format's fields (lengths, ranges, values) and hand each tree
// over as RawNodes in the file's numbering; the builder checks the shape the layout relies
// on (every node reached exactly once from the root, so no cycles and no shared children)
// and lays the tree out breadth-first. Private to the predict module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "csml/core/error.h"
#include "csml/predict/forest.h"

namespace csml::predict_detail {

enum class RawKind : std::uint8_t { kNumeric, kZeroAsMissing, kCategorical, kLeaf };

struct RawNode {
  RawKind kind = RawKind::kLeaf;
  // Checked against the model's feature count for the nodes the root reaches; wide and
  // signed so a loader passes on what the file said.
  std::int64_t feature = 0;
  // kNumeric / kZeroAsMissing: the threshold, compared as `x <= value`. kLeaf: leaf value.
  double value = 0.0;
  // kNumeric: where NaN goes. kZeroAsMissing: where NaN and zero go (the default child).
  bool nan_left = false;
  // Children, as indices into the tree's RawNode span; unused for leaves.
  std::int64_t left = 0;
  std::int64_t right = 0;
  // kCategorical: the bitset, as words already appended with AppendCategoryBits.
  std::uint32_t cat_first_word = 0;
  std::uint32_t cat_num_words = 0;
  // The node's cover (XGBoost sum_hessian, LightGBM internal_count / leaf_count); NaN when
  // the file has none.
  double cover = std::numeric_limits<double>::quiet_NaN();
};

// Names node i of a tree in the file's own terms ("node 7", "split 3", "leaf 12").
using NodeNamer = std::function<std::string(std::size_t)>;

}  // namespace csml::predict_detail

namespace csml {

class ForestBuilder {
 public:
  ForestBuilder(ForestFormat format, std::vector<std::string> feature_names);

  void set_base_margin(double margin) { forest_.base_margin_ = margin; }
  void set_sigmoid_scale(double scale) { forest_.sigmoid_scale_ = scale; }

  // Appends a categorical bitset and returns the index of its first word.
  Result<std::uint32_t> AppendCategoryBits(std::span<const std::uint32_t> words);

  // Checks that nodes form one tree rooted at nodes[0] (children in range, every node
  // reached exactly once, except that up to allowed_unreachable nodes may be unreachable:
  // XGBoost keeps pruned nodes in the file) and appends it. Errors are prefixed with
  // tree_context ("tree 3") and name nodes with namer.
  Status AddTree(std::span<const predict_detail::RawNode> nodes, std::size_t allowed_unreachable,
                 const std::string& tree_context, const predict_detail::NodeNamer& namer);

  // Groups the trees for lockstep walking; fails when no tree was added.
  Result<Forest> Build() &&;

 private:
  struct TreeInfo {
    std::uint32_t root;
    std::uint32_t depth;
    bool plain;
  };

  // A leaf as the walk needs it: threshold +infinity, NaN left, its own left child.
  static Forest::Node LeafNode(std::size_t index);

  Forest forest_;
  std::vector<TreeInfo> trees_;
};

}  // namespace csml
