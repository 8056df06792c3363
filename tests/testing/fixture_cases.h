// Test support: reads the model interop fixtures in tests/data/fixtures/<name>/ (a model
// file, cases.json with contract features and the library's own expected_risk, and
// encoding.json with the model's feature order), for the predict, serving and bench code. See the
// README next to them in the shared fixtures for how they were produced.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/features/schema.h"

namespace csml::testing {

struct FixtureCase {
  RawFeatures features;
  double expected_risk = 0.0;
};

// The whole file as bytes; an Error naming the path when it cannot be read.
Result<std::string> ReadFile(const std::string& path);

// Path of a file inside tests/data/fixtures/<fixture>/.
std::string FixturePath(std::string_view fixture, std::string_view file);

// Parses cases.json: numeric null -> NaN, region null -> Region::kMissing, other regions via
// ParseRegion. Refuses unknown feature names so a fixture change cannot go unnoticed.
Result<std::vector<FixtureCase>> LoadCases(std::string_view json);

// encoding.json's "feature_order".
Result<std::vector<std::string>> LoadFeatureOrder(std::string_view json);

// LoadCases and LoadFeatureOrder on the files of tests/data/fixtures/<fixture>/.
Result<std::vector<FixtureCase>> LoadFixtureCases(std::string_view fixture);
Result<std::vector<std::string>> LoadFixtureFeatureOrder(std::string_view fixture);

}  // namespace csml::testing
