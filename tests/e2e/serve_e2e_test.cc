// End-to-end tests of `csml serve`: the real binary, a registry made by the real `csml
// simulate` and `csml train` (or by hand from a fixture model), and real HTTP on 127.0.0.1.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/core/json_writer.h"
#include "csml/predict/forest_predictor.h"
#include "csml/reasons/reasons.h"
#include "csml/registry/registry.h"
#include "csml/serving/model_loader.h"
#include "csml/serving/python_json.h"
#include "csml/serving/serving_model.h"
#include "http_client.h"
#include "serve_fixture.h"
#include "testing/child_process.h"
#include "testing/feature_rows.h"

namespace csml::e2e {
namespace {

using testing::ReadWholeFile;
using testing::RunCommand;
using testing::TempDir;

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kCsml = CSML_BINARY;
constexpr std::size_t kDefaultMaxBody = 1 << 20;

// ---- a served registry ----------------------------------------------------------------------

// A `csml serve --port 0 --threads 2` child on one model directory.
using Served = ServeProcess;

Result<Served> Serve(const std::string& model_dir, const std::string& log_path) {
  return StartServe(model_dir, log_path, {"--threads", "2"});
}

// The single version a registry directory holds ("<version>.meta.json").
std::string OnlyVersion(const std::string& model_dir) {
  std::string version;
  for (const auto& entry : fs::directory_iterator(model_dir)) {
    const std::string name = entry.path().filename().string();
    const std::string suffix = ".meta.json";
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      version = name.substr(0, name.size() - suffix.size());
    }
  }
  return version;
}

// ---- request and response helpers ----------------------------------------------------------

HttpRequestSpec Post(std::string body, std::string path = "/score") {
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.path = std::move(path);
  spec.body = std::move(body);
  return spec;
}

HttpRequestSpec Get(std::string path) {
  HttpRequestSpec spec;
  spec.method = "GET";
  spec.path = std::move(path);
  spec.content_type = std::nullopt;
  return spec;
}

std::string ScoreBody(const std::string& features_json, const std::string& user = "u_001") {
  return R"({"userId":")" + user + R"(","features":)" + features_json + "}";
}

const std::string kSeedFeatures =
    R"({"activity_7d": 2, "activity_30d": 6, "time_since_last_use_days": 15, "failed_renewals_30d": 1, "tickets_7d": 0, "plan_value": 49, "region": "IN", "usage_score": 0.2})";

// The 200 body's exact layout: four keys in the contract's order, compact.
const std::regex kScoreShape(
    R"re(^\{"risk":(-?[0-9.e+-]+),"tier":"(low|medium|high)","reasons":\[("[a-z0-9_]+"(,"[a-z0-9_]+")*)\],"modelVersion":"([^"]+)"\}$)re");

struct ScoreAnswer {
  std::string risk_text;
  double risk = 0.0;
  std::string tier;
  std::vector<std::string> reasons;
  std::string model_version;
};

// Checks the shape and returns the parts; fails the test on a wrong shape.
std::optional<ScoreAnswer> ParseScore(const HttpResponse& response) {
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.Header("content-type").value_or(""), "application/json");
  std::smatch match;
  if (!std::regex_match(response.body, match, kScoreShape)) {
    ADD_FAILURE() << "not the /score shape: " << response.body;
    return std::nullopt;
  }
  ScoreAnswer answer;
  answer.risk_text = match[1].str();
  answer.risk = std::stod(answer.risk_text);
  answer.tier = match[2].str();
  answer.model_version = match[5].str();
  const std::string reasons = match[3].str();
  static const std::regex kReason(R"re("([a-z0-9_]+)")re");
  for (auto it = std::sregex_iterator(reasons.begin(), reasons.end(), kReason);
       it != std::sregex_iterator(); ++it) {
    answer.reasons.push_back((*it)[1].str());
  }
  return answer;
}

std::string PythonRepr(double v) {
  std::string out;
  AppendPythonFloatRepr(&out, v);
  return out;
}

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string Detail(std::string_view detail) { return "{\"detail\":" + Quoted(detail) + "}"; }

// One pydantic error on a feature, as the Python service printed it.
std::string FeatureError(const std::string& feature, const std::string& msg,
                         const std::string& type, const std::string& ctx = "") {
  std::string e = R"({"detail":[{"loc":["body","features",")" + feature + R"("],"msg":")" + msg +
                  R"(","type":")" + type + "\"";
  if (!ctx.empty()) e += ",\"ctx\":" + ctx;
  return e + "}]}";
}

std::string NotGe(const std::string& feature) {
  return FeatureError(feature, "ensure this value is greater than or equal to 0",
                      "value_error.number.not_ge", R"({"limit_value":0})");
}

std::string JsonDecodeErrorBody(const std::string& msg, const std::string& doc, int pos) {
  const std::string full = fmt::format("{}: line 1 column {} (char {})", msg, pos + 1, pos);
  return fmt::format(
      R"({{"detail":[{{"loc":["body",{}],"msg":{},"type":"value_error.jsondecode","ctx":{{"msg":{},"doc":{},"pos":{},"lineno":1,"colno":{}}}}}]}})",
      pos, Quoted(full), Quoted(msg), Quoted(doc), pos, pos + 1);
}

// Seed features with one member replaced by raw JSON text (or removed when text is empty).
std::string SeedWith(const std::string& feature, const std::string& raw_value) {
  std::string features = kSeedFeatures;
  const std::regex member("\"" + feature + R"(": [^,}]+)");
  if (raw_value.empty()) {
    features = std::regex_replace(features, std::regex(", \"" + feature + R"(": [^,}]+)"), "");
  } else {
    features = std::regex_replace(features, member, "\"" + feature + "\": " + raw_value);
  }
  return features;
}

std::string SeedPlus(const std::string& member) {
  std::string features = kSeedFeatures;
  features.insert(features.size() - 1, ", " + member);
  return features;
}

void ExpectStillHealthy(int port, int expected_status) {
  auto health = Fetch(port, Get("/healthz"));
  ASSERT_TRUE(health.has_value()) << health.error().message;
  EXPECT_EQ(health->status, expected_status) << health->body;
}

// ---- suite: a model trained by the real csml ------------------------------------------------

// One registry made by `csml simulate` + `csml train` and one server on it, shared by every
// suite that needs them: started by the first such suite, stopped (and checked to exit 0 on
// SIGTERM) when the test program ends.
class TrainedServer {
 public:
  static TrainedServer& Get() {
    static TrainedServer* instance = new TrainedServer();
    return *instance;
  }

  const std::string& error() const { return error_; }
  int port() const { return served_->port; }
  const std::string& model_dir() const { return model_dir_; }
  const std::string& version() const { return version_; }

  // Stops the server and removes the directory; returns the server's exit status.
  std::optional<int> Shutdown() {
    std::optional<int> status;
    if (served_) {
      status = served_->process.Stop(seconds(10));
      if (*status != 0) log_ = ReadWholeFile(served_->log_path);
      served_.reset();
    }
    dir_.reset();
    return status;
  }
  const std::string& log() const { return log_; }

  static bool started() { return started_; }

 private:
  TrainedServer() {
    started_ = true;
    dir_ = std::make_unique<TempDir>();
    const std::string snapshots = dir_->Join("X.jsonl");
    model_dir_ = dir_->Join("D");
    auto simulate = RunCommand(
        kCsml,
        {"simulate", "--customers", "300", "--days", "180", "--seed", "7", "--out", snapshots},
        dir_->Join("simulate.log"), seconds(120));
    if (!simulate || simulate->exit_code != 0) {
      error_ = "csml simulate failed: " + (simulate ? simulate->output : simulate.error().message);
      return;
    }
    auto train =
        RunCommand(kCsml, {"train", "--input", snapshots, "--model-dir", model_dir_, "--no-tune"},
                   dir_->Join("train.log"), seconds(300));
    if (!train || train->exit_code != 0) {
      error_ = "csml train failed: " + (train ? train->output : train.error().message);
      return;
    }
    version_ = OnlyVersion(model_dir_);
    auto served = Serve(model_dir_, dir_->Join("serve.log"));
    if (!served) {
      error_ = served.error().message;
      return;
    }
    served_ = std::make_unique<Served>(std::move(*served));
  }

  static inline bool started_ = false;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Served> served_;
  std::string model_dir_;
  std::string version_;
  std::string error_;
  std::string log_;
};

class TrainedServerEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!TrainedServer::started()) return;
    const std::optional<int> status = TrainedServer::Get().Shutdown();
    if (status) {
      EXPECT_EQ(*status, 0) << "csml serve did not stop cleanly on SIGTERM; log:\n"
                            << TrainedServer::Get().log();
    }
  }
};

[[maybe_unused]] ::testing::Environment* const kTrainedServerEnvironment =
    ::testing::AddGlobalTestEnvironment(new TrainedServerEnvironment);

class ServeTrainedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(TrainedServer::Get().error().empty()) << TrainedServer::Get().error();
  }

  static int port() { return TrainedServer::Get().port(); }
  static const std::string& version() { return TrainedServer::Get().version(); }

  // The published model, loaded in this process: what the server must agree with.
  static std::shared_ptr<const ServingModel> LocalModel() {
    static std::shared_ptr<const ServingModel> model = [] {
      auto registry = Registry::Open(TrainedServer::Get().model_dir(), RegistryOpenMode::kReadOnly);
      if (!registry) return std::shared_ptr<const ServingModel>();
      return LoadServingModel(*registry, version()).value_or(nullptr);
    }();
    return model;
  }
};

TEST_F(ServeTrainedModel, HealthzNamesThePublishedVersion) {
  ASSERT_FALSE(version().empty());
  auto health = Fetch(port(), Get("/healthz"));
  ASSERT_TRUE(health.has_value()) << health.error().message;
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->Header("content-type").value_or(""), "application/json");
  EXPECT_EQ(health->body, R"({"ok":true,"modelVersion":")" + version() + R"("})");
}

TEST_F(ServeTrainedModel, ScoresTheSeedExampleInTheContractsShape) {
  auto response = Fetch(port(), Post(ScoreBody(kSeedFeatures)));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  const auto answer = ParseScore(*response);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->model_version, version());
  EXPECT_EQ(answer->reasons, (std::vector<std::string>{"inactive_14d", "payment_issue_recent",
                                                       "low_feature_usage"}));
  ASSERT_NE(LocalModel(), nullptr);
  const RawFeatures seed = testing::SeedFeatures();
  const ScoreResult local = LocalModel()->Score(seed).value();
  EXPECT_EQ(answer->risk_text, PythonRepr(local.risk));
  EXPECT_EQ(answer->tier, TierName(local.tier));
}

TEST_F(ServeTrainedModel, RiskAndTierAgreeWithThePublishedModelAndItsThresholds) {
  ASSERT_NE(LocalModel(), nullptr);
  const Thresholds thresholds = LocalModel()->thresholds();
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn.has_value()) << conn.error().message;
  std::map<std::string, int> tiers_seen;
  for (int i = 0; i < 60; ++i) {
    RawFeatures f;
    f.Set(NumericFeature::kActivity7d, i % 7);
    f.Set(NumericFeature::kActivity30d, (i * 3) % 40);
    f.Set(NumericFeature::kTimeSinceLastUseDays, (i * 5) % 45);
    f.Set(NumericFeature::kFailedRenewals30d, i % 3 == 0 ? 1 : 0);
    f.Set(NumericFeature::kTickets7d, i % 4);
    f.Set(NumericFeature::kTickets30d, i % 9);
    f.Set(NumericFeature::kPlanValue, 10.0 + i * 3.5);
    f.Set(NumericFeature::kUsageScore, (i % 11) / 10.0);
    f.region = static_cast<Region>(i % 5);
    const std::string features = fmt::format(
        R"({{"activity_7d":{},"activity_30d":{},"time_since_last_use_days":{},"failed_renewals_30d":{},"tickets_7d":{},"tickets_30d":{},"plan_value":{},"usage_score":{},"region":"{}"}})",
        i % 7, (i * 3) % 40, (i * 5) % 45, i % 3 == 0 ? 1 : 0, i % 4, i % 9,
        PythonRepr(10.0 + i * 3.5), PythonRepr((i % 11) / 10.0),
        i % 5 < 4 ? RegionName(f.region) : "JP");
    auto response = conn->Send(Post(ScoreBody(features, fmt::format("u{}", i))));
    ASSERT_TRUE(response.has_value()) << response.error().message;
    const auto answer = ParseScore(*response);
    ASSERT_TRUE(answer.has_value());
    const ScoreResult local = LocalModel()->Score(f).value();
    EXPECT_EQ(answer->risk_text, PythonRepr(local.risk)) << features;
    EXPECT_EQ(answer->tier, TierName(thresholds.Classify(answer->risk))) << features;
    ++tiers_seen[answer->tier];
  }
  EXPECT_FALSE(conn->peer_closed()) << "keep-alive: 60 requests on one connection";
  EXPECT_GE(tiers_seen.size(), 2u) << "the inputs should reach more than one tier";
}

struct ReasonCase {
  std::string name;
  std::string features;
  std::vector<std::string> reasons;
};

class ServeTrainedModelReasons : public ServeTrainedModel,
                                 public ::testing::WithParamInterface<ReasonCase> {};

TEST_P(ServeTrainedModelReasons, ExplainsCraftedInputs) {
  auto response = Fetch(port(), Post(ScoreBody(GetParam().features)));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  const auto answer = ParseScore(*response);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->reasons, GetParam().reasons);
}

const std::string kQuiet =
    R"({"activity_7d": 5, "activity_30d": 20, "time_since_last_use_days": 1, "failed_renewals_30d": 0, "tickets_7d": 0, "plan_value": 49, "region": "US", "usage_score": 0.8})";

std::string QuietWith(const std::string& feature, const std::string& value) {
  return std::regex_replace(kQuiet, std::regex("\"" + feature + R"(": [^,}]+)"),
                            "\"" + feature + "\": " + value);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ServeTrainedModelReasons,
    ::testing::Values(
        ReasonCase{"none_fires", kQuiet, {"general_risk_factors"}},
        ReasonCase{"inactive_14d", QuietWith("time_since_last_use_days", "14"), {"inactive_14d"}},
        ReasonCase{
            "payment_issue", QuietWith("failed_renewals_30d", "2"), {"payment_issue_recent"}},
        ReasonCase{"no_recent_activity", QuietWith("activity_7d", "0"), {"no_recent_activity"}},
        ReasonCase{"low_usage", QuietWith("usage_score", "0.29"), {"low_feature_usage"}},
        ReasonCase{
            "seed", kSeedFeatures, {"inactive_14d", "payment_issue_recent", "low_feature_usage"}},
        ReasonCase{
            "nulls_fire_nothing",
            R"({"activity_7d": null, "activity_30d": 20, "time_since_last_use_days": null, "failed_renewals_30d": null, "tickets_7d": 0, "plan_value": 49, "region": null, "usage_score": null})",
            {"general_risk_factors"}},
        ReasonCase{
            "all_four",
            R"({"activity_7d": 0, "activity_30d": 0, "time_since_last_use_days": 40, "failed_renewals_30d": 1, "tickets_7d": 3, "plan_value": 9, "region": null, "usage_score": 0.0})",
            {"inactive_14d", "payment_issue_recent", "no_recent_activity", "low_feature_usage"}}),
    [](const ::testing::TestParamInfo<ReasonCase>& param) { return param.param.name; });

// ---- bad requests ---------------------------------------------------------------------------

struct BadRequestCase {
  std::string name;
  std::string raw_request;  // the exact bytes sent
  int status;
  std::string body;  // the exact JSON answer
};

BadRequestCase BadPost(std::string name, std::string body, int status, std::string answer,
                       std::optional<std::string> content_type = "application/json",
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequestSpec spec = Post(std::move(body));
  spec.content_type = std::move(content_type);
  spec.headers = std::move(headers);
  return BadRequestCase{std::move(name), FormatRequest(spec), status, std::move(answer)};
}

std::vector<BadRequestCase> BadRequests() {
  const std::string truncated = R"({"userId":"u1","features":{"activity_7d":2)";
  std::vector<BadRequestCase> cases = {
      BadPost("truncated_json", truncated, 422,
              JsonDecodeErrorBody("Expecting ',' delimiter", truncated, 42)),
      BadPost("nan_token", ScoreBody(SeedPlus(R"("tickets_30d": NaN)")), 422, NotGe("tickets_30d")),
      BadPost("infinity_token", ScoreBody(SeedWith("plan_value", "Infinity")), 422,
              FeatureError("plan_value", "ensure this value is a finite number",
                           "value_error.number.not_finite_number")),
      BadPost("minus_infinity_token", ScoreBody(SeedWith("activity_7d", "-Infinity")), 422,
              NotGe("activity_7d")),
      BadPost("huge_number", ScoreBody(SeedWith("plan_value", "1e400")), 422,
              FeatureError("plan_value", "ensure this value is a finite number",
                           "value_error.number.not_finite_number")),
      BadPost("negative_count", ScoreBody(SeedWith("tickets_7d", "-1")), 422, NotGe("tickets_7d")),
      BadPost("usage_score_above_one", ScoreBody(SeedWith("usage_score", "1.5")), 422,
              FeatureError("usage_score", "ensure this value is less than or equal to 1",
                           "value_error.number.not_le", R"({"limit_value":1})")),
      BadPost("numeric_string", ScoreBody(SeedWith("activity_7d", "\"2\"")), 422,
              FeatureError("activity_7d", "value is not a valid float", "type_error.float")),
      BadPost(
          "bool_number", ScoreBody(SeedWith("failed_renewals_30d", "true")), 422,
          FeatureError("failed_renewals_30d", "value is not a valid float", "type_error.float")),
      BadPost("region_not_a_string", ScoreBody(SeedWith("region", "[\"IN\"]")), 422,
              FeatureError("region", "str type expected", "type_error.str")),
      BadPost("region_absent", ScoreBody(SeedWith("region", "")), 422,
              FeatureError("region", "field required", "value_error.missing")),
      BadPost(
          "features_null", R"({"userId":"u1","features":null})", 422,
          R"({"detail":[{"loc":["body","features"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]})"),
      BadPost(
          "features_not_an_object", R"({"userId":"u1","features":7})", 422,
          R"({"detail":[{"loc":["body","features"],"msg":"value is not a valid dict","type":"type_error.dict"}]})"),
      BadPost(
          "userId_object", ScoreBody(kSeedFeatures).replace(10, 7, "{}"), 422,
          R"({"detail":[{"loc":["body","userId"],"msg":"str type expected","type":"type_error.str"}]})"),
      BadPost(
          "body_is_a_number", "5", 422,
          R"({"detail":[{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"}]})"),
      BadPost(
          "empty_body", "", 422,
          R"({"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]})"),
      BadPost("extra_data", R"({"userId":"u1"} x)", 422,
              JsonDecodeErrorBody("Extra data", R"({"userId":"u1"} x)", 16)),
      BadPost("control_character", "{\"userId\":\"u\x01\"}", 422,
              JsonDecodeErrorBody("Invalid control character at", "{\"userId\":\"u\x01\"}", 12)),
      BadPost("nested_ten_thousand_deep", std::string(10000, '[') + std::string(10000, ']'), 400,
              Detail("There was an error parsing the body")),
      BadPost("invalid_utf8", "{\"userId\":\"\xff\xfe\",\"features\":{}}", 400,
              Detail("There was an error parsing the body")),
      BadPost("gzip_body", ScoreBody(kSeedFeatures), 415,
              Detail("Content-Encoding 'gzip' is not supported; send the body uncompressed"),
              "application/json", {{"Content-Encoding", "gzip"}}),
      BadPost(
          "form_content_type", ScoreBody(kSeedFeatures), 422,
          R"({"detail":[{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"}]})",
          "application/x-www-form-urlencoded"),
      BadPost("two_megabyte_body", std::string(2 << 20, ' '), 413,
              Detail("Request body exceeds the limit of 1048576 bytes")),
      BadRequestCase{"get_score", FormatRequest(Get("/score")), 405, Detail("Method Not Allowed")},
      BadRequestCase{"post_healthz", FormatRequest(Post("{}", "/healthz")), 405,
                     Detail("Method Not Allowed")},
      BadRequestCase{"unknown_path", FormatRequest(Get("/predict")), 404, Detail("Not Found")},
      BadRequestCase{"unknown_path_post",
                     FormatRequest(Post(ScoreBody(kSeedFeatures), "/v1/score")), 404,
                     Detail("Not Found")},
  };
  // A body above the limit sent in chunks: h2o counts it as it arrives.
  std::string chunked =
      "POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i)
    chunked += fmt::format("{:x}\r\n{}\r\n", 65536, std::string(65536, ' '));
  chunked += "0\r\n\r\n";
  cases.push_back(BadRequestCase{"chunked_two_megabytes", chunked, 413,
                                 Detail("Request body exceeds the limit of 1048576 bytes")});
  return cases;
}

class ServeTrainedModelBadRequests : public ServeTrainedModel,
                                     public ::testing::WithParamInterface<BadRequestCase> {};

TEST_P(ServeTrainedModelBadRequests, AnswersWithTheRightStatusAndJsonAndStaysUp) {
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn.has_value()) << conn.error().message;
  auto response = conn->RoundTrip(GetParam().raw_request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, GetParam().status) << response->body;
  EXPECT_EQ(response->Header("content-type").value_or(""), "application/json");
  EXPECT_EQ(response->body, GetParam().body);
  ExpectStillHealthy(port(), 200);
}

INSTANTIATE_TEST_SUITE_P(Table, ServeTrainedModelBadRequests, ::testing::ValuesIn(BadRequests()),
                         [](const ::testing::TestParamInfo<BadRequestCase>& param) {
                           return param.param.name;
                         });

TEST(ServeBadRequestTable, HoldsAtLeastTwentyFiveCases) { EXPECT_GE(BadRequests().size(), 25u); }

// ---- the Python service's recorded answers, over HTTP ---------------------------------------

struct ReferenceCase {
  std::string name;
  std::string content_type;
  std::string body;
  int status = 0;
  std::string response;
};

std::vector<ReferenceCase> ReferenceCases() {
  std::vector<ReferenceCase> cases;
  simdjson::dom::parser parser;
  const simdjson::padded_string json(
      ReadWholeFile(std::string(CSML_TEST_DATA_DIR) + "/serving/python_service_errors.json"));
  simdjson::dom::element root;
  if (parser.parse(json).get(root) != simdjson::SUCCESS) return cases;
  for (simdjson::dom::element example : root["examples"].get_array()) {
    ReferenceCase c;
    c.name = std::string(example["case"].get_string().value());
    c.content_type = std::string(example["request"]["content_type"].get_string().value());
    c.body = std::string(example["request"]["body"].get_string().value());
    c.status = static_cast<int>(example["status"].get_int64().value());
    c.response = simdjson::minify(example["body"]);
    // docs/FEATURES.md: numbers must be JSON numbers.
    if (c.name == "numeric_string_is_coerced") {
      c.status = 422;
      c.response = FeatureError("activity_7d", "value is not a valid float", "type_error.float");
    } else if (c.name == "bool_as_number_is_coerced") {
      c.status = 422;
      c.response =
          FeatureError("failed_renewals_30d", "value is not a valid float", "type_error.float");
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

class ServeTrainedModelReference : public ServeTrainedModel,
                                   public ::testing::WithParamInterface<ReferenceCase> {};

TEST_P(ServeTrainedModelReference, AnswersAsThePythonServiceDid) {
  const ReferenceCase& c = GetParam();
  HttpRequestSpec spec = Post(c.body);
  spec.content_type = c.content_type;
  auto response = Fetch(port(), spec);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  ASSERT_EQ(response->status, c.status) << response->body;
  if (c.status == 200) {
    // The risk is this model's; the shape, the reasons and the version are the contract's.
    const auto answer = ParseScore(*response);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->model_version, version());
    EXPECT_EQ(answer->reasons, (std::vector<std::string>{"inactive_14d", "payment_issue_recent",
                                                         "low_feature_usage"}));
  } else {
    EXPECT_EQ(response->body, c.response);
  }
  ExpectStillHealthy(port(), 200);
}

INSTANTIATE_TEST_SUITE_P(Recorded, ServeTrainedModelReference,
                         ::testing::ValuesIn(ReferenceCases()),
                         [](const ::testing::TestParamInfo<ReferenceCase>& param) {
                           return param.param.name;
                         });

// ---- more of the HTTP surface ---------------------------------------------------------------

TEST_F(ServeTrainedModel, HeadHealthzAnswersWithoutABody) {
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn.has_value());
  HttpRequestSpec head = Get("/healthz");
  head.method = "HEAD";
  auto response = conn->Send(head);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body.empty());
  // The connection is still in step: the next answer is whole.
  auto next = conn->Send(Get("/healthz"));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, R"({"ok":true,"modelVersion":")" + version() + R"("})");
}

TEST_F(ServeTrainedModel, RedirectsATrailingSlashAsFastApiDoes) {
  auto response = Fetch(port(), Get("/healthz/"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 307);
  EXPECT_EQ(response->Header("location").value_or(""), "http://127.0.0.1/healthz");
}

TEST_F(ServeTrainedModel, AnswersManyClientsAtOnce) {
  const std::string body = ScoreBody(kSeedFeatures);
  auto first = Fetch(port(), Post(body));
  ASSERT_TRUE(first.has_value());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto conn = HttpConnection::Connect(port());
      if (!conn) {
        ++mismatches;
        return;
      }
      for (int i = 0; i < 50; ++i) {
        auto r = conn->Send(Post(body));
        if (!r || r->status != 200 || r->body != first->body) ++mismatches;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ---- suite: an empty registry ---------------------------------------------------------------

class ServeEmptyRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    fs::create_directories(dir_->Join("empty"));
    auto served = Serve(dir_->Join("empty"), dir_->Join("serve.log"));
    if (!served) {
      setup_error_ = served.error().message;
      return;
    }
    served_ = new Served(std::move(*served));
  }
  static void TearDownTestSuite() {
    if (served_ != nullptr) {
      EXPECT_EQ(served_->process.Stop(seconds(10)), 0);
      delete served_;
      served_ = nullptr;
    }
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static inline TempDir* dir_ = nullptr;
  static inline Served* served_ = nullptr;
  static inline std::string setup_error_;
};

TEST_F(ServeEmptyRegistry, HealthzSaysNoModel) {
  auto health = Fetch(served_->port, Get("/healthz"));
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(health->body, R"({"ok":false,"detail":"no model loaded"})");
}

TEST_F(ServeEmptyRegistry, ScoreIsUnavailableButStillValidatesAndTheServerStaysUp) {
  auto valid = Fetch(served_->port, Post(ScoreBody(kSeedFeatures)));
  ASSERT_TRUE(valid.has_value());
  EXPECT_EQ(valid->status, 503);
  EXPECT_EQ(valid->body, Detail("no model loaded"));
  auto invalid = Fetch(served_->port, Post(R"({"userId":"u1"})"));
  ASSERT_TRUE(invalid.has_value());
  EXPECT_EQ(invalid->status, 422);
  ExpectStillHealthy(served_->port, 503);
  EXPECT_TRUE(served_->process.running());
}

// ---- suite: a hand-built registry whose thresholds sit on the fixture's risks --------------

struct FixtureCase {
  std::string features_json;
  double rounded_risk = 0.0;
};

class ServeCraftedThresholds : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const fs::path fixture = fs::path(CSML_TEST_DATA_DIR) / "fixtures" / "xgboost_synth";
    const std::string model_bytes = ReadWholeFile((fixture / "model.json").string());
    // The risks the server will print, from the same model code in this process.
    auto predictor = MakeForestPredictor(model_bytes);
    if (!predictor) {
      setup_error_ = predictor.error().message;
      return;
    }
    auto local = ServingModel::Create("local", FeatureEncoder::DefaultColumns(), Thresholds{},
                                      std::move(*predictor));
    simdjson::dom::parser parser;
    const simdjson::padded_string cases_json(ReadWholeFile((fixture / "cases.json").string()));
    std::vector<double> risks;
    for (simdjson::dom::element c : parser.parse(cases_json).get_array()) {
      RawFeatures f;
      for (auto [key, value] : c["features"].get_object()) {
        NumericFeature nf{};
        if (FindNumericFeature(key, &nf)) {
          if (!value.is_null()) f.Set(nf, value.get_double().value());
        } else if (key == "region" && !value.is_null()) {
          f.region = ParseRegion(value.get_string().value());
        }
      }
      FixtureCase fc;
      fc.features_json = simdjson::minify(c["features"]);
      fc.rounded_risk = (*local)->Score(f).value().risk;
      risks.push_back(fc.rounded_risk);
      cases_.push_back(std::move(fc));
    }
    std::sort(risks.begin(), risks.end());
    // Thresholds equal to risks that some cases have exactly, so the boundaries are hit.
    thresholds_ = Thresholds{risks[risks.size() * 2 / 5], risks[risks.size() * 4 / 5]};

    const std::string model_dir = dir_->Join("crafted");
    auto registry = Registry::Open(model_dir, RegistryOpenMode::kCreateIfMissing);
    if (!registry) {
      setup_error_ = registry.error().message;
      return;
    }
    ModelMeta draft;
    draft.algo = "xgb";
    draft.created_at = 1755853200;  // 2025-08-22T09:00:00Z
    draft.features = FeatureEncoder::DefaultColumns();
    draft.thresholds = thresholds_;
    draft.threshold_method = "test: fixture risks";
    auto meta = registry->Publish(model_bytes, draft);
    if (!meta) {
      setup_error_ = meta.error().message;
      return;
    }
    version_ = meta->version;
    auto served = Serve(model_dir, dir_->Join("serve.log"));
    if (!served) {
      setup_error_ = served.error().message;
      return;
    }
    served_ = new Served(std::move(*served));
  }
  static void TearDownTestSuite() {
    if (served_ != nullptr) {
      EXPECT_EQ(served_->process.Stop(seconds(10)), 0);
      delete served_;
      served_ = nullptr;
    }
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static inline TempDir* dir_ = nullptr;
  static inline Served* served_ = nullptr;
  static inline std::vector<FixtureCase> cases_;
  static inline Thresholds thresholds_;
  static inline std::string version_;
  static inline std::string setup_error_;
};

TEST_F(ServeCraftedThresholds, TiersFollowTheMetaThresholdsAtTheirBoundaries) {
  ASSERT_EQ(cases_.size(), 200u);
  auto conn = HttpConnection::Connect(served_->port);
  ASSERT_TRUE(conn.has_value());
  int on_medium = 0;
  int on_high = 0;
  std::map<std::string, int> tiers;
  for (std::size_t i = 0; i < cases_.size(); ++i) {
    const FixtureCase& c = cases_[i];
    auto response = conn->Send(Post(ScoreBody(c.features_json, fmt::format("c{}", i))));
    ASSERT_TRUE(response.has_value()) << response.error().message;
    const auto answer = ParseScore(*response);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->model_version, version_);
    EXPECT_EQ(answer->risk_text, PythonRepr(c.rounded_risk)) << c.features_json;
    const std::string expected = c.rounded_risk >= thresholds_.high     ? "high"
                                 : c.rounded_risk >= thresholds_.medium ? "medium"
                                                                        : "low";
    EXPECT_EQ(answer->tier, expected) << "risk " << c.rounded_risk;
    ++tiers[answer->tier];
    if (c.rounded_risk == thresholds_.medium) ++on_medium;
    if (c.rounded_risk == thresholds_.high) ++on_high;
  }
  EXPECT_GE(on_medium, 1) << "a case sits exactly on t_medium";
  EXPECT_GE(on_high, 1) << "a case sits exactly on t_high";
  EXPECT_EQ(tiers.size(), 3u);
}

TEST_F(ServeCraftedThresholds, HealthzNamesTheHandBuiltVersion) {
  auto health = Fetch(served_->port, Get("/healthz"));
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->body, R"({"ok":true,"modelVersion":")" + version_ + R"("})");
}

// ---- POST /score?explain=true (issue 13) ----------------------------------------------------

// The margin -> risk link of the served model: XGBoost binary:logistic's float32 sigmoid, then
// the version's post-hoc calibration from its meta.json (docs/TRAINING.md). The one place these
// tests map a margin to a risk.
double RiskFromMargin(double margin, const Calibration& calibration) {
  const auto m = static_cast<float>(margin);
  return calibration.Apply(static_cast<double>(1.0f / (1.0f + std::exp(-m))));
}

struct ExplainedAnswer {
  std::string body;
  std::vector<std::string> reasons;
  std::vector<std::string> features;
  std::vector<double> values;  // NaN for null
  std::vector<double> contributions;
  double baseline = 0.0;
  double margin = 0.0;
};

std::optional<ExplainedAnswer> ParseExplained(const HttpResponse& response) {
  EXPECT_EQ(response.status, 200) << response.body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(response.body).get(root) != simdjson::SUCCESS) {
    ADD_FAILURE() << "not JSON: " << response.body;
    return std::nullopt;
  }
  ExplainedAnswer out;
  out.body = response.body;
  simdjson::dom::array drivers;
  if (root["drivers"].get_array().get(drivers) != simdjson::SUCCESS ||
      root["baseline"].get_double().get(out.baseline) != simdjson::SUCCESS ||
      root["margin"].get_double().get(out.margin) != simdjson::SUCCESS) {
    ADD_FAILURE() << "no drivers, baseline or margin: " << response.body;
    return std::nullopt;
  }
  simdjson::dom::array reasons;
  if (root["reasons"].get_array().get(reasons) != simdjson::SUCCESS) {
    ADD_FAILURE() << "no reasons: " << response.body;
    return std::nullopt;
  }
  for (simdjson::dom::element r : reasons) {
    std::string_view name;
    if (r.get_string().get(name) != simdjson::SUCCESS) {
      ADD_FAILURE() << "a reason that is not a string: " << response.body;
      return std::nullopt;
    }
    out.reasons.emplace_back(name);
  }
  for (simdjson::dom::element d : drivers) {
    double value = std::numeric_limits<double>::quiet_NaN();
    if (d["value"].type() != simdjson::dom::element_type::NULL_VALUE) {
      if (d["value"].type() == simdjson::dom::element_type::INT64) {
        value = static_cast<double>(d["value"].get_int64().value_unsafe());
      } else {
        value = d["value"].get_double().value_unsafe();
      }
    }
    out.values.push_back(value);
    std::string_view feature;
    double contribution = 0.0;
    if (d["feature"].get_string().get(feature) != simdjson::SUCCESS ||
        d["contribution"].get_double().get(contribution) != simdjson::SUCCESS ||
        (d["value"].type() != simdjson::dom::element_type::NULL_VALUE &&
         d["value"].type() != simdjson::dom::element_type::DOUBLE &&
         d["value"].type() != simdjson::dom::element_type::INT64)) {
      ADD_FAILURE() << "a driver without feature, value and contribution: " << response.body;
      return std::nullopt;
    }
    out.features.emplace_back(feature);
    out.contributions.push_back(contribution);
  }
  return out;
}

// Done-when of issue 13: the README example with every driver; they sum with the baseline
// to the margin, and the margin gives the risk through the model's link.
TEST_F(ServeTrainedModel, ExplainedReadmeExampleAddsUpToTheMarginAndTheRisk) {
  auto plain = Fetch(port(), Post(ScoreBody(kSeedFeatures)));
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  const auto plain_answer = ParseScore(*plain);
  ASSERT_TRUE(plain_answer.has_value());
  auto response = Fetch(port(), Post(ScoreBody(kSeedFeatures), "/score?explain=true&top=all"));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  const auto answer = ParseExplained(*response);
  ASSERT_TRUE(answer.has_value());
  // The plain members come first, unchanged.
  ASSERT_FALSE(plain->body.empty());
  EXPECT_EQ(answer->body.substr(0, plain->body.size() - 1),
            plain->body.substr(0, plain->body.size() - 1));
  // Every model column, largest |contribution| first.
  ASSERT_NE(LocalModel(), nullptr);
  EXPECT_EQ(answer->features.size(), LocalModel()->encoder().num_columns());
  double sum = answer->baseline;
  for (std::size_t i = 0; i < answer->contributions.size(); ++i) {
    sum += answer->contributions[i];
    if (i > 0) {
      EXPECT_GE(std::fabs(answer->contributions[i - 1]), std::fabs(answer->contributions[i]));
    }
  }
  EXPECT_NEAR(sum, answer->margin, 1e-5);
  const std::shared_ptr<const ServingModel> local = LocalModel();
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(PythonRepr(RoundTo(RiskFromMargin(answer->margin, local->calibration()), 4)),
            plain_answer->risk_text);
  // Something moved this customer away from the average customer.
  EXPECT_GT(std::fabs(answer->margin - answer->baseline), 0.1);
}

TEST_F(ServeTrainedModel, ExplainTopAndFalseAndBadValues) {
  auto plain = Fetch(port(), Post(ScoreBody(kSeedFeatures)));
  ASSERT_TRUE(plain.has_value());
  auto off = Fetch(port(), Post(ScoreBody(kSeedFeatures), "/score?explain=false&top=2"));
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(off->body, plain->body) << "explain=false answers the plain bytes";

  auto fallback = Fetch(port(), Post(ScoreBody(kSeedFeatures), "/score?explain=1"));
  ASSERT_TRUE(fallback.has_value());
  const auto four = ParseExplained(*fallback);
  ASSERT_TRUE(four.has_value());
  EXPECT_EQ(four->features.size(), 4u) << "default top";
  auto two = Fetch(port(), Post(ScoreBody(kSeedFeatures), "/score?explain=true&top=2"));
  ASSERT_TRUE(two.has_value());
  const auto two_answer = ParseExplained(*two);
  ASSERT_TRUE(two_answer.has_value());
  ASSERT_EQ(two_answer->features.size(), 2u);
  EXPECT_EQ(two_answer->features[0], four->features[0]);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"explain=maybe",
       R"({"detail":[{"loc":["query","explain"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"}]})"},
      {"explain=true&top=0",
       R"({"detail":[{"loc":["query","top"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge","ctx":{"limit_value":1}}]})"},
      {"explain=true&top=some",
       R"({"detail":[{"loc":["query","top"],"msg":"value is not a valid integer","type":"type_error.integer"}]})"}};
  for (const auto& [query, expected] : bad) {
    auto rejected = Fetch(port(), Post(ScoreBody(kSeedFeatures), "/score?" + query));
    ASSERT_TRUE(rejected.has_value());
    EXPECT_EQ(rejected->status, 422) << query;
    EXPECT_EQ(rejected->body, expected) << query;
  }
}

// "explain": true per /score/batch item: the item's result is the /score?explain=true body
// (after status and userId), items without it are the plain result, and bad explain/top
// values are that item's 422 while the others are scored.
TEST_F(ServeTrainedModel, BatchItemsExplainLikeScoreExplain) {
  auto single = Fetch(port(), Post(ScoreBody(kSeedFeatures), "/score?explain=true&top=all"));
  ASSERT_TRUE(single.has_value());
  ASSERT_EQ(single->status, 200);
  auto plain = Fetch(port(), Post(ScoreBody(kSeedFeatures)));
  ASSERT_TRUE(plain.has_value());
  const std::string features = R"("features":)" + kSeedFeatures;
  const std::string body = R"({"items":[{"userId":"u_001",)" + features +
                           R"(,"explain":true,"top":"all"},)" + R"({"userId":"u_001",)" + features +
                           R"(},)" + R"({"userId":"u_001",)" + features + R"(,"explain":true},)" +
                           R"({"userId":"u_001",)" + features + R"(,"explain":"maybe","top":0},)" +
                           R"({"userId":"u_001",)" + features + R"(,"explain":null,"top":2.5}]})";
  auto batch = Fetch(port(), Post(body, "/score/batch"));
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->status, 200) << batch->body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(batch->body).get(root), simdjson::SUCCESS) << batch->body;
  simdjson::dom::array results;
  ASSERT_EQ(root["results"].get_array().get(results), simdjson::SUCCESS);
  ASSERT_EQ(results.size(), 5u);
  const auto item = [&](std::size_t i) {
    simdjson::dom::element e;
    EXPECT_EQ(results.at(i).get(e), simdjson::SUCCESS);
    return e;
  };
  // Both sides through simdjson's printer, so numbers print alike.
  const auto minified = [](const std::string& json) {
    simdjson::dom::parser p;
    simdjson::dom::element e;
    if (p.parse(json).get(e) != simdjson::SUCCESS) return std::string("not JSON: ") + json;
    return simdjson::minify(e);
  };
  // Item 0 is the /score?explain=true&top=all body behind status and userId, byte for byte.
  EXPECT_EQ(simdjson::minify(item(0)),
            minified(R"({"status":200,"userId":"u_001",)" + single->body.substr(1)));
  EXPECT_EQ(simdjson::minify(item(1)),
            minified(R"({"status":200,"userId":"u_001",)" + plain->body.substr(1)));
  // Item 2: the default top of 4, the largest of item 0's.
  simdjson::dom::array four;
  ASSERT_EQ(item(2)["drivers"].get_array().get(four), simdjson::SUCCESS);
  EXPECT_EQ(four.size(), 4u);
  simdjson::dom::array all;
  ASSERT_EQ(item(0)["drivers"].get_array().get(all), simdjson::SUCCESS);
  ASSERT_GE(all.size(), 4u);
  simdjson::dom::element first_of_four;
  simdjson::dom::element first_of_all;
  ASSERT_EQ(four.at(0).get(first_of_four), simdjson::SUCCESS);
  ASSERT_EQ(all.at(0).get(first_of_all), simdjson::SUCCESS);
  EXPECT_EQ(simdjson::minify(first_of_four), simdjson::minify(first_of_all));
  EXPECT_EQ(
      simdjson::minify(item(3)),
      R"({"status":422,"detail":[{"loc":["body","items",3,"explain"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"},{"loc":["body","items",3,"top"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge","ctx":{"limit_value":1}}]})");
  EXPECT_EQ(
      simdjson::minify(item(4)),
      R"({"status":422,"detail":[{"loc":["body","items",4,"explain"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"},{"loc":["body","items",4,"top"],"msg":"value is not a valid integer","type":"type_error.integer"}]})");
  // A /score body's "explain" key stays an unknown key: the plain answer.
  auto ignored = Fetch(port(), Post(R"({"userId":"u_001",)" + features + R"(,"explain":true})"));
  ASSERT_TRUE(ignored.has_value());
  EXPECT_EQ(ignored->body, plain->body);
}

// ---- csml serve --reasons model, csml train --reasons model (issue 13) ------------------------

// The reasons the model-reasons definition gives for an answer's own drivers (all of them):
// what a server with model reasons must have answered.
std::vector<std::string> ExpectedModelReasons(const ExplainedAnswer& answer,
                                              const std::vector<std::string>& columns) {
  std::vector<double> values(columns.size(), std::numeric_limits<double>::quiet_NaN());
  std::vector<double> contributions(columns.size(), 0.0);
  for (std::size_t i = 0; i < answer.features.size(); ++i) {
    const auto at = std::find(columns.begin(), columns.end(), answer.features[i]);
    if (at == columns.end()) return {"unknown column " + answer.features[i]};
    values[static_cast<std::size_t>(at - columns.begin())] = answer.values[i];
    contributions[static_cast<std::size_t>(at - columns.begin())] = answer.contributions[i];
  }
  std::vector<std::string> out;
  ModelReasons(ReasonCatalog::Default(), columns)
      .Explain(values, contributions)
      .ForEach([&](Reason r) { out.emplace_back(ReasonName(r)); });
  return out;
}

const std::vector<std::string> kReasonCustomers = {
    kSeedFeatures,
    kQuiet,
    QuietWith("time_since_last_use_days", "30"),
    QuietWith("usage_score", "0.05"),
    QuietWith("activity_7d", "0"),
    QuietWith("failed_renewals_30d", "2"),
    QuietWith("tickets_7d", "4"),
    QuietWith("plan_value", "5"),
    QuietWith("activity_30d", "null"),
};

// Each customer's answer from `port` with every driver; its reasons must be the ones the
// definition gives for those drivers, and each a code of the catalog (at most four).
void ExpectModelReasons(int port, const std::vector<std::string>& columns,
                        std::size_t* not_general) {
  for (const std::string& features : kReasonCustomers) {
    auto response = Fetch(port, Post(ScoreBody(features), "/score?explain=true&top=all"));
    ASSERT_TRUE(response.has_value()) << response.error().message;
    const auto answer = ParseExplained(*response);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->reasons, ExpectedModelReasons(*answer, columns)) << answer->body;
    EXPECT_LE(answer->reasons.size(), 4u);
    if (answer->reasons != std::vector<std::string>{"general_risk_factors"}) ++*not_general;
    // The plain answer has the same reasons.
    auto plain = Fetch(port, Post(ScoreBody(features)));
    ASSERT_TRUE(plain.has_value());
    const auto plain_answer = ParseScore(*plain);
    ASSERT_TRUE(plain_answer.has_value());
    EXPECT_EQ(plain_answer->reasons, answer->reasons) << features;
  }
}

TEST_F(ServeTrainedModel, ReasonsModelListsTheCodesOfTheFeaturesThatRaisedTheRisk) {
  ASSERT_NE(LocalModel(), nullptr);
  const std::vector<std::string>& columns = LocalModel()->encoder().column_names();
  TempDir dir;
  auto served = StartServe(TrainedServer::Get().model_dir(), dir.Join("serve.log"),
                           {"--threads", "1", "--reasons", "model"});
  ASSERT_TRUE(served.has_value()) << served.error().message;
  std::size_t not_general = 0;
  ExpectModelReasons(served->port, columns, &not_general);
  EXPECT_GE(not_general, 3u) << "the crafted customers name some codes";
  // The same customers on the default server keep the seed's rules.
  auto rules = Fetch(port(), Post(ScoreBody(kSeedFeatures)));
  ASSERT_TRUE(rules.has_value());
  EXPECT_EQ(
      ParseScore(*rules)->reasons,
      (std::vector<std::string>{"inactive_14d", "payment_issue_recent", "low_feature_usage"}));
  EXPECT_EQ(served->process.Stop(seconds(10)), 0);
  EXPECT_NE(ReadWholeFile(served->log_path).find("reasons from the model (catalog csml-default-1)"),
            std::string::npos);
}

TEST(TrainReasonsModel, TheVersionCarriesItsCatalogAndServesModelReasonsByDefault) {
  TempDir dir;
  const std::string snapshots = dir.Join("X.jsonl");
  const std::string model_dir = dir.Join("D");
  auto simulate = RunCommand(
      kCsml,
      {"simulate", "--customers", "200", "--days", "120", "--seed", "11", "--out", snapshots},
      dir.Join("simulate.log"), seconds(120));
  ASSERT_TRUE(simulate.has_value() && simulate->exit_code == 0);
  auto train = RunCommand(
      kCsml, {"train", "--input", snapshots, "--model-dir", model_dir, "--reasons", "model"},
      dir.Join("train.log"), seconds(300));
  ASSERT_TRUE(train.has_value());
  ASSERT_EQ(train->exit_code, 0) << train->output;
  const std::string version = OnlyVersion(model_dir);
  const std::string meta = ReadWholeFile(model_dir + "/" + version + ".meta.json");
  EXPECT_NE(
      meta.find(R"("reasons":{"mode":"model","catalog":{"format":1,"version":"csml-default-1")"),
      std::string::npos)
      << meta;
  auto registry = Registry::Open(model_dir, RegistryOpenMode::kReadOnly);
  ASSERT_TRUE(registry.has_value());
  auto local = LoadServingModel(*registry, version);
  ASSERT_TRUE(local.has_value()) << local.error().message;
  EXPECT_EQ((*local)->reason_mode(), ReasonMode::kModel);
  auto served = StartServe(model_dir, dir.Join("serve.log"), {"--threads", "1"});
  ASSERT_TRUE(served.has_value()) << served.error().message;
  std::size_t not_general = 0;
  ExpectModelReasons(served->port, (*local)->encoder().column_names(), &not_general);
  EXPECT_GE(not_general, 1u);
  EXPECT_EQ(served->process.Stop(seconds(10)), 0);
  // --reasons rules overrides the version's setting: the seed's rules.
  auto rules =
      StartServe(model_dir, dir.Join("rules.log"), {"--threads", "1", "--reasons", "rules"});
  ASSERT_TRUE(rules.has_value()) << rules.error().message;
  auto seed = Fetch(rules->port, Post(ScoreBody(kSeedFeatures)));
  ASSERT_TRUE(seed.has_value());
  EXPECT_EQ(
      ParseScore(*seed)->reasons,
      (std::vector<std::string>{"inactive_14d", "payment_issue_recent", "low_feature_usage"}));
  EXPECT_EQ(rules->process.Stop(seconds(10)), 0);
}

}  // namespace
}  // namespace csml::e2e
