// One line of the prediction log (docs/MONITORING.md, "The record"): what was scored, for
// whom, by which model, with what answer. Schema version kPredictionSchemaVersion; a reader
// refuses lines of a newer schema.
//
//   {"schema":2,"ts":"2026-12-02T18:33:27.123Z","unix_ms":1796236407123,
//    "request_id":"5f0c1a2b-0-1c",
//    "endpoint":"score","batch_index":null,"user_id":"u_001","model_version":"risk-xgb-...",
//    "tenant":null,"role":"served","risk":0.7312,"tier":"high","reasons":["inactive_14d"],"latency_us":84,
//    "features":{"activity_7d":0,...,"usage_score":0.12,"region":"US"}}
//
// Every key is always present (null when it has no value), so a warehouse loader infers one
// column type per key. A schema 1 line (no tenant, no role) reads as tenant empty, role served.
//
// The role. kServed: the answer the client got from its namespace's primary model. kCanary:
// the answer the client got from the canary version. kShadow: a score the client did NOT get,
// computed beside the answer by the shadow version, with the answer's request_id,
// batch_index, user_id and features. A tenant's version is named "T/V" in model_version. Features
// are the request's values after decoding: numbers as sent, null for an absent or null value,
// region as IN / SG / US / EU / other, or null.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "csml/core/error.h"
#include "csml/features/schema.h"
#include "csml/reasons/reasons.h"
#include "csml/tiering/tiers.h"

namespace csml {

inline constexpr int kPredictionSchemaVersion = 2;

enum class ScoreEndpoint : std::uint8_t { kScore, kScoreBatch };

// "score" / "score_batch".
std::string_view ScoreEndpointName(ScoreEndpoint endpoint);

// What a record's score was to the client (see above).
enum class PredictionRole : std::uint8_t { kServed, kCanary, kShadow };

// "served" / "canary" / "shadow".
std::string_view PredictionRoleName(PredictionRole role);

// True for the roles whose score the client got (served, canary).
constexpr bool IsAnswer(PredictionRole role) { return role != PredictionRole::kShadow; }

// The fields of one record as a request thread has them: the strings are views, copied
// when the record is queued.
struct PredictionEvent {
  std::int64_t unix_ms = 0;  // when it was scored (wall clock)
  std::string_view request_id;
  ScoreEndpoint endpoint = ScoreEndpoint::kScore;
  std::int32_t batch_index = -1;  // the item's index in /score/batch; -1 for /score
  std::string_view user_id;
  std::string_view model_version;  // "T/V" for tenant T's version V
  std::string_view tenant;         // X-Tenant-Id as sent; empty: no header (written as null)
  PredictionRole role = PredictionRole::kServed;
  double risk = 0.0;
  Tier tier = Tier::kLow;
  ReasonSet reasons;
  std::int64_t latency_us = 0;  // request received -> score ready
  RawFeatures features;
};

// A record read back: the event with its strings owned.
struct PredictionRecord {
  std::int64_t unix_ms = 0;
  std::string request_id;
  ScoreEndpoint endpoint = ScoreEndpoint::kScore;
  std::int32_t batch_index = -1;
  std::string user_id;
  std::string model_version;
  std::string tenant;
  PredictionRole role = PredictionRole::kServed;
  double risk = 0.0;
  Tier tier = Tier::kLow;
  ReasonSet reasons;
  std::int64_t latency_us = 0;
  RawFeatures features;

  void Assign(const PredictionEvent& event);  // reuses the strings' capacity
  PredictionEvent View() const;
};

// Appends the record's JSON line, '\n' included.
void AppendPredictionJsonLine(std::string* out, const PredictionEvent& event);

// Parses one line (without its '\n'), schema 1 or 2. kParse for text that is not a record
// (an unknown role included), kValidation for a newer schema version.
class PredictionLineParser {
 public:
  PredictionLineParser();
  ~PredictionLineParser();
  PredictionLineParser(const PredictionLineParser&) = delete;
  PredictionLineParser& operator=(const PredictionLineParser&) = delete;

  Status Parse(std::string_view line, PredictionRecord* record);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace csml
