#include "csml/training/time_split.h"

#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace csml {
namespace {

constexpr UnixSeconds kDay = kSecondsPerDay;
constexpr UnixSeconds kT0 = 1'750'000'000;

// Weekly snapshots, `per_week` rows each, outcomes `horizon_days` later, in shuffled order.
struct Rows {
  std::vector<UnixSeconds> snapshot_ts;
  std::vector<UnixSeconds> label_ts;
};

Rows WeeklyRows(int weeks, int per_week, int horizon_days, unsigned seed) {
  Rows rows;
  for (int w = 0; w < weeks; ++w) {
    for (int i = 0; i < per_week; ++i) {
      rows.snapshot_ts.push_back(kT0 + w * 7 * kDay);
      rows.label_ts.push_back(kT0 + w * 7 * kDay + horizon_days * kDay);
    }
  }
  std::vector<std::size_t> perm(rows.snapshot_ts.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), std::mt19937(seed));
  Rows shuffled;
  for (std::size_t i : perm) {
    shuffled.snapshot_ts.push_back(rows.snapshot_ts[i]);
    shuffled.label_ts.push_back(rows.label_ts[i]);
  }
  return shuffled;
}

// The property that makes it a time split: everything the model learns from, snapshot and
// outcome alike, is older than the first validation snapshot. A random split (which this test
// would catch) mixes weeks on both sides.
void ExpectNoLeakage(const Rows& rows, const TimeSplit& split) {
  UnixSeconds oldest_validation = INT64_MAX;
  for (std::size_t i : split.validation) {
    oldest_validation = std::min(oldest_validation, rows.snapshot_ts[i]);
  }
  EXPECT_EQ(oldest_validation, split.validation_start);
  for (std::size_t i : split.train) {
    EXPECT_LT(rows.snapshot_ts[i], split.validation_start);
    EXPECT_LT(rows.label_ts[i], split.validation_start) << "row " << i << " trains on an outcome "
                                                        << "from the validation period";
  }
}

TEST(SplitByTime, ValidatesOnTheNewestShareAndTrainsOnlyOnEarlierOutcomes) {
  // 20 weeks x 10 rows, outcomes 30 days after the snapshot.
  const Rows rows = WeeklyRows(20, 10, 30, 3);
  const TimeSplit split = SplitByTime(rows.snapshot_ts, rows.label_ts, {}).value();
  // The newest 20% = weeks 16..19.
  EXPECT_EQ(split.validation.size(), 40u);
  EXPECT_EQ(split.validation_start, kT0 + 16 * 7 * kDay);
  EXPECT_EQ(split.validation_end, kT0 + 19 * 7 * kDay);
  // Outcomes of weeks 12..15 arrive 30 days later, inside the validation period: embargoed.
  // Week 11's arrive on day 107 < day 112: it trains.
  EXPECT_EQ(split.embargoed, 40u);
  EXPECT_EQ(split.train.size(), 120u);
  EXPECT_EQ(split.train_start, kT0);
  EXPECT_EQ(split.train_end, kT0 + 11 * 7 * kDay);
  EXPECT_EQ(split.train_label_end, kT0 + 11 * 7 * kDay + 30 * kDay);
  EXPECT_EQ(split.train.size() + split.validation.size() + split.embargoed, 200u);
  ExpectNoLeakage(rows, split);
}

TEST(SplitByTime, WouldCatchARandomSplit) {
  // The leakage check itself fails on a random 80/20 split of the same rows.
  const Rows rows = WeeklyRows(20, 10, 30, 4);
  std::vector<std::size_t> idx(rows.snapshot_ts.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), std::mt19937(5));
  TimeSplit random;
  random.validation.assign(idx.begin(), idx.begin() + 40);
  random.train.assign(idx.begin() + 40, idx.end());
  random.validation_start = INT64_MAX;
  for (std::size_t i : random.validation) {
    random.validation_start = std::min(random.validation_start, rows.snapshot_ts[i]);
  }
  std::size_t leaking = 0;
  for (std::size_t i : random.train) leaking += rows.label_ts[i] >= random.validation_start;
  EXPECT_GT(leaking, 100u);
}

TEST(SplitByTime, PutsRowsThatShareTheCutTimeAllIntoValidation) {
  // 3 weeks: 5, 5 and 2 rows; 20% of 12 = 2.4 -> 3 rows reach into week 1, so all of week 1
  // and week 2 validate.
  std::vector<UnixSeconds> snapshot_ts;
  std::vector<UnixSeconds> label_ts;
  for (int i = 0; i < 5; ++i) snapshot_ts.push_back(kT0);
  for (int i = 0; i < 5; ++i) snapshot_ts.push_back(kT0 + 7 * kDay);
  for (int i = 0; i < 2; ++i) snapshot_ts.push_back(kT0 + 14 * kDay);
  for (UnixSeconds t : snapshot_ts) label_ts.push_back(t + kDay);
  const TimeSplit split = SplitByTime(snapshot_ts, label_ts, {}).value();
  EXPECT_EQ(split.validation.size(), 7u);
  EXPECT_EQ(split.train.size(), 5u);
  EXPECT_EQ(split.validation_start, kT0 + 7 * kDay);
}

TEST(SplitByTime, HonoursTheValidationFraction) {
  const Rows rows = WeeklyRows(10, 10, 1, 6);
  TimeSplitOptions options;
  options.validation_fraction = 0.5;
  const TimeSplit split = SplitByTime(rows.snapshot_ts, rows.label_ts, options).value();
  EXPECT_EQ(split.validation.size(), 50u);
  EXPECT_EQ(split.train.size(), 50u);
  EXPECT_EQ(split.embargoed, 0u);
  ExpectNoLeakage(rows, split);
}

TEST(SplitByTime, ExplainsWhenTheEmbargoLeavesNothingToTrainOn) {
  // 4 weeks, outcomes 60 days later: every outcome before the last week arrives after it.
  const Rows rows = WeeklyRows(4, 5, 60, 7);
  auto split = SplitByTime(rows.snapshot_ts, rows.label_ts, {});
  ASSERT_FALSE(split.has_value());
  EXPECT_EQ(split.error().code, ErrorCode::kValidation);
  EXPECT_NE(split.error().message.find("no training row"), std::string::npos);
  EXPECT_NE(split.error().message.find("--days"), std::string::npos);
}

TEST(SplitByTime, RefusesRowsFromASingleMomentTooFewRowsAndBadOptions) {
  const std::vector<UnixSeconds> same(10, kT0);
  auto one_time = SplitByTime(same, same, {});
  ASSERT_FALSE(one_time.has_value());
  EXPECT_NE(one_time.error().message.find("more than one time"), std::string::npos);
  const std::vector<UnixSeconds> one = {kT0};
  EXPECT_EQ(SplitByTime(one, one, {}).error().code, ErrorCode::kValidation);
  TimeSplitOptions bad;
  bad.validation_fraction = 0.0;
  EXPECT_EQ(SplitByTime(same, same, bad).error().code, ErrorCode::kInvalidArgument);
  const std::vector<UnixSeconds> shorter(9, kT0);
  EXPECT_EQ(SplitByTime(same, shorter, {}).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace csml
