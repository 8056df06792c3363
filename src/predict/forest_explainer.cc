#include "csml/predict/forest_explainer.h"

#include <algorithm>
#include <bit>
#include <cmath>
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

}  // namespace

struct ForestExplainer::Scratch {
  std::vector<double> f;            // per node x point: product of the path's factors
  std::vector<double> g;            // per node x point: sum over the subtree's leaves of value x f
  std::vector<double> before;       // per node: 1 when the row took the path of the node's
                                    // parent's feature so far (above this edge)
  std::vector<double> hot;          // per node: the same, this edge included
  std::vector<std::uint8_t> right;  // per node: the row goes right
};

namespace {

ForestExplainer::Scratch& ThreadScratch(std::size_t nodes, std::size_t points) {
  thread_local ForestExplainer::Scratch scratch;
  ++nodes;  // the virtual prior
  if (scratch.f.size() < nodes * points) {
    scratch.f.resize(nodes * points);
    scratch.g.resize(nodes * points);
  }
  if (scratch.hot.size() < nodes) {
    scratch.before.resize(nodes);
    scratch.hot.resize(nodes);
    scratch.right.resize(nodes);
  }
  return scratch;
}

}  // namespace

Result<ForestExplainer> ForestExplainer::Create(Forest forest) {
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
  return ex;
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

void ForestExplainer::ExplainRow(const double* row, double* out) const {
  Scratch& scratch = ThreadScratch(max_nodes_, max_points_);
  for (const Tree& tree : trees_) {
    switch (tree.num_points) {
      case 1:
        ExplainTree<1>(tree, row, &scratch, out);
        break;
      case 2:
        ExplainTree<2>(tree, row, &scratch, out);
        break;
      case 4:
        ExplainTree<4>(tree, row, &scratch, out);
        break;
      case 8:
        ExplainTree<8>(tree, row, &scratch, out);
        break;
      default:
        ExplainTree<0>(tree, row, &scratch, out);
        break;
    }
  }
}

void ForestExplainer::Explain(std::span<const double> row, std::span<double> contributions) const {
  const std::size_t m = num_features();
  if (row.size() != m || contributions.size() != m) {
    std::fill(contributions.begin(), contributions.end(), std::numeric_limits<double>::quiet_NaN());
    return;
  }
  std::fill(contributions.begin(), contributions.end(), 0.0);
  ExplainRow(row.data(), contributions.data());
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
