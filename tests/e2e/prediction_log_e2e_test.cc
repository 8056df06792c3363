// The prediction log of `csml serve`, end to end: every scored /score request and
// /score/batch item becomes one record in the log directory, rejected requests none; the
// log's counters are on /metrics; stopping the server leaves only compressed segments.
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/monitoring/prediction_log_reader.h"
#include "serve_fixture.h"

namespace csml::e2e {
namespace {

using std::chrono::seconds;

class PredictionLogE2eTest : public OneVersionServedTest {};

TEST_F(PredictionLogE2eTest, EveryScoreIsLoggedWithItsRequestAndAnswer) {
  const std::string log_dir = dir_.Join("predictions");
  ASSERT_NO_FATAL_FAILURE(Serve({"--prediction-log", log_dir}));
  HttpRequestSpec single = PostJson("/score", SeedScoreBody("u_777"));
  single.headers.emplace_back("X-Request-Id", "pl-single");
  auto scored = Fetch(port(), single);
  ASSERT_TRUE(scored.has_value());
  ASSERT_EQ(scored->status, 200);
  HttpRequestSpec batch = PostJson("/score/batch", SeedBatchBody(3));
  batch.headers.emplace_back("X-Request-Id", "pl-batch");
  auto batched = Fetch(port(), batch);
  ASSERT_TRUE(batched.has_value());
  ASSERT_EQ(batched->status, 200);
  auto rejected = Fetch(port(), PostJson("/score", "{}"));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->status, 422);

  // Written out within the flush interval (1 s), while the server runs.
  const std::string written = R"(csml_prediction_log_records_total{outcome="written"})";
  ASSERT_TRUE(WaitUntil([&] { return MetricValue(Metrics(), written) == 4.0; }, seconds(5)))
      << Metrics();
  const std::string metrics = Metrics();
  EXPECT_EQ(
      MetricValue(metrics, R"(csml_prediction_log_records_total{outcome="dropped_queue_full"})"),
      0.0);
  EXPECT_EQ(MetricValue(metrics, "csml_prediction_log_queue_depth"), 0.0);
  EXPECT_EQ(MetricValue(metrics, "csml_prediction_log_disk_full"), 0.0);
  EXPECT_GT(MetricValue(metrics, "csml_prediction_log_written_bytes_total").value_or(0), 1000.0);

  EXPECT_EQ(served_->process.Stop(seconds(15)), 0) << Log();
  served_.reset();
  std::vector<PredictionRecord> records;
  Result<PredictionLogReadStats> read =
      ReadPredictionLog(log_dir, [&](const PredictionRecord& r) { records.push_back(r); });
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->files, read->compressed_files) << "a stopped server leaves compressed segments";
  EXPECT_EQ(read->torn_lines, 0u);
  ASSERT_EQ(records.size(), 4u);
  const PredictionRecord& one = records[0];
  EXPECT_EQ(one.request_id, "pl-single");
  EXPECT_EQ(one.endpoint, ScoreEndpoint::kScore);
  EXPECT_EQ(one.batch_index, -1);
  EXPECT_EQ(one.user_id, "u_777");
  EXPECT_EQ(one.model_version, version_);
  EXPECT_EQ(one.features.region, Region::kIN);
  EXPECT_DOUBLE_EQ(one.features.Get(NumericFeature::kPlanValue), 49.0);
  EXPECT_TRUE(std::isnan(one.features.Get(NumericFeature::kTickets30d))) << "absent: null";
  EXPECT_TRUE(one.reasons.Contains(Reason::kInactive14d));
  EXPECT_GE(one.latency_us, 0);
  EXPECT_NE(scored->body.find(fmt::format("\"risk\":{}", one.risk)), std::string::npos)
      << scored->body << " vs " << one.risk;
  for (std::size_t i = 0; i < 3; ++i) {
    const PredictionRecord& item = records[1 + i];
    EXPECT_EQ(item.request_id, "pl-batch");
    EXPECT_EQ(item.endpoint, ScoreEndpoint::kScoreBatch);
    EXPECT_EQ(item.batch_index, static_cast<std::int32_t>(i));
    EXPECT_EQ(item.user_id, fmt::format("u{}", i));
  }
  EXPECT_NE(Log().find("prediction log " + log_dir + ": 4 records taken, 0 dropped"),
            std::string::npos)
      << Log();
}

TEST_F(PredictionLogE2eTest, CanBeSwitchedOnThroughTheEnvironment) {
  const std::string log_dir = dir_.Join("from-env");
  ASSERT_NO_FATAL_FAILURE(Serve({}, {{"CSML_PREDICTION_LOG", log_dir}}));
  ASSERT_TRUE(Fetch(port(), PostJson("/score", SeedScoreBody())).has_value());
  EXPECT_TRUE(WaitUntil(
      [&] {
        return MetricValue(Metrics(), R"(csml_prediction_log_records_total{outcome="written"})") ==
               1.0;
      },
      seconds(5)))
      << Metrics();
}

TEST_F(PredictionLogE2eTest, IsOffByDefault) {
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  ASSERT_TRUE(Fetch(port(), PostJson("/score", SeedScoreBody())).has_value());
  EXPECT_EQ(Metrics().find("csml_prediction_log_"), std::string::npos);
}

}  // namespace
}  // namespace csml::e2e
