// RunMonitor, the training reference of a meta, and the text and JSON forms of the report.
#include "csml/reporting/monitor_run.h"

#include <cmath>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/core/number_format.h"
#include "csml/monitoring/prediction_log_reader.h"

namespace csml {
namespace {

std::string Day(UnixSeconds t) { return FormatRfc3339(t).substr(0, 10); }

std::string Money(double v) { return std::isfinite(v) ? fmt::format("{:.0f}", v) : "n/a"; }

void WriteNumber(JsonWriter& w, double v, int decimals = 6) {
  if (std::isfinite(v)) {
    w.Rounded(v, decimals);
  } else {
    w.Null();
  }
}

void WriteCellJson(JsonWriter& w, const MonitorCell& c) {
  w.BeginObject();
  if (c.week_start != 0) {
    w.Key("week_start").String(Day(c.week_start));
  } else {
    w.Key("week_start").Null();
  }
  w.Key("predictions").Uint(c.predictions);
  w.Key("customers").Uint(c.customers);
  w.Key("known").Uint(c.known);
  w.Key("pending").Uint(c.pending);
  w.Key("unmatched").Uint(c.unmatched);
  w.Key("churned").Uint(c.churned);
  w.Key("churn_rate");
  WriteNumber(w, c.churn_rate);
  w.Key("mean_risk");
  WriteNumber(w, c.mean_risk);
  w.Key("auc");
  WriteNumber(w, c.auc);
  w.Key("auc_standard_error");
  WriteNumber(w, c.auc_standard_error);
  w.Key("pr_auc");
  WriteNumber(w, c.pr_auc);
  w.Key("calibration_error");
  WriteNumber(w, c.calibration_error);
  w.Key("tiers").BeginObject();
  for (std::size_t t = 0; t < 3; ++t) {
    const MonitorTierFigures& f = c.tiers[t];
    w.Key(TierName(static_cast<Tier>(t))).BeginObject();
    w.Key("predictions").Uint(f.predictions);
    w.Key("share");
    WriteNumber(w, c.tier_share(static_cast<Tier>(t)));
    w.Key("customers").Uint(f.customers);
    w.Key("known").Uint(f.known);
    w.Key("churned").Uint(f.churned);
    w.Key("churn_rate");
    WriteNumber(w, f.churn_rate);
    w.Key("revenue_at_risk");
    WriteNumber(w, f.revenue_at_risk, 2);
    w.Key("revenue_at_risk_known");
    WriteNumber(w, f.revenue_at_risk_known, 2);
    w.Key("revenue_churned");
    WriteNumber(w, f.revenue_churned, 2);
    w.EndObject();
  }
  w.EndObject();
  w.Key("revenue").BeginObject();
  w.Key("at_risk");
  WriteNumber(w, c.revenue_at_risk, 2);
  w.Key("at_risk_known");
  WriteNumber(w, c.revenue_at_risk_known, 2);
  w.Key("churned");
  WriteNumber(w, c.revenue_churned, 2);
  w.EndObject();
  w.Key("drift").BeginObject();
  w.Key("reference").Bool(c.has_reference);
  w.Key("score_psi");
  WriteNumber(w, c.score_psi);
  w.Key("features").BeginObject();
  for (std::size_t f = 0; f < kNumDriftFeatures; ++f) {
    w.Key(DriftFeatureName(f)).BeginObject();
    w.Key("psi");
    WriteNumber(w, c.features[f].psi);
    w.Key("missing_share");
    WriteNumber(w, c.features[f].missing_share);
    w.Key("reference_missing_share");
    WriteNumber(w, c.features[f].reference_missing_share);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  w.EndObject();
}

// The largest PSI of a cell and its feature, "usage_score 0.412"; "-" without a reference.
std::string WorstPsi(const MonitorCell& c) {
  if (!c.has_reference) return "-";
  double worst = -1;
  std::string name;
  for (std::size_t f = 0; f < kNumDriftFeatures; ++f) {
    if (std::isfinite(c.features[f].psi) && c.features[f].psi > worst) {
      worst = c.features[f].psi;
      name = std::string(DriftFeatureName(f));
    }
  }
  if (std::isfinite(c.score_psi) && c.score_psi > worst) {
    worst = c.score_psi;
    name = "risk";
  }
  return worst < 0 ? "-" : fmt::format("{} {:.3f}", name, worst);
}

}  // namespace

Result<std::optional<MonitorReference>> MonitorReferenceFromMeta(const ModelMeta& meta) {
  if (!meta.reference_profile) return std::optional<MonitorReference>();
  const ReferenceProfile& profile = *meta.reference_profile;
  MonitorReference ref;
  for (std::size_t f = 0; f < kNumNumericFeatures; ++f) ref.features[f] = profile.numeric[f];
  // Region's categories as one bin each (RegionBinValue): IN SG US EU other, then missing.
  BinnedDistribution region;
  region.edges = {0, 1, 2, 3};
  for (std::size_t c = 0; c + 1 < kNumRegionCategories; ++c) {
    region.shares.push_back(profile.region[c]);
  }
  region.missing_share = profile.region[kNumRegionCategories - 1];
  ref.features[kRegionDriftIndex] = std::move(region);
  ref.score = profile.risk;
  return std::optional<MonitorReference>(std::move(ref));
}

Result<MonitorReport> RunMonitor(const MonitorRunOptions& options, const Registry* registry,
                                 const MonitorOutcomeLoader& load) {
  CSML_TRY(options.monitor.Validate());
  CSML_ASSIGN_OR_RETURN(MonitorOutcomes outcomes, load());
  MonitorOptions monitor = options.monitor;
  monitor.as_of = outcomes.as_of;
  MonitorReferenceLookup lookup =
      [registry](std::string_view version) -> Result<std::optional<MonitorReference>> {
    if (registry == nullptr) return std::optional<MonitorReference>();
    Result<ModelMeta> meta = registry->ReadMeta(version);
    if (!meta) {
      if (meta.error().code == ErrorCode::kNotFound ||
          meta.error().code == ErrorCode::kInvalidArgument) {
        return std::optional<MonitorReference>();
      }
      return tl::unexpected(meta.error());
    }
    return MonitorReferenceFromMeta(*meta);
  };
  CSML_ASSIGN_OR_RETURN(auto builder, MonitorBuilder::Create(monitor, std::move(lookup)));
  MonitorSource source;
  source.log_dir = options.log_dir;
  source.outcomes_origin = outcomes.origin;
  source.outcome_records = outcomes.records_seen;
  source.outcomes_invalid = outcomes.invalid;
  source.generated_at = options.generated_at != 0 ? options.generated_at : NowUtc();
  for (const Snapshot& s : outcomes.records) builder->AddOutcome(s);
  // The snapshots are held in their compact form now.
  std::vector<Snapshot>().swap(outcomes.records);

  CSML_ASSIGN_OR_RETURN(
      PredictionLogReadStats stats,
      ReadPredictionLog(options.log_dir, [&](const PredictionRecord& r) { builder->Add(r); }));
  source.log_files = stats.files;
  source.log_records = stats.records;
  source.torn_lines = stats.torn_lines;
  source.bad_lines = stats.bad_lines;
  source.first_bad_line_error = stats.first_bad_line_error;
  if (stats.records == 0) {
    return MakeError(ErrorCode::kValidation,
                     fmt::format("prediction log {}: no prediction in {} segment files",
                                 options.log_dir, stats.files));
  }
  return builder->Finish(source);
}

std::string RenderMonitorText(const MonitorReport& r) {
  std::string out;
  const auto line = [&out](const std::string& text) {
    out += text;
    out += '\n';
  };
  const MonitorSource& s = r.source;
  line(fmt::format("csml monitor: {} predictions {} .. {}: {}", r.predictions,
                   FormatRfc3339(r.first_prediction), FormatRfc3339(r.last_prediction),
                   r.passed ? "PASS" : "FAIL"));
  line(fmt::format("  log         {}: {} segment files, {} torn lines, {} bad lines", s.log_dir,
                   s.log_files, s.torn_lines, s.bad_lines));
  line(fmt::format("  outcomes    {}: {} records ({} invalid), known as of {}", s.outcomes_origin,
                   s.outcome_records, s.outcomes_invalid, FormatRfc3339(r.options.as_of)));
  line(fmt::format("  join        latest snapshot at or before the prediction, within {} days",
                   Fixed(static_cast<double>(r.options.match_window) / kSecondsPerDay, 1)));
  for (const MonitorVersion& v : r.versions) {
    line("");
    line(fmt::format("version {}{}", v.version,
                     v.has_reference ? "" : " (no training profile: no PSI)"));
    line(fmt::format(
        "  {:<10} {:>9} {:>8} {:>7} {:>7} {:>6}  {:>6} {:>6} {:>6} {:>6} {:>6}  "
        "{:>5} {:>5} {:>5}  {:>10} {:>10}  {}",
        "week", "predicted", "cust", "known", "pending", "unmat", "AUC", "PR-AUC", "ECE", "risk",
        "churn", "low", "med", "high", "at risk", "churned$", "largest PSI"));
    auto row = [&](const MonitorCell& c, const std::string& label) {
      line(fmt::format(
          "  {:<10} {:>9} {:>8} {:>7} {:>7} {:>6}  {:>6} {:>6} {:>6} {:>6} {:>6}  "
          "{:>5} {:>5} {:>5}  {:>10} {:>10}  {}",
          label, c.predictions, c.customers, c.known, c.pending, c.unmatched, Fixed(c.auc, 3),
          Fixed(c.pr_auc, 3), Fixed(c.calibration_error, 3), Fixed(c.mean_risk, 3),
          Fixed(c.churn_rate, 3), Percent(c.tier_share(Tier::kLow), 0),
          Percent(c.tier_share(Tier::kMedium), 0), Percent(c.tier_share(Tier::kHigh), 0),
          Money(c.revenue_at_risk), Money(c.revenue_churned), WorstPsi(c)));
    };
    for (const MonitorCell& c : v.weeks) row(c, Day(c.week_start));
    row(v.total, "all weeks");
    line(
        "  per tier (all weeks): customers, known outcomes, churn rate, revenue at risk of the "
        "known vs churned");
    for (std::size_t t = 0; t < 3; ++t) {
      const MonitorTierFigures& f = v.total.tiers[t];
      line(
          fmt::format("    {:<7} {:>8} customers {:>8} known  churn {:>7}  at risk {:>10} vs "
                      "churned {:>10}",
                      TierName(static_cast<Tier>(t)), f.customers, f.known, Percent(f.churn_rate),
                      Money(f.revenue_at_risk_known), Money(f.revenue_churned)));
    }
  }
  line("");
  std::size_t failed = 0;
  for (const MonitorCheck& c : r.checks) failed += c.passed ? 0 : 1;
  line(fmt::format("checks: {} made, {} failed, {} not made (too little data or no profile)",
                   r.checks.size(), failed, r.not_checked.size()));
  for (const MonitorCheck& c : r.checks) {
    if (!c.passed) line(fmt::format("  FAIL {}: {}", c.name, c.detail));
  }
  return out;
}

std::string RenderMonitorJson(const MonitorReport& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("format").Int(kMonitorReportFormatVersion);
  w.Key("generated_at").String(FormatRfc3339(r.source.generated_at));
  w.Key("passed").Bool(r.passed);
  w.Key("source").BeginObject();
  w.Key("log_dir").String(r.source.log_dir);
  w.Key("log_files").Uint(r.source.log_files);
  w.Key("log_records").Uint(r.source.log_records);
  w.Key("torn_lines").Uint(r.source.torn_lines);
  w.Key("bad_lines").Uint(r.source.bad_lines);
  w.Key("first_bad_line_error").String(r.source.first_bad_line_error);
  w.Key("outcomes").String(r.source.outcomes_origin);
  w.Key("outcome_records").Uint(r.source.outcome_records);
  w.Key("outcomes_invalid").Uint(r.source.outcomes_invalid);
  w.Key("as_of").String(FormatRfc3339(r.options.as_of));
  w.EndObject();
  w.Key("join").BeginObject();
  w.Key("rule").String(
      "latest snapshot of the user with snapshot_ts <= prediction time, within the match "
      "window; outcome known when labeled with label_ts <= as_of");
  w.Key("match_window_seconds").Int(r.options.match_window);
  w.EndObject();
  w.Key("options").BeginObject();
  w.Key("min_auc").Double(r.options.min_auc);
  w.Key("max_psi").Double(r.options.max_psi);
  w.Key("max_calibration_error").Double(r.options.max_calibration_error);
  w.Key("min_outcomes").Uint(r.options.min_outcomes);
  w.Key("min_psi_predictions").Uint(r.options.min_psi_predictions);
  w.EndObject();
  w.Key("predictions").Uint(r.predictions);
  w.Key("first_prediction").String(FormatRfc3339(r.first_prediction));
  w.Key("last_prediction").String(FormatRfc3339(r.last_prediction));
  w.Key("versions").BeginArray();
  for (const MonitorVersion& v : r.versions) {
    w.BeginObject();
    w.Key("version").String(v.version);
    w.Key("reference").Bool(v.has_reference);
    w.Key("total");
    WriteCellJson(w, v.total);
    w.Key("weeks").BeginArray();
    for (const MonitorCell& c : v.weeks) WriteCellJson(w, c);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("checks").BeginArray();
  for (const MonitorCheck& c : r.checks) {
    w.BeginObject();
    w.Key("name").String(c.name);
    w.Key("version").String(c.version);
    w.Key("week_start").String(Day(c.week_start));
    w.Key("passed").Bool(c.passed);
    w.Key("detail").String(c.detail);
    w.EndObject();
  }
  w.EndArray();
  w.Key("not_checked").BeginArray();
  for (const std::string& n : r.not_checked) w.String(n);
  w.EndArray();
  w.EndObject();
  out += '\n';
  return out;
}

}  // namespace csml
