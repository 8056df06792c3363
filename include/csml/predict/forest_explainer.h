// ForestExplainer: exact path-dependent TreeSHAP (Lundberg et al. 2018) on csml's Forest.
//
// For one row it gives every feature's contribution to the raw margin: how far the feature's
// value moved this score away from the baseline (the expected margin over the training rows,
// as the trees' covers weigh them). Contributions are in the margin's unit (log-odds for
// XGBoost; LightGBM's raw sum), and baseline + sum of contributions == the forest's margin
// (to float rounding). The numbers are the ones XGBoost's and LightGBM's own pred_contribs
// give: the same covers (XGBoost sum_hessian, LightGBM internal_count / leaf_count), the same
// split decisions as the forest's walk (NaN and default directions, zero-as-missing,
// categorical bitsets), repeated features on a path merged as the paper does.
//
// How (docs/EXPLANATIONS.md has the derivation): a feature's Shapley weight summed over
// subsets is the integral over t in [0, 1] of a product of per-feature linear factors
// z(1 - t) + o t (z: the path's cover fraction, o: 1 when the row takes the path). That
// polynomial has degree below the tree's depth, so a Gauss-Legendre rule of ceil(depth/2)
// points integrates it exactly. One pass down the tree multiplies the factors per point, one
// pass up sums the leaves' products and adds each split's share: O(nodes x points) per tree,
// with every row-independent ratio precomputed at Create().
//
// Thread-safety: immutable after Create(); Explain* may be called from many threads at once
// (each thread keeps its own scratch, grown on first use).
// Ownership: owns a copy of the forest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "csml/core/error.h"
#include "csml/predict/forest.h"

namespace csml {

class ForestExplainer {
 public:
  // Fails (kValidation) when the forest lacks covers (a LightGBM model saved without
  // internal_count / leaf_count) or a split's children both have zero cover.
  static Result<ForestExplainer> Create(Forest forest);

  const Forest& forest() const { return forest_; }
  std::size_t num_features() const { return forest_.num_features(); }

  // The expected margin: XGBoost's logit(base_score) plus each tree's cover-weighted mean
  // leaf; what the contributions start from (XGBoost's "bias" column).
  double baseline() const { return baseline_; }

  // Each feature's contribution for one row of num_features() values (NaN = missing) into
  // contributions (num_features() values). A row or output of the wrong size gives NaN in
  // every output value.
  void Explain(std::span<const double> row, std::span<double> contributions) const;

  // Row-major rows; contributions holds num_features() values per row. Sizes that disagree
  // give NaN everywhere.
  void ExplainBatch(std::span<const double> rows, std::span<double> contributions) const;

  // The value function TreeSHAP takes Shapley values of: the forest's expected margin when
  // only the features with known[f] set are known (the others are averaged out by the
  // covers, one split at a time). known(all) is the margin, known(none) the baseline. A slow
  // reference (every node of every tree), for tests and checks; NaN on wrong sizes.
  double ExpectedMargin(std::span<const double> row, const std::vector<bool>& known) const;

  // Per-thread working memory of Explain (defined in the .cc).
  struct Scratch;

 private:
  // A node as the explainer walks it, by index in its tree (breadth-first, so a node's
  // children come after it and are adjacent).
  struct Node {
    std::uint32_t left;  // local index of the left child; 0 for a leaf
    std::uint16_t feature;
    // Nearest ancestor edge (its child's local index) whose split has this node's parent's
    // feature, or the tree's virtual node (num_nodes). Only meaningful for non-root nodes.
    std::uint32_t prior;
  };
  struct Tree {
    std::uint32_t root;  // index of the root in the forest's nodes
    std::uint32_t num_nodes;
    std::uint32_t num_points;  // Gauss-Legendre points
    std::size_t node_offset;   // into nodes_ and z_
    std::size_t table_offset;  // into tables_: per node and one more, num_points values
    std::size_t rule_offset;   // into rules_: t, w, 1 / (1 - t), num_points each
    std::size_t split_offset;  // into splits_: the splits' local indices, then the leaves'
    std::uint32_t num_splits;
  };
  static constexpr std::uint32_t kNoPrior = 0xffffffffu;

  explicit ForestExplainer(Forest forest) : forest_(std::move(forest)) {}
  template <std::uint32_t kQ>
  void ExplainTree(const Tree& tree, const double* row, Scratch* scratch, double* out) const;
  // Adds every tree's contributions for one row (of the right size) to out.
  void ExplainRow(const double* row, double* out) const;

  Forest forest_;
  std::vector<Tree> trees_;  // trees with at least one split
  std::vector<Node> nodes_;
  std::vector<double> z_;     // per node: cover / parent's cover (root: 1)
  std::vector<double> leaf_;  // per node: leaf value (0 for splits)
  // Per node (and one virtual node per tree, past its last: the "prior" of a feature's
  // first split on a path, with z 1): the cover fraction of the node's feature along the
  // path, and per point t 1 / (z (1 - t) + t), its factor when the row takes the path.
  std::vector<double> z_comb_;
  std::vector<double> tables_;
  std::vector<double> rules_;
  std::vector<std::uint32_t> splits_;  // per tree: the Gauss-Legendre points, weights, 1 / (1 - t)
  std::uint32_t max_nodes_ = 0;
  std::uint32_t max_points_ = 0;
  double baseline_ = 0.0;
};

}  // namespace csml
