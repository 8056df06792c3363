#include "csml/predict/forest.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "forest_builder.h"

namespace csml {
namespace {

using predict_detail::NodeNamer;
using predict_detail::RawKind;
using predict_detail::RawNode;

// Layout of Node::feature_and_flags.
constexpr std::uint32_t kFeatureMask = (std::uint32_t{1} << 24) - 1;
constexpr int kNanLeftShift = 24;
constexpr int kKindShift = 30;
constexpr std::uint32_t kKindNumeric = 0;
constexpr std::uint32_t kKindZeroAsMissing = 1;
constexpr std::uint32_t kKindCategorical = 2;
constexpr std::uint32_t kKindLeaf = 3;
// Any feature_and_flags at or above this is a leaf (kind bits 11).
constexpr std::uint32_t kLeafFlags = kKindLeaf << kKindShift;

// LightGBM's kZeroThreshold is the float 1e-35f; widened it is 1.0000000180025095e-35.
constexpr double kLightgbmZero = static_cast<double>(1e-35f);

// Rows per block in PredictBatch: enough that a tree's nodes are reused while hot in L1,
// few enough that the accumulators stay in registers and stack.
constexpr std::size_t kBlockRows = 32;

std::uint32_t KindBits(RawKind kind) {
  switch (kind) {
    case RawKind::kNumeric:
      return kKindNumeric;
    case RawKind::kZeroAsMissing:
      return kKindZeroAsMissing;
    case RawKind::kCategorical:
      return kKindCategorical;
    case RawKind::kLeaf:
      return kKindLeaf;
  }
  return kKindLeaf;
}

// Branch-free numerical decision: 1 when x goes right. `x <= t` is false for NaN, so NaN
// goes left exactly when the node's NaN bit is set.
inline std::uint32_t GoesRight(double x, double threshold, std::uint32_t flags) {
  const auto le = static_cast<std::uint32_t>(x <= threshold);
  const auto nan_left = static_cast<std::uint32_t>(std::isnan(x)) & (flags >> kNanLeftShift);
  return 1u ^ ((le | nan_left) & 1u);
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

ForestBuilder::ForestBuilder(ForestFormat format, std::vector<std::string> feature_names) {
  forest_.format_ = format;
  forest_.feature_names_ = std::move(feature_names);
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
  order.reserve(nodes.size());
  new_index[0] = 0;
  order.push_back(0);
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
      if (!std::isfinite(node.value)) {
        return fail(fmt::format("{}: threshold {} is not finite", namer(raw), node.value));
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
    }
  }
  if (order.size() + allowed_unreachable < nodes.size()) {
    const auto it = std::find(new_index.begin(), new_index.end(), kUnseen);
    return fail(fmt::format("{} is not reachable from the root ({} of {} nodes are)",
                            namer(static_cast<std::size_t>(it - new_index.begin())), order.size(),
                            nodes.size()));
  }

  forest_.nodes_.reserve(base + order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    const RawNode& node = nodes[order[k]];
    Forest::Node out{};
    if (node.kind == RawKind::kLeaf) {
      out.value = node.value;
      out.feature_and_flags = kLeafFlags;
      out.left = static_cast<std::uint32_t>(base + k);
    } else {
      out.value = node.kind == RawKind::kCategorical
                      ? std::bit_cast<double>(std::uint64_t{node.cat_first_word} |
                                              (std::uint64_t{node.cat_num_words} << 32))
                      : node.value;
      out.feature_and_flags = static_cast<std::uint32_t>(node.feature) |
                              (static_cast<std::uint32_t>(node.nan_left) << kNanLeftShift) |
                              (KindBits(node.kind) << kKindShift);
      out.left = static_cast<std::uint32_t>(base + new_index[static_cast<std::size_t>(node.left)]);
    }
    forest_.nodes_.push_back(out);
  }
  forest_.trees_.push_back(Forest::Tree{static_cast<std::uint32_t>(base), plain});
  return {};
}

Result<Forest> ForestBuilder::Build() && {
  if (forest_.trees_.empty()) {
    return MakeError(ErrorCode::kValidation, "the model has no trees");
  }
  forest_.nodes_.shrink_to_fit();
  forest_.trees_.shrink_to_fit();
  return std::move(forest_);
}

// ---- prediction ---------------------------------------------------------------------------

std::uint32_t Forest::LeafOf(const Tree& tree, const double* row) const noexcept {
  const Node* nodes = nodes_.data();
  std::uint32_t i = tree.root;
  if (tree.plain) {
    // The hot loop: one load of the node, one of the feature, a compare and an add; the
    // only branch is the loop exit.
    for (;;) {
      const Node& node = nodes[i];
      const std::uint32_t flags = node.feature_and_flags;
      if (flags >= kLeafFlags) return i;
      i = node.left + GoesRight(row[flags & kFeatureMask], node.value, flags);
    }
  }
  for (;;) {
    const Node& node = nodes[i];
    const std::uint32_t flags = node.feature_and_flags;
    const double x = row[flags & kFeatureMask];
    switch (flags >> kKindShift) {
      case kKindNumeric:
        i = node.left + GoesRight(x, node.value, flags);
        break;
      case kKindZeroAsMissing:
        if (std::isnan(x) || std::fabs(x) <= kLightgbmZero) {
          i = node.left + (((flags >> kNanLeftShift) & 1u) ^ 1u);
        } else {
          i = node.left + static_cast<std::uint32_t>(!(x <= node.value));
        }
        break;
      case kKindCategorical: {
        // LightGBM: NaN and int(x) < 0 go right; so does a category beyond the bitset.
        const auto bits = std::bit_cast<std::uint64_t>(node.value);
        const auto first = static_cast<std::uint32_t>(bits);
        const auto num_words = static_cast<std::uint32_t>(bits >> 32);
        std::uint32_t right = 1;
        if (x > -1.0 && x < 32.0 * num_words) {
          const auto category = static_cast<std::uint32_t>(x);  // truncates, as int(x)
          right = ((cat_bits_[first + category / 32] >> (category % 32)) & 1u) ^ 1u;
        }
        i = node.left + right;
        break;
      }
      default:
        return i;
    }
  }
}

template <typename Acc>
Acc Forest::SumTrees(const double* row) const noexcept {
  // Leaves are added in tree order, as the libraries do, so the float32 (XGBoost) and
  // double (LightGBM) sums round exactly as theirs.
  auto sum = static_cast<Acc>(base_margin_);
  for (const Tree& tree : trees_) sum += static_cast<Acc>(nodes_[LeafOf(tree, row)].value);
  return sum;
}

template <typename Acc>
void Forest::SumTreesBlock(const double* rows, std::size_t num_rows, Acc* acc) const noexcept {
  const std::size_t stride = num_features();
  for (std::size_t r = 0; r < num_rows; ++r) acc[r] = static_cast<Acc>(base_margin_);
  for (const Tree& tree : trees_) {
    for (std::size_t r = 0; r < num_rows; ++r) {
      acc[r] += static_cast<Acc>(nodes_[LeafOf(tree, rows + r * stride)].value);
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

double Forest::PredictMargin(std::span<const double> row) const noexcept {
  if (row.size() != num_features()) return std::numeric_limits<double>::quiet_NaN();
  if (format_ == ForestFormat::kXgboostJson) {
    return static_cast<double>(SumTrees<float>(row.data()));
  }
  return SumTrees<double>(row.data());
}

double Forest::PredictRisk(std::span<const double> row) const noexcept {
  return RiskFromMargin(PredictMargin(row));
}

void Forest::PredictBatch(std::span<const double> rows, std::span<double> out) const noexcept {
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
