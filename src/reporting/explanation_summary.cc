// SummarizeExplanations (evaluation_report.h): global importance, dependence points and the
// seed rules' agreement with the model, from one TreeSHAP pass over the evaluated rows.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "csml/reporting/evaluation_report.h"

namespace csml {
namespace {

struct SeedRule {
  Reason reason;
  std::string_view column;
};
// Each seed rule and the feature it reads (csml/reasons/reasons.h).
constexpr SeedRule kSeedRules[] = {
    {Reason::kInactive14d, "time_since_last_use_days"},
    {Reason::kPaymentIssueRecent, "failed_renewals_30d"},
    {Reason::kNoRecentActivity, "activity_7d"},
    {Reason::kLowFeatureUsage, "usage_score"},
};

double Share(double part, double whole) {
  return whole > 0 ? part / whole : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

ExplanationSummary SummarizeExplanations(const ServingModel& model,
                                         std::span<const Snapshot> rows) {
  ExplanationSummary out;
  if (!model.can_explain() || rows.empty()) return out;
  const std::vector<std::string>& columns = model.encoder().column_names();
  const std::size_t n = columns.size();
  std::vector<double> sum_abs(n, 0.0);
  // Row-major values and contributions of every row, for the dependence points.
  std::vector<double> values(rows.size() * n);
  std::vector<double> contributions(rows.size() * n);
  std::vector<std::size_t> rule_column(std::size(kSeedRules), n);
  for (std::size_t k = 0; k < std::size(kSeedRules); ++k) {
    const auto it = std::find(columns.begin(), columns.end(), kSeedRules[k].column);
    if (it != columns.end()) rule_column[k] = static_cast<std::size_t>(it - columns.begin());
    ExplanationSummary::RuleAgreement agreement;
    agreement.reason = kSeedRules[k].reason;
    agreement.feature = std::string(kSeedRules[k].column);
    out.rules.push_back(std::move(agreement));
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Result<ScoreExplanation> e = model.Explain(rows[i].features);
    if (!e) return ExplanationSummary{};
    const ReasonSet fired = ExplainRisk(rows[i].features);
    for (std::size_t c = 0; c < n; ++c) {
      values[i * n + c] = e->values[c];
      contributions[i * n + c] = e->contributions[c];
      sum_abs[c] += std::fabs(e->contributions[c]);
    }
    for (std::size_t k = 0; k < std::size(kSeedRules); ++k) {
      if (!fired.Contains(kSeedRules[k].reason)) continue;
      ExplanationSummary::RuleAgreement& a = out.rules[k];
      ++a.fired;
      if (rule_column[k] == n) continue;  // the model does not read the feature
      const double contribution = e->contributions[rule_column[k]];
      if (contribution < 0) ++a.lowered;
      if (contribution > 0) ++a.raised;
    }
  }
  out.available = true;
  out.rows = rows.size();
  const double rows_d = static_cast<double>(rows.size());
  double total = 0;
  for (std::size_t c = 0; c < n; ++c) total += sum_abs[c] / rows_d;
  std::vector<std::size_t> order(n);
  for (std::size_t c = 0; c < n; ++c) order[c] = c;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return sum_abs[a] > sum_abs[b]; });
  for (const std::size_t c : order) {
    const double mean_abs = sum_abs[c] / rows_d;
    out.importance.push_back({columns[c], mean_abs, Share(mean_abs, total)});
  }
  const std::size_t step =
      std::max<std::size_t>(1, (rows.size() + ExplanationSummary::kDependencePoints - 1) /
                                   ExplanationSummary::kDependencePoints);
  for (std::size_t k = 0; k < std::min(n, ExplanationSummary::kDependenceFeatures); ++k) {
    const std::size_t c = order[k];
    ExplanationSummary::Dependence d;
    d.feature = columns[c];
    for (std::size_t i = 0; i < rows.size(); i += step) {
      if (!std::isnan(values[i * n + c])) {
        d.points.emplace_back(values[i * n + c], contributions[i * n + c]);
      }
    }
    out.dependence.push_back(std::move(d));
  }
  for (ExplanationSummary::RuleAgreement& a : out.rules) {
    a.fired_share = Share(static_cast<double>(a.fired), rows_d);
    a.disagreement_rate = Share(static_cast<double>(a.lowered), static_cast<double>(a.fired));
  }
  return out;
}

}  // namespace csml
