#include "csml/serving/model_reloader.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_predictor.h"

namespace csml {
namespace {

using ::csml::testing::FakePredictor;
using std::chrono::milliseconds;

// A predictor that records which thread destroyed it.
class TracedPredictor final : public Predictor {
 public:
  TracedPredictor(std::size_t num_features, std::atomic<std::thread::id>* destroyed_on)
      : inner_(num_features, 0.5), destroyed_on_(destroyed_on) {}
  ~TracedPredictor() override { destroyed_on_->store(std::this_thread::get_id()); }
  std::size_t num_features() const override { return inner_.num_features(); }
  Result<double> PredictRisk(std::span<const double> row) const override {
    return inner_.PredictRisk(row);
  }
  Status PredictBatch(std::span<const double> rows, std::span<double> out) const override {
    return inner_.PredictBatch(rows, out);
  }

 private:
  FakePredictor inner_;
  std::atomic<std::thread::id>* destroyed_on_;
};

std::shared_ptr<const ServingModel> MakeModel(
    const std::string& version, std::atomic<std::thread::id>* destroyed_on = nullptr) {
  const auto& columns = FeatureEncoder::DefaultColumns();
  std::unique_ptr<const Predictor> predictor =
      destroyed_on == nullptr
          ? FakePredictor::Returning(columns.size(), 0.5)
          : std::make_unique<const TracedPredictor>(columns.size(), destroyed_on);
  return ServingModel::Create(version, columns, Thresholds{}, std::move(predictor)).value();
}

// A registry stand-in: the version to serve, versions that fail to load, and counts.
class FakeRegistry {
 public:
  void Point(std::string version, std::int64_t mtime = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = ServableId{std::move(version), mtime, true};
    source_error_.reset();
  }
  void FailSource(ErrorCode code, std::string message) {
    std::lock_guard<std::mutex> lock(mu_);
    source_error_ = Error{code, std::move(message)};
  }
  void Break(const std::string& version) {
    std::lock_guard<std::mutex> lock(mu_);
    broken_.push_back(version);
  }
  int loads() const { return loads_.load(); }
  std::atomic<std::thread::id> destroyed_on;

  ModelReloader::Source Source() {
    return [this]() -> Result<ServableId> {
      std::lock_guard<std::mutex> lock(mu_);
      if (source_error_) return tl::unexpected(*source_error_);
      return answer_;
    };
  }
  ModelReloader::Loader Loader() {
    return [this](const ServableId& id) -> Result<std::shared_ptr<const ServingModel>> {
      ++loads_;
      std::lock_guard<std::mutex> lock(mu_);
      for (const std::string& b : broken_) {
        if (b == id.version) {
          return MakeError(ErrorCode::kValidation,
                           "loading model " + id.version + ": sha256 mismatch");
        }
      }
      return MakeModel(id.version, &destroyed_on);
    };
  }

 private:
  mutable std::mutex mu_;
  ServableId answer_;
  std::optional<Error> source_error_;
  std::vector<std::string> broken_;
  std::atomic<int> loads_{0};
};

struct Fixture {
  FakeRegistry registry;
  ModelManager manager;
  std::mutex mu;
  std::vector<ReloadReport> told;
  std::unique_ptr<ModelReloader> reloader;

  explicit Fixture(int poll_ms = 0) {
    ModelReloaderOptions options;
    options.poll_interval_ms = poll_ms;
    options.retire_check_interval_ms = 5;
    reloader = ModelReloader::Create(options, registry.Source(), registry.Loader(), manager,
                                     [this](const ReloadReport& r) {
                                       std::lock_guard<std::mutex> lock(mu);
                                       told.push_back(r);
                                     })
                   .value();
  }
  std::size_t TellCount() {
    std::lock_guard<std::mutex> lock(mu);
    return told.size();
  }
  std::string Serving() const {
    const auto model = manager.Current();
    return model == nullptr ? "" : model->version();
  }
};

// Waits up to 5 s for `done`.
template <typename Fn>
bool Eventually(Fn done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

TEST(ModelReloader, LoadsWhatTheSourceNamesAtStartup) {
  Fixture f;
  f.registry.Point("v1");
  const ReloadReport report = f.reloader->ReloadNow(ReloadTrigger::kStartup);
  EXPECT_EQ(report.outcome, ReloadOutcome::kLoaded);
  EXPECT_EQ(report.version, "v1");
  EXPECT_EQ(f.Serving(), "v1");
  const ReloaderState state = f.reloader->State();
  EXPECT_EQ(state.serving_version, "v1");
  EXPECT_EQ(state.loaded, 1u);
  EXPECT_FALSE(state.degraded);
  EXPECT_EQ(f.TellCount(), 1u);
}

TEST(ModelReloader, AServerWithoutAModelServesTheFallbackWhenTheSourcesVersionIsRefused) {
  FakeRegistry registry;
  ModelManager manager;
  int fallbacks = 0;
  ModelReloaderOptions options;
  options.poll_interval_ms = 0;
  auto reloader =
      ModelReloader::Create(
          options, registry.Source(), registry.Loader(), manager, nullptr,
          [&]() -> Result<ModelReloader::FallbackModel> {
            ++fallbacks;
            return ModelReloader::FallbackModel{MakeModel("v1"), "SERVING names v2, which fails"};
          })
          .value();
  registry.Break("v2");
  registry.Point("v2");
  const ReloadReport report = reloader->ReloadNow(ReloadTrigger::kStartup);
  EXPECT_EQ(report.outcome, ReloadOutcome::kFailed);
  EXPECT_EQ(report.version, "v2");
  EXPECT_EQ(report.fallback_version, "v1");
  EXPECT_EQ(report.fallback_reason, "SERVING names v2, which fails");
  ASSERT_NE(manager.Current(), nullptr);
  EXPECT_EQ(manager.Current()->version(), "v1");
  ReloaderState state = reloader->State();
  EXPECT_EQ(state.serving_version, "v1");
  EXPECT_TRUE(state.degraded) << "serving other than what the pointer names";

  // With a model serving, a refusal keeps it: the fallback is not asked again.
  const ReloadReport again = reloader->ReloadNow(ReloadTrigger::kRequest);
  EXPECT_EQ(again.outcome, ReloadOutcome::kFailed);
  EXPECT_TRUE(again.fallback_version.empty());
  EXPECT_EQ(fallbacks, 1);
  EXPECT_EQ(manager.Current()->version(), "v1");

  // A version that loads replaces the fallback as any reload does.
  registry.Point("v3");
  EXPECT_EQ(reloader->ReloadNow(ReloadTrigger::kRequest).outcome, ReloadOutcome::kLoaded);
  EXPECT_EQ(manager.Current()->version(), "v3");
  state = reloader->State();
  EXPECT_EQ(state.serving_version, "v3");
  EXPECT_FALSE(state.degraded);
  reloader->Stop();
}

TEST(ModelReloader, KeepsServingTheOldModelWhenTheNewOneFailsItsChecks) {
  Fixture f;
  f.registry.Point("v1");
  f.reloader->ReloadNow(ReloadTrigger::kStartup);
  f.registry.Break("v2");
  f.registry.Point("v2");
  const ReloadReport report = f.reloader->ReloadNow(ReloadTrigger::kRequest);
  EXPECT_EQ(report.outcome, ReloadOutcome::kFailed);
  EXPECT_EQ(report.version, "v2");
  EXPECT_EQ(report.previous_version, "v1");
  EXPECT_NE(report.error.find("sha256 mismatch"), std::string::npos) << report.error;
  EXPECT_EQ(f.Serving(), "v1");
  const ReloaderState state = f.reloader->State();
  EXPECT_TRUE(state.degraded);
  EXPECT_EQ(state.failed, 1u);
  ASSERT_TRUE(state.last_failure.has_value());
  EXPECT_EQ(state.last_failure->version, "v2");
  EXPECT_EQ(state.serving_version, "v1");
}

TEST(ModelReloader, PollsDoNotRetryARefusedVersionButARequestDoes) {
  Fixture f(/*poll_ms=*/5);
  f.registry.Point("v1");
  f.reloader->ReloadNow(ReloadTrigger::kStartup);
  f.registry.Break("v2");
  f.registry.Point("v2");
  f.reloader->Start();
  ASSERT_TRUE(Eventually([&] { return f.reloader->State().failed == 1; }));
  const int loads_after_failure = f.registry.loads();
  std::this_thread::sleep_for(milliseconds(60));  // a dozen polls
  EXPECT_EQ(f.registry.loads(), loads_after_failure) << "a refused version is not reloaded";
  EXPECT_EQ(f.reloader->State().failed, 1u) << "and not reported again";
  EXPECT_TRUE(f.reloader->State().degraded);

  std::atomic<bool> done{false};
  ReloadReport requested;
  f.reloader->RequestReload([&](const ReloadReport& r) {
    requested = r;
    done = true;
  });
  ASSERT_TRUE(Eventually([&] { return done.load(); }));
  EXPECT_EQ(requested.outcome, ReloadOutcome::kFailed);
  EXPECT_EQ(requested.trigger, ReloadTrigger::kRequest);
  EXPECT_EQ(f.registry.loads(), loads_after_failure + 1);
  EXPECT_EQ(f.Serving(), "v1");
}

TEST(ModelReloader, PollingFollowsPromotionsAndARewrittenMeta) {
  Fixture f(/*poll_ms=*/5);
  f.registry.Point("v1");
  f.reloader->ReloadNow(ReloadTrigger::kStartup);
  f.reloader->Start();
  f.registry.Point("v2");
  ASSERT_TRUE(Eventually([&] { return f.Serving() == "v2"; }));
  f.registry.Point("v1");  // a rollback
  ASSERT_TRUE(Eventually([&] { return f.Serving() == "v1"; }));
  const int loads = f.registry.loads();
  f.registry.Point("v1", /*mtime=*/2);  // the same name rewritten in place
  // The state counts the load after the swap: wait for the count, not for the load.
  ASSERT_TRUE(Eventually([&] { return f.reloader->State().loaded == 4u; }));
  EXPECT_EQ(f.registry.loads(), loads + 1);
}

TEST(ModelReloader, ARequestForTheServingVersionChangesNothing) {
  Fixture f;
  f.registry.Point("v1");
  f.reloader->ReloadNow(ReloadTrigger::kStartup);
  const auto before = f.manager.Current();
  const ReloadReport report = f.reloader->ReloadNow(ReloadTrigger::kRequest);
  EXPECT_EQ(report.outcome, ReloadOutcome::kUnchanged);
  EXPECT_EQ(f.manager.Current(), before);
  EXPECT_EQ(f.registry.loads(), 1);
  EXPECT_EQ(f.reloader->State().unchanged, 1u);
}

TEST(ModelReloader, RetiresTheOldModelOnTheReloadThreadOnceNoRequestHoldsIt) {
  Fixture f(/*poll_ms=*/5);
  f.registry.Point("v1");
  f.reloader->ReloadNow(ReloadTrigger::kStartup);
  f.reloader->Start();
  std::shared_ptr<const ServingModel> held = f.manager.Current();  // a request in flight
  f.registry.Point("v2");
  ASSERT_TRUE(Eventually([&] { return f.Serving() == "v2"; }));
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(f.reloader->State().retired_in_use, 1u);
  EXPECT_EQ(f.reloader->State().retired, 0u);
  EXPECT_EQ(held->version(), "v1") << "the request still scores with its model";
  f.registry.destroyed_on = std::thread::id();
  held.reset();  // the request ends; the reload thread holds the last reference
  ASSERT_TRUE(Eventually([&] { return f.reloader->State().retired == 1u; }));
  EXPECT_NE(f.registry.destroyed_on.load(), std::this_thread::get_id())
      << "the old model must be destroyed off the request thread";
  EXPECT_NE(f.registry.destroyed_on.load(), std::thread::id());
}

TEST(ModelReloader, ASourceThatKeepsFailingIsReportedOnce) {
  Fixture f(/*poll_ms=*/5);
  f.registry.Point("v1");
  f.reloader->ReloadNow(ReloadTrigger::kStartup);
  f.registry.FailSource(ErrorCode::kParse, "SERVING: expected one version name, got 'x y'");
  const std::size_t told_before = f.TellCount();
  f.reloader->Start();
  ASSERT_TRUE(Eventually([&] { return f.reloader->State().polls > 10; }));
  EXPECT_EQ(f.TellCount(), told_before + 1);
  EXPECT_EQ(f.reloader->State().failed, 1u);
  EXPECT_TRUE(f.reloader->State().degraded);
  EXPECT_EQ(f.Serving(), "v1");
  f.registry.Point("v1");
  ASSERT_TRUE(Eventually([&] { return !f.reloader->State().degraded; }));
}

TEST(ModelReloader, AnEmptyRegistryLeavesTheServingModelInPlace) {
  Fixture f;
  f.registry.Point("v1");
  f.reloader->ReloadNow(ReloadTrigger::kStartup);
  f.registry.FailSource(ErrorCode::kNotFound, "model registry holds no model version");
  const ReloadReport report = f.reloader->ReloadNow(ReloadTrigger::kRequest);
  EXPECT_EQ(report.outcome, ReloadOutcome::kNoVersion);
  EXPECT_EQ(f.Serving(), "v1");
  EXPECT_FALSE(f.reloader->State().degraded);
}

TEST(ModelReloader, StopAnswersRequestsThatNeverRan) {
  Fixture f;
  std::atomic<int> answered{0};
  ReloadOutcome outcome = ReloadOutcome::kLoaded;
  f.reloader->RequestReload([&](const ReloadReport& r) {
    outcome = r.outcome;
    ++answered;
  });
  f.reloader->Stop();
  EXPECT_EQ(answered.load(), 1);
  EXPECT_EQ(outcome, ReloadOutcome::kFailed);
}

TEST(ModelReloader, ManyRequestsWhileLoadingAllGetAnAnswer) {
  Fixture f;
  f.registry.Point("v1");
  f.reloader->Start();
  std::atomic<int> answered{0};
  for (int i = 0; i < 50; ++i) {
    f.reloader->RequestReload([&](const ReloadReport&) { ++answered; });
  }
  ASSERT_TRUE(Eventually([&] { return answered.load() == 50; }));
  EXPECT_EQ(f.Serving(), "v1");
  EXPECT_EQ(f.registry.loads(), 1);
}

TEST(ModelReloaderOptions, RefusesValuesOutsideTheirRanges) {
  EXPECT_TRUE(ModelReloaderOptions{}.Validate());
  ModelReloaderOptions negative;
  negative.poll_interval_ms = -1;
  EXPECT_FALSE(negative.Validate());
  ModelReloaderOptions zero_retire;
  zero_retire.retire_check_interval_ms = 0;
  EXPECT_FALSE(zero_retire.Validate());
  ModelManager manager;
  EXPECT_FALSE(ModelReloader::Create(ModelReloaderOptions{}, nullptr, nullptr, manager, nullptr));
}

}  // namespace
}  // namespace csml
