#include "csml/training/promotion.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "csml/core/json_writer.h"

namespace csml {
namespace {

double MetricOrNan(const std::map<std::string, double>& metrics, const std::string& name) {
  const auto it = metrics.find(name);
  return it == metrics.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

// Adds "key": value_json as the last member of a JSON object's text.
Result<std::string> WithMember(std::string_view object_json, std::string_view key,
                               std::string_view value_json) {
  std::string_view body = object_json;
  while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.remove_suffix(1);
  if (body.size() < 2 || body.front() != '{' || body.back() != '}') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ModelMeta.extra_json: expected a JSON object to add the promotion to");
  }
  body.remove_suffix(1);
  std::size_t last = body.size();
  while (last > 1 && (body[last - 1] == ' ' || body[last - 1] == '\n')) --last;
  const bool empty = body.substr(0, last) == "{";
  std::string out(body.substr(0, last));
  if (!empty) out += ',';
  AppendJsonString(&out, key);
  out += ':';
  out += value_json;
  out += '}';
  return out;
}

std::string FormatAuc(double auc) { return std::isnan(auc) ? "none" : fmt::format("{:.4f}", auc); }

}  // namespace

Status PromotionOptions::Validate() const {
  if (!(max_auc_drop >= 0.0 && max_auc_drop <= 1.0)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("AUC tolerance: expected a number in [0, 1], got {}", max_auc_drop));
  }
  return {};
}

std::string PromotionDecision::ToJson() const {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Key("decision")
      .String(promote ? "promoted" : "not_promoted")
      .Key("forced")
      .Bool(forced)
      .Key("reason")
      .String(reason)
      .Key("served_version");
  if (served_version.empty()) {
    w.Null();
  } else {
    w.String(served_version);
  }
  w.Key("served_validation_auc")
      .Double(served_auc)
      .Key("candidate_validation_auc")
      .Double(candidate_auc)
      .Key("max_auc_drop")
      .Double(max_auc_drop)
      .EndObject();
  return out;
}

PromotionDecision DecidePromotion(double candidate_auc, const ModelMeta* served,
                                  const PromotionOptions& options) {
  PromotionDecision d;
  d.candidate_auc = candidate_auc;
  d.max_auc_drop = options.max_auc_drop;
  bool gate_passes = false;
  if (served == nullptr) {
    gate_passes = true;
    d.reason = "no version is served yet";
  } else {
    d.served_version = served->version;
    d.served_auc = MetricOrNan(served->validation_metrics, "auc");
    if (std::isnan(d.served_auc)) {
      gate_passes = true;
      d.reason = fmt::format("the served version {} records no validation AUC to compare with",
                             served->version);
    } else if (std::isnan(candidate_auc)) {
      d.reason =
          fmt::format("the new version has no validation AUC; {} keeps serving", served->version);
    } else if (candidate_auc >= d.served_auc - options.max_auc_drop) {
      gate_passes = true;
      d.reason = fmt::format("validation AUC {} is within {} of the served {} ({})",
                             FormatAuc(candidate_auc), options.max_auc_drop, served->version,
                             FormatAuc(d.served_auc));
      if (candidate_auc >= d.served_auc) {
        d.reason = fmt::format("validation AUC {} is not below the served {} ({})",
                               FormatAuc(candidate_auc), served->version, FormatAuc(d.served_auc));
      }
    } else {
      d.reason = fmt::format("validation AUC {} is more than {} below the served {} ({})",
                             FormatAuc(candidate_auc), options.max_auc_drop, served->version,
                             FormatAuc(d.served_auc));
    }
  }
  d.promote = gate_passes || options.force;
  d.forced = options.force && !gate_passes;
  if (d.forced) d.reason += "; promoted anyway (--force)";
  return d;
}

Result<PublishOutcome> PublishAndPromote(const Registry& registry, std::string_view model_bytes,
                                         ModelMeta draft, const PromotionOptions& options) {
  CSML_TRY(options.Validate());
  std::optional<ModelMeta> served;
  auto served_version = registry.ResolveServed();
  if (served_version) {
    CSML_ASSIGN_OR_RETURN(auto meta, registry.ReadMeta(*served_version));
    served = std::move(meta);
  } else if (served_version.error().code != ErrorCode::kNotFound) {
    return tl::unexpected(served_version.error());
  }
  // Whether SERVING pins the served version or it is only the newest one.
  auto promoted = registry.PromotedVersion();
  if (!promoted) return tl::unexpected(promoted.error());

  PublishOutcome out;
  out.decision = DecidePromotion(MetricOrNan(draft.validation_metrics, "auc"),
                                 served ? &*served : nullptr, options);
  CSML_ASSIGN_OR_RETURN(auto extra,
                        WithMember(draft.extra_json, "promotion", out.decision.ToJson()));
  draft.extra_json = std::move(extra);

  auto published = registry.Publish(model_bytes, std::move(draft));
  if (!published) return tl::unexpected(published.error());
  out.meta = std::move(*published);

  // Not promoting must still leave the old version served: pin it when SERVING does not
  // already name it (nothing promoted, or a promoted version that is no longer whole).
  const std::string& target = out.decision.promote ? out.meta.version : out.decision.served_version;
  const bool pointer_needed =
      out.decision.promote || !promoted->has_value() || **promoted != target;
  if (pointer_needed && !target.empty()) {
    if (auto s = registry.Promote(target); !s) {
      return tl::unexpected(s.error().WithContext(
          fmt::format("published {}, but promoting {} failed", out.meta.version, target)));
    }
  }
  CSML_ASSIGN_OR_RETURN(auto served_after, registry.ResolveServed());
  out.served_after = std::move(served_after);
  return out;
}

}  // namespace csml
