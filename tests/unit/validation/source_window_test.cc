#include "csml/validation/source_window.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "csml/data/window.h"
#include "testing/snapshots.h"

namespace csml {
namespace {

using testing::SnapshotAt;
using testing::UserIds;

constexpr UnixSeconds kAsOf = 1756684800;  // 2025-09-01T00:00:00Z
constexpr UnixSeconds kDay = kSecondsPerDay;

TEST(SourceWindow, KeepsOutcomesLearnedInTheWindowAndSnapshotsWithoutOutcomeTakenInIt) {
  std::vector<Snapshot> records = {
      SnapshotAt("label_at_as_of", kAsOf - 30 * kDay, 1, kAsOf),
      SnapshotAt("label_at_start", kAsOf - 40 * kDay, 0, kAsOf - 10 * kDay),
      SnapshotAt("label_before", kAsOf - 45 * kDay, 0, kAsOf - 10 * kDay - 1),
      SnapshotAt("pending_recent", kAsOf - 2 * kDay, std::nullopt, std::nullopt),
      SnapshotAt("pending_old", kAsOf - 10 * kDay, std::nullopt, std::nullopt),
      SnapshotAt("immature_recent", kAsOf - 5 * kDay, 1, kAsOf + 25 * kDay),
      SnapshotAt("snapshot_after_as_of", kAsOf + 1, std::nullopt, std::nullopt),
  };
  const SourceWindow window = MakeSourceWindow(records, 10, kAsOf).value();
  EXPECT_EQ(window.start, kAsOf - 10 * kDay);
  const std::size_t dropped = KeepSourceWindow(window, &records);
  EXPECT_EQ(dropped, 4u);
  EXPECT_EQ(UserIds(records),
            (std::vector<std::string>{"label_at_as_of", "pending_recent", "immature_recent"}));
}

TEST(SourceWindow, TrainsOnTheSameRecordsAsSelectWindow) {
  std::vector<Snapshot> records;
  for (int d = 0; d < 200; ++d) {
    const UnixSeconds t = kAsOf - d * kDay;
    records.push_back(SnapshotAt("a" + std::to_string(d), t - 30 * kDay, d % 2, t));
    records.push_back(SnapshotAt("p" + std::to_string(d), t, std::nullopt, std::nullopt));
  }
  std::vector<Snapshot> served = records;
  const SourceWindow window = MakeSourceWindow(served, 90, std::nullopt).value();
  EXPECT_EQ(window.as_of, kAsOf);
  KeepSourceWindow(window, &served);

  WindowOptions options;
  options.days = 90;
  options.as_of = window.as_of;
  const WindowedSnapshots from_source = SelectWindow(served, options).value();
  const WindowedSnapshots from_all = SelectWindow(records, options).value();
  EXPECT_EQ(UserIds(from_source.records), UserIds(from_all.records));
  EXPECT_EQ(from_source.outside_window, 0u);
  EXPECT_EQ(from_source.unlabeled, 90u);  // pending snapshots of the 90 days
}

TEST(SourceWindow, AsOfDefaultsToNewestLabelThenNewestSnapshot) {
  std::vector<Snapshot> records = {SnapshotAt("p", kAsOf, std::nullopt, std::nullopt)};
  EXPECT_EQ(MakeSourceWindow(records, 7, std::nullopt)->as_of, kAsOf);
  records.push_back(SnapshotAt("l", kAsOf - 60 * kDay, 1, kAsOf - 30 * kDay));
  EXPECT_EQ(MakeSourceWindow(records, 7, std::nullopt)->as_of, kAsOf - 30 * kDay);
  EXPECT_EQ(MakeSourceWindow({}, 7, std::nullopt)->as_of, 0);
}

TEST(SourceWindow, RefusesDaysBelowOne) {
  EXPECT_EQ(MakeSourceWindow({}, 0, kAsOf).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace csml
