#include "csml/reasons/reasons.h"

#include <algorithm>
#include <cmath>

#include "csml/core/json_writer.h"
#include "csml/json/fields.h"

namespace csml {

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kInactive14d:
      return "inactive_14d";
    case Reason::kPaymentIssueRecent:
      return "payment_issue_recent";
    case Reason::kNoRecentActivity:
      return "no_recent_activity";
    case Reason::kLowFeatureUsage:
      return "low_feature_usage";
    case Reason::kGeneralRiskFactors:
      return "general_risk_factors";
    case Reason::kLowActivity30d:
      return "low_activity_30d";
    case Reason::kSupportTickets7d:
      return "support_tickets_7d";
    case Reason::kSupportTickets30d:
      return "support_tickets_30d";
    case Reason::kLowPlanValue:
      return "low_plan_value";
    case Reason::kHighPlanValue:
      return "high_plan_value";
    case Reason::kRegionIn:
      return "region_in";
    case Reason::kRegionSg:
      return "region_sg";
    case Reason::kRegionUs:
      return "region_us";
    case Reason::kRegionEu:
      return "region_eu";
  }
  return "general_risk_factors";
}

std::optional<Reason> ReasonFromName(std::string_view name) {
  for (std::uint8_t i = 0; i < kNumReasons; ++i) {
    if (ReasonName(static_cast<Reason>(i)) == name) return static_cast<Reason>(i);
  }
  return std::nullopt;
}

ReasonSet ExplainRisk(const RawFeatures& features) {
  // Each comparison is false for NaN, so a missing value fires nothing.
  ReasonSet reasons;
  if (features.Get(NumericFeature::kTimeSinceLastUseDays) >= 14.0)
    reasons.Add(Reason::kInactive14d);
  if (features.Get(NumericFeature::kFailedRenewals30d) > 0.0)
    reasons.Add(Reason::kPaymentIssueRecent);
  if (features.Get(NumericFeature::kActivity7d) == 0.0) reasons.Add(Reason::kNoRecentActivity);
  if (features.Get(NumericFeature::kUsageScore) < 0.3) reasons.Add(Reason::kLowFeatureUsage);
  if (reasons.empty()) reasons.Add(Reason::kGeneralRiskFactors);
  return reasons;
}

// ---- model reasons ----------------------------------------------------------------------

std::string_view ReasonModeName(ReasonMode mode) {
  return mode == ReasonMode::kModel ? "model" : "rules";
}

std::optional<ReasonMode> ParseReasonMode(std::string_view name) {
  if (name == "rules") return ReasonMode::kRules;
  if (name == "model") return ReasonMode::kModel;
  return std::nullopt;
}

namespace {

constexpr ReasonOp kOps[] = {ReasonOp::kAtLeast, ReasonOp::kAbove, ReasonOp::kBelow,
                             ReasonOp::kAtMost, ReasonOp::kEquals};

}  // namespace

std::string_view ReasonOpText(ReasonOp op) {
  switch (op) {
    case ReasonOp::kAtLeast:
      return ">=";
    case ReasonOp::kAbove:
      return ">";
    case ReasonOp::kBelow:
      return "<";
    case ReasonOp::kAtMost:
      return "<=";
    case ReasonOp::kEquals:
      return "==";
  }
  return "==";
}

bool ReasonCatalogEntry::Holds(double v) const {
  switch (op) {  // every comparison is false for NaN
    case ReasonOp::kAtLeast:
      return v >= value;
    case ReasonOp::kAbove:
      return v > value;
    case ReasonOp::kBelow:
      return v < value;
    case ReasonOp::kAtMost:
      return v <= value;
    case ReasonOp::kEquals:
      return v == value;
  }
  return false;
}

const ReasonCatalog& ReasonCatalog::Default() {
  static const ReasonCatalog kDefault = [] {
    ReasonCatalog c;
    c.version = "csml-default-1";
    const auto add = [&c](std::string column, ReasonOp op, double value, Reason code) {
      c.entries.push_back(ReasonCatalogEntry{std::move(column), op, value, code});
    };
    // The seed's four rules, as the conditions of their codes (reasons.h).
    add("time_since_last_use_days", ReasonOp::kAtLeast, 14, Reason::kInactive14d);
    add("failed_renewals_30d", ReasonOp::kAbove, 0, Reason::kPaymentIssueRecent);
    add("activity_7d", ReasonOp::kEquals, 0, Reason::kNoRecentActivity);
    add("usage_score", ReasonOp::kBelow, 0.3, Reason::kLowFeatureUsage);
    // The other features, in the same style.
    add("activity_30d", ReasonOp::kBelow, 8, Reason::kLowActivity30d);
    add("tickets_7d", ReasonOp::kAtLeast, 1, Reason::kSupportTickets7d);
    add("tickets_30d", ReasonOp::kAtLeast, 2, Reason::kSupportTickets30d);
    add("plan_value", ReasonOp::kBelow, 50, Reason::kLowPlanValue);
    add("plan_value", ReasonOp::kAtLeast, 50, Reason::kHighPlanValue);
    add("region_IN", ReasonOp::kEquals, 1, Reason::kRegionIn);
    add("region_SG", ReasonOp::kEquals, 1, Reason::kRegionSg);
    add("region_US", ReasonOp::kEquals, 1, Reason::kRegionUs);
    add("region_EU", ReasonOp::kEquals, 1, Reason::kRegionEu);
    add("region_code", ReasonOp::kEquals, 0, Reason::kRegionIn);
    add("region_code", ReasonOp::kEquals, 1, Reason::kRegionSg);
    add("region_code", ReasonOp::kEquals, 2, Reason::kRegionUs);
    add("region_code", ReasonOp::kEquals, 3, Reason::kRegionEu);
    return c;
  }();
  return kDefault;
}

Result<ReasonCatalog> ReasonCatalog::FromJson(std::string_view text) {
  json::dom::parser parser;
  const json::JsonPath root("reason catalog");
  CSML_ASSIGN_OR_RETURN(json::dom::element doc, json::Parse(parser, text, "reason catalog"));
  CSML_ASSIGN_OR_RETURN(json::dom::object top, json::AsObject(doc, root));
  ReasonCatalog out;
  CSML_ASSIGN_OR_RETURN(const std::int64_t format, json::Int64Field(top, "format", root));
  if (format < 1 || format > kFormat) {
    return root.Key("format").Invalid("1 (newer catalogs need a newer csml)",
                                      std::to_string(format));
  }
  out.format = static_cast<int>(format);
  CSML_ASSIGN_OR_RETURN(const std::string_view version, json::StringField(top, "version", root));
  if (version.empty()) return root.Key("version").Invalid("a non-empty string", "\"\"");
  out.version.assign(version);
  CSML_ASSIGN_OR_RETURN(json::dom::array entries, json::ArrayField(top, "entries", root));
  std::size_t index = 0;
  for (json::dom::element e : entries) {
    const json::JsonPath at = root.Key("entries").Index(index++);
    CSML_ASSIGN_OR_RETURN(json::dom::object entry, json::AsObject(e, at));
    ReasonCatalogEntry parsed;
    CSML_ASSIGN_OR_RETURN(const std::string_view column, json::StringField(entry, "column", at));
    if (column.empty()) return at.Key("column").Invalid("a model column name", "\"\"");
    parsed.column.assign(column);
    CSML_ASSIGN_OR_RETURN(const std::string_view when, json::StringField(entry, "when", at));
    const auto* op = std::find_if(std::begin(kOps), std::end(kOps),
                                  [&](ReasonOp o) { return ReasonOpText(o) == when; });
    if (op == std::end(kOps)) {
      return at.Key("when").Invalid("one of >=, >, <, <=, ==", "\"" + std::string(when) + "\"");
    }
    parsed.op = *op;
    CSML_ASSIGN_OR_RETURN(parsed.value, json::NumberField(entry, "value", at));
    if (!std::isfinite(parsed.value)) {
      return at.Key("value").Invalid("a finite number", "a non-finite number");
    }
    CSML_ASSIGN_OR_RETURN(const std::string_view code, json::StringField(entry, "code", at));
    const std::optional<Reason> reason = ReasonFromName(code);
    if (!reason || *reason == Reason::kGeneralRiskFactors) {
      return at.Key("code").Invalid("a reason code csml knows (docs/EXPLANATIONS.md)",
                                    "\"" + std::string(code) + "\"");
    }
    parsed.code = *reason;
    out.entries.push_back(std::move(parsed));
  }
  return out;
}

std::string ReasonCatalog::ToJson() const {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("format").Int(format);
  json.Key("version").String(version);
  json.Key("entries").BeginArray();
  for (const ReasonCatalogEntry& e : entries) {
    json.BeginObject();
    json.Key("column").String(e.column);
    json.Key("when").String(ReasonOpText(e.op));
    json.Key("value").Double(e.value);
    json.Key("code").String(ReasonName(e.code));
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return out;
}

namespace {

Result<ReasonCatalog> CatalogFromElement(json::dom::element e) {
  return ReasonCatalog::FromJson(simdjson::minify(e));
}

}  // namespace

std::string ReasonSettings::ToJson() const {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("mode").String(ReasonModeName(mode));
  if (catalog) json.Key("catalog").Raw(catalog->ToJson());
  json.EndObject();
  return out;
}

Result<ReasonSettings> ReasonSettings::FromExtraJson(std::string_view extra_json) {
  ReasonSettings out;
  if (extra_json.empty()) return out;
  json::dom::parser parser;
  const json::JsonPath root("meta.json extra");
  CSML_ASSIGN_OR_RETURN(json::dom::element doc, json::Parse(parser, extra_json, "meta.json extra"));
  CSML_ASSIGN_OR_RETURN(json::dom::object top, json::AsObject(doc, root));
  const std::optional<json::dom::element> reasons = json::Find(top, "reasons");
  if (!reasons) return out;
  const json::JsonPath at = root.Key("reasons");
  CSML_ASSIGN_OR_RETURN(json::dom::object object, json::AsObject(*reasons, at));
  CSML_ASSIGN_OR_RETURN(const std::string_view mode, json::StringField(object, "mode", at));
  const std::optional<ReasonMode> parsed = ParseReasonMode(mode);
  if (!parsed) return at.Key("mode").Invalid("rules or model", "\"" + std::string(mode) + "\"");
  out.mode = *parsed;
  if (const std::optional<json::dom::element> catalog = json::Find(object, "catalog")) {
    Result<ReasonCatalog> read = CatalogFromElement(*catalog);
    if (!read) return tl::unexpected(read.error().WithContext("meta.json extra.reasons.catalog"));
    out.catalog = std::move(*read);
  }
  return out;
}

ModelReasons::ModelReasons(const ReasonCatalog& catalog, std::span<const std::string> columns)
    : num_columns_(columns.size()), version_(catalog.version) {
  for (std::size_t c = 0; c < columns.size(); ++c) {
    for (const ReasonCatalogEntry& e : catalog.entries) {
      if (e.column == columns[c]) bound_.push_back(Bound{c, e});
    }
  }
}

ReasonSet ModelReasons::Explain(std::span<const double> values,
                                std::span<const double> contributions) const {
  ReasonSet out;
  if (values.size() != num_columns_ || contributions.size() != num_columns_ || num_columns_ > 64) {
    out.Add(Reason::kGeneralRiskFactors);
    return out;
  }
  std::array<std::size_t, 64> order{};
  std::size_t raised = 0;
  for (std::size_t c = 0; c < num_columns_; ++c) {
    if (contributions[c] > 0.0) order[raised++] = c;
  }
  std::stable_sort(
      order.begin(), order.begin() + static_cast<std::ptrdiff_t>(raised),
      [&](std::size_t a, std::size_t b) { return contributions[a] > contributions[b]; });
  std::size_t listed = 0;
  for (std::size_t k = 0; k < raised && listed < kMaxModelReasons; ++k) {
    const std::size_t c = order[k];
    for (const Bound& b : bound_) {
      if (b.column != c || !b.entry.Holds(values[c])) continue;
      if (!out.Contains(b.entry.code)) {
        out.Append(b.entry.code);
        ++listed;
      }
      break;
    }
  }
  if (out.empty()) out.Add(Reason::kGeneralRiskFactors);
  return out;
}

}  // namespace csml
