// csml's own predictor for gradient-boosted tree ensembles: XGBoost JSON models and LightGBM
// text models, loaded into one flat, immutable node layout and scored without the libraries.
//
// Why our own: the server scores one row per request, and a library call costs more than the
// trees do (XGBoost builds a DMatrix per call). A Forest is a few contiguous arrays walked
// with branch-light code, eight trees at a time: one row over ~80 trees of 31 leaves costs
// under a microsecond (bench/forest_bench.cc).
//
// Each format keeps its own arithmetic, so the probabilities match the library's own:
//  - LightGBM: `x <= threshold` in double; NaN follows the node's missing type (None: NaN
//    becomes 0.0; Zero: NaN or |x| <= 1e-35 takes the default child; NaN: NaN takes the
//    default child); categorical nodes test bit int(x) of the node's bitset (NaN or
//    negative goes right); leaves are summed in double; risk = 1 / (1 + exp(-sigmoid * sum)).
//  - XGBoost: `float32(x) < split_condition`; NaN takes default_left; leaves are summed in
//    float32 starting from logit(base_score); risk = float32 sigmoid, widened to double.
//
// Thread-safety: a Forest is immutable after loading; every method is const, allocates
// nothing and may be called from any number of threads at once.
// Ownership: a Forest owns copies of everything it needs; the loaders' input may be freed
// as soon as they return.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"

namespace csml {

class ForestBatchWalk;

enum class ForestFormat : std::uint8_t { kXgboostJson, kLightgbmText };

// "xgboost_json" or "lightgbm_text".
std::string_view ForestFormatName(ForestFormat format);

class Forest {
 public:
  // Largest model the layout holds: feature indices use 16 bits, node indices 32 bits.
  static constexpr std::size_t kMaxFeatures = std::size_t{1} << 16;

  Forest(const Forest&) = default;
  Forest(Forest&&) noexcept = default;
  Forest& operator=(const Forest&) = default;
  Forest& operator=(Forest&&) noexcept = default;
  ~Forest() = default;

  ForestFormat format() const { return format_; }
  std::size_t num_trees() const { return num_trees_; }
  std::size_t num_features() const { return feature_names_.size(); }
  // Total nodes (splits and leaves) over all trees.
  std::size_t num_nodes() const { return nodes_.empty() ? 0 : nodes_.size() - 1; }
  // The model's column names, one per feature. XGBoost models saved without names get
  // XGBoost's own defaults "f0", "f1", ...
  const std::vector<std::string>& feature_names() const { return feature_names_; }

  // Probability of the positive class for one row of num_features() values (NaN = missing).
  // A row of the wrong size gives NaN (never a read out of bounds): callers that take rows
  // from outside check the size first (ForestPredictor does).
  double PredictRisk(std::span<const double> row) const noexcept;
  // The model's link of a margin from PredictMargin(): PredictRisk() is
  // RiskFromMargin(PredictMargin(row)).
  double RiskFromMargin(double margin) const noexcept;

  // The raw score before the sigmoid: LightGBM's sum of leaves, XGBoost's margin.
  // On CPUs with AVX2 (and models whose splits use at most 16 features) the one-row form of
  // the vectorized walk, eight trees per instruction; elsewhere PredictMarginPortable.
  double PredictMargin(std::span<const double> row) const noexcept;
  // The lockstep walk for one row, on every CPU (public so tests compare both).
  double PredictMarginPortable(std::span<const double> row) const noexcept;

  // Probabilities for out.size() row-major rows; rows.size() must equal
  // out.size() * num_features(), otherwise every out value is NaN. Rows are scored in
  // blocks so each tree is read from cache once per block, not once per row.
  // On CPUs with AVX2 this is the vectorized walk of forest_batch_walk.h (bit-identical
  // results); elsewhere, and for models it does not take, PredictBatchPortable.
  void PredictBatch(std::span<const double> rows, std::span<double> out) const noexcept;

  // The lockstep walk below, on every CPU: PredictBatch's fallback, public so tests can
  // compare the two paths on one machine.
  void PredictBatchPortable(std::span<const double> rows, std::span<double> out) const noexcept;
  // True when PredictBatch takes the vectorized walk on this CPU.
  bool batch_vectorized() const noexcept;
  // True when PredictMargin (and so PredictRisk) takes the one-row vectorized walk on this CPU.
  bool row_vectorized() const noexcept;
  // Trees the vectorized walk leaves to the per-tree scalar walk (categorical or
  // zero-as-missing splits, more than 64 leaves); num_trees() when it is not built at all.
  std::size_t batch_scalar_trees() const noexcept;

  // Whether every node carries its cover (XGBoost's sum_hessian, LightGBM's
  // internal_count / leaf_count), which TreeSHAP (csml/predict/forest_explainer.h) needs.
  bool has_covers() const { return has_covers_; }

 private:
  friend class ForestBuilder;
  friend class ForestBatchWalk;
  friend class ForestExplainer;

  // One node, 16 bytes, four to a cache line. Each tree is stored breadth-first, so the two
  // children of a split are adjacent (right = left + 1) and the upper levels, which every
  // row visits, share a few cache lines.
  //
  // A leaf points to itself with threshold +infinity and "NaN goes left", so one more step
  // from a leaf stays on it: trees can be walked a fixed number of steps without testing
  // for leaves, several at once.
  struct Node {
    // Numerical split: the threshold; x goes right when x > value (XGBoost's float32 `<` is
    // turned into an equivalent double bound at load). Leaf: +infinity. Categorical split:
    // bit-cast {first word, number of words} of its bitset in cat_bits_.
    double value;
    // Index in nodes_ of the left child; the right child is left + 1. A leaf's own index.
    std::uint32_t left;
    std::uint16_t feature;  // index into the row; 0 for leaves
    // Bit 0 "NaN goes left"; bit 15 leaf, bit 14 categorical or zero-as-missing split,
    // bit 13 categorical.
    std::uint16_t flags;
  };
  static_assert(sizeof(Node) == 16);

  // Trees walked together. Walking one tree is a chain of dependent loads; walking
  // kGroupSize trees in lockstep lets the processor overlap the chains, and stepping all of
  // them until each sits on a leaf leaves one branch per step, not one per node.
  static constexpr std::size_t kGroupSize = 8;
  struct Group {
    // Roots in nodes_; a group of fewer trees is padded with the sentinel leaf 0.
    std::uint32_t roots[kGroupSize];
    std::uint32_t num_trees;
    std::uint32_t depth;  // steps that take every tree of the group from root to leaf
    bool special;         // some split is categorical or zero-as-missing
  };
  // How a group is walked: rows without NaN need only `x > threshold`.
  enum class Walk : std::uint8_t { kNoNan, kNan, kSpecial };

  Forest() = default;

  template <typename Acc, Walk kWalk>
  void AddGroupLeaves(const Group& group, const double* row, Acc* sum) const noexcept;
  template <typename Acc>
  void AddLeaves(const Group& group, const double* row, bool has_nan, Acc* sum) const noexcept;
  template <typename Acc>
  Acc SumTrees(const double* row) const noexcept;
  template <typename Acc>
  void SumTreesBlock(const double* rows, std::size_t num_rows, Acc* acc) const noexcept;
  // The leaf one tree (root in nodes_) sends row to; every kind of split.
  double TreeLeafValue(std::uint32_t root, const double* row) const noexcept;
  std::uint32_t TreeRoot(std::size_t tree) const noexcept {
    return groups_[tree / kGroupSize].roots[tree % kGroupSize];
  }
  // The node the walk goes to from split `node` for `row` (its left or right child), by the
  // same rules as the walks above. Used by ForestExplainer.
  std::uint32_t ChildFor(std::uint32_t node, const double* row) const noexcept;
  // right[k] = 1 when the walk goes right at node first + k (0 for leaves), for count nodes.
  void GoesRightInRange(std::uint32_t first, std::uint32_t count, const double* row,
                        std::uint8_t* right) const noexcept;

  ForestFormat format_ = ForestFormat::kLightgbmText;
  std::vector<Node> nodes_;          // nodes_[0] is a sentinel leaf worth 0
  std::vector<double> leaf_values_;  // by node index; 0 for splits
  // By node index, parallel to nodes_: the training rows' hessian sum (XGBoost) or count
  // (LightGBM) that reached the node; what TreeSHAP weighs paths by. Kept apart from Node
  // so the walks' layout is untouched.
  std::vector<double> covers_;
  bool has_covers_ = false;
  std::vector<Group> groups_;  // every tree once, in model order
  std::size_t num_trees_ = 0;
  std::vector<std::uint32_t> cat_bits_;  // LightGBM categorical bitsets, 32 categories a word
  std::vector<std::string> feature_names_;
  // XGBoost: float32 logit(base_score), the sum's starting value. LightGBM: 0.
  double base_margin_ = 0.0;
  // LightGBM's `sigmoid:` parameter (risk = 1 / (1 + exp(-sigmoid_scale_ * sum))).
  double sigmoid_scale_ = 1.0;
  // Built from the fields above at load (ForestBuilder::Build); null when the model has
  // nothing it can take. Shared by copies: immutable.
  std::shared_ptr<const ForestBatchWalk> batch_walk_;
};

// Loads an XGBoost model saved as JSON (`save_model("x.json")`, XGBoost 1.x-2.x) with
// objective binary:logistic and the gbtree booster. The file is read and checked by
// ReadXgboostJson (csml/ensemble/xgboost_json.h: its errors, naming the tree, node and field);
// on top of that the forest's layout refuses num_feature >= kMaxFeatures.
Result<Forest> LoadXgboostJson(std::string_view json);

// Loads a LightGBM text model (`save_model`, LightGBM 3.x-4.x) with objective binary.
// Refuses, naming the line, tree and field: truncated files (no "end of trees"), other
// objectives, multi-class or linear trees, averaged (random forest) output, arrays whose
// lengths disagree with num_leaves, bad children, nodes reached twice or never, feature
// indices > max_feature_idx, NaN thresholds, non-finite leaf values, categorical bitsets out
// of bounds. Numerical thresholds inf and -inf (LightGBM writes inf for splits that separate
// missing from present values) are taken with LightGBM's meaning: `x <= inf` for every number.
Result<Forest> LoadLightgbmText(std::string_view text);

// Detects the format (JSON object -> XGBoost, "tree" header -> LightGBM) and loads it.
Result<Forest> LoadForest(std::string_view bytes);

}  // namespace csml
