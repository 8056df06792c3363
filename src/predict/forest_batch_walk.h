// ForestBatchWalk: a second layout of a Forest's trees for batches, walked eight rows per
// AVX2 instruction. Private to the predict module; Forest builds one at load and its
// PredictBatch uses it when the CPU has AVX2 (checked at run time: the build targets
// baseline x86-64, only the kernel is compiled for AVX2).
//
// The layout (QuickScorer's bit masks, evaluated for every split, several rows per vector):
//  - Each feature's thresholds, over all trees, are sorted and numbered; a row's value
//    becomes its rank, the number of thresholds below it, so `x > threshold j` is the integer
//    test `rank(x) > j`: exact for doubles, and eight int32 compares per instruction.
//    NaN gets two ranks, -1 (below every threshold: goes left) and INT32_MAX (goes right);
//    each split reads the one its default direction asks for.
//  - A tree's leaves are numbered left to right; every split carries the mask of the leaves
//    in its left subtree. A row starts a tree with all bits set and clears the left mask of
//    every split it goes right at; the lowest set bit left is its leaf (QuickScorer's
//    exit leaf). Splits are visited in any order and without a branch.
//  - Trees with categorical or zero-as-missing splits, or more than 64 leaves, keep
//    Forest's own walk (Forest::TreeLeafValue), tree by tree, in their place.
// Leaves are added per row in tree order, in the type Forest sums in (float32 for XGBoost,
// double for LightGBM), starting from the same base margin, so the sums, and the
// probabilities, are bit-identical to Forest::PredictBatchPortable's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "csml/predict/forest.h"

namespace csml {

class ForestBatchWalk {
 public:
  // Null when the layout cannot take the model at all (more than kMaxFeatures features
  // used by splits: the rank buffer lives on the stack).
  static std::shared_ptr<const ForestBatchWalk> Create(const Forest& forest);

  // The CPU has AVX2 (checked once).
  static bool CpuSupported() noexcept;

  // rows.size() == out.size() * forest.num_features(); the forest it was created from.
  // Requires CpuSupported().
  void PredictBatch(const Forest& forest, std::span<const double> rows,
                    std::span<double> out) const noexcept;

  // The margin of one row (Forest::PredictMargin's sum, bit for bit), eight trees per
  // instruction: each lane walks its own tree's splits, the row's ranks picked by a
  // permute. Requires CpuSupported() and row_walk(); row has forest.num_features() values.
  double PredictMargin(const Forest& forest, const double* row) const noexcept;
  // The one-row walk holds the ranks in registers: models whose splits use up to
  // kMaxRowFeatures features.
  bool row_walk() const noexcept { return row_walk_; }

  std::size_t num_scalar_trees() const noexcept { return num_scalar_trees_; }

  // Rows a kernel call handles: four vectors of eight.
  static constexpr std::size_t kChunkRows = 32;
  // Features the splits may use (each takes two rank rows of kChunkRows int32).
  static constexpr std::size_t kMaxFeatures = 64;
  static constexpr std::size_t kMaxRowFeatures = 16;

  // One step of a one-row group: split number `step` of each of eight trees (a tree with
  // fewer splits gets one that never goes right).
  struct alignas(32) RowStep {
    std::int32_t rank_row[8];  // which of the row's ranks: 2 * feature slot + NaN right
    std::int32_t rank[8];
    std::uint32_t left_leaves[8];
  };
  // Up to eight consecutive trees of at most 32 leaves, or one tree the masks do not take.
  struct RowGroup {
    std::uint32_t first_step;
    std::uint32_t num_steps;
    std::uint32_t first_tree;
    std::uint32_t num_trees;
    bool masks;
    alignas(32) std::int32_t first_leaf[8];
  };

  enum class TreeKind : std::uint8_t { kMask32, kMask64, kScalar };
  struct Tree {
    std::uint32_t first_split;  // into splits_
    std::uint32_t num_splits;
    std::uint32_t first_leaf;  // into the leaf arrays, left to right
    std::uint32_t root;        // Forest's root, for kScalar
    TreeKind kind;
  };
  struct Split {
    std::int32_t rank;             // goes right when the value's rank > rank
    std::uint32_t offset;          // of its rank row in the chunk's rank buffer, in int32
    std::uint32_t left_leaves_lo;  // the leaves of its left subtree, bits 0-31
    std::uint32_t left_leaves_hi;  // bits 32-63
  };
  // A feature the splits use: its column and its sorted, distinct thresholds.
  struct Feature {
    std::uint32_t column;
    std::vector<double> thresholds;
  };

 private:
  template <typename Acc>
  void PredictChunk(const Forest& forest, const double* rows, std::size_t n, std::int32_t* ranks,
                    Acc* acc) const noexcept;

  template <typename Acc>
  Acc SumRow(const Forest& forest, const double* row) const noexcept;
  void BuildRowGroups();

  std::vector<Tree> trees_;  // model order
  std::vector<Split> splits_;
  std::vector<float> leaves_f32_;   // XGBoost: leaves as Forest adds them (float32)
  std::vector<double> leaves_f64_;  // LightGBM
  std::vector<Feature> features_;
  std::size_t num_scalar_trees_ = 0;
  std::vector<RowStep> row_steps_;
  std::vector<RowGroup> row_groups_;
  bool row_walk_ = false;
};

}  // namespace csml
