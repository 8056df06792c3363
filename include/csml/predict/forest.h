// csml's own predictor for gradient-boosted tree ensembles: XGBoost JSON models and LightGBM
// text models, loaded into one flat, immutable node layout and scored without the libraries.
//
// Why our own: the server scores one row per request, and a library call costs more than the
// trees do (XGBoost builds a DMatrix per call). A Forest is a few contiguous arrays walked
// with branch-light code, so one row over a few hundred trees costs about a microsecond.
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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"

namespace csml {

enum class ForestFormat : std::uint8_t { kXgboostJson, kLightgbmText };

// "xgboost_json" or "lightgbm_text".
std::string_view ForestFormatName(ForestFormat format);

class Forest {
 public:
  // Largest model the layout holds: feature indices use 24 bits, node indices 32 bits.
  static constexpr std::size_t kMaxFeatures = std::size_t{1} << 24;

  Forest(const Forest&) = default;
  Forest(Forest&&) noexcept = default;
  Forest& operator=(const Forest&) = default;
  Forest& operator=(Forest&&) noexcept = default;
  ~Forest() = default;

  ForestFormat format() const { return format_; }
  std::size_t num_trees() const { return trees_.size(); }
  std::size_t num_features() const { return feature_names_.size(); }
  // Total nodes (splits and leaves) over all trees.
  std::size_t num_nodes() const { return nodes_.size(); }
  // The model's column names, one per feature. XGBoost models saved without names get
  // XGBoost's own defaults "f0", "f1", ...
  const std::vector<std::string>& feature_names() const { return feature_names_; }

  // Probability of the positive class for one row of num_features() values (NaN = missing).
  // A row of the wrong size gives NaN (never a read out of bounds): callers that take rows
  // from outside check the size first (ForestPredictor does).
  double PredictRisk(std::span<const double> row) const noexcept;

  // The raw score before the sigmoid: LightGBM's sum of leaves, XGBoost's margin.
  double PredictMargin(std::span<const double> row) const noexcept;

  // Probabilities for out.size() row-major rows; rows.size() must equal
  // out.size() * num_features(), otherwise every out value is NaN. Rows are scored in
  // blocks so each tree is read from cache once per block, not once per row.
  void PredictBatch(std::span<const double> rows, std::span<double> out) const noexcept;

 private:
  friend class ForestBuilder;

  // One node, 16 bytes, four to a cache line. Each tree is stored breadth-first, so the two
  // children of a split are adjacent (right = left + 1) and the upper levels, which every
  // row visits, share a few cache lines.
  struct Node {
    // Split: the threshold, always compared as `x <= value` in double (XGBoost's float32
    // `<` is turned into an equivalent double bound at load). Leaf: the leaf value.
    // Categorical split: bit-cast {first word, number of words} of its bitset in cat_bits_.
    double value;
    // Bits 0-23 feature index (0 for leaves), bit 24 "NaN goes left", bits 30-31 kind.
    std::uint32_t feature_and_flags;
    // Index in nodes_ of the left child; the right child is left + 1. A leaf's own index.
    std::uint32_t left;
  };
  static_assert(sizeof(Node) == 16);

  struct Tree {
    std::uint32_t root;  // index in nodes_
    // True when every split is a plain numerical one, walked by the branch-light loop;
    // trees with categorical or zero-as-missing splits take the general loop.
    bool plain;
  };

  Forest() = default;

  template <typename Acc>
  Acc SumTrees(const double* row) const noexcept;
  template <typename Acc>
  void SumTreesBlock(const double* rows, std::size_t num_rows, Acc* acc) const noexcept;
  std::uint32_t LeafOf(const Tree& tree, const double* row) const noexcept;
  double RiskFromMargin(double margin) const noexcept;

  ForestFormat format_ = ForestFormat::kLightgbmText;
  std::vector<Node> nodes_;
  std::vector<Tree> trees_;
  std::vector<std::uint32_t> cat_bits_;  // LightGBM categorical bitsets, 32 categories a word
  std::vector<std::string> feature_names_;
  // XGBoost: float32 logit(base_score), the sum's starting value. LightGBM: 0.
  double base_margin_ = 0.0;
  // LightGBM's `sigmoid:` parameter (risk = 1 / (1 + exp(-sigmoid_scale_ * sum))).
  double sigmoid_scale_ = 1.0;
};

// Loads an XGBoost model saved as JSON (`save_model("x.json")`, XGBoost 1.x-2.x) with
// objective binary:logistic and the gbtree booster. Refuses, naming the tree, node and
// field: other objectives or boosters, multi-class models, categorical splits, arrays whose
// lengths disagree with num_nodes, child indices out of range, nodes reached twice or never,
// feature indices >= num_feature, non-finite or out-of-float-range values.
Result<Forest> LoadXgboostJson(std::string_view json);

// Loads a LightGBM text model (`save_model`, LightGBM 3.x-4.x) with objective binary.
// Refuses, naming the line, tree and field: truncated files (no "end of trees"), other
// objectives, multi-class or linear trees, averaged (random forest) output, arrays whose
// lengths disagree with num_leaves, bad children, nodes reached twice or never, feature
// indices > max_feature_idx, non-finite values, categorical bitsets out of bounds.
Result<Forest> LoadLightgbmText(std::string_view text);

// Detects the format (JSON object -> XGBoost, "tree" header -> LightGBM) and loads it.
Result<Forest> LoadForest(std::string_view bytes);

}  // namespace csml
