// The monitor's report.html: per model version, the weeks as tables and as inline SVG charts
// over time (volume, realized AUC, calibration, tier mix, PSI, revenue), in the page style of
// `csml test`'s report (report_html.cc); no script, nothing loaded.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "csml/core/number_format.h"
#include "csml/reporting/monitor_run.h"
#include "svg_chart.h"

namespace csml {

namespace reporting_internal {
const char* ReportStyle();  // report_html.cc
}  // namespace reporting_internal

namespace {

using namespace reporting_internal;  // NOLINT(google-build-using-namespace)

constexpr double kWidth = 560;
constexpr double kHeight = 400;
constexpr Rect kArea{72, 86, 462, 246};
constexpr char kBlue[] = "#2563eb";
constexpr char kLightBlue[] = "#93c5fd";
constexpr char kRed[] = "#dc2626";
constexpr char kTeal[] = "#0d9488";
constexpr char kGrey[] = "#64748b";
constexpr char kAmber[] = "#d97706";
constexpr std::array<const char*, kNumDriftFeatures + 1> kSeries = {
    "#2563eb", "#0d9488", "#7c3aed", "#d97706", "#db2777",
    "#65a30d", "#0891b2", "#dc2626", "#4b5563", "#111827"};

using Points = std::vector<std::pair<double, double>>;

std::string Day(UnixSeconds t) { return FormatRfc3339(t).substr(0, 10); }

Style LineStyle(const char* color, double width = 2.5, const char* dash = "") {
  return Style{color, "none", width, dash, 1};
}

// Week labels: MM-DD, thinned so at most about 12 are written.
std::vector<std::string> WeekLabels(const MonitorVersion& v) {
  std::vector<std::string> labels;
  const std::size_t n = v.weeks.size();
  const std::size_t step = std::max<std::size_t>(1, (n + 11) / 12);
  for (std::size_t i = 0; i < n; ++i) {
    labels.push_back(i % step == 0 ? Day(v.weeks[i].week_start).substr(5) : "");
  }
  return labels;
}

// A line through the finite values (a gap where one is missing) with a point at each.
void Series(SvgChart& chart, const Panel& p, const std::vector<double>& values, const char* color,
            std::string_view name, const std::vector<std::string>& tips, bool percent = false) {
  Points run;
  auto flush = [&] {
    if (run.size() >= 2) chart.Polyline(p, run, LineStyle(color, 2), fmt::format("{}", name));
    run.clear();
  };
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      flush();
      continue;
    }
    run.emplace_back(static_cast<double>(i) + 0.5, values[i]);
    chart.Point(p, static_cast<double>(i) + 0.5, values[i], 3.5,
                Style{"#ffffff", color, 1.5, "", 1},
                fmt::format("{} {}: {}{}", name, i < tips.size() ? tips[i] : "",
                            percent ? Percent(values[i]) : Fixed(values[i], 3), ""));
  }
  flush();
}

std::vector<std::string> WeekTips(const MonitorVersion& v) {
  std::vector<std::string> tips;
  for (const MonitorCell& c : v.weeks) tips.push_back("week of " + Day(c.week_start));
  return tips;
}

std::string ChartId(std::string_view base, std::size_t index) {
  return fmt::format("{}-{}", base, index);
}

std::string VolumeChart(const MonitorVersion& v, std::size_t index) {
  SvgChart chart(ChartId("chart-volume", index), "Predictions and known outcomes per week",
                 "Bars: predictions logged each week, and the customers of that week whose "
                 "outcome is known.",
                 kWidth, kHeight);
  double max = 1;
  for (const MonitorCell& c : v.weeks) max = std::max(max, static_cast<double>(c.predictions));
  double band = 0;
  const auto labels = WeekLabels(v);
  const Panel p = chart.AddCategoryPanel(
      kArea, labels, "Week (Monday, UTC)",
      AxisSpec{"Count", 0, NiceCeiling(max * 1.05), NumberFormat::kInteger, 5}, &band);
  for (std::size_t i = 0; i < v.weeks.size(); ++i) {
    const MonitorCell& c = v.weeks[i];
    const double left = p.x(static_cast<double>(i));
    const auto pred = static_cast<double>(c.predictions);
    const auto known = static_cast<double>(c.known);
    chart.Bar(left + band * 0.1, p.y(pred), band * 0.38, p.y(0) - p.y(pred), kLightBlue,
              fmt::format("week of {}: {} predictions, {} customers", Day(c.week_start),
                          c.predictions, c.customers));
    chart.Bar(left + band * 0.52, p.y(known), band * 0.38, p.y(0) - p.y(known), kBlue,
              fmt::format("week of {}: {} known outcomes, {} pending, {} unmatched",
                          Day(c.week_start), c.known, c.pending, c.unmatched));
  }
  const std::vector<LegendEntry> legend = {{"Predictions", LegendSymbol::kBar, kLightBlue},
                                           {"Known outcomes", LegendSymbol::kBar, kBlue}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string AucChart(const MonitorReport& r, const MonitorVersion& v, std::size_t index) {
  SvgChart chart(ChartId("chart-auc", index), "Realized AUC and PR-AUC per week",
                 "Ranking quality on the predictions whose outcome is known, per week; the "
                 "dashed line is the --min-auc check.",
                 kWidth, kHeight);
  double band = 0;
  const auto labels = WeekLabels(v);
  const Panel p = chart.AddCategoryPanel(
      kArea, labels, "Week (Monday, UTC)",
      AxisSpec{"Area under the curve", 0, 1, NumberFormat::kDecimal, 5}, &band);
  chart.ReferenceLine(p, 0, r.options.min_auc, static_cast<double>(v.weeks.size()),
                      r.options.min_auc, LineStyle(kRed, 1.5, "5 4"));
  std::vector<double> auc;
  std::vector<double> pr;
  for (const MonitorCell& c : v.weeks) {
    auc.push_back(c.auc);
    pr.push_back(c.pr_auc);
  }
  const auto tips = WeekTips(v);
  Series(chart, p, auc, kBlue, "AUC", tips);
  Series(chart, p, pr, kTeal, "PR-AUC", tips);
  if (chart.points() == 0) chart.EmptyMessage("no week has known outcomes of both classes yet");
  const std::vector<LegendEntry> legend = {
      {"AUC", LegendSymbol::kLine, kBlue},
      {"PR-AUC", LegendSymbol::kLine, kTeal},
      {fmt::format("min AUC {}", Fixed(r.options.min_auc, 2)), LegendSymbol::kDashedLine, kRed}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string CalibrationChart(const MonitorVersion& v, std::size_t index) {
  SvgChart chart(ChartId("chart-calibration", index), "Predicted risk against realized churn",
                 "Per week, the mean risk of the customers whose outcome is known, their "
                 "realized churn rate, and the calibration error (ECE, 10 bins).",
                 kWidth, kHeight);
  double max = 0.05;
  std::vector<double> risk;
  std::vector<double> churn;
  std::vector<double> ece;
  for (const MonitorCell& c : v.weeks) {
    risk.push_back(c.mean_risk);
    churn.push_back(c.churn_rate);
    ece.push_back(c.calibration_error);
    for (const double x : {c.mean_risk, c.churn_rate, c.calibration_error}) {
      if (std::isfinite(x)) max = std::max(max, x);
    }
  }
  double band = 0;
  const auto labels = WeekLabels(v);
  const Panel p = chart.AddCategoryPanel(
      kArea, labels, "Week (Monday, UTC)",
      AxisSpec{"Share (%)", 0, std::min(1.0, NiceCeiling(max * 1.1)), NumberFormat::kPercent, 5},
      &band);
  const auto tips = WeekTips(v);
  Series(chart, p, risk, kBlue, "mean risk", tips, true);
  Series(chart, p, churn, kRed, "churn rate", tips, true);
  Series(chart, p, ece, kAmber, "calibration error", tips, true);
  if (chart.points() == 0) chart.EmptyMessage("no outcome known yet");
  const std::vector<LegendEntry> legend = {{"Mean risk", LegendSymbol::kLine, kBlue},
                                           {"Churn rate", LegendSymbol::kLine, kRed},
                                           {"Calibration error", LegendSymbol::kLine, kAmber}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string TierMixChart(const MonitorVersion& v, std::size_t index) {
  SvgChart chart(ChartId("chart-tier-mix", index), "Tier mix per week",
                 "Share of the week's predictions answered low, medium and high.", kWidth, kHeight);
  double band = 0;
  const auto labels = WeekLabels(v);
  const Panel p =
      chart.AddCategoryPanel(kArea, labels, "Week (Monday, UTC)",
                             AxisSpec{"Predictions (%)", 0, 1, NumberFormat::kPercent, 5}, &band);
  constexpr std::array<const char*, 3> kColors = {kTeal, kAmber, kRed};
  for (std::size_t i = 0; i < v.weeks.size(); ++i) {
    const MonitorCell& c = v.weeks[i];
    double bottom = 0;
    for (std::size_t t = 0; t < 3; ++t) {
      const double share = c.tier_share(static_cast<Tier>(t));
      if (!std::isfinite(share)) continue;
      chart.Bar(
          p.x(static_cast<double>(i)) + band * 0.15, p.y(bottom + share), band * 0.7,
          p.y(bottom) - p.y(bottom + share), kColors[t],
          fmt::format("week of {}: {} {} ({} predictions)", Day(c.week_start),
                      TierName(static_cast<Tier>(t)), Percent(share), c.tiers[t].predictions));
      bottom += share;
    }
  }
  const std::vector<LegendEntry> legend = {{"low", LegendSymbol::kBar, kTeal},
                                           {"medium", LegendSymbol::kBar, kAmber},
                                           {"high", LegendSymbol::kBar, kRed}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string PsiChart(const MonitorReport& r, const MonitorVersion& v, std::size_t index) {
  SvgChart chart(ChartId("chart-psi", index), "Drift: PSI against the training reference",
                 "Population stability index of each feature and of the risk, per week, "
                 "against the version's training profile; the dashed line is --max-psi.",
                 kWidth, kHeight + 40);
  if (!v.has_reference) {
    chart.EmptyMessage("this version has no training profile (trained before profiles)");
    return chart.Finish();
  }
  // The axis shows the data and the alarm line when it is near; an alarm set far above the
  // data (--max-psi 100) does not flatten every line to the floor.
  double max = 0.3;
  for (const MonitorCell& c : v.weeks) {
    const double m = c.max_psi();
    if (std::isfinite(m)) max = std::max(max, m);
  }
  const bool alarm_shown = std::isfinite(r.options.max_psi) && r.options.max_psi <= max * 1.5;
  if (alarm_shown) max = std::max(max, r.options.max_psi * 1.2);
  double band = 0;
  const auto labels = WeekLabels(v);
  const Panel p = chart.AddCategoryPanel(
      Rect{72, 136, 462, 236}, labels, "Week (Monday, UTC)",
      AxisSpec{"PSI", 0, NiceCeiling(max * 1.05), NumberFormat::kDecimal, 5}, &band);
  if (alarm_shown) {
    chart.ReferenceLine(p, 0, r.options.max_psi, static_cast<double>(v.weeks.size()),
                        r.options.max_psi, LineStyle(kRed, 1.5, "5 4"));
  }
  const auto tips = WeekTips(v);
  std::vector<LegendEntry> legend;  // wraps onto as many rows as it needs
  for (std::size_t f = 0; f <= kNumDriftFeatures; ++f) {
    std::vector<double> values;
    for (const MonitorCell& c : v.weeks) {
      values.push_back(f < kNumDriftFeatures ? c.features[f].psi : c.score_psi);
    }
    const std::string name = f < kNumDriftFeatures ? std::string(DriftFeatureName(f)) : "risk";
    Series(chart, p, values, kSeries[f], name, tips);
    legend.push_back({name, LegendSymbol::kLine, kSeries[f]});
  }
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

std::string RevenueChart(const MonitorVersion& v, std::size_t index) {
  SvgChart chart(ChartId("chart-revenue", index), "Revenue at risk and revenue churned",
                 "Per week, over the customers whose outcome is known: the sum of plan_value x "
                 "risk (expected) beside the plan_value of those who churned (realized); the "
                 "line is the revenue at risk of every customer scored that week.",
                 kWidth, kHeight);
  double max = 1;
  for (const MonitorCell& c : v.weeks) {
    max = std::max({max, c.revenue_at_risk, c.revenue_at_risk_known, c.revenue_churned});
  }
  double band = 0;
  const auto labels = WeekLabels(v);
  const Panel p = chart.AddCategoryPanel(
      kArea, labels, "Week (Monday, UTC)",
      AxisSpec{"Plan value", 0, NiceCeiling(max * 1.05), NumberFormat::kInteger, 5}, &band);
  std::vector<double> all;
  for (std::size_t i = 0; i < v.weeks.size(); ++i) {
    const MonitorCell& c = v.weeks[i];
    const double left = p.x(static_cast<double>(i));
    chart.Bar(left + band * 0.1, p.y(c.revenue_at_risk_known), band * 0.38,
              p.y(0) - p.y(c.revenue_at_risk_known), kLightBlue,
              fmt::format("week of {}: revenue at risk of the {} known customers {:.0f}",
                          Day(c.week_start), c.known, c.revenue_at_risk_known));
    chart.Bar(left + band * 0.52, p.y(c.revenue_churned), band * 0.38,
              p.y(0) - p.y(c.revenue_churned), kRed,
              fmt::format("week of {}: revenue churned {:.0f} ({} churned)", Day(c.week_start),
                          c.revenue_churned, c.churned));
    all.push_back(c.revenue_at_risk);
  }
  Series(chart, p, all, kGrey, "revenue at risk, all scored", WeekTips(v));
  const std::vector<LegendEntry> legend = {{"At risk (known)", LegendSymbol::kBar, kLightBlue},
                                           {"Churned", LegendSymbol::kBar, kRed},
                                           {"At risk (all)", LegendSymbol::kLine, kGrey}};
  chart.Legend(16, 48, legend);
  return chart.Finish();
}

void Figure(std::string& out, const std::string& svg, std::string_view caption) {
  out += R"(<figure class="card">)";
  out += svg;
  out += fmt::format("<figcaption>{}</figcaption></figure>\n", EscapeHtml(caption));
}

std::string Pill(const char* css, std::string_view text) {
  return fmt::format(R"(<span class="pill {}">{}</span>)", css, EscapeHtml(text));
}

void WeeksTable(std::string& out, const MonitorVersion& v, std::size_t index) {
  out += fmt::format(R"(<section class="card wide"><h2>Weeks</h2><table id="weeks-{}">)", index);
  out +=
      "<tr><th>Week</th><th>Predictions</th><th>Customers</th><th>Known</th><th>Pending</th>"
      "<th>Unmatched</th><th>AUC</th><th>PR-AUC</th><th>ECE</th><th>Mean risk</th>"
      "<th>Churn rate</th><th>Low / medium / high</th><th>At risk (all)</th>"
      "<th>At risk (known)</th><th>Churned</th><th>Largest PSI</th></tr>";
  auto row = [&](const MonitorCell& c, const std::string& label) {
    const double worst = c.max_psi();
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{:.0f}</td>"
        "<td>{:.0f}</td><td>{:.0f}</td><td>{}</td></tr>",
        EscapeHtml(label), c.predictions, c.customers, c.known, c.pending, c.unmatched,
        Fixed(c.auc, 3), Fixed(c.pr_auc, 3), Fixed(c.calibration_error, 3), Percent(c.mean_risk),
        Percent(c.churn_rate), Percent(c.tier_share(Tier::kLow), 0),
        Percent(c.tier_share(Tier::kMedium), 0), Percent(c.tier_share(Tier::kHigh), 0),
        c.revenue_at_risk, c.revenue_at_risk_known, c.revenue_churned,
        c.has_reference ? Fixed(worst, 3) : "no profile");
  };
  for (const MonitorCell& c : v.weeks) row(c, Day(c.week_start));
  row(v.total, "all weeks");
  out += "</table></section>\n";
}

void TiersTable(std::string& out, const MonitorVersion& v, std::size_t index) {
  out += fmt::format(R"(<section class="card"><h2>Tiers (all weeks)</h2><table id="tiers-{}">)",
                     index);
  out +=
      "<tr><th>Tier</th><th>Predictions</th><th>Known</th><th>Churn rate</th>"
      "<th>At risk (known)</th><th>Churned</th></tr>";
  for (std::size_t t = 0; t < 3; ++t) {
    const MonitorTierFigures& f = v.total.tiers[t];
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0f}</td><td>{:.0f}</td></tr>",
        TierName(static_cast<Tier>(t)), f.predictions, f.known, Percent(f.churn_rate),
        f.revenue_at_risk_known, f.revenue_churned);
  }
  out += "</table></section>\n";
}

void DriftTable(std::string& out, const MonitorVersion& v, std::size_t index) {
  out += fmt::format(R"(<section class="card"><h2>Drift (all weeks)</h2><table id="drift-{}">)",
                     index);
  out +=
      "<tr><th>Feature</th><th>PSI</th><th>Missing</th><th>Missing in training</th>"
      "<th>Status</th></tr>";
  auto status = [](double psi) {
    if (!std::isfinite(psi)) return Pill("info", "no reference");
    if (psi > kPsiAlarm) return Pill("bad", "shifted");
    if (psi >= 0.1) return Pill("info", "moderate");
    return Pill("ok", "stable");
  };
  for (std::size_t f = 0; f < kNumDriftFeatures; ++f) {
    const MonitorFeatureDrift& d = v.total.features[f];
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       EscapeHtml(DriftFeatureName(f)), Fixed(d.psi, 3), Percent(d.missing_share),
                       Percent(d.reference_missing_share), status(d.psi));
  }
  out += fmt::format("<tr><td>risk</td><td>{}</td><td></td><td></td><td>{}</td></tr>",
                     Fixed(v.total.score_psi, 3), status(v.total.score_psi));
  out += "</table></section>\n";
}

}  // namespace

std::string RenderMonitorHtml(const MonitorReport& r) {
  std::string out;
  out.reserve(std::size_t{256} * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>csml monitor ({})</title>\n", r.passed ? "PASS" : "FAIL");
  out += "<style>";
  out += ReportStyle();
  out += "</style>\n</head>\n<body>\n<main>\n";
  out += "<header><div>";
  out += "<h1>Model monitoring: predictions against realized outcomes</h1>";
  out += fmt::format(
      R"(<p class="sub">{} predictions from {} to {} &middot; outcomes known as of {} )"
      R"(&middot; generated {}</p>)",
      r.predictions, EscapeHtml(FormatRfc3339(r.first_prediction)),
      EscapeHtml(FormatRfc3339(r.last_prediction)), EscapeHtml(FormatRfc3339(r.options.as_of)),
      EscapeHtml(FormatRfc3339(r.source.generated_at)));
  out += "</div>";
  out += fmt::format(R"(<div class="verdict {}" id="verdict">{}</div>)", r.passed ? "pass" : "fail",
                     r.passed ? "PASS" : "FAIL");
  out += "</header>\n<div class=\"cards\">\n";

  out += R"(<section class="card"><h2>Data and join</h2><dl class="facts" id="facts">)";
  auto fact = [&out](std::string_view name, const std::string& value) {
    out += fmt::format("<dt>{}</dt><dd>{}</dd>", EscapeHtml(name), EscapeHtml(value));
  };
  const MonitorSource& s = r.source;
  fact("prediction log",
       fmt::format("{}: {} segment files, {} records, {} torn lines, {} bad "
                   "lines",
                   s.log_dir, s.log_files, s.log_records, s.torn_lines, s.bad_lines));
  fact("outcomes", fmt::format("{}: {} records ({} invalid)", s.outcomes_origin, s.outcome_records,
                               s.outcomes_invalid));
  fact("join", fmt::format("each prediction takes the customer's latest snapshot at or before "
                           "it, within {} days; its outcome counts when labeled by {}",
                           Fixed(static_cast<double>(r.options.match_window) / kSecondsPerDay, 1),
                           FormatRfc3339(r.options.as_of)));
  fact("unit",
       "volume, tier mix and PSI: every prediction; outcome figures and revenue: each "
       "customer once per version and week (its latest prediction)");
  out += "</dl></section>\n";

  out += R"(<section class="card"><h2>Checks</h2><ul class="checks" id="checks">)";
  std::size_t failed = 0;
  for (const MonitorCheck& c : r.checks) {
    if (c.passed) continue;
    ++failed;
    out += fmt::format("<li>{} <strong>{}</strong>: {}</li>", Pill("bad", "fail"),
                       EscapeHtml(c.name), EscapeHtml(c.detail));
  }
  out += fmt::format("<li>{} {} checks passed</li>", Pill("ok", "pass"), r.checks.size() - failed);
  if (!r.not_checked.empty()) {
    out += fmt::format(
        "<li>{} {} not made (too little data or no profile); see "
        "report.json's not_checked</li>",
        Pill("info", "info"), r.not_checked.size());
  }
  out += "</ul></section>\n";

  for (std::size_t i = 0; i < r.versions.size(); ++i) {
    const MonitorVersion& v = r.versions[i];
    out += fmt::format(
        R"(<section class="card wide version" id="version-{}"><h2>Version {}</h2>)"
        R"(<p class="sub">{} predictions over {} weeks; {} customer-weeks with a known outcome )"
        R"((AUC {}, calibration error {}){}</p></section>)",
        i, EscapeHtml(v.version), v.total.predictions, v.weeks.size(), v.total.known,
        Fixed(v.total.auc, 3), Fixed(v.total.calibration_error, 3),
        v.has_reference ? "" : "; no training profile, so no PSI");
    out += '\n';
    Figure(out, VolumeChart(v, i),
           "Predictions logged per week and the customers whose outcome is known so far; the "
           "last 30 days are mostly pending.");
    Figure(out, AucChart(r, v, i),
           "How well the risk ranked the customers who churned above those who stayed, on "
           "outcomes known so far.");
    Figure(out, CalibrationChart(v, i),
           "A calibrated model's mean risk tracks the churn rate; the calibration error is "
           "the gap bin by bin.");
    Figure(out, TierMixChart(v, i),
           "A changing mix with a steady churn rate per tier points at the customer base; a "
           "steady mix with changing churn at the model.");
    Figure(out, PsiChart(r, v, i),
           "Below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 a shift to act on.");
    Figure(out, RevenueChart(v, i),
           "Expected churned revenue (plan_value x risk) beside what actually churned.");
    WeeksTable(out, v, i);
    TiersTable(out, v, i);
    DriftTable(out, v, i);
  }
  out += "</div>\n";
  out += fmt::format(
      "<footer>Generated by csml monitor at {}. Every figure is in report.json next to this "
      "file.</footer>\n",
      EscapeHtml(FormatRfc3339(r.source.generated_at)));
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace csml
