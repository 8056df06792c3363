#include "csml/predict/forest_explainer.h"

#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <utility>

#include <fmt/format.h>

namespace csml {
namespace {

constexpr std::uint16_t kLeafFlag = 1u << 15;  // Forest::Node's leaf bit

// Gauss-Legendre rule of n points on [0, 1]: exact for polynomials of degree <= 2n - 1.
// Newton's method on the Legendre polynomial P_n from the usual cosine guesses.
void GaussLegendre(std::uint32_t n, std::vector<double>* points, std::vector<double>* weights) {
  points->assign(n, 0.0);
  weights->assign(n, 0.0);
  for (std::uint32_t i = 0; i < n; ++i) {
    double x = std::cos(std::numbers::pi * (i + 0.75) / (n + 0.5));
    double derivative = 1.0;
    for (int iter = 0; iter < 100; ++iter) {
      double p0 = 1.0;
      double p1 = x;
      for (std::uint32_t k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      derivative = n * (x * p1 - p0) / (x * x - 1.0);
      const double step = p1 / derivative;
      x -= step;
      if (std::fabs(step) < 1e-16) break;
    }
    // Recompute the derivative at the converged root for the weight.
    double p0 = 1.0;
    double p1 = x;
    for (std::uint32_t k = 2; k <= n; ++k) {
      const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
      p0 = p1;
      p1 = p2;
    }
    derivative = n * (x * p1 - p0) / (x * x - 1.0);
    (*points)[i] = (1.0 - x) / 2.0;
    (*weights)[i] = 1.0 / ((1.0 - x * x) * derivative * derivative);  // 2 / (...) halved
  }
}

// One leaf's pattern table: for a leaf of value v whose path has d distinct features with
// cover fractions z[0..d), out[F * d + i] is feature i's contribution when the row fails
// exactly the features in bit set F (satisfies H = the others). With
// Q(H) = v sum over S in H of w(|S|) prod_{k not in S} z_k, w(s) = s! (d - s - 1)! / d!,
// a failed feature gets -Q(H) and a satisfied one (1 - z_i) v sum over S in H - i of
// w(|S|) prod_{k not in S + i} z_k; both sums over subsets are zeta transforms.
// O(d^2 2^d) time; work holds 3 x 2^d values.
void FillLeafTable(std::uint32_t d, const double* z, double v, double* out,
                   std::vector<double>* work) {
  const std::uint32_t size = 1u << d;
  const std::uint32_t full = size - 1;
  work->assign(std::size_t{3} * size, 0.0);
  double* z_product = work->data();  // by bit set C: prod_{k in C} z_k
  double* q = z_product + size;
  double* g = q + size;
  z_product[0] = 1.0;
  for (std::uint32_t c = 1; c < size; ++c) {
    z_product[c] = z_product[c & (c - 1)] * z[std::countr_zero(c)];
  }
  double weight[17] = {};
  for (std::uint32_t k = 0; k < d; ++k) {
    // k! (d - k - 1)! / d! as a product of d - 1 ratios, each at most 1.
    double w = 1.0 / d;
    for (std::uint32_t j = 1; j <= k; ++j) w *= static_cast<double>(j) / (d - k - 1 + j);
    weight[k] = w;
  }
  const auto zeta = [size](double* a, std::uint32_t skip_bit) {
    for (std::uint32_t b = 1; b < size; b <<= 1) {
      if (b == skip_bit) continue;
      for (std::uint32_t m = 0; m < size; ++m) {
        if (m & b) a[m] += a[m ^ b];
      }
    }
  };
  for (std::uint32_t m = 0; m < full; ++m) {
    q[m] = weight[std::popcount(m)] * z_product[full ^ m];
  }
  q[full] = 0.0;  // never needed: some feature is failed wherever Q is used
  zeta(q, 0);
  for (std::uint32_t i = 0; i < d; ++i) {
    const std::uint32_t bit = 1u << i;
    for (std::uint32_t m = 0; m < size; ++m) {
      g[m] = (m & bit) ? weight[std::popcount(m) - 1] * z_product[full ^ m] : 0.0;
    }
    zeta(g, bit);
    const double gain = (1.0 - z[i]) * v;
    for (std::uint32_t h = 0; h < size; ++h) {
      out[std::size_t{full ^ h} * d + i] = (h & bit) ? gain * g[h] : -v * q[h];
    }
  }
}

}  // namespace

struct ForestExplainer::Scratch {
  std::vector<double> f;            // per node x point: product of the path's factors
  std::vector<double> g;            // per node x point: sum over the subtree's leaves of value x f
  std::vector<double> before;       // per node: 1 when the row took the path of the node's
                                    // parent's feature so far (above this edge)
  std::vector<double> hot;          // per node: the same, this edge included
  std::vector<std::uint8_t> right;  // per node: the row goes right
  std::vector<std::uint32_t> mask;  // per node: the path features the row fails above it
  std::vector<const TableValue*> rows;  // per table: the row's row of it
  std::vector<std::uint64_t> bits;      // per table split: the row goes right
};

namespace {

ForestExplainer::Scratch& ThreadScratch(std::size_t nodes, std::size_t points, std::size_t tables,
                                        std::size_t words) {
  thread_local ForestExplainer::Scratch scratch;
  if (scratch.rows.size() < tables) scratch.rows.resize(tables);
  if (scratch.bits.size() < words) scratch.bits.resize(words);
  ++nodes;  // the virtual prior
  if (scratch.f.size() < nodes * points) {
    scratch.f.resize(nodes * points);
    scratch.g.resize(nodes * points);
  }
  if (scratch.hot.size() < nodes) {
    scratch.before.resize(nodes);
    scratch.hot.resize(nodes);
    scratch.right.resize(nodes);
    scratch.mask.resize(nodes);
  }
  return scratch;
}

}  // namespace

namespace {

// A tree's table row length for its distinct features: 4, 8 or 16 floats.
std::uint32_t StrideFor(std::uint32_t slots) { return slots <= 4 ? 4 : slots <= 8 ? 8 : 16; }

}  // namespace

struct ForestExplainer::TablePlan {
  std::size_t rows = 0;  // table rows of the whole tree; 0: not tabled
  std::uint32_t stride = 0;
  std::vector<std::uint16_t> slots;     // the tree's distinct features, ascending
  std::vector<std::uint32_t> parent;    // per local node
  std::vector<std::uint32_t> count;     // distinct features on the splits above the node
  std::vector<std::uint32_t> position;  // a split's feature's bit among its path's features
  std::vector<std::uint32_t> table;     // per node: its table root, or kAbove
};

namespace {

constexpr std::uint32_t kAbove = 0xffffffffu;
constexpr std::uint16_t kNanLeftBit = 1;
constexpr std::uint16_t kSpecialBit = 1u << 14;

}  // namespace

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t TableAllocation(std::size_t bytes) {
  return bytes < kHugePage ? bytes : (bytes + kHugePage - 1) / kHugePage * kHugePage;
}

}  // namespace

void* ForestExplainer::AllocateTable(std::size_t bytes) {
  if (bytes < kHugePage) return ::operator new (bytes, std::align_val_t{64});
  // A row loads one line from each of ~3,000 tables scattered over tens of MB: in 4 KiB
  // pages nearly every load also misses the TLB (a two-level walk under a hypervisor).
  // Asked before the pages are touched; a hint (transparent_hugepage "madvise" or
  // "always"), harmless where the kernel says no.
  const std::size_t size = TableAllocation(bytes);
  void* p = ::operator new (size, std::align_val_t{kHugePage});
  (void)madvise(p, size, MADV_HUGEPAGE);
  return p;
}

void ForestExplainer::FreeTable(void* p, std::size_t bytes) {
  ::operator delete (p, std::align_val_t{bytes < kHugePage ? 64 : kHugePage});
}

Result<ForestExplainer> ForestExplainer::Create(Forest forest) {
  return Create(std::move(forest), ForestExplainerOptions{});
}

Result<ForestExplainer> ForestExplainer::Create(Forest forest,
                                                const ForestExplainerOptions& options) {
  if (options.max_path_features > 16) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("explanations: max_path_features {} is above 16 (a leaf's "
                                 "table would hold 2^{} rows)",
                                 options.max_path_features, options.max_path_features));
  }
  if (!forest.has_covers()) {
    return MakeError(ErrorCode::kValidation,
                     "explanations need each node's cover (XGBoost sum_hessian, LightGBM "
                     "internal_count and leaf_count): the model has none");
  }
  ForestExplainer ex(std::move(forest));
  const Forest& f = ex.forest_;
  double baseline = f.base_margin_;

  // Roots in model order; a tree's nodes are contiguous, up to the next root.
  std::vector<std::uint32_t> roots;
  for (const Forest::Group& group : f.groups_) {
    for (std::uint32_t k = 0; k < group.num_trees; ++k) roots.push_back(group.roots[k]);
  }
  std::vector<double> points, weights;
  for (std::size_t t = 0; t < roots.size(); ++t) {
    const std::uint32_t root = roots[t];
    const std::size_t end = t + 1 < roots.size() ? roots[t + 1] : f.nodes_.size();
    const auto n = static_cast<std::uint32_t>(end - root);
    if (n == 1) {
      baseline += f.leaf_values_[root];
      continue;
    }
    Tree tree{root, n, 0, ex.nodes_.size(), ex.tables_.size(), 0, 0, 0};
    const std::size_t base = tree.node_offset;
    // n nodes and the virtual prior.
    ex.nodes_.resize(base + n + 1, Node{0, 0, kNoPrior});
    ex.z_.resize(base + n + 1, 1.0);
    ex.leaf_.resize(base + n + 1, 0.0);
    std::vector<std::uint32_t> parent(n, 0);
    std::vector<double> z_comb(n + 1, 1.0);   // the feature's cover fraction along the path
    std::vector<double> z_path(n, 1.0);       // product of every edge's fraction (for the bias)
    std::vector<std::uint32_t> unique(n, 0);  // distinct features on the path
    std::uint32_t max_unique = 0;
    for (std::uint32_t k = 0; k < n; ++k) {
      const Forest::Node& node = f.nodes_[root + k];
      Node& out = ex.nodes_[base + k];  // out.prior was set with its parent (the root's unused)
      if (node.flags & kLeafFlag) {
        out.left = 0;
        out.feature = 0;
        ex.leaf_[base + k] = f.leaf_values_[root + k];
        baseline += f.leaf_values_[root + k] * z_path[k];
        max_unique = std::max(max_unique, unique[k]);
        continue;
      }
      out.left = node.left - root;
      out.feature = node.feature;
      const double cover = f.covers_[root + k];
      const double left_cover = f.covers_[node.left];
      const double right_cover = f.covers_[node.left + 1];
      if (!(left_cover + right_cover > 0.0)) {
        return MakeError(ErrorCode::kValidation,
                         fmt::format("explanations: tree {} has a split whose children both have "
                                     "cover 0",
                                     t));
      }
      for (std::uint32_t side = 0; side < 2; ++side) {
        const std::uint32_t c = out.left + side;
        parent[c] = k;
        // The fraction of the split's rows that went this way; a split with cover 0 (which
        // XGBoost would divide by) splits by its children's covers.
        const double child_cover = side == 0 ? left_cover : right_cover;
        const double denom = cover > 0.0 ? cover : left_cover + right_cover;
        ex.z_[base + c] = child_cover / denom;
        std::uint32_t prior = kNoPrior;
        for (std::uint32_t a = k; a != 0; a = parent[a]) {
          if (ex.nodes_[base + parent[a]].feature == node.feature) {
            prior = a;
            break;
          }
        }
        ex.nodes_[base + c].prior = prior;
        z_comb[c] = (prior == kNoPrior ? 1.0 : z_comb[prior]) * ex.z_[base + c];
        z_path[c] = z_path[k] * ex.z_[base + c];
        unique[c] = unique[k] + (prior == kNoPrior ? 1u : 0u);
      }
    }
    // ceil(depth / 2) points integrate exactly; rounded up to 2, 4 or 8 with points of
    // weight 0 so the loops over points have the vector registers' lengths.
    const std::uint32_t exact = std::max(1u, (max_unique + 1) / 2);
    GaussLegendre(exact, &points, &weights);
    const std::uint32_t q = exact <= 8 ? std::bit_ceil(exact) : exact;
    points.resize(q, 0.5);
    weights.resize(q, 0.0);
    tree.num_points = q;
    // The rule: t, w and 1 / (1 - t) per point.
    tree.rule_offset = ex.rules_.size();
    for (std::uint32_t i = 0; i < q; ++i) ex.rules_.push_back(points[i]);
    for (std::uint32_t i = 0; i < q; ++i) ex.rules_.push_back(weights[i]);
    for (std::uint32_t i = 0; i < q; ++i) ex.rules_.push_back(1.0 / (1.0 - points[i]));
    // Per node (and the virtual prior of first occurrences, at index n): the combined cover
    // fraction and 1 / its hot factor per point.
    ex.z_comb_.resize(base + n + 1, 1.0);
    for (std::uint32_t c = 1; c < n; ++c) {
      ex.z_comb_[base + c] = z_comb[c];
      if (ex.nodes_[base + c].prior == kNoPrior) ex.nodes_[base + c].prior = n;
    }
    ex.tables_.resize(tree.table_offset + (std::size_t{n} + 1) * q, 1.0);
    for (std::uint32_t c = 1; c < n; ++c) {
      double* row = ex.tables_.data() + tree.table_offset + std::size_t{c} * q;
      for (std::uint32_t i = 0; i < q; ++i) {
        row[i] = 1.0 / (z_comb[c] * (1.0 - points[i]) + points[i]);
      }
    }
    tree.split_offset = ex.splits_.size();
    for (std::uint32_t k = 0; k < n; ++k) {
      if (ex.nodes_[base + k].left != 0) ex.splits_.push_back(k);
    }
    tree.num_splits = static_cast<std::uint32_t>(ex.splits_.size() - tree.split_offset);
    for (std::uint32_t k = 0; k < n; ++k) {
      if (ex.nodes_[base + k].left == 0) ex.splits_.push_back(k);
    }
    ex.max_nodes_ = std::max(ex.max_nodes_, n);
    ex.max_points_ = std::max(ex.max_points_, q);
    ex.trees_.push_back(tree);
  }
  ex.baseline_ = baseline;

  // Pattern tables for the trees they fit, smallest first, within the memory bound.
  std::vector<TablePlan> plans(ex.trees_.size());
  std::vector<std::pair<std::size_t, std::uint32_t>> candidates;  // (values, tree)
  for (std::uint32_t t = 0; t < ex.trees_.size(); ++t) {
    plans[t] = ex.PlanTables(ex.trees_[t], options.max_path_features);
    if (plans[t].rows != 0) candidates.emplace_back(plans[t].rows * plans[t].stride, t);
  }
  std::sort(candidates.begin(), candidates.end());
  const std::size_t budget = options.max_table_bytes / sizeof(TableValue);
  std::size_t used = 0;
  std::vector<bool> tabled(ex.trees_.size(), false);
  for (const auto& [values, t] : candidates) {
    if (values > budget - used) break;
    used += values;
    tabled[t] = true;
  }
  ex.table_.reserve(used);
  for (std::uint32_t t = 0; t < ex.trees_.size(); ++t) {
    if (tabled[t]) {
      ex.AddTableTree(ex.trees_[t], plans[t]);
    } else {
      ex.walk_only_.push_back(t);
    }
  }
  ex.IndexSplits();
  ex.max_vector_bits_ = options.max_vector_bits;
  return ex;
}

ForestExplainer::TablePlan ForestExplainer::PlanTables(const Tree& tree,
                                                       std::uint32_t max_bits) const {
  const Node* nodes = nodes_.data() + tree.node_offset;
  const std::uint32_t n = tree.num_nodes;
  TablePlan plan;
  plan.parent.assign(n, 0);
  plan.count.assign(n, 0);
  plan.position.assign(n, 0);
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t left = nodes[k].left;
    if (left == 0) continue;
    plan.slots.push_back(nodes[k].feature);
    // A child's prior is the virtual node n where its parent's feature first appears on
    // the path: that feature takes the next bit; a repeat shares the earlier split's bit.
    const std::uint32_t prior = nodes[left].prior;
    plan.position[k] = prior == n ? plan.count[k] : plan.position[plan.parent[prior]];
    for (std::uint32_t c = left; c <= left + 1; ++c) {
      plan.parent[c] = k;
      plan.count[c] = plan.count[k] + (prior == n ? 1u : 0u);
    }
  }
  std::sort(plan.slots.begin(), plan.slots.end());
  plan.slots.erase(std::unique(plan.slots.begin(), plan.slots.end()), plan.slots.end());
  if (plan.slots.size() > 16) return plan;
  plan.stride = StrideFor(static_cast<std::uint32_t>(plan.slots.size()));

  // Bottom up (children come after their parent): each subtree as one table
  // (2^(d + splits inside) rows) or as its children's best, one table while it has at most
  // twice their rows: a row costs one cache line load per table, and on the bench model
  // (docs/PERFORMANCE.md section 6) twice the memory for fewer loads was the faster
  // trade (1x: 5,074 tables, 13 MB, ~15% slower; 4x: 2,547 tables, 46 MB, no faster).
  constexpr std::size_t kRowsPerLoadSaved = 2;
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max() / 4;
  std::vector<std::size_t> best(n, kNone);
  std::vector<std::uint32_t> inside(n, 0);
  std::vector<std::uint8_t> whole(n, 0);
  for (std::uint32_t k = n; k-- > 0;) {
    const std::uint32_t left = nodes[k].left;
    const std::uint32_t bits =
        plan.count[k] + (left == 0 ? 0 : 1 + inside[left] + inside[left + 1]);
    if (left != 0) inside[k] = 1 + inside[left] + inside[left + 1];
    const std::size_t one = bits <= max_bits ? std::size_t{1} << bits : kNone;
    const std::size_t split = left == 0 ? kNone : std::min(kNone, best[left] + best[left + 1]);
    whole[k] = one != kNone && one <= kRowsPerLoadSaved * split ? 1 : 0;
    best[k] = whole[k] ? one : split;
  }
  if (best[0] >= kNone) return plan;
  plan.rows = best[0];
  // Top down: the highest node taken whole is a table root; its subtree is inside.
  plan.table.assign(n, kAbove);
  for (std::uint32_t k = 0; k < n; ++k) {
    if (plan.table[k] == kAbove && whole[k]) plan.table[k] = k;
    const std::uint32_t left = nodes[k].left;
    if (left != 0 && plan.table[k] != kAbove) {
      plan.table[left] = plan.table[k];
      plan.table[left + 1] = plan.table[k];
    }
  }
  return plan;
}

void ForestExplainer::AddTableTree(const Tree& tree, const TablePlan& plan) {
  const std::size_t base = tree.node_offset;
  const Node* nodes = nodes_.data() + base;
  const double* z = z_.data() + base;
  const double* leaf = leaf_.data() + base;
  const std::uint32_t n = tree.num_nodes;
  const std::uint32_t stride = plan.stride;
  TableTree out{};
  out.root = tree.root;
  out.num_nodes = n;
  out.slot_begin = static_cast<std::uint32_t>(table_slots_.size());
  out.num_slots = static_cast<std::uint32_t>(plan.slots.size());
  out.stride = stride;
  table_slots_.insert(table_slots_.end(), plan.slots.begin(), plan.slots.end());
  std::vector<std::uint32_t> slot_of(forest_.num_features(), 0);
  for (std::uint32_t s = 0; s < out.num_slots; ++s) slot_of[plan.slots[s]] = s;

  // The splits: above ones in breadth-first order (a parent's failed set before its
  // children's), then the inside ones, each numbered within its table after the table
  // root's path bits.
  const auto split_of = [&](std::uint32_t k, std::uint32_t target, std::uint32_t bit) {
    const Forest::Node& node = forest_.nodes_[tree.root + k];
    return TableSplit{node.value, node.feature, node.flags, k, target, bit};
  };
  std::vector<std::uint32_t> next_bit(n, 0);       // per table root: its next direction bit
  std::vector<std::uint32_t> direction_bit(n, 0);  // per inside split
  out.above_begin = static_cast<std::uint32_t>(table_splits_.size());
  for (std::uint32_t k = 0; k < n; ++k) {
    if (nodes[k].left != 0 && plan.table[k] == kAbove) {
      table_splits_.push_back(split_of(k, nodes[k].left, 1u << plan.position[k]));
    }
  }
  out.num_above = static_cast<std::uint32_t>(table_splits_.size()) - out.above_begin;
  out.inside_begin = static_cast<std::uint32_t>(table_splits_.size());
  for (std::uint32_t k = 0; k < n; ++k) {
    const std::uint32_t t = plan.table[k];
    if (t == kAbove) continue;
    if (t == k) next_bit[k] = plan.count[k];
    if (nodes[k].left == 0) continue;
    direction_bit[k] = next_bit[t]++;
    table_splits_.push_back(split_of(k, t, 1u << direction_bit[k]));
  }
  out.num_inside = static_cast<std::uint32_t>(table_splits_.size()) - out.inside_begin;
  // By table, in the tables' order (their roots'), so a row ORs each table's directions in
  // a register.
  std::stable_sort(table_splits_.begin() + out.inside_begin, table_splits_.end(),
                   [](const TableSplit& a, const TableSplit& b) { return a.target < b.target; });
  std::vector<std::uint32_t> inside_of(n, 0);
  for (std::uint32_t k = 0; k < n; ++k) {
    if (plan.table[k] != kAbove && nodes[k].left != 0) ++inside_of[plan.table[k]];
  }

  // Each table: every leaf below its root adds its own pattern table's row for the
  // failed set each index implies. Sums in double, rounded to float once.
  out.table_begin = static_cast<std::uint32_t>(table_roots_.size());
  std::vector<double> work, sparse, sums;
  std::uint32_t slot[17];
  double fraction[17];
  struct Step {
    std::uint32_t direction;  // the index bit of the split
    std::uint32_t right;      // 1 when the path goes right there
    std::uint32_t fail;       // the failed-set bit of the split's feature
  };
  std::vector<Step> steps;
  for (std::uint32_t r = 0; r < n; ++r) {
    if (plan.table[r] != r) continue;
    const std::uint32_t bits = next_bit[r];
    const std::size_t rows = std::size_t{1} << bits;
    const std::uint32_t above_mask = (1u << plan.count[r]) - 1;
    sums.assign(rows * stride, 0.0);
    for (std::uint32_t l = r; l < n; ++l) {
      if (plan.table[l] != r || nodes[l].left != 0) continue;
      const std::uint32_t width = plan.count[l];
      for (std::uint32_t j = 0; j < width; ++j) fraction[j] = 1.0;
      steps.clear();
      for (std::uint32_t c = l; c != 0; c = plan.parent[c]) {
        const std::uint32_t p = plan.parent[c];
        const std::uint32_t j = plan.position[p];
        slot[j] = slot_of[nodes[p].feature];
        fraction[j] *= z[c];
        if (plan.table[p] == r) {
          steps.push_back(Step{direction_bit[p], c == nodes[p].left + 1 ? 1u : 0u, 1u << j});
        }
      }
      const std::size_t patterns = std::size_t{1} << width;
      sparse.resize(patterns * width);
      FillLeafTable(width, fraction, leaf[l], sparse.data(), &work);
      for (std::size_t index = 0; index < rows; ++index) {
        std::uint32_t failed = static_cast<std::uint32_t>(index) & above_mask;
        for (const Step& step : steps) {
          if (((index >> step.direction) & 1u) != step.right) failed |= step.fail;
        }
        const double* values = sparse.data() + std::size_t{failed} * width;
        double* row = sums.data() + index * stride;
        for (std::uint32_t j = 0; j < width; ++j) row[slot[j]] += values[j];
      }
    }
    const TableRoot entry{r, static_cast<std::uint16_t>(inside_of[r]),
                          static_cast<std::uint16_t>(plan.count[r]), table_.size()};
    table_.resize(table_.size() + rows * stride);
    for (std::size_t i = 0; i < rows * stride; ++i) {
      table_[entry.offset + i] = static_cast<TableValue>(sums[i]);
    }
    table_roots_.push_back(entry);
  }
  out.num_tables = static_cast<std::uint32_t>(table_roots_.size()) - out.table_begin;
  table_trees_.push_back(out);
}

void ForestExplainer::IndexSplits() {
  const std::size_t n = table_splits_.size();
  const std::size_t padded = (n + 7) / 8 * 8;
  split_features_.assign(padded, 0);
  split_values_.assign(padded, std::numeric_limits<double>::infinity());
  split_nan_left_.assign(padded / 8, 0);
  special_splits_.clear();
  for (const TableTree& tree : table_trees_) {
    const std::size_t end = std::size_t{tree.inside_begin} + tree.num_inside;
    for (std::size_t s = tree.above_begin; s < end; ++s) {
      const TableSplit& split = table_splits_[s];
      split_features_[s] = split.feature;
      split_values_[s] = split.value;
      if (split.flags & kNanLeftBit) split_nan_left_[s / 8] |= std::uint8_t(1u << (s % 8));
      if (split.flags & kSpecialBit) {
        special_splits_.emplace_back(static_cast<std::uint32_t>(s), tree.root + split.node);
      }
    }
  }
}

namespace {

// Eight splits' directions (bit i: split i goes right): x <= t false and not (NaN and
// NaN-goes-left), as the forest's walk.
__attribute__((target("avx2"))) void FindDirectionsAvx2(const std::int64_t* features,
                                                        const double* values,
                                                        const std::uint8_t* nan_left,
                                                        std::size_t groups, const double* row,
                                                        std::uint64_t* bits) {
  std::uint64_t word = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    const __m256i f0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(features + 8 * g));
    const __m256i f1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(features + 8 * g + 4));
    const __m256d all = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    const __m256d x0 = _mm256_mask_i64gather_pd(_mm256_setzero_pd(), row, f0, all, 8);
    const __m256d x1 = _mm256_mask_i64gather_pd(_mm256_setzero_pd(), row, f1, all, 8);
    const __m256d t0 = _mm256_loadu_pd(values + 8 * g);
    const __m256d t1 = _mm256_loadu_pd(values + 8 * g + 4);
    const auto le =
        static_cast<std::uint32_t>(_mm256_movemask_pd(_mm256_cmp_pd(x0, t0, _CMP_LE_OQ)) |
                                   (_mm256_movemask_pd(_mm256_cmp_pd(x1, t1, _CMP_LE_OQ)) << 4));
    const auto nan =
        static_cast<std::uint32_t>(_mm256_movemask_pd(_mm256_cmp_pd(x0, x0, _CMP_UNORD_Q)) |
                                   (_mm256_movemask_pd(_mm256_cmp_pd(x1, x1, _CMP_UNORD_Q)) << 4));
    const std::uint64_t right = ~(le | (nan & nan_left[g])) & 0xffu;
    word |= right << (8 * (g % 8));
    if (g % 8 == 7) {
      bits[g / 8] = word;
      word = 0;
    }
  }
  bits[groups / 8] = word;
}

// The same for at most 16 features, AVX-512: each split's value picked from the row held in
// two registers (one permute, no gather), eight splits a compare.
__attribute__((target("avx512f"))) void FindDirectionsAvx512(
    const std::int64_t* features, const double* values, const std::uint8_t* nan_left,
    std::size_t groups, const double* row, std::size_t num_features, std::uint64_t* bits) {
  double padded[16] = {};
  std::memcpy(padded, row, num_features * sizeof(double));
  const __m512d lo = _mm512_loadu_pd(padded);
  const __m512d hi = _mm512_loadu_pd(padded + 8);
  std::uint64_t word = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    const __m512i f = _mm512_loadu_si512(features + 8 * g);
    const __m512d x = _mm512_permutex2var_pd(lo, f, hi);
    const __m512d t = _mm512_loadu_pd(values + 8 * g);
    const auto le = static_cast<std::uint32_t>(_mm512_cmp_pd_mask(x, t, _CMP_LE_OQ));
    const auto nan = static_cast<std::uint32_t>(_mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q));
    const std::uint64_t right = ~(le | (nan & nan_left[g])) & 0xffu;
    word |= right << (8 * (g % 8));
    if (g % 8 == 7) {
      bits[g / 8] = word;
      word = 0;
    }
  }
  bits[groups / 8] = word;
}

}  // namespace

void ForestExplainer::FindDirections(const double* row, std::uint64_t* bits) const {
  static const bool kAvx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  static const bool kAvx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  const std::size_t groups = split_values_.size() / 8;
  if (max_vector_bits_ >= 512 && kAvx512 && num_features() <= 16) {
    FindDirectionsAvx512(split_features_.data(), split_values_.data(), split_nan_left_.data(),
                         groups, row, num_features(), bits);
  } else if (max_vector_bits_ >= 256 && kAvx2) {
    FindDirectionsAvx2(split_features_.data(), split_values_.data(), split_nan_left_.data(), groups,
                       row, bits);
  } else {
    std::fill(bits, bits + SplitWords(), 0);
    for (std::size_t s = 0; s < groups * 8; ++s) {
      const double x = row[split_features_[s]];
      const bool nan_left = std::isnan(x) && ((split_nan_left_[s / 8] >> (s % 8)) & 1u) != 0;
      if (!(x <= split_values_[s] || nan_left)) bits[s / 64] |= std::uint64_t{1} << (s % 64);
    }
  }
  bits[SplitWords() - 1] = 0;  // FindTableRows reads 8 bytes from any split's byte
  for (const auto& [s, node] : special_splits_) {
    const std::uint64_t bit = std::uint64_t{1} << (s % 64);
    if (forest_.ChildFor(node, row) != forest_.nodes_[node].left) {
      bits[s / 64] |= bit;
    } else {
      bits[s / 64] &= ~bit;
    }
  }
}

const ForestExplainer::TableValue** ForestExplainer::FindTableRows(const TableTree& tree,
                                                                   const std::uint64_t* bits,
                                                                   std::uint32_t* index,
                                                                   const TableValue** rows) const {
  // Down: the features the row fails on the way to each node above the tables (going
  // right fails the left child's side of the split, and the other way round), then the
  // directions inside each table's subtree (consecutive bits, in the order of the index's
  // bits).
  const auto* bytes = reinterpret_cast<const unsigned char*>(bits);
  const auto field = [bytes](std::size_t s, std::uint32_t width) {
    std::uint64_t word;
    std::memcpy(&word, bytes + s / 8, sizeof(word));
    return static_cast<std::uint32_t>((word >> (s % 8)) & ((std::uint64_t{1} << width) - 1));
  };
  index[0] = 0;
  const TableSplit* above = table_splits_.data() + tree.above_begin;
  for (std::uint32_t first = 0; first < tree.num_above; first += 56) {
    // Up to 56 directions from one unaligned word.
    const std::uint32_t count = std::min(tree.num_above - first, 56u);
    std::uint64_t word;
    const std::size_t at = std::size_t{tree.above_begin} + first;
    std::memcpy(&word, bytes + at / 8, sizeof(word));
    word >>= at % 8;
    for (std::uint32_t s = first; s < first + count; ++s, word >>= 1) {
      const TableSplit& split = above[s];
      const std::uint32_t failed = index[split.node];
      const std::uint32_t goes_right = (0u - static_cast<std::uint32_t>(word & 1u)) & split.bit;
      index[split.target] = failed | goes_right;
      index[split.target + 1] = failed | (split.bit ^ goes_right);
    }
  }
  std::size_t inside = tree.inside_begin;
  const TableRoot* roots = table_roots_.data() + tree.table_begin;
  const TableValue* table = table_.data();
  for (std::uint32_t t = 0; t < tree.num_tables; ++t) {
    const TableRoot& root = roots[t];
    const std::uint32_t at_root =
        index[root.node] | (field(inside, root.num_inside) << root.first_bit);
    inside += root.num_inside;
    const TableValue* at = table + root.offset + std::size_t{at_root} * tree.stride;
    __builtin_prefetch(at);
    if (tree.stride * sizeof(TableValue) > 64) __builtin_prefetch(at + 64 / sizeof(TableValue));
    *rows++ = at;
  }
  return rows;
}

template <std::uint32_t kStride>
const ForestExplainer::TableValue* const* ForestExplainer::AddTableRows(
    const TableTree& tree, const TableValue* const* rows, double* out) const {
  using Vec = TableValue __attribute__((vector_size(16)));
  constexpr std::uint32_t kLanes = 16 / sizeof(TableValue);
  constexpr std::uint32_t kVecs = kStride / kLanes;
  Vec acc[kVecs] = {};
  for (std::uint32_t t = 0; t < tree.num_tables; ++t) {
    const TableValue* values = *rows++;
#pragma GCC unroll 8
    for (std::uint32_t v = 0; v < kVecs; ++v) {
      Vec x;
      std::memcpy(&x, values + std::size_t{kLanes} * v, sizeof(Vec));
      acc[v] += x;
    }
  }
  TableValue sums[kStride];
  std::memcpy(sums, acc, sizeof(sums));
  const std::uint16_t* slots = table_slots_.data() + tree.slot_begin;
  for (std::uint32_t s = 0; s < tree.num_slots; ++s) out[slots[s]] += sums[s];
  return rows;
}

template <std::uint32_t kQ>
void ForestExplainer::ExplainTree(const Tree& tree, const double* row, Scratch* scratch,
                                  double* out) const {
  // kQ == 0: the point count is only known at run time (deep trees).
  const std::uint32_t q = kQ == 0 ? tree.num_points : kQ;
  const std::uint32_t n = tree.num_nodes;
  const Node* nodes = nodes_.data() + tree.node_offset;
  const double* z = z_.data() + tree.node_offset;
  const double* zc = z_comb_.data() + tree.node_offset;
  const double* leaf = leaf_.data() + tree.node_offset;
  const double* inv_hot = tables_.data() + tree.table_offset;
  const double* t = rules_.data() + tree.rule_offset;
  const double* w = t + q;
  const double* inv_cold = t + std::size_t{2} * q;  // 1 / (1 - t)
  const std::uint32_t* splits = splits_.data() + tree.split_offset;
  const std::uint32_t* leaves = splits + tree.num_splits;
  double* f = scratch->f.data();
  double* g = scratch->g.data();
  double* before = scratch->before.data();
  double* hot = scratch->hot.data();
  std::uint8_t* right = scratch->right.data();
  forest_.GoesRightInRange(tree.root, n, row, right);
  before[n] = 1.0;  // the virtual prior of a feature's first split on a path: hot, z 1
  hot[n] = 1.0;

  // Down, split by split (no branch on the row's data): each feature's "the row takes this
  // path so far" (hot) and the product of the path's factors z (1 - t) + o t per point, the
  // child's factor replacing the prior one of the same feature. A feature already cold
  // above has both factors z (1 - t), so its ratio is the edge's own fraction.
  for (std::uint32_t i = 0; i < q; ++i) f[i] = 1.0;
  for (std::uint32_t s = 0; s < tree.num_splits; ++s) {
    const std::uint32_t k = splits[s];
    const std::uint32_t left = nodes[k].left;
    const double* fk = f + std::size_t{k} * q;
    const double goes_right = right[k];
    for (std::uint32_t side = 0; side < 2; ++side) {
      const std::uint32_t c = left + side;
      const std::uint32_t prior = nodes[c].prior;
      const double b = hot[prior];
      const double h = side == 0 ? 1.0 - goes_right : goes_right;
      before[c] = b;
      hot[c] = b * h;
      const double* inv_prior = inv_hot + std::size_t{prior} * q;
      const double cold_ratio = z[c] * (1.0 - b);
      double* fc = f + std::size_t{c} * q;
      for (std::uint32_t i = 0; i < q; ++i) {
        const double ratio = b * (zc[c] * (1.0 - t[i]) + h * t[i]) * inv_prior[i] + cold_ratio;
        fc[i] = fk[i] * ratio;
      }
    }
  }
  for (std::uint32_t s = 0; s < n - tree.num_splits; ++s) {
    const std::uint32_t k = leaves[s];
    const double* fk = f + std::size_t{k} * q;
    double* gk = g + std::size_t{k} * q;
    for (std::uint32_t i = 0; i < q; ++i) gk[i] = leaf[k] * fk[i];
  }
  // Up: a split's sum is its children's; each child edge adds its share
  // (o - z) / f - (o_prior - z_prior) / f_prior to the split's feature (nothing when the
  // feature was already cold above). Breadth-first order puts children after their parent.
  for (std::uint32_t s = tree.num_splits; s-- > 0;) {
    const std::uint32_t k = splits[s];
    const Node& node = nodes[k];
    double share = 0.0;
    for (std::uint32_t c = node.left; c <= node.left + 1; ++c) {
      const double* gc = g + std::size_t{c} * q;
      const std::uint32_t prior = nodes[c].prior;
      const double* inv_prior = inv_hot + std::size_t{prior} * q;
      const double* inv_c = inv_hot + std::size_t{c} * q;
      const double prior_gap = 1.0 - zc[prior];
      const double h = hot[c];
      const double hot_gap = h * (1.0 - zc[c]);
      const double cold = 1.0 - h;
      double edge = 0.0;
      for (std::uint32_t i = 0; i < q; ++i) {
        edge += w[i] * (hot_gap * inv_c[i] - cold * inv_cold[i] - prior_gap * inv_prior[i]) * gc[i];
      }
      share += before[c] * edge;
    }
    double* gk = g + std::size_t{k} * q;
    const double* gl = g + std::size_t{node.left} * q;
    for (std::uint32_t i = 0; i < q; ++i) gk[i] = gl[i] + gl[q + i];
    out[node.feature] += share;
  }
}

void ForestExplainer::ExplainRow(const double* row, bool by_walk, double* out) const {
  Scratch& scratch = ThreadScratch(max_nodes_, max_points_, table_roots_.size(), SplitWords());
  if (by_walk) {
    for (const Tree& tree : trees_) WalkTree(tree, row, &scratch, out);
    return;
  }
  // Every table row this row needs, prefetched, then their sums: the loads overlap.
  const TableValue** rows = scratch.rows.data();
  FindDirections(row, scratch.bits.data());
  for (const TableTree& tree : table_trees_) {
    rows = FindTableRows(tree, scratch.bits.data(), scratch.mask.data(), rows);
  }
  const TableValue* const* next = scratch.rows.data();
  for (const TableTree& tree : table_trees_) {
    switch (tree.stride) {
      case 4:
        next = AddTableRows<4>(tree, next, out);
        break;
      case 8:
        next = AddTableRows<8>(tree, next, out);
        break;
      default:
        next = AddTableRows<16>(tree, next, out);
        break;
    }
  }
  for (const std::uint32_t t : walk_only_) WalkTree(trees_[t], row, &scratch, out);
}

void ForestExplainer::WalkTree(const Tree& tree, const double* row, Scratch* scratch,
                               double* out) const {
  switch (tree.num_points) {
    case 1:
      ExplainTree<1>(tree, row, scratch, out);
      break;
    case 2:
      ExplainTree<2>(tree, row, scratch, out);
      break;
    case 4:
      ExplainTree<4>(tree, row, scratch, out);
      break;
    case 8:
      ExplainTree<8>(tree, row, scratch, out);
      break;
    default:
      ExplainTree<0>(tree, row, scratch, out);
      break;
  }
}

void ForestExplainer::Explain(std::span<const double> row, std::span<double> contributions) const {
  const std::size_t m = num_features();
  if (row.size() != m || contributions.size() != m) {
    std::fill(contributions.begin(), contributions.end(), std::numeric_limits<double>::quiet_NaN());
    return;
  }
  std::fill(contributions.begin(), contributions.end(), 0.0);
  ExplainRow(row.data(), false, contributions.data());
}

void ForestExplainer::ExplainByNodeWalk(std::span<const double> row,
                                        std::span<double> contributions) const {
  const std::size_t m = num_features();
  if (row.size() != m || contributions.size() != m) {
    std::fill(contributions.begin(), contributions.end(), std::numeric_limits<double>::quiet_NaN());
    return;
  }
  std::fill(contributions.begin(), contributions.end(), 0.0);
  ExplainRow(row.data(), true, contributions.data());
}

void ForestExplainer::ExplainBatch(std::span<const double> rows,
                                   std::span<double> contributions) const {
  const std::size_t m = num_features();
  if (rows.size() != contributions.size() || m == 0) {
    std::fill(contributions.begin(), contributions.end(), std::numeric_limits<double>::quiet_NaN());
    return;
  }
  for (std::size_t start = 0; start < rows.size(); start += m) {
    Explain(rows.subspan(start, m), contributions.subspan(start, m));
  }
}

double ForestExplainer::ExpectedMargin(std::span<const double> row,
                                       const std::vector<bool>& known) const {
  const std::size_t m = num_features();
  if (row.size() != m || known.size() != m) return std::numeric_limits<double>::quiet_NaN();
  // The baseline holds every tree's unconditional mean (one-leaf trees only there); each
  // tree with splits swaps its own for the conditional one.
  double total = baseline_;
  for (const Tree& tree : trees_) {
    // Subtract the tree's unconditional mean, add its conditional one.
    std::vector<double> all(tree.num_nodes, 0.0);
    std::vector<double> cond(tree.num_nodes, 0.0);
    const Node* nodes = nodes_.data() + tree.node_offset;
    const double* z = z_.data() + tree.node_offset;
    const double* leaf = leaf_.data() + tree.node_offset;
    for (std::uint32_t k = tree.num_nodes; k-- > 0;) {
      const Node& node = nodes[k];
      if (node.left == 0) {
        all[k] = cond[k] = leaf[k];
        continue;
      }
      const std::uint32_t l = node.left;
      all[k] = z[l] * all[l] + z[l + 1] * all[l + 1];
      if (known[node.feature]) {
        cond[k] = cond[forest_.ChildFor(tree.root + k, row.data()) - tree.root];
      } else {
        cond[k] = z[l] * cond[l] + z[l + 1] * cond[l + 1];
      }
    }
    total += cond[0] - all[0];
  }
  return total;
}

}  // namespace csml
