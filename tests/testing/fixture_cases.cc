#include "testing/fixture_cases.h"

#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>

namespace csml::testing {
namespace {

namespace dom = simdjson::dom;

Error Bad(std::string what) { return Error{ErrorCode::kParse, std::move(what)}; }

}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, fmt::format("{}: cannot open", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::string FixturePath(std::string_view fixture, std::string_view file) {
  return fmt::format("{}/fixtures/{}/{}", CSML_TEST_DATA_DIR, fixture, file);
}

Result<std::vector<FixtureCase>> LoadCases(std::string_view json) {
  dom::parser parser;
  const simdjson::padded_string padded(json);
  dom::array cases;
  if (parser.parse(padded).get_array().get(cases) != simdjson::SUCCESS) {
    return tl::unexpected(Bad("cases.json: expected a JSON array"));
  }
  std::vector<FixtureCase> out;
  for (dom::element item : cases) {
    const std::size_t index = out.size();
    FixtureCase c;
    dom::object features;
    if (item["features"].get_object().get(features) != simdjson::SUCCESS ||
        item["expected_risk"].get_double().get(c.expected_risk) != simdjson::SUCCESS) {
      return tl::unexpected(Bad(
          fmt::format("case {}: expected {{\"features\": {{...}}, \"expected_risk\": p}}", index)));
    }
    for (auto [key, value] : features) {
      if (key == kRegionFeatureName) {
        std::string_view region;
        if (value.is_null()) {
          c.features.region = Region::kMissing;
        } else if (value.get_string().get(region) == simdjson::SUCCESS) {
          c.features.region = ParseRegion(region);
        } else {
          return tl::unexpected(Bad(fmt::format("case {}: region is not a string", index)));
        }
        continue;
      }
      NumericFeature feature{};
      if (!FindNumericFeature(key, &feature)) {
        return tl::unexpected(Bad(fmt::format("case {}: unknown feature '{}'", index, key)));
      }
      double number = std::numeric_limits<double>::quiet_NaN();
      if (!value.is_null() && value.get_double().get(number) != simdjson::SUCCESS) {
        return tl::unexpected(Bad(fmt::format("case {}: {} is not a number", index, key)));
      }
      c.features.Set(feature, number);
    }
    out.push_back(c);
  }
  return out;
}

Result<std::vector<std::string>> LoadFeatureOrder(std::string_view json) {
  dom::parser parser;
  const simdjson::padded_string padded(json);
  dom::array order;
  if (parser.parse(padded)["feature_order"].get_array().get(order) != simdjson::SUCCESS) {
    return tl::unexpected(Bad("encoding.json: expected a feature_order array"));
  }
  std::vector<std::string> names;
  for (dom::element item : order) {
    std::string_view name;
    if (item.get_string().get(name) != simdjson::SUCCESS) {
      return tl::unexpected(Bad("encoding.json: feature_order holds a non-string"));
    }
    names.emplace_back(name);
  }
  return names;
}

Result<std::vector<FixtureCase>> LoadFixtureCases(std::string_view fixture) {
  CSML_ASSIGN_OR_RETURN(const std::string json, ReadFile(FixturePath(fixture, "cases.json")));
  return LoadCases(json);
}

Result<std::vector<std::string>> LoadFixtureFeatureOrder(std::string_view fixture) {
  CSML_ASSIGN_OR_RETURN(const std::string json, ReadFile(FixturePath(fixture, "encoding.json")));
  return LoadFeatureOrder(json);
}

}  // namespace csml::testing
