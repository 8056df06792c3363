#include "forest_batch_walk.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

namespace csml {
namespace {

// Forest::Node::flags bits this layout reads (forest.cc defines them).
constexpr std::uint16_t kNanLeftBit = 1;
constexpr std::uint16_t kSpecialBit = 1u << 14;
constexpr std::uint16_t kLeafBit = 1u << 15;

constexpr std::size_t kMaxMaskLeaves = 64;
constexpr std::size_t kLanes = 8;
constexpr std::size_t kVectors = ForestBatchWalk::kChunkRows / kLanes;
// NaN's two ranks: below every threshold (goes left), above every one (goes right).
constexpr std::int32_t kNanLeftRank = -1;
constexpr std::int32_t kNanRightRank = std::numeric_limits<std::int32_t>::max();

// The rank of x among sorted thresholds: how many are below it, so x > t[j] iff rank > j.
// A branch-free lower bound: the halving compiles to conditional moves, so a row's ranks cost
// no mispredicted branches.
std::int32_t Rank(const std::vector<double>& thresholds, double x) {
  const double* base = thresholds.data();
  std::size_t n = thresholds.size();
  if (n == 0) return 0;
  while (n > 1) {
    const std::size_t half = n / 2;
    base = base[half - 1] < x ? base + half : base;
    n -= half;
  }
  return static_cast<std::int32_t>(base - thresholds.data()) + (*base < x ? 1 : 0);
}

}  // namespace

// ---- building -----------------------------------------------------------------------------

namespace {

struct PendingSplit {
  std::uint32_t feature;  // model column
  bool nan_left;
  double threshold;
  std::uint64_t left_leaves;
};

}  // namespace

std::shared_ptr<const ForestBatchWalk> ForestBatchWalk::Create(const Forest& forest) {
  auto walk = std::make_shared<ForestBatchWalk>();
  const std::vector<Forest::Node>& nodes = forest.nodes_;
  const bool f32 = forest.format_ == ForestFormat::kXgboostJson;
  std::vector<PendingSplit> pending;
  std::vector<std::uint32_t> queue;
  // Left-to-right leaf numbering: (node, first leaf of its subtree) on an explicit stack;
  // a split's left subtree is finished before its right one starts.
  struct Visit {
    std::uint32_t node;
    std::uint32_t stage;  // 0: not entered, 1: left done
    std::uint32_t first_leaf;
    std::size_t split;  // index in pending, once entered
  };
  std::vector<Visit> stack;
  for (std::size_t t = 0; t < forest.num_trees(); ++t) {
    const std::uint32_t root = forest.TreeRoot(t);
    // Breadth-first over the tree: its leaf count and whether every split is numerical.
    queue.assign(1, root);
    std::size_t leaves = 0;
    bool plain = true;
    for (std::size_t k = 0; k < queue.size() && plain && leaves <= kMaxMaskLeaves; ++k) {
      const Forest::Node& node = nodes[queue[k]];
      if (node.flags & kLeafBit) {
        ++leaves;
      } else if (node.flags & kSpecialBit) {
        plain = false;
      } else {
        queue.push_back(node.left);
        queue.push_back(node.left + 1);
      }
    }
    Tree tree{};
    tree.root = root;
    tree.first_split = static_cast<std::uint32_t>(pending.size());
    tree.first_leaf =
        static_cast<std::uint32_t>(f32 ? walk->leaves_f32_.size() : walk->leaves_f64_.size());
    if (!plain || leaves > kMaxMaskLeaves) {
      tree.kind = TreeKind::kScalar;
      ++walk->num_scalar_trees_;
      walk->trees_.push_back(tree);
      continue;
    }
    tree.kind = leaves <= 32 ? TreeKind::kMask32 : TreeKind::kMask64;
    std::uint32_t next_leaf = 0;
    stack.assign(1, Visit{root, 0, 0, 0});
    while (!stack.empty()) {
      Visit& v = stack.back();
      const Forest::Node& node = nodes[v.node];
      if (node.flags & kLeafBit) {
        const double value = forest.leaf_values_[v.node];
        if (f32) {
          walk->leaves_f32_.push_back(static_cast<float>(value));
        } else {
          walk->leaves_f64_.push_back(value);
        }
        ++next_leaf;
        stack.pop_back();
        continue;
      }
      if (v.stage == 0) {
        v.stage = 1;
        v.first_leaf = next_leaf;
        v.split = pending.size();
        pending.push_back(
            PendingSplit{node.feature, (node.flags & kNanLeftBit) != 0, node.value, 0});
        const std::uint32_t left = node.left;
        stack.push_back(Visit{left, 0, 0, 0});
      } else if (v.stage == 1) {
        // The left subtree holds leaves [first_leaf, next_leaf).
        const std::uint32_t count = next_leaf - v.first_leaf;
        const std::uint64_t bits =
            count == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << count) - 1;
        pending[v.split].left_leaves = bits << v.first_leaf;
        v.stage = 2;
        const std::uint32_t right = node.left + 1;
        stack.push_back(Visit{right, 0, 0, 0});
      } else {
        stack.pop_back();
      }
    }
    tree.num_splits = static_cast<std::uint32_t>(pending.size() - tree.first_split);
    walk->trees_.push_back(tree);
  }

  // Features the splits use, in column order, with their distinct sorted thresholds.
  std::vector<std::int32_t> slot_of_column(forest.num_features(), -1);
  for (const PendingSplit& s : pending) slot_of_column[s.feature] = 0;
  for (std::size_t c = 0; c < slot_of_column.size(); ++c) {
    if (slot_of_column[c] < 0) continue;
    slot_of_column[c] = static_cast<std::int32_t>(walk->features_.size());
    walk->features_.push_back(Feature{static_cast<std::uint32_t>(c), {}});
  }
  if (walk->features_.size() > kMaxFeatures) return nullptr;
  for (const PendingSplit& s : pending) {
    walk->features_[static_cast<std::size_t>(slot_of_column[s.feature])].thresholds.push_back(
        s.threshold);
  }
  for (Feature& f : walk->features_) {
    std::sort(f.thresholds.begin(), f.thresholds.end());
    f.thresholds.erase(std::unique(f.thresholds.begin(), f.thresholds.end()), f.thresholds.end());
    f.thresholds.shrink_to_fit();
  }
  walk->splits_.reserve(pending.size());
  for (const PendingSplit& s : pending) {
    const auto slot = static_cast<std::size_t>(slot_of_column[s.feature]);
    // Rank row 2 * slot holds NaN as "left", 2 * slot + 1 as "right".
    const std::size_t row = 2 * slot + (s.nan_left ? 0 : 1);
    walk->splits_.push_back(Split{Rank(walk->features_[slot].thresholds, s.threshold),
                                  static_cast<std::uint32_t>(row * kChunkRows),
                                  static_cast<std::uint32_t>(s.left_leaves),
                                  static_cast<std::uint32_t>(s.left_leaves >> 32)});
  }
  walk->BuildRowGroups();
  walk->trees_.shrink_to_fit();
  walk->leaves_f32_.shrink_to_fit();
  walk->leaves_f64_.shrink_to_fit();
  return walk;
}

void ForestBatchWalk::BuildRowGroups() {
  row_walk_ = features_.size() <= kMaxRowFeatures;
  if (!row_walk_) return;
  for (std::size_t t = 0; t < trees_.size();) {
    RowGroup group{};
    group.first_step = static_cast<std::uint32_t>(row_steps_.size());
    group.first_tree = static_cast<std::uint32_t>(t);
    if (trees_[t].kind != TreeKind::kMask32) {
      group.num_trees = 1;
      row_groups_.push_back(group);
      ++t;
      continue;
    }
    group.masks = true;
    while (t < trees_.size() && trees_[t].kind == TreeKind::kMask32 && group.num_trees < kLanes) {
      group.first_leaf[group.num_trees] = static_cast<std::int32_t>(trees_[t].first_leaf);
      group.num_steps = std::max(group.num_steps, trees_[t].num_splits);
      ++group.num_trees;
      ++t;
    }
    for (std::uint32_t step = 0; step < group.num_steps; ++step) {
      RowStep out{};
      for (std::uint32_t k = 0; k < kLanes; ++k) {
        out.rank[k] = std::numeric_limits<std::int32_t>::max();  // never goes right
        if (k >= group.num_trees) continue;
        const Tree& tree = trees_[group.first_tree + k];
        if (step >= tree.num_splits) continue;
        const Split& split = splits_[tree.first_split + step];
        out.rank_row[k] = static_cast<std::int32_t>(split.offset / kChunkRows);
        out.rank[k] = split.rank;
        out.left_leaves[k] = split.left_leaves_lo;
      }
      row_steps_.push_back(out);
    }
    row_groups_.push_back(group);
  }
  row_steps_.shrink_to_fit();
  row_groups_.shrink_to_fit();
}

bool ForestBatchWalk::CpuSupported() noexcept {
  static const bool kSupported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return kSupported;
}

// ---- the AVX2 kernel ----------------------------------------------------------------------

namespace {

#define CSML_AVX2 __attribute__((target("avx2")))

// Index of the lowest set bit of each lane (lanes are never 0 where it is used): the
// isolated bit converted to float has the index as its exponent (bit 31 gives -2^31,
// whose exponent is also 31).
CSML_AVX2 inline __m256i LowestBit(__m256i m) {
  const __m256i low = _mm256_and_si256(m, _mm256_sub_epi32(_mm256_setzero_si256(), m));
  const __m256i exponent = _mm256_srli_epi32(_mm256_castps_si256(_mm256_cvtepi32_ps(low)), 23);
  return _mm256_sub_epi32(_mm256_and_si256(exponent, _mm256_set1_epi32(0xff)),
                          _mm256_set1_epi32(127));
}

// Adds leaf values[first_leaf + index[lane]] to acc[lane], eight rows.
CSML_AVX2 inline void AddLeaves(const float* leaves, __m256i index, float* acc) {
  // The masked forms: GCC 12's plain gathers warn about their undefined source operand.
  const __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), leaves, index, all, 4);
  _mm256_store_ps(acc, _mm256_add_ps(_mm256_load_ps(acc), v));
}

CSML_AVX2 inline void AddLeaves(const double* leaves, __m256i index, double* acc) {
  const __m256d all = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
  const __m256d lo =
      _mm256_mask_i32gather_pd(_mm256_setzero_pd(), leaves, _mm256_castsi256_si128(index), all, 8);
  const __m256d hi = _mm256_mask_i32gather_pd(_mm256_setzero_pd(), leaves,
                                              _mm256_extracti128_si256(index, 1), all, 8);
  _mm256_store_pd(acc, _mm256_add_pd(_mm256_load_pd(acc), lo));
  _mm256_store_pd(acc + 4, _mm256_add_pd(_mm256_load_pd(acc + 4), hi));
}

// One tree of up to 32 leaves over the chunk's four vectors of rows.
template <typename Acc>
CSML_AVX2 void MaskTree32(const ForestBatchWalk::Split* split, std::uint32_t num_splits,
                          const std::int32_t* ranks, const Acc* leaves, Acc* acc) {
  __m256i mask[kVectors];
#pragma GCC unroll 4
  for (std::size_t v = 0; v < kVectors; ++v) mask[v] = _mm256_set1_epi32(-1);
  for (const ForestBatchWalk::Split* end = split + num_splits; split != end; ++split) {
    const __m256i rank = _mm256_set1_epi32(split->rank);
    const __m256i left = _mm256_set1_epi32(static_cast<std::int32_t>(split->left_leaves_lo));
    const std::int32_t* row = ranks + split->offset;
#pragma GCC unroll 4
    for (std::size_t v = 0; v < kVectors; ++v) {
      const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(row + v * kLanes));
      const __m256i right = _mm256_cmpgt_epi32(x, rank);
      mask[v] = _mm256_andnot_si256(_mm256_and_si256(right, left), mask[v]);
    }
  }
#pragma GCC unroll 4
  for (std::size_t v = 0; v < kVectors; ++v) {
    AddLeaves(leaves, LowestBit(mask[v]), acc + v * kLanes);
  }
}

// One tree of 33 to 64 leaves: masks in two halves, two vectors of rows at a time.
template <typename Acc>
CSML_AVX2 void MaskTree64(const ForestBatchWalk::Split* splits, std::uint32_t num_splits,
                          const std::int32_t* ranks, const Acc* leaves, Acc* acc) {
  constexpr std::size_t kPass = 2;
  for (std::size_t first = 0; first < kVectors; first += kPass) {
    __m256i lo[kPass];
    __m256i hi[kPass];
#pragma GCC unroll 2
    for (std::size_t v = 0; v < kPass; ++v) lo[v] = hi[v] = _mm256_set1_epi32(-1);
    const ForestBatchWalk::Split* end = splits + num_splits;
    for (const ForestBatchWalk::Split* split = splits; split != end; ++split) {
      const __m256i rank = _mm256_set1_epi32(split->rank);
      const __m256i left_lo = _mm256_set1_epi32(static_cast<std::int32_t>(split->left_leaves_lo));
      const __m256i left_hi = _mm256_set1_epi32(static_cast<std::int32_t>(split->left_leaves_hi));
      const std::int32_t* row = ranks + split->offset + first * kLanes;
#pragma GCC unroll 2
      for (std::size_t v = 0; v < kPass; ++v) {
        const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(row + v * kLanes));
        const __m256i right = _mm256_cmpgt_epi32(x, rank);
        lo[v] = _mm256_andnot_si256(_mm256_and_si256(right, left_lo), lo[v]);
        hi[v] = _mm256_andnot_si256(_mm256_and_si256(right, left_hi), hi[v]);
      }
    }
#pragma GCC unroll 2
    for (std::size_t v = 0; v < kPass; ++v) {
      const __m256i in_hi = _mm256_cmpeq_epi32(lo[v], _mm256_setzero_si256());
      const __m256i index = _mm256_blendv_epi8(
          LowestBit(lo[v]), _mm256_add_epi32(LowestBit(hi[v]), _mm256_set1_epi32(32)), in_hi);
      AddLeaves(leaves, index, acc + (first + v) * kLanes);
    }
  }
}

// One row over a group of up to eight trees: each lane's leaf, as an index into the leaf
// arrays. kRegs registers of eight ranks hold the row's rank rows (up to 8 * kRegs).
template <int kRegs>
CSML_AVX2 void RowGroupLeaves(const ForestBatchWalk::RowStep* step, std::uint32_t num_steps,
                              const std::int32_t* ranks, const std::int32_t* first_leaf,
                              std::int32_t* leaf) {
  __m256i regs[4];
#pragma GCC unroll 4
  for (int k = 0; k < kRegs; ++k) {
    regs[k] = _mm256_load_si256(reinterpret_cast<const __m256i*>(ranks + std::ptrdiff_t{8} * k));
  }
  __m256i mask = _mm256_set1_epi32(-1);
  for (const ForestBatchWalk::RowStep* end = step + num_steps; step != end; ++step) {
    const __m256i which = _mm256_load_si256(reinterpret_cast<const __m256i*>(step->rank_row));
    // vpermd reads the low three bits of each index; bits 3 and 4 pick the register.
    __m256i x = _mm256_permutevar8x32_epi32(regs[0], which);
    if constexpr (kRegs >= 2) {
      const __m256 bit3 = _mm256_castsi256_ps(_mm256_slli_epi32(which, 28));
      const __m256i x1 = _mm256_permutevar8x32_epi32(regs[1], which);
      x = _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(x), _mm256_castsi256_ps(x1), bit3));
      if constexpr (kRegs == 4) {
        const __m256i x2 = _mm256_permutevar8x32_epi32(regs[2], which);
        const __m256i x3 = _mm256_permutevar8x32_epi32(regs[3], which);
        const __m256i high = _mm256_castps_si256(
            _mm256_blendv_ps(_mm256_castsi256_ps(x2), _mm256_castsi256_ps(x3), bit3));
        const __m256 bit4 = _mm256_castsi256_ps(_mm256_slli_epi32(which, 27));
        x = _mm256_castps_si256(
            _mm256_blendv_ps(_mm256_castsi256_ps(x), _mm256_castsi256_ps(high), bit4));
      }
    }
    const __m256i rank = _mm256_load_si256(reinterpret_cast<const __m256i*>(step->rank));
    const __m256i left = _mm256_load_si256(reinterpret_cast<const __m256i*>(step->left_leaves));
    mask = _mm256_andnot_si256(_mm256_and_si256(_mm256_cmpgt_epi32(x, rank), left), mask);
  }
  const __m256i base = _mm256_load_si256(reinterpret_cast<const __m256i*>(first_leaf));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(leaf), _mm256_add_epi32(LowestBit(mask), base));
}

}  // namespace

// ---- scoring ------------------------------------------------------------------------------

template <typename Acc>
void ForestBatchWalk::PredictChunk(const Forest& forest, const double* rows, std::size_t n,
                                   std::int32_t* ranks, Acc* acc) const noexcept {
  const std::size_t stride = forest.num_features();
  // Ranks, feature-major: row 2 * slot (NaN left), 2 * slot + 1 (NaN right), kChunkRows each.
  for (std::size_t slot = 0; slot < features_.size(); ++slot) {
    const Feature& f = features_[slot];
    std::int32_t* nan_left = ranks + 2 * slot * kChunkRows;
    std::int32_t* nan_right = nan_left + kChunkRows;
    for (std::size_t r = 0; r < n; ++r) {
      const double x = rows[r * stride + f.column];
      if (std::isnan(x)) {
        nan_left[r] = kNanLeftRank;
        nan_right[r] = kNanRightRank;
      } else {
        nan_left[r] = nan_right[r] = Rank(f.thresholds, x);
      }
    }
    for (std::size_t r = n; r < kChunkRows; ++r) nan_left[r] = nan_right[r] = 0;
  }
  for (std::size_t r = 0; r < kChunkRows; ++r) acc[r] = static_cast<Acc>(forest.base_margin_);
  const Acc* leaves = nullptr;
  if constexpr (std::is_same_v<Acc, float>) {
    leaves = leaves_f32_.data();
  } else {
    leaves = leaves_f64_.data();
  }
  // Tree by tree in model order, so every row adds its leaves in the order Forest does.
  for (const Tree& tree : trees_) {
    switch (tree.kind) {
      case TreeKind::kMask32:
        MaskTree32(splits_.data() + tree.first_split, tree.num_splits, ranks,
                   leaves + tree.first_leaf, acc);
        break;
      case TreeKind::kMask64:
        MaskTree64(splits_.data() + tree.first_split, tree.num_splits, ranks,
                   leaves + tree.first_leaf, acc);
        break;
      case TreeKind::kScalar:
        for (std::size_t r = 0; r < n; ++r) {
          acc[r] += static_cast<Acc>(forest.TreeLeafValue(tree.root, rows + r * stride));
        }
        break;
    }
  }
}

template <typename Acc>
Acc ForestBatchWalk::SumRow(const Forest& forest, const double* row) const noexcept {
  alignas(32) std::array<std::int32_t, 2 * kMaxRowFeatures> ranks{};
  for (std::size_t slot = 0; slot < features_.size(); ++slot) {
    const double x = row[features_[slot].column];
    if (std::isnan(x)) {
      ranks[2 * slot] = kNanLeftRank;
      ranks[2 * slot + 1] = kNanRightRank;
    } else {
      ranks[2 * slot] = ranks[2 * slot + 1] = Rank(features_[slot].thresholds, x);
    }
  }
  const std::size_t used = 2 * features_.size();
  auto group_leaves = used <= 8    ? &RowGroupLeaves<1>
                      : used <= 16 ? &RowGroupLeaves<2>
                                   : &RowGroupLeaves<4>;
  const Acc* leaves = nullptr;
  if constexpr (std::is_same_v<Acc, float>) {
    leaves = leaves_f32_.data();
  } else {
    leaves = leaves_f64_.data();
  }
  auto sum = static_cast<Acc>(forest.base_margin_);
  std::array<std::int32_t, kLanes> leaf{};
  for (const RowGroup& group : row_groups_) {
    if (!group.masks) {
      sum += static_cast<Acc>(forest.TreeLeafValue(trees_[group.first_tree].root, row));
      continue;
    }
    group_leaves(row_steps_.data() + group.first_step, group.num_steps, ranks.data(),
                 group.first_leaf, leaf.data());
    // In tree order, one add at a time: the sum rounds as Forest's does.
    for (std::uint32_t k = 0; k < group.num_trees; ++k) sum += leaves[leaf[k]];
  }
  return sum;
}

double ForestBatchWalk::PredictMargin(const Forest& forest, const double* row) const noexcept {
  if (forest.format_ == ForestFormat::kXgboostJson) {
    return static_cast<double>(SumRow<float>(forest, row));
  }
  return SumRow<double>(forest, row);
}

void ForestBatchWalk::PredictBatch(const Forest& forest, std::span<const double> rows,
                                   std::span<double> out) const noexcept {
  const std::size_t stride = forest.num_features();
  alignas(32) std::array<std::int32_t, 2 * kMaxFeatures * kChunkRows> ranks;
  for (std::size_t start = 0; start < out.size(); start += kChunkRows) {
    const std::size_t n = std::min(kChunkRows, out.size() - start);
    const double* chunk = rows.data() + start * stride;
    if (forest.format_ == ForestFormat::kXgboostJson) {
      alignas(32) std::array<float, kChunkRows> acc;
      PredictChunk<float>(forest, chunk, n, ranks.data(), acc.data());
      for (std::size_t r = 0; r < n; ++r) out[start + r] = forest.RiskFromMargin(acc[r]);
    } else {
      alignas(32) std::array<double, kChunkRows> acc;
      PredictChunk<double>(forest, chunk, n, ranks.data(), acc.data());
      for (std::size_t r = 0; r < n; ++r) out[start + r] = forest.RiskFromMargin(acc[r]);
    }
  }
}

}  // namespace csml
