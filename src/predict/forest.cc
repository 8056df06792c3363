#include "csml/predict/forest.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "forest_batch_walk.h"
#include "forest_builder.h"

namespace csml {
namespace {

using predict_detail::NodeNamer;
using predict_detail::RawKind;
using predict_detail::RawNode;

// Node::flags.
constexpr std::uint16_t kNanLeftBit = 1;
// A split that is not a plain numerical one; kCategoricalBit tells which.
constexpr std::uint16_t kSpecialBit = 1u << 14;
constexpr std::uint16_t kCategoricalBit = 1u << 13;
// The lockstep walk learns "all at leaves" from one AND per node.
constexpr std::uint16_t kLeafBit = 1u << 15;

// LightGBM's kZeroThreshold is the float 1e-35f; widened it is 1.0000000180025095e-35.
constexpr double kLightgbmZero = static_cast<double>(1e-35f);

// Rows per block in PredictBatch: enough that a tree's nodes are reused while hot in L1,
// few enough that the accumulators stay in registers and stack.
constexpr std::size_t kBlockRows = 32;

std::uint16_t KindBits(RawKind kind) {
  switch (kind) {
    case RawKind::kNumeric:
      return 0;
    case RawKind::kZeroAsMissing:
      return kSpecialBit;
    case RawKind::kCategorical:
      return kSpecialBit | kCategoricalBit;
    case RawKind::kLeaf:
      return kLeafBit;
  }
  return kLeafBit;
}

// Branch-free numerical decision: 1 when x goes right. `x <= t` is false for NaN, so NaN
// goes left exactly when the node's NaN bit is set.
inline std::uint32_t GoesRight(double x, double threshold, std::uint16_t flags) {
  const auto le = static_cast<std::uint32_t>(x <= threshold);
  const auto nan_left = static_cast<std::uint32_t>(std::isnan(x)) & (flags & kNanLeftBit);
  return 1u ^ (le | nan_left);
}

}  // namespace

std::string_view ForestFormatName(ForestFormat format) {
  switch (format) {
    case ForestFormat::kXgboostJson:
      return "xgboost_json";
    case ForestFormat::kLightgbmText:
      return "lightgbm_text";
  }
  return "unknown";
}

// ---- layout -------------------------------------------------------------------------------

Forest::Node ForestBuilder::LeafNode(std::size_t index) {
  return Forest::Node{std::numeric_limits<double>::infinity(), static_cast<std::uint32_t>(index), 0,
                      static_cast<std::uint16_t>(kLeafBit | kNanLeftBit)};
}

ForestBuilder::ForestBuilder(ForestFormat format, std::vector<std::string> feature_names) {
  forest_.format_ = format;
  forest_.feature_names_ = std::move(feature_names);
  // The sentinel leaf that pads short groups.
  forest_.nodes_.push_back(LeafNode(0));
  forest_.leaf_values_.push_back(0.0);
  forest_.covers_.push_back(1.0);
}

Result<std::uint32_t> ForestBuilder::AppendCategoryBits(std::span<const std::uint32_t> words) {
  const std::size_t first = forest_.cat_bits_.size();
  if (first + words.size() > std::numeric_limits<std::uint32_t>::max()) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("categorical bitsets: more than {} words in all",
                                 std::numeric_limits<std::uint32_t>::max()));
  }
  forest_.cat_bits_.insert(forest_.cat_bits_.end(), words.begin(), words.end());
  return static_cast<std::uint32_t>(first);
}

Status ForestBuilder::AddTree(std::span<const RawNode> nodes, std::size_t allowed_unreachable,
                              const std::string& tree_context, const NodeNamer& namer) {
  auto fail = [&](std::string what) {
    return MakeError(ErrorCode::kValidation, fmt::format("{}: {}", tree_context, what));
  };
  if (nodes.empty()) return fail("has no nodes");
  const std::size_t base = forest_.nodes_.size();
  if (base + nodes.size() > std::numeric_limits<std::uint32_t>::max()) {
    return fail(
        fmt::format("the forest would exceed {} nodes", std::numeric_limits<std::uint32_t>::max()));
  }
  const std::size_t num_features = forest_.feature_names_.size();

  // Breadth-first numbering: when a split is taken from the queue its two children get the
  // next two numbers, so right = left + 1. A child that already has a number is reached a
  // second time: a cycle or a shared subtree.
  constexpr std::size_t kUnseen = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> new_index(nodes.size(), kUnseen);
  std::vector<std::size_t> order;
  std::vector<std::uint32_t> depth;  // by position in order
  order.reserve(nodes.size());
  depth.reserve(nodes.size());
  new_index[0] = 0;
  order.push_back(0);
  depth.push_back(0);
  std::uint32_t max_depth = 0;
  bool plain = true;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t raw = order[k];
    const RawNode& node = nodes[raw];
    if (node.kind == RawKind::kLeaf) {
      if (!std::isfinite(node.value)) {
        return fail(fmt::format("{}: leaf value {} is not finite", namer(raw), node.value));
      }
      continue;
    }
    if (node.feature < 0 || static_cast<std::uint64_t>(node.feature) >= num_features) {
      return fail(fmt::format("{}: feature index {} is out of range (the model has {} features)",
                              namer(raw), node.feature, num_features));
    }
    if (node.kind == RawKind::kCategorical) {
      const std::uint64_t end = std::uint64_t{node.cat_first_word} + node.cat_num_words;
      if (end > forest_.cat_bits_.size()) {
        return fail(fmt::format("{}: categorical bitset [{}, {}) is outside the {} stored words",
                                namer(raw), node.cat_first_word, end, forest_.cat_bits_.size()));
      }
      plain = false;
    } else {
      // +-infinity is a threshold like any other (`x <= +inf` holds for every number).
      if (std::isnan(node.value)) {
        return fail(fmt::format("{}: threshold is NaN", namer(raw)));
      }
      if (node.kind == RawKind::kZeroAsMissing) plain = false;
    }
    for (const std::int64_t signed_child : {node.left, node.right}) {
      if (signed_child < 0 || static_cast<std::uint64_t>(signed_child) >= nodes.size()) {
        return fail(fmt::format("{}: child {} is out of range (the tree has {} nodes)", namer(raw),
                                signed_child, nodes.size()));
      }
      const auto child = static_cast<std::size_t>(signed_child);
      if (new_index[child] != kUnseen) {
        return fail(fmt::format("{} is reached a second time from {} (a cycle or a shared child)",
                                namer(child), namer(raw)));
      }
      new_index[child] = order.size();
      order.push_back(child);
      depth.push_back(depth[k] + 1);
      max_depth = std::max(max_depth, depth[k] + 1);
    }
  }
  if (order.size() + allowed_unreachable < nodes.size()) {
    const auto it = std::find(new_index.begin(), new_index.end(), kUnseen);
    return fail(fmt::format("{} is not reachable from the root ({} of {} nodes are)",
                            namer(static_cast<std::size_t>(it - new_index.begin())), order.size(),
                            nodes.size()));
  }

  for (std::size_t k = 0; k < order.size(); ++k) {
    const RawNode& node = nodes[order[k]];
    if (node.kind == RawKind::kLeaf) {
      forest_.nodes_.push_back(LeafNode(base + k));
      forest_.leaf_values_.push_back(node.value);
      forest_.covers_.push_back(node.cover);
      continue;
    }
    Forest::Node out{};
    out.value = node.kind == RawKind::kCategorical
                    ? std::bit_cast<double>(std::uint64_t{node.cat_first_word} |
                                            (std::uint64_t{node.cat_num_words} << 32))
                    : node.value;
    out.feature = static_cast<std::uint16_t>(node.feature);
    out.flags =
        static_cast<std::uint16_t>((node.nan_left ? kNanLeftBit : 0u) | KindBits(node.kind));
    out.left = static_cast<std::uint32_t>(base + new_index[static_cast<std::size_t>(node.left)]);
    forest_.nodes_.push_back(out);
    forest_.leaf_values_.push_back(0.0);
    forest_.covers_.push_back(node.cover);
  }
  trees_.push_back(TreeInfo{static_cast<std::uint32_t>(base), max_depth, plain});
  return {};
}

Result<Forest> ForestBuilder::Build() && {
  if (trees_.empty()) {
    return MakeError(ErrorCode::kValidation, "the model has no trees");
  }
  // Groups of kGroupSize consecutive trees, in model order, so leaves are still added in
  // the order the libraries add them. A group with categorical or zero-as-missing splits
  // takes the slower walk that tests for them.
  std::vector<Forest::Group>& groups = forest_.groups_;
  for (std::size_t t = 0; t < trees_.size(); ++t) {
    if (t % Forest::kGroupSize == 0) groups.push_back(Forest::Group{});
    Forest::Group& group = groups.back();
    group.roots[group.num_trees++] = trees_[t].root;
    group.depth = std::max(group.depth, trees_[t].depth);
    group.special = group.special || !trees_[t].plain;
  }
  forest_.num_trees_ = trees_.size();
  forest_.has_covers_ = std::all_of(forest_.covers_.begin(), forest_.covers_.end(),
                                    [](double c) { return std::isfinite(c) && c >= 0.0; });
  if (!forest_.has_covers_) forest_.covers_.clear();
  forest_.nodes_.shrink_to_fit();
  forest_.covers_.shrink_to_fit();
  forest_.leaf_values_.shrink_to_fit();
  groups.shrink_to_fit();
  forest_.batch_walk_ = ForestBatchWalk::Create(forest_);
  return std::move(forest_);
}

// ---- prediction ---------------------------------------------------------------------------

namespace {

// Where a categorical or zero-as-missing split sends x: 1 for right.
inline std::uint32_t SpecialGoesRight(double x, double value, std::uint16_t flags,
                                      const std::uint32_t* cat_bits) {
  if (flags & kCategoricalBit) {
    // LightGBM: NaN and int(x) < 0 go right; so does a category beyond the bitset.
    const auto bits = std::bit_cast<std::uint64_t>(value);
    const auto first = static_cast<std::uint32_t>(bits);
    const auto num_words = static_cast<std::uint32_t>(bits >> 32);
    if (!(x > -1.0 && x < 32.0 * num_words)) return 1;
    const auto category = static_cast<std::uint32_t>(x);  // truncates, as int(x)
    return ((cat_bits[first + category / 32] >> (category % 32)) & 1u) ^ 1u;
  }
  // Zero as missing: NaN and |x| <= LightGBM's zero take the default child.
  if (std::isnan(x) || std::fabs(x) <= kLightgbmZero) return (flags & kNanLeftBit) ? 0u : 1u;
  return static_cast<std::uint32_t>(!(x <= value));
}

bool HasNan(const double* row, std::size_t n) {
  bool any = false;
  for (std::size_t f = 0; f < n; ++f) any |= std::isnan(row[f]);
  return any;
}

}  // namespace

template <typename Acc, Forest::Walk kWalk>
void Forest::AddGroupLeaves(const Group& group, const double* row, Acc* sum) const noexcept {
  const Node* nodes = nodes_.data();
  std::uint32_t at[kGroupSize];
  for (std::size_t k = 0; k < kGroupSize; ++k) at[k] = group.roots[k];
  // The hot loop: per tree and step, a load of the node and of its feature, a compare and
  // an add, with no branch but the loop's. A leaf stays on itself; once every tree of the
  // group sits on a leaf (the AND of their flags has the leaf bit) the walk stops early.
  for (std::uint32_t step = 0; step < group.depth; ++step) {
    std::uint32_t all_flags = kLeafBit;
#pragma GCC unroll 8
    for (std::size_t k = 0; k < kGroupSize; ++k) {
      const Node& node = nodes[at[k]];
      const std::uint16_t flags = node.flags;
      all_flags &= flags;
      const double x = row[node.feature];
      if constexpr (kWalk == Walk::kNoNan) {
        at[k] = node.left + static_cast<std::uint32_t>(x > node.value);
      } else if constexpr (kWalk == Walk::kNan) {
        at[k] = node.left + GoesRight(x, node.value, flags);
      } else {
        at[k] = node.left + ((flags & kSpecialBit)
                                 ? SpecialGoesRight(x, node.value, flags, cat_bits_.data())
                                 : GoesRight(x, node.value, flags));
      }
    }
    if (all_flags & kLeafBit) break;
  }
  for (std::uint32_t k = 0; k < group.num_trees; ++k) {
    *sum += static_cast<Acc>(leaf_values_[at[k]]);
  }
}

template <typename Acc>
void Forest::AddLeaves(const Group& group, const double* row, bool has_nan,
                       Acc* sum) const noexcept {
  if (group.special) {
    AddGroupLeaves<Acc, Walk::kSpecial>(group, row, sum);
  } else if (has_nan) {
    AddGroupLeaves<Acc, Walk::kNan>(group, row, sum);
  } else {
    // Without NaN in the row, `x > threshold` alone decides every numerical split.
    AddGroupLeaves<Acc, Walk::kNoNan>(group, row, sum);
  }
}

template <typename Acc>
Acc Forest::SumTrees(const double* row) const noexcept {
  // Leaves are added in tree order, as the libraries do, so the float32 (XGBoost) and
  // double (LightGBM) sums round exactly as theirs.
  auto sum = static_cast<Acc>(base_margin_);
  const bool has_nan = HasNan(row, num_features());
  for (const Group& group : groups_) AddLeaves(group, row, has_nan, &sum);
  return sum;
}

template <typename Acc>
void Forest::SumTreesBlock(const double* rows, std::size_t num_rows, Acc* acc) const noexcept {
  const std::size_t stride = num_features();
  bool has_nan[kBlockRows];
  for (std::size_t r = 0; r < num_rows; ++r) {
    acc[r] = static_cast<Acc>(base_margin_);
    has_nan[r] = HasNan(rows + r * stride, stride);
  }
  // Group by group over the block, so a group's nodes stay in cache for every row.
  for (const Group& group : groups_) {
    for (std::size_t r = 0; r < num_rows; ++r) {
      AddLeaves(group, rows + r * stride, has_nan[r], &acc[r]);
    }
  }
}

double Forest::RiskFromMargin(double margin) const noexcept {
  if (format_ == ForestFormat::kXgboostJson) {
    // XGBoost's logistic transform runs in float32.
    const auto m = static_cast<float>(margin);
    return static_cast<double>(1.0f / (1.0f + std::exp(-m)));
  }
  return 1.0 / (1.0 + std::exp(-sigmoid_scale_ * margin));
}

std::uint32_t Forest::ChildFor(std::uint32_t node, const double* row) const noexcept {
  const Node& n = nodes_[node];
  const double x = row[n.feature];
  return n.left + ((n.flags & kSpecialBit) ? SpecialGoesRight(x, n.value, n.flags, cat_bits_.data())
                                           : GoesRight(x, n.value, n.flags));
}

void Forest::GoesRightInRange(std::uint32_t first, std::uint32_t count, const double* row,
                              std::uint8_t* right) const noexcept {
  for (std::uint32_t k = 0; k < count; ++k) {
    const Node& n = nodes_[first + k];
    const double x = row[n.feature];
    // A leaf's +infinity threshold sends everything but NaN left, and NaN goes left too.
    right[k] = static_cast<std::uint8_t>(
        (n.flags & kSpecialBit) ? SpecialGoesRight(x, n.value, n.flags, cat_bits_.data())
                                : GoesRight(x, n.value, n.flags));
  }
}

double Forest::PredictMargin(std::span<const double> row) const noexcept {
  if (row.size() == num_features() && row_vectorized()) {
    return batch_walk_->PredictMargin(*this, row.data());
  }
  return PredictMarginPortable(row);
}

double Forest::PredictMarginPortable(std::span<const double> row) const noexcept {
  if (row.size() != num_features()) return std::numeric_limits<double>::quiet_NaN();
  if (format_ == ForestFormat::kXgboostJson) {
    return static_cast<double>(SumTrees<float>(row.data()));
  }
  return SumTrees<double>(row.data());
}

double Forest::PredictRisk(std::span<const double> row) const noexcept {
  return RiskFromMargin(PredictMargin(row));
}

double Forest::TreeLeafValue(std::uint32_t root, const double* row) const noexcept {
  const Node* nodes = nodes_.data();
  std::uint32_t at = root;
  while ((nodes[at].flags & kLeafBit) == 0) {
    const Node& node = nodes[at];
    const double x = row[node.feature];
    at = node.left + ((node.flags & kSpecialBit)
                          ? SpecialGoesRight(x, node.value, node.flags, cat_bits_.data())
                          : GoesRight(x, node.value, node.flags));
  }
  return leaf_values_[at];
}

bool Forest::batch_vectorized() const noexcept {
  return batch_walk_ != nullptr && ForestBatchWalk::CpuSupported();
}

bool Forest::row_vectorized() const noexcept {
  return batch_walk_ != nullptr && batch_walk_->row_walk() && ForestBatchWalk::CpuSupported();
}

std::size_t Forest::batch_scalar_trees() const noexcept {
  return batch_walk_ != nullptr ? batch_walk_->num_scalar_trees() : num_trees_;
}

void Forest::PredictBatch(std::span<const double> rows, std::span<double> out) const noexcept {
  if (batch_vectorized() && rows.size() == out.size() * num_features()) {
    batch_walk_->PredictBatch(*this, rows, out);
    return;
  }
  PredictBatchPortable(rows, out);
}

void Forest::PredictBatchPortable(std::span<const double> rows,
                                  std::span<double> out) const noexcept {
  const std::size_t stride = num_features();
  if (rows.size() != out.size() * stride) {
    std::fill(out.begin(), out.end(), std::numeric_limits<double>::quiet_NaN());
    return;
  }
  for (std::size_t start = 0; start < out.size(); start += kBlockRows) {
    const std::size_t n = std::min(kBlockRows, out.size() - start);
    const double* block = rows.data() + start * stride;
    if (format_ == ForestFormat::kXgboostJson) {
      std::array<float, kBlockRows> acc;
      SumTreesBlock<float>(block, n, acc.data());
      for (std::size_t r = 0; r < n; ++r) out[start + r] = RiskFromMargin(acc[r]);
    } else {
      std::array<double, kBlockRows> acc;
      SumTreesBlock<double>(block, n, acc.data());
      for (std::size_t r = 0; r < n; ++r) out[start + r] = RiskFromMargin(acc[r]);
    }
  }
}

}  // namespace csml
