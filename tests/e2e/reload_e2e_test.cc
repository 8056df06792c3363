// Hot reload of `csml serve`, end to end: promotions under load, models that fail a check,
// and the operator's triggers (SIGHUP, POST /admin/reload).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/features/schema.h"
#include "serve_fixture.h"

namespace csml::e2e {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kAdminToken = "admin-token-for-e2e-tests-0123456789";

// Scoring clients on kept-alive connections until stopped: every answer must be a 200, and
// the versions each client sees may only move forward in `order`.
class ScoringLoad {
 public:
  ScoringLoad(int port, int clients, std::vector<std::string> order)
      : port_(port), order_(std::move(order)) {
    for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { Run(c); });
  }
  ~ScoringLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  int answered() const { return answered_.load(); }
  std::vector<std::string> problems() {
    std::lock_guard<std::mutex> lock(mu_);
    return problems_;
  }
  std::map<std::string, int> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void Problem(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (problems_.size() < 20) problems_.push_back(std::move(what));
  }

  int IndexOf(const std::string& version) const {
    for (std::size_t i = 0; i < order_.size(); ++i) {
      if (order_[i] == version) return static_cast<int>(i);
    }
    return -1;
  }

  void Run(int client) {
    auto conn = HttpConnection::Connect(port_);
    if (!conn) {
      Problem(conn.error().message);
      return;
    }
    int last = -1;
    // Bounded by count as well as by the stop flag, so a lost stop cannot run forever.
    for (int i = 0; i < 200'000 && !stop_; ++i) {
      auto response =
          conn->Send(PostJson("/score", SeedScoreBody(fmt::format("c{}-{}", client, i))));
      if (!response || response->status != 200) {
        Problem(response ? fmt::format("status {}: {}", response->status, response->body)
                         : response.error().message);
        return;
      }
      const std::string version = ModelVersionOf(response->body);
      const int index = IndexOf(version);
      if (index < last)
        Problem(fmt::format("client {} went back from {} to {}", client,
                            order_[static_cast<std::size_t>(last)], version));
      last = std::max(last, index);
      ++answered_;
      std::lock_guard<std::mutex> lock(mu_);
      ++seen_[version];
    }
  }

  const int port_;
  const std::vector<std::string> order_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::mutex mu_;
  std::vector<std::string> problems_;
  std::map<std::string, int> seen_;
  std::vector<std::thread> threads_;
};

class ReloadTest : public ServedRegistryTest {
 protected:
  std::string Publish(int hour, std::optional<std::vector<std::string>> features = {}) {
    auto version = registry_->Publish(hour, std::move(features));
    EXPECT_TRUE(version.has_value()) << version.error().message;
    return version.value_or("");
  }
};

TEST_F(ReloadTest, TenPromotionsUnderLoadLoseNoRequestAndOnlyMoveForward) {
  std::vector<std::string> versions;
  for (int hour = 0; hour <= 10; ++hour) versions.push_back(Publish(hour));
  ASSERT_TRUE(registry_->Promote(versions[0]));
  ASSERT_NO_FATAL_FAILURE(Serve({"--reload-interval-ms", "50", "--access-log", "off"}));
  ASSERT_EQ(HealthzVersion(served_->port), versions[0]);

  ScoringLoad load(served_->port, 4, versions);
  for (std::size_t i = 1; i < versions.size(); ++i) {
    ASSERT_TRUE(registry_->Promote(versions[i]));
    ASSERT_TRUE(
        WaitUntil([&] { return HealthzVersion(served_->port) == versions[i]; }, seconds(20)))
        << "promotion " << i << " not picked up; log:\n"
        << Log();
    std::this_thread::sleep_for(milliseconds(100));  // let the load meet each version
  }
  load.Stop();

  EXPECT_TRUE(load.problems().empty()) << fmt::format("{}", fmt::join(load.problems(), "\n"));
  EXPECT_GE(load.answered(), 100);
  const auto seen = load.seen();
  EXPECT_GT(seen.count(versions.back()), 0u) << "the load reached the last version";
  EXPECT_GE(seen.size(), 6u) << "the load met most versions on their way";
  const std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, R"(csml_model_reloads_total{outcome="loaded"})"), 11.0);
  EXPECT_EQ(MetricValue(metrics, R"(csml_model_reloads_total{outcome="failed"})"), 0.0);
  EXPECT_EQ(MetricValue(metrics, "csml_model_info{version=\"" + versions.back() + "\"}"), 1.0);
  // Every replaced model is released by the reload thread once no request holds it.
  EXPECT_TRUE(WaitUntil([&] { return MetricValue(Metrics(), "csml_model_retired_total") == 10.0; },
                        seconds(5)));
}

TEST_F(ReloadTest, ACorruptATruncatedAndASchemaMismatchedModelAreRefusedWhileTheOldServes) {
  const std::string good = Publish(0);
  ASSERT_TRUE(registry_->Promote(good));
  const std::string fixed = Publish(4);  // promoted at the end
  ASSERT_NO_FATAL_FAILURE(Serve({"--reload-interval-ms", "50"}));
  ScoringLoad load(served_->port, 2, {good, fixed});

  const std::string corrupt = Publish(1);
  {
    std::fstream file(registry_->ModelFile(corrupt),
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(200);
    file.put('7');  // same size, different bytes: only the sha256 can tell
  }
  const std::string truncated = Publish(2);
  fs::resize_file(registry_->ModelFile(truncated),
                  fs::file_size(registry_->ModelFile(truncated)) / 2);
  std::vector<std::string> swapped = FeatureEncoder::DefaultColumns();
  std::swap(swapped[0], swapped[1]);
  const std::string mismatched = Publish(3, swapped);

  struct Bad {
    std::string version;
    std::string why;  // a word the refusal must contain
  };
  const std::vector<Bad> bad = {{corrupt, "sha256"}, {truncated, "bytes"}, {mismatched, "column"}};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    // Promote refuses damaged files itself, so the pointer is moved as a hand edit would.
    ASSERT_TRUE(registry_->PointAt(bad[i].version));
    ASSERT_TRUE(WaitUntil(
        [&] {
          return MetricValue(Metrics(), R"(csml_model_reloads_total{outcome="failed"})") ==
                 static_cast<double>(i + 1);
        },
        seconds(20)))
        << bad[i].version << " was not refused; log:\n"
        << Log();
    EXPECT_EQ(HealthzVersion(served_->port), good);
    auto detail = Fetch(served_->port, GetPath("/healthz?detail=1"));
    ASSERT_TRUE(detail.has_value());
    EXPECT_EQ(detail->status, 200);
    EXPECT_NE(detail->body.find(R"("degraded":true)"), std::string::npos) << detail->body;
    EXPECT_NE(
        detail->body.find(R"("lastFailure":{"outcome":"failed","trigger":"poll","version":")" +
                          bad[i].version),
        std::string::npos)
        << detail->body;
    EXPECT_NE(detail->body.find(bad[i].why), std::string::npos) << detail->body;
    EXPECT_EQ(MetricValue(Metrics(), "csml_model_reload_degraded"), 1.0);
  }

  ASSERT_TRUE(registry_->Promote(fixed));
  ASSERT_TRUE(WaitUntil([&] { return HealthzVersion(served_->port) == fixed; }, seconds(20)));
  load.Stop();
  EXPECT_TRUE(load.problems().empty()) << fmt::format("{}", fmt::join(load.problems(), "\n"));
  EXPECT_GE(load.answered(), 20);
  EXPECT_EQ(MetricValue(Metrics(), "csml_model_reload_degraded"), 0.0);
  const std::string log = Log();
  for (const Bad& b : bad) {
    EXPECT_NE(log.find("refused: loading model " + b.version), std::string::npos) << log;
  }
  EXPECT_NE(log.find("still serving " + good), std::string::npos);
}

TEST_F(ReloadTest, SighupAndAdminReloadLoadWhatWasPromotedWhenPollingIsOff) {
  const std::string v0 = Publish(0);
  const std::string v1 = Publish(1);
  const std::string v2 = Publish(2);
  const std::string broken = Publish(3);
  fs::resize_file(registry_->ModelFile(broken), 10);
  ASSERT_TRUE(registry_->Promote(v0));
  ASSERT_NO_FATAL_FAILURE(
      Serve({"--reload-interval-ms", "0"}, {{"CSML_ADMIN_TOKEN", kAdminToken}}));

  ASSERT_TRUE(registry_->Promote(v1));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(HealthzVersion(served_->port), v0) << "no polling: nothing changes by itself";
  ASSERT_TRUE(served_->process.Signal(SIGHUP));
  ASSERT_TRUE(WaitUntil([&] { return HealthzVersion(served_->port) == v1; }, seconds(20))) << Log();

  ASSERT_TRUE(registry_->Promote(v2));
  auto reloaded =
      Fetch(served_->port, WithBearer(PostJson("/admin/reload", ""), kAdminToken), seconds(20));
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error().message;
  EXPECT_EQ(reloaded->status, 200) << reloaded->body;
  EXPECT_NE(reloaded->body.find(R"("outcome":"loaded","version":")" + v2 +
                                R"(","previousVersion":")" + v1 + "\""),
            std::string::npos)
      << reloaded->body;
  EXPECT_EQ(HealthzVersion(served_->port), v2);

  auto again =
      Fetch(served_->port, WithBearer(PostJson("/admin/reload", ""), kAdminToken), seconds(20));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 200);
  EXPECT_NE(again->body.find(R"("outcome":"unchanged")"), std::string::npos) << again->body;

  ASSERT_TRUE(registry_->PointAt(broken));
  auto refused =
      Fetch(served_->port, WithBearer(PostJson("/admin/reload", ""), kAdminToken), seconds(20));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 409) << refused->body;
  EXPECT_NE(refused->body.find(R"("outcome":"failed")"), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find(R"("modelVersion":")" + v2), std::string::npos) << refused->body;
  EXPECT_EQ(HealthzVersion(served_->port), v2);

  // Rolling back is promoting the older version again.
  ASSERT_TRUE(registry_->Promote(v1));
  ASSERT_TRUE(served_->process.Signal(SIGHUP));
  ASSERT_TRUE(WaitUntil([&] { return HealthzVersion(served_->port) == v1; }, seconds(20)));
  const std::string log = Log();
  EXPECT_NE(log.find("received SIGHUP; reloading"), std::string::npos);
  EXPECT_NE(log.find("POST /admin/reload: reload requested"), std::string::npos);
}

TEST_F(ReloadTest, AServerStartedOnAnEmptyRegistryPicksUpTheFirstModel) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--reload-interval-ms", "50"}));
  auto ready = Fetch(served_->port, GetPath("/readyz"));
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, R"({"ready":false,"detail":"no model loaded"})");
  const std::string first = Publish(0);
  ASSERT_TRUE(WaitUntil([&] { return HealthzVersion(served_->port) == first; }, seconds(20)));
  ready = Fetch(served_->port, GetPath("/readyz"));
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"ready":true,"modelVersion":")" + first + "\"}");
}

}  // namespace
}  // namespace csml::e2e
