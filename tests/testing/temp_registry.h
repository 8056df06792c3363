// A test fixture with an empty model registry of its own (docs/REGISTRY.md) at dir_/models,
// in a temporary directory removed with it after each test.
#pragma once

#include <filesystem>
#include <optional>
#include <utility>

#include <gtest/gtest.h>

#include "csml/registry/registry.h"
#include "testing/files.h"

namespace csml::testing {

class TempRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    dir_ = temp_.path();
    auto registry = Registry::Open(dir_ / "models", RegistryOpenMode::kCreateIfMissing);
    ASSERT_TRUE(registry.has_value()) << registry.error().message;
    registry_.emplace(std::move(*registry));
  }

  TempDir temp_;  // declared first: removed after the registry in it
  std::filesystem::path dir_;
  std::optional<Registry> registry_;
};

}  // namespace csml::testing
