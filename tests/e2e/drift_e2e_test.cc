// Live drift (apps/server/live_drift.h, docs/MONITORING.md "Live drift"): the window in
// process (threads, sliding, alarms, a reloaded version), then `csml serve` end to end: a
// drifted stream of /score/batch requests raises that feature's PSI above 0.25 on /metrics and
// logs one alarm line, an undrifted one stays below 0.1; GET /monitor and /monitor.json.
//
// The served version is the fixture model with a reference profile built here from synthetic
// customers and the risk the model gives them, so an undrifted stream is the same population.
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "csml/evaluation/reference_profile.h"
#include "csml/features/schema.h"
#include "csml/serving/model_loader.h"
#include "live_drift.h"
#include "serve_fixture.h"

namespace csml::e2e {
namespace {

using server::LiveDrift;
using server::LiveDriftFigures;
using std::chrono::seconds;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr auto kUsage = static_cast<std::size_t>(NumericFeature::kUsageScore);

// A customer base; drifted: usage_score shifted up by 0.4 and missing for one in four.
RawFeatures Customer(std::mt19937& rng, bool drifted) {
  std::uniform_real_distribution<double> u(0, 1);
  RawFeatures f;
  f.Set(NumericFeature::kActivity7d, std::floor(u(rng) * 8));
  f.Set(NumericFeature::kActivity30d, std::floor(u(rng) * 31));
  f.Set(NumericFeature::kTimeSinceLastUseDays, std::floor(u(rng) * u(rng) * 60));
  f.Set(NumericFeature::kFailedRenewals30d, u(rng) < 0.1 ? 1 : 0);
  f.Set(NumericFeature::kTickets7d, std::floor(u(rng) * 3));
  f.Set(NumericFeature::kTickets30d, u(rng) < 0.3 ? kNaN : std::floor(u(rng) * 8));
  f.Set(NumericFeature::kPlanValue, std::array<double, 4>{19, 49, 99, 199}[rng() % 4]);
  const double usage = u(rng);
  f.Set(NumericFeature::kUsageScore, drifted ? (u(rng) < 0.25 ? kNaN : 0.4 + 0.6 * usage) : usage);
  const double r = u(rng);
  f.region = r < 0.4 ? Region::kIN : r < 0.6 ? Region::kSG : r < 0.9 ? Region::kUS : Region::kEU;
  return f;
}

std::vector<RawFeatures> Customers(std::size_t n, std::uint32_t seed, bool drifted) {
  std::mt19937 rng(seed);
  std::vector<RawFeatures> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(Customer(rng, drifted));
  return out;
}

void AppendNumber(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("null");
  } else {
    out->append(fmt::format("{}", v));
  }
}

std::string ItemJson(const RawFeatures& f, std::size_t i) {
  std::string out = fmt::format(R"({{"userId":"d{}","features":{{)", i);
  for (std::size_t k = 0; k < kNumNumericFeatures; ++k) {
    out += fmt::format(R"("{}":)", SpecOf(static_cast<NumericFeature>(k)).name);
    AppendNumber(&out, f.numeric[k]);
    out.push_back(',');
  }
  return out + fmt::format(R"("region":"{}"}}}})", RegionName(f.region));
}

class DriftE2eTest : public ServedRegistryTest {
 protected:
  void SetUp() override {
    ServedRegistryTest::SetUp();
    if (HasFatalFailure()) return;
    // The risk the model gives the reference customers, through a version without a profile.
    auto plain = registry_->Publish(0);
    ASSERT_TRUE(plain.has_value()) << plain.error().message;
    auto plain_model = LoadServingModel(registry_->registry(), *plain);
    ASSERT_TRUE(plain_model.has_value()) << plain_model.error().message;
    plain_ = *plain_model;
    const std::vector<RawFeatures> reference = Customers(20000, 1, false);
    std::array<std::vector<double>, kNumNumericFeatures> numeric;
    std::vector<Region> regions;
    std::vector<double> risk;
    for (const RawFeatures& f : reference) {
      for (std::size_t k = 0; k < kNumNumericFeatures; ++k) numeric[k].push_back(f.numeric[k]);
      regions.push_back(f.region);
      risk.push_back((*plain_model)->Score(f).value().risk);
    }
    auto profile = BuildReferenceProfile(numeric, regions, risk);
    ASSERT_TRUE(profile.has_value()) << profile.error().message;
    auto version = registry_->Publish(1, {}, *profile);
    ASSERT_TRUE(version.has_value()) << version.error().message;
    ASSERT_TRUE(registry_->Promote(*version).has_value());
    version_ = *version;
    auto model = LoadServingModel(registry_->registry(), version_);
    ASSERT_TRUE(model.has_value()) << model.error().message;
    model_ = *model;
    ASSERT_NE(model_->reference_profile(), nullptr);
  }

  static void Record(LiveDrift& drift, const ServingModel& model,
                     const std::vector<RawFeatures>& rows) {
    for (const RawFeatures& f : rows) {
      const ScoreResult scored = model.Score(f).value();
      drift.Record(model, f, scored.risk, scored.tier);
    }
  }

  // Sends rows as /score/batch requests of 500; every item must score.
  void SendBatches(const std::vector<RawFeatures>& rows) {
    auto connection = HttpConnection::Connect(port());
    ASSERT_TRUE(connection.has_value());
    for (std::size_t begin = 0; begin < rows.size(); begin += 500) {
      std::string body = R"({"items":[)";
      for (std::size_t i = begin; i < std::min(rows.size(), begin + 500); ++i) {
        if (i > begin) body.push_back(',');
        body += ItemJson(rows[i], i);
      }
      body += "]}";
      auto answer = connection->Send(PostJson("/score/batch", body));
      ASSERT_TRUE(answer.has_value());
      ASSERT_EQ(answer->status, 200) << answer->body.substr(0, 300);
      ASSERT_EQ(answer->body.find(R"("status":422)"), std::string::npos)
          << answer->body.substr(0, 300);
    }
  }

  static double Psi(const std::string& metrics, std::string_view feature) {
    return MetricValue(metrics, fmt::format(R"(csml_feature_psi{{feature="{}"}})", feature))
        .value_or(kNaN);
  }

  static std::size_t Count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
      ++n;
    }
    return n;
  }

  std::string version_;
  std::shared_ptr<const ServingModel> plain_;
  std::shared_ptr<const ServingModel> model_;
};

// ---- the window in process ----------------------------------------------------------------

TEST_F(DriftE2eTest, TheWindowMergesThreadsAndSlidesPastADriftedStretch) {
  LiveDrift drift(2000);
  // 2 x 1000 undrifted scores from two threads.
  std::thread a([&] { Record(drift, *model_, Customers(1000, 2, false)); });
  std::thread b([&] { Record(drift, *model_, Customers(1000, 3, false)); });
  a.join();
  b.join();
  LiveDriftFigures f = drift.Check(model_.get());
  ASSERT_TRUE(f.available);
  EXPECT_EQ(f.drift.rows, 2000u);
  EXPECT_EQ(f.tiers[0] + f.tiers[1] + f.tiers[2], 2000u);
  for (const FeatureDrift& d : f.drift.features) EXPECT_LT(d.psi, 0.1) << d.name;
  EXPECT_LT(f.drift.risk_psi, 0.1);
  for (const bool alarm : f.alarm) EXPECT_FALSE(alarm);

  // 2000 drifted scores push the undrifted ones out of the window (to within a chunk).
  Record(drift, *model_, Customers(2000, 4, true));
  f = drift.Check(model_.get());
  EXPECT_GE(f.drift.rows, 2000u);
  EXPECT_LE(f.drift.rows, 2000u + 2 * 2000 / LiveDrift::kChunksPerWindow);
  EXPECT_GT(f.drift.features[kUsage].psi, 1.0);
  EXPECT_NEAR(f.drift.features[kUsage].missing_share, 0.25, 0.05);
  EXPECT_TRUE(f.alarm[kUsage]);
  EXPECT_LT(f.drift.features[static_cast<std::size_t>(NumericFeature::kPlanValue)].psi, 0.1);

  // And undrifted scores push them out again: the alarm clears.
  Record(drift, *model_, Customers(2500, 5, false));
  f = drift.Check(model_.get());
  EXPECT_LT(f.drift.features[kUsage].psi, 0.1);
  EXPECT_FALSE(f.alarm[kUsage]);
}

TEST_F(DriftE2eTest, AReloadedVersionStartsAnEmptyWindow) {
  LiveDrift drift(1000);
  Record(drift, *model_, Customers(500, 6, false));
  EXPECT_EQ(drift.Figures(model_.get()).drift.rows, 500u);
  // The same version loaded again is a new model, as after a hot reload.
  auto reloaded = LoadServingModel(registry_->registry(), version_);
  ASSERT_TRUE(reloaded.has_value());
  const LiveDriftFigures fresh = drift.Figures(reloaded->get());
  EXPECT_TRUE(fresh.available);
  EXPECT_EQ(fresh.drift.rows, 0u);
  EXPECT_TRUE(std::isnan(fresh.drift.risk_psi));
  Record(drift, **reloaded, Customers(300, 7, false));
  EXPECT_EQ(drift.Figures(reloaded->get()).drift.rows, 300u);
  EXPECT_EQ(drift.Figures(model_.get()).drift.rows, 0u) << "the thread now counts the new one";
}

TEST_F(DriftE2eTest, AVersionWithoutAProfileAndLiveDriftOffHaveNoFigures) {
  LiveDrift drift(1000);
  Record(drift, *plain_, Customers(200, 8, false));
  EXPECT_FALSE(drift.Figures(plain_.get()).available);
  EXPECT_FALSE(drift.Figures(nullptr).available);
  LiveDrift off(0);
  Record(off, *model_, Customers(200, 8, false));
  EXPECT_FALSE(off.Figures(model_.get()).available);
  std::string metrics;
  off.AppendPrometheus(&metrics, off.Figures(model_.get()));
  EXPECT_EQ(MetricValue(metrics, "csml_drift_available"), 0.0) << metrics;
  EXPECT_EQ(metrics.find("csml_feature_psi{"), std::string::npos) << metrics;
}

// ---- csml serve -----------------------------------------------------------------------------

TEST_F(DriftE2eTest, ADriftedStreamRaisesThatFeaturesPsiOnMetricsAndLogsOneAlarm) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--drift-window", "2000"}));
  ASSERT_NO_FATAL_FAILURE(SendBatches(Customers(2000, 9, true)));
  std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, "csml_drift_available"), 1.0) << metrics;
  EXPECT_EQ(MetricValue(metrics, "csml_drift_window_size"), 2000.0);
  EXPECT_EQ(MetricValue(metrics, "csml_drift_window_scores"), 2000.0);
  EXPECT_GT(Psi(metrics, "usage_score"), 0.25) << metrics;
  EXPECT_LT(Psi(metrics, "plan_value"), 0.1) << metrics;
  EXPECT_LT(Psi(metrics, "region"), 0.1) << metrics;
  EXPECT_GT(
      MetricValue(metrics, R"(csml_feature_missing_share{feature="usage_score"})").value_or(0),
      0.2);
  EXPECT_EQ(MetricValue(metrics, R"(csml_drift_alarm{feature="usage_score"})"), 1.0);
  const double tiers = MetricValue(metrics, R"(csml_drift_tier_share{tier="low"})").value_or(0) +
                       MetricValue(metrics, R"(csml_drift_tier_share{tier="medium"})").value_or(0) +
                       MetricValue(metrics, R"(csml_drift_tier_share{tier="high"})").value_or(0);
  EXPECT_NEAR(tiers, 1.0, 1e-9);
  // Unknown-key counts are still there.
  EXPECT_EQ(MetricValue(metrics, "csml_score_unknown_feature_keys_total"), 0.0);

  // One warning however often it is checked (every scrape and once a second).
  for (int i = 0; i < 3; ++i) metrics = Metrics();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string log = Log();
  EXPECT_EQ(Count(log, "drift: usage_score PSI"), 1u) << log;
  EXPECT_NE(log.find("[warning] drift: usage_score PSI"), std::string::npos) << log;
  EXPECT_EQ(Count(log, "drift: plan_value"), 0u) << log;

  // The live page's JSON says the same.
  auto monitor = Fetch(port(), GetPath("/monitor.json"));
  ASSERT_TRUE(monitor.has_value());
  ASSERT_EQ(monitor->status, 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(monitor->body).get(doc), simdjson::SUCCESS) << monitor->body;
  EXPECT_EQ(doc["version"].get_string().value(), version_);
  EXPECT_TRUE(doc["drift"]["available"].get_bool().value());
  EXPECT_EQ(doc["drift"]["scores"].get_uint64().value(), 2000u);
  bool usage_seen = false;
  for (simdjson::dom::element f : doc["drift"]["features"].get_array()) {
    if (f["name"].get_string().value() != "usage_score") continue;
    usage_seen = true;
    EXPECT_GT(f["psi"].get_double().value(), 0.25);
    EXPECT_TRUE(f["alarm"].get_bool().value());
  }
  EXPECT_TRUE(usage_seen) << monitor->body;
  const std::uint64_t scored = doc["tiers"]["total"]["low"].get_uint64().value() +
                               doc["tiers"]["total"]["medium"].get_uint64().value() +
                               doc["tiers"]["total"]["high"].get_uint64().value();
  EXPECT_EQ(scored, 2000u);
  EXPECT_GE(doc["reloads"].get_array().size(), 1u) << "the startup load";
}

TEST_F(DriftE2eTest, AnUndriftedStreamStaysBelowPointOne) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--drift-window", "2000"}));
  ASSERT_NO_FATAL_FAILURE(SendBatches(Customers(2000, 10, false)));
  const std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, "csml_drift_window_scores"), 2000.0) << metrics;
  for (std::size_t k = 0; k < kNumNumericFeatures; ++k) {
    const std::string_view name = SpecOf(static_cast<NumericFeature>(k)).name;
    EXPECT_LT(Psi(metrics, name), 0.1) << name << "\n" << metrics;
  }
  EXPECT_LT(Psi(metrics, "region"), 0.1) << metrics;
  EXPECT_LT(MetricValue(metrics, "csml_score_psi").value_or(kNaN), 0.1) << metrics;
  EXPECT_EQ(Log().find("drift:"), std::string::npos) << Log();
}

TEST_F(DriftE2eTest, AVersionWithoutAProfileServesWithoutDriftFigures) {
  auto plain = registry_->Publish(2);
  ASSERT_TRUE(plain.has_value());
  ASSERT_TRUE(registry_->Promote(*plain).has_value());
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  ASSERT_NO_FATAL_FAILURE(SendBatches(Customers(100, 11, true)));
  const std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, "csml_drift_available"), 0.0) << metrics;
  EXPECT_EQ(MetricValue(metrics, "csml_drift_window_size"), 10000.0) << "the default window";
  EXPECT_EQ(metrics.find("csml_feature_psi{"), std::string::npos);
}

TEST_F(DriftE2eTest, TheMonitorPageNeedsTheScoreTokenWhenOneIsSet) {
  const std::string token = "monitor-score-token-0123456789";
  ASSERT_NO_FATAL_FAILURE(Serve({}, {{"CSML_SCORE_TOKEN", token}}));
  for (const std::string path : {"/monitor", "/monitor.json"}) {
    auto missing = Fetch(port(), GetPath(path));
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->status, 401) << path;
    auto ok = Fetch(port(), WithBearer(GetPath(path), token));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200) << path;
    EXPECT_EQ(ok->body.find(token), std::string::npos) << path;
  }
  auto page = Fetch(port(), WithBearer(GetPath("/monitor"), token));
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->Header("content-type").value_or(""), "text/html; charset=utf-8");
  EXPECT_NE(page->Header("content-security-policy").value_or("").find("default-src 'none'"),
            std::string::npos);
  // No external asset: the only URL in the page is the SVG namespace.
  EXPECT_EQ(Count(page->body, "http"), Count(page->body, "http://www.w3.org/2000/svg"));
  EXPECT_EQ(page->body.find("<script src"), std::string::npos);
}

TEST_F(DriftE2eTest, ABadDriftWindowStopsTheServerBeforeItListens) {
  const testing::RunResult r = testing::Run(
      CsmlBinary(),
      {"serve", "--port", "0", "--model-dir", dir_.Join("models"), "--drift-window", "50"},
      dir_.Join("bad.log"), seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--drift-window"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace csml::e2e
