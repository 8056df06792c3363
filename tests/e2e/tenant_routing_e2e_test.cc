// Routing by tenant, shadow and canary versions of `csml serve`, end to end (issue 15, point 5):
// three tenants (one with its own model, one the data gate refused, one unknown) under load
// while both namespaces reload; a shadow on all traffic whose records reach the prediction log;
// a canary split by a stable hash of userId, across restarts; the cap on loaded tenant models.
#include <signal.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "csml/monitoring/prediction_log_reader.h"
#include "serve_fixture.h"

namespace csml::e2e {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::RunResult;

// Every "modelVersion" of a body: a /score body has one, a /score/batch body the batch's and
// one per scored item.
std::vector<std::string> ModelVersionsOf(const std::string& body) {
  static const std::regex kVersion(R"re("modelVersion":"([^"]+)")re");
  std::vector<std::string> versions;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), kVersion);
       it != std::sregex_iterator(); ++it) {
    versions.push_back((*it)[1].str());
  }
  return versions;
}

std::size_t CountOf(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

HttpRequestSpec ForTenant(HttpRequestSpec spec, const std::string& tenant) {
  if (!tenant.empty()) spec.headers.emplace_back("X-Tenant-Id", tenant);
  return spec;
}

// {"items":[...]} with one seed item per userId.
std::string BatchBodyFor(const std::vector<std::string>& user_ids) {
  std::string body = R"({"items":[)";
  for (std::size_t i = 0; i < user_ids.size(); ++i) {
    if (i > 0) body.push_back(',');
    body += SeedScoreBody(user_ids[i]);
  }
  return body + "]}";
}

class TenantRoutingTest : public ServedRegistryTest {
 protected:
  std::string root() const { return dir_.Join("models"); }

  FixtureRegistry& Tenant(const std::string& tenant) {
    auto it = tenants_.find(tenant);
    if (it == tenants_.end()) {
      auto created = FixtureRegistry::CreateTenant(root(), tenant);
      EXPECT_TRUE(created.has_value()) << created.error().message;
      it = tenants_.emplace(tenant, std::move(*created)).first;
    }
    return it->second;
  }

  static std::string Published(Result<std::string> version) {
    EXPECT_TRUE(version.has_value()) << version.error().message;
    return version.value_or("");
  }

  RunResult Csml(std::vector<std::string> args) {
    const std::string name = fmt::format("csml-{}", ++runs_);
    return testing::RunSplit(CsmlBinary(), args, dir_.Join(name + ".out"), dir_.Join(name + ".err"),
                             seconds(300));
  }

  // Stops the server (SIGTERM) and expects a clean exit. Its log is removed, so that a server
  // started next is not taken to listen on the port this one's log names.
  void StopServer() {
    ASSERT_TRUE(served_.has_value());
    EXPECT_EQ(served_->process.Stop(seconds(15)), 0) << Log();
    served_.reset();
    fs::remove(dir_.Join("serve.log"));
  }

  std::map<std::string, FixtureRegistry> tenants_;
  int runs_ = 0;
};

// What one request of the load is: its tenant header ("" none) and its endpoint.
struct LoadTarget {
  std::string tenant;
  bool own_model = false;  // the tenant's namespace answers (else the global one)
};

// Scoring clients over /score and /score/batch (4 items) for each target in turn, on
// kept-alive connections, until stopped or `max_per_client` requests each. Every answer must be
// a 200 whose every item is a 200, and every modelVersion must belong to the namespace the
// target is routed to: "acme/..." for the tenant's own model, an unqualified one otherwise.
class TenantLoad {
 public:
  static constexpr int kBatchItems = 4;

  TenantLoad(int port, int clients, std::vector<LoadTarget> targets, int max_per_client)
      : port_(port), targets_(std::move(targets)), max_per_client_(max_per_client) {
    for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { Run(c); });
  }
  ~TenantLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  int requests() const { return requests_.load(); }
  std::vector<std::string> problems() {
    std::lock_guard<std::mutex> lock(mu_);
    return problems_;
  }
  bool Seen(const std::string& version) {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.count(version) > 0;
  }
  std::map<std::string, int> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  // Scores the tenant's own models gave (items of batches counted one by one).
  std::uint64_t own_scores() const { return own_scores_.load(); }
  // Requests with a tenant header that the global namespace answered.
  std::uint64_t fallback_requests() const { return fallback_requests_.load(); }
  std::uint64_t fallback_scores() const { return fallback_scores_.load(); }

 private:
  void Problem(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (problems_.size() < 20) problems_.push_back(std::move(what));
  }

  void Run(int client) {
    auto conn = HttpConnection::Connect(port_);
    if (!conn) {
      Problem(conn.error().message);
      return;
    }
    for (int i = 0; i < max_per_client_ && !stop_; ++i) {
      const LoadTarget& target = targets_[static_cast<std::size_t>(i + client) % targets_.size()];
      const bool batch = i % 3 == 2;
      const std::string user = fmt::format("c{}-{}", client, i);
      HttpRequestSpec spec =
          batch ? PostJson("/score/batch",
                           BatchBodyFor({user + "-a", user + "-b", user + "-c", user + "-d"}))
                : PostJson("/score", SeedScoreBody(user));
      auto response = conn->Send(ForTenant(std::move(spec), target.tenant));
      if (!response || response->status != 200) {
        Problem(response ? fmt::format("tenant '{}': status {}: {}", target.tenant,
                                       response->status, response->body)
                         : response.error().message);
        return;
      }
      if (batch && CountOf(response->body, R"("status":200)") != kBatchItems) {
        Problem(fmt::format("tenant '{}': a batch item failed: {}", target.tenant, response->body));
      }
      const std::vector<std::string> versions = ModelVersionsOf(response->body);
      const std::size_t expected = batch ? 1 + kBatchItems : 1;
      if (versions.size() != expected) {
        Problem(fmt::format("tenant '{}': {} modelVersions in {}", target.tenant, versions.size(),
                            response->body));
      }
      for (const std::string& version : versions) {
        const bool qualified = version.rfind("acme/", 0) == 0;
        const bool global = version.find('/') == std::string::npos;
        if (target.own_model ? !qualified : !global) {
          Problem(fmt::format("tenant '{}' answered by {}", target.tenant, version));
        }
      }
      const std::uint64_t scores = batch ? kBatchItems : 1;
      if (target.own_model) {
        own_scores_ += scores;
      } else if (!target.tenant.empty()) {
        ++fallback_requests_;
        fallback_scores_ += scores;
      }
      ++requests_;
      std::lock_guard<std::mutex> lock(mu_);
      for (const std::string& version : versions) ++seen_[version];
    }
  }

  const int port_;
  const std::vector<LoadTarget> targets_;
  const int max_per_client_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<std::uint64_t> own_scores_{0};
  std::atomic<std::uint64_t> fallback_requests_{0};
  std::atomic<std::uint64_t> fallback_scores_{0};
  std::mutex mu_;
  std::vector<std::string> problems_;
  std::map<std::string, int> seen_;
  std::vector<std::thread> threads_;
};

TEST_F(TenantRoutingTest, ThreeTenantsUnderLoadWithReloadsOfBothNamespacesLoseNoRequest) {
  // The global namespace and acme's, one version each.
  const std::string global_v0 = Published(registry_->Publish(0));
  ASSERT_TRUE(registry_->Promote(global_v0));
  const std::string acme_v0 = Published(Tenant("acme").Publish(0));
  ASSERT_TRUE(Tenant("acme").Promote(acme_v0));

  // "small": the data gate refuses its model (data a global model could train on, but fewer
  // than the gate's 1000 labeled rows), so it has no version.
  const std::string data = dir_.Join("small.jsonl");
  const RunResult simulated = Csml({"simulate", "--customers", "40", "--days", "90", "--seed", "3",
                                    "--end", "2025-06-01", "--out", data});
  ASSERT_EQ(simulated.exit_code, 0) << simulated.errors;
  const RunResult refused = Csml(
      {"train", "--input", data, "--days", "60", "--as-of", "2025-05-01T00:00:00Z", "--model-dir",
       root(), "--scope", "tenant", "--tenant", "small", "--threads", "1", "--no-tune", "--quiet"});
  ASSERT_EQ(refused.exit_code, 1) << refused.output << refused.errors;
  EXPECT_NE(refused.errors.find("refusing a model for tenant small"), std::string::npos)
      << refused.errors;
  EXPECT_NE(refused.errors.find("fewer than --min-tenant-rows 1000"), std::string::npos)
      << refused.errors;
  EXPECT_EQ(Csml({"models", "list", "--tenant", "small", "--model-dir", root()}).exit_code, 2)
      << "small has no namespace";

  // Polling off: every reload below is a SIGHUP's.
  ASSERT_NO_FATAL_FAILURE(Serve({"--reload-interval-ms", "0", "--access-log", "off"}));
  const std::vector<LoadTarget> targets = {
      {"acme", true}, {"small", false}, {"ghost", false}, {"", false}};
  TenantLoad load(served_->port, 3, targets, 4000);
  ASSERT_TRUE(WaitUntil([&] { return load.requests() >= 300; }, seconds(60)));

  // A new version in acme's namespace, then in the global one, each picked up on SIGHUP.
  const std::string acme_v1 = Published(Tenant("acme").Publish(1));
  ASSERT_TRUE(Tenant("acme").Promote(acme_v1));
  ASSERT_TRUE(served_->process.Signal(SIGHUP));
  ASSERT_TRUE(WaitUntil([&] { return load.Seen("acme/" + acme_v1); }, seconds(20))) << Log();
  const std::string global_v1 = Published(registry_->Publish(1));
  ASSERT_TRUE(registry_->Promote(global_v1));
  ASSERT_TRUE(served_->process.Signal(SIGHUP));
  ASSERT_TRUE(WaitUntil([&] { return load.Seen(global_v1); }, seconds(20))) << Log();
  // Both at once.
  const std::string acme_v2 = Published(Tenant("acme").Publish(2));
  const std::string global_v2 = Published(registry_->Publish(2));
  ASSERT_TRUE(Tenant("acme").Promote(acme_v2));
  ASSERT_TRUE(registry_->Promote(global_v2));
  ASSERT_TRUE(served_->process.Signal(SIGHUP));
  ASSERT_TRUE(
      WaitUntil([&] { return load.Seen("acme/" + acme_v2) && load.Seen(global_v2); }, seconds(20)))
      << Log();
  const int at_last_reload = load.requests();
  ASSERT_TRUE(WaitUntil([&] { return load.requests() >= at_last_reload + 300; }, seconds(60)));
  load.Stop();

  EXPECT_TRUE(load.problems().empty()) << fmt::format("{}", fmt::join(load.problems(), "\n"));
  EXPECT_GE(load.requests(), 900);
  const std::set<std::string> known = {"acme/" + acme_v0, "acme/" + acme_v1, "acme/" + acme_v2,
                                       global_v0,         global_v1,         global_v2};
  for (const auto& [version, count] : load.seen()) {
    EXPECT_EQ(known.count(version), 1u) << version << " answered " << count << " times";
  }

  const std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_models{state="known"})"), 1.0) << metrics;
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_models{state="loaded"})"), 1.0);
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_model_events_total{event="failed"})"), 0.0);
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_model_events_total{event="unloaded"})"), 0.0);
  EXPECT_GE(MetricValue(metrics, R"(csml_tenant_model_events_total{event="loaded"})").value_or(0),
            3.0)
      << "acme's first use and its two reloads";
  EXPECT_EQ(MetricValue(metrics, R"(csml_scores_by_route_total{route="canary"})"), 0.0);
  // Every score acme's models gave, items of batches one by one, on both counters.
  EXPECT_EQ(MetricValue(metrics, R"(csml_scores_by_route_total{route="tenant"})"),
            static_cast<double>(load.own_scores()));
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_scores_total{tenant="acme"})"),
            static_cast<double>(load.own_scores()))
      << "scores_by_route{route=\"tenant\"} says "
      << MetricValue(metrics, R"(csml_scores_by_route_total{route="tenant"})").value_or(-1);
  // Requests (not items) that named small or ghost and got the global model.
  EXPECT_EQ(MetricValue(metrics, "csml_tenant_fallback_scores_total"),
            static_cast<double>(load.fallback_requests()))
      << "the load made " << load.fallback_scores() << " fallback scores";
  EXPECT_EQ(metrics.find(R"(tenant="small")"), std::string::npos);
  EXPECT_EQ(metrics.find(R"(tenant="ghost")"), std::string::npos);
}

TEST_F(TenantRoutingTest, AnInvalidTenantIdIsA422) {
  ASSERT_TRUE(registry_->Promote(Published(registry_->Publish(0))));
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  for (const std::string& path : {std::string("/score"), std::string("/score/batch")}) {
    const std::string body = path == "/score" ? SeedScoreBody() : SeedBatchBody(2);
    auto answer = Fetch(port(), ForTenant(PostJson(path, body), "../etc"));
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, 422) << path << ": " << answer->body;
    EXPECT_NE(answer->body.find("x-tenant-id"), std::string::npos) << answer->body;
  }
}

TEST_F(TenantRoutingTest, AGlobalShadowOnAllTrafficLogsAShadowRecordBesideEveryAnswer) {
  const std::string served = Published(registry_->Publish(0));
  ASSERT_TRUE(registry_->Promote(served));
  const std::string shadow = Published(registry_->Publish(1));
  const RunResult set = Csml({"models", "shadow", shadow, "--model-dir", root()});
  ASSERT_EQ(set.exit_code, 0) << set.errors;

  const std::string log_dir = dir_.Join("predictions");
  ASSERT_NO_FATAL_FAILURE(Serve({"--prediction-log", log_dir, "--access-log", "off"}));
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn.has_value()) << conn.error().message;
  constexpr int kSingles = 150;
  constexpr int kBatches = 10;
  constexpr int kItems = 5;
  std::set<std::tuple<std::string, int, std::string>> answers;  // request id, index, userId
  for (int i = 0; i < kSingles; ++i) {
    HttpRequestSpec spec = PostJson("/score", SeedScoreBody(fmt::format("s{}", i)));
    spec.headers.emplace_back("X-Request-Id", fmt::format("shadow-single-{}", i));
    auto answer = conn->Send(spec);
    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    ASSERT_EQ(answer->status, 200) << answer->body;
    EXPECT_EQ(ModelVersionOf(answer->body), served) << "the shadow never answers";
    answers.emplace(fmt::format("shadow-single-{}", i), -1, fmt::format("s{}", i));
  }
  for (int b = 0; b < kBatches; ++b) {
    std::vector<std::string> users;
    for (int k = 0; k < kItems; ++k) users.push_back(fmt::format("b{}-{}", b, k));
    HttpRequestSpec spec = PostJson("/score/batch", BatchBodyFor(users));
    spec.headers.emplace_back("X-Request-Id", fmt::format("shadow-batch-{}", b));
    auto answer = conn->Send(spec);
    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    ASSERT_EQ(answer->status, 200) << answer->body;
    EXPECT_EQ(CountOf(answer->body, R"("status":200)"), static_cast<std::size_t>(kItems));
    for (const std::string& version : ModelVersionsOf(answer->body)) EXPECT_EQ(version, served);
    for (int k = 0; k < kItems; ++k) {
      answers.emplace(fmt::format("shadow-batch-{}", b), k, users[static_cast<std::size_t>(k)]);
    }
  }
  constexpr double kScores = kSingles + kBatches * kItems;
  const std::string scored = R"(csml_shadow_scores_total{outcome="scored"})";
  ASSERT_TRUE(WaitUntil([&] { return MetricValue(Metrics(), scored) == kScores; }, seconds(20)))
      << Metrics();
  const std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, R"(csml_shadow_scores_total{outcome="dropped"})"), 0.0);
  EXPECT_EQ(MetricValue(metrics, R"(csml_shadow_scores_total{outcome="failed"})"), 0.0);
  EXPECT_EQ(MetricValue(metrics, R"(csml_shadow_scores_total{outcome="tier_changed"})"), 0.0)
      << "the shadow holds the same model bytes";
  ASSERT_NO_FATAL_FAILURE(StopServer());  // SIGTERM: the log is flushed and closed

  std::set<std::tuple<std::string, int, std::string>> answered;
  std::set<std::tuple<std::string, int, std::string>> shadowed;
  std::vector<std::string> wrong;
  Result<PredictionLogReadStats> read = ReadPredictionLog(log_dir, [&](const PredictionRecord& r) {
    auto key = std::make_tuple(r.request_id, r.batch_index, r.user_id);
    if (r.role == PredictionRole::kShadow) {
      if (r.model_version != shadow) wrong.push_back("shadow record of " + r.model_version);
      if (!shadowed.insert(key).second) wrong.push_back("two shadow records for " + r.request_id);
    } else {
      if (r.role != PredictionRole::kServed || r.model_version != served) {
        wrong.push_back(
            fmt::format("answer record of {} ({})", r.model_version, PredictionRoleName(r.role)));
      }
      answered.insert(key);
    }
    if (!r.tenant.empty()) wrong.push_back("tenant " + r.tenant + " without a header");
  });
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->torn_lines, 0u);
  EXPECT_TRUE(wrong.empty()) << fmt::format("{}", fmt::join(wrong, "\n"));
  EXPECT_EQ(answered, answers);
  EXPECT_EQ(shadowed, answers) << "one shadow record beside every answer";
}

TEST_F(TenantRoutingTest, ACanarySplitsCustomersByAStableHashAcrossRestarts) {
  const std::string served = Published(registry_->Publish(0));
  ASSERT_TRUE(registry_->Promote(served));
  const std::string canary = Published(registry_->Publish(1));
  const RunResult set =
      Csml({"models", "canary", canary, "--percent", "30", "--model-dir", root()});
  ASSERT_EQ(set.exit_code, 0) << set.errors;

  constexpr int kCustomers = 10000;
  constexpr int kBatch = 1000;
  // userId -> the version that answered it, from /score/batch items.
  const auto score_all = [&](std::map<std::string, std::string>* by_user) {
    static const std::regex kItem(R"re("userId":"([^"]+)","risk":[^}]*"modelVersion":"([^"]+)")re");
    auto conn = HttpConnection::Connect(port());
    ASSERT_TRUE(conn.has_value()) << conn.error().message;
    for (int first = 0; first < kCustomers; first += kBatch) {
      std::vector<std::string> users;
      for (int i = first; i < first + kBatch; ++i) users.push_back(fmt::format("cust-{:05}", i));
      auto answer = conn->Send(PostJson("/score/batch", BatchBodyFor(users)), seconds(30));
      ASSERT_TRUE(answer.has_value()) << answer.error().message;
      ASSERT_EQ(answer->status, 200) << answer->body.substr(0, 500);
      ASSERT_EQ(ModelVersionOf(answer->body), served) << "a batch is named by the served version";
      for (auto it = std::sregex_iterator(answer->body.begin(), answer->body.end(), kItem);
           it != std::sregex_iterator(); ++it) {
        by_user->emplace((*it)[1].str(), (*it)[2].str());
      }
    }
  };

  ASSERT_NO_FATAL_FAILURE(Serve({"--access-log", "off"}));
  std::map<std::string, std::string> first_run;
  ASSERT_NO_FATAL_FAILURE(score_all(&first_run));
  ASSERT_EQ(first_run.size(), static_cast<std::size_t>(kCustomers))
      << "every item answered, with its userId and modelVersion";
  std::size_t on_canary = 0;
  for (const auto& [user, version] : first_run) {
    if (version == canary) {
      ++on_canary;
    } else {
      EXPECT_EQ(version, served) << user;
    }
  }
  const double share = 100.0 * static_cast<double>(on_canary) / kCustomers;
  EXPECT_LE(std::abs(share - 30.0), 2.0) << on_canary << " of " << kCustomers << " on the canary";
  EXPECT_EQ(MetricValue(Metrics(), R"(csml_scores_by_route_total{route="canary"})"),
            static_cast<double>(on_canary));

  // A restart changes nobody's version.
  ASSERT_NO_FATAL_FAILURE(StopServer());
  ASSERT_NO_FATAL_FAILURE(Serve({"--access-log", "off"}));
  std::map<std::string, std::string> second_run;
  ASSERT_NO_FATAL_FAILURE(score_all(&second_run));
  EXPECT_EQ(second_run, first_run);
  // And /score agrees with /score/batch for the same customer.
  for (const std::string user : {"cust-00000", "cust-00001", "cust-00002", "cust-00003"}) {
    auto answer = Fetch(port(), PostJson("/score", SeedScoreBody(user)));
    ASSERT_TRUE(answer.has_value());
    ASSERT_EQ(answer->status, 200);
    EXPECT_EQ(ModelVersionOf(answer->body), first_run[user]) << user;
  }
}

TEST_F(TenantRoutingTest, FiveTenantsUnderACapOfTwoAreEachAnsweredByTheirOwnModel) {
  ASSERT_TRUE(registry_->Promote(Published(registry_->Publish(0))));
  std::vector<std::string> tenants;
  std::map<std::string, std::string> own;  // tenant -> its qualified served version
  for (int t = 0; t < 5; ++t) {
    const std::string tenant = fmt::format("tenant-{}", t);
    const std::string version = Published(Tenant(tenant).Publish(t + 1));
    ASSERT_TRUE(Tenant(tenant).Promote(version));
    tenants.push_back(tenant);
    own[tenant] = tenant + "/" + version;
  }
  ASSERT_NO_FATAL_FAILURE(Serve({"--max-tenant-models", "2", "--access-log", "off"}));
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    for (const std::string& tenant : tenants) {
      const bool batch = round % 2 == 1;
      auto answer = Fetch(port(), ForTenant(batch ? PostJson("/score/batch", SeedBatchBody(3))
                                                  : PostJson("/score", SeedScoreBody()),
                                            tenant));
      ASSERT_TRUE(answer.has_value()) << answer.error().message;
      ASSERT_EQ(answer->status, 200) << answer->body;
      const std::vector<std::string> versions = ModelVersionsOf(answer->body);
      EXPECT_EQ(versions.size(), batch ? 4u : 1u) << answer->body;
      for (const std::string& version : versions) {
        EXPECT_EQ(version, own[tenant]) << "round " << round;
      }
      const double loaded =
          MetricValue(Metrics(), R"(csml_tenant_models{state="loaded"})").value_or(-1);
      EXPECT_GE(loaded, 1.0);
      EXPECT_LE(loaded, 2.0) << "round " << round << ", " << tenant;
    }
  }
  const std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_models{state="known"})"), 5.0) << metrics;
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_models{state="cap"})"), 2.0);
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_model_events_total{event="failed"})"), 0.0);
  // Round robin over 5 tenants under a cap of 2: every request is a first use again.
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_model_events_total{event="loaded"})"),
            static_cast<double>(kRounds * 5));
  EXPECT_EQ(MetricValue(metrics, R"(csml_tenant_model_events_total{event="unloaded"})"),
            static_cast<double>(kRounds * 5 - 2));
  EXPECT_EQ(MetricValue(metrics, "csml_tenant_fallback_scores_total"), 0.0);
}

}  // namespace
}  // namespace csml::e2e
