// The CS API client against the real `csml cs-api` with each injected fault.
#include "cs_api_client.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cs_api_fixture.h"
#include "csml/data/snapshot_reader.h"
#include "csml/validation/source_window.h"

namespace csml::integration {
namespace {

using testing::HttpAnswer;
using testing::HttpGet;
using testing::TempDir;
using testing::UnusedPort;

using cs_client::CsApiClient;
using cs_client::CsApiClientOptions;
using cs_client::FetchAttempt;
using Clock = std::chrono::steady_clock;

class CsApiClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    data_ = new std::string(Simulate(*dir_, "data.json", 60, 60));
  }
  static void TearDownTestSuite() {
    delete data_;
    delete dir_;
  }
  void SetUp() override { ASSERT_FALSE(data_->empty()) << "csml simulate failed"; }

  // Fast retries so a test with several attempts takes milliseconds, not seconds.
  static CsApiClientOptions Options(const CsApiProcess& api) {
    CsApiClientOptions o;
    o.url = api.url();
    o.tenant_id = kTenant;
    o.connect_timeout_ms = 2'000;
    o.total_timeout_ms = 10'000;
    o.max_attempts = 3;
    o.backoff_initial_ms = 5;
    o.backoff_max_ms = 20;
    o.jitter_seed = 42;
    return o;
  }

  // The records the file holds for a window of `days`, counted here independently.
  static std::size_t ExpectedRecords(int days) {
    const SnapshotBatch batch = ReadSnapshotFile(*data_, {}).value();
    const SourceWindow window = MakeSourceWindow(batch.records, days, std::nullopt).value();
    std::size_t n = 0;
    for (const Snapshot& s : batch.records) n += window.Contains(s) ? 1 : 0;
    return n;
  }

  static Result<cs_client::FetchResult> Fetch(const CsApiClientOptions& options, int days,
                                              std::vector<FetchAttempt>* failed) {
    Result<CsApiClient> client = CsApiClient::Create(options);
    if (!client) return tl::unexpected(client.error());
    return client->FetchSnapshots(days, {},
                                  [failed](const FetchAttempt& a) { failed->push_back(a); });
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string* data_ = nullptr;
};

TEST_F(CsApiClientTest, FetchesTheRecordsOfTheWindowInOneAttempt) {
  CsApiProcess api(*dir_, *data_, {});
  ASSERT_TRUE(api.ok()) << api.log();
  std::vector<FetchAttempt> failed;
  for (int days : {7, 30}) {
    auto fetched = Fetch(Options(api), days, &failed);
    ASSERT_TRUE(fetched.has_value()) << fetched.error().message;
    EXPECT_EQ(fetched->batch.records.size(), ExpectedRecords(days)) << days;
    EXPECT_GT(fetched->batch.records.size(), 0u);
    EXPECT_EQ(fetched->batch.records_invalid, 0u);
    ASSERT_EQ(fetched->attempts.size(), 1u);
    EXPECT_EQ(fetched->attempts[0].http_status, 200);
  }
  EXPECT_TRUE(failed.empty());
  EXPECT_EQ(api.StopAndCountRequests(), 2);
}

TEST_F(CsApiClientTest, RetriesServiceUnavailableAndSucceeds) {
  CsApiProcess api(*dir_, *data_, {"--fault-fail-first", "2"});
  ASSERT_TRUE(api.ok()) << api.log();
  std::vector<FetchAttempt> failed;
  auto fetched = Fetch(Options(api), 30, &failed);
  ASSERT_TRUE(fetched.has_value()) << fetched.error().message;
  EXPECT_EQ(fetched->batch.records.size(), ExpectedRecords(30));
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].http_status, 503);
  EXPECT_EQ(failed[1].http_status, 503);
  EXPECT_EQ(fetched->attempts.size(), 3u);
  EXPECT_EQ(api.StopAndCountRequests(), 3);
}

TEST_F(CsApiClientTest, RetriesTooManyRequestsAndInternalErrors) {
  for (const char* status : {"429", "500"}) {
    CsApiProcess api(*dir_, *data_, {"--fault-fail-first", "1", "--fault-status", status});
    ASSERT_TRUE(api.ok()) << api.log();
    std::vector<FetchAttempt> failed;
    auto fetched = Fetch(Options(api), 30, &failed);
    ASSERT_TRUE(fetched.has_value()) << status << ": " << fetched.error().message;
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].http_status, std::stol(status));
  }
}

TEST_F(CsApiClientTest, StopsRetryingAfterMaxAttemptsAndNamesUrlAndStatus) {
  CsApiProcess api(*dir_, *data_, {"--fault-fail-first", "1000"});
  ASSERT_TRUE(api.ok()) << api.log();
  std::vector<FetchAttempt> failed;
  CsApiClientOptions options = Options(api);
  options.max_attempts = 4;
  auto fetched = Fetch(options, 30, &failed);
  ASSERT_FALSE(fetched.has_value());
  EXPECT_EQ(fetched.error().code, ErrorCode::kUnavailable);
  const std::string& m = fetched.error().message;
  EXPECT_NE(m.find(api.url() + "?days=30"), std::string::npos) << m;
  EXPECT_NE(m.find("HTTP 503"), std::string::npos) << m;
  EXPECT_NE(m.find("gave up after 4 attempts"), std::string::npos) << m;
  EXPECT_EQ(failed.size(), 4u);
  EXPECT_EQ(api.StopAndCountRequests(), 4);
}

TEST_F(CsApiClientTest, ADeterministicShareOfFailuresIsRetriedThrough) {
  CsApiProcess api(*dir_, *data_, {"--fault-fail-rate", "0.5", "--fault-seed", "9"});
  ASSERT_TRUE(api.ok()) << api.log();
  CsApiClientOptions options = Options(api);
  options.max_attempts = 12;  // 0.5^12: the seed makes it certain, the bound keeps it sane
  std::size_t failures = 0;
  for (int i = 0; i < 6; ++i) {
    std::vector<FetchAttempt> failed;
    auto fetched = Fetch(options, 7, &failed);
    ASSERT_TRUE(fetched.has_value()) << fetched.error().message;
    failures += failed.size();
  }
  EXPECT_GT(failures, 0u);
  EXPECT_EQ(api.StopAndCountRequests(), static_cast<int>(6 + failures));
}

TEST_F(CsApiClientTest, AHangingApiTimesOutOnEveryAttempt) {
  CsApiProcess api(*dir_, *data_, {"--fault-hang"});
  ASSERT_TRUE(api.ok()) << api.log();
  CsApiClientOptions options = Options(api);
  options.total_timeout_ms = 300;
  options.max_attempts = 2;
  std::vector<FetchAttempt> failed;
  const auto started = Clock::now();
  auto fetched = Fetch(options, 30, &failed);
  const auto elapsed = Clock::now() - started;
  ASSERT_FALSE(fetched.has_value());
  EXPECT_EQ(fetched.error().code, ErrorCode::kTimeout) << fetched.error().message;
  EXPECT_NE(fetched.error().message.find("limit 300 ms"), std::string::npos)
      << fetched.error().message;
  EXPECT_EQ(failed.size(), 2u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(600));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  // The simulator still stops (the hung requests are released). A second connection that the
  // kernel gave to the loop thread already hung is read only then, or never: 1 or 2 requests.
  const int served = api.StopAndCountRequests();
  EXPECT_GE(served, 1);
  EXPECT_LE(served, 2);
}

TEST_F(CsApiClientTest, LatencyWithinTheTimeoutIsWaitedForAndBeyondItTimesOut) {
  CsApiProcess api(*dir_, *data_, {"--fault-latency-ms", "400"});
  ASSERT_TRUE(api.ok()) << api.log();
  CsApiClientOptions options = Options(api);
  std::vector<FetchAttempt> failed;
  const auto started = Clock::now();
  auto fetched = Fetch(options, 7, &failed);
  ASSERT_TRUE(fetched.has_value()) << fetched.error().message;
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(400));
  EXPECT_TRUE(failed.empty());

  options.total_timeout_ms = 150;
  options.max_attempts = 2;
  fetched = Fetch(options, 7, &failed);
  ASSERT_FALSE(fetched.has_value());
  EXPECT_EQ(fetched.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(failed.size(), 2u);
}

TEST_F(CsApiClientTest, ATruncatedBodyIsRetriedThenAClearError) {
  CsApiProcess api(*dir_, *data_, {"--fault-truncate"});
  ASSERT_TRUE(api.ok()) << api.log();
  std::vector<FetchAttempt> failed;
  auto fetched = Fetch(Options(api), 30, &failed);
  ASSERT_FALSE(fetched.has_value());
  const std::string& m = fetched.error().message;
  EXPECT_EQ(fetched.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(m.find("body cut short"), std::string::npos) << m;
  EXPECT_NE(m.find("?days=30"), std::string::npos) << m;
  EXPECT_NE(m.find("ended early"), std::string::npos) << m;
  EXPECT_EQ(failed.size(), 3u);
}

TEST_F(CsApiClientTest, AWrongTenantIs403AndNotRetried) {
  CsApiProcess api(*dir_, *data_, {});
  ASSERT_TRUE(api.ok()) << api.log();
  CsApiClientOptions options = Options(api);
  options.tenant_id = "someone-else";
  std::vector<FetchAttempt> failed;
  auto fetched = Fetch(options, 30, &failed);
  ASSERT_FALSE(fetched.has_value());
  const std::string& m = fetched.error().message;
  EXPECT_NE(m.find("HTTP 403"), std::string::npos) << m;
  EXPECT_NE(m.find("TENANT_ID or --tenant"), std::string::npos) << m;
  EXPECT_EQ(m.find("someone-else"), std::string::npos) << "the tenant id is a credential: " << m;
  EXPECT_EQ(api.StopAndCountRequests(), 1);
}

TEST_F(CsApiClientTest, TheSimulatorAnswers401WithoutTenantAnd400ForBadDays) {
  CsApiProcess api(*dir_, *data_, {});
  ASSERT_TRUE(api.ok()) << api.log();
  const std::string path = "/customers/features/public";
  const std::string tenant = std::string("X-Tenant-Id: ") + kTenant;
  EXPECT_EQ(HttpGet(api.port(), path + "?days=30", {}).status, 401);
  EXPECT_EQ(HttpGet(api.port(), path + "?days=30", {"X-Tenant-Id: nope"}).status, 403);
  for (const char* query : {"", "?days=", "?days=abc", "?days=0", "?days=-3", "?days=7x"}) {
    const HttpAnswer answer = HttpGet(api.port(), path + query, {tenant});
    EXPECT_EQ(answer.status, 400) << query;
    EXPECT_NE(answer.body.find("days"), std::string::npos) << answer.body;
  }
  const HttpAnswer ok = HttpGet(api.port(), path + "?x=1&days=7", {tenant});
  EXPECT_EQ(ok.status, 200);
  ASSERT_FALSE(ok.body.empty());
  EXPECT_EQ(ok.body.front(), '[');
  EXPECT_EQ(ok.body.back(), ']');
}

TEST_F(CsApiClientTest, OtherClientErrorsAreNotRetried) {
  for (const char* status : {"401", "404", "400"}) {
    CsApiProcess api(*dir_, *data_, {"--fault-fail-first", "100", "--fault-status", status});
    ASSERT_TRUE(api.ok()) << api.log();
    std::vector<FetchAttempt> failed;
    auto fetched = Fetch(Options(api), 30, &failed);
    ASSERT_FALSE(fetched.has_value());
    const std::string& m = fetched.error().message;
    EXPECT_NE(m.find(std::string("HTTP ") + status), std::string::npos) << m;
    EXPECT_TRUE(failed.empty()) << status;
    EXPECT_EQ(api.StopAndCountRequests(), 1) << status;
  }
}

TEST_F(CsApiClientTest, ABlankOrMultiLineTenantIsRefusedBeforeAnyRequest) {
  for (const char* tenant : {"", "  ", "abc\r\nX-Injected: 1"}) {
    CsApiClientOptions options;
    options.tenant_id = tenant;
    auto client = CsApiClient::Create(options);
    ASSERT_FALSE(client.has_value());
    EXPECT_EQ(client.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(client.error().message.find("Injected"), std::string::npos);
  }
}

TEST_F(CsApiClientTest, TheSimulatorRefusesToStartWithoutATenant) {
  CsApiProcess api(*dir_, *data_, {"--tenant", ""});
  EXPECT_FALSE(api.ok());
  EXPECT_NE(api.log().find("tenant"), std::string::npos) << api.log();
}

TEST_F(CsApiClientTest, AnApiThatIsDownIsRetriedThenNamed) {
  CsApiClientOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(UnusedPort()) + "/customers/features/public";
  options.tenant_id = kTenant;
  options.max_attempts = 3;
  options.backoff_initial_ms = 5;
  options.backoff_max_ms = 10;
  std::vector<FetchAttempt> failed;
  auto fetched = Fetch(options, 30, &failed);
  ASSERT_FALSE(fetched.has_value());
  EXPECT_EQ(fetched.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(fetched.error().message.find("is the CS API running?"), std::string::npos)
      << fetched.error().message;
  EXPECT_EQ(failed.size(), 3u);
}

TEST_F(CsApiClientTest, ABodyAboveTheSizeCapIsRefusedWithoutRetry) {
  CsApiProcess api(*dir_, *data_, {});
  ASSERT_TRUE(api.ok()) << api.log();
  CsApiClientOptions options = Options(api);
  options.max_response_bytes = 2'000;
  std::vector<FetchAttempt> failed;
  auto fetched = Fetch(options, 30, &failed);
  ASSERT_FALSE(fetched.has_value());
  EXPECT_NE(fetched.error().message.find("larger than the 2000 byte limit"), std::string::npos)
      << fetched.error().message;
  EXPECT_EQ(api.StopAndCountRequests(), 1);
}

}  // namespace
}  // namespace csml::integration
