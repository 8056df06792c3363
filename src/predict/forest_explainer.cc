#include "csml/predict/forest_explainer.h"

#include <algorithm>
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
  std::vector<double> f;       // per node x point: product of the path's factors
  std::vector<double> g;       // per node x point: sum over the subtree's leaves of value x f
  std::vector<std::uint8_t> hot_comb;  // per node: the feature's o along the path so far
  std::vector<std::uint8_t> state;     // per node: 0 cold before, 1 cold now, 2 hot
};

namespace {

ForestExplainer::Scratch& ThreadScratch(std::size_t nodes, std::size_t points) {
  thread_local ForestExplainer::Scratch scratch;
  if (scratch.f.size() < nodes * points) {
    scratch.f.resize(nodes * points);
    scratch.g.resize(nodes * points);
  }
  if (scratch.state.size() < nodes) {
    scratch.hot_comb.resize(nodes);
    scratch.state.resize(nodes);
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
    Tree tree{root, n, 0, ex.nodes_.size(), ex.tables_.size()};
    const std::size_t base = tree.node_offset;
    ex.nodes_.resize(base + n, Node{0, 0, kNoPrior});
    ex.z_.resize(base + n, 1.0);
    ex.leaf_.resize(base + n, 0.0);
    std::vector<std::uint32_t> parent(n, 0);
    std::vector<double> z_comb(n, 1.0);   // the feature's cover fraction along the path
    std::vector<double> z_path(n, 1.0);   // product of every edge's fraction (for the bias)
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
    const std::uint32_t q = std::max(1u, (max_unique + 1) / 2);
    tree.num_points = q;
    GaussLegendre(q, &points, &weights);
    ex.tables_.resize(tree.table_offset + std::size_t{n} * 4 * q, 0.0);
    for (std::uint32_t c = 1; c < n; ++c) {
      const std::uint32_t prior = ex.nodes_[base + c].prior;
      const double ze = z_comb[c];
      const double zp = prior == kNoPrior ? 1.0 : z_comb[prior];
      double* row = ex.tables_.data() + tree.table_offset + std::size_t{c} * 4 * q;
      for (std::uint32_t i = 0; i < q; ++i) {
        const double s = points[i];
        const double w = weights[i];
        const double fp = zp * (1.0 - s) + s;  // the prior factor, hot
        const double hot = ze * (1.0 - s) + s;
        const double cold = ze * (1.0 - s);
        const double prior_share = (1.0 - zp) / fp;
        row[i] = hot / fp;                                        // ratio, hot after hot
        row[q + i] = cold / fp;                                   // ratio, cold after hot
        row[2 * q + i] = w * ((1.0 - ze) / hot - prior_share);    // share, hot
        row[3 * q + i] = w * (-1.0 / (1.0 - s) - prior_share);    // share, cold
      }
    }
    ex.max_nodes_ = std::max(ex.max_nodes_, n);
    ex.max_points_ = std::max(ex.max_points_, q);
    ex.trees_.push_back(tree);
  }
  ex.baseline_ = baseline;
  return ex;
}

void ForestExplainer::ExplainTree(const Tree& tree, const double* row, Scratch* scratch,
                                  double* out) const {
  const std::uint32_t n = tree.num_nodes;
  const std::uint32_t q = tree.num_points;
  const Node* nodes = nodes_.data() + tree.node_offset;
  const double* z = z_.data() + tree.node_offset;
  const double* leaf = leaf_.data() + tree.node_offset;
  const double* tables = tables_.data() + tree.table_offset;
  double* f = scratch->f.data();
  double* g = scratch->g.data();
  std::uint8_t* hot_comb = scratch->hot_comb.data();
  std::uint8_t* state = scratch->state.data();

  // Down: the row's direction at every split, each feature's "the row takes this path so
  // far", and the product of the path's factors per point.
  for (std::uint32_t i = 0; i < q; ++i) f[i] = 1.0;
  hot_comb[0] = 1;
  for (std::uint32_t k = 0; k < n; ++k) {
    const Node& node = nodes[k];
    if (node.left == 0) {
      for (std::uint32_t i = 0; i < q; ++i) g[k * q + i] = leaf[k] * f[k * q + i];
      continue;
    }
    const std::uint32_t hot_child = forest_.ChildFor(tree.root + k, row) - tree.root;
    for (std::uint32_t c = node.left; c <= node.left + 1; ++c) {
      const std::uint32_t prior = nodes[c].prior;
      const std::uint8_t before = prior == kNoPrior ? 1 : hot_comb[prior];
      const std::uint8_t is_hot = c == hot_child ? 1 : 0;
      hot_comb[c] = before & is_hot;
      const double* fk = f + std::size_t{k} * q;
      double* fc = f + std::size_t{c} * q;
      if (!before) {
        state[c] = 0;
        for (std::uint32_t i = 0; i < q; ++i) fc[i] = fk[i] * z[c];
      } else {
        state[c] = is_hot ? 2 : 1;
        const double* ratio = tables + std::size_t{c} * 4 * q + (is_hot ? 0 : q);
        for (std::uint32_t i = 0; i < q; ++i) fc[i] = fk[i] * ratio[i];
      }
    }
  }
  // Up: a split's sum is its children's; each child edge adds its share to the split's
  // feature. Breadth-first order puts children after their parent.
  for (std::uint32_t k = n; k-- > 0;) {
    const Node& node = nodes[k];
    if (node.left == 0) continue;
    double* gk = g + std::size_t{k} * q;
    double share = 0.0;
    for (std::uint32_t c = node.left; c <= node.left + 1; ++c) {
      const double* gc = g + std::size_t{c} * q;
      if (state[c] != 0) {
        const double* coef = tables + std::size_t{c} * 4 * q + (state[c] == 2 ? 2 * q : 3 * q);
        for (std::uint32_t i = 0; i < q; ++i) share += coef[i] * gc[i];
      }
    }
    const double* gl = g + std::size_t{node.left} * q;
    for (std::uint32_t i = 0; i < q; ++i) gk[i] = gl[i] + gl[q + i];
    out[node.feature] += share;
  }
}

void ForestExplainer::Explain(std::span<const double> row, std::span<double> contributions) const {
  const std::size_t m = num_features();
  if (row.size() != m || contributions.size() != m) {
    std::fill(contributions.begin(), contributions.end(),
              std::numeric_limits<double>::quiet_NaN());
    return;
  }
  std::fill(contributions.begin(), contributions.end(), 0.0);
  Scratch& scratch = ThreadScratch(max_nodes_, max_points_);
  for (const Tree& tree : trees_) ExplainTree(tree, row.data(), &scratch, contributions.data());
}

void ForestExplainer::ExplainBatch(std::span<const double> rows,
                                   std::span<double> contributions) const {
  const std::size_t m = num_features();
  if (rows.size() != contributions.size() || m == 0) {
    std::fill(contributions.begin(), contributions.end(),
              std::numeric_limits<double>::quiet_NaN());
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
