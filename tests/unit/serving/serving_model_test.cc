#include "csml/serving/serving_model.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/serving/score_json.h"
#include "fake_predictor.h"
#include "testing/feature_rows.h"

// Counts heap allocations of this test binary, so a test can show a path makes none.
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

// Every non-aligned form is replaced, so whatever a library allocates here it frees with the
// matching function (AddressSanitizer checks the pairs).
namespace {
void* CountedAlloc(std::size_t size) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return CountedAlloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
// The replacement new allocates with malloc, so free is its match (GCC cannot see that).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace csml {
namespace {

using ::csml::testing::FakePredictor;

const std::vector<std::string>& Columns() { return FeatureEncoder::DefaultColumns(); }

std::shared_ptr<const ServingModel> ModelReturning(double risk, Thresholds thresholds = {}) {
  auto model = ServingModel::Create("risk-xgb-2025-08-22-0900", Columns(), thresholds,
                                    FakePredictor::Returning(Columns().size(), risk));
  EXPECT_TRUE(model.has_value()) << model.error().message;
  return model.value_or(nullptr);
}

RawFeatures QuietCustomer() {
  return testing::SeedFeatures()
      .Set(NumericFeature::kActivity7d, 5)
      .Set(NumericFeature::kActivity30d, 20)
      .Set(NumericFeature::kTimeSinceLastUseDays, 1)
      .Set(NumericFeature::kFailedRenewals30d, 0)
      .Set(NumericFeature::kUsageScore, 0.8);
}

TEST(ServingModel, EncodesByTheModelsRecordedColumnOrder) {
  auto fake = std::make_unique<FakePredictor>(4, 0.5);
  const FakePredictor* seen = fake.get();
  const std::vector<std::string> columns = {"usage_score", "region_SG", "region_IN", "tickets_30d"};
  auto model = ServingModel::Create("v1", columns, Thresholds{}, std::move(fake));
  ASSERT_TRUE(model.has_value()) << model.error().message;
  ASSERT_TRUE((*model)->Score(QuietCustomer()).has_value());
  const std::vector<double> row = seen->last_row();
  ASSERT_EQ(row.size(), 4u);
  EXPECT_EQ(row[0], 0.8);
  EXPECT_EQ(row[1], 0.0);
  EXPECT_EQ(row[2], 1.0);
  EXPECT_TRUE(std::isnan(row[3]));  // tickets_30d absent = missing
}

struct ReasonCase {
  std::string name;
  RawFeatures features;
  std::vector<std::string> reasons;
};

RawFeatures With(RawFeatures f, NumericFeature feature, double value) {
  f.Set(feature, value);
  return f;
}

class ServingModelReasons : public ::testing::TestWithParam<ReasonCase> {};

TEST_P(ServingModelReasons, ExplainsInTheContractsOrder) {
  const auto model = ModelReturning(0.5);
  ASSERT_NE(model, nullptr);
  Result<ScoreResult> r = model->Score(GetParam().features);
  ASSERT_TRUE(r.has_value());
  std::vector<std::string> names;
  r->reasons.ForEach([&](Reason reason) { names.emplace_back(ReasonName(reason)); });
  EXPECT_EQ(names, GetParam().reasons);
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

INSTANTIATE_TEST_SUITE_P(
    Table, ServingModelReasons,
    ::testing::Values(
        ReasonCase{"none_fires", QuietCustomer(), {"general_risk_factors"}},
        ReasonCase{"inactive_at_14_days",
                   With(QuietCustomer(), NumericFeature::kTimeSinceLastUseDays, 14),
                   {"inactive_14d"}},
        ReasonCase{"active_at_13_9_days",
                   With(QuietCustomer(), NumericFeature::kTimeSinceLastUseDays, 13.9),
                   {"general_risk_factors"}},
        ReasonCase{"payment_issue",
                   With(QuietCustomer(), NumericFeature::kFailedRenewals30d, 1),
                   {"payment_issue_recent"}},
        ReasonCase{"no_activity",
                   With(QuietCustomer(), NumericFeature::kActivity7d, 0),
                   {"no_recent_activity"}},
        ReasonCase{"low_usage_below_0_3",
                   With(QuietCustomer(), NumericFeature::kUsageScore, 0.29),
                   {"low_feature_usage"}},
        ReasonCase{"usage_at_0_3_is_not_low",
                   With(QuietCustomer(), NumericFeature::kUsageScore, 0.3),
                   {"general_risk_factors"}},
        ReasonCase{"seed_example",
                   With(With(With(QuietCustomer(), NumericFeature::kTimeSinceLastUseDays, 15),
                             NumericFeature::kFailedRenewals30d, 1),
                        NumericFeature::kUsageScore, 0.2),
                   {"inactive_14d", "payment_issue_recent", "low_feature_usage"}},
        ReasonCase{
            "all_four",
            With(With(With(With(QuietCustomer(), NumericFeature::kTimeSinceLastUseDays, 30),
                           NumericFeature::kFailedRenewals30d, 2),
                      NumericFeature::kActivity7d, 0),
                 NumericFeature::kUsageScore, 0.0),
            {"inactive_14d", "payment_issue_recent", "no_recent_activity", "low_feature_usage"}},
        ReasonCase{"missing_values_fire_nothing",
                   With(With(QuietCustomer(), NumericFeature::kActivity7d, kNaN),
                        NumericFeature::kUsageScore, kNaN),
                   {"general_risk_factors"}}),
    [](const ::testing::TestParamInfo<ReasonCase>& param) { return param.param.name; });

struct TierCase {
  double raw_risk;
  double printed_risk;
  Tier tier;
};

class ServingModelTiers : public ::testing::TestWithParam<TierCase> {};

TEST_P(ServingModelTiers, ClassifiesTheRoundedRiskWithTheModelsThresholds) {
  const Thresholds thresholds{0.35, 0.65};  // as a meta.json might record them
  const auto model = ModelReturning(GetParam().raw_risk, thresholds);
  ASSERT_NE(model, nullptr);
  Result<ScoreResult> r = model->Score(QuietCustomer());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->risk, GetParam().printed_risk);
  EXPECT_EQ(r->tier, GetParam().tier) << TierName(r->tier);
}

INSTANTIATE_TEST_SUITE_P(
    Boundaries, ServingModelTiers,
    ::testing::Values(TierCase{0.0, 0.0, Tier::kLow}, TierCase{0.3499, 0.3499, Tier::kLow},
                      TierCase{0.34994, 0.3499, Tier::kLow},
                      // Rounds up to the threshold, so the printed 0.35 is medium.
                      TierCase{0.34996, 0.35, Tier::kMedium}, TierCase{0.35, 0.35, Tier::kMedium},
                      TierCase{0.6499, 0.6499, Tier::kMedium}, TierCase{0.64996, 0.65, Tier::kHigh},
                      TierCase{0.65, 0.65, Tier::kHigh}, TierCase{0.99996, 1.0, Tier::kHigh},
                      TierCase{1.0, 1.0, Tier::kHigh}));

// Model reasons need an explainer: without one (a model file with no covers) the version
// falls back to the seed's rules, byte for byte.
TEST(ServingModel, ModelReasonsWithoutAnExplainerFallBackToTheRules) {
  auto model = ServingModel::Create(
      "v1", Columns(), Thresholds{}, FakePredictor::Returning(Columns().size(), 0.5), Calibration{},
      nullptr, std::make_shared<const ModelReasons>(ReasonCatalog::Default(), Columns()));
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_EQ((*model)->reason_mode(), ReasonMode::kRules);
  EXPECT_EQ((*model)->reason_catalog_version(), "");
  const RawFeatures seed = testing::SeedFeatures();
  EXPECT_EQ((*model)->Score(seed)->reasons, ExplainRisk(seed));
}

TEST(ServingModel, UsesTheDefaultThresholdsWhenMetaKeepsThem) {
  EXPECT_EQ(ModelReturning(0.3999)->Score(QuietCustomer())->tier, Tier::kLow);
  EXPECT_EQ(ModelReturning(0.4)->Score(QuietCustomer())->tier, Tier::kMedium);
  EXPECT_EQ(ModelReturning(0.6999)->Score(QuietCustomer())->tier, Tier::kMedium);
  EXPECT_EQ(ModelReturning(0.7)->Score(QuietCustomer())->tier, Tier::kHigh);
}

TEST(ServingModel, RefusesARiskThatIsNotAProbability) {
  for (const double bad : {-0.01, 1.01, kNaN}) {
    Result<ScoreResult> r = ModelReturning(bad)->Score(QuietCustomer());
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kModel);
  }
}

TEST(ServingModel, PassesOnThePredictorsError) {
  auto model =
      ServingModel::Create("v1", Columns(), Thresholds{}, FakePredictor::Failing(Columns().size()));
  ASSERT_TRUE(model.has_value());
  Result<ScoreResult> r = (*model)->Score(QuietCustomer());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kModel);
  EXPECT_NE(r.error().message.find("model v1"), std::string::npos) << r.error().message;
}

TEST(ServingModel, RefusesPartsThatDisagree) {
  EXPECT_FALSE(ServingModel::Create("v1", Columns(), Thresholds{},
                                    FakePredictor::Returning(Columns().size() - 1, 0.5)));
  const std::vector<std::string> unknown = {"activity_7d", "shoe_size"};
  EXPECT_FALSE(ServingModel::Create("v1", unknown, Thresholds{}, FakePredictor::Returning(2, 0.5)));
  EXPECT_FALSE(ServingModel::Create("v1", Columns(), Thresholds{0.8, 0.7},
                                    FakePredictor::Returning(Columns().size(), 0.5)));
  EXPECT_FALSE(ServingModel::Create("v1", Columns(), Thresholds{}, nullptr));
  EXPECT_FALSE(ServingModel::Create("", Columns(), Thresholds{},
                                    FakePredictor::Returning(Columns().size(), 0.5)));
  const std::vector<std::string> none;
  EXPECT_FALSE(ServingModel::Create("v1", none, Thresholds{}, FakePredictor::Returning(0, 0.5)));
}

TEST(AppendScoreResponseJson, WritesTheContractsKeysInOrder) {
  ScoreResult result;
  result.risk = 0.7312;
  result.tier = Tier::kHigh;
  result.reasons.Add(Reason::kPaymentIssueRecent);
  result.reasons.Add(Reason::kInactive14d);
  std::string out;
  AppendScoreResponseJson(&out, result, "risk-xgb-2025-08-22-0900");
  EXPECT_EQ(
      out,
      R"({"risk":0.7312,"tier":"high","reasons":["inactive_14d","payment_issue_recent"],"modelVersion":"risk-xgb-2025-08-22-0900"})");
}

TEST(AppendScoreResponseJson, AllocatesNothingIntoABufferWithRoom) {
  // The /score hot path: the route reserves the body, the writer must not allocate.
  ScoreResult result;
  result.risk = 0.0001;
  result.tier = Tier::kLow;
  result.reasons.Add(Reason::kInactive14d);
  result.reasons.Add(Reason::kPaymentIssueRecent);
  result.reasons.Add(Reason::kGeneralRiskFactors);
  std::string out;
  out.reserve(256);
  const std::size_t before = g_allocations.load();
  AppendScoreResponseJson(&out, result, "risk-xgb-2025-08-22-0900");
  EXPECT_EQ(g_allocations.load() - before, 0u) << out;
  EXPECT_TRUE(out.starts_with(R"({"risk":0.0001,"tier":"low",)")) << out;
}

TEST(AppendScoreResponseJson, PrintsWholeRisksAsPythonDoes) {
  ScoreResult result;
  result.risk = 1.0;
  result.tier = Tier::kHigh;
  result.reasons.Add(Reason::kGeneralRiskFactors);
  std::string out;
  AppendScoreResponseJson(&out, result, "v");
  EXPECT_EQ(out,
            R"({"risk":1.0,"tier":"high","reasons":["general_risk_factors"],"modelVersion":"v"})");
  out.clear();
  result.risk = 0.0;
  result.tier = Tier::kLow;
  AppendScoreResponseJson(&out, result, "v");
  EXPECT_EQ(out,
            R"({"risk":0.0,"tier":"low","reasons":["general_risk_factors"],"modelVersion":"v"})");
}

}  // namespace
}  // namespace csml
