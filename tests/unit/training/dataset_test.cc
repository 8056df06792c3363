#include "csml/training/dataset.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "csml/data/window.h"
#include "csml/features/schema.h"
#include "synthetic_data.h"

namespace csml {
namespace {

using testing::kTestAsOf;

Snapshot Labeled(UnixSeconds snapshot_ts, UnixSeconds label_ts, int label, double usage = 0.5) {
  Snapshot s;
  s.user_id = std::string(1, 'u');  // (assigning "u" trips a false -Wrestrict in g++ 12 -O3)
  s.snapshot_ts = snapshot_ts;
  s.features.Set(NumericFeature::kUsageScore, usage);
  s.label = static_cast<std::int8_t>(label);
  s.label_ts = label_ts;
  return s;
}

TEST(DatasetBuilder, KeepsOnlyOutcomesKnownInsideTheWindow) {
  const UnixSeconds day = kSecondsPerDay;
  std::vector<Snapshot> records = {
      Labeled(kTestAsOf - 40 * day, kTestAsOf - 10 * day, 1, 0.1),  // in the window
      Labeled(kTestAsOf - 20 * day, kTestAsOf + 10 * day, 0),       // immature: known later
      Labeled(kTestAsOf - 99 * day, kTestAsOf - 69 * day, 0),       // outside a 60-day window
      Labeled(kTestAsOf - 35 * day, kTestAsOf, 0, 0.9),             // exactly at as_of: in
      Labeled(kTestAsOf - 90 * day, kTestAsOf - 60 * day, 1),       // exactly at start: out
  };
  Snapshot pending = Labeled(kTestAsOf - 5 * day, kTestAsOf + 25 * day, 0);
  pending.label.reset();
  pending.label_ts.reset();
  records.push_back(pending);

  WindowOptions window;
  window.days = 60;
  window.as_of = kTestAsOf;
  const Dataset d = BuildDataset(records, 2, window).value();
  ASSERT_EQ(d.rows(), 2u);
  EXPECT_EQ(d.counts.immature, 1u);
  EXPECT_EQ(d.counts.unlabeled, 1u);
  EXPECT_EQ(d.counts.outside_window, 2u);
  EXPECT_EQ(d.counts.invalid, 2u);
  EXPECT_EQ(d.counts.records_seen, 8u);
  EXPECT_EQ(d.counts.rows, 2u);
  EXPECT_EQ(d.as_of, kTestAsOf);
  EXPECT_EQ(d.start, kTestAsOf - 60 * day);
  EXPECT_EQ(d.label_ts[0], kTestAsOf - 10 * day);
  EXPECT_EQ(d.label_ts[1], kTestAsOf);
  EXPECT_EQ(d.data.labels, (std::vector<float>{1, 0}));
  // Rows are encoded in the default column order.
  ASSERT_EQ(d.data.features.column_names, FeatureEncoder::DefaultColumns());
  const std::size_t usage_col = 7;
  ASSERT_EQ(d.data.features.column_names[usage_col], "usage_score");
  EXPECT_FLOAT_EQ(d.data.features.Row(0)[usage_col], 0.1f);
  EXPECT_FLOAT_EQ(d.data.features.Row(1)[usage_col], 0.9f);
  EXPECT_TRUE(d.data.Validate().has_value());
}

TEST(DatasetBuilder, TakesTheAsOfTimeFromTheNewestOutcomeWhenNoneIsGiven) {
  const UnixSeconds day = kSecondsPerDay;
  const std::vector<Snapshot> records = {Labeled(kTestAsOf - 40 * day, kTestAsOf - 10 * day, 1),
                                         Labeled(kTestAsOf - 30 * day, kTestAsOf, 0)};
  WindowOptions window;
  window.days = 5;
  const Dataset d = BuildDataset(records, 0, window).value();
  EXPECT_EQ(d.as_of, kTestAsOf);
  EXPECT_EQ(d.rows(), 1u);
  EXPECT_EQ(d.counts.outside_window, 1u);
}

TEST(DatasetBuilder, RefusesAWindowWithoutAnyLabeledRecordOrWithBadDays) {
  Snapshot pending = Labeled(kTestAsOf, kTestAsOf, 0);
  pending.label.reset();
  const std::vector<Snapshot> records = {pending};
  auto none = BuildDataset(records, 0, WindowOptions{});
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kValidation);
  WindowOptions bad;
  bad.days = 0;
  EXPECT_EQ(BuildDataset(records, 0, bad).error().code, ErrorCode::kInvalidArgument);
}

// The builder applies data/window.h's rule: the same records give the same rows and counts.
TEST(DatasetBuilder, AgreesWithSelectWindowRecordForRecord) {
  std::mt19937 rng(11);
  std::vector<Snapshot> records;
  for (int i = 0; i < 2000; ++i) {
    const UnixSeconds snapshot_ts = kTestAsOf - static_cast<UnixSeconds>(rng() % (200 * 86400));
    Snapshot s =
        Labeled(snapshot_ts, snapshot_ts + static_cast<UnixSeconds>(rng() % (60 * 86400)) + 1,
                static_cast<int>(rng() % 2), static_cast<double>(rng() % 1000) / 1000.0);
    if (rng() % 10 == 0) s.label.reset();
    records.push_back(s);
  }
  for (const std::optional<UnixSeconds> as_of :
       {std::optional<UnixSeconds>(), std::optional<UnixSeconds>(kTestAsOf - 20 * 86400)}) {
    WindowOptions window;
    window.days = 45;
    window.as_of = as_of;
    const WindowedSnapshots expected = SelectWindow(records, window).value();
    const Dataset d = BuildDataset(records, 0, window).value();
    ASSERT_EQ(d.rows(), expected.records.size());
    EXPECT_EQ(d.as_of, expected.as_of);
    EXPECT_EQ(d.start, expected.start);
    EXPECT_EQ(d.counts.unlabeled, expected.unlabeled);
    EXPECT_EQ(d.counts.immature, expected.immature);
    EXPECT_EQ(d.counts.outside_window, expected.outside_window);
    for (std::size_t i = 0; i < d.rows(); ++i) {
      EXPECT_EQ(d.snapshot_ts[i], expected.records[i].snapshot_ts);
      EXPECT_EQ(d.label_ts[i], *expected.records[i].label_ts);
      EXPECT_EQ(d.data.labels[i], static_cast<float>(*expected.records[i].label));
    }
  }
}

TEST(DatasetBuilder, GivesTheSameDatasetWhenFedInPieces) {
  testing::SyntheticOptions options;
  options.customers = 50;
  const std::vector<Snapshot> records = testing::MakeSnapshots(options);
  WindowOptions window;
  window.days = 60;
  const Dataset whole = BuildDataset(records, 0, window).value();
  DatasetBuilder builder;
  for (std::size_t begin = 0; begin < records.size(); begin += 37) {
    const std::size_t n = std::min<std::size_t>(37, records.size() - begin);
    builder.Add(std::span<const Snapshot>(records.data() + begin, n));
  }
  const Dataset pieces = builder.Finish(window).value();
  EXPECT_EQ(pieces.data.features.values, whole.data.features.values);
  EXPECT_EQ(pieces.data.labels, whole.data.labels);
  EXPECT_EQ(pieces.snapshot_ts, whole.snapshot_ts);
  EXPECT_EQ(pieces.counts.outside_window, whole.counts.outside_window);
  EXPECT_EQ(builder.rows_held(), 0u);
}

}  // namespace
}  // namespace csml
