// The one writer of a score as JSON, shared by `POST /score`, the items of `POST /score/batch`
// and the lines of `csml predict` (docs/API.md), so the three always print a customer alike:
//
//   {"risk":0.7312,"tier":"high","reasons":["inactive_14d"],"modelVersion":"risk-xgb-..."}
//
// keys in this order, risk printed as Python's json.dumps prints a float (0.7, 1.0, 0.0).
// Batch items and predict lines put their own identifying members (status, userId,
// snapshot_ts) first and these after them.
// Thread-safety: free functions over the caller's output.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "csml/core/json_writer.h"
#include "csml/serving/serving_model.h"

namespace csml {

// Writes "risk", "tier", "reasons" and "modelVersion" into the object `json` has open. The
// risk is printed as given: ServingModel rounds it to the 4 decimals /score prints (such a
// risk never allocates here), `csml predict --full-precision` passes the model's probability.
void WriteScoreMembers(JsonWriter& json, const ScoreResult& score, std::string_view model_version);

// Writes "drivers" (the `top` largest contributions by magnitude, ties in column order, each
// {"feature","value","contribution"}; value null when missing), "baseline" and "margin" into
// the open object: what `POST /score?explain=true` adds after WriteScoreMembers.
void WriteExplanationMembers(JsonWriter& json, const ScoreExplanation& explanation,
                             std::span<const std::string> columns, std::size_t top);

// Appends the /score 200 body: one object holding WriteScoreMembers.
void AppendScoreResponseJson(std::string* out, const ScoreResult& score,
                             std::string_view model_version);

}  // namespace csml
