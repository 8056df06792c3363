// report.html: one self-contained page (inline CSS, inline SVG, no script). A
// Content-Security-Policy forbids loading anything, so a reference to another file or the
// network would be blocked and reported by the browser instead of leaking a request.
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "csml/core/number_format.h"
#include "csml/reporting/report_renderer.h"
#include "report_charts.h"
#include "svg_chart.h"

namespace csml {

using reporting_internal::EscapeHtml;

namespace reporting_internal {
const char* ReportStyle();
}  // namespace reporting_internal

namespace {

constexpr char kStyle[] = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f4f6; color: #111827;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 20px 40px; }
header { display: flex; align-items: center; justify-content: space-between; gap: 16px;
  background: #ffffff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 16px 20px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 10px; }
.sub { color: #4b5563; margin: 0; }
.verdict { font-size: 20px; font-weight: 700; padding: 8px 18px; border-radius: 8px;
  letter-spacing: 0.04em; white-space: nowrap; }
.verdict.pass { background: #dcfce7; color: #166534; border: 1px solid #86efac; }
.verdict.fail { background: #fee2e2; color: #991b1b; border: 1px solid #fca5a5; }
.warning { margin-top: 14px; background: #fef3c7; border: 1px solid #fcd34d; color: #78350f;
  border-radius: 8px; padding: 10px 14px; }
.cards { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px;
  margin-top: 16px; }
.card { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 14px 16px; }
.card.wide { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid #f3f4f6; }
th:first-child, td:first-child { text-align: left; }
th { color: #4b5563; font-weight: 600; font-size: 12px; border-bottom: 1px solid #e5e7eb; }
td.note { text-align: left; color: #4b5563; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.pill.ok { background: #dcfce7; color: #166534; }
.pill.bad { background: #fee2e2; color: #991b1b; }
.pill.info { background: #f3f4f6; color: #4b5563; }
ul.checks { margin: 0; padding-left: 0; list-style: none; }
ul.checks li { padding: 3px 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0; }
dl.facts dt { color: #4b5563; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 0; }
figcaption { color: #4b5563; font-size: 12px; margin-top: 4px; }
svg.chart { display: block; width: 100%; height: auto; font-family: inherit; }
svg.chart .chart-title { font-weight: 700; fill: #111827; }
svg.chart .axis-title { fill: #374151; }
svg.chart .tick, svg.chart .value, svg.chart .annotation { fill: #4b5563; }
svg.chart .category, svg.chart .legend { fill: #111827; }
svg.chart .empty { fill: #6b7280; }
svg.chart .mark:hover { opacity: 0.8; }
footer { color: #6b7280; font-size: 12px; margin-top: 18px; }
)css";

std::string Pill(const char* css, std::string_view text) {
  return fmt::format(R"(<span class="pill {}">{}</span>)", css, EscapeHtml(text));
}

std::string ComparisonStatus(const MetricComparison& c) {
  if (c.kind == ToleranceKind::kNone) return Pill("info", "info");
  if (!c.checked) return Pill("info", "no reference");
  return c.degraded ? Pill("bad", "degraded") : Pill("ok", "ok");
}

// How much worse than training the figure may get: "−0.050" (absolute) or "−25%" (relative).
std::string AllowedText(const MetricComparison& c) {
  if (c.kind == ToleranceKind::kNone) return "-";
  const char* sign = c.higher_is_better ? "−" : "+";
  if (c.kind == ToleranceKind::kRelative) {
    return fmt::format("{}{:.0f}%", sign, c.tolerance * 100);
  }
  return fmt::format("{}{}", sign, Fixed(c.tolerance, 3));
}

void Header(std::string& out, const EvaluationReport& r) {
  const EvaluationSource& s = r.source;
  out += "<header><div>";
  out += fmt::format("<h1>Model evaluation: {}</h1>", EscapeHtml(r.model.version));
  out +=
      fmt::format(R"(<p class="sub">{} labeled snapshots ({} churned) with label_ts in ({}, {}], )"
                  R"({} days{} &middot; generated {}</p>)",
                  r.metrics.rows, r.metrics.positives, EscapeHtml(FormatRfc3339(s.window_start)),
                  EscapeHtml(FormatRfc3339(s.as_of)), s.days,
                  s.served ? " &middot; the version the registry serves" : "",
                  EscapeHtml(FormatRfc3339(s.generated_at)));
  out += "</div>";
  out += fmt::format(R"(<div class="verdict {}" id="verdict">{}</div>)", r.passed ? "pass" : "fail",
                     r.passed ? "PASS" : "FAIL");
  out += "</header>\n";
  if (r.rows_in_training_window > 0) {
    out += fmt::format(
        R"(<div class="warning"><strong>Optimistic figures:</strong> {} of the {} evaluated rows )"
        R"(({}) have label_ts inside the model's training window ({}, {}]; the model may )"
        R"(have learned from them. Evaluate on a window after {} for an honest test.</div>)",
        r.rows_in_training_window, r.metrics.rows,
        Percent(static_cast<double>(r.rows_in_training_window) /
                static_cast<double>(r.metrics.rows)),
        EscapeHtml(FormatRfc3339(r.model.window.from)),
        EscapeHtml(FormatRfc3339(r.model.window.to)), EscapeHtml(FormatRfc3339(r.model.window.to)));
    out += '\n';
  }
}

void FiguresCard(std::string& out, const EvaluationReport& r) {
  out += R"(<section class="card"><h2>Figures beside training</h2><table id="figures">)";
  out +=
      "<tr><th>Figure</th><th>This window</th><th>Training</th><th>Change</th>"
      "<th>Allowed</th><th>Status</th></tr>";
  for (const MetricComparison& c : r.comparisons) {
    const bool percent = c.key == "base_rate";
    out +=
        fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    EscapeHtml(c.label), percent ? Percent(c.test) : Fixed(c.test),
                    percent ? Percent(c.training) : Fixed(c.training),
                    percent ? Signed(c.change() * 100, 1) + " pts" : Signed(c.change()),
                    EscapeHtml(AllowedText(c)), ComparisonStatus(c));
  }
  out += "</table>";
  out += fmt::format(
      R"(<p class="sub">Training figures are those meta.json recorded on the {1} held-out )"
      R"(validation rows. Allowed: how much worse than training a figure may get, in its )"
      R"(units or as a share of the training figure (%). AUC standard error &plusmn; {0} )"
      R"((Hanley-McNeil).</p>)",
      Fixed(r.metrics.auc_standard_error), r.training.validation_rows);
  out += "</section>\n";
}

void ChecksCard(std::string& out, const EvaluationReport& r) {
  out += R"(<section class="card"><h2>Checks</h2><ul class="checks" id="checks">)";
  for (const EvaluationCheck& c : r.checks) {
    out += fmt::format("<li>{} <strong>{}</strong>: {}</li>",
                       c.passed ? Pill("ok", "pass") : Pill("bad", "fail"), EscapeHtml(c.name),
                       EscapeHtml(c.detail));
  }
  out += "</ul></section>\n";
}

void ModelCard(std::string& out, const EvaluationReport& r) {
  const EvaluationSource& s = r.source;
  const ModelMeta& m = r.model;
  out += R"(<section class="card"><h2>Model and data</h2><dl class="facts" id="facts">)";
  const auto fact = [&out](std::string_view name, const std::string& value) {
    out += fmt::format("<dt>{}</dt><dd>{}</dd>", EscapeHtml(name), EscapeHtml(value));
  };
  fact("version", m.version + (s.served ? " (served)" : ""));
  fact("algorithm", m.algo + ", created " + FormatRfc3339(m.created_at));
  fact("tier thresholds", fmt::format("medium ≥ {}, high ≥ {} ({})", Fixed(m.thresholds.medium),
                                      Fixed(m.thresholds.high), m.threshold_method));
  if (!r.training.configuration.empty()) fact("configuration", r.training.configuration);
  fact("calibration",
       r.calibration_before.empty()
           ? r.training.calibration_method
           : fmt::format("{}: error {} before, {} after on this window",
                         r.training.calibration_method, Fixed(r.calibration_error_before, 3),
                         Fixed(r.metrics.calibration_error, 3)));
  if (m.window.to > 0) {
    fact("trained on", fmt::format("label_ts in ({}, {}]", FormatRfc3339(m.window.from),
                                   FormatRfc3339(m.window.to)));
  }
  fact("source", s.origin);
  fact("records", fmt::format("{} seen, {} evaluated; skipped {} unlabeled, {} immature, {} "
                              "invalid, {} outside the window",
                              s.records_seen, r.metrics.rows, s.unlabeled, s.immature, s.invalid,
                              s.outside_window));
  out += "</dl></section>\n";
}

void TiersCard(std::string& out, const EvaluationReport& r) {
  out += R"(<section class="card"><h2>Tiers</h2><table id="tiers">)";
  out +=
      "<tr><th>Tier</th><th>Customers</th><th>Share</th><th>Churned</th>"
      "<th>Churn rate</th><th>Training share</th><th>Training churn rate</th></tr>";
  for (const TierStats& t : r.tiers.tiers) {
    const TierStats* ref = r.training.tiers ? &r.training.tiers->of(t.tier) : nullptr;
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        TierName(t.tier), t.rows, Percent(t.share), t.positives, Percent(t.churn_rate),
        ref ? Percent(ref->share) : "n/a", ref ? Percent(ref->churn_rate) : "n/a");
  }
  out += "</table>";
  out += fmt::format(
      R"(<p class="sub">The high tier as a "will churn" list: precision {}, recall {}, )"
      R"(lift {} (training: {}, {}, {}).</p>)",
      Percent(r.tiers.high_precision), Percent(r.tiers.high_recall), Fixed(r.tiers.high_lift, 2),
      r.training.tiers ? Percent(r.training.tiers->high_precision) : "n/a",
      r.training.tiers ? Percent(r.training.tiers->high_recall) : "n/a",
      r.training.tiers ? Fixed(r.training.tiers->high_lift, 2) : "n/a");
  out += "</section>\n";
}

void ReasonsCard(std::string& out, const EvaluationReport& r) {
  out += R"(<section class="card"><h2>Reasons</h2><table id="reasons">)";
  out +=
      "<tr><th>Reason</th><th>Customers</th><th>Share</th><th>Churn rate</th>"
      "<th>Share of churners</th></tr>";
  for (const ReasonStats& s : r.reasons) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                       EscapeHtml(ReasonName(s.reason)), s.rows, Percent(s.share),
                       Percent(s.churn_rate), Percent(s.share_of_churned));
  }
  out += "</table>";
  const auto quantiles = [](const std::array<double, 5>& q) {
    std::string text;
    for (std::size_t i = 0; i < q.size(); ++i) {
      text += (i > 0 ? " / " : "") + Percent(q[i]);
    }
    return text;
  };
  out += fmt::format(
      R"(<p class="sub">Risk at the 10th / 25th / 50th / 75th / 90th percentile: churned )"
      R"({}; retained {}.</p>)",
      quantiles(r.quantiles.churned), quantiles(r.quantiles.retained));
  out += "</section>\n";
}

// TreeSHAP over the rows: global importance and each seed rule's agreement with the model.
void ExplanationsCard(std::string& out, const EvaluationReport& r) {
  const ExplanationSummary& x = r.explanations;
  out += R"(<section class="card"><h2>Explanations and the rules</h2>)";
  if (!x.available) {
    out += R"(<p class="sub">Not available: the model file has no node covers.</p></section>)";
    out += "\n";
    return;
  }
  out += fmt::format(
      R"(<p class="sub">TreeSHAP contributions (log-odds) over {} customers. Importance is )"
      R"(the mean absolute contribution.</p><table id="shap-importance">)",
      x.rows);
  out += "<tr><th>Feature</th><th>Mean |contribution|</th><th>Share</th></tr>";
  for (const ExplanationSummary::Importance& f : x.importance) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>", EscapeHtml(f.feature),
                       Fixed(f.mean_abs, 4), Percent(f.share));
  }
  out += R"(</table><table id="rule-agreement">)";
  out +=
      "<tr><th>Rule</th><th>Feature</th><th>Fired</th><th>Model lowered the risk</th>"
      "<th>Disagreement</th></tr>";
  for (const ExplanationSummary::RuleAgreement& a : x.rules) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td></tr>",
                       EscapeHtml(ReasonName(a.reason)), EscapeHtml(a.feature), a.fired,
                       Percent(a.fired_share), a.lowered, Percent(a.disagreement_rate));
  }
  out += R"(</table><p class="sub">Disagreement: of the customers a rule fired on, the share )"
         R"(whose own value of that feature lowered the model's risk.</p></section>)";
  out += "\n";
}

void Chart(std::string& out, const std::string& svg, std::string_view caption) {
  out += R"(<figure class="card">)";
  out += svg;
  out += fmt::format("<figcaption>{}</figcaption></figure>\n", EscapeHtml(caption));
}

}  // namespace

// The page style, shared with the monitor's report.html (monitor_html.cc).
const char* reporting_internal::ReportStyle() { return kStyle; }

std::string RenderEvaluationHtml(const EvaluationReport& r) {
  namespace ri = reporting_internal;
  std::string out;
  out.reserve(std::size_t{256} * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>csml test: {} ({})</title>\n", EscapeHtml(r.model.version),
                     r.passed ? "PASS" : "FAIL");
  out += "<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<main>\n";
  Header(out, r);
  out += "<div class=\"cards\">\n";
  FiguresCard(out, r);
  ChecksCard(out, r);
  Chart(out, ri::RocChart(r),
        "How well risk ranks churners above retained customers at every threshold. The purple "
        "points are the tier thresholds the CS team acts on.");
  Chart(out, ri::PrecisionRecallChart(r),
        "Of the customers flagged at a threshold, how many churned (precision), and how many "
        "of all churners were flagged (recall).");
  Chart(out, ri::CalibrationChart(r),
        "Points on the diagonal mean a predicted risk of 30% churns 30% of the time. Point "
        "size and the bars below show how many customers each bin holds.");
  Chart(out, ri::ScoreDistributionChart(r),
        "Each outcome's customers as a share of that outcome, so both show whatever the base "
        "rate; good separation puts churners to the right.");
  Chart(out, ri::GainChart(r),
        "Contacting the riskiest X% of customers first reaches this share of all churners.");
  Chart(out, ri::LiftChart(r),
        "How many times the average churn rate each tenth of customers by risk has.");
  TiersCard(out, r);
  Chart(out, ri::TierChart(r),
        "Where the tier thresholds put customers, and how often each tier churned, beside the "
        "training validation rows.");
  ReasonsCard(out, r);
  Chart(out, ri::ReasonsChart(r),
        "The reasons /score attaches, counted over the evaluated customers; a reason given far "
        "more often to churners than to everyone is informative.");
  Chart(out, ri::FeatureImportanceChart(r),
        "What the model's splits rely on (gain at training time), not a causal effect.");
  ExplanationsCard(out, r);
  Chart(out, ri::DependenceChart(r),
        "How the model's use of each top feature changes with its value: points above the line "
        "raised the customer's risk, below lowered it.");
  ModelCard(out, r);
  out += "</div>\n";
  out += fmt::format(
      "<footer>Generated by csml test at {}. Every figure and curve is in report.json next to "
      "this file. Risks are the model's full-precision probabilities; tiers and reasons are "
      "what POST /score answers.</footer>\n",
      EscapeHtml(FormatRfc3339(r.source.generated_at)));
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace csml
