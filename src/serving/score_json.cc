#include "csml/serving/score_json.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

#include "csml/serving/python_json.h"

namespace csml {

void WriteScoreMembers(JsonWriter& json, const ScoreResult& score, std::string_view model_version) {
  // A 4-decimal risk is at most 6 characters: it stays in the string's inline buffer.
  std::string risk;
  AppendPythonFloatRepr(&risk, score.risk);
  json.Key("risk").Raw(risk);
  json.Key("tier").String(TierName(score.tier));
  json.Key("reasons").BeginArray();
  score.reasons.ForEach([&](Reason reason) { json.String(ReasonName(reason)); });
  json.EndArray();
  json.Key("modelVersion").String(model_version);
}

void WriteExplanationMembers(JsonWriter& json, const ScoreExplanation& explanation,
                             std::span<const std::string> columns, std::size_t top) {
  const std::size_t n = std::min(explanation.num_columns, columns.size());
  std::array<std::size_t, 16> order{};
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
                   [&](std::size_t a, std::size_t b) {
                     return std::fabs(explanation.contributions[a]) >
                            std::fabs(explanation.contributions[b]);
                   });
  json.Key("drivers").BeginArray();
  for (std::size_t k = 0; k < std::min(top, n); ++k) {
    const std::size_t i = order[k];
    json.BeginObject();
    json.Key("feature").String(columns[i]);
    json.Key("value");
    if (std::isnan(explanation.values[i])) {
      json.Null();
    } else {
      json.Double(explanation.values[i]);
    }
    json.Key("contribution").Double(explanation.contributions[i]);
    json.EndObject();
  }
  json.EndArray();
  json.Key("baseline").Double(explanation.baseline);
  json.Key("margin").Double(explanation.margin);
}

void AppendScoreResponseJson(std::string* out, const ScoreResult& score,
                             std::string_view model_version) {
  JsonWriter json(out);
  json.BeginObject();
  WriteScoreMembers(json, score, model_version);
  json.EndObject();
}

}  // namespace csml
