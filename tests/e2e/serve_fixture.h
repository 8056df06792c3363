// Helpers for the end-to-end suites of `csml serve` operations (reload, limits, security):
// a server child process, a registry of versions built in this process from the fixture
// XGBoost model, request builders and /metrics parsing.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "csml/core/error.h"
#include "csml/evaluation/reference_profile.h"
#include "csml/registry/registry.h"
#include "http_client.h"
#include "testing/child_process.h"

namespace csml::e2e {

// The csml binary under test.
const std::string& CsmlBinary();

// A `csml serve --port 0` child.
struct ServeProcess {
  testing::ChildProcess process;
  std::string log_path;
  int port = 0;
};

Result<ServeProcess> StartServe(const std::string& model_dir, const std::string& log_path,
                                const std::vector<std::string>& extra_args,
                                const testing::Environment& env = {});

// A registry whose versions all hold the fixture model (tests/data/fixtures/xgboost_synth),
// named by their creation hour: Publish(0) is risk-xgb-2025-08-22-0900, Publish(1) -1000...
class FixtureRegistry {
 public:
  static Result<FixtureRegistry> Create(const std::string& dir);
  // Tenant `tenant`'s namespace of the registry rooted at `root` (<root>/tenants/<tenant>/),
  // created when missing; its versions are named "<tenant>/<version>" when served.
  static Result<FixtureRegistry> CreateTenant(const std::string& root, const std::string& tenant);

  // Publishes a version; `features` overrides the meta's feature order (a schema mismatch),
  // `profile` is its reference profile (none by default, as for an imported model).
  Result<std::string> Publish(int hour, std::optional<std::vector<std::string>> features = {},
                              std::optional<ReferenceProfile> profile = {});
  Status Promote(const std::string& version) const { return registry_.Promote(version); }
  // Points SERVING at a version without the checks Promote makes (a registry damaged or
  // edited by hand), atomically.
  Status PointAt(const std::string& version) const;
  std::string ModelFile(const std::string& version) const;
  const Registry& registry() const { return registry_; }

 private:
  FixtureRegistry(Registry registry, std::string model_bytes)
      : registry_(std::move(registry)), model_bytes_(std::move(model_bytes)) {}
  Registry registry_;
  std::string model_bytes_;
};

// A test with its own registry of fixture versions (dir_/models, none published yet) and, once
// Serve() ran, a `csml serve --threads 2` on it logging to dir_/serve.log. TearDown stops the
// server and expects it to exit with status 0.
class ServedRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the server with `args` (plus --threads 2) and `env`.
  void Serve(std::vector<std::string> args, const testing::Environment& env = {});
  std::string Log() const;
  int port() const { return served_->port; }
  // The /metrics body, or "" when there is no answer.
  std::string Metrics() const;

  testing::TempDir dir_;
  std::optional<FixtureRegistry> registry_;
  std::optional<ServeProcess> served_;
};

// ServedRegistryTest with one version published (Publish(0)), named by version_.
class OneVersionServedTest : public ServedRegistryTest {
 protected:
  void SetUp() override;

  std::string version_;
};

// The seed request of docs/API.md.
std::string SeedScoreBody(const std::string& user_id = "u_001");
// {"items":[seed, seed, ...]} with `count` items.
std::string SeedBatchBody(int count);

HttpRequestSpec PostJson(std::string path, std::string body);
HttpRequestSpec GetPath(std::string path);
HttpRequestSpec WithBearer(HttpRequestSpec spec, const std::string& token);

// "modelVersion" of a 200 body, or "" when there is none.
std::string ModelVersionOf(const std::string& body);

// The value of one series line of a Prometheus text body ("name{labels}" exactly), or nullopt.
std::optional<double> MetricValue(const std::string& metrics, const std::string& series);

// Polls `done` every 10 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// The serving version /healthz reports, or "" (no model, or no answer).
std::string HealthzVersion(int port);

}  // namespace csml::e2e
