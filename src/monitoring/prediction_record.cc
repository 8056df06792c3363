#include "csml/monitoring/prediction_record.h"

#include <array>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/json/fields.h"

namespace csml {
namespace {

constexpr std::array<Tier, 3> kAllTiers = {Tier::kLow, Tier::kMedium, Tier::kHigh};

// "YYYY-MM-DDTHH:MM:SS" of the last second formatted on this thread: the writer formats
// thousands of records per second, and gmtime and fmt per record were a tenth of its time.
struct SecondStamp {
  std::int64_t second = INT64_MIN;
  std::string text;
};

void AppendTwoDigits(std::string* out, int v) {
  out->push_back(static_cast<char>('0' + v / 10));
  out->push_back(static_cast<char>('0' + v % 10));
}

void AppendTimestamp(std::string* out, std::int64_t unix_ms) {
  thread_local SecondStamp cache;
  std::int64_t second = unix_ms / 1000;
  int millis = static_cast<int>(unix_ms % 1000);
  if (millis < 0) {  // before 1970: floor, as gmtime counts
    millis += 1000;
    --second;
  }
  if (second != cache.second) {
    const auto seconds = static_cast<std::time_t>(second);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    cache.text = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", utc.tm_year + 1900,
                             utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
    cache.second = second;
  }
  out->push_back('"');
  out->append(cache.text);
  out->push_back('.');
  out->push_back(static_cast<char>('0' + millis / 100));
  AppendTwoDigits(out, millis % 100);
  out->append("Z\"");
}

void AppendInt(std::string* out, std::int64_t value) {
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out->append(buf.data(), res.ptr);
}

void AppendNumberOrNull(std::string* out, double value) {
  if (std::isfinite(value)) {
    AppendShortestDouble(out, value);
  } else {
    out->append("null");
  }
}

// `,"<name>":` for every numeric feature (the first without its comma), built once.
const std::array<std::string, kNumNumericFeatures>& FeatureKeys() {
  static const std::array<std::string, kNumNumericFeatures> kKeys = [] {
    std::array<std::string, kNumNumericFeatures> k;
    for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
      if (i > 0) k[i].push_back(',');
      AppendJsonString(&k[i], kNumericFeatureSpecs[i].name);
      k[i].push_back(':');
    }
    return k;
  }();
  return kKeys;
}

}  // namespace

std::string_view ScoreEndpointName(ScoreEndpoint endpoint) {
  return endpoint == ScoreEndpoint::kScoreBatch ? "score_batch" : "score";
}

std::string_view PredictionRoleName(PredictionRole role) {
  switch (role) {
    case PredictionRole::kServed:
      break;
    case PredictionRole::kCanary:
      return "canary";
    case PredictionRole::kShadow:
      return "shadow";
  }
  return "served";
}

void PredictionRecord::Assign(const PredictionEvent& event) {
  unix_ms = event.unix_ms;
  request_id.assign(event.request_id);
  endpoint = event.endpoint;
  batch_index = event.batch_index;
  user_id.assign(event.user_id);
  model_version.assign(event.model_version);
  tenant.assign(event.tenant);
  role = event.role;
  risk = event.risk;
  tier = event.tier;
  reasons = event.reasons;
  latency_us = event.latency_us;
  features = event.features;
}

PredictionEvent PredictionRecord::View() const {
  PredictionEvent event;
  event.unix_ms = unix_ms;
  event.request_id = request_id;
  event.endpoint = endpoint;
  event.batch_index = batch_index;
  event.user_id = user_id;
  event.model_version = model_version;
  event.tenant = tenant;
  event.role = role;
  event.risk = risk;
  event.tier = tier;
  event.reasons = reasons;
  event.latency_us = latency_us;
  event.features = features;
  return event;
}

// Written field by field with the keys as literals (the bytes JsonWriter would write; a unit
// test pins them): this runs once per scored request on the log's writer thread.
void AppendPredictionJsonLine(std::string* out, const PredictionEvent& event) {
  out->append("{\"schema\":");
  AppendInt(out, kPredictionSchemaVersion);
  out->append(",\"ts\":");
  AppendTimestamp(out, event.unix_ms);
  out->append(",\"unix_ms\":");
  AppendInt(out, event.unix_ms);
  out->append(",\"request_id\":");
  AppendJsonString(out, event.request_id);
  out->append(",\"endpoint\":");
  AppendJsonString(out, ScoreEndpointName(event.endpoint));
  out->append(",\"batch_index\":");
  if (event.batch_index >= 0) {
    AppendInt(out, event.batch_index);
  } else {
    out->append("null");
  }
  out->append(",\"user_id\":");
  AppendJsonString(out, event.user_id);
  out->append(",\"model_version\":");
  AppendJsonString(out, event.model_version);
  out->append(",\"tenant\":");
  if (event.tenant.empty()) {
    out->append("null");
  } else {
    AppendJsonString(out, event.tenant);
  }
  // The role names need no escaping.
  out->append(",\"role\":\"");
  out->append(PredictionRoleName(event.role));
  out->append("\",\"risk\":");
  AppendNumberOrNull(out, event.risk);
  out->append(",\"tier\":");
  AppendJsonString(out, TierName(event.tier));
  out->append(",\"reasons\":[");
  bool first = true;
  event.reasons.ForEach([&](Reason r) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, ReasonName(r));
  });
  out->append("],\"latency_us\":");
  AppendInt(out, event.latency_us);
  out->append(",\"features\":{");
  const auto& keys = FeatureKeys();
  for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
    out->append(keys[i]);
    AppendNumberOrNull(out, event.features.numeric[i]);
  }
  out->push_back(',');
  AppendJsonString(out, kRegionFeatureName);
  out->push_back(':');
  if (event.features.region == Region::kMissing) {
    out->append("null");
  } else {
    AppendJsonString(out, RegionName(event.features.region));
  }
  out->append("}}\n");
}

struct PredictionLineParser::Impl {
  json::dom::parser parser;
};

PredictionLineParser::PredictionLineParser() : impl_(new Impl) {}
PredictionLineParser::~PredictionLineParser() { delete impl_; }

Status PredictionLineParser::Parse(std::string_view line, PredictionRecord* record) {
  using json::JsonPath;
  const JsonPath root("prediction log record");
  CSML_ASSIGN_OR_RETURN(json::dom::element doc, json::Parse(impl_->parser, line, root.Text()));
  CSML_ASSIGN_OR_RETURN(json::dom::object top, json::AsObject(doc, root));
  CSML_ASSIGN_OR_RETURN(std::int64_t schema, json::Int64Field(top, "schema", root));
  if (schema < 1 || schema > kPredictionSchemaVersion) {
    return root.Key("schema").Invalid(
        fmt::format("a schema version from 1 to {}", kPredictionSchemaVersion),
        std::to_string(schema));
  }
  CSML_ASSIGN_OR_RETURN(record->unix_ms, json::Int64Field(top, "unix_ms", root));
  CSML_ASSIGN_OR_RETURN(std::string_view request_id, json::StringField(top, "request_id", root));
  record->request_id.assign(request_id);
  CSML_ASSIGN_OR_RETURN(std::string_view endpoint, json::StringField(top, "endpoint", root));
  record->endpoint = endpoint == "score_batch" ? ScoreEndpoint::kScoreBatch : ScoreEndpoint::kScore;
  record->batch_index = -1;
  if (auto index = json::Find(top, "batch_index"); index && !index->is_null()) {
    CSML_ASSIGN_OR_RETURN(std::int64_t i, json::AsInt64(*index, root.Key("batch_index")));
    record->batch_index = static_cast<std::int32_t>(i);
  }
  CSML_ASSIGN_OR_RETURN(std::string_view user_id, json::StringField(top, "user_id", root));
  record->user_id.assign(user_id);
  CSML_ASSIGN_OR_RETURN(std::string_view version, json::StringField(top, "model_version", root));
  record->model_version.assign(version);
  record->tenant.clear();
  record->role = PredictionRole::kServed;
  if (schema >= 2) {  // schema 1 had neither: no tenant, served
    std::optional<json::dom::element> tenant = json::Find(top, "tenant");
    if (!tenant) return root.Key("tenant").Missing("a string or null");
    if (!tenant->is_null()) {
      CSML_ASSIGN_OR_RETURN(std::string_view text, json::AsString(*tenant, root.Key("tenant")));
      record->tenant.assign(text);
    }
    CSML_ASSIGN_OR_RETURN(std::string_view role, json::StringField(top, "role", root));
    if (role == "shadow") {
      record->role = PredictionRole::kShadow;
    } else if (role == "canary") {
      record->role = PredictionRole::kCanary;
    } else if (role != "served") {
      // Not a record this reader understands: a parse error, as a wrong type would be.
      tl::unexpected<Error> bad = root.Key("role").Invalid("served, canary or shadow", role);
      bad.value().code = ErrorCode::kParse;
      return bad;
    }
  }
  CSML_ASSIGN_OR_RETURN(record->risk, json::NumberField(top, "risk", root));
  CSML_ASSIGN_OR_RETURN(std::string_view tier, json::StringField(top, "tier", root));
  bool tier_known = false;
  for (const Tier t : kAllTiers) {
    if (TierName(t) == tier) {
      record->tier = t;
      tier_known = true;
    }
  }
  if (!tier_known) return root.Key("tier").Invalid("low, medium or high", tier);
  record->reasons = ReasonSet();
  CSML_ASSIGN_OR_RETURN(json::dom::array reasons, json::ArrayField(top, "reasons", root));
  for (json::dom::element r : reasons) {
    CSML_ASSIGN_OR_RETURN(std::string_view name, json::AsString(r, root.Key("reasons")));
    for (std::uint8_t i = 0; i < kNumReasons; ++i) {
      // The line's order (model reasons are ranked, not in the contract's order).
      if (ReasonName(static_cast<Reason>(i)) == name) {
        record->reasons.Append(static_cast<Reason>(i));
      }
    }
  }
  CSML_ASSIGN_OR_RETURN(record->latency_us, json::Int64Field(top, "latency_us", root));
  CSML_ASSIGN_OR_RETURN(json::dom::object features, json::ObjectField(top, "features", root));
  const JsonPath features_path = root.Key("features");
  record->features.numeric = RawFeatures::MissingNumerics();
  record->features.region = Region::kMissing;
  // One pass over the object (a lookup per feature would scan it nine times); the path of a
  // field is only built for an error.
  for (const json::dom::key_value_pair field : features) {
    if (field.value.is_null()) continue;
    if (field.key == kRegionFeatureName) {
      CSML_ASSIGN_OR_RETURN(std::string_view text,
                            json::AsString(field.value, features_path.Key(kRegionFeatureName)));
      record->features.region = ParseRegion(text);
      continue;
    }
    NumericFeature feature{};
    if (!FindNumericFeature(field.key, &feature)) continue;
    double value = 0;
    if (field.value.get_double().get(value) != simdjson::SUCCESS) {
      return tl::unexpected(json::AsNumber(field.value, features_path.Key(field.key)).error());
    }
    record->features.Set(feature, value);
  }
  return {};
}

}  // namespace csml
