// The operations surface of `csml serve`, end to end: bearer tokens, /metrics, /openapi.json,
// /score/batch, /readyz while draining, and the JSON access log.
#include <signal.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "serve_fixture.h"

namespace csml::e2e {
namespace {

using testing::ChildProcess;
using testing::ReadWholeFile;

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kScoreToken = "score-token-0123456789abcdef";
const std::string kAdminToken = "admin-token-fedcba9876543210";

class OperationsTest : public OneVersionServedTest {};

TEST_F(OperationsTest, ScoringNeedsTheScoreTokenAndAdminNeedsTheAdminToken) {
  ASSERT_NO_FATAL_FAILURE(
      Serve({}, {{"CSML_SCORE_TOKEN", kScoreToken}, {"CSML_ADMIN_TOKEN", kAdminToken}}));
  for (const std::string path : {"/score", "/score/batch"}) {
    const std::string body = path == "/score" ? SeedScoreBody() : SeedBatchBody(2);
    auto missing = Fetch(port(), PostJson(path, body));
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->status, 401) << path;
    EXPECT_EQ(missing->body, R"({"detail":"Not authenticated"})");
    EXPECT_EQ(missing->Header("www-authenticate").value_or(""), "Bearer");

    auto wrong = Fetch(port(), WithBearer(PostJson(path, body), kScoreToken + "x"));
    ASSERT_TRUE(wrong.has_value());
    EXPECT_EQ(wrong->status, 401) << path;
    EXPECT_EQ(wrong->body, R"({"detail":"Invalid authentication credentials"})");

    auto prefix = Fetch(port(), WithBearer(PostJson(path, body), kScoreToken.substr(0, 10)));
    ASSERT_TRUE(prefix.has_value());
    EXPECT_EQ(prefix->status, 401) << "a prefix of the token is not the token";

    auto admin_for_score = Fetch(port(), WithBearer(PostJson(path, body), kAdminToken));
    ASSERT_TRUE(admin_for_score.has_value());
    EXPECT_EQ(admin_for_score->status, 401) << "the admin token does not score";

    HttpRequestSpec basic = PostJson(path, body);
    basic.headers.emplace_back("Authorization", "Basic " + kScoreToken);
    auto wrong_scheme = Fetch(port(), basic);
    ASSERT_TRUE(wrong_scheme.has_value());
    EXPECT_EQ(wrong_scheme->status, 401);

    HttpRequestSpec lower = PostJson(path, body);
    lower.headers.emplace_back("Authorization", "bearer  " + kScoreToken);
    auto ok = Fetch(port(), lower);
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200) << ok->body;
  }
  auto score_for_admin = Fetch(port(), WithBearer(PostJson("/admin/reload", ""), kScoreToken));
  ASSERT_TRUE(score_for_admin.has_value());
  EXPECT_EQ(score_for_admin->status, 401) << "the score token does not reload";
  auto admin = Fetch(port(), WithBearer(PostJson("/admin/reload", ""), kAdminToken), seconds(20));
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->status, 200) << admin->body;
  // Health and metrics stay open for probes and scrapers.
  auto health = Fetch(port(), GetPath("/healthz"));
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  auto metrics = Fetch(port(), GetPath("/metrics"));
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(MetricValue(metrics->body, "csml_auth_refused_total"), 10.0);
  const std::string log = Log();
  EXPECT_EQ(log.find(kScoreToken), std::string::npos) << "a token reached the log";
  EXPECT_EQ(log.find(kAdminToken), std::string::npos) << "a token reached the log";
}

TEST_F(OperationsTest, AdminEndpointsAreRefusedWithoutAnAdminToken) {
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  auto refused = Fetch(port(), WithBearer(PostJson("/admin/reload", ""), kAdminToken));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(refused->body,
            R"({"detail":"Admin endpoints are disabled: set CSML_ADMIN_TOKEN to enable them"})");
  auto open = Fetch(port(), PostJson("/score", SeedScoreBody()));
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->status, 200) << "without CSML_SCORE_TOKEN scoring is open";
}

struct BadTokenCase {
  std::string name;
  ChildProcess::Environment env;
  std::string message;
};

class OperationsBadToken : public OperationsTest,
                           public ::testing::WithParamInterface<BadTokenCase> {};

TEST_P(OperationsBadToken, RefusesToStartAndNeverPrintsTheToken) {
  auto child = ChildProcess::Start(CsmlBinary(),
                                   {"serve", "--port", "0", "--model-dir", dir_.Join("models")},
                                   dir_.Join("bad-token.log"), GetParam().env);
  ASSERT_TRUE(child.has_value());
  const std::optional<int> status = child->WaitFor(seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 2);
  const std::string log = ReadWholeFile(dir_.Join("bad-token.log"));
  EXPECT_NE(log.find(GetParam().message), std::string::npos) << log;
  for (const auto& [name, value] : GetParam().env) {
    EXPECT_EQ(log.find(value), std::string::npos) << "the token was printed";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, OperationsBadToken,
    ::testing::Values(
        BadTokenCase{"too_short", {{"CSML_SCORE_TOKEN", "short-secret"}}, "CSML_SCORE_TOKEN"},
        BadTokenCase{"has_a_space",
                     {{"CSML_ADMIN_TOKEN", "has a space in the middle of it"}},
                     "CSML_ADMIN_TOKEN"},
        BadTokenCase{"the_same_twice",
                     {{"CSML_SCORE_TOKEN", "same-token-for-both-roles"},
                      {"CSML_ADMIN_TOKEN", "same-token-for-both-roles"}},
                     "different from CSML_SCORE_TOKEN"}),
    [](const ::testing::TestParamInfo<BadTokenCase>& param) { return param.param.name; });

TEST_F(OperationsTest, BatchScoresEveryItemWithOneVersionAndReportsBadItemsInPlace) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--max-batch-items", "3"}));
  const std::string body = R"({"items":[)" + SeedScoreBody("a") +
                           R"(,{"userId":"b","features":{}},)" + SeedScoreBody("c") + "]}";
  auto response = Fetch(port(), PostJson("/score/batch", body));
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200) << response->body;
  auto single = Fetch(port(), PostJson("/score", SeedScoreBody("a")));
  ASSERT_TRUE(single.has_value());
  const std::string scored = "{\"status\":200,\"userId\":\"a\"," + single->body.substr(1);
  EXPECT_EQ(response->body.substr(0, response->body.find(",\"results\"")),
            R"({"modelVersion":")" + version_ + "\"");
  EXPECT_NE(response->body.find(scored), std::string::npos) << response->body;
  EXPECT_NE(
      response->body.find(
          R"({"status":422,"detail":[{"loc":["body","items",1,"features","activity_7d"],"msg":"field required","type":"value_error.missing"})"),
      std::string::npos)
      << response->body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(response->body).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(doc["results"].get_array().size(), 3u);

  auto too_many = Fetch(port(), PostJson("/score/batch", SeedBatchBody(4)));
  ASSERT_TRUE(too_many.has_value());
  EXPECT_EQ(too_many->status, 422);
  EXPECT_EQ(
      too_many->body,
      R"({"detail":[{"loc":["body","items"],"msg":"ensure this value has at most 3 items","type":"value_error.list.max_items","ctx":{"limit_value":3}}]})");
}

TEST_F(OperationsTest, MetricsAreValidPrometheusTextWithEveryFamily) {
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  ASSERT_TRUE(Fetch(port(), PostJson("/score", SeedScoreBody())).has_value());
  std::string with_unknown = SeedScoreBody();
  with_unknown.insert(with_unknown.size() - 2, R"(,"new_signal":3,"other":4)");
  ASSERT_TRUE(Fetch(port(), PostJson("/score", with_unknown)).has_value());
  ASSERT_TRUE(Fetch(port(), PostJson("/score", "{}")).has_value());
  auto metrics = Fetch(port(), GetPath("/metrics"));
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->Header("content-type").value_or(""),
            "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = metrics->body;
  EXPECT_EQ(MetricValue(text, R"(csml_http_requests_total{route="/score",status="200"})"), 2.0);
  EXPECT_EQ(MetricValue(text, R"(csml_http_requests_total{route="/score",status="422"})"), 1.0);
  EXPECT_EQ(MetricValue(text, R"(csml_http_request_duration_seconds_count{route="/score"})"), 3.0);
  EXPECT_EQ(MetricValue(text, R"(csml_score_risk_count)"), 2.0);
  EXPECT_EQ(MetricValue(text, "csml_score_unknown_feature_keys_total"), 2.0);
  EXPECT_EQ(MetricValue(text, "csml_score_requests_with_unknown_feature_keys_total"), 1.0);
  EXPECT_EQ(MetricValue(text, "csml_model_info{version=\"" + version_ + "\"}"), 1.0);
  EXPECT_EQ(MetricValue(text, R"(csml_model_reloads_total{outcome="loaded"})"), 1.0);
  double tiers = 0;
  for (const char* tier : {"low", "medium", "high"}) {
    tiers +=
        MetricValue(text, fmt::format("csml_score_tier_total{{tier=\"{}\"}}", tier)).value_or(0);
  }
  EXPECT_EQ(tiers, 2.0);
  // Every sample line is "name{labels} value" under a # TYPE of its family.
  static const std::regex kSample(
      R"(^([a-z_]+)(\{[a-z_]+="[^"\n]*"(,[a-z_]+="[^"\n]*")*\})? (-?[0-9.e+-]+|\+Inf|NaN)$)");
  std::set<std::string> typed;
  std::size_t start = 0;
  int samples = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end == std::string::npos ? text.size() : end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0 || line.empty()) continue;
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, kSample)) << line;
    std::string family = match[1].str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (!typed.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0) {
        family.resize(family.size() - s.size());
      }
    }
    EXPECT_TRUE(typed.count(family)) << "no # TYPE for " << line;
    ++samples;
  }
  EXPECT_GT(samples, 30);
}

TEST_F(OperationsTest, OpenApiDescribesExactlyTheEndpointsServed) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--max-batch-items", "250"}));
  auto response = Fetch(port(), GetPath("/openapi.json"));
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(response->body).get(doc), simdjson::SUCCESS) << response->body;
  EXPECT_EQ(std::string_view(doc["openapi"].get_string().value()), "3.0.3");
  EXPECT_EQ(doc["components"]["schemas"]["BatchScoreRequest"]["properties"]["items"]["maxItems"]
                .get_int64()
                .value(),
            250);
  std::set<std::string> described;
  for (auto [path, item] : doc["paths"].get_object()) {
    for (auto [method, operation] : item.get_object()) {
      std::string m(method);
      for (char& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      described.insert(m + " " + std::string(path));
      EXPECT_TRUE(operation["responses"].is_object()) << path;
    }
  }
  const std::set<std::string> served = {"POST /score",       "POST /score/batch", "GET /healthz",
                                        "GET /readyz",       "GET /metrics",      "GET /monitor",
                                        "GET /monitor.json", "GET /openapi.json", "GET /docs",
                                        "GET /docs/{asset}", "POST /admin/reload"};
  EXPECT_EQ(described, served);
  // Each described route answers its method (not 404 or 405).
  for (const std::string& entry : served) {
    const std::string method = entry.substr(0, entry.find(' '));
    std::string path = entry.substr(entry.find(' ') + 1);
    if (const std::size_t at = path.find("{asset}"); at != std::string::npos) {
      path.replace(at, 7, "LICENSE");
    }
    HttpRequestSpec spec = method == "GET" ? GetPath(path) : PostJson(path, "{}");
    auto answer = Fetch(port(), spec, seconds(20));
    ASSERT_TRUE(answer.has_value()) << entry;
    EXPECT_NE(answer->status, 404) << entry;
    EXPECT_NE(answer->status, 405) << entry;
  }
}

TEST_F(OperationsTest, TheAccessLogHasOneJsonLinePerRequestWithoutBodies) {
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  HttpRequestSpec tagged = PostJson("/score", SeedScoreBody("secret-user-42"));
  tagged.headers.emplace_back("X-Request-Id", "req-abc.123");
  auto scored = Fetch(port(), tagged);
  ASSERT_TRUE(scored.has_value());
  EXPECT_EQ(scored->Header("x-request-id").value_or(""), "req-abc.123");
  auto missing = Fetch(port(), GetPath("/no/such/path?token=abc"));
  ASSERT_TRUE(missing.has_value());
  const std::string generated = missing->Header("x-request-id").value_or("");
  EXPECT_FALSE(generated.empty());
  HttpRequestSpec hostile = GetPath("/healthz");
  hostile.headers.emplace_back("X-Request-Id", "bad\"id");  // not echoed: a new one instead
  auto health = Fetch(port(), hostile);
  ASSERT_TRUE(health.has_value());
  EXPECT_NE(health->Header("x-request-id").value_or(""), "bad\"id");

  std::string score_line;
  std::string missing_line;
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string log = Log();
        for (std::size_t at = log.find("{\"ts\""); at != std::string::npos;
             at = log.find("{\"ts\"", at + 1)) {
          const std::string line = log.substr(at, log.find('\n', at) - at);
          if (line.find("req-abc.123") != std::string::npos) score_line = line;
          if (line.find(generated) != std::string::npos) missing_line = line;
        }
        return !score_line.empty() && !missing_line.empty();
      },
      seconds(5)))
      << Log();
  static const std::regex kLine(
      R"re(^\{"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z","method":"POST","route":"/score","status":200,"latency_ms":[0-9.]+,"request_id":"req-abc\.123","model_version":"([^"]+)","bytes_in":[0-9]+,"bytes_out":[0-9]+\}$)re");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(score_line, match, kLine)) << score_line;
  EXPECT_EQ(match[1].str(), version_);
  EXPECT_NE(missing_line.find(R"("route":"unmatched","path":"/no/such/path","status":404)"),
            std::string::npos)
      << missing_line;
  EXPECT_EQ(Log().find("secret-user-42"), std::string::npos) << "a body reached the log";
  EXPECT_EQ(Log().find("token=abc"), std::string::npos) << "a query string reached the log";
}

TEST_F(OperationsTest, AccessLogCanBeSwitchedOff) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--access-log", "off"}));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Fetch(port(), PostJson("/score", SeedScoreBody())));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(Log().find("{\"ts\""), std::string::npos);
}

TEST_F(OperationsTest, ReadyzTurnsUnreadyWhileDrainingAndScoringGoesOn) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--drain-delay-ms", "1500"}));
  auto ready = Fetch(port(), GetPath("/readyz"));
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  ASSERT_TRUE(served_->process.Signal(SIGTERM));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = Fetch(port(), GetPath("/readyz"));
        return r && r->status == 503;
      },
      seconds(5)));
  auto draining = Fetch(port(), GetPath("/readyz"));
  ASSERT_TRUE(draining.has_value());
  EXPECT_EQ(draining->body,
            R"({"ready":false,"modelVersion":")" + version_ + R"(","detail":"shutting down"})");
  auto scored = Fetch(port(), PostJson("/score", SeedScoreBody()));
  ASSERT_TRUE(scored.has_value());
  EXPECT_EQ(scored->status, 200) << "requests are still served while draining";
  const std::optional<int> status = served_->process.WaitFor(seconds(15));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  served_.reset();
}

}  // namespace
}  // namespace csml::e2e
