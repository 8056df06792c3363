#include "csml/simulate/simulator.h"

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/core/json_writer.h"
#include "csml/data/snapshot_reader.h"
#include "csml/data/snapshot_writer.h"
#include "csml/registry/sha256.h"

namespace csml {
namespace {

constexpr UnixSeconds kEnd = 1756684800;  // 2025-09-01T00:00:00Z

SimulatorOptions Options(std::size_t customers, int days, std::uint64_t seed) {
  SimulatorOptions options;
  options.customers = customers;
  options.days = days;
  options.seed = seed;
  options.end = kEnd;
  return options;
}

// The simulation written as the CLI writes it: JSON Lines with the original region text.
std::string SimulateToJsonLines(const SimulatorOptions& options, SimulationSummary* summary) {
  std::string out;
  JsonWriter writer(&out);
  auto result = Simulate(options, [&](const Snapshot& s, std::string_view region) -> Status {
    WriteSnapshotJson(s, &writer, region);
    out.push_back('\n');
    return {};
  });
  EXPECT_TRUE(result.has_value()) << result.error().message;
  if (result && summary != nullptr) *summary = *result;
  return out;
}

TEST(Simulate, SameOptionsGiveTheSameBytes) {
  const SimulatorOptions options = Options(300, 120, 5);
  const std::string first = SimulateToJsonLines(options, nullptr);
  const std::string second = SimulateToJsonLines(options, nullptr);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, second);
  SimulatorOptions other = options;
  other.seed = 6;
  EXPECT_NE(SimulateToJsonLines(other, nullptr), first);
}

TEST(Simulate, EveryRecordParsesBackAsAValidRecord) {
  SimulationSummary summary;
  const std::string text = SimulateToJsonLines(Options(400, 90, 1), &summary);
  const auto batch = ParseSnapshots(text, {});  // kFail: the first invalid record is an error
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  EXPECT_EQ(batch->records.size(), summary.records);
  std::size_t labeled = 0;
  std::size_t positives = 0;
  for (const Snapshot& s : batch->records) {
    labeled += s.label.has_value() ? 1 : 0;
    positives += s.label.value_or(0) == 1 ? 1 : 0;
  }
  EXPECT_EQ(labeled, summary.labeled);
  EXPECT_EQ(positives, summary.positives);
}

class PositiveRate : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(PositiveRate, IsBetweenTenAndFifteenPercentOfLabeledRows) {
  const auto records = SimulateSnapshots(Options(1000, 180, GetParam()));
  ASSERT_TRUE(records.has_value()) << records.error().message;
  std::size_t labeled = 0;
  std::size_t positives = 0;
  for (const Snapshot& s : *records) {
    if (!s.label) continue;
    ++labeled;
    positives += static_cast<std::size_t>(*s.label);
  }
  const double rate = static_cast<double>(positives) / static_cast<double>(labeled);
  EXPECT_GE(rate, 0.10);
  EXPECT_LE(rate, 0.15);
}

INSTANTIATE_TEST_SUITE_P(Seeds, PositiveRate, ::testing::Values(1, 2, 3, 42, 20250901));

TEST(Simulate, FollowsTheTimelineOfLabeledAndPendingSnapshots) {
  const SimulatorOptions options = Options(200, 60, 3);
  const auto records = SimulateSnapshots(options);
  ASSERT_TRUE(records.has_value());
  const UnixSeconds horizon = 30 * kSecondsPerDay;
  std::map<std::string, std::vector<const Snapshot*>> by_customer;
  UnixSeconds previous = 0;
  for (const Snapshot& s : *records) {
    EXPECT_GE(s.snapshot_ts, previous);  // produced in time order
    previous = s.snapshot_ts;
    EXPECT_EQ(s.snapshot_ts % kSecondsPerDay, 0);
    if (s.label) {
      ASSERT_TRUE(s.label_ts.has_value());
      EXPECT_EQ(*s.label_ts, s.snapshot_ts + horizon);
      EXPECT_GT(*s.label_ts, kEnd - options.days * kSecondsPerDay);
      EXPECT_LE(*s.label_ts, kEnd);
    } else {
      EXPECT_FALSE(s.label_ts.has_value());
      EXPECT_GT(s.snapshot_ts, kEnd - horizon);  // outcome not known yet at `end`
      EXPECT_LE(s.snapshot_ts, kEnd);
    }
    by_customer[s.user_id].push_back(&s);
  }
  EXPECT_EQ(by_customer.size(), 200u);
  for (const auto& [id, rows] : by_customer) {
    std::size_t pending = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (i > 0) {
        EXPECT_EQ(rows[i]->snapshot_ts - rows[i - 1]->snapshot_ts, 7 * kSecondsPerDay);
      }
      pending += rows[i]->label ? 0 : 1;
    }
    // 30 days of pending outcomes at a weekly cadence: 4 or 5 snapshots.
    EXPECT_GE(pending, 4u) << id;
    EXPECT_LE(pending, 5u) << id;
  }
  EXPECT_EQ(by_customer.begin()->first, "u_000001");
}

TEST(Simulate, ValuesStayInTheSchemaRangesWithStableRounding) {
  const auto records = SimulateSnapshots(Options(500, 120, 4));
  ASSERT_TRUE(records.has_value());
  std::array<std::size_t, kNumNumericFeatures> nulls{};
  std::map<Region, std::size_t> regions;
  for (const Snapshot& s : *records) {
    for (std::size_t i = 0; i < kNumNumericFeatures; ++i) {
      const double v = s.features.numeric[i];
      if (std::isnan(v)) {
        ++nulls[i];
        continue;
      }
      EXPECT_TRUE(CheckRange(static_cast<NumericFeature>(i), v).has_value()) << i << " " << v;
    }
    for (const NumericFeature count :
         {NumericFeature::kActivity7d, NumericFeature::kActivity30d,
          NumericFeature::kTimeSinceLastUseDays, NumericFeature::kFailedRenewals30d,
          NumericFeature::kTickets7d, NumericFeature::kTickets30d}) {
      const double v = s.features.Get(count);
      if (!std::isnan(v)) {
        EXPECT_EQ(v, std::floor(v));
      }
    }
    const double a7 = s.features.Get(NumericFeature::kActivity7d);
    const double a30 = s.features.Get(NumericFeature::kActivity30d);
    if (!std::isnan(a30)) {
      EXPECT_LE(a7, a30);
    }
    const double usage = s.features.Get(NumericFeature::kUsageScore);
    if (!std::isnan(usage)) {
      EXPECT_EQ(usage, RoundTo(usage, 4));
    }
    const double plan = s.features.Get(NumericFeature::kPlanValue);
    if (!std::isnan(plan)) {
      EXPECT_EQ(plan, RoundTo(plan, 2));
    }
    ++regions[s.features.region];
  }
  const double n = static_cast<double>(records->size());
  for (const NumericFeature f :
       {NumericFeature::kTickets30d, NumericFeature::kUsageScore, NumericFeature::kPlanValue}) {
    const double share = static_cast<double>(nulls[static_cast<std::size_t>(f)]) / n;
    EXPECT_GT(share, 0.005) << SpecOf(f).name;
    EXPECT_LT(share, 0.08) << SpecOf(f).name;
  }
  EXPECT_EQ(nulls[static_cast<std::size_t>(NumericFeature::kActivity7d)], 0u);
  for (const Region r : {Region::kIN, Region::kSG, Region::kUS, Region::kEU}) {
    EXPECT_GT(regions[r], records->size() / 10) << RegionName(r);
  }
  EXPECT_GT(regions[Region::kOther], 0u);
  EXPECT_GT(regions[Region::kMissing], 0u);
  EXPECT_LT(regions[Region::kOther] + regions[Region::kMissing], records->size() / 10);
}

TEST(Simulate, UnknownRegionsKeepTheirTextForTheWriter) {
  std::set<std::string> other_texts;
  auto result = Simulate(Options(2000, 7, 8), [&](const Snapshot& s, std::string_view region) {
    if (s.features.region == Region::kOther) other_texts.emplace(region);
    if (s.features.region == Region::kMissing) {
      EXPECT_TRUE(region.empty());
    }
    if (s.features.region == Region::kUS) {
      EXPECT_EQ(region, "US");
    }
    return Status{};
  });
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(other_texts.empty());
  for (const std::string& text : other_texts) {
    EXPECT_TRUE(text == "JP" || text == "BR" || text == "AU" || text == "ZA") << text;
  }
}

TEST(Simulate, ChurnIsMoreLikelyAfterTwoWeeksOfInactivity) {
  const auto records = SimulateSnapshots(Options(1000, 180, 11));
  ASSERT_TRUE(records.has_value());
  double inactive_sum = 0;
  double inactive_n = 0;
  double active_sum = 0;
  double active_n = 0;
  for (const Snapshot& s : *records) {
    const double days = s.features.Get(NumericFeature::kTimeSinceLastUseDays);
    if (!s.label || std::isnan(days)) continue;
    (days >= 14 ? inactive_sum : active_sum) += *s.label;
    (days >= 14 ? inactive_n : active_n) += 1;
  }
  ASSERT_GT(inactive_n, 100);
  EXPECT_GT(inactive_sum / inactive_n, 2.0 * active_sum / active_n);
}

TEST(Simulate, RowsOfOneCustomerAreCorrelatedOverTime) {
  const auto records = SimulateSnapshots(Options(500, 180, 12));
  ASSERT_TRUE(records.has_value());
  // Lag-one correlation of activity_30d between consecutive snapshots of the same customer.
  std::map<std::string, double> last;
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = 0;
  for (const Snapshot& s : *records) {
    const double v = s.features.Get(NumericFeature::kActivity30d);
    if (std::isnan(v)) continue;
    if (const auto it = last.find(s.user_id); it != last.end()) {
      const double x = it->second;
      sx += x;
      sy += v;
      sxx += x * x;
      syy += v * v;
      sxy += x * v;
      n += 1;
    }
    last[s.user_id] = v;
  }
  const double cov = sxy / n - (sx / n) * (sy / n);
  const double corr =
      cov / std::sqrt((sxx / n - (sx / n) * (sx / n)) * (syy / n - (sy / n) * (sy / n)));
  EXPECT_GT(corr, 0.6);
}

TEST(Simulate, ASinkErrorStopsTheRunAndIsReturned) {
  std::size_t calls = 0;
  auto result = Simulate(Options(50, 30, 1), [&](const Snapshot&, std::string_view) -> Status {
    if (++calls == 10) return MakeError(ErrorCode::kIo, "disk full");
    return {};
  });
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message, "disk full");
  EXPECT_EQ(calls, 10u);
}

struct BadOptionsCase {
  const char* name;
  SimulatorOptions options;
  const char* message_part;
};

std::ostream& operator<<(std::ostream& os, const BadOptionsCase& c) { return os << c.name; }

class BadOptions : public ::testing::TestWithParam<BadOptionsCase> {};

TEST_P(BadOptions, AreRefusedNamingTheOption) {
  const auto result = SimulateSnapshots(GetParam().options);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error().message.find(GetParam().message_part), std::string::npos)
      << result.error().message;
}

SimulatorOptions With(void (*change)(SimulatorOptions&)) {
  SimulatorOptions options = Options(10, 30, 1);
  change(options);
  return options;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadOptions,
    ::testing::Values(
        BadOptionsCase{"NoCustomers", With([](SimulatorOptions& o) { o.customers = 0; }),
                       "customers: expected a whole number in [1, 10000000], got 0"},
        BadOptionsCase{"NoDays", With([](SimulatorOptions& o) { o.days = 0; }), "days:"},
        BadOptionsCase{"TooManyDays", With([](SimulatorOptions& o) { o.days = 4000; }), "days:"},
        BadOptionsCase{"NoCadence", With([](SimulatorOptions& o) { o.cadence_days = 0; }),
                       "cadence_days"},
        BadOptionsCase{"NoHorizon", With([](SimulatorOptions& o) { o.label_horizon_days = 0; }),
                       "label_horizon_days"},
        BadOptionsCase{"EndBeforeTheEpochAllowsTheSpan",
                       With([](SimulatorOptions& o) { o.end = 10 * kSecondsPerDay; }), "end:"},
        BadOptionsCase{"EndAfterYear9999", With([](SimulatorOptions& o) { o.end = 300000000000; }),
                       "end:"}),
    [](const ::testing::TestParamInfo<BadOptionsCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(Simulate, OtherCadencesAndHorizonsKeepTheTimeline) {
  SimulatorOptions options = Options(30, 20, 2);
  options.cadence_days = 3;
  options.label_horizon_days = 10;
  const auto records = SimulateSnapshots(options);
  ASSERT_TRUE(records.has_value());
  for (const Snapshot& s : *records) {
    if (!s.label) continue;
    EXPECT_EQ(*s.label_ts - s.snapshot_ts, 10 * kSecondsPerDay);
    EXPECT_LE(*s.label_ts, kEnd);
  }
  // 30 customers x about (20 + 10) / 3 snapshots each.
  EXPECT_NEAR(static_cast<double>(records->size()), 300.0, 30.0);
}

// ---- the worlds and the base rate ----------------------------------------------------------

// The bytes `csml simulate --customers 3000 --days 180 --seed 1 --end 2025-08-01 --out x.jsonl`
// wrote before the worlds existed: the default world must not change by one bit.
TEST(Simulate, TheDefaultWorldKeepsItsBytes) {
  SimulatorOptions options = Options(3000, 180, 1);
  options.end = 1754006400;  // 2025-08-01T00:00:00Z
  const std::string text = SimulateToJsonLines(options, nullptr);
  const auto hash = Sha256Hex(text);
  ASSERT_TRUE(hash.has_value());
  EXPECT_EQ(*hash, "7e9ac5bfb4e7219a21a29533c1360f1613f87beed4104f6165ac22bef98dcdeb");
}

double PositiveShare(const SimulatorOptions& options) {
  const auto summary =
      Simulate(options, [](const Snapshot&, std::string_view) -> Status { return {}; });
  EXPECT_TRUE(summary.has_value());
  return summary ? summary->positive_rate() : 0.0;
}

TEST(Simulate, TheInteractionsWorldHasTheSameFeaturesButOtherLabels) {
  SimulatorOptions additive = Options(400, 90, 4);
  SimulatorOptions interactions = additive;
  interactions.world = SimulatedWorld::kInteractions;
  const auto a = SimulateSnapshots(additive);
  const auto b = SimulateSnapshots(interactions);
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_EQ(a->size(), b->size());
  std::size_t labels_differ = 0;
  for (std::size_t i = 0; i < a->size(); ++i) {
    // The churn draw consumes one uniform either way, so the features stay the same.
    ASSERT_EQ((*a)[i].user_id, (*b)[i].user_id);
    const double x = (*a)[i].features.Get(NumericFeature::kActivity30d);
    const double y = (*b)[i].features.Get(NumericFeature::kActivity30d);
    ASSERT_TRUE(x == y || (std::isnan(x) && std::isnan(y))) << i;
    labels_differ += (*a)[i].label != (*b)[i].label ? 1 : 0;
  }
  EXPECT_GT(labels_differ, a->size() / 50);
  const double rate = PositiveShare(interactions);
  EXPECT_GT(rate, 0.08);
  EXPECT_LT(rate, 0.17);
}

TEST(Simulate, TicketsMatterMoreAfterAFailedRenewalInTheInteractionsWorld) {
  SimulatorOptions options = Options(3000, 120, 8);
  options.world = SimulatedWorld::kInteractions;
  const auto records = SimulateSnapshots(options);
  ASSERT_TRUE(records.has_value());
  // Churn rate by (failed renewal?, many tickets?) among recently active customers.
  double n[2][2] = {};
  double churn[2][2] = {};
  for (const Snapshot& s : *records) {
    const double tickets = s.features.Get(NumericFeature::kTickets30d);
    const double failed = s.features.Get(NumericFeature::kFailedRenewals30d);
    const double since = s.features.Get(NumericFeature::kTimeSinceLastUseDays);
    if (!s.label || std::isnan(tickets) || std::isnan(since) || since >= 7) continue;
    const int f = failed > 0 ? 1 : 0;
    const int t = tickets >= 3 ? 1 : 0;
    n[f][t] += 1;
    churn[f][t] += *s.label;
  }
  for (const auto& row : n) {
    for (double count : row) ASSERT_GT(count, 30);
  }
  const double lift_failed = (churn[1][1] / n[1][1]) - (churn[1][0] / n[1][0]);
  const double lift_ok = (churn[0][1] / n[0][1]) - (churn[0][0] / n[0][0]);
  EXPECT_GT(lift_failed, 2.0 * lift_ok);
}

TEST(Simulate, ABaseRateMovesTheShareOfPositives) {
  for (const SimulatedWorld world : {SimulatedWorld::kAdditive, SimulatedWorld::kInteractions}) {
    SimulatorOptions options = Options(2000, 120, 9);
    options.world = world;
    options.base_rate = 0.05;
    const double rate = PositiveShare(options);
    EXPECT_GT(rate, 0.04) << SimulatedWorldName(world);
    EXPECT_LT(rate, 0.06) << SimulatedWorldName(world);
  }
}

TEST(Simulate, WorldNamesRoundTripAndBadBaseRatesAreRefused) {
  for (const SimulatedWorld world : {SimulatedWorld::kAdditive, SimulatedWorld::kInteractions}) {
    EXPECT_EQ(ParseSimulatedWorld(SimulatedWorldName(world)), world);
  }
  EXPECT_FALSE(ParseSimulatedWorld("linear").has_value());
  for (const double bad : {-0.1, 0.6, std::nan("")}) {
    SimulatorOptions options = Options(10, 30, 1);
    options.base_rate = bad;
    const Status status = options.Validate();
    ASSERT_FALSE(status.has_value());
    EXPECT_NE(status.error().message.find("base_rate"), std::string::npos);
  }
}

}  // namespace
}  // namespace csml
