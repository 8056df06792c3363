#include "csml/serving/score_json.h"

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

void AppendScoreResponseJson(std::string* out, const ScoreResult& score,
                             std::string_view model_version) {
  JsonWriter json(out);
  json.BeginObject();
  WriteScoreMembers(json, score, model_version);
  json.EndObject();
}

}  // namespace csml
