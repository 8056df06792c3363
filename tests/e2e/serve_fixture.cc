#include "serve_fixture.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "csml/features/schema.h"

namespace csml::e2e {

using testing::ChildProcess;
using testing::ReadWholeFile;
using testing::WaitForListeningPort;

namespace fs = std::filesystem;

const std::string& CsmlBinary() {
  static const std::string binary = CSML_BINARY;
  return binary;
}

Result<ServeProcess> StartServe(const std::string& model_dir, const std::string& log_path,
                                const std::vector<std::string>& extra_args,
                                const ChildProcess::Environment& env) {
  std::vector<std::string> args = {"serve", "--port", "0", "--model-dir", model_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto process = ChildProcess::Start(CsmlBinary(), args, log_path, env);
  if (!process) return tl::unexpected(process.error());
  auto port = WaitForListeningPort(*process, log_path, std::chrono::seconds(30));
  if (!port) return tl::unexpected(port.error());
  return ServeProcess{std::move(*process), log_path, *port};
}

Result<FixtureRegistry> FixtureRegistry::Create(const std::string& dir) {
  auto registry = Registry::Open(dir, RegistryOpenMode::kCreateIfMissing);
  if (!registry) return tl::unexpected(registry.error());
  std::string bytes = ReadWholeFile(
      (fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth" / "model.json").string());
  if (bytes.empty()) return MakeError(ErrorCode::kNotFound, "fixture model.json not found");
  return FixtureRegistry(std::move(*registry), std::move(bytes));
}

Result<FixtureRegistry> FixtureRegistry::CreateTenant(const std::string& root,
                                                      const std::string& tenant) {
  auto registry = Registry::OpenTenant(root, tenant, RegistryOpenMode::kCreateIfMissing);
  if (!registry) return tl::unexpected(registry.error());
  std::string bytes = ReadWholeFile(
      (fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth" / "model.json").string());
  if (bytes.empty()) return MakeError(ErrorCode::kNotFound, "fixture model.json not found");
  return FixtureRegistry(std::move(*registry), std::move(bytes));
}

Result<std::string> FixtureRegistry::Publish(int hour,
                                             std::optional<std::vector<std::string>> features,
                                             std::optional<ReferenceProfile> profile) {
  ModelMeta draft;
  draft.algo = "xgb";
  draft.created_at = 1755853200 + static_cast<UnixSeconds>(hour) * 3600;  // 2025-08-22T09:00Z
  draft.features = features ? *features : FeatureEncoder::DefaultColumns();
  draft.threshold_method = "test fixture";
  draft.reference_profile = std::move(profile);
  auto meta = registry_.Publish(model_bytes_, draft);
  if (!meta) return tl::unexpected(meta.error());
  return meta->version;
}

Status FixtureRegistry::PointAt(const std::string& version) const {
  const fs::path temp = registry_.dir() / ".tmp-e2e-pointer";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << version << "\n";
    if (!out) return MakeError(ErrorCode::kIo, "cannot write " + temp.string());
  }
  std::error_code ec;
  fs::rename(temp, registry_.dir() / "SERVING", ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot rename the pointer: " + ec.message());
  return {};
}

std::string FixtureRegistry::ModelFile(const std::string& version) const {
  return (registry_.dir() / (version + ".model.json")).string();
}

void ServedRegistryTest::SetUp() {
  auto registry = FixtureRegistry::Create(dir_.Join("models"));
  ASSERT_TRUE(registry.has_value()) << registry.error().message;
  registry_.emplace(std::move(*registry));
}

void ServedRegistryTest::TearDown() {
  if (served_) {
    EXPECT_EQ(served_->process.Stop(std::chrono::seconds(15)), 0) << Log();
  }
}

void ServedRegistryTest::Serve(std::vector<std::string> args, const testing::Environment& env) {
  args.insert(args.end(), {"--threads", "2"});
  auto served = StartServe(dir_.Join("models"), dir_.Join("serve.log"), args, env);
  ASSERT_TRUE(served.has_value()) << served.error().message;
  served_.emplace(std::move(*served));
}

std::string ServedRegistryTest::Log() const { return ReadWholeFile(dir_.Join("serve.log")); }

std::string ServedRegistryTest::Metrics() const {
  auto response = Fetch(port(), GetPath("/metrics"));
  return response ? response->body : std::string();
}

void OneVersionServedTest::SetUp() {
  ServedRegistryTest::SetUp();
  if (HasFatalFailure()) return;
  auto version = registry_->Publish(0);
  ASSERT_TRUE(version.has_value());
  version_ = *version;
}

std::string SeedScoreBody(const std::string& user_id) {
  return R"({"userId":")" + user_id +
         R"(","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}})";
}

std::string SeedBatchBody(int count) {
  std::string body = R"({"items":[)";
  for (int i = 0; i < count; ++i) {
    if (i > 0) body.push_back(',');
    body += SeedScoreBody(fmt::format("u{}", i));
  }
  return body + "]}";
}

HttpRequestSpec PostJson(std::string path, std::string body) {
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.path = std::move(path);
  spec.body = std::move(body);
  return spec;
}

HttpRequestSpec GetPath(std::string path) {
  HttpRequestSpec spec;
  spec.path = std::move(path);
  spec.content_type = std::nullopt;
  return spec;
}

HttpRequestSpec WithBearer(HttpRequestSpec spec, const std::string& token) {
  spec.headers.emplace_back("Authorization", "Bearer " + token);
  return spec;
}

std::string ModelVersionOf(const std::string& body) {
  static const std::regex kVersion(R"re("modelVersion":"([^"]+)")re");
  std::smatch match;
  return std::regex_search(body, match, kVersion) ? match[1].str() : std::string();
}

std::optional<double> MetricValue(const std::string& metrics, const std::string& series) {
  std::size_t at = 0;
  while ((at = metrics.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') {
      const std::size_t end = metrics.find('\n', at);
      return std::stod(metrics.substr(at + series.size() + 1, end - at - series.size() - 1));
    }
    at += series.size();
  }
  return std::nullopt;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string HealthzVersion(int port) {
  auto health = Fetch(port, GetPath("/healthz"), std::chrono::seconds(5));
  if (!health || health->status != 200) return "";
  return ModelVersionOf(health->body);
}

}  // namespace csml::e2e
