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
// How (docs/EXPLANATIONS.md has the derivation). Two exact algorithms, chosen per tree at
// Create():
// - Pattern tables (after Fast TreeSHAP v2, Yang 2021): a leaf's contribution to every
//   feature on its path depends only on which of those d features the row satisfies (2^d
//   patterns), and a small subtree's leaves together only on the failed path features above
//   its root and the row's direction at each split inside (2^(d + m) patterns for m
//   splits). Create() groups each tree's leaves under such table roots (fewest rows, a
//   subtree in one table while it has at most twice its children's rows) and tabulates,
//   per pattern, the summed contributions by the tree's distinct features (floats, summed
//   in double and rounded once). Per row: every table split's direction in one vector pass
//   (a bit each), then per tree each table's index from those bits and one cache-line load
//   per table (huge pages where the kernel allows), prefetched for all trees before the sums.
//   Trees take tables, smallest first, while the model's total stays within
//   options.max_table_bytes and their tables' indices within options.max_path_features bits.
// - The node walk, for the other trees: a feature's Shapley weight summed over subsets is
//   the integral over t in [0, 1] of a product of per-feature linear factors
//   z(1 - t) + o t (z: the path's cover fraction, o: 1 when the row takes the path). That
//   polynomial has degree below the tree's depth, so a Gauss-Legendre rule of
//   ceil(depth/2) points integrates it exactly. One pass down the tree multiplies the
//   factors per point, one pass up sums the leaves' products and adds each split's share:
//   O(nodes x points) per tree, with every row-independent ratio precomputed at Create().
//
// Thread-safety: immutable after Create(); Explain* may be called from many threads at once
// (each thread keeps its own scratch, grown on first use).
// Ownership: owns a copy of the forest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include "csml/core/error.h"
#include "csml/predict/forest.h"

namespace csml {

// How Create() trades memory at load for speed per row.
struct ForestExplainerOptions {
  // The pattern tables' total size for the model (bytes); 0 explains every tree by the
  // node walk. The tables are built once, at Create(), in time proportional to their size
  // times the path length (0.1-0.3 s for the 25 MB of the 300 x 31 bench model).
  std::size_t max_table_bytes = std::size_t{64} << 20;
  // A table's index bits at most (a leaf at d distinct path features needs 2^d rows; a
  // subtree grouped in one table one more bit per split inside). Trees with a path over
  // more distinct features take the node walk. At most 16.
  std::uint32_t max_path_features = 12;
  // The widest vectors the per-row direction pass may use, in bits: 512 (AVX-512, when the
  // processor has it and the model at most 16 features), 256 (AVX2), else a scalar loop.
  // All give the same bits; lower it to compare them.
  std::uint32_t max_vector_bits = 512;
};

class ForestExplainer {
 public:
  // Fails (kValidation) when the forest lacks covers (a LightGBM model saved without
  // internal_count / leaf_count), a split's children both have zero cover, or the options
  // are out of range.
  static Result<ForestExplainer> Create(Forest forest);
  static Result<ForestExplainer> Create(Forest forest, const ForestExplainerOptions& options);

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

  // Explain by the node walk on every tree, whatever the tables hold: the reference the
  // tests compare the tables against. Same contract as Explain.
  void ExplainByNodeWalk(std::span<const double> row, std::span<double> contributions) const;

  // Trees explained from pattern tables (the others, with splits, take the node walk), and
  // the tables' size in bytes (what the options bound).
  std::size_t num_table_trees() const { return table_trees_.size(); }
  std::size_t num_walk_trees() const { return walk_only_.size(); }
  std::size_t num_tables() const { return table_roots_.size(); }
  std::size_t table_bytes() const { return table_.size() * sizeof(TableValue); }

  // What the pattern tables hold.
  using TableValue = float;

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

  // A tree explained from pattern tables. Its leaves are grouped under table roots (a leaf,
  // or a small subtree whose leaves all go in one table). A table root at d distinct path
  // features above it and m splits inside has 2^(d + m) rows: bits 0..d-1 the path
  // features the row fails above it (bit j: the j-th distinct feature from the tree's
  // root), bits d.. the row's direction at each split inside. A row holds the sum of the
  // subtree's leaves' contributions by slot (the tree's distinct features, stride floats:
  // 4, 8 or 16, one aligned load each).
  struct TableTree {
    std::uint32_t root;  // index of the root in the forest's nodes
    std::uint32_t num_nodes;
    std::uint32_t above_begin;  // into table_splits_: splits above every table root
    std::uint32_t num_above;
    std::uint32_t inside_begin;  // into table_splits_: splits inside a table root's subtree
    std::uint32_t num_inside;
    std::uint32_t table_begin;  // into table_roots_
    std::uint32_t num_tables;
    std::uint32_t slot_begin;  // into table_slots_: the feature of each slot
    std::uint32_t num_slots;
    std::uint32_t stride;
  };
  struct TableSplit {
    double value;  // the forest node's threshold (or categorical words)
    std::uint16_t feature;
    std::uint16_t flags;
    std::uint32_t node;  // local index
    // Above: the left child (its failed set gets bit when the row goes right, the right
    // child's when it goes left). Inside: the table root whose index gets bit when the
    // row goes right.
    std::uint32_t target;
    std::uint32_t bit;
  };
  struct TableRoot {
    std::uint32_t node;        // local index
    std::uint16_t num_inside;  // its splits, next in table_splits_ after the previous table's
    std::uint16_t first_bit;   // the index bit of its first inside split (the next ones follow)
    std::size_t offset;        // into table_: 2^(d + m) x stride floats
  };
  // The tables' storage: cache-line aligned, so a row of 16 floats is one line; from 2 MiB
  // on, in huge pages where the kernel gives them (AllocateTable).
  template <typename T>
  struct LineAllocator {
    using value_type = T;
    LineAllocator() = default;
    template <typename U>
    explicit LineAllocator(const LineAllocator<U>& /*other*/) {}
    T* allocate(std::size_t n) { return static_cast<T*>(AllocateTable(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) { FreeTable(p, n * sizeof(T)); }
    friend bool operator==(const LineAllocator&, const LineAllocator&) { return true; }
  };
  static void* AllocateTable(std::size_t bytes);
  static void FreeTable(void* p, std::size_t bytes);

  explicit ForestExplainer(Forest forest) : forest_(std::move(forest)) {}
  // How a tree's leaves group under table roots (defined in the .cc).
  struct TablePlan;
  // The grouping with the fewest table rows whose indices have at most max_bits bits;
  // rows == 0 when some leaf alone needs more.
  TablePlan PlanTables(const Tree& tree, std::uint32_t max_bits) const;
  // Builds the pattern tables of a tree (already set up for the node walk) into table_*.
  void AddTableTree(const Tree& tree, const TablePlan& plan);
  // Every table split's direction for a row, one bit each in table_splits_ order, into
  // bits (SplitWords() words).
  std::size_t SplitWords() const { return split_values_.size() / 64 + 2; }
  void FindDirections(const double* row, std::uint64_t* bits) const;
  // Sets up split_features_, split_values_, split_nan_left_, special_splits_ from
  // table_splits_.
  void IndexSplits();
  // One tree's table rows for a row into rows (prefetched), from the directions of
  // FindDirections; returns past the last.
  const TableValue** FindTableRows(const TableTree& tree, const std::uint64_t* bits,
                                   std::uint32_t* index, const TableValue** rows) const;
  // Adds the tree's table rows (from FindTableRows) to out; returns past the last.
  template <std::uint32_t kStride>
  const TableValue* const* AddTableRows(const TableTree& tree, const TableValue* const* rows,
                                        double* out) const;
  template <std::uint32_t kQ>
  void ExplainTree(const Tree& tree, const double* row, Scratch* scratch, double* out) const;
  void WalkTree(const Tree& tree, const double* row, Scratch* scratch, double* out) const;
  // Adds every tree's contributions for one row (of the right size) to out: from the
  // tables where built (by_walk false), else by the node walk.
  void ExplainRow(const double* row, bool by_walk, double* out) const;

  Forest forest_;
  std::vector<Tree> trees_;  // trees with at least one split (all of them, for the reference)
  std::vector<std::uint32_t> walk_only_;  // those without tables, by index in trees_
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
  std::vector<TableTree> table_trees_;
  std::vector<TableSplit> table_splits_;
  std::vector<TableRoot> table_roots_;
  std::vector<std::uint16_t> table_slots_;
  // table_splits_ by field, padded to a multiple of 8 (padding: feature 0, +inf: left), for
  // FindDirections; nan_left one bit per split; special (categorical) splits by index in
  // table_splits_, with their forest node.
  std::vector<std::int64_t> split_features_;
  std::vector<double> split_values_;
  std::vector<std::uint8_t> split_nan_left_;  // per 8 splits
  std::vector<std::pair<std::uint32_t, std::uint32_t>> special_splits_;
  std::vector<TableValue, LineAllocator<TableValue>> table_;
  std::uint32_t max_vector_bits_ = 512;
  std::uint32_t max_nodes_ = 0;
  std::uint32_t max_points_ = 0;
  double baseline_ = 0.0;
};

}  // namespace csml
